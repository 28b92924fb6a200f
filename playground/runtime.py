"""Glue for the two places the app runs: ``panel serve`` and the pyodide-worker site.

Panel 1.7.5 in a pyodide web worker never marks its document as loaded
(``pn.state._loaded`` is only filled by the server's ``document_ready``
handler). Layout changes (a Column's children, ``visible``) are made inside
``panel.io.document.hold``, which dispatches the held events only for a
loaded document — so in the worker they were silently never sent to the page:
new blocks did not appear, boxes did not show. :func:`fix_worker_document`
marks the document loaded; nothing else in Panel reads the flag there.
"""

from __future__ import annotations

import sys

import panel as pn

__all__ = ["IN_BROWSER", "fix_worker_document", "is_live"]

IN_BROWSER = sys.platform == "emscripten"


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
