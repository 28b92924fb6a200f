"""The live summary table (Keras columns + multiply-adds) and the model-problem box."""

from __future__ import annotations

import panel as pn
import param
from panel.viewable import Viewer

from playground.analysis import Analysis, shape_text, size_problem
from playground.components.text import esc, fmt_bytes, fmt_int
from playground.state import PlaygroundState

__all__ = ["ModelProblems", "SummaryTable", "summary_html"]

_CSS = """
.cp-table { border-collapse: collapse; width: 100%; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.cp-table th, .cp-table td { padding: 3px 10px; text-align: left; border-bottom: 1px solid #ddd; }
.cp-table td.num, .cp-table th.num { text-align: right; }
.cp-table td:nth-child(3) { white-space: nowrap; }
.cp-table tr.cp-row-error td { background: #fde8e8; color: #8a1c1c; font-weight: 600; }
.cp-table tr.cp-row-after td { color: #595959; }
.cp-table tr.cp-row-message td { background: #fde8e8; color: #8a1c1c; font-family: system-ui, sans-serif; white-space: normal; }
.cp-scroll { overflow-x: auto; }
.cp-totals { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; margin-top: 6px; }
"""


def summary_html(a: Analysis, hidden: dict[int, str] | None = None) -> str:
    """The table as HTML. Every piece of text is escaped. ``hidden`` ({row index:
    'params' | 'output_shape'}) are numbers shown as "?" (a lesson step asks for a
    guess first); a hidden parameter count hides the total too."""
    hidden = hidden or {}
    head = (
        "<tr><th>#</th><th>Layer (type)</th><th>Output Shape</th>"
        '<th class="num">Param #</th><th class="num">MACs</th></tr>'
    )
    body = [
        (
            f'<tr class="cp-row-input"><td></td><td>input</td><td>{esc(shape_text(a.input_shape))}</td>'
            '<td class="num"></td><td class="num"></td></tr>'
        )
    ]
    for row in a.rows:
        cls = "cp-row"
        if row.error is not None or (a.error_index == row.index and a.error):
            cls += " cp-row-error"
        elif a.error_index is not None and row.index > a.error_index and row.output_shape is None:
            cls += " cp-row-after"
        mark = (
            ' <span role="img" aria-label="has a problem">⚠</span>' if "cp-row-error" in cls else ""
        )
        secret = hidden.get(row.index)
        shape = "?" if secret == "output_shape" else shape_text(row.output_shape)
        params = "?" if secret == "params" else fmt_int(row.params)
        body.append(
            f'<tr class="{cls}" data-index="{row.index}"><td>{row.index + 1}{mark}</td>'
            f"<td>{esc(row.name)} ({esc(row.kind)})</td><td>{esc(shape)}</td>"
            f'<td class="num">{params}</td><td class="num">{fmt_int(row.macs)}</td></tr>'
        )
        if a.error and a.error_index == row.index:
            body.append(
                f'<tr class="cp-row-message" data-index="{row.index}"><td></td>'
                f'<td colspan="4">⚠ {esc(a.error)}</td></tr>'
            )
    label = (
        "Total params"
        if a.error_index is None or a.rows[a.error_index].error is None
        else ("Total params (without the invalid layer)")
    )
    if "params" in hidden.values():
        total, size = "?", "guess first"
    else:
        total, size = f"{a.total_params:,}", fmt_bytes(a.bytes)
    totals = (
        f'<div class="cp-totals">{label}: <b class="cp-total-params">{total}</b> '
        f"({size}) · Multiply-adds per image: {a.total_macs:,}</div>"
    )
    # A table wider than a phone scrolls inside its own box, not the page.
    table = f'<table class="cp-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
    return f'<div class="cp-scroll" tabindex="0" role="region" aria-label="Model summary table">{table}</div>{totals}'


class SummaryTable(Viewer):
    """Keras-style summary of the current spec; updates on every edit."""

    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            summary_html(self.state.analysis, self.state.hidden_numbers),
            stylesheets=[_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-summary"],
        )
        self.state.param.watch(self._update, ["analysis", "hidden_numbers"])

    def _update(self, *_events) -> None:
        self._pane.object = summary_html(self.state.analysis, self.state.hidden_numbers)

    def __panel__(self):
        return self._pane


class ModelProblems(Viewer):
    """What is wrong with the model (or why it is too big), with one-click fixes."""

    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        self._message = pn.pane.HTML(
            "",
            sizing_mode="stretch_width",
            stylesheets=[".cp-problem { color: #8a1c1c; font-weight: 600; }"],
        )
        self._fixes = pn.Row()
        self._box = pn.Column(
            self._message, self._fixes, visible=False, sizing_mode="stretch_width"
        )
        self.state.param.watch(self._update, ["analysis", "batch_size"])
        self._update()

    def _update(self, *_events) -> None:
        a = self.state.analysis
        problem = a.error if not a.valid else size_problem(a, self.state.batch_size)
        self._box.visible = bool(problem)
        self._message.object = (
            f'<div class="cp-problem cp-error" role="status">⚠ {esc(problem)}</div>'
            if problem
            else ""
        )
        buttons = []
        if not a.valid:
            for fix in a.fixes:
                button = pn.widgets.Button(
                    name=fix.label, button_type="warning", css_classes=["cp-fix"]
                )
                button.on_click(lambda _e, fix=fix: self.state.apply_fix(fix))
                buttons.append(button)
        self._fixes.objects = buttons

    def __panel__(self):
        return self._box
