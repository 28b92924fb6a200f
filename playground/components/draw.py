"""Draw to predict: the learner draws, the trained model says what it sees.

:class:`DrawingCanvas` is a ``<canvas>`` that records strokes with pointer
events (mouse, pen and touch alike; ``touch-action: none`` keeps a tablet from
scrolling while a finger draws) and sends them to Python as compact lists —
while drawing every 150 ms and at each pen-up — so the prediction follows the
pen. :class:`DrawView` prepares the drawing the way the dataset's images were
made (:mod:`playground.insight.draw`), shows that picture, and the model's
class probabilities. The model is the one the learner trained, as it is.
"""

from __future__ import annotations

import panel as pn
import param
from panel.reactive import ReactiveHTML

from playground.components.figures import INSIGHT_CSS, bars_html, message_html, picture_html
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight.draw import predict_drawing
from playground.insight.feature_maps import image_picture
from playground.insight.glyphs import digit_drawing
from playground.insight.results import prediction_text, probability_bars
from pycnn.insight import NothingToShow

__all__ = ["CANVAS_SIZE", "DrawView", "DrawingCanvas"]

CANVAS_SIZE = 280  # canvas pixels (square); on a narrow screen it is shown smaller

_CANVAS_CSS = """
.cp-canvas-wrap { display: inline-flex; flex-direction: column; gap: 6px; max-width: 100%; }
canvas { width: 280px; max-width: 100%; height: auto; aspect-ratio: 1 / 1; background: #fff;
  border: 2px solid #5f6b7a; border-radius: 4px; touch-action: none; cursor: crosshair;
  display: block; }
.cp-canvas-buttons { display: flex; gap: 6px; }
.cp-canvas-buttons button { font: inherit; font-size: 14px; padding: 6px 14px; min-height: 36px;
  border: 1px solid #5f6b7a; border-radius: 4px; background: #fff; color: #1a1a1a; cursor: pointer; }
.cp-canvas-buttons button:focus-visible { outline: 3px solid #1f4e8c; outline-offset: 1px; }
"""


