"""The one state object of the playground, plus everything that is pure logic.

* ``PlaygroundState`` — param state every component views: the model spec
  (``layers``: list of :class:`~playground.spec.Block`), the dataset, the
  training settings, undo/redo, the blocks unlocked for the learner, and the
  analysis of the current model (summary rows, first error, offered fix).
* The share-link codec: :func:`parse_query` / :func:`format_query`.
* :func:`build_model` — a ``pycnn.Sequential`` from a spec (the e2e tests use
  it to compute the expected table in the test process).
* :func:`analyze` — the summary table of a spec, including invalid ones: the
  offending layer is marked, the layers before it keep their rows.

No Panel import here: the module is unit-tested without a browser.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

import param

from playground.spec import KINDS, Block, SpecError, format_layers, parse_layers
from pycnn.datasets import DatasetInfo
from pycnn.datasets import available as available_datasets
from pycnn.datasets import info as dataset_info

__all__ = [
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

# The first model a learner sees: small enough to train on digits in about a second.
DEFAULT_LAYERS = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"
DEFAULT_DATASET = "digits"


def default_blocks() -> list[Block]:
    return parse_layers(DEFAULT_LAYERS)


# --------------------------------------------------------------------------- datasets

# What each dataset is (title, input shape, classes, sizes, credit) comes from pycnn's
# registry, without loading any data; DATASETS is its display order.
DATASETS = tuple(available_datasets())


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    layers: str
    blurb: str
    # The smallest input side this architecture works on; if the current dataset
    # is smaller, loading the preset switches to `dataset`.
    min_side: int = 1
    dataset: str = "mnist"
    settings: dict = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "starter",
            "Tiny starter",
            DEFAULT_LAYERS,
            "one convolution, one pooling, one Dense: trains in seconds",
        ),
        Preset(
            "lenet",
            "LeNet-style",
            "conv2d:6:5:padding=same:activation=tanh,avgpool:2,conv2d:16:5:activation=tanh,avgpool:2,"
            "flatten,dense:120:tanh,dense:84:tanh,dense:10:softmax",
            "LeCun's 1998 design: two convolution + average-pooling stages, then three Dense layers",
            min_side=16,
        ),
        Preset(
            "keras",
            "Keras “Simple MNIST convnet”",
            "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax",
            "the example from keras.io: 34,826 parameters, about 99 % on MNIST",
            min_side=22,
            settings={
                "optimizer": "adam",
                "batch_size": 128,
                "learning_rate": 0.001,
                "validation_split": 0.1,
            },
        ),
        Preset(
            "dense",
            "Dense only",
            "flatten,dense:128,dense:10:softmax",
            "no convolution at all: compare its parameter count with the CNN's",
        ),
    )
}


# --------------------------------------------------------------------------- pycnn bridge


def to_layer(block: Block):
    """The pycnn layer for one block (Keras names and arguments)."""
    import pycnn

    a = block.args
    if block.kind == "conv2d":
        return pycnn.Conv2D(
            a["filters"],
            a["kernel_size"],
            strides=a["strides"],
            padding=a["padding"],
            activation=a["activation"],
        )
    if block.kind == "maxpool":
        return pycnn.MaxPooling2D(a["pool_size"], strides=a["strides"])
    if block.kind == "avgpool":
        return pycnn.AveragePooling2D(a["pool_size"], strides=a["strides"])
    if block.kind == "flatten":
        return pycnn.Flatten()
    if block.kind == "dense":
        return pycnn.Dense(a["units"], activation=a["activation"])
    if block.kind == "dropout":
        return pycnn.Dropout(a["rate"])
    raise ValueError(f"Unknown layer kind {block.kind!r}.")


def build_model(blocks: list[Block] | str, input_shape: tuple[int, int, int], seed: int = 0):
    """A ``pycnn.Sequential`` for the spec (raises pycnn's ValueError if invalid)."""
    import pycnn

    if isinstance(blocks, str):
        blocks = parse_layers(blocks)
    return pycnn.Sequential(
        [to_layer(b) for b in blocks], input_shape=tuple(input_shape), seed=seed
    )


# --------------------------------------------------------------------------- analysis


@dataclass
class Row:
    index: int
    name: str
    kind: str  # Keras class name
    output_shape: tuple[int, ...] | None
    params: int | None
    macs: int | None
    error: str | None = None

    @property
    def shape_text(self) -> str:
        if self.output_shape is None:
            return "—"
        return "(None, " + ", ".join(str(v) for v in self.output_shape) + ")"


@dataclass
class Fix:
    """A one-click repair the app offers: a label and the repaired layer list."""

    label: str
    layers: list[Block]


@dataclass
class Analysis:
    rows: list[Row]
    input_shape: tuple[int, ...]
    num_classes: int
    error: str | None = None  # what is wrong (model error or output mismatch)
    error_index: int | None = None  # the marked row (None: model-level problem)
    fixes: list[Fix] = field(default_factory=list)
    total_params: int = 0
    total_macs: int = 0

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def bytes(self) -> int:
        return 4 * self.total_params  # float32

    def activation_values(self) -> int:
        """Values stored per example by a forward pass (input + every layer output)."""
        total = _prod(self.input_shape)
        for row in self.rows:
            if row.output_shape is not None:
                total += _prod(row.output_shape)
        return total


def _prod(shape) -> int:
    out = 1
    for v in shape:
        out *= int(v)
    return out


def layer_config(block: Block) -> dict[str, Any]:
    """Keras-style config of one block: ``{"class_name": "Conv2D", "config": {...}}``."""
    a = block.args
    if block.kind == "conv2d":
        config = {
            "filters": a["filters"],
            "kernel_size": a["kernel_size"],
            "strides": a["strides"],
            "padding": a["padding"],
            "activation": a["activation"],
        }
    elif block.kind in ("maxpool", "avgpool"):
        config = {"pool_size": a["pool_size"], "strides": a["strides"]}
    elif block.kind == "dense":
        config = {"units": a["units"], "activation": a["activation"]}
    elif block.kind == "dropout":
        config = {"rate": a["rate"]}
    else:
        config = {}
    return {"class_name": block.info.keras, "config": config}


def analyze(blocks: list[Block], input_shape, num_classes: int) -> Analysis:
    """Summary rows for ``blocks`` on ``input_shape`` — also when the model is invalid.

    Uses ``pycnn.check_layers``: pure arithmetic, no weights allocated, so
    it is fast enough to run on every edit.
    """
    from pycnn import check_layers

    input_shape = tuple(int(v) for v in input_shape)
    result = Analysis([], input_shape, num_classes)
    if not blocks:
        result.error = "The model has no layers. Add blocks from the palette, or load a preset."
        return result
    checks = check_layers([layer_config(b) for b in blocks], input_shape)
    rows = []
    for c, block in zip(checks, blocks):
        rows.append(
            Row(
                c.index,
                c.name,
                c.kind or block.info.keras,
                None if c.output_shape is None else tuple(int(v) for v in c.output_shape),
                None if c.error is not None else int(c.params),
                None if c.error is not None else int(c.macs),
                None if c.error is None else str(c.error),
            )
        )
    result.rows = rows
    result.total_params = sum(r.params or 0 for r in rows)
    result.total_macs = sum(r.macs or 0 for r in rows)
    bad = next((r for r in rows if r.error is not None), None)
    if bad is not None:
        result.error = bad.error
        result.error_index = bad.index
        result.fixes = _fixes_for_error(blocks, bad.index, checks[bad.index].input_shape)
    else:
        _check_output(blocks, result)
    return result


def _fixes_for_error(blocks, index, in_shape) -> list[Fix]:
    fixes: list[Fix] = []
    block = blocks[index]
    in_shape = tuple(in_shape or ())
    if block.kind == "dense" and len(in_shape) == 3:
        fixes.append(
            Fix(
                f"Insert Flatten before layer {index + 1}",
                blocks[:index] + [Block.make("flatten")] + blocks[index:],
            )
        )
    if block.kind in ("conv2d", "maxpool", "avgpool") and len(in_shape) == 3:
        size = block.args["kernel_size" if block.kind == "conv2d" else "pool_size"]
        side = min(in_shape[0], in_shape[1])
        if block.kind == "conv2d" and block.args["padding"] == "valid" and size <= 11:
            fixes.append(
                Fix(
                    f"Use padding='same' in layer {index + 1}",
                    _replace(blocks, index, padding="same"),
                )
            )
        if 1 <= side < size:
            key = "kernel_size" if block.kind == "conv2d" else "pool_size"
            fixes.append(
                Fix(
                    f"Shrink layer {index + 1}'s window to {side}×{side}",
                    _replace(blocks, index, **{key: side}),
                )
            )
    fixes.append(
        Fix(f"Remove layer {index + 1} ({block.info.keras})", blocks[:index] + blocks[index + 1 :])
    )
    return fixes


def _replace(blocks, index, **args) -> list[Block]:
    out = list(blocks)
    out[index] = out[index].replace(**args)
    return out


def _check_output(blocks: list[Block], result: Analysis) -> None:
    """The last layer must give one probability per class: Dense(num_classes, softmax)."""
    n = result.num_classes
    last = blocks[-1]
    out_shape = result.rows[-1].output_shape
    ok = last.kind == "dense" and last.args["units"] == n and last.args["activation"] == "softmax"
    if ok:
        return
    want = f"Dense({n}, activation='softmax')"
    if last.kind == "dense":
        result.error = (
            f"The last layer must output one probability per class: this dataset has {n} classes, "
            f"so it should be {want}. Received: Dense({last.args['units']}, "
            f"activation='{last.args['activation']}')."
        )
        result.error_index = len(blocks) - 1
        result.fixes = [
            Fix(
                f"Make the last layer {want}",
                _replace(blocks, len(blocks) - 1, units=n, activation="softmax"),
            )
        ]
        return
    shape_text = "(" + ", ".join(str(v) for v in out_shape) + ")"
    result.error = (
        f"The model must end with {want} to output one probability per class ({n} classes). "
        f"Received: last layer {last.info.keras} with output {shape_text}."
    )
    result.error_index = len(blocks) - 1
    tail = [Block.make("dense", units=n, activation="softmax")]
    if len(out_shape) != 1:
        tail = [Block.make("flatten")] + tail
    result.fixes = [
        Fix(
            f"Append {' + '.join(b.info.keras for b in tail)}({n}, softmax)".replace(
                "Flatten + Dense", "Flatten + Dense"
            ),
            list(blocks) + tail,
        )
    ]


# --------------------------------------------------------------------------- browser-tab guard

MAX_PARAMS = 3_000_000
MAX_ACTIVATION_BYTES = 400 * 1024**2


def size_problem(analysis: Analysis, batch_size: int) -> str | None:
    """Why the model is too large to train in a browser tab, or None."""
    if analysis.total_params > MAX_PARAMS:
        return (
            f"This model has {analysis.total_params:,} parameters; a browser tab can train at most "
            f"{MAX_PARAMS:,}. Use fewer filters or units, or add pooling before Flatten so the "
            "Dense layer gets a smaller input."
        )
    # forward outputs + their gradients (x2) and im2col patches (~x2): a rough but safe bound
    need = 4 * analysis.activation_values() * batch_size * 4
    if need > MAX_ACTIVATION_BYTES:
        return (
            f"Training at batch size {batch_size} would need about {need / 1024**2:,.0f} MB for the "
            f"layer outputs, more than the {MAX_ACTIVATION_BYTES // 1024**2} MB a browser tab can "
            "safely use. Lower the batch size, use fewer filters, or pool earlier."
        )
    return None


# --------------------------------------------------------------------------- share links

SETTINGS_LIMITS = {
    "epochs": (int, 1, 100),
    "batch": (int, 1, 1024),
    "lr": (float, 1e-6, 1.0),
    "seed": (int, 0, 2**31 - 1),
    "val": (float, 0.0, 0.5),
}
# URL key -> state parameter name
_URL_TO_PARAM = {
    "epochs": "epochs",
    "batch": "batch_size",
    "lr": "learning_rate",
    "optimizer": "optimizer",
    "seed": "seed",
    "val": "validation_split",
}


@dataclass
class LinkProblem:
    key: str
    message: str


def _show(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_WHOLE = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _read_number(text: str, kind: type) -> float | None:
    """``text`` as a number of ``kind`` (ASCII digits only), or None if it is not one.

    A whole number too long for any setting comes back as ±inf, so the range check
    names it: Python would need seconds (or refuse) to convert thousands of digits.
    """
    if kind is int:
        if not _WHOLE.fullmatch(text):
            return None
        if len(text.lstrip("+-").lstrip("0")) > 15:
            return -math.inf if text.startswith("-") else math.inf
        return int(text)
    if not _REAL.fullmatch(text):
        return None
    return float(text)  # very long or large: inf, refused by the range check


def parse_query(query: str | dict) -> tuple[dict[str, Any], list[LinkProblem]]:
    """Read a share link's query. Returns (state values to set, problems).

    Every problem names the key (and, for layers, the token) and says why;
    the value it concerns is left out so the default stays. A bad ``layers``
    value means the default model is loaded (with the link's dataset, if valid).
    """
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    else:
        pairs = [(k, v[0] if isinstance(v, list) and v else v) for k, v in query.items()]
    values: dict[str, Any] = {}
    problems: list[LinkProblem] = []
    for key, raw in pairs:
        key = str(key)
        raw = "" if raw is None else str(raw)
        if key == "dataset":
            name = raw.strip().lower()
            if name in DATASETS:
                values["dataset"] = name
            else:
                problems.append(
                    LinkProblem(
                        key, f"Unknown dataset '{_show(raw)}'. Use one of: {', '.join(DATASETS)}."
                    )
                )
        elif key == "layers":
            try:
                values["layers"] = parse_layers(raw)
            except SpecError as exc:
                problems.append(LinkProblem(key, f"{exc} The default model was loaded instead."))
        elif key == "optimizer":
            name = raw.strip().lower()
            if name in ("sgd", "adam"):
                values["optimizer"] = name
            else:
                problems.append(
                    LinkProblem(key, f"Unknown optimizer '{_show(raw)}'. Use sgd or adam.")
                )
        elif key in SETTINGS_LIMITS:
            kind, low, high = SETTINGS_LIMITS[key]
            number = _read_number(raw.strip(), kind)
            if number is None:
                problems.append(
                    LinkProblem(
                        key,
                        f"'{key}' must be a {'whole ' if kind is int else ''}number. Received: '{_show(raw)}'.",
                    )
                )
                continue
            if not low <= number <= high:
                problems.append(
                    LinkProblem(
                        key,
                        f"'{key}' must be between {low:g} and {high:g}. Received: {_show(raw)}.",
                    )
                )
                continue
            values[_URL_TO_PARAM[key]] = number
        # Anything else (e.g. parameters an LMS adds) is ignored on purpose.
    return values, problems


def format_query(state: PlaygroundState) -> str:
    """The share-link query for ``state`` in DESIGN.md's format (starts with '?')."""
    items = [
        ("dataset", state.dataset),
        ("layers", format_layers(state.layers)),
        ("epochs", str(state.epochs)),
        ("batch", str(state.batch_size)),
        ("lr", f"{state.learning_rate:g}"),
        ("optimizer", state.optimizer),
        ("seed", str(state.seed)),
    ]
    if state.validation_split != 0.1:
        items.append(("val", f"{state.validation_split:g}"))
    return "?" + "&".join(f"{k}={quote(v, safe=':,=.')}" for k, v in items)


# --------------------------------------------------------------------------- state


class PlaygroundState(param.Parameterized):
    """Everything a learner can change, in one place. Components only view it."""

    dataset = param.Selector(objects=list(DATASETS), default=DEFAULT_DATASET, doc="Training images")
    layers = param.List(default=[], item_type=Block, doc="The model spec, first layer first")

    epochs = param.Integer(default=5, bounds=(1, 100), doc="Passes over the training images")
    batch_size = param.Integer(default=32, bounds=(1, 1024), doc="Images per weight update")
    learning_rate = param.Number(default=0.01, bounds=(1e-6, 1.0), doc="Step size of each update")
    optimizer = param.Selector(
        objects=["adam", "sgd"], default="adam", doc="adam, or sgd with momentum 0.9"
    )
    validation_split = param.Number(
        default=0.1, bounds=(0.0, 0.5), step=0.05, doc="Share of training images held out"
    )
    seed = param.Integer(
        default=0, bounds=(0, 2**31 - 1), doc="Random seed: same seed, same result"
    )

    unlocked_kinds = param.List(
        default=list(KINDS), doc="Blocks the palette offers (a lesson unlocks more)"
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

    def train_block_reason(self) -> str | None:
        """Why Train is disabled right now, or None."""
        if self.training:
            return "Training is running."
        a = self.analysis
        if a is None or not a.valid:
            return "Fix the model first: " + (a.error if a else "")
        return size_problem(a, self.batch_size)

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

    def load_preset(self, key: str) -> None:
        if self.training:
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
    def apply_query(self, query: str | dict, record: bool = False) -> list[LinkProblem]:
        """Load a share link. Problems are kept in ``link_problems`` (plain text).

        Opening the page's own link is not an edit (``record=False``); a link pasted
        into the page is (``record=True``), so Undo brings the previous model back.
        """
        if self.training:
            return []
        before = {
            name: getattr(self, name) for name in (*_URL_TO_PARAM.values(), "dataset", "layers")
        }
        try:
            values, problems = parse_query(query)
            if "layers" not in values:
                values.setdefault("layers", default_blocks())
            self._restoring = not record
            self.param.update(**values)
        except Exception as exc:  # noqa: BLE001 - last resort: no link may stop the page
            self._restoring = True
            self.param.update(**before)
            problems = [
                LinkProblem(
                    "link",
                    f"This link could not be read ({type(exc).__name__}: {_show(exc, 80)}). "
                    "The model on the page was kept.",
                )
            ]
        finally:
            self._restoring = False
        self.link_problems = problems
        return problems

    def query(self) -> str:
        return format_query(self)
