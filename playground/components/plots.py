"""Live Bokeh plots of loss and accuracy (training and validation), streamed while training.

The train curves get a point at most every ``STREAM_SECONDS`` (each point is a
message to the page) and at every epoch end; validation points come once per
epoch. Data sources carry names (``cp-train-source``, ``cp-val-source``) so
end-to-end tests can read the plotted numbers in the page.
"""

from __future__ import annotations

import sys
import time

import panel as pn
import param
from panel.viewable import Viewer

from playground.components.text import esc
from playground.training import Progress, TrainingController

__all__ = ["TrainingPlots"]

STREAM_SECONDS = 0.2


def _on_document(fn) -> None:
    """Run a direct Bokeh model change safely: under ``panel serve`` it must hold the
    document lock, so it is queued on the session; in Pyodide it runs at once."""
    doc = pn.state.curdoc
    if sys.platform != "emscripten" and doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(fn)
    else:
        fn()


class TrainingPlots(Viewer):
    controller = param.ClassSelector(class_=TrainingController)

    def __init__(self, **params):
        super().__init__(**params)
        from bokeh.models import ColumnDataSource, Legend  # noqa: F401 - loaded with Panel anyway
        from bokeh.plotting import figure

        self._train = ColumnDataSource(data=dict(x=[], loss=[], accuracy=[]), name="cp-train-source")
        self._val = ColumnDataSource(data=dict(x=[], loss=[], accuracy=[]), name="cp-val-source")
        common = dict(height=260, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset,hover",
                      toolbar_location="right", x_axis_label="epoch")
        self._loss_fig = figure(title="Loss (lower is better)", **common)
        self._acc_fig = figure(title="Accuracy (higher is better)", y_range=(0, 1), **common)
        for fig, key in ((self._loss_fig, "loss"), (self._acc_fig, "accuracy")):
            fig.line("x", key, source=self._train, color="#3b7dd8", line_width=2, legend_label="training")
            fig.line("x", key, source=self._val, color="#e07b39", line_width=2, line_dash="dashed",
                     legend_label="validation")
            fig.scatter("x", key, source=self._val, color="#e07b39", size=6, legend_label="validation")
            fig.legend.location = "top_right" if key == "loss" else "bottom_right"
        self._test = pn.pane.HTML("", sizing_mode="stretch_width")
        self._base = 0.0
        self._last = 0.0
        self._run = -1
        self.controller.listeners.append(self._on_progress)
        self.controller.param.watch(self._on_test, "test_accuracy")
        self.controller.param.watch(self._on_session, "session")

    def _on_session(self, _event) -> None:
        """A fresh model (new spec or reset weights): start new curves."""
        def clear():
            self._train.data = dict(x=[], loss=[], accuracy=[])
            self._val.data = dict(x=[], loss=[], accuracy=[])

        _on_document(clear)
        self._test.object = ""

    def _on_progress(self, p: Progress) -> None:
        c = self.controller
        if c.run_id != self._run:  # first event of a run: continue after earlier runs' epochs
            self._run = c.run_id
            self._base = float(c.trained_epochs)
            self._last = 0.0
        x = self._base + p.position
        now = time.perf_counter()
        if p.kind == "batch" and now - self._last < STREAM_SECONDS:
            return
        self._last = now
        train = dict(x=[x], loss=[p.loss], accuracy=[p.accuracy if p.accuracy is not None else float("nan")])
        val = None
        if p.kind == "epoch" and p.val_loss is not None:
            val = dict(x=[x], loss=[p.val_loss], accuracy=[p.val_accuracy])

        def stream():
            self._train.stream(train)
            if val is not None:
                self._val.stream(val)

        _on_document(stream)

    def _on_test(self, event) -> None:
        acc = event.new
        self._test.object = (
            "" if acc is None else
            f'<div class="cp-test-accuracy" style="font-size:18px">Test accuracy: <b class="cp-test-value">{esc(f"{acc * 100:.1f}")} %</b> '
            "<span style='color:#666;font-size:13px'>(images the network never saw while training)</span></div>"
        )

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.pane.Bokeh(self._loss_fig, sizing_mode="stretch_width"),
                   pn.pane.Bokeh(self._acc_fig, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            self._test,
            sizing_mode="stretch_width",
        )
