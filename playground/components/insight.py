"""The lesson's argument, live: a Dense layer on the raw image needs far more weights."""

from __future__ import annotations

import panel as pn
import param
from panel.viewable import Viewer

from playground.state import PlaygroundState

__all__ = ["DenseComparison", "comparison_html"]

NEURONS = 1000


def comparison_html(state: PlaygroundState) -> str:
    h, w, c = state.info.input_shape
    inputs = h * w * c
    raw = inputs * NEURONS
    a = state.analysis
    if "params" in state.hidden_numbers.values():  # a lesson step asks for a guess first
        yours = ". Your model's parameter count stays hidden until you have guessed it. "
    else:
        ours = a.total_params
        conv = sum(r.params or 0 for r in a.rows if r.kind == "Conv2D")
        ratio = f" — {raw / ours:,.0f}× your whole model" if ours and raw > ours else ""
        yours = (
            f"{ratio}. Your model has <b>{ours:,}</b> parameters in total, of which {conv:,} are "
            "in convolution filters that are shared across every position of the image. "
        )
    return (
        '<div class="cp-compare-text">'
        f"<b>Why convolutions?</b> A Dense layer of {NEURONS:,} neurons looking at the raw "
        f"{h}×{w}×{c} image would need {h}×{w}×{c}×{NEURONS:,} = <b>{raw:,}</b> weights"
        f"{yours}"
        f"For a 200×200×3 photo the same Dense layer would need 200×200×3×1,000 = <b>120,000,000</b> weights."
        "</div>"
    )


class DenseComparison(Viewer):
    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            comparison_html(self.state), sizing_mode="stretch_width", css_classes=["cp-compare"]
        )
        self.state.param.watch(
            lambda _e: setattr(self._pane, "object", comparison_html(self.state)),
            ["analysis", "hidden_numbers"],
        )

    def __panel__(self):
        return self._pane
