"""Draw to predict: the learner draws, the trained model says what it sees.

The canvas (:class:`~playground.components.htmlwidgets.DrawingCanvas`) sends
the strokes while the pen moves, so the prediction follows it.
:class:`DrawView` prepares the drawing the way the dataset's images were made
(:mod:`playground.insight.draw`), shows that picture, and the model's class
probabilities. The model is the one the learner trained, as it is.
"""

from __future__ import annotations

import panel as pn

from playground.components.figures import INSIGHT_CSS, bars_html, message_html, picture_html
from playground.components.htmlwidgets import CANVAS_CSS, DrawingCanvas
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight.draw import canvas_colours, predict_drawing, recipe_for
from playground.insight.feature_maps import image_picture
from playground.insight.glyphs import digit_drawing
from playground.insight.results import prediction_text, probability_bars
from pycnn.insight import NothingToShow

__all__ = ["DrawView"]


class DrawView(InsightView):
    """The canvas, the picture the model sees, and the class probabilities."""

    def __init__(self, **params):
        super().__init__(**params)
        self.canvas = DrawingCanvas(
            stylesheets=[CANVAS_CSS], css_classes=["cp-draw"], margin=(5, 10)
        )
        self.canvas.param.watch(self._on_strokes, "strokes")
        self._example = pn.widgets.Select(
            name="Or put an example digit on the canvas",
            options={"—": None, **{str(d): d for d in range(10)}},
            value=None,
            width=260,
            css_classes=["cp-draw-example"],
        )
        self._example.param.watch(self._on_example, "value")
        self._order = pn.widgets.RadioButtonGroup(
            name="Order of the classes",
            options={"Most likely first": True, "Class order": False},
            value=True,
            button_type="primary",
            button_style="outline",
            css_classes=["cp-draw-order"],
        )
        self._order.param.watch(lambda _e: self.guarded(self.refresh), "value")
        # 3-channel datasets whose images come in a few colours: which one the pen draws in
        self._pen = pn.widgets.RadioButtonGroup(
            name="Pen colour",
            options={},
            button_type="primary",
            button_style="outline",
            visible=False,
            css_classes=["cp-draw-pen"],
        )
        self._pen.param.watch(lambda _e: self.guarded(self.refresh), "value")
        self._train = pn.widgets.Button(
            name="Train the model", button_type="primary", css_classes=["cp-draw-train"]
        )
        self._train.on_click(self._on_train)
        self._answer = pn.pane.HTML(
            "",
            stylesheets=[INSIGHT_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-draw-answer"],
        )
        self.prediction = None  # the last DrawPrediction (tests read it)

    def follows(self):
        return [*super().follows(), (self.state, ("training", "analysis"), self._show_train)]

    # ---- input
    def _on_strokes(self, _event) -> None:
        self.context.drawing = self.canvas.drawing if self.canvas.strokes else None
        self.guarded(self.refresh)

    def _on_example(self, event) -> None:
        if event.new is not None:
            self.canvas.put(digit_drawing(event.new))

    async def _on_train(self, _event) -> None:
        await self.controller.train()

    def _show_train(self, *_events) -> None:
        needed = self.context.trained_model() is None
        self._train.visible = needed and not self.controller.running
        self._train.disabled = self.state.train_block_reason() is not None

    def _show_pens(self) -> None:
        pens = {f"{name} pen": name for name, _rgb in recipe_for(self.context.dataset).pens}
        if self._pen.options != pens:
            self._pen.param.update(options=pens, value=next(iter(pens.values()), None))
        shape = self.state.info.input_shape
        self._pen.visible = bool(pens) and shape[2] == 3
        ink, paper = canvas_colours(self.context.dataset, shape, self._pen.value)
        self.canvas.param.update(ink=ink, paper=paper)

    # ---- prediction
    def refresh(self) -> None:
        self._show_train()
        self._show_pens()
        model = self.context.trained_model()
        if self.controller.running and model is None:
            self._order.visible = False
            self._answer.object = message_html(
                "Training is running: draw now, and the prediction appears when it ends.",
                "cp-draw-message",
            )
            return
        answer = predict_drawing(model, self.canvas.drawing, self.context.dataset, self._pen.value)
        self.prediction = None if isinstance(answer, NothingToShow) else answer
        self._order.visible = self.prediction is not None
        if isinstance(answer, NothingToShow):
            text = answer.message
            if answer.reason == "not-trained":
                reason = self.state.train_block_reason()
                text += f" ({reason})" if reason else " Press the button below."
            self._answer.object = message_html(text, "cp-draw-message")
            return
        names = self.context.class_names
        picture = image_picture(
            answer.prepared.image, fit=112, what="Your drawing as the model sees it"
        )
        bars = probability_bars(answer.probabilities, names, sort=self._order.value)
        self._answer.object = (
            f'<p class="cp-draw-top">The model sees: <b class="cp-draw-prediction">'
            f"{esc(prediction_text(answer.probabilities, names))}</b></p>"
            + bars_html(bars, "Probability of each class")
            + f'<figure style="margin:8px 0 0 0">{picture_html(picture, "cp-draw-input")}'
            f"<figcaption>{esc(answer.prepared.description)}</figcaption></figure>"
        )

    def __panel__(self):
        return pn.Column(
            self.notice,
            pn.pane.HTML(
                "<p class='cp-note' style='margin:0'>Draw a digit or a shape in the box "
                "(mouse, pen or finger). The model you trained says what it sees, while you "
                "draw.</p>",
                stylesheets=[INSIGHT_CSS],
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(
                pn.Column(self.canvas, self._pen, self._example, width=300),
                pn.Column(
                    self._answer,
                    self._order,
                    self._train,
                    sizing_mode="stretch_width",
                    styles={"flex": "1 1 280px"},
                ),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
            css_classes=["cp-draw-view"],
        )
