"""Read the code: the NumPy source pycnn runs for a layer, with this model's tensor shapes.

The listing is read from the installed pycnn modules (:func:`pycnn.insight.layer_code`
follows the calls from where training enters the layer), so it is the code that
actually runs here, in this browser; the shapes are those of the learner's model
at the chosen batch size.
"""

from __future__ import annotations

import panel as pn

from playground.components.figures import INSIGHT_CSS, message_html
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight.highlight import CODE_CSS, highlight_html
from pycnn.insight import CodeSection, NothingToShow, layer_code

__all__ = ["CodeView", "code_html"]

_CSS = """
.cp-code-layout { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.cp-code-listing { flex: 3 1 420px; min-width: 0; }
.cp-code-shapes { flex: 1 1 240px; min-width: 0; background: #f4f6f8; border: 1px solid #d0d7de;
  border-radius: 4px; padding: 6px 10px; }
.cp-code-shapes ul { padding-left: 1.1em; margin: 4px 0; }
.cp-code-shapes li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  margin: 3px 0; overflow-wrap: anywhere; }
.cp-code-text details { min-width: 0; border-left: 3px solid #d0d7de; margin: 4px 0 4px calc(var(--depth) * 14px);
  padding-left: 6px; }
.cp-code-text summary { cursor: pointer; font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 13px; padding: 10px 0; min-height: 40px; box-sizing: border-box;
  overflow-wrap: anywhere; }
.cp-code-text summary .cp-where { color: #4d4d4d; font-size: 12px; }
.cp-code-text pre { overflow-x: auto; font-size: 12px; line-height: 1.35; padding: 6px; margin: 2px 0;
  border: 1px solid #e1e4e8; border-radius: 4px; max-width: 100%; }
.cp-code-text h3 { margin: 10px 0 2px 0; }
"""


def _section_html(section: CodeSection) -> str:
    depth = min(section.depth, 4)
    opened = " open" if section.depth <= 1 else ""
    return (
        f'<details style="--depth:{depth}"{opened}><summary><b>{esc(section.title)}</b> '
        f'<span class="cp-where">{esc(section.path)}, line {section.first_line}</span>'
        f"</summary>"
        f'<pre class="tok-code" tabindex="0"><code>{highlight_html(section.source)}</code></pre></details>'
    )


def code_html(code) -> str:
    """The listing (forward, then backward), its notes and the shapes, as HTML."""
    notes = "".join(f'<p class="cp-note">{esc(n)}</p>' for n in code.notes)
    constants = ", ".join(f"{k} = {v!r}" for k, v in code.constants.items())
    if constants:
        notes += (
            f'<p class="cp-note">The code branches on these settings; here they are '
            f"{esc(constants)}.</p>"
        )
    forward = "".join(_section_html(s) for s in code.forward)
    backward = (
        "".join(_section_html(s) for s in code.backward)
        or '<p class="cp-note">No backward pass runs for this layer.</p>'
    )
    shapes = "".join(f"<li>{esc(n.text)}</li>" for n in code.shapes)
    symbols = ", ".join(f"{k} = {v}" for k, v in code.symbols.items())
    return (
        f'<p class="cp-code-runs">Training runs <b>{esc(code.runs_as)}</b>.</p>{notes}'
        '<div class="cp-code-layout">'
        f'<div class="cp-code-listing"><h3>Forward pass</h3>{forward}'
        f"<h3>Backward pass (gradients)</h3>{backward}</div>"
        f'<aside class="cp-code-shapes" aria-label="Tensor shapes of this model">'
        f'<h3>This model\'s tensors</h3><p class="cp-note">{esc(symbols)}</p>'
        f"<ul>{shapes}</ul></aside></div>"
    )


class CodeView(InsightView):
    """Pick a layer; see the forward and backward code that runs for it."""

    # The code and its shapes depend on the layers, the input and the batch size: not on
    # the weights, nor on whether training runs.
    STATE_PARAMS = ("layers", "dataset", "batch_size")
    CONTROLLER_PARAMS = ()

    def __init__(self, **params):
        super().__init__(**params)
        self._layer = pn.widgets.Select(
            name="Layer", options={}, width=260, css_classes=["cp-code-layer"]
        )
        self._layer.param.watch(self._on_layer, "value")
        self._listing = pn.pane.HTML(
            "", stylesheets=[INSIGHT_CSS + CODE_CSS + _CSS], sizing_mode="stretch_width"
        )
        self._syncing = False

    def _sync_layers(self, model) -> None:
        """Offer every layer; keep the chosen one if it is still there, else the first Conv2D."""
        layers = (
            {
                f"{i + 1}. {layer.name} ({layer.kind})": layer.name
                for i, layer in enumerate(model.layers)
            }
            if model is not None
            else {}
        )
        if self._layer.options == layers:
            return
        first_conv = (
            next((lr.name for lr in model.layers if lr.kind == "Conv2D"), None) if model else None
        )
        keep = self._layer.value if self._layer.value in layers.values() else None
        self._syncing = True
        try:
            self._layer.options = layers
            self._layer.value = keep or first_conv or next(iter(layers.values()), None)
        finally:
            self._syncing = False

    def _on_layer(self, _event) -> None:
        if not self._syncing:
            self.changed()

    def refresh(self) -> None:
        model = self.model()
        self._sync_layers(model)
        self._layer.visible = model is not None
        answer = (
            layer_code(model, self._layer.value, batch_size=self.state.batch_size)
            if model is not None
            else layer_code(None, 0)
        )
        if isinstance(answer, NothingToShow):
            self._listing.object = message_html(answer.message)
        else:
            self._listing.object = f'<div class="cp-code-text">{code_html(answer)}</div>'

    def __panel__(self):
        return pn.Column(
            self.notice,
            self._layer,
            self._listing,
            sizing_mode="stretch_width",
            css_classes=["cp-code"],
        )
