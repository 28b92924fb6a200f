"""Feature maps: what every Conv2D and pooling layer makes of one image.

The learner picks a test image from a strip (one per class) or their own
drawing; each Conv/Pool layer's output channels are shown as a grid of small
images, captioned with the layer and its output shape (the summary table's
numbers), before and after the activation where the layer has one.
"""

from __future__ import annotations

import numpy as np
import panel as pn

from playground.components.figures import (
    INSIGHT_CSS,
    legend_html,
    message_html,
    picture_html,
)
from playground.components.htmlwidgets import PickableHTML
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight import colours
from playground.insight.draw import prepare_drawing
from playground.insight.feature_maps import feature_map_pictures, image_picture
from playground.insight.filters import colour_bar
from pycnn.insight import NothingToShow, feature_maps

__all__ = ["DRAWING", "FeatureMapView", "sample_indices"]

DRAWING = "drawing"  # the strip's pick for the learner's drawing; test images are their index
_STRIP_CSS = """
.cp-strip { display: flex; flex-wrap: wrap; gap: 4px; }
.cp-strip button { padding: 2px; border: 2px solid #c4c9d0; border-radius: 4px; background: #fff;
  cursor: pointer; font: inherit; font-size: 12px; min-height: 44px; }
.cp-strip button[aria-pressed="true"] { border-color: #1f4e8c; outline: 2px solid #1f4e8c; }
.cp-strip button:focus-visible { outline: 3px solid #1f4e8c; outline-offset: 1px; }
.cp-strip img { display: block; image-rendering: pixelated; width: 40px; height: 40px; }
"""


def sample_indices(labels: np.ndarray, classes: int) -> list[int]:
    """The first test image of each class (classes without one are left out)."""
    out = []
    for k in range(classes):
        found = np.flatnonzero(labels == k)
        if len(found):
            out.append(int(found[0]))
    return out


class FeatureMapView(InsightView):
    """A strip of test images to pick from, and the chosen image through the network."""

    LIVE = True  # redrawn while training

    def __init__(self, **params):
        super().__init__(**params)
        self.strip = PickableHTML(
            stylesheets=[INSIGHT_CSS + _STRIP_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-featuremaps-strip"],
        )
        self.strip.param.watch(self._on_pick, "pick")
        self._input = pn.pane.HTML("", stylesheets=[INSIGHT_CSS], sizing_mode="stretch_width")
        self._maps = pn.pane.HTML("", stylesheets=[INSIGHT_CSS], sizing_mode="stretch_width")
        self.choice: str | None = None  # DRAWING or a test image's index, as a string
        self._data = None  # (dataset name, x_test, y_test) once loaded
        self._strip_for: str | None = None

    def follows(self):
        return [*super().follows(), (self.context, ("drawing",), self._on_drawing)]

    # ---- picking
    def _on_pick(self, _event) -> None:
        self.choice = self.strip.picked
        self.changed()

    def _on_drawing(self, _event) -> None:
        if self.choice == DRAWING:
            self.changed()

    def _strip_html(self, x: np.ndarray, y: np.ndarray) -> str:
        names = self.context.class_names
        buttons = []
        for i in sample_indices(y, len(names)):
            picture = image_picture(x[i], fit=40)
            pressed = "true" if self.choice == str(i) else "false"
            buttons.append(
                f'<button type="button" data-pick="{i}" aria-pressed="{pressed}" '
                f'aria-label="Test image {i}: {esc(names[y[i]])}">'
                f'<img src="{picture.data_uri()}" alt=""></button>'
            )
        pressed = "true" if self.choice == DRAWING else "false"
        buttons.append(
            f'<button type="button" data-pick="{DRAWING}" aria-pressed="{pressed}">'
            "Your drawing</button>"
        )
        return (
            '<p class="cp-note" id="cp-strip-label">Pick an image to send through the network '
            "(one test image of each class, or what you drew in “Draw to predict”):</p>"
            f'<div class="cp-strip" role="group" aria-labelledby="cp-strip-label">'
            f"{''.join(buttons)}</div>"
        )

    # ---- showing
    async def refresh(self) -> None:
        name = self.context.dataset
        if self._data is None or self._data[0] != name:
            self._maps.object = '<p class="cp-note">Loading the test images…</p>'
            try:
                x, y = await self.context.test_set()
            except Exception as exc:  # noqa: BLE001 - say why, keep the page
                self._maps.object = message_html(f"Could not load the test images: {exc}")
                return
            if name != self.context.dataset:
                return  # another dataset was chosen meanwhile: its own refresh follows
            self._data = (name, x, y)
            self.choice = None
        _name, x, y = self._data
        if self.choice is None:
            self.choice = str(sample_indices(y, len(self.context.class_names))[0])
        if self._strip_for != name:
            self.strip.show(self._strip_html(x, y))
            self._strip_for = name
        self.draw()

    def draw_live(self) -> None:
        if self._data is not None and self._data[0] == self.context.dataset:
            self.draw()

    def _image(self, model) -> tuple[np.ndarray, str] | NothingToShow:
        """The chosen image (H, W, C) and words for it, or why there is none."""
        _name, x, y = self._data
        if self.choice != DRAWING:
            i = int(self.choice)
            return x[i], f"Test image {i}: {self.context.class_names[y[i]]}"
        if self.context.drawing is None:
            return NothingToShow(
                "empty-drawing",
                "Draw something in “Draw to predict” first, then pick “Your drawing” here.",
            )
        prepared = prepare_drawing(self.context.drawing, self.context.dataset, model.input_shape)
        if isinstance(prepared, NothingToShow):
            return prepared
        return prepared.image, "Your drawing, as the model sees it"

    def draw(self) -> None:
        model = self.model()
        chosen = self._image(model) if model is not None else feature_maps(None, None)
        if isinstance(chosen, NothingToShow):
            self._input.object = ""
            self._maps.object = message_html(chosen.message)
            return
        image, words = chosen
        self._input.object = (
            f'<figure style="margin:0">'
            f"{picture_html(image_picture(image, fit=112, what=words), 'cp-featuremaps-input')}"
            f'<figcaption class="cp-featuremaps-input-caption">{esc(words)}</figcaption></figure>'
        )
        maps = feature_maps(model, image)
        if isinstance(maps, NothingToShow):
            self._maps.object = message_html(maps.message)
            return
        parts = []
        if self.context.trained_model() is None:
            parts.append(
                '<p class="cp-note">Not trained yet: these maps come from random filters. '
                "Train, then look again.</p>"
            )
        for layer in feature_map_pictures(maps, fit=240):
            figures = []
            if layer.before is not None:
                figures.append(self._figure(layer.before, "before the activation"))
            after = "after the activation" if layer.before is not None else "output"
            figures.append(self._figure(layer.after, after))
            low, high = layer.after.limits
            legend = legend_html(
                colour_bar(colours.SEQUENTIAL, low, high), f"{low:.3g}", f"{high:.3g}"
            )
            parts.append(
                f'<section class="cp-featuremaps-layer"><h3 class="cp-featuremaps-caption">'
                f'{esc(layer.caption)}</h3><div class="cp-figures">{"".join(figures)}</div>'
                f"{legend}</section>"
            )
        self._maps.object = "".join(parts)

    @staticmethod
    def _figure(picture, words: str) -> str:
        return f"<figure>{picture_html(picture)}<figcaption>{esc(words)}</figcaption></figure>"

    def __panel__(self):
        return pn.Column(
            self.notice,
            self.strip,
            self._input,
            self._maps,
            sizing_mode="stretch_width",
            css_classes=["cp-featuremaps"],
        )
