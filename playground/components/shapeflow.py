"""The shape flow as a picture: one box per layer, sized by its output H × W × C.

Height and width of the front face follow the feature map's height and width;
the depth of the box grows with the number of channels (log scale), so a
learner sees pooling halve the map and Flatten turn it into a thin vector.
Drawn as an SVG string; every label is escaped.
"""

from __future__ import annotations

import math

import panel as pn
import param
from panel.viewable import Viewer

from playground.analysis import Analysis
from playground.components.builder import KIND_COLORS
from playground.components.layout import heading
from playground.components.text import esc
from playground.spec import KINDS
from playground.state import PlaygroundState

__all__ = ["ShapeFlow", "shapeflow_svg"]

_KIND_OF = {info.keras: key for key, info in KINDS.items()}  # Keras class name -> block kind
_MAX_SIDE = 120
_GAP = 26


def _side(n: int, biggest: int) -> float:
    return max(6.0, _MAX_SIDE * n / max(biggest, 1))


def _depth(channels: int) -> float:
    return min(46.0, 3.0 + 8.0 * math.log2(channels + 1))


def _label(shape: tuple) -> str:
    return "×".join(str(v) for v in shape)


def shapeflow_svg(a: Analysis, hidden: dict[int, str] | None = None) -> str:
    """The picture; a layer whose output shape is ``hidden`` (see summary_html) reads "?"."""
    hidden = hidden or {}
    items = [("input", "Input", a.input_shape, "#555", False)]
    for row in a.rows:
        kind = row.kind
        color = KIND_COLORS.get(_KIND_OF.get(kind, ""), "#888")
        items.append((row.name, kind, row.output_shape, color, row.error is not None))
    secret = {i + 1 for i, what in hidden.items() if what == "output_shape"}  # items[0]: input
    biggest = max([s[0] for _, _, s, _, _ in items if s and len(s) == 3] + [1])
    largest_vector = max([s[0] for _, _, s, _, _ in items if s and len(s) == 1] + [10])
    parts: list[str] = []
    x = 10.0
    base = 40 + _MAX_SIDE + 46  # bottom line of the boxes
    for number, (_name, kind, shape, color, bad) in enumerate(items):
        if shape is None:
            w = h = 40.0
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w}" height="{h}" fill="#fff" '
                f'stroke="{"#d33" if bad else "#bbb"}" stroke-dasharray="4 3"/>'
                f'<text x="{x + w / 2:.1f}" y="{base - h / 2 + 5:.1f}" text-anchor="middle" '
                f'fill="{"#d33" if bad else "#999"}" font-size="16">?</text>'
            )
            label, width = ("error" if bad else "—"), w
        elif len(shape) == 3:
            hh, ww, cc = shape
            fh, fw, d = _side(hh, biggest), _side(ww, biggest), _depth(cc)
            top = base - fh
            # back faces offset up-right by the depth, then the front face
            parts.append(
                f'<polygon points="{x:.1f},{top:.1f} {x + d:.1f},{top - d * 0.6:.1f} '
                f'{x + fw + d:.1f},{top - d * 0.6:.1f} {x + fw:.1f},{top:.1f}" fill="{color}" '
                'fill-opacity="0.35" stroke="#333" stroke-width="0.6"/>'
                f'<polygon points="{x + fw:.1f},{top:.1f} {x + fw + d:.1f},{top - d * 0.6:.1f} '
                f'{x + fw + d:.1f},{base - d * 0.6:.1f} {x + fw:.1f},{base:.1f}" fill="{color}" '
                'fill-opacity="0.55" stroke="#333" stroke-width="0.6"/>'
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{fw:.1f}" height="{fh:.1f}" fill="{color}" '
                f'fill-opacity="0.8" stroke="{"#d33" if bad else "#333"}" stroke-width="0.8"/>'
            )
            label, width = _label(shape), fw + d
        else:
            n = shape[0] if shape else 1
            h = max(8.0, (_MAX_SIDE + 40) * math.log10(n + 1) / math.log10(largest_vector + 1))
            w = 12.0
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w}" height="{h:.1f}" fill="{color}" '
                'fill-opacity="0.8" stroke="#333" stroke-width="0.8"/>'
            )
            label, width = _label(shape), w
        if number in secret:
            label = "?"
        center = x + width / 2
        parts.append(
            f'<text x="{center:.1f}" y="{base + 16:.1f}" text-anchor="middle" font-size="11" '
            f'font-family="monospace">{esc(label)}</text>'
            f'<text x="{center:.1f}" y="{base + 30:.1f}" text-anchor="middle" font-size="10" '
            f'fill="#555">{esc(kind)}</text>'
        )
        x += max(width, 56.0) + _GAP
    total_w, total_h = x, base + 38
    said = ", then ".join(
        f"{kind} {_label(shape) if shape else 'with no shape (error)' if bad else 'not computed'}"
        for _name, kind, shape, _color, bad in items
    )
    # Wider than a phone: it scrolls inside its own box (by keyboard too), not the page.
    return (
        '<div style="overflow-x:auto" tabindex="0" role="region" aria-label="Shape flow picture">'
        f'<svg class="cp-flow-svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" role="img" '
        f'aria-label="Output shape of each layer: {esc(said)}">' + "".join(parts) + "</svg></div>"
    )


class ShapeFlow(Viewer):
    """Redraws on every edit (the analysis already has every shape)."""

    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            shapeflow_svg(self.state.analysis, self.state.hidden_numbers),
            sizing_mode="stretch_width",
            css_classes=["cp-shapeflow"],
        )
        self.state.param.watch(self._update, ["analysis", "hidden_numbers"])

    def _update(self, *_events) -> None:
        self._pane.object = shapeflow_svg(self.state.analysis, self.state.hidden_numbers)

    def __panel__(self):
        return pn.Column(
            heading(
                "Shape flow",
                3,
                note="Each box is a layer's output: height × width of the map, depth = channels. "
                "Bars are flat vectors.",
            ),
            self._pane,
            sizing_mode="stretch_width",
        )
