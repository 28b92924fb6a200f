"""CNN Playground page: only assembles the components over one state object.

Served with ``panel serve playground/app.py`` and compiled to the static site
with ``panel convert --to pyodide-worker``. No relative imports (the converted
app imports the installed ``playground`` and ``pycnn`` packages); heavy work
(dataset arrays, training) starts only when needed, and the views below the first
screen are built right after the first render (``built_later``), so the page is usable
sooner. Where a new view goes: docs/PLAYGROUND.md, "Page layout".
"""

from functools import partial

import panel as pn

from playground.components.builder import Builder
from playground.components.dataset import DatasetPicker
from playground.components.export import ExportPanel
from playground.components.inside import SeeInside
from playground.components.insight import DenseComparison
from playground.components.layout import (
    CONTROLS_CSS,
    Columns,
    Page,
    built_later,
    heading,
    section,
)
from playground.components.lesson import LessonPanel
from playground.components.plots import TrainingPlots
from playground.components.shapeflow import ShapeFlow
from playground.components.share import ShareLink
from playground.components.summary import ModelProblems, SummaryTable
from playground.components.trainer import Trainer
from playground.runtime import after_first_render, fix_worker_document, is_live, watch_first_render
from playground.state import PlaygroundState
from playground.training import TrainingController

pn.extension(design="native", notifications=False, apply_signatures=False, raw_css=[CONTROLS_CSS])
fix_worker_document()
watch_first_render()  # before anything waits for it (see after_first_render)

# About how tall (px) the views built after the first render are on a laptop screen
# (1280 px wide; on a phone they are taller, and they are far below the first screen there).
TRAIN_HEIGHT = 230
INSIDE_HEIGHT = 160
EXPORT_HEIGHT = 520

state = PlaygroundState()
controller = TrainingController(state)

share = ShareLink(state=state)  # reads the link first, so every view starts from it
dataset = DatasetPicker(state=state)
# The lesson path beside the playground (docs/LESSON.md); the page is ready once it has
# read the saved progress.
lesson = LessonPanel(state=state, controller=controller, share=share)

page = Page(
    header=heading(
        "CNN Playground",
        1,
        note="Build a convolutional network from blocks, watch the shapes and parameters, "
        "and train it right here in your browser.",
    ),
    lesson=lesson,
    strip=lesson.strip,
    sections=[
        share,
        Columns(
            [
                section("Data", dataset, name="data"),
                section("Build your network", Builder(state=state), name="build"),
            ],
            section(
                "Model summary",
                SummaryTable(state=state),
                ModelProblems(state=state),
                DenseComparison(state=state),
                ShapeFlow(state=state),
                name="summary",
            ),
        ),
        # Below the first screen: built once the page is drawn, behind placeholders of
        # about their height (the headings are there from the start). partial() binds the
        # objects now: in the worker, Panel's own code later reuses names of this module
        # (``state``).
        section(
            "Train",
            built_later(
                partial(Trainer, state=state, controller=controller),
                partial(TrainingPlots, controller=controller),
                height=TRAIN_HEIGHT,
                label="the training controls and plots",
            ),
            name="train",
        ),
        # What the network learnt and where it fails: filters, feature maps, test results,
        # code, draw to predict. Each view is built when first shown.
        section(
            "See inside the network",
            built_later(
                partial(SeeInside, state=state, controller=controller),
                height=INSIDE_HEIGHT,
                label="the views inside the network",
            ),
            name="inside",
        ),
        # Downloads, opening a model from files, copy link and embed snippet.
        section(
            "Take it further",
            built_later(
                partial(ExportPanel, state=state, controller=controller, share=share),
                height=EXPORT_HEIGHT,
                label="downloads and sharing",
            ),
            name="export",
        ),
    ],
)
root = pn.Column(page, sizing_mode="stretch_width", margin=0)

_ready_marker = pn.pane.HTML("", css_classes=["cp-ready"], height=0, margin=0)


def _on_ready(*_events) -> None:
    if is_live() and share.ready and lesson.ready and _ready_marker not in root.objects:
        root.append(_ready_marker)  # last: the page is live, the link and the lesson applied
        after_first_render(dataset.load_preview)  # not before: it may download a dataset


share.param.watch(_on_ready, "ready")
lesson.param.watch(_on_ready, "ready")
_on_ready()

root.servable(title="CNN Playground")
