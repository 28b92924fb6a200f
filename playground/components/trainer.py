"""Training settings, Train / Stop / Reset weights, progress bar and status line."""

from __future__ import annotations

import panel as pn
import param
from panel.viewable import Viewer

from playground.components.buttons import NamedButton
from playground.components.text import esc
from playground.state import PlaygroundState
from playground.training import TrainingController

__all__ = ["Trainer"]

LOCK_REASON = "Settings and layers are locked while training runs: press Stop to change them."


class Trainer(Viewer):
    """The controls of one training run; the work itself is TrainingController's."""

    state = param.ClassSelector(class_=PlaygroundState)
    controller = param.ClassSelector(class_=TrainingController)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._settings = [
            pn.widgets.IntInput.from_param(
                s.param.epochs, name="Epochs", width=90, css_classes=["cp-epochs"]
            ),
            pn.widgets.Select.from_param(
                s.param.batch_size,
                name="Batch size",
                width=100,
                css_classes=["cp-batch"],
                options=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
            ),
            pn.widgets.Select.from_param(
                s.param.learning_rate,
                name="Learning rate",
                width=110,
                css_classes=["cp-lr"],
                options=[1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001, 0.00001],
            ),
            pn.widgets.Select.from_param(
                s.param.optimizer,
                name="Optimizer",
                width=150,
                options={"Adam": "adam", "SGD + momentum 0.9": "sgd"},
                css_classes=["cp-optimizer"],
            ),
            pn.widgets.Select.from_param(
                s.param.validation_split,
                name="Validation split",
                width=110,
                options={"none": 0.0, "5 %": 0.05, "10 %": 0.1, "20 %": 0.2, "30 %": 0.3},
                css_classes=["cp-val"],
            ),
            pn.widgets.IntInput.from_param(
                s.param.seed, name="Seed", width=90, css_classes=["cp-seed"]
            ),
        ]
        self._keep_options()
        self._train = NamedButton(
            name="Train", symbol="▶", button_type="primary", css_classes=["cp-train"], width=110
        )
        self._stop = NamedButton(
            name="Stop",
            symbol="■",
            button_type="danger",
            css_classes=["cp-stop"],
            width=90,
            disabled=True,
        )
        self._reset = NamedButton(
            name="Reset weights", symbol="↺", css_classes=["cp-reset"], width=150
        )
        self._train.on_click(self._on_train)
        self._stop.on_click(lambda _e: self.controller.request_stop())
        self._reset.on_click(lambda _e: self.controller.reset_weights())
        self._bar = pn.indicators.Progress(
            value=0, max=1000, sizing_mode="stretch_width", height=16, css_classes=["cp-progress"]
        )
        # The cp-* markers sit on the text's own element (inside the pane's shadow root), so a
        # test reading `.cp-status` gets the text, not an empty shadow host.
        self._status = pn.pane.HTML("", sizing_mode="stretch_width", min_width=0)
        self._reason = pn.pane.HTML(
            "", sizing_mode="stretch_width", stylesheets=[".cp-why { color: #8a5a00; }"]
        )
        self._message = pn.pane.HTML(
            "",
            sizing_mode="stretch_width",
            stylesheets=[".cp-msg { color: #8a1c1c; font-weight: 600; }"],
        )
        self.controller.param.watch(self._show_status, ["status", "progress", "message", "running"])
        s.param.watch(self._show_reason, ["analysis", "batch_size", "training"])
        self._show_status()
        self._show_reason()

    def _keep_options(self) -> None:
        """A link may carry a value the Select does not list (e.g. lr=0.005): offer it too."""
        s = self.state
        for widget, value in (
            (self._settings[1], s.batch_size),
            (self._settings[2], s.learning_rate),
        ):
            if value not in widget.options:
                widget.options = sorted(
                    {*widget.options, value}, reverse=widget is self._settings[2]
                )

    async def _on_train(self, _event) -> None:
        await self.controller.train()

    def _show_status(self, *_events) -> None:
        c = self.controller
        self._status.object = f'<div class="cp-status">{esc(c.status)}</div>'
        self._bar.value = round(c.progress * 1000)
        self._message.object = (
            f'<div class="cp-msg cp-train-message" role="status">{esc(c.message)}</div>'
            if c.message
            else ""
        )
        running = c.running
        self._stop.disabled = not running
        self._reset.disabled = running
        for widget in self._settings:
            widget.disabled = running
        self._show_reason()

    def _show_reason(self, *_events) -> None:
        self._keep_options()
        reason = self.state.train_block_reason()
        running = self.controller.running
        self._train.disabled = bool(reason)
        if running:
            text = LOCK_REASON
        elif reason:
            text = "Train is disabled: " + reason
        else:
            text = ""
        self._reason.object = (
            f'<div class="cp-why cp-train-reason">{esc(text)}</div>' if text else ""
        )

    def __panel__(self):
        return pn.Column(
            pn.FlexBox(*self._settings),
            pn.FlexBox(self._train, self._stop, self._reset),
            self._reason,
            self._bar,
            self._status,
            self._message,
            sizing_mode="stretch_width",
        )
