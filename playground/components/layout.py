"""The page's regions, and the rules every control on the page follows.

The page is a grid (:class:`Page`): a ``<header>`` with the title, an ``<aside>``
for the lesson panel, and a ``<main>`` column of sections, each a :func:`section`
with an ``<h2>``. On screens at least ``WIDE`` px wide the aside is a column on the
right that stays in view while the main column scrolls (sticky); narrower, it sits
above the main column, and once it has scrolled out of the window the lesson's ``strip``
(its step in one line) shows at the top of the main column instead (sticky too, and out of
the flow: nothing moves when it shows). :class:`Columns` puts views side by side
that stack when there is no room for them (the builder beside the summary). Panel renders each
component inside its own shadow root, so page-wide rules (touch-sized controls, a
visible keyboard focus, text only screen readers read) travel as ``CONTROLS_CSS``
into every component (``pn.extension(raw_css=...)`` in app.py).

The contract for adding a view (docs/PLAYGROUND.md, "Page layout"): one more
``section(...)`` in the ``sections`` list of app.py, or the ``lesson`` panel.

What the first screen does not show is built after the page's first render
(:func:`built_later`): Python in the browser builds, serialises and draws every view
before the page is usable, so each view below the first screen would delay it.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
import param
from panel.reactive import ReactiveHTML

from playground.components.text import esc
from playground.runtime import after_first_render

__all__ = ["CONTROLS_CSS", "WIDE", "Columns", "Page", "built_later", "heading", "section"]

#: Narrower than this (px), the lesson panel sits above the main column instead of beside it.
WIDE = 1200
#: The width each of several :class:`Columns` needs before they stack (px).
COLUMN_MIN = 420
#: Smallest side of anything a finger presses (px); WCAG 2.5.5 asks 44, 2.5.8 at least 24.
TOUCH = 40

# Inside every component's shadow root, after Bokeh's own rules and before Panel's theme
# (hence ``:host`` in front: it wins over both). Bokeh's own focus mark is a 1 px light-grey
# dotted line inside the button; its number fields' spin arrows are mouse-only buttons
# without names (typing, the arrow keys, PageUp/PageDown and the wheel remain). Bokeh's red
# and orange buttons carry white text at 4.0:1 and 2.0:1; WCAG AA asks 4.5:1.
CONTROLS_CSS = f"""
:host .bk-btn, :host .bk-input {{ min-height: {TOUCH}px; }}
:host .bk-btn {{ min-width: {TOUCH}px; }}
:host .bk-btn:focus-visible, :host .bk-input:focus-visible, :host a:focus-visible,
:host [tabindex]:focus-visible {{ outline: 3px solid #0b57d0; outline-offset: 2px; }}
:host .bk-input-group > .bk-spin-wrapper > .bk-spin-btn {{ display: none; }}
:host .bk-btn-danger {{ background-color: #b02a37; border-color: #8c1d28; }}
:host .bk-btn-warning {{ color: #1f2328; }}
.cp-sr-only {{ position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }}
"""

_PAGE_CSS = f"""
:host {{ width: 100%; }}
.cp-page {{ display: grid; grid-template-columns: minmax(0, 1fr); gap: 0 24px;
  grid-template-areas: "top" "aside" "main"; max-width: 1600px; margin: 0 auto;
  padding: 0 8px; box-sizing: border-box; }}
.cp-top {{ grid-area: top; }}
.cp-aside {{ grid-area: aside; min-width: 0; }}
.cp-page:not(.cp-with-aside) > .cp-aside {{ display: none; }}
.cp-main {{ grid-area: main; min-width: 0; display: flex; flex-direction: column; gap: 8px; }}
/* Out of the flow (no height of its own: the strip hangs over what is below it), and shown
   only while the lesson is out of the window (the script below). */
.cp-strip {{ position: sticky; top: 0; z-index: 10; height: 0; }}
.cp-strip:not(.cp-strip-shown) {{ visibility: hidden; }}
.cp-page-section {{ min-width: 0; }}
@media (min-width: {WIDE}px) {{
  .cp-page.cp-with-aside {{ grid-template-columns: minmax(0, 1fr) 360px;
    grid-template-areas: "top top" "main aside"; }}
  .cp-aside {{ position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; }}
  .cp-strip {{ display: none; }}
}}
"""


class Page(ReactiveHTML):
    """The whole page: ``header``, an optional ``lesson`` panel with its ``strip``, and the
    ``sections``."""

    header = param.Parameter(doc="what the <header> holds: the page title")
    lesson = param.Parameter(doc="the lesson panel (None: no aside)")
    strip = param.Parameter(doc="the lesson's step in one line, kept in view below WIDE")
    sections = param.List(doc="the main column, top to bottom (see section())")
    layout_class = param.String(default="cp-page", doc="set from lesson, not by callers")

    _template = """
<div id="page" class="${layout_class}">
  <header id="top" class="cp-top">${header}</header>
  <aside id="aside" class="cp-aside" aria-label="Lesson">${lesson}</aside>
  <main id="main" class="cp-main">
    <div id="strip" class="cp-strip">${strip}</div>
    {% for obj in sections %}<div id="part" class="cp-page-section">${obj}</div>{% endfor %}
  </main>
</div>
"""

    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
if (state.lesson) state.lesson.disconnect();
state.lesson = new IntersectionObserver((entries) => {
  const entry = entries[entries.length - 1];
  strip.classList.toggle("cp-strip-shown", !entry.isIntersecting);
});
state.lesson.observe(aside);
""",
        "remove": "if (state.lesson) state.lesson.disconnect();",
    }

    def __init__(self, **params):
        if params.get("strip") is None:
            params["strip"] = pn.Column(visible=False)
        if params.get("lesson") is None:
            params["lesson"] = pn.Column(visible=False)
        else:
            params["layout_class"] = "cp-page cp-with-aside"
        params.setdefault("stylesheets", [_PAGE_CSS])
        params.setdefault("sizing_mode", "stretch_width")
        super().__init__(**params)


def heading(text: str, level: int = 2, note: str = "") -> pn.pane.HTML:
    """A heading (and a line under it) as an HTML pane; ``text`` and ``note`` are plain text."""
    below = f'<p class="cp-note">{esc(note)}</p>' if note else ""
    return pn.pane.HTML(
        f"<h{level}>{esc(text)}</h{level}>{below}",
        margin=(0, 10),
        sizing_mode="stretch_width",
        stylesheets=[
            f"h{level} {{ margin: 12px 0 4px; }} .cp-note {{ margin: 0; color: #454545; }}"
        ],
    )


def section(title: str, *objects, name: str, note: str = "") -> pn.Column:
    """One part of the main column: an ``<h2>`` title, then ``objects`` stacked.

    Marked ``cp-section-<name>`` for tests. Use :class:`Columns` inside it for side-by-side
    views.
    """
    return pn.Column(
        heading(title, 2, note),
        *objects,
        css_classes=["cp-section", f"cp-section-{name}"],
        sizing_mode="stretch_width",
        margin=0,
    )


class Columns(pn.FlexBox):
    """Columns side by side, each at least ``min_width`` px wide; they stack when the screen
    has no room for them (a phone, a tablet held upright). Each argument is one column: a
    view, or a list of views stacked."""

    def __init__(self, *columns, min_width: int = COLUMN_MIN, **params):
        columns = [
            pn.Column(
                *(col if isinstance(col, list | tuple) else [col]),
                css_classes=["cp-column"],
                sizing_mode="stretch_width",
                margin=0,
            )
            for col in columns
        ]
        params.setdefault("gap", "0 24px")
        params.setdefault(
            "stylesheets", [f".cp-column {{ flex: 1 1 {min_width}px; min-width: 0; }}"]
        )
        super().__init__(*columns, **params)


#: Marks a view that is still to be built (see :func:`built_later`); tests wait until none is left.
PENDING_CLASS = "cp-pending"


def built_later(*makers: Callable[[], object], height: int, label: str) -> pn.Column:
    """A column of the views ``makers`` make (each called with no arguments) once the page
    has drawn its first render.

    Until then it holds a placeholder about ``height`` px tall (so nothing below it jumps
    when the views arrive) that says, in words screen readers announce politely, that
    ``label`` (e.g. "the training controls") is being prepared. The views are made exactly once
    (:func:`playground.runtime.after_first_render`: at once without a live document, e.g.
    under tests).
    """
    placeholder = pn.pane.HTML(
        f'<div class="{PENDING_CLASS}" role="status" style="min-height: {int(height)}px">'
        f"Preparing {esc(label)}…</div>",
        sizing_mode="stretch_width",
        margin=(0, 10),
        stylesheets=[f".{PENDING_CLASS} {{ color: #454545; font-style: italic; }}"],
    )
    column = pn.Column(placeholder, sizing_mode="stretch_width", margin=0)

    def fill() -> None:
        column.objects = [make() for make in makers]

    after_first_render(fill)
    return column
