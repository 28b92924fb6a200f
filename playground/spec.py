"""The model spec: a list of blocks, and its text form used in share links.

A block is ``Block(kind, args)`` with ``kind`` one of the keys of ``KINDS`` and
``args`` a complete dict of that kind's arguments (defaults filled in). Blocks
are treated as immutable values: edits make new blocks, so the undo stack can
hold plain lists of them.

Text form (``../shared/DESIGN.md``)::

    conv2d:32:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax

A token is the kind, then ``:``-separated arguments, positional first, then
``key=value``. ``format_layers`` writes the shortest token (defaults left out)
and ``parse_layers(format_layers(x)) == x`` for every valid spec.

This module is pure Python (no numpy, no Panel) so parsing a link is instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "Arg",
    "Block",
    "KindInfo",
    "SpecError",
    "format_block",
    "format_layers",
    "parse_block",
    "parse_layers",
]

ACTIVATIONS = ("relu", "linear", "sigmoid", "tanh", "softmax")
HIDDEN_ACTIVATIONS = ("relu", "linear", "sigmoid", "tanh")
PADDINGS = ("valid", "same")


class SpecError(ValueError):
    """A layers string (or one token of it) that cannot be read.

    ``index`` is the 0-based token position (``None`` when the whole string is
    at fault) and ``token`` the token text, so the app can name it.
    """

    def __init__(self, message: str, index: int | None = None, token: str | None = None):
        super().__init__(message)
        self.index = index
        self.token = token


@dataclass(frozen=True)
class Arg:
    """One argument of a block kind: its type, default and the sensible range."""

    name: str
    type: type  # int, float or str
    default: Any
    low: float | None = None  # inclusive
    high: float | None = None  # inclusive (exclusive for dropout rate, see ``high_open``)
    choices: tuple[str, ...] = ()
    high_open: bool = False
    optional_none: bool = False  # e.g. pool strides: None means "= pool size"
    label: str = ""

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this argument's type, or raise ValueError."""
        if value is None and self.optional_none:
            return None
        if self.type is str:
            text = str(value).strip().lower()
            if text not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}")
            return text
        if self.type is int:
            if isinstance(value, bool):
                raise ValueError(f"{self.name} must be a whole number")
            if isinstance(value, str):
                text = value.strip()
                if not text.lstrip("-").isdigit():
                    raise ValueError(f"{self.name} must be a whole number")
                value = int(text)
            elif isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(f"{self.name} must be a whole number")
                value = int(value)
            elif not isinstance(value, int):
                raise ValueError(f"{self.name} must be a whole number")
        else:  # float
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name} must be a number") from None
            if not math.isfinite(value):
                raise ValueError(f"{self.name} must be a finite number")
        if self.low is not None and value < self.low:
            raise ValueError(f"{self.name} must be at least {self.low:g}")
        if self.high is not None:
            if self.high_open and value >= self.high:
                raise ValueError(f"{self.name} must be below {self.high:g}")
            if not self.high_open and value > self.high:
                raise ValueError(f"{self.name} must be at most {self.high:g}")
        return value


@dataclass(frozen=True)
class KindInfo:
    """A block kind: its Keras class name, arguments and how it is written."""

    key: str
    keras: str
    positional: tuple[str, ...]
    args: tuple[Arg, ...]
    blurb: str = ""
    required: int = 0  # how many positional arguments a token must give

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {a.name: a.default for a in self.args}


# MaxPooling2D and AveragePooling2D take the same arguments (strides defaults to the pool size).
POOL_ARGS = (
    Arg("pool_size", int, 2, 1, 8, label="Pool size"),
    Arg("strides", int, None, 1, 8, optional_none=True, label="Stride"),
)

KINDS: dict[str, KindInfo] = {
    "conv2d": KindInfo(
        "conv2d",
        "Conv2D",
        positional=("filters", "kernel_size"),
        required=2,
        args=(
            Arg("filters", int, 8, 1, 256, label="Filters"),
            Arg("kernel_size", int, 3, 1, 11, label="Kernel size"),
            Arg("strides", int, 1, 1, 4, label="Stride"),
            Arg("padding", str, "valid", choices=PADDINGS, label="Padding"),
            Arg("activation", str, "relu", choices=HIDDEN_ACTIVATIONS, label="Activation"),
        ),
        blurb="slides small filters over the image; each filter finds one pattern",
    ),
    "maxpool": KindInfo(
        "maxpool",
        "MaxPooling2D",
        positional=("pool_size",),
        required=1,
        args=POOL_ARGS,
        blurb="keeps the largest value of each window: shrinks the map",
    ),
    "avgpool": KindInfo(
        "avgpool",
        "AveragePooling2D",
        positional=("pool_size",),
        required=1,
        args=POOL_ARGS,
        blurb="averages each window: shrinks the map",
    ),
    "flatten": KindInfo(
        "flatten", "Flatten", positional=(), args=(), blurb="turns the map into one long vector"
    ),
    "dense": KindInfo(
        "dense",
        "Dense",
        positional=("units", "activation"),
        required=1,
        args=(
            Arg("units", int, 10, 1, 4096, label="Units"),
            Arg("activation", str, "relu", choices=ACTIVATIONS, label="Activation"),
        ),
        blurb="every input connected to every neuron",
    ),
    "dropout": KindInfo(
        "dropout",
        "Dropout",
        positional=("rate",),
        required=1,
        args=(Arg("rate", float, 0.5, 0.0, 0.95, label="Rate"),),
        blurb="randomly silences neurons while training, against over-fitting",
    ),
}

