"""Buttons whose symbol is decoration and whose name is words.

A screen reader reads a button's text: "▶ Train" would be heard as "black
right-pointing triangle Train", and "↑" as "upwards arrow". :class:`NamedButton`
shows the symbol and the words on screen, hidden from assistive technology
(``aria-hidden``), and the name only to screen readers (``cp-sr-only``, in
layout.CONTROLS_CSS). The name contains the shown words (WCAG 2.5.3, "label in
name"), so speech control works too. A symbol alone on screen has its name as the
tooltip as well, for mouse users.
"""

from __future__ import annotations

import panel as pn
import param
from bokeh.models.dom import HTML

from playground.components.text import esc

__all__ = ["NamedButton"]


class NamedButton(pn.widgets.Button):
    """``NamedButton(name="Move layer 2 up", symbol="↑", text="")``: ``name`` is what a
    screen reader says; on screen the symbol, then ``text`` (default: the name)."""

    symbol = param.String(default="", constant=True, doc="shown, never read aloud")
    text = param.String(
        default=None, allow_None=True, constant=True, doc="shown words; None: the name; '': none"
    )

    _rename = {**pn.widgets.Button._rename, "symbol": None, "text": None}  # noqa: RUF012

    def __init__(self, **params):
        if params.get("text") == "":
            params.setdefault("description", params.get("name"))  # the tooltip says it too
        super().__init__(**params)

    def _process_param_change(self, params):
        props = super()._process_param_change(params)
        if "label" in props:
            props["label"] = HTML(html=self._label_html(props["label"]))
        return props

    def _label_html(self, name: str) -> str:
        shown = name if self.text is None else self.text
        if self.symbol and shown:
            shown = f"{self.symbol} {shown}"
        elif self.symbol:
            shown = self.symbol
        if shown == name:
            return esc(name)
        return f'<span aria-hidden="true">{esc(shown)}</span><span class="cp-sr-only">{esc(name)}</span>'
