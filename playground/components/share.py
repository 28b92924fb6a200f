"""Share links: read the model from the page address, write every edit back to it.

The address holds the model in DESIGN.md's format (``?dataset=…&layers=…``).
Opening a link rebuilds the model; a malformed link loads the default model
and says which token is wrong and why (rules: ``playground.links``). Edits
write the address with ``history.replaceState`` (:class:`AddressBar`: no
reload, no Back-button entry), so copying the address shares the model.
Text pasted into the link box opens like a link; text that is not one, or a
link pasted while training runs, is refused with a message.

Under ``panel serve`` the query is known when the script runs. In the
pyodide-worker build the loader passes the page address when it starts Python
(:func:`playground.runtime.fill_location_from_page`), so it is known then too.
Without it the address arrives a moment after the first render (the page sends
``window.location`` to the worker): the link is applied then, and ``ready``
turns True only after that — the app shows ``cp-ready`` on it.
Nothing from a link is ever put into HTML unescaped.
"""

from __future__ import annotations

import asyncio
import sys

import panel as pn
import param
from panel.reactive import ReactiveHTML
from panel.viewable import Viewer

from playground.components.text import esc
from playground.links import LINK_PARAMS, LinkProblem, link_query
from playground.runtime import fill_location_from_page
from playground.spec import shorten
from playground.state import PlaygroundState

__all__ = ["AddressBar", "ShareLink"]


class AddressBar(ReactiveHTML):
    """Writes the page address with ``history.replaceState``: no reload and, unlike
    Panel's Location (``pushState``), no extra Back-button entry per edit — after
    Back the address would no longer match the model on the page."""

    query = param.String(default="", doc="'?dataset=…' — the new query part of the address")

    _template = '<div id="address" style="display:none"></div>'
    # Panel hands string parameters to scripts HTML-escaped ('&' -> '&amp;'): decode with
    # DOMParser (parsing only, nothing runs) before writing the address.
    _SET = (
        "if (data.query) { const q = new DOMParser().parseFromString(data.query, 'text/html')"
        ".documentElement.textContent; window.history.replaceState(window.history.state, '', q) }"
    )
    _scripts = {"render": _SET, "query": _SET}  # noqa: RUF012 - Panel's declaration style


READY_FALLBACK_SECONDS = 4.0


class ShareLink(Viewer):
    state = param.ClassSelector(class_=PlaygroundState)
    location = param.Parameter(default=None, doc="Panel Location (default: pn.state.location)")
    ready = param.Boolean(default=False, doc="True once the page's own link has been read")
    link = param.String(default="", doc="The share link of the model on the page")
    opened = param.String(default="", doc="The query the page was opened with, as it was")
    address = param.String(
        default=None,
        allow_None=True,
        doc="What the page address shows instead of the model's link (the lesson's "
        "'?mode=learn&step=N': its model lives in the saved progress); None: the model's link",
    )

    def __init__(self, **params):
        super().__init__(**params)
        if self.location is None:
            self.location = pn.state.location
        self._written: str | None = None
        self._synced = False
        self._link = pn.widgets.TextInput(
            name="Share this model: copy the link (or paste one and press Enter)",
            value="",
            sizing_mode="stretch_width",
            css_classes=["cp-share-link"],
        )
        self._showing = ""
        self._link.param.watch(self._on_typed, "value")
        self._address = AddressBar(height=0, width=0, margin=0)
        self._problems = pn.pane.HTML(
            "", sizing_mode="stretch_width", stylesheets=[".cp-link-problem { color: #8a1c1c; }"]
        )
        self.state.param.watch(self._write, list(LINK_PARAMS))
        self.param.watch(self._write, "address")
        self.state.param.watch(self._show_problems, "link_problems")
        loc = self.location
        if loc is None:
            self._mark_ready()
        else:
            if not (loc.href or loc.search):
                fill_location_from_page(loc)
            loc.param.watch(self._on_location, ["search", "href"])
            if loc.href or loc.search:  # panel serve, or passed by the loader: already here
                self._sync_from(loc.search)
            elif sys.platform == "emscripten":
                self._schedule_fallback()
            else:
                self._mark_ready()
        self._update_link()

    # ---- reading
    def _sync_from(self, search: str) -> None:
        if not self._synced:
            self.opened = search or ""
        self._synced = True
        if search and search != self._written:
            self.state.apply_query(search)
        self._mark_ready()
        self._update_link()

    def _on_location(self, *events) -> None:
        loc = self.location
        search_changed = any(e.name == "search" for e in events)
        if not self._synced or (search_changed and loc.search != self._written):
            self._sync_from(loc.search)
        else:
            self._update_link()

    def _mark_ready(self) -> None:
        if not self.ready:
            self.ready = True

    def _schedule_fallback(self) -> None:
        """If the page never reports its address (unexpected), still become ready."""
        try:
            loop = asyncio.get_event_loop()
            loop.call_later(READY_FALLBACK_SECONDS, self._mark_ready)
        except RuntimeError:
            self._mark_ready()

    # ---- writing
    def _write(self, *_events) -> None:
        query = self.address or self.state.query()
        loc = self.location
        if loc is not None and self._synced and loc.search != query:
            self._written = query
            with param.parameterized.discard_events(loc):
                loc.search = query  # Python's copy only; the page address is written below
            self._address.query = query
        self._update_link()

    def _update_link(self) -> None:
        loc = self.location
        base = ""
        if loc is not None and loc.href:
            base = loc.href.split("?")[0].split("#")[0]
        self._showing = base + self.state.query()
        self._link.value = self.link = self._showing

    def _on_typed(self, event) -> None:
        """A link pasted into the box opens like a link in the address bar; anything
        else is refused with a message, and the box shows the page's link again."""
        text = (event.new or "").strip()
        if text == self._showing:
            return
        query = link_query(text)
        if query is None:
            self.state.link_problems = [
                LinkProblem(
                    "link",
                    f"'{shorten(text)}' is not a link to a model: a link holds "
                    "'?dataset=…&layers=…'. The model on the page was kept.",
                )
            ]
        else:
            self.state.apply_query(query, record=True)
        self._update_link()

    def _show_problems(self, *_events) -> None:
        problems = self.state.link_problems
        if not problems:
            self._problems.object = ""
            return
        items = "".join(f"<li>{esc(p.message)}</li>" for p in problems)
        refused = any(p.key == "link" for p in problems)
        head = "The link was not opened:" if refused else "This link could not be read completely:"
        self._problems.object = (
            f'<div class="cp-link-problem cp-link-error"><b>{head}</b><ul>{items}</ul></div>'
        )

    def __panel__(self):
        return pn.Column(self._problems, self._link, self._address, sizing_mode="stretch_width")
