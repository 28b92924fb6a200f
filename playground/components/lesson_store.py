"""Where the lesson's progress lives: the browser's localStorage, read and written on the page.

In the static site Python runs in a web worker, which has no ``localStorage``;
under ``panel serve`` it runs on a server, which has none either. So the reading
and writing happen in the page itself, in the script of :class:`LessonStore`
(a tiny ``ReactiveHTML`` whose scripts run on the page's main thread):

* when the page draws the store, and again when Python asks (``asked``,
  :meth:`LessonStore.ask`, once the page has drawn the document: a change the
  page makes while it is still being drawn may never reach the worker), it
  reads the record stored under ``key`` and sends it back as ``stored``
  (``"<count>:<record>"``: the count makes every reading a change);
* when Python sets ``saving``, the page writes that record under ``key``;
* anything the browser refuses (storage switched off, a sandboxed frame, a
  full quota) comes back as ``problem``, in words, and the page goes on.

Texts cross in percent-encoding: Panel cleans string parameters as HTML on
their way to the page (``&`` would arrive as ``&amp;``), and an encoded
record contains no character it would touch.

Until Python has applied the record (``revealed``), the page keeps its content
invisible, so a returning learner never sees step 1 or the first model flash
by; a timer shows the page anyway should Python never answer.

The page's loader reads the same records before Python starts and passes them
with the page's address (site-src/loader.js), so in the static site the first
document already shows a returning learner's step:
:meth:`LessonStore.record_from_loader`. The reading after the first render
covers the rest (``panel serve``, storage the loader could not read).

The whole interface the panel uses: ``key`` (set once the page's folder is
known), :meth:`LessonStore.record_from_loader`, :meth:`LessonStore.ask`,
:attr:`LessonStore.record` (None until the page answered), :attr:`LessonStore.refusal`,
``revealed`` and :meth:`LessonStore.save`, the one place the lesson's progress is saved.

Inside a learning management system (the page launched from the SCORM package,
docs/LMS.md) the LMS keeps a copy of the progress, so the learner resumes on
another computer: the page appends the LMS's ``cmi.suspend_data`` (read by
``site-src/scorm.js`` when the session opened) to what it sends after the first
render, ``"<count>:<record>:<suspend data>"``; :attr:`LessonStore.record` is then the
later of the two saves (the loader's early record cannot hold it: the LMS session
opens after the loader ran), and :meth:`LessonStore.save` also reports the lesson's
status, step, score and record to the LMS (``reporting``; the values are
``playground.lesson.scorm.report``'s).
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote, unquote

import param
from panel.reactive import ReactiveHTML

from playground.lesson import dumps
from playground.lesson.scorm import report, resume_record
from playground.runtime import page_from_loader

__all__ = ["REVEAL_FALLBACK_MS", "LessonStore"]

REVEAL_FALLBACK_MS = 8000  # show the page even if Python never reports the record applied

# Both run a moment later, not inside the script: a change the page makes while it applies a
# message from the worker (as `asked` and `saving` arrive) is not sent back to the worker.
_READ = """
setTimeout(() => {
  if (!data.key) return;
  let text = "";
  try {
    text = window.localStorage.getItem(data.key) || "";
  } catch (error) {
    data.problem = encodeURIComponent("read:" + String((error && error.name) || error));
  }
  state.reads = (state.reads || 0) + 1;
  const lms = window.cpScorm;
  const copy = lms && lms.connected ? ":" + encodeURIComponent(lms.start.suspend) : "";
  data.stored = state.reads + ":" + encodeURIComponent(text) + copy;
}, 0);
"""

_WRITE = """
const key = data.key, text = data.saving;
if (!key || !text) return;
setTimeout(() => {
  try {
    window.localStorage.setItem(key, decodeURIComponent(text));
  } catch (error) {
    data.problem = encodeURIComponent("write:" + String((error && error.name) || error));
  }
}, 0);
"""

# scorm.js writes only what changed, commits it, and shows the LMS's refusals itself.
_REPORT = """
const values = data.reporting;
if (!values || !window.cpScorm) return;
setTimeout(() => window.cpScorm.report(JSON.parse(decodeURIComponent(values))), 0);
"""

# Hide the page (not the loading card) until the progress is applied: the style rule is
# added to the document once; the class on <html> switches it on and off.
_HIDE = f"""
if (data.revealed) return;
const root = document.documentElement;
if (!document.getElementById("cp-lesson-pending-style")) {{
  const style = document.createElement("style");
  style.id = "cp-lesson-pending-style";
  style.textContent = "html.cp-lesson-pending body > :not(#cp-loader) {{ visibility: hidden; }}";
  document.head.appendChild(style);
}}
root.classList.add("cp-lesson-pending");
state.reveal = setTimeout(() => root.classList.remove("cp-lesson-pending"), {REVEAL_FALLBACK_MS});
"""

_REVEAL = """
if (!data.revealed) return;
clearTimeout(state.reveal);
document.documentElement.classList.remove("cp-lesson-pending");
"""


class LessonStore(ReactiveHTML):
    """The browser side of the saved progress (see the module docstring)."""

    key = param.String(default="", doc="localStorage key of this copy of the site")
    stored = param.String(
        default=None,
        allow_None=True,
        doc="From the page: 'count:record' ('count:record:suspend data' in an LMS), each "
        "percent-encoded ('' = none); None until read",
    )
    reporting = param.String(
        default="", doc="To the page: SCORM values for the LMS, percent-encoded JSON"
    )
    saving = param.String(default="", doc="To the page: the record to store, percent-encoded")
    problem = param.String(default="", doc="From the page: what the browser refused, encoded")
    revealed = param.Boolean(default=False, doc="To the page: the progress is applied, show it")
    asked = param.Integer(default=0, doc="To the page: read the record now (see ask)")

    _template = '<div id="store" style="display:none"></div>'
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": _HIDE + "self.read();",
        "read": _READ,
        "asked": "self.read();",
        "saving": _WRITE,
        "reporting": _REPORT,
        "revealed": _REVEAL,
    }

    def __init__(self, **params):
        params.setdefault("height", 0)
        params.setdefault("width", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)

    def ask(self) -> None:
        """Ask the page for the stored record (call once the page has drawn the document)."""
        self.asked += 1

    def record_from_loader(self) -> str | None:
        """The record the page's loader read before Python started ("" = nothing stored), so
        the first document can show it; None when the loader could not read storage (then
        the page answers ``asked``, after the first render)."""
        kept = page_from_loader().get("cpStorage")
        if not self.key or not isinstance(kept, dict):
            return None
        text = kept.get(self.key, "")
        return text if isinstance(text, str) else None

    @property
    def record(self) -> str | None:
        """The record to continue from ("" = nothing stored), or None before the page reported:
        this browser's, or in an LMS the later of it and the LMS's."""
        if self.stored is None or ":" not in self.stored:
            return None
        local, in_lms, suspend_data = self.stored.partition(":")[2].partition(":")
        if not in_lms:
            return unquote(local)
        return resume_record(unquote(local), unquote(suspend_data)) or ""

    @property
    def in_lms(self) -> bool:
        """The page runs in an LMS that opened a session (known once the page reported)."""
        return self.stored is not None and self.stored.count(":") == 2

    @property
    def refusal(self) -> str | None:
        """What the browser refused, for the learner (None: nothing)."""
        if not self.problem:
            return None
        what, _, name = unquote(self.problem).partition(":")
        verb = "read" if what == "read" else "keep"
        return (
            f"This browser does not let the page {verb} your lesson progress ({name or 'refused'}; "
            "for example, storage is switched off or the page is in a restricted frame). The "
            "lesson works, but what you do lasts only until the page is closed."
        )

    def save(self, lesson) -> None:
        """Store ``lesson``'s progress in this browser and, in an LMS, report it there too
        (the one place progress is saved)."""
        now = time.time()
        self.saving = quote(dumps(lesson.progress, saved_at=now), safe="")
        if self.in_lms:
            self.reporting = quote(json.dumps(report(lesson, saved_at=now)), safe="")
