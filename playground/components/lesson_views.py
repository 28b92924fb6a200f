"""The live picture or number of each lesson step (``playground.lesson.content.VIEWS``).

:class:`StepView` shows the view of the step on screen, computed from
:class:`ViewInputs` — the learner's model now, one test image of the dataset,
the built (maybe trained) pycnn model — so every number is the real model's.
The static views are HTML made here (every text escaped); the interactive ones
are the widgets of :mod:`playground.components.lesson_widgets`, kept while the
step is shown and fed new numbers after every edit or run.

The sample image arrives after the page is live. Until then a view that shows it is
computed on a blank image of the sample's shape (:func:`stand_in`) and drawn hidden,
under a status line that says the image is on its way: it takes the room it will
take, so nothing below it moves when the image arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import panel as pn
from panel.viewable import Viewer

from playground.components.layout import TOUCH
from playground.components.lesson_widgets import (
    WAITING_CSS,
    MapPicker,
    PixelGrid,
    SlidingFilter,
    parse_pick,
)
from playground.components.text import esc
from playground.lesson import Snapshot, live

__all__ = ["WAITING", "StepView", "ViewInputs", "close_up_cells", "stand_in", "view_html"]

#: Width (px) the lesson panel gives a picture on a 390-px phone, the narrowest screen served.
PHONE_ROOM = 340
#: Side (px) of a close-up cell: a finger's size (layout.TOUCH) and room for "0.00".
CLOSE_UP_CELL = 48
#: What a view that shows the sample image says while the image is on its way.
WAITING = "Loading a sample image…"

_CSS = """
.cp-view { font-size: 14px; line-height: 1.45; }
.cp-view table { border-collapse: collapse; margin: 4px 0; }
.cp-view th, .cp-view td { border: 1px solid #9aa5b1; padding: 4px 8px; text-align: center; }
.cp-view td.cp-yours { outline: 3px solid #1d5fbf; outline-offset: -3px; font-weight: 700; }
.cp-view .cp-note { color: #3e4c59; font-size: 13px; }
.cp-view .cp-num { font-variant-numeric: tabular-nums; font-weight: 700; }
.cp-view figure { display: inline-block; margin: 4px 8px 4px 0; text-align: center; vertical-align: top; }
.cp-view figcaption { font-size: 12px; color: #3e4c59; max-width: 120px; }
.cp-view img { image-rendering: pixelated; }
.cp-bars { list-style: none; padding: 0; margin: 4px 0; }
.cp-bars li { display: grid; grid-template-columns: minmax(4em, 9em) 1fr 3.5em; gap: 6px;
              align-items: center; margin: 2px 0; }
.cp-bar { height: 14px; background: #e4e7eb; border-radius: 3px; overflow: hidden; }
.cp-bar span { display: block; height: 100%; background: #1d5fbf; }
.cp-bars li.cp-top { font-weight: 700; }
.cp-compare { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; align-items: baseline; }
.cp-truth { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""


@dataclass(frozen=True)
class ViewInputs:
    """What a view is computed from (the panel gathers it after every change).

    ``sample``: one test image ``(H, W, C)`` of the dataset in [0, 1], None while it
    loads, and ``label`` its true class; ``class_names``: the dataset's (known before the
    sample); ``model``: the pycnn model of the current spec (None when it cannot be
    built); ``trained``: whether that model has been trained; ``hidden``: the number
    the learner is about to guess (``Lesson.hidden_number()``), not to be shown.
    """

    snapshot: Snapshot
    sample: np.ndarray | None = None
    label: int | None = None  # the sample's true class
    class_names: tuple[str, ...] = ()
    model: Any = None
    trained: bool = False
    hidden: str | None = None


def stand_in(inputs: ViewInputs) -> ViewInputs:
    """``inputs``, with a blank image of the sample's shape while the sample is on its way:
    what a view is laid out from until then (it has the size it will have)."""
    if inputs.sample is not None:
        return inputs
    blank = np.zeros(inputs.snapshot.input_shape, dtype=np.float32)
    return replace(inputs, sample=blank, label=None)


def _grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` → ``(H, W)``: the one channel, or the mean of several."""
    return image[..., 0] if image.shape[-1] == 1 else image.mean(axis=-1)


def _first_conv(inputs: ViewInputs):
    i = live.first_conv_index(inputs.snapshot)
    return None if i is None else (i, inputs.snapshot.layers[i])


def _picture(values: np.ndarray, table, low: float, high: float, fit: int) -> dict:
    """A MapPicker picture: its PNG and its size (the page lays it out before decoding it)."""
    from playground.insight import colours
    from playground.insight.picture import fit_scale, png_data_uri, tile_grid

    tiles = colours.apply(table, values[None], low, high)
    scale = fit_scale(1, 1, values.shape[0], values.shape[1], fit, gap=0)
    rgba = tile_grid(tiles, 1, scale, gap=0)
    return {"src": png_data_uri(rgba), "width": rgba.shape[1], "height": rgba.shape[0]}


def _image_tag(image: np.ndarray, alt: str, fit: int = 96) -> str:
    from playground.insight.feature_maps import image_picture

    picture = image_picture(np.asarray(image, dtype=np.float32), fit=fit, what=alt)
    return (
        f'<img src="{picture.data_uri()}" alt="{esc(picture.alt)}" width="{picture.width}" '
        f'height="{picture.height}">'
    )


def close_up_cells(width: int) -> int:
    """Cells across the pixel reader's close-up for an image ``width`` pixels wide.

    0 (no close-up: every pixel is a cell) when the whole width fits a phone in cells
    a finger can tap; else as many finger-sized cells as fit, an odd number so that the
    pixel a tap centres it on sits in the middle.
    """
    if width * TOUCH <= PHONE_ROOM:
        return 0
    cells = PHONE_ROOM // CLOSE_UP_CELL
    return cells if cells % 2 else cells - 1


# --------------------------------------------------------------------------- static views


def _dense_count(inputs: ViewInputs) -> str:
    s = inputs.snapshot
    h, w, c = s.input_shape
    values = h * w * c
    facts = live.card_facts(s.input_shape, s.num_classes)
    conv = _first_conv(inputs)
    if conv is None:
        yours = (
            "Your model has no Conv2D yet; this step's task unlocks it. Its count will not "
            "depend on the image size."
        )
    else:
        index, block = conv
        params = s.rows[index].params
        shown = "?" if inputs.hidden == "conv_params" or params is None else f"{params:,}"
        yours = (
            f"Your {esc(live.call_text(block))}: <span class='cp-num'>{shown}</span> parameters, "
            "whatever the size of the image."
        )
    return (
        '<div class="cp-compare">'
        f"<span>Dense(1,000) on your {h}×{w}×{c} images:</span>"
        f"<span>{values:,} × 1,000 = <span class='cp-num'>{facts['dense_1000']}</span> weights</span>"
        "<span>Dense(1,000) on a 200×200×3 photo:</span>"
        f"<span>200×200×3 × 1,000 = <span class='cp-num'>{facts['photo_weights']}</span> "
        "weights</span>"
        f"</div><p>{yours}</p>"
    )


def _shape_table(inputs: ViewInputs) -> str:
    s = inputs.snapshot
    conv = _first_conv(inputs)
    kernel = conv[1].args["kernel_size"] if conv else 3
    table = live.shape_table(s.input_shape, kernel)
    mine = (conv[1].args["padding"], conv[1].args["strides"]) if conv else None
    th, tw = live.target_shape(s.input_shape)
    rows = []
    for padding in ("valid", "same"):
        cells = []
        for stride in (1, 2):
            text = table[(padding, stride)]
            yours = (padding, stride) == mine
            label = text + (" (yours)" if yours else "")
            cells.append(f'<td class="{"cp-yours" if yours else ""}">{esc(label)}</td>')
        rows.append(f"<tr><th scope='row'>'{padding}'</th>{''.join(cells)}</tr>")
    who = (
        f"your {esc(live.call_text(conv[1]))}"
        if conv
        else f"a {kernel}×{kernel} Conv2D (add one to mark yours)"
    )
    return (
        f"<table><caption>Output height × width of {who} on {s.input_shape[0]}×"
        f"{s.input_shape[1]} images</caption><thead><tr><th scope='col'>padding</th>"
        "<th scope='col'>stride 1</th><th scope='col'>stride 2</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p>Target of this step: <span class='cp-num'>{th}×{tw}</span>.</p>"
    )


def _pool_shift(inputs: ViewInputs) -> str:
    shift = live.pool_shift(_grey(inputs.sample))
    pictures = [
        (shift.image, "The sample image"),
        (shift.shifted, "The same image moved one pixel to the right"),
        (shift.pooled, "The sample after 2×2 max pooling"),
        (shift.pooled_shifted, "The moved image after 2×2 max pooling"),
    ]
    figures = "".join(
        f"<figure>{_image_tag(np.asarray(values), alt)}<figcaption>{esc(alt)}</figcaption></figure>"
        for values, alt in pictures
    )
    return (
        f"<div>{figures}</div><p><span class='cp-num'>{shift.unchanged} of {shift.total}</span> "
        "pooled values stayed exactly the same when the image moved by one pixel.</p>"
    )


def _flatten_length(inputs: ViewInputs) -> str:
    s = inputs.snapshot
    i = live.flatten_index(s)
    if i is None:
        return (
            "<p>Your model has no Flatten after a Conv2D or pooling layer yet: add a Conv2D "
            "before Flatten to have a block to flatten.</p>"
        )
    shape = live.layer_input_shape(s, i)
    length = s.rows[i].output_shape
    if inputs.hidden == "flatten_length" or length is None:
        result = "? (type your guess below)"
    else:
        result = f"{length[0]:,}"
    return (
        f"<p>Layer {i} outputs a block of <span class='cp-num'>{live.shape_text(shape)}</span> "
        f"(height × width × channels).</p><p>Flatten's vector: <span class='cp-num'>"
        f"{esc(result)}</span> values.</p>"
    )


def _softmax(inputs: ViewInputs) -> str:
    from playground.insight.results import probability_bars

    if inputs.model is None or not inputs.snapshot.valid:
        return "<p>Your model does not work yet: fix it to see its answer.</p>"
    probabilities = inputs.model.predict(inputs.sample[None])[0]
    bars = probability_bars(probabilities, inputs.class_names)
    items = "".join(
        f'<li class="{"cp-top" if bar.top else ""}"><span>{esc(bar.name)}</span>'
        f'<span class="cp-bar" aria-hidden="true"><span style="width:{bar.probability * 100:.1f}%">'
        f"</span></span><span>{esc(bar.text)}</span></li>"
        for bar in bars
    )
    # One line whatever the class, so that the view keeps its height when the sample arrives.
    truth = "&nbsp;"
    if inputs.label is not None and inputs.label < len(inputs.class_names):
        truth = f"True class of this image: {esc(inputs.class_names[inputs.label])}."
    note = f"<p class='cp-note cp-truth'>{truth}</p>"
    if not inputs.trained:
        note += (
            "<p class='cp-note'>Not trained yet: the answer is close to a guess. "
            "Train and watch one bar win.</p>"
        )
    return (
        f"<div style='display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start'>"
        f"<figure>{_image_tag(inputs.sample, 'The sample image', fit=84)}</figure>"
        f"<div style='flex:1 1 220px'><ul class='cp-bars' aria-label='Probability of each class'>"
        f"{items}</ul><p>Together: {float(probabilities.sum()):.2f}</p></div></div>{note}"
    )


_STATIC: dict[str, Callable[[ViewInputs], str]] = {
    "dense-count": _dense_count,
    "shape-table": _shape_table,
    "pool-shift": _pool_shift,
    "flatten-length": _flatten_length,
    "softmax-output": _softmax,
}


_ON_THE_SAMPLE = ("pool-shift", "softmax-output")  # the static views that show the sample


def view_html(view: str, inputs: ViewInputs) -> str:
    """The HTML of a static view (the interactive ones have their own widgets)."""
    body = _STATIC[view](stand_in(inputs))
    if view not in _ON_THE_SAMPLE:
        return f'<div class="cp-view cp-view-{view}">{body}</div>'
    waiting = inputs.sample is None
    return (
        f'<div class="cp-view cp-view-{view} cp-waits{" cp-waiting" * waiting}"><div>{body}</div>'
        f'<p class="cp-waiting-note" role="status">{esc(WAITING) * waiting}</p></div>'
    )


# --------------------------------------------------------------------------- interactive views


def _diverging(values: np.ndarray) -> list[str]:
    from playground.insight import colours

    limit = float(np.abs(values).max()) or 1.0
    rgba = colours.apply(colours.DIVERGING, values, -limit, limit)
    return [colours.hex_colour(c) for c in rgba.reshape(-1, 4)]


def sliding_filter(inputs: ViewInputs) -> tuple[str, dict | None]:
    """The caption and the SlidingFilter values (None: nothing to slide yet)."""
    conv = _first_conv(inputs)
    image = inputs.sample
    if conv is None or inputs.model is None:
        slide = live.slide(_grey(image), live.EXAMPLE_KERNEL)
        caption = (
            "An example 3×3 filter that answers to vertical edges (bright on the left, dark "
            "on the right). Add a Conv2D to watch one of your own filters."
        )
    else:
        from pycnn.insight import NothingToShow, filter_bank

        index, block = conv
        bank = filter_bank(inputs.model, index)
        if isinstance(bank, NothingToShow):
            return bank.message, None
        args = block.args
        slide = live.slide(
            image, bank.kernel[..., 0], float(bank.bias[0]), args["strides"], args["padding"]
        )
        state = "trained" if inputs.trained else "not trained yet: random weights"
        caption = (
            f"Filter 1 of your {live.call_text(block)} ({state}), stride {args['strides']}, "
            f"padding '{args['padding']}'. The output map shows its sums before the activation."
        )
    output = np.asarray(slide.output, dtype=np.float32)
    values = {
        "image": [[round(v, 3) for v in row] for row in slide.image],
        "kernel": slide.kernel,
        "kernel_colours": _diverging(np.asarray(slide.kernel, dtype=np.float32)),
        "output": output.tolist(),
        "output_colours": _diverging(output),
        "bias": slide.bias,
        "stride": slide.stride,
        "pad": list(slide.pad),
        "channels": slide.channels,
    }
    return caption, values


def feature_map_items(inputs: ViewInputs) -> tuple[str, list[dict], np.ndarray | None]:
    """Caption, MapPicker items (map after ReLU + the filter's weights) and the kernel."""
    from playground.insight import colours
    from pycnn.insight import NothingToShow, feature_maps, filter_bank

    conv = _first_conv(inputs)
    if conv is None or inputs.model is None:
        return "Add a Conv2D to your model to see its feature maps.", [], None
    index, block = conv
    maps = feature_maps(inputs.model, inputs.sample)
    bank = filter_bank(inputs.model, index)
    for answer in (maps, bank):
        if isinstance(answer, NothingToShow):
            return answer.message, [], None
    first = next(fm for fm in maps if fm.layer_index == index)
    after = first.after  # (H, W, C) after the activation
    items = []
    for f in range(after.shape[-1]):
        m = after[..., f]
        weights = bank.kernel[:, :, :, f].mean(axis=2)
        limit = float(np.abs(weights).max()) or 1.0
        items.append(
            {
                "pictures": [
                    _picture(m, colours.SEQUENTIAL, 0.0, float(m.max()) or 1.0, 72),
                    _picture(weights, colours.DIVERGING, -limit, limit, 36),
                ],
                "alt": (
                    f"map of {m.shape[0]}×{m.shape[1]}, values from {float(m.min()):.2f} to "
                    f"{float(m.max()):.2f}, next to its filter's weights (blue negative, "
                    "orange positive)"
                ),
                "label": f"Map {f + 1}",
            }
        )
    state = "trained" if inputs.trained else "not trained yet: random filters"
    caption = (
        f"The {after.shape[-1]} feature maps of your {live.call_text(block)} for the sample "
        f"image, after {first.activation or 'its activation'} ({state}): dark is 0, yellow is "
        "the map's highest value. Each map sits next to its filter's weights."
    )
    return caption, items, bank.kernel


class StepView(Viewer):
    """The view of the step on screen; ``on_pixel(grid, r, c)`` and ``on_map(i, kernel)``
    receive the learner's picks."""

    def __init__(self, on_pixel: Callable, on_map: Callable, **params):
        super().__init__(**params)
        self._on_pixel, self._on_map = on_pixel, on_map
        self._caption = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 5))
        self._html = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[_CSS, WAITING_CSS])
        self._pixels = PixelGrid(sizing_mode="stretch_width", visible=False)
        self._slide = SlidingFilter(sizing_mode="stretch_width", visible=False)
        self._maps = MapPicker(sizing_mode="stretch_width", visible=False)
        self._grid: list[list[float]] = []
        self._kernel: np.ndarray | None = None
        self._pixels.param.watch(self._picked_pixel, "picked")
        self._maps.param.watch(self._picked_map, "picked")
        self.view = ""
        self._layout = pn.Column(
            self._caption,
            self._html,
            self._pixels,
            self._slide,
            self._maps,
            sizing_mode="stretch_width",
            css_classes=["cp-lesson-view"],
        )

    def show(self, view: str, inputs: ViewInputs) -> None:
        """Show ``view`` (a key of content.VIEWS) for ``inputs``."""
        self.view = view
        caption, html, widget = "", "", None
        waiting = WAITING if inputs.sample is None else ""
        if view == "pixel-grid":
            image = _grey(stand_in(inputs).sample)
            self._grid = [[round(float(v), 2) for v in row] for row in image]
            h, w = image.shape
            close_up = close_up_cells(w)
            self._pixels.param.update(
                values=self._grid,
                label=f"Sample image: {h}×{w} pixel values",
                close_up=close_up,
                waiting=waiting,
            )
            widget = self._pixels
            caption = (
                "One test image of the dataset. Tap or click the picture to look closer: "
                "the close-up shows each pixel with its value."
                if close_up
                else "One test image of the dataset, every pixel with its value."
            )
        elif view == "sliding-filter":
            caption, values = sliding_filter(stand_in(inputs))
            if values is not None:
                self._slide.param.update(**values, waiting=waiting)
                widget = self._slide
        elif view == "feature-maps":
            caption, items, self._kernel = feature_map_items(stand_in(inputs))
            if items:
                self._maps.param.update(items=items, waiting=waiting)
                widget = self._maps
        else:
            html = view_html(view, inputs)
        self._caption.object = f'<p class="cp-view-caption">{esc(caption)}</p>' if caption else ""
        self._html.object = html
        self._html.visible = bool(html)
        for w in (self._pixels, self._slide, self._maps):
            w.visible = w is widget

    def _picked_pixel(self, event) -> None:
        pick = parse_pick(event.new)
        if pick is None or self._pixels.waiting:
            return
        r, c = pick
        if 0 <= r < len(self._grid) and 0 <= c < len(self._grid[0]):
            self._on_pixel(self._grid, r, c)

    def _picked_map(self, event) -> None:
        pick = parse_pick(event.new)
        if pick is None or self._kernel is None or self._maps.waiting:
            return
        (i,) = pick
        if 0 <= i < self._kernel.shape[-1]:
            self._on_map(i, self._kernel[..., i])

    def __panel__(self):
        return self._layout
