"""Take it further: download the model as code, JSON, weights and training log;
open a model from files; copy the share link or an embed snippet.

Every file is made in the page by :func:`playground.model_files.file_contents`
(``pycnn.export``) when its button is pressed, from the model on the page, the
training settings and the history of the current model's runs. Buttons are
enabled only when their file makes sense, and the page says why not.

The buttons are plain Panel buttons and one :class:`Saver` hands the bytes to
the browser as a download. Not Panel's FileDownload: it puts a link inside its
button and listens on the link, so a keyboard's Enter (a click on the button)
would download nothing.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, unquote

import panel as pn
import param
from panel.reactive import ReactiveHTML
from panel.viewable import Viewer

from playground.components.importer import ImportBox
from playground.components.share import ShareLink
from playground.components.text import esc
from playground.lesson import TOTAL
from playground.model_files import DOWNLOADS, Download, file_contents
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn import TrainEvent, export

__all__ = ["CopyBox", "ExportPanel", "RunHistory", "Saver", "embed_link", "embed_snippet"]

_COPY_CSS = """
.cp-copybox { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.cp-copy-text { width: 100%; box-sizing: border-box; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.cp-copy-button { font: inherit; padding: 5px 12px; min-height: 40px; border: 1px solid #8c96a3; border-radius: 4px; background: #fff; cursor: pointer; }
.cp-copy-button:focus-visible { outline: 3px solid #1f5fbf; outline-offset: 1px; }
.cp-copy-note { color: #1d4f91; }
"""


# What an embedded page opens: this model in free play, the lesson where each learner is, or
# one step of the lesson with every step open (a teacher's page about that step).
EMBED_OPENS = {
    "This model (free play)": "model",
    "The lesson, at each learner's own step": "?mode=learn",
    **{
        f"The lesson at step {n} / {TOTAL}": f"?mode=learn&step={n}&unlock=all"
        for n in range(1, TOTAL + 1)
    },
}


def embed_link(model_link: str, opens: str) -> str:
    """The link an embed opens: ``model_link`` itself, or the same page with a lesson query."""
    return model_link if opens == "model" else model_link.split("?", 1)[0] + opens


def embed_snippet(link: str) -> str:
    """The ``<iframe>`` that shows the playground with this link's model in another page."""
    return (
        f'<iframe src="{esc(link)}" title="CNN Playground" width="100%" height="900" '
        'style="border:0" loading="lazy" allow="clipboard-write"></iframe>'
    )


class CopyBox(ReactiveHTML):
    """A button that copies ``text`` to the clipboard and says so. Where the clipboard is
    refused (e.g. an iframe without clipboard permission) it shows the text selected and
    asks for Ctrl+C. The text travels percent-encoded, so no markup escaping can alter it."""

    encoded = param.String(default="", doc="The text to copy, percent-encoded (see `text`)")
    label = param.String(default="Copy")
    field_label = param.String(default="Text to copy")
    show_text = param.Boolean(default=False, doc="Show the text itself (else only on refusal)")
    rows = param.Integer(default=1)
    done_text = param.String(default="Copied.")

    _child_config = {"label": "literal"}  # noqa: RUF012 - Panel's declaration style
    _template = """
<div class="cp-copybox">
  <textarea id="field" class="cp-copy-text" readonly></textarea>
  <button id="btn" type="button" class="cp-copy-button" onclick="${script('copy')}">${label}</button>
  <span id="note" class="cp-copy-note" role="status" aria-live="polite"></span>
</div>
"""
    _SHOW = (
        "field.value = decodeURIComponent(data.encoded); field.hidden = !data.show_text; "
        "note.textContent = ''"
    )
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        # Set here, not as ${...} attributes: Panel would read them back from the element
        # (aria-label is no DOM property, so it would send `undefined`).
        "render": "field.setAttribute('aria-label', data.field_label); field.rows = data.rows; "
        + _SHOW,
        "encoded": _SHOW,
        "show_text": _SHOW,
        "copy": """
const text = decodeURIComponent(data.encoded)
const say = (message) => { note.textContent = message }
const byHand = () => {
  field.hidden = false
  field.focus()
  field.select()
  let copied = false
  try { copied = document.execCommand('copy') } catch (err) { copied = false }
  say(copied ? data.done_text
    : 'This page may not use the clipboard here: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.')
}
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(text).then(() => say(data.done_text), byHand)
} else {
  byHand()
}
""",
    }

    @property
    def text(self) -> str:
        return unquote(self.encoded)

    @text.setter
    def text(self, value: str) -> None:
        self.encoded = quote(value, safe="")


class Saver(ReactiveHTML):
    """Saves bytes from Python as a file in the browser's downloads (no request is made).

    :meth:`save` sends the bytes base64-encoded (an alphabet no escaping changes) and the
    file name percent-encoded; the page turns them into a Blob and clicks a download link.
    """

    payload = param.String(default="", doc="The file's bytes, base64")
    filename = param.String(default="", doc="Percent-encoded file name")
    mime = param.String(default="application/octet-stream")
    saves = param.Integer(default=0, doc="Counts the saves: each change is one download")

    _template = '<a id="link" hidden></a>'
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "saves": """
const text = atob(data.payload)
const bytes = new Uint8Array(text.length)
for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
const url = URL.createObjectURL(new Blob([bytes], {type: data.mime}))
link.href = url
link.download = decodeURIComponent(data.filename)
link.click()
setTimeout(() => URL.revokeObjectURL(url), 60000)
""",
    }

    def save(self, filename: str, data: bytes, mime: str = "application/octet-stream") -> None:
        self.param.update(
            payload=base64.b64encode(data).decode("ascii"),
            filename=quote(filename, safe=""),
            mime=mime,
            saves=self.saves + 1,
        )


MIME_TYPES = {".py": "text/x-python", ".json": "application/json", ".csv": "text/csv"}


class RunHistory:
    """The training history of the current model: every batch and epoch of its runs.

    Starts afresh whenever the controller's curves do (a new model, a reset, a changed spec).
    """

    def __init__(self, controller: TrainingController):
        self.events: list[TrainEvent] = []
        controller.listeners.append(self.events.append)
        controller.param.watch(lambda _e: self.events.clear(), "session")

    def history(self) -> dict[str, list[float]]:
        return export.history_from_events(self.events)

    def counts(self) -> tuple[int, int]:
        """(epochs, batches) recorded."""
        kinds = [e.kind for e in self.events]
        return kinds.count("epoch"), kinds.count("batch")


class ExportPanel(Viewer):
    """Downloads, import, copy link and embed snippet, over the one state."""

    state = param.ClassSelector(class_=PlaygroundState)
    controller = param.ClassSelector(class_=TrainingController)
    share = param.ClassSelector(class_=ShareLink)

    def __init__(self, **params):
        super().__init__(**params)
        self.runs = RunHistory(self.controller)
        self.importer = ImportBox(state=self.state, controller=self.controller)
        self.saver = Saver(width=0, height=0, margin=0)
        self.downloads = {}
        for d in DOWNLOADS:
            button = pn.widgets.Button(name=d.label, css_classes=[f"cp-export-{d.key}"], width=250)
            button.on_click(lambda _event, d=d: self.download(d))
            self.downloads[d.key] = button
        self._notes = pn.pane.HTML(
            "",
            sizing_mode="stretch_width",
            stylesheets=[".cp-export-why { color: #8a5a00; }"],
        )
        self._copy_link = CopyBox(
            label="Copy link",
            field_label="Link to this model",
            done_text="Link copied: paste it in a message, a course page or a new tab.",
            css_classes=["cp-copy-link"],
            stylesheets=[_COPY_CSS],
            margin=(5, 10),
            sizing_mode="stretch_width",
        )
        self._embed_toggle = pn.widgets.Toggle(
            name="Embed in a web page…", css_classes=["cp-embed"], width=200
        )
        self._embed = CopyBox(
            label="Copy embed code",
            field_label="HTML code that embeds this model in a web page",
            show_text=True,
            rows=4,
            done_text="Embed code copied: paste it into your page's HTML.",
            css_classes=["cp-embed-code"],
            stylesheets=[_COPY_CSS],
            margin=(5, 10),
            sizing_mode="stretch_width",
            visible=False,
        )
        self._embed_opens = pn.widgets.Select(
            name="The embedded page opens",
            options=EMBED_OPENS,
            value="model",
            css_classes=["cp-embed-opens"],
            width=320,
            visible=False,
        )
        self._embed_opens.param.watch(self._on_link, "value")
        self._embed_toggle.param.watch(self._on_embed_toggle, "value")
        self.share.param.watch(self._on_link, "link")
        self.state.param.watch(self._refresh, ["analysis", "training", "seed"])
        self.controller.param.watch(self._refresh, ["running", "session", "run_id"])
        self.importer.param.watch(self._refresh, "opened")
        self._on_link()
        self._refresh()

    # ---- downloads
    def file_bytes(self, download: Download) -> bytes:
        """The content of ``download`` for the page's model, settings and run."""
        model = self.controller.ensure_model()
        return file_contents(download.key, model, self.state, self.runs.history(), self.share.link)

    def download(self, download: Download) -> None:
        if self.downloads[download.key].disabled:  # a click sent before it was disabled
            return
        suffix = download.filename[download.filename.rfind(".") :]
        self.saver.save(
            download.filename,
            self.file_bytes(download),
            MIME_TYPES.get(suffix, "application/octet-stream"),
        )

    def weights_note(self) -> str:
        """Where the weights a download would hold come from."""
        model = self.controller.current_model()
        epochs, batches = self.runs.counts()
        if model is not None and batches:
            done = f"{epochs} epoch{'s' * (epochs != 1)}" if epochs else f"{batches} batches"
            return f"The weights are trained: {done} in this page."
        if model is not None and model is self.importer.adopted:
            return "The weights are the ones opened from a file (not trained further here)."
        return (
            f"The weights are freshly initialised (random, seed {self.state.seed}), not trained: "
            "press Train first to take along what the network learns."
        )

    def _refresh(self, *_events) -> None:
        blocked = self.state.build_block_reason()
        running = self.controller.running or self.state.training
        has_run = bool(self.runs.events)
        if blocked:
            notes = [
                ("cp-export-why", f"Model files are available once the model works. {blocked}")
            ]
        elif running:
            notes = [("cp-export-note", "Weights and logs can be downloaded when the run ends.")]
        else:
            notes = [("cp-export-note cp-export-weights-note", self.weights_note())]
        if not has_run and not running:
            notes.append(("cp-export-why", "The training log appears after a run: press Train."))
        for download in DOWNLOADS:
            self.downloads[download.key].disabled = bool(
                (blocked and not download.after_run)
                or (running and (download.after_run or download.key == "weights"))
                or (download.after_run and not has_run)
            )
        self._notes.object = "".join(f'<div class="{cls}">{esc(text)}</div>' for cls, text in notes)

    # ---- share
    def _on_link(self, *_events) -> None:
        link = self.share.link
        self._copy_link.text = link
        self._embed.text = embed_snippet(embed_link(link, self._embed_opens.value))

    def _on_embed_toggle(self, event) -> None:
        self._embed.visible = self._embed_opens.visible = event.new

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML(
                "<div>Run your network outside the browser: the Keras and PyTorch files build "
                "the same layers and train them with your settings on the full dataset; the "
                "weights file loads into both, the model JSON into Keras, and the training log "
                "opens in TensorBoard. Everything is made here, in your browser.</div>",
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(*self.downloads.values(), sizing_mode="stretch_width"),
            self._notes,
            self.importer,
            pn.pane.HTML("<h3 style='margin:4px 0'>Share</h3>", sizing_mode="stretch_width"),
            self._copy_link,
            self._embed_toggle,
            self._embed_opens,
            self._embed,
            self.saver,
            css_classes=["cp-export"],
            sizing_mode="stretch_width",
        )
