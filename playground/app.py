"""CNN Playground page: only assembles the components over one state object.

Served with ``panel serve playground/app.py`` and compiled to the static site
with ``panel convert --to pyodide-worker``. No relative imports (the converted
app imports the installed ``playground`` and ``pycnn`` packages); heavy
modules are imported lazily by the components that need them.
"""

import panel as pn

from playground.components.summary import ModelProblems, SummaryTable
from playground.components.trainer import Trainer
from playground.state import PlaygroundState
from playground.training import TrainingController

pn.extension(design="native", notifications=False)

state = PlaygroundState()
controller = TrainingController(state)

page = pn.Column(
    pn.pane.HTML("<h1>CNN Playground</h1>", margin=(0, 10)),
    pn.pane.HTML("<h3>Model summary</h3>", margin=(0, 10)),
    SummaryTable(state=state),
    ModelProblems(state=state),
    Trainer(state=state, controller=controller),
    sizing_mode="stretch_width",
    max_width=1100,
)
# Last: the marker the end-to-end tests wait for.
page.append(pn.pane.HTML("", css_classes=["cp-ready"], height=0, margin=0))
page.servable(title="CNN Playground")
