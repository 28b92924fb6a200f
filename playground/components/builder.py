"""The layer builder: palette, the stack of editable blocks, presets, undo/redo.

Every widget offers only sensible values (a Select per hyperparameter). The
stack is rebuilt only when its structure changes (a block added, removed,
moved); a value edit updates the widgets in place so keyboard focus stays.
"""

from __future__ import annotations

import panel as pn
import param
from panel.viewable import Viewer

from playground.components.buttons import NamedButton
from playground.components.layout import heading
from playground.components.text import esc
from playground.presets import PRESETS
from playground.spec import ACTIVATIONS, HIDDEN_ACTIVATIONS, KINDS, PADDINGS, Block
from playground.state import PlaygroundState

__all__ = ["OPTIONS", "Builder"]

# Sensible values offered for each argument (a value from a link is added if missing).
OPTIONS: dict[str, list] = {
    "filters": [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256],
    "kernel_size": [1, 2, 3, 4, 5, 7, 9, 11],
    "strides": [1, 2, 3, 4],
    "pool_size": [1, 2, 3, 4, 5, 6, 7, 8],
    "units": [1, 2, 4, 8, 10, 16, 32, 64, 100, 120, 128, 256, 512, 1000, 1024, 2048, 4096],
    "rate": [0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9],
    "padding": list(PADDINGS),
}

# The block's kind colour is its left edge (decoration); its text stays dark, and a block
# with a problem says so in words as well as in red.
_CSS = """
:host(.cp-block) { border: 1px solid #d0d7de; border-left-width: 6px; border-radius: 6px;
  padding: 2px 6px; margin: 3px 0; background: #fafbfc; }
:host(.cp-block-error) { border-color: #c62828; background: #fff5f5; }
:host(.cp-block-title) { font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace; color: #1f2328; }
.cp-block-problem { color: #8a1c1c; }
"""

# Okabe & Ito's palette (2008), told apart with every common colour-vision deficiency.
KIND_COLORS = {
    "conv2d": "#0072B2",
    "maxpool": "#009E73",
    "avgpool": "#56B4E9",
    "flatten": "#CC79A7",
    "dense": "#E69F00",
    "dropout": "#999999",
}


def _options(arg_name: str, kind: str, value) -> dict[str, object]:
    if arg_name == "activation":
        values = list(ACTIVATIONS if kind == "dense" else HIDDEN_ACTIVATIONS)
    elif arg_name == "strides" and kind in ("maxpool", "avgpool"):
        # Panel's Select cannot hold None: 0 stands for "strides = pool size" (Keras default).
        out = {"= pool size": 0}
        out.update({str(v): v for v in OPTIONS["strides"]})
        if value and value not in out.values():
            out[str(value)] = value
        return out
    else:
        values = list(OPTIONS[arg_name])
        if value not in values:
            values = sorted([*values, value])
    return {(f"{v:g}" if isinstance(v, float) else str(v)): v for v in values}


def _to_widget(name: str, value):
    return 0 if name == "strides" and value is None else value


def _from_widget(name: str, value):
    return None if name == "strides" and value == 0 else value


class BlockEditor(Viewer):
    """One block of the stack: its widgets and the duplicate / move / remove buttons."""

    def __init__(self, builder: Builder, index: int, block: Block, **params):
        super().__init__(**params)
        self.builder = builder
        self.index = index
        self.kind = block.kind
        info = block.info
        self.widgets: dict[str, pn.widgets.Select] = {}
        for arg in info.args:
            value = _to_widget(arg.name, block.args[arg.name])
            widget = pn.widgets.Select(
                name=arg.label,
                options=_options(arg.name, block.kind, value),
                value=value,
                width=110,
                css_classes=[f"cp-arg-{arg.name}"],
            )
            widget.param.watch(
                lambda e, name=arg.name: builder._edit(self.index, name, _from_widget(name, e.new)),
                "value",
            )
            self.widgets[arg.name] = widget
        self.title = pn.pane.HTML(
            "",
            css_classes=["cp-block-title"],
            stylesheets=[_CSS],
            sizing_mode="stretch_width",
            min_width=0,
            margin=(4, 5),
        )
        n = index + 1
        b = {"width": 44, "margin": (2, 2), "button_type": "light", "text": ""}
        self.up = NamedButton(name=f"Move layer {n} up", symbol="↑", css_classes=["cp-up"], **b)
        self.down = NamedButton(
            name=f"Move layer {n} down", symbol="↓", css_classes=["cp-down"], **b
        )
        self.dup = NamedButton(
            name=f"Duplicate layer {n}", symbol="×2", css_classes=["cp-duplicate"], **b
        )
        self.remove = NamedButton(
            name=f"Remove layer {n}", symbol="✕", css_classes=["cp-remove"], **b
        )
        self.up.on_click(lambda _e: builder.state.move(self.index, -1))
        self.down.on_click(lambda _e: builder.state.move(self.index, +1))
        self.dup.on_click(lambda _e: builder.state.duplicate(self.index))
        self.remove.on_click(lambda _e: builder.state.remove(self.index))
        head = pn.Row(
            self.title, self.up, self.down, self.dup, self.remove, sizing_mode="stretch_width"
        )
        parts = [head, pn.FlexBox(*self.widgets.values())] if self.widgets else [head]
        self.row = pn.Column(
            *parts,
            css_classes=["cp-block", f"cp-block-{block.kind}"],
            stylesheets=[_CSS],
            styles={"border-left-color": KIND_COLORS[block.kind]},
            sizing_mode="stretch_width",
        )
        self.show(block, count=1, error=False)

    def show(self, block: Block, count: int, error: bool) -> None:
        problem = ' <span class="cp-block-problem">⚠ has a problem</span>' if error else ""
        self.title.object = f"{self.index + 1}. {esc(block.info.keras)}{problem}"
        for name, widget in self.widgets.items():
            value = _to_widget(name, block.args[name])
            if widget.value != value:
                widget.options = _options(name, block.kind, value)
                widget.value = value
        self.up.disabled = self.index == 0
        self.down.disabled = self.index == count - 1
        classes = ["cp-block", f"cp-block-{block.kind}"] + (["cp-block-error"] if error else [])
        if self.row.css_classes != classes:
            self.row.css_classes = classes

    def set_disabled(self, disabled: bool, count: int) -> None:
        for widget in [*self.widgets.values(), self.dup, self.remove]:
            widget.disabled = disabled
        self.up.disabled = disabled or self.index == 0
        self.down.disabled = disabled or self.index == count - 1

    def __panel__(self):
        return self.row


