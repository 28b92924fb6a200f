"""The one state object of the playground: what the learner builds and sets.

``PlaygroundState`` is the param object every component views: the model spec
(``layers``: a list of :class:`~playground.spec.Block`), the settings a link
carries (one parameter per row of :data:`playground.settings.SETTINGS`), the
blocks unlocked for the learner, undo/redo, and the analysis of the current
spec (kept up to date on every edit).

No Panel import here: the module is unit-tested without a browser.
"""

from __future__ import annotations

import contextlib
from typing import Any

import param

from playground.analysis import (
    Analysis,
    Fix,
    Row,
    analyze,
    build_model,
    params_problem,
    size_problem,
)
from playground.links import LINK_PARAMS, LinkProblem, format_query, parse_query
from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS, PRESETS, Preset, default_blocks
from playground.settings import DATASETS, Settings
from playground.spec import KINDS, Block, parse_layers, shorten
from pycnn.datasets import DatasetInfo
from pycnn.datasets import info as dataset_info

__all__ = [
    # Also importable from here, for code written before they had their own modules.
    "DATASETS",
    "DEFAULT_DATASET",
    "DEFAULT_LAYERS",
    "PRESETS",
    "Analysis",
    "DatasetInfo",
    "Fix",
    "LinkProblem",
    "PlaygroundState",
    "Preset",
    "Row",
    "analyze",
    "build_model",
    "dataset_info",
    "default_blocks",
    "format_query",
    "parse_query",
]