# Common synonyms a teacher may type by hand; the canonical key is written back.
_ALIASES = {
    "conv": "conv2d",
    "maxpooling2d": "maxpool",
    "max": "maxpool",
    "averagepooling2d": "avgpool",
    "avgpooling2d": "avgpool",
    "avg": "avgpool",
}


@dataclass(frozen=True)
class Block:
    """One layer of the model spec. Use ``Block.make`` to fill defaults and check."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    @classmethod
    def make(cls, kind: str, **args: Any) -> Block:
        info = KINDS[kind]
        full = info.defaults()
        for name, value in args.items():
            full[name] = info.arg(name).check(value)
        if kind in ("maxpool", "avgpool") and full["strides"] == full["pool_size"]:
            full["strides"] = None  # Keras default: strides = pool size
        return cls(kind, full)

    def replace(self, **args: Any) -> Block:
        merged = dict(self.args)
        merged.update(args)
        return Block.make(self.kind, **merged)

    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]

    def describe(self) -> str:
        """Short human label, e.g. ``Conv2D 32×3×3 relu``."""
        a = self.args
        if self.kind == "conv2d":
            text = f"Conv2D {a['filters']} filters {a['kernel_size']}×{a['kernel_size']}"
            if a["strides"] != 1:
                text += f" stride {a['strides']}"
            if a["padding"] != "valid":
                text += f" {a['padding']}"
            return text + f" {a['activation']}"
        if self.kind in ("maxpool", "avgpool"):
            text = f"{self.info.keras} {a['pool_size']}×{a['pool_size']}"
            if a["strides"] is not None and a["strides"] != a["pool_size"]:
                text += f" stride {a['strides']}"
            return text
        if self.kind == "dense":
            return f"Dense {a['units']} {a['activation']}"
        if self.kind == "dropout":
            return f"Dropout {a['rate']:g}"
        return self.info.keras

    def token(self) -> str:
        return format_block(self)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_block(block: Block) -> str:
    """The shortest token for ``block`` (defaults left out)."""
    info = block.info
    a = block.args
    parts = [info.key]
    if block.kind == "dense":
        parts.append(_format_value(a["units"]))
        if a["activation"] != "relu":
            parts.append(a["activation"])
        return ":".join(parts)
    for name in info.positional:
        parts.append(_format_value(a[name]))
    for arg in info.args:
        if arg.name in info.positional:
            continue
        value = a[arg.name]
        if value == arg.default:
            continue
        if (
            block.kind in ("maxpool", "avgpool")
            and arg.name == "strides"
            and value == a["pool_size"]
        ):
            continue
        parts.append(f"{arg.name}={_format_value(value)}")
    return ":".join(parts)


def format_layers(blocks: list[Block]) -> str:
    return ",".join(format_block(b) for b in blocks)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_block(token: str, index: int = 0) -> Block:
    """Read one token such as ``conv2d:32:3:padding=same``. Raises SpecError."""
    where = f"Layer token {index + 1} '{_shorten(token)}'"
    parts = [p.strip() for p in token.strip().split(":")]
    key = parts[0].lower()
    key = _ALIASES.get(key, key)
    if not key:
        raise SpecError(f"{where} is empty. Remove the extra comma.", index, token)
    if key not in KINDS:
        raise SpecError(
            f"{where}: unknown layer kind '{_shorten(parts[0], 20)}'. "
            f"Use one of: {', '.join(KINDS)}.",
            index,
            token,
        )
    info = KINDS[key]
    positional: list[str] = []
    named: dict[str, str] = {}
    for part in parts[1:]:
        if "=" in part:
            name, _, value = part.partition("=")
            name = name.strip().lower()
            if name == "stride":
                name = "strides"
            if name in ("kernel", "kernel_size"):
                name = "kernel_size"
            if name == "pool":
                name = "pool_size"
            try:
                info.arg(name)
            except KeyError:
                known = ", ".join(a.name for a in info.args) or "none"
                raise SpecError(
                    f"{where}: {info.keras} has no option '{_shorten(name, 20)}' "
                    f"(its options: {known}).",
                    index,
                    token,
                ) from None
            if name in named:
                raise SpecError(f"{where}: '{name}' is given twice.", index, token)
            named[name] = value.strip()
        else:
            if named:
                raise SpecError(
                    f"{where}: positional value '{_shorten(part, 20)}' after a key=value option; "
                    "put positional values first.",
                    index,
                    token,
                )
            positional.append(part)
    if len(positional) > len(info.positional):
        expected = ":".join(info.positional) or "no values"
        raise SpecError(
            f"{where}: too many values for {info.keras} (expected {info.key}:{expected}).",
            index,
            token,
        )
    if len(positional) < info.required:
        expected = ":".join(info.positional[: info.required])
        raise SpecError(
            f"{where}: {info.keras} needs {expected}, e.g. '{format_block(Block.make(key))}'.",
            index,
            token,
        )
    values: dict[str, Any] = {}
    for name, value in zip(info.positional, positional):
        if name in named:
            raise SpecError(f"{where}: '{name}' is given twice.", index, token)
        values[name] = value
    values.update(named)
    try:
        block = Block.make(key, **values)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}. Received: '{_shorten(token)}'.", index, token) from None
    return block


MAX_TOKENS = 64


def parse_layers(text: str) -> list[Block]:
    """Read a whole ``layers`` string. Raises SpecError naming the first bad token."""
    text = (text or "").strip()
    if not text:
        raise SpecError(
            "The layers list is empty. Add at least one layer, e.g. 'flatten,dense:10:softmax'."
        )
    tokens = text.split(",")
    if len(tokens) > MAX_TOKENS:
        raise SpecError(f"Too many layers ({len(tokens)}); at most {MAX_TOKENS} are allowed.")
    return [parse_block(token, i) for i, token in enumerate(tokens)]
