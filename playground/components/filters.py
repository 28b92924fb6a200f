"""Filters: a Conv2D layer's kernels as small pictures, redrawn while the network learns."""

from __future__ import annotations

import panel as pn

from playground.components.figures import (
    INSIGHT_CSS,
    legend_html,
    message_html,
    picture_html,
)
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight import colours
from playground.insight.filters import colour_bar, filter_picture
from pycnn.insight import NothingToShow, conv_layers, filter_bank

__all__ = ["FilterView", "view_options"]


def view_options(in_channels: int) -> dict[str, str]:
    """The ways to show filters over ``in_channels`` input channels (first: the default)."""
    if in_channels == 1:
        return {"One tile per filter": "channels"}
    options = {"Each input channel": "channels", "Mean of the input channels": "mean"}
    if in_channels == 3:
        return {"Colour (red, green, blue)": "rgb", **options}
    return {"Mean of the input channels": "mean", "Each input channel": "channels"}


class FilterView(InsightView):
    """The first Conv2D layer's filters (or another one's), with their colour scale."""

    LIVE = True  # redrawn while training

    def __init__(self, **params):
        super().__init__(**params)
        self.redraws = 0  # pictures drawn (tests count them)
        self._layer = pn.widgets.Select(
            name="Conv2D layer", options={}, width=200, css_classes=["cp-filters-layer"]
        )
        self._view = pn.widgets.Select(
            name="Show", options={}, width=220, css_classes=["cp-filters-view"]
        )
        self._layer.param.watch(self._on_choice, "value")
        self._view.param.watch(self._on_choice, "value")
        self._note = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[INSIGHT_CSS])
        self._picture = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[INSIGHT_CSS])
        self._syncing = False

    # ---- choices
    def _sync_choices(self, model) -> None:
        """Offer the model's Conv2D layers, keeping the chosen one if it is still there."""
        self._syncing = True
        try:
            layers = {f"{name} (layer {i + 1})": name for i, name in conv_layers(model)}
            if self._layer.options != layers:
                keep = self._layer.value if self._layer.value in layers.values() else None
                self._layer.options = layers
                self._layer.value = keep or next(iter(layers.values()), None)
            self._layer.visible = bool(layers)
            bank = filter_bank(model, self._layer.value) if layers else None
            views = view_options(bank.in_channels) if bank is not None else {}
            if self._view.options != views:  # another kind of layer: its default view
                self._view.options = views
                self._view.value = next(iter(views.values()), None)
            self._view.visible = len(views) > 1
        finally:
            self._syncing = False

    def _on_choice(self, _event) -> None:
        if not self._syncing:
            self.changed()

    # ---- drawing
    def refresh(self) -> None:
        model = self.model()
        self._sync_choices(model)
        self.draw(model)

    def draw(self, model=None) -> None:
        """Take a snapshot of the filters and show it (training may go on)."""
        model = model if model is not None else self.model()
        bank = filter_bank(model, self._layer.value)
        if isinstance(bank, NothingToShow):
            self._note.object = message_html(bank.message, "cp-filters-note")
            self._picture.object = ""
            return
        picture = filter_picture(bank, self._view.value or "auto", fit=320)
        if isinstance(picture, NothingToShow):
            self._note.object = message_html(picture.message, "cp-filters-note")
            self._picture.object = ""
            return
        low, high = picture.limits
        self.redraws += 1
        self._note.object = f'<p class="cp-note cp-filters-note">{esc(self._status())}</p>'
        self._picture.object = (
            f'<figure class="cp-filters-figure" style="margin:0">'
            f"{picture_html(picture, 'cp-filters-picture')}"
            f'<figcaption class="cp-filters-text">{esc(bank.describe())}</figcaption></figure>'
            + legend_html(colour_bar(colours.DIVERGING, low, high), f"{low:.3g}", f"+{high:.3g}")
            + '<p class="cp-note">Blue weights are negative, orange positive, light grey near 0: '
            "a filter responds most where the image is bright under its orange weights and "
            "dark under its blue ones.</p>"
        )

    def _status(self) -> str:
        if self.controller.running:
            return "Training: the filters are redrawn as they change."
        if self.context.trained_model() is None:
            return "Not trained yet: these are the random starting filters. Train and watch them change."
        return "The filters the network has learnt."

    def draw_live(self) -> None:
        self.draw()

    def __panel__(self):
        return pn.Column(
            self.notice,
            pn.Row(self._layer, self._view),
            self._note,
            self._picture,
            sizing_mode="stretch_width",
            css_classes=["cp-filters"],
        )