class PlaygroundState(Settings):
    """Everything a learner can change, in one place. Components only view it."""

    layers = param.List(default=[], item_type=Block, doc="The model spec, first layer first")
    unlocked_kinds = param.List(
        default=list(KINDS), doc="Blocks the palette offers (a lesson unlocks more)"
    )
    hidden_numbers = param.Dict(
        default={},
        doc="Numbers the views hide until the learner has guessed them (a lesson step): "
        "{layer index: 'params' | 'output_shape'}",
    )
    training = param.Boolean(default=False, doc="True while a training runs: the spec is locked")
    link_problems = param.List(default=[], doc="Problems found in the opened link (shown as text)")
    analysis = param.Parameter(default=None, doc="Analysis of the current spec")
    can_undo = param.Boolean(default=False)
    can_redo = param.Boolean(default=False)

    UNDO_LIMIT = 100

    def __init__(self, **params):
        if "layers" not in params:
            params["layers"] = default_blocks()
        super().__init__(**params)
        self._undo: list[tuple[list[Block], str]] = []
        self._redo: list[tuple[list[Block], str]] = []
        self._restoring = False
        self._refresh_analysis()
        self.param.watch(self._record, ["layers", "dataset"])

    # ---- derived
    @property
    def info(self) -> DatasetInfo:
        return dataset_info(self.dataset)

    @param.depends("layers", "dataset", watch=True)
    def _refresh_analysis(self) -> None:
        info = self.info
        self.analysis = analyze(self.layers, info.input_shape, info.num_classes)

    def build_block_reason(self) -> str | None:
        """Why no model can be built from the spec right now (invalid, too big), or None."""
        a = self.analysis
        if not a.valid:
            return "Fix the model first: " + a.error
        return params_problem(a)

    def train_block_reason(self) -> str | None:
        """Why Train is disabled right now, or None."""
        if self.training:
            return "Training is running."
        return self.build_block_reason() or size_problem(self.analysis, self.batch_size)

    # ---- undo / redo
    def _record(self, *events) -> None:
        if self._restoring:
            return
        old_layers, old_dataset = self.layers, self.dataset
        for e in events:
            if e.name == "layers":
                old_layers = e.old
            elif e.name == "dataset":
                old_dataset = e.old
        if (old_layers, old_dataset) == (self.layers, self.dataset):
            return
        self._undo.append((list(old_layers), old_dataset))
        del self._undo[: -self.UNDO_LIMIT]
        self._redo.clear()
        self._sync_undo_flags()

    def _sync_undo_flags(self) -> None:
        self.param.update(can_undo=bool(self._undo), can_redo=bool(self._redo))

    def _restore(self, snapshot) -> None:
        self._restoring = True
        try:
            self.param.update(layers=list(snapshot[0]), dataset=snapshot[1])
        finally:
            self._restoring = False

    def undo(self) -> bool:
        if not self._undo or self.training:
            return False
        self._redo.append((list(self.layers), self.dataset))
        self._restore(self._undo.pop())
        self._sync_undo_flags()
        return True

    def redo(self) -> bool:
        if not self._redo or self.training:
            return False
        self._undo.append((list(self.layers), self.dataset))
        self._restore(self._redo.pop())
        self._sync_undo_flags()
        return True

    # ---- edits (each one is a single undo step)
    def _set_layers(self, blocks: list[Block]) -> None:
        if self.training:
            return
        self.layers = list(blocks)

    def add(self, kind: str, index: int | None = None, **args) -> None:
        if kind not in self.unlocked_kinds:
            return
        block = Block.make(kind, **args)
        blocks = list(self.layers)
        blocks.insert(len(blocks) if index is None else index, block)
        self._set_layers(blocks)

    def smart_add(self, kind: str) -> None:
        """Add a block where a learner most likely wants it: before the Flatten/Dense head
        for image layers, before the output layer for Dense/Dropout."""
        blocks = self.layers
        if kind in ("conv2d", "maxpool", "avgpool"):
            spot = next(
                (i for i, b in enumerate(blocks) if b.kind in ("flatten", "dense")), len(blocks)
            )
        elif kind in ("dense", "dropout") and blocks and blocks[-1].kind == "dense":
            spot = len(blocks) - 1
        else:
            spot = len(blocks)
        args = {"units": 32} if kind == "dense" else {}
        self.add(kind, spot, **args)

    def update(self, index: int, **args) -> None:
        blocks = list(self.layers)
        new = blocks[index].replace(**args)
        if new != blocks[index]:
            blocks[index] = new
            self._set_layers(blocks)

    def remove(self, index: int) -> None:
        blocks = list(self.layers)
        del blocks[index]
        self._set_layers(blocks)

    def duplicate(self, index: int) -> None:
        blocks = list(self.layers)
        blocks.insert(index + 1, blocks[index])
        self._set_layers(blocks)

    def move(self, index: int, delta: int) -> None:
        target = index + delta
        if not 0 <= target < len(self.layers):
            return
        blocks = list(self.layers)
        blocks[index], blocks[target] = blocks[target], blocks[index]
        self._set_layers(blocks)

    def apply_fix(self, fix: Fix) -> None:
        self._set_layers(fix.layers)

    def preset_allowed(self, key: str) -> bool:
        """A preset may be loaded when it uses only the unlocked blocks."""
        return self.locked_problem(parse_layers(PRESETS[key].layers)) is None

    def locked_problem(self, blocks: list[Block]) -> str | None:
        """Why ``blocks`` cannot be opened here: they use blocks a lesson has not unlocked
        yet (the palette, presets, pasted links and opened files all keep to them)."""
        locked = [
            k for k in KINDS if k not in self.unlocked_kinds and any(b.kind == k for b in blocks)
        ]
        if not locked:
            return None
        names = ", ".join(KINDS[k].keras for k in locked)
        verb, them = ("is", "it") if len(locked) == 1 else ("are", "them")
        return (
            f"{names} {verb} not unlocked yet in the lesson: finish the step that unlocks "
            f"{them}, or switch to Free play to use every block."
        )

    def load_preset(self, key: str) -> None:
        if self.training or not self.preset_allowed(key):
            return
        preset = PRESETS[key]
        update: dict[str, Any] = {"layers": parse_layers(preset.layers)}
        side = min(self.info.input_shape[:2])
        if side < preset.min_side:
            update["dataset"] = preset.dataset
        self.param.update(**update)
        if preset.settings:
            self.param.update(**preset.settings)

    # ---- share links
    def apply_query(self, query: str, record: bool = False) -> list[LinkProblem]:
        """Load a share link; what could not be used is kept in ``link_problems`` (plain text).

        Opening the page's own link is not an edit (``record=False``); a link pasted
        into the page is (``record=True``), so Undo brings the previous model back.
        A link without ``layers`` means the default model. What the page shows already
        is not set again, so a link of the page's own model (a reload, a saved lesson)
        changes nothing, wakes no watcher and keeps the trained weights, even while
        training runs. Nothing a link holds can stop the page: an unexpected failure is
        reported as a problem of the link, and the model on the page is kept.
        """
        problems = self._load_link(query, record)
        self.link_problems = problems
        return problems

    def _load_link(self, query: str, record: bool) -> list[LinkProblem]:
        before = {name: getattr(self, name) for name in LINK_PARAMS}
        try:
            values, problems = parse_query(query)
            values.setdefault("layers", default_blocks())
            changes = self._differing(values)
            if not changes:
                return problems
            if self.training:
                return [
                    LinkProblem(
                        "link",
                        "A link cannot be opened while training runs: press Stop first. "
                        "The model on the page was kept.",
                    )
                ]
            locked = self.locked_problem(values["layers"]) if record else None
            if locked:  # a learner's pasted link: the lesson's own models keep to its blocks
                return [LinkProblem("layers", f"{locked} The model on the page was kept.")]
            self._restoring = not record
            self.param.update(**changes)
        except Exception as exc:  # noqa: BLE001 - last resort: no link may stop the page
            self._restoring = True
            # The values are set before any watcher runs; a watcher failing again must
            # not turn the rollback into the failure this guards against.
            with contextlib.suppress(Exception):
                self.param.update(**self._differing(before))
            problems = [
                LinkProblem(
                    "link",
                    f"This link could not be read ({type(exc).__name__}: {shorten(exc, 80)}). "
                    "The model on the page was kept.",
                )
            ]
        finally:
            self._restoring = False
        return problems

    def _differing(self, values: dict[str, Any]) -> dict[str, Any]:
        """The ``values`` that differ from the state's. param cannot compare Blocks, so
        setting an identical model would tell every watcher of ``layers`` it is new."""
        return {name: value for name, value in values.items() if getattr(self, name) != value}

    def query(self) -> str:
        return format_query(self)
