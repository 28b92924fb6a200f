"""Glue for the two places the app runs: ``panel serve`` and the pyodide-worker site.

Panel 1.7.5 in a pyodide web worker never marks its document as loaded
(``pn.state._loaded`` is only filled by the server's ``document_ready``
handler). Layout changes (a Column's children, ``visible``) are made inside
``panel.io.document.hold``, which dispatches the held events only for a
loaded document — so in the worker they were silently never sent to the page:
new blocks did not appear, boxes did not show. :func:`fix_worker_document`
marks the document loaded; nothing else in Panel reads the flag there.

In the worker, Panel's Location (the page address) is filled by the page only
after the first render. The loader passes the page's address when it starts
Python (``$CNN_PLAYGROUND_PAGE``, see site-src/worker.js), so
:func:`fill_location_from_page` lets the first document already show the model
of a shared link — no round trip to the page and back after the first render.
Work the first screen does not need (the dataset preview) waits for the page to
have drawn the document: :func:`after_first_render`.
"""

from __future__ import annotations

import json
import os
import sys
import weakref
from collections.abc import Callable

import panel as pn
from bokeh.events import DocumentReady
from panel.util import edit_readonly

__all__ = [
    "IN_BROWSER",
    "PAGE_ENV",
    "after_first_render",
    "fill_location_from_page",
    "fix_worker_document",
    "is_live",
    "page_from_loader",
    "watch_first_render",
]

IN_BROWSER = sys.platform == "emscripten"
#: JSON of the page's ``window.location`` fields, set by worker.js from what loader.js passed.
PAGE_ENV = "CNN_PLAYGROUND_PAGE"


def fix_worker_document() -> None:
    """In the browser, let held layout updates reach the page (see module docstring)."""
    doc = pn.state.curdoc
    if IN_BROWSER and doc is not None:
        pn.state._loaded[doc] = True


def is_live() -> bool:
    """In the browser or a real server session — not while ``panel convert`` pre-renders."""
    if IN_BROWSER:
        return True
    context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    return context is not None and type(context).__name__ != "MockSessionContext"


def page_from_loader() -> dict:
    """What the loader passed about the page (``$CNN_PLAYGROUND_PAGE``): ``window.location``'s
    fields and ``cpStorage``, the lesson records this browser keeps (see LessonStore); {}
    without it."""
    try:
        page = json.loads(os.environ.get(PAGE_ENV) or "null")
    except ValueError:
        return {}
    return page if isinstance(page, dict) else {}


def fill_location_from_page(location) -> bool:
    """Give ``location`` (Panel's Location) the page address the loader passed, if any.

    The values are ``window.location``'s own (those Location has a parameter for, as in
    Panel's own handler of the page's 'location' message), so when the page's Location view
    copies ``window.location`` at the first render nothing changes and nothing is sent back.
    Returns False (and changes nothing) without a usable address; the app then waits
    for the page to send it.
    """
    page = page_from_loader()
    values = {k: v for k, v in page.items() if k in location.param and isinstance(v, str)}
    if not values.get("href"):
        return False
    before = {k: getattr(location, k) for k in values}
    with edit_readonly(location):
        try:
            location.param.update(values)
        except ValueError:  # e.g. a search without "?": rejected by Location's own check
            location.param.update(before)
            return False
    return True


# Per document: callbacks waiting for its first render, or None once it has been drawn.
_WAITING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch_first_render() -> None:
    """Start watching for the current document's first render (Bokeh's DocumentReady).

    Call it when the app starts: DocumentReady is sent once, and may come before the app
    asks for :func:`after_first_render` (in the worker, when the page address arrives only
    after the render).
    """
    doc = pn.state.curdoc
    if doc is None or doc in _WAITING:
        return
    _WAITING[doc] = []

    def drawn(_event, doc=doc) -> None:
        waiting, _WAITING[doc] = _WAITING.get(doc) or [], None
        for cb in waiting:
            pn.state.execute(cb)

    doc.on_event(DocumentReady, drawn)


def after_first_render(callback: Callable) -> None:
    """Run ``callback`` (through ``pn.state.execute``) once the page has drawn the document.

    That is Bokeh's DocumentReady: sent by the page under ``panel serve``, and fired in
    the worker once the page reports it has rendered and is linked. So start-up work the
    first screen does not need runs after it, not before. Without a document (tests),
    or once the document has been drawn, it runs now.
    """
    doc = pn.state.curdoc
    if doc is None:
        pn.state.execute(callback)
        return
    watch_first_render()
    if _WAITING[doc] is None:
        pn.state.execute(callback)
    else:
        _WAITING[doc].append(callback)
