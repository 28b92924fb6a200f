"""Open a model JSON and/or a weights file: a file picker that is also a drop zone.

The browser reads the files (:class:`FilePicker`, one mechanism for the picker
and for drag-and-drop) and hands their bytes to Python; everything is checked
by :func:`playground.model_files.read_import` before anything changes, and the
result is shown as text. Files larger than the limits are not even read.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

import panel as pn
import param
from panel.reactive import ReactiveHTML
from panel.viewable import Viewer

from playground.components.text import esc, fmt_bytes
from playground.model_files import (
    KEPT,
    MAX_JSON_BYTES,
    MAX_WEIGHTS_BYTES,
    ImportProblem,
    Upload,
    apply_import,
    read_import,
)
from playground.state import PlaygroundState
from playground.training import TrainingController

__all__ = ["FilePicker", "ImportBox", "decode_upload"]

_PICKER_CSS = """
.cp-drop { border: 2px dashed #8c96a3; border-radius: 6px; padding: 8px 10px; }
.cp-drop.cp-drag { border-color: #1f5fbf; background: #eef4ff; }
.cp-drop label { display: block; font-weight: 600; margin-bottom: 4px; }
.cp-drop input { display: block; max-width: 100%; min-height: 40px; margin-top: 4px;
  font-weight: normal; }
.cp-drop-hint { color: #4a5562; font-size: 13px; margin-top: 4px; }
"""


class FilePicker(ReactiveHTML):
    """A native file input inside a drop zone. Picked or dropped files arrive in ``upload``:
    percent-encoded JSON ``{"files": [{"name", "size", "data": base64 or null}]}`` (the
    encoding passes any file name through unchanged). A file over ``max_bytes`` is sent
    without its data: the size alone explains why it is refused."""

    upload = param.String(default="")
    max_bytes = param.Integer(default=MAX_WEIGHTS_BYTES)

    _template = """
<div id="zone" class="cp-drop" ondragover="${script('over')}" ondragleave="${script('leave')}" ondrop="${script('drop')}">
  <label id="caption">Open a model JSON and/or its weights (.npz)
    <input id="picker" class="cp-import-input" type="file" multiple accept=".json,.npz,application/json" onchange="${script('pick')}"/>
  </label>
  <div class="cp-drop-hint">… or drop the files here.</div>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
state.send = (files) => {
  const list = Array.from(files || [])
  if (!list.length) return
  const read = (f) => f.size > data.max_bytes
    ? Promise.resolve({name: f.name, size: f.size, data: null})
    : f.arrayBuffer().then((buffer) => {
        const bytes = new Uint8Array(buffer)
        let text = ''
        for (let i = 0; i < bytes.length; i += 0x8000) {
          text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))
        }
        return {name: f.name, size: f.size, data: btoa(text)}
      })
  Promise.all(list.map(read)).then((items) => {
    state.sent = (state.sent || 0) + 1
    data.upload = encodeURIComponent(JSON.stringify({n: state.sent, at: Date.now(), files: items}))
  })
}
""",
        "pick": "const files = Array.from(picker.files); picker.value = ''; state.send(files)",
        "over": "event.preventDefault(); zone.classList.add('cp-drag')",
        "leave": "zone.classList.remove('cp-drag')",
        "drop": (
            "event.preventDefault(); zone.classList.remove('cp-drag'); "
            "state.send(event.dataTransfer && event.dataTransfer.files)"
        ),
    }


def decode_upload(text: str) -> list[Upload]:
    """The files in a :class:`FilePicker` ``upload`` value; ImportProblem if it is garbled."""
    try:
        message = json.loads(unquote(text))
        return [
            Upload(
                str(f["name"]),
                int(f["size"]),
                None if f["data"] is None else base64.b64decode(f["data"], validate=True),
            )
            for f in message["files"]
        ]
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise ImportProblem(f"The browser did not hand over the files ({err}).") from None


class ImportBox(Viewer):
    """Open files into the playground, or say exactly why not (and keep everything)."""

    state = param.ClassSelector(class_=PlaygroundState)
    controller = param.ClassSelector(class_=TrainingController)
    opened = param.Integer(default=0, doc="Counts the files opened into the playground")

    def __init__(self, **params):
        super().__init__(**params)
        self.adopted = None  # the model last given weights from a file
        self._picker = FilePicker(
            css_classes=["cp-import"],
            stylesheets=[_PICKER_CSS],
            margin=(5, 10),
            sizing_mode="stretch_width",
        )
        self._picker.param.watch(self._on_upload, "upload")
        self._message = pn.pane.HTML(
            "",
            sizing_mode="stretch_width",
            stylesheets=[
                ".cp-import-error { color: #8a1c1c; font-weight: 600; }",
                ".cp-import-done { color: #1d6b35; }",
            ],
        )

    def open_files(self, uploads: list[Upload]) -> bool:
        """Check and apply ``uploads``; shows what happened. True if the model changed."""
        try:
            imported = read_import(uploads, self.state)
        except ImportProblem as problem:
            self._show("cp-import-error", f"Not opened: {problem} {KEPT}")
            return False
        apply_import(imported, self.state, self.controller)
        self.adopted = imported.model or self.adopted
        self._show("cp-import-done", imported.summary)
        self.opened += 1
        return True

    def _on_upload(self, event) -> None:
        if not event.new:
            return
        try:
            uploads = decode_upload(event.new)
        except ImportProblem as problem:
            self._show("cp-import-error", f"Not opened: {problem} {KEPT}")
            return
        self.open_files(uploads)

    def _show(self, kind: str, text: str) -> None:
        self._message.object = (
            f'<div class="cp-import-message {kind}" role="status">{esc(text)}</div>'
        )

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML(
                "<h3 style='margin:4px 0'>Open a model</h3>"
                "<div>A model JSON exported here or from Keras (<code>model.to_json()</code> of a "
                "Sequential model with the blocks above), optionally with its weights file. "
                f"Limits: {fmt_bytes(MAX_JSON_BYTES)} for the JSON, "
                f"{fmt_bytes(MAX_WEIGHTS_BYTES)} for the weights.</div>",
                sizing_mode="stretch_width",
            ),
            self._picker,
            self._message,
            sizing_mode="stretch_width",
        )
