"""CNN Playground page: only assembles the components over one state object.

Served with ``panel serve playground/app.py`` and compiled to the static site
with ``panel convert --to pyodide-worker``. No relative imports (the converted
app imports the installed ``playground`` and ``pycnn`` packages); heavy work
(dataset arrays, training) starts only when needed.
"""

import panel as pn

from playground.components.builder import Builder
from playground.components.dataset import DatasetPicker
from playground.components.export import ExportPanel
from playground.components.inside import SeeInside
from playground.components.insight import DenseComparison
from playground.components.lesson import LessonPanel
from playground.components.plots import TrainingPlots
from playground.components.shapeflow import ShapeFlow
from playground.components.share import ShareLink
from playground.components.summary import ModelProblems, SummaryTable
from playground.components.trainer import Trainer
from playground.runtime import after_first_render, fix_worker_document, is_live, watch_first_render
from playground.state import PlaygroundState
from playground.training import TrainingController

pn.extension(design="native", notifications=False, apply_signatures=False)
fix_worker_document()
watch_first_render()  # before anything waits for it (see after_first_render)

state = PlaygroundState()
controller = TrainingController(state)

share = ShareLink(state=state)  # reads the link first, so every view starts from it
dataset = DatasetPicker(state=state)

build_column = pn.Column(dataset, Builder(state=state), width=640)
see_column = pn.Column(
    pn.pane.HTML("<h3>Model summary</h3>", margin=(0, 10)),
    SummaryTable(state=state),
    ModelProblems(state=state),
    DenseComparison(state=state),
    ShapeFlow(state=state),
    sizing_mode="stretch_width",
    min_width=420,
)
# Room for later views (learned filters, feature maps, confusion matrix,
# draw-a-digit), the lesson path and exports: each is one more component here.
page = pn.Column(
    pn.pane.HTML(
        "<h1 style='margin-bottom:0'>CNN Playground</h1>"
        "<div style='color:#555'>Build a convolutional network from blocks, watch the shapes "
        "and parameters, and train it right here in your browser.</div>",
        margin=(0, 10),
    ),
    share,
    pn.Row(build_column, see_column, sizing_mode="stretch_width"),
    Trainer(state=state, controller=controller),
    TrainingPlots(controller=controller),
    # See inside the network: filters, feature maps, test results, code, draw to predict.
    # Each view is built when first shown; the first one once the page has been drawn.
    SeeInside(state=state, controller=controller),
    sizing_mode="stretch_width",
    max_width=1400,
)

# Take it further: downloads, opening a model from files, copy link and embed snippet.
page.append(ExportPanel(state=state, controller=controller, share=share))

# ---- The lesson path: its panel beside the playground (on top on narrow screens, sticky on
# wide ones). The page is ready once the lesson has read the saved progress.
lesson = LessonPanel(state=state, controller=controller, share=share)
lesson_css = """
:host { flex: 1 1 340px; max-width: 440px; min-width: 0; align-self: flex-start;
        position: sticky; top: 0; max-height: 100vh; overflow-y: auto; }
@media (max-width: 899px) {
  :host { max-width: none; position: static; max-height: none; overflow: visible; }
}
"""
main_css = ":host { flex: 1 1 560px; min-width: 0; }"
layout = pn.FlexBox(
    pn.Column(lesson, stylesheets=[lesson_css], margin=0),
    pn.Column(page, stylesheets=[main_css], margin=0),
    flex_wrap="wrap",
    align_items="flex-start",
    sizing_mode="stretch_width",
)
# ---- end of the lesson path

_ready_marker = pn.pane.HTML("", css_classes=["cp-ready"], height=0, margin=0)


def _on_ready(*_events) -> None:
    if is_live() and share.ready and lesson.ready and _ready_marker not in page.objects:
        page.append(_ready_marker)  # last: the page is live, the link and the lesson applied
        after_first_render(dataset.load_preview)  # not before: it may download a dataset


share.param.watch(_on_ready, "ready")
lesson.param.watch(_on_ready, "ready")
_on_ready()

layout.servable(title="CNN Playground")
