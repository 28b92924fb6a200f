"""Live Bokeh plots of loss and accuracy (training and validation), streamed while training.

The train curves get a point at most every ``STREAM_SECONDS`` (each point is a
message to the page) and at every epoch end; validation points come once per
epoch. Data sources carry names (``cp-train-source``, ``cp-val-source``) so
end-to-end tests can read the plotted numbers in the page.
"""

from __future__ import annotations

import math
import time

import panel as pn
import param
from panel.viewable import Viewer

from playground.components.layout import Columns
from playground.components.text import esc
from playground.runtime import IN_BROWSER
from playground.training import TrainingController
from pycnn import TrainEvent

__all__ = ["TrainingPlots"]

STREAM_SECONDS = 0.2
# Okabe & Ito's blue and vermillion (2008): told apart with every common colour-vision
# deficiency, and the lines differ by more than hue (solid vs dashed with dots).
TRAIN_COLOR = "#0072B2"
VAL_COLOR = "#D55E00"


def _on_document(fn) -> None:
    """Run a direct Bokeh model change safely: under ``panel serve`` it must hold the
    document lock, so it is queued on the session; in Pyodide it runs at once."""
    doc = pn.state.curdoc
    if not IN_BROWSER and doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(fn)
    else:
        fn()


def latest_text(epoch: float, p: TrainEvent) -> str:
    """The last point of both plots in words, as HTML."""
    loss = f"training {p.loss:.3f}"
    accuracy = f"training {p.accuracy * 100:.1f} %"
    if p.val_loss is not None:
        loss += f", validation {p.val_loss:.3f}"
        accuracy += f", validation {p.val_accuracy * 100:.1f} %"
    return (
        f'<p class="cp-plot-text" style="margin:0">After epoch {epoch:g}: loss {esc(loss)}; '
        f"accuracy {esc(accuracy)}.</p>"
    )


class TrainingPlots(Viewer):
    controller = param.ClassSelector(class_=TrainingController)

    def __init__(self, **params):
        super().__init__(**params)
        self._train = self._val = None
        self._placeholder = pn.pane.HTML(
            "<div style='color:#595959'>Loss and accuracy curves appear here when you train.</div>",
            sizing_mode="stretch_width",
        )
        self._figures = pn.Column(self._placeholder, sizing_mode="stretch_width")
        self._test = pn.pane.HTML("", sizing_mode="stretch_width")
        # The plots in words (for screen readers, and anyone who wants the numbers).
        self._latest = pn.pane.HTML("", sizing_mode="stretch_width")
        self._base = 0.0
        self._last = 0.0
        self._run = -1
        self.controller.listeners.append(self._on_progress)
        self.controller.param.watch(self._on_test, "test_accuracy")
        self.controller.param.watch(self._on_session, "session")
        self.controller.param.watch(self._build, "run_id")
        if not IN_BROWSER:
            # On a server start-up time matters less, and figures added later in a session
            # could receive streamed points before the page knows them.
            self._build()

    def _build(self, *_events) -> None:
        """Create the figures at the first Train press: Bokeh's plotting module and the
        first figure cost about a second of start-up in the browser otherwise."""
        if self._train is not None:
            return
        from bokeh.models import ColumnDataSource, Range1d
        from bokeh.plotting import figure

        self._train = ColumnDataSource(
            data={"x": [], "loss": [], "accuracy": []}, name="cp-train-source"
        )
        self._val = ColumnDataSource(
            data={"x": [], "loss": [], "accuracy": []}, name="cp-val-source"
        )
        # Hover (a tap on a touch screen) reads a point; no pan or zoom: on a phone dragging
        # across a plot must scroll the page.
        common = {
            "height": 260,
            "sizing_mode": "stretch_width",
            "min_width": 0,
            "tools": "hover",
            "toolbar_location": None,
            "x_axis_label": "epoch",
        }
        # Fixed ranges set from Python: auto-ranging (DataRange1d) makes the page send a
        # range update to the worker at every streamed point, and in the pyodide worker
        # that traffic can crowd out a click (Stop).
        self._x_range = Range1d(0, 1)
        self._loss_range = Range1d(0, 2.5)
        loss_fig = figure(
            title="Loss (lower is better)",
            x_range=self._x_range,
            y_range=self._loss_range,
            **common,
        )
        acc_fig = figure(
            title="Accuracy (higher is better)",
            x_range=self._x_range,
            y_range=Range1d(0, 1.02),
            **common,
        )
        for fig, key in ((loss_fig, "loss"), (acc_fig, "accuracy")):
            fig.line(
                "x",
                key,
                source=self._train,
                color=TRAIN_COLOR,
                line_width=2,
                legend_label="training",
            )
            fig.line(
                "x",
                key,
                source=self._val,
                color=VAL_COLOR,
                line_width=2,
                line_dash="dashed",
                legend_label="validation",
            )
            fig.scatter(
                "x", key, source=self._val, color=VAL_COLOR, size=7, legend_label="validation"
            )
            fig.legend.location = "top_right" if key == "loss" else "bottom_right"
        self._figures.objects = [
            Columns(
                pn.pane.Bokeh(loss_fig, sizing_mode="stretch_width"),
                pn.pane.Bokeh(acc_fig, sizing_mode="stretch_width"),
                min_width=300,
            ),
            self._latest,
        ]

    def _on_session(self, _event) -> None:
        """A fresh model (new spec or reset weights): start new curves."""
        if self._train is None:
            return

        def clear():
            self._train.data = {"x": [], "loss": [], "accuracy": []}
            self._val.data = {"x": [], "loss": [], "accuracy": []}
            self._loss_range.end = 2.5

        _on_document(clear)
        self._test.object = ""
        self._latest.object = ""

    def _on_progress(self, p: TrainEvent) -> None:
        if self._train is None:
            self._build()
        c = self.controller
        if c.run_id != self._run:  # first event of a run: continue after earlier runs' epochs
            self._run = c.run_id
            self._base = float(c.trained_epochs)
            self._last = 0.0
        x = self._base + p.epochs * p.progress
        now = time.perf_counter()
        if p.kind == "batch" and now - self._last < STREAM_SECONDS:
            return
        self._last = now
        train = {"x": [x], "loss": [p.loss], "accuracy": [p.accuracy]}
        val = None
        if p.kind == "epoch" and p.val_loss is not None:
            val = {"x": [x], "loss": [p.val_loss], "accuracy": [p.val_accuracy]}
        if p.kind == "epoch":
            self._latest.object = latest_text(self._base + p.epoch, p)

        end = self._base + p.epochs
        top = 1.1 * max([v for v in (p.loss, p.val_loss or 0.0) if math.isfinite(v)] + [0.0])

        def stream():
            if self._x_range.end != end:
                self._x_range.end = end
            self._loss_range.end = max(self._loss_range.end, top)
            self._train.stream(train)
            if val is not None:
                self._val.stream(val)

        _on_document(stream)

    def _on_test(self, event) -> None:
        acc = event.new
        self._test.object = (
            ""
            if acc is None
            else f'<div class="cp-test-accuracy" style="font-size:18px">Test accuracy: <b class="cp-test-value">{esc(f"{acc * 100:.1f}")} %</b> '
            "<span style='color:#595959;font-size:13px'>(images the network never saw while training)</span></div>"
        )

    def __panel__(self):
        return pn.Column(self._figures, self._test, sizing_mode="stretch_width")
