"""Share links: the model and its settings as a query string, and back.

``?dataset=mnist&layers=conv2d:32:3,maxpool:2,flatten,dense:10:softmax&epochs=5&…``
(``../shared/DESIGN.md``). Reading never raises: every value that cannot be
used becomes a :class:`LinkProblem` that names the key (and, for layers, the
token) and says what the field accepts; the value is left out, so the
default stays. Rules:

- a key given more than once: the first value is read, the others are
  ignored, and a problem says so (the rule of ``URLSearchParams.get``);
- keys the page does not know (e.g. ones an LMS adds) are ignored;
- a pasted text is a link only if it carries at least one key the page knows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from playground.settings import BY_KEY, SETTINGS
from playground.spec import SpecError, format_layers, parse_layers, shorten

__all__ = ["LINK_PARAMS", "LinkProblem", "format_query", "link_query", "parse_query"]

# What a link holds, as PlaygroundState parameters (the share link writes it on every change).
LINK_PARAMS = ("layers", *(s.param for s in SETTINGS))
_KEYS = ("layers", *BY_KEY)


@dataclass(frozen=True)
class LinkProblem:
    key: str  # the link's key, or "link" for the link as a whole
    message: str


def parse_query(query: str) -> tuple[dict[str, Any], list[LinkProblem]]:
    """Read a share link's query. Returns (state values to set, problems)."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    counts = Counter(key for key, _ in pairs)
    first: dict[str, str] = {}
    for key, raw in pairs:
        first.setdefault(key, raw)
    values: dict[str, Any] = {}
    problems: list[LinkProblem] = []
    for key, raw in first.items():
        if key not in _KEYS:
            continue
        if counts[key] > 1:
            problems.append(
                LinkProblem(
                    key,
                    f"'{key}' is given {counts[key]} times: the first value "
                    f"('{shorten(raw)}') was read, the others were ignored.",
                )
            )
        if key == "layers":
            try:
                values["layers"] = parse_layers(raw)
            except SpecError as exc:
                problems.append(LinkProblem(key, f"{exc} The default model was loaded instead."))
            continue
        setting = BY_KEY[key]
        try:
            values[setting.param] = setting.check(raw)
        except ValueError as exc:
            problems.append(LinkProblem(key, f"{exc}. Received: '{shorten(raw)}'."))
    return values, problems


def format_query(state: Any) -> str:
    """The share-link query (starting with '?') of ``state`` (a PlaygroundState).

    DESIGN.md's order: the dataset, the layers, then the other settings in table order.
    """
    items = []
    for setting in SETTINGS:
        value = getattr(state, setting.param)
        if not (setting.omit_default and value == setting.default):
            items.append((setting.name, setting.text(value)))
        if setting.name == "dataset":
            items.append(("layers", format_layers(state.layers)))
    return "?" + "&".join(f"{k}={quote(v, safe=':,=.')}" for k, v in items)


def link_query(text: str) -> str | None:
    """The query of a link pasted by a learner (a whole address or just its query),
    or None if the text is not a link to a model (no key the page knows)."""
    text = text.strip().split("#", 1)[0]
    query = text.split("?", 1)[1] if "?" in text else text
    keys = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
    return "?" + query if keys & set(_KEYS) else None