class Builder(Viewer):
    """Palette + presets + undo/redo + the editable stack of blocks."""

    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._editors: list[BlockEditor] = []
        self._syncing = False
        self._stack = pn.Column(sizing_mode="stretch_width", css_classes=["cp-stack"])
        self._palette = pn.FlexBox(css_classes=["cp-palette"], sizing_mode="stretch_width")
        self._presets = pn.FlexBox(
            *[self._preset_button(key) for key in PRESETS],
            css_classes=["cp-presets"],
            sizing_mode="stretch_width",
        )
        self._undo = NamedButton(
            name="Undo", symbol="↶", css_classes=["cp-undo"], width=100, disabled=True
        )
        self._redo = NamedButton(
            name="Redo", symbol="↷", css_classes=["cp-redo"], width=100, disabled=True
        )
        self._undo.on_click(lambda _e: s.undo())
        self._redo.on_click(lambda _e: s.redo())
        self._locked = pn.pane.HTML("", css_classes=["cp-locked"], sizing_mode="stretch_width")
        s.param.watch(self._sync_stack, ["layers", "analysis"])
        s.param.watch(self._sync_palette, ["unlocked_kinds", "training"])
        s.param.watch(self._sync_locks, ["training", "can_undo", "can_redo", "unlocked_kinds"])
        self._sync_palette()
        self._sync_stack()
        self._sync_locks()

    def _preset_button(self, key: str) -> pn.widgets.Button:
        preset = PRESETS[key]
        button = pn.widgets.Button(
            name=preset.title,
            description=preset.blurb,
            css_classes=["cp-preset", f"cp-preset-{key}"],
        )
        button.on_click(lambda _e: self.state.load_preset(key))
        return button

    def _sync_palette(self, *_events) -> None:
        buttons = []
        for kind, info in KINDS.items():
            unlocked = kind in self.state.unlocked_kinds
            button = NamedButton(
                name=f"Add {info.keras}" if unlocked else f"{info.keras} (locked)",
                symbol="+" if unlocked else "🔒",
                text=info.keras,
                description=info.blurb
                if unlocked
                else "Locked: a later lesson step unlocks this block",
                css_classes=["cp-add", f"cp-add-{kind}"],
                disabled=not unlocked or self.state.training,
                button_type="primary" if unlocked else "light",
                button_style="outline",
            )
            button.on_click(lambda _e, kind=kind: self.state.smart_add(kind))
            buttons.append(button)
        self._palette.objects = buttons

    def _edit(self, index: int, name: str, value) -> None:
        if self._syncing or index >= len(self.state.layers):
            return
        self.state.update(index, **{name: value})

    def _sync_stack(self, *_events) -> None:
        blocks = self.state.layers
        analysis = self.state.analysis
        bad = analysis.error_index if analysis is not None and analysis.error else None
        self._syncing = True
        try:
            same_structure = [e.kind for e in self._editors] == [b.kind for b in blocks]
            if not same_structure:
                self._editors = [BlockEditor(self, i, b) for i, b in enumerate(blocks)]
            for editor, block in zip(self._editors, blocks):
                editor.show(block, len(blocks), error=editor.index == bad)
            if not same_structure:
                self._stack.objects = [e.row for e in self._editors] or [
                    pn.pane.HTML(
                        "<i>No layers yet: add blocks from the palette above, or load a preset.</i>"
                    )
                ]
            self._sync_locks()
        finally:
            self._syncing = False

    def _sync_locks(self, *_events) -> None:
        s = self.state
        training = s.training
        for editor in self._editors:
            editor.set_disabled(training, len(s.layers))
        self._undo.disabled = training or not s.can_undo
        self._redo.disabled = training or not s.can_redo
        for key, button in zip(PRESETS, self._presets.objects):
            button.disabled = training or not s.preset_allowed(key)
        self._locked.object = (
            '<div style="color:#8a5a00" role="status"><span aria-hidden="true">🔒</span> Layers are locked while training runs: '
            "press Stop to edit them.</div>"
            if training
            else ""
        )

    def __panel__(self):
        return pn.Column(
            heading("Start from a preset", 3),
            self._presets,
            heading("Add a block", 3),
            self._palette,
            pn.Row(self._undo, self._redo),
            self._locked,
            self._stack,
            sizing_mode="stretch_width",
        )