class DrawingCanvas(ReactiveHTML):
    """A square canvas; ``strokes`` holds what was drawn (and can be set from Python)."""

    strokes = param.List(
        default=[], doc="One flat [x0, y0, x1, y1, ...] list per stroke, canvas pixels, y down"
    )
    size = param.Integer(default=CANVAS_SIZE, doc="Canvas pixels per side")

    _template = """
<div class="cp-canvas-wrap">
  <canvas id="canvas" width="${size}" height="${size}" role="img"
    aria-label="Drawing area: draw with the mouse, a pen or a finger"></canvas>
  <div class="cp-canvas-buttons">
    <button id="undo" type="button" class="cp-draw-undo">Undo stroke</button>
    <button id="clear" type="button" class="cp-draw-clear">Clear</button>
  </div>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
            const ctx = canvas.getContext('2d')
            state.strokes = data.strokes.map((s) => s.slice())
            state.current = null
            state.sent = 0
            state.paint = () => {
              ctx.clearRect(0, 0, canvas.width, canvas.height)
              ctx.lineWidth = canvas.width / 18
              ctx.lineCap = 'round'
              ctx.lineJoin = 'round'
              ctx.strokeStyle = '#111'
              ctx.fillStyle = '#111'
              for (const s of state.strokes) {
                if (s.length === 2) {
                  ctx.beginPath()
                  ctx.arc(s[0], s[1], ctx.lineWidth / 2, 0, 2 * Math.PI)
                  ctx.fill()
                  continue
                }
                ctx.beginPath()
                ctx.moveTo(s[0], s[1])
                for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1])
                ctx.stroke()
              }
            }
            const send = () => {
              data.strokes = state.strokes.map((s) => s.slice())
              state.sent = performance.now()
            }
            const at = (e) => {
              const box = canvas.getBoundingClientRect()
              const x = (e.clientX - box.left) * canvas.width / box.width
              const y = (e.clientY - box.top) * canvas.height / box.height
              return [Math.round(x * 10) / 10, Math.round(y * 10) / 10]
            }
            canvas.addEventListener('pointerdown', (e) => {
              if (e.pointerType === 'mouse' && e.button !== 0) return
              e.preventDefault()
              try { canvas.setPointerCapture(e.pointerId) } catch (err) { /* synthetic event */ }
              state.current = at(e)
              state.strokes.push(state.current)
              state.paint()
            })
            canvas.addEventListener('pointermove', (e) => {
              if (state.current === null) return
              e.preventDefault()
              const moves = e.getCoalescedEvents ? e.getCoalescedEvents() : []
              for (const m of (moves.length ? moves : [e])) state.current.push(...at(m))
              state.paint()
              if (performance.now() - state.sent > 150) send()
            })
            const end = () => {
              if (state.current === null) return
              state.current = null
              send()
            }
            canvas.addEventListener('pointerup', end)
            canvas.addEventListener('pointercancel', end)
            undo.addEventListener('click', () => { state.strokes.pop(); state.paint(); send() })
            clear.addEventListener('click', () => { state.strokes = []; state.paint(); send() })
            state.paint()
        """,
        # Set from Python (an example drawing): show it, unless a stroke is under way.
        "strokes": """
            if (state.current === null || state.current === undefined) {
              state.strokes = data.strokes.map((s) => s.slice())
              state.paint()
            }
        """,
    }

    @property
    def drawing(self) -> dict:
        """The JSON form :func:`playground.insight.draw.Drawing.from_json` reads."""
        return {"width": self.size, "height": self.size, "strokes": self.strokes}

    def put(self, drawing) -> None:
        """Show a :class:`~playground.insight.draw.Drawing` (scaled to this canvas)."""
        scale = self.size / max(drawing.width, drawing.height)
        self.strokes = [
            [round(float(v) * scale, 1) for v in stroke.ravel()] for stroke in drawing.strokes
        ]


class DrawView(InsightView):
    """The canvas, the picture the model sees, and the class probabilities."""

    def __init__(self, **params):
        super().__init__(**params)
        self.canvas = DrawingCanvas(
            stylesheets=[_CANVAS_CSS], css_classes=["cp-draw"], margin=(5, 10)
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
        self._order.param.watch(lambda _e: self.refresh(), "value")
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
        self.state.param.watch(self._show_train, ["training", "analysis"])

    # ---- input
    def _on_strokes(self, _event) -> None:
        self.context.drawing = self.canvas.drawing if self.canvas.strokes else None
        self.refresh()

    def _on_example(self, event) -> None:
        if event.new is not None:
            self.canvas.put(digit_drawing(event.new))

    async def _on_train(self, _event) -> None:
        await self.controller.train()

    def _show_train(self, *_events) -> None:
        needed = self.context.trained_model() is None
        self._train.visible = needed and not self.controller.running
        self._train.disabled = self.state.train_block_reason() is not None

    # ---- prediction
    def refresh(self) -> None:
        self._show_train()
        model = self.context.trained_model()
        if self.controller.running and model is None:
            self._order.visible = False
            self._answer.object = message_html(
                "Training is running: draw now, and the prediction appears when it ends."
            )
            return
        answer = predict_drawing(model, self.canvas.drawing, self.context.dataset)
        self.prediction = None if isinstance(answer, NothingToShow) else answer
        self._order.visible = self.prediction is not None
        if isinstance(answer, NothingToShow):
            text = answer.message
            if answer.reason == "not-trained":
                reason = self.state.train_block_reason()
                text += f" ({reason})" if reason else " Press the button below."
            self._answer.object = message_html(text)
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
            pn.pane.HTML(
                "<p class='cp-note' style='margin:0'>Draw a digit or a shape in the box "
                "(mouse, pen or finger). The model you trained says what it sees, while you "
                "draw.</p>",
                stylesheets=[INSIGHT_CSS],
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(
                pn.Column(self.canvas, self._example, width=300),
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
