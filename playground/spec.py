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
import re
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
    "layer_config",
    "parse_block",
    "parse_layers",
    "read_number",
    "shorten",
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
        value = read_number(value, self.type, self.name)
        if self.low is not None and value < self.low:
            raise ValueError(f"{self.name} must be at least {self.low:g}")
        if self.high is not None:
            if self.high_open and value >= self.high:
                raise ValueError(f"{self.name} must be below {self.high:g}")
            if not self.high_open and value > self.high:
                raise ValueError(f"{self.name} must be at most {self.high:g}")
        return value


_WHOLE = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# More digits than any bound has: read as ±inf, so the range check names the limit
# (int() of thousands of digits is slow, and refused beyond 4,300).
_MAX_DIGITS = 15


def read_number(value: Any, kind: type, name: str) -> float:
    """``value`` (text from a link or a number from a widget) as ``kind`` (int or float).

    Text must be plain ASCII digits (``isdigit`` would also accept '²' or '١').
    Raises ValueError saying what the field accepts.
    """
    what = "a whole number" if kind is int else "a number"
    if isinstance(value, str):
        text = value.strip()
        if not (_WHOLE if kind is int else _REAL).fullmatch(text):
            raise ValueError(f"{name} must be {what}")
        if kind is int and len(text.lstrip("+-").lstrip("0")) > _MAX_DIGITS:
            return -math.inf if text.startswith("-") else math.inf
        return int(text) if kind is int else float(text)
    number = value if type(value) in (int, float) else math.nan  # bool is not a number here
    if kind is int and isinstance(number, float) and number.is_integer():
        number = int(number)
    if (isinstance(number, float) and math.isnan(number)) or (
        kind is int and not isinstance(number, int)
    ):
        raise ValueError(f"{name} must be {what}")
    if kind is int:
        return number
    try:
        return float(number)
    except OverflowError:  # an int beyond floats: out of every range
        return math.inf if number > 0 else -math.inf


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


def layer_config(block: Block) -> dict[str, Any]:
    """The block as pycnn (and Keras) configure it: ``{"class_name": "Conv2D", "config": {...}}``.

    Argument names are Keras's, so the config is the block's arguments as they are.
    """
    return {"class_name": block.info.keras, "config": dict(block.args)}


def shorten(text: object, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters for a message (links can be megabytes long)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_block(token: str, index: int = 0) -> Block:
    """Read one token such as ``conv2d:32:3:padding=same``. Raises SpecError."""
    where = f"Layer token {index + 1} '{shorten(token)}'"
    parts = [p.strip() for p in token.strip().split(":")]
    key = parts[0].lower()
    key = _ALIASES.get(key, key)
    if not key:
        raise SpecError(f"{where} is empty. Remove the extra comma.", index, token)
    if key not in KINDS:
        raise SpecError(
            f"{where}: unknown layer kind '{shorten(parts[0], 20)}'. "
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
                    f"{where}: {info.keras} has no option '{shorten(name, 20)}' "
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
                    f"{where}: positional value '{shorten(part, 20)}' after a key=value option; "
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
        raise SpecError(f"{where}: {exc}. Received: '{shorten(token)}'.", index, token) from None
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
