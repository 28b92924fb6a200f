"""Saving the lesson progress: a versioned JSON record, one per copy of the site.

The page keeps the record in ``localStorage`` under :func:`storage_key` (derived
from the page's path, so two copies of the site on one host keep separate
progress) and, inside an LMS, in SCORM 1.2's ``cmi.suspend_data``:
``dumps(progress, limit=SUSPEND_DATA_LIMIT)`` drops the oldest log lines (and,
for an absurdly long model, the model) until the record fits.

Record (version 1), keys in this order so that a cut-off record still shows the
model first::

    {"v": 1, "model": "?dataset=digits&layers=…", "step": 3,
     "done": {"1": 1, "2": 3}, "answers": {"1": [0], "2": [1, 0]},
     "guesses": {"3": 80}, "best": {"2": 0.3712}, "saved": 1767225600,
     "log": ["…", "…"], "sum": "8 hex digits"}

``sum`` is a CRC-32 of the rest (keys sorted): it catches a record changed by
hand or damaged on the way, not a determined cheat. :func:`loads` never raises
on bad input: it returns what it could keep plus messages for the learner, and
keeps the learner's model whenever the model itself is readable.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from playground.lesson.content import START_MODEL, STEPS, TOTAL
from playground.lesson.machine import MAX_LOG, Progress
from playground.lesson.narration import clip
from playground.spec import SpecError, parse_layers

__all__ = [
    "KEY_PREFIX",
    "MAX_RECORD",
    "SUSPEND_DATA_LIMIT",
    "VERSION",
    "Loaded",
    "dumps",
    "loads",
    "storage_key",
]

VERSION = 1
KEY_PREFIX = "cnn-playground:lesson:"
SUSPEND_DATA_LIMIT = 4096  # SCORM 1.2 cmi.suspend_data (CMIString4096)
MAX_RECORD = 200_000  # characters; a longer record is not ours
MAX_MODEL = 10_000  # characters of the model's share-link query
MAX_GUESS = 10**12


def storage_key(pathname: str) -> str:
    """The localStorage key for the site copy at ``pathname`` (``location.pathname``).

    The key names the copy's folder: ``/cnn/``, ``/cnn/index.html`` and ``/cnn``
    share one key, ``/course-a/cnn/`` has another. A last segment with a dot is a
    file name unless the path ends in ``/`` (``/v1.2/`` is a folder).
    """
    path = pathname.split("?", 1)[0].split("#", 1)[0]
    parts = [p for p in path.split("/") if p]
    if parts and not path.endswith("/") and "." in parts[-1]:
        parts.pop()
    return KEY_PREFIX + "/" + "".join(p + "/" for p in parts)


# --------------------------------------------------------------------------- writing


def _canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "sum"}
    return f"{zlib.crc32(_canonical(body).encode()):08x}"


def _record(progress: Progress, saved_at: float | None, log: list[str], model: bool) -> dict:
    p = progress
    record: dict[str, Any] = {"v": VERSION}
    if model and p.model is not None:
        record["model"] = p.model
    record["step"] = p.step
    record["done"] = {str(n): m for n, m in sorted(p.done.items()) if m}
    record["answers"] = {str(n): list(a) for n, a in sorted(p.answers.items()) if a}
    record["guesses"] = {str(n): g for n, g in sorted(p.guesses.items())}
    record["best"] = {str(n): b for n, b in sorted(p.best.items())}
    if saved_at is not None:
        record["saved"] = int(saved_at)
    record["log"] = list(log)
    record["sum"] = _checksum(record)
    return record


def _text(record: dict) -> str:
    # ASCII only (× becomes \u00d7): some LMSs mangle other characters in suspend_data.
    return json.dumps(record, separators=(",", ":"))


def dumps(progress: Progress, *, limit: int | None = None, saved_at: float | None = None) -> str:
    """The record for ``progress`` as text, at most ``limit`` characters if given.

    To fit, the oldest log lines go first, then (only for a model of thousands of
    characters) the model; step, tasks and answers always stay. ``saved_at``:
    seconds since 1970, so a page can tell which of two records is newer.
    """
    log = list(progress.log)
    text = _text(_record(progress, saved_at, log, model=True))
    if limit is None or len(text) <= limit:
        return text
    # Fewest lines dropped that fit (binary search: a record is re-serialised per try).
    low, high = 0, len(log)
    while low < high:
        mid = (low + high) // 2
        if len(_text(_record(progress, saved_at, log[mid:], model=True))) <= limit:
            high = mid
        else:
            low = mid + 1
    text = _text(_record(progress, saved_at, log[low:], model=True))
    if len(text) <= limit:
        return text
    text = _text(_record(progress, saved_at, [], model=False))
    if len(text) > limit:
        raise ValueError(
            f"The lesson progress needs {len(text)} characters without log and model; the "
            f"limit is {limit}."
        )
    return text


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Loaded:
    """What :func:`loads` could read: the progress to continue from, messages for the
    learner (empty when all went well), and when the record was saved (or None)."""

    progress: Progress
    messages: tuple[str, ...] = ()
    saved_at: float | None = None


def _model_ok(value: Any) -> bool:
    """A share-link query whose layers the playground can read."""
    if not isinstance(value, str) or not value.startswith("?") or len(value) > MAX_MODEL:
        return False
    layers = [v for k, v in parse_qsl(value[1:], keep_blank_values=True) if k == "layers"]
    if len(layers) != 1:
        return False
    try:
        parse_layers(layers[0])
    except SpecError:
        return False
    return True


_MODEL_FIELD = re.compile(r'"model"\s*:\s*"(\?[^"\\]*)"')


def _salvage(found: Any) -> tuple[Progress, str]:
    """A fresh start that keeps ``found`` as the model if it is one."""
    if _model_ok(found):
        return Progress(model=found), "Your model was kept."
    return Progress(), "Your model could not be recovered, so the lesson's first model is loaded."


def _fresh(reason: str, found: Any) -> Loaded:
    progress, model_note = _salvage(found)
    return Loaded(progress, (f"{reason} The lesson starts again at step 1. {model_note}",))


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_STEP_KEYS = {str(n) for n in range(1, TOTAL + 1)}


def _steps_map(value: Any, check) -> dict[int, Any] | None:
    """``{"3": x}`` → ``{3: x}`` if every key is a step number and ``check(step, x)``."""
    if not isinstance(value, dict):
        return None
    out = {}
    for key, item in value.items():
        if key not in _STEP_KEYS:
            return None
        if not check(int(key), item):
            return None
        out[int(key)] = item
    return out


def _answers_ok(n: int, tried: Any) -> bool:
    count = len(STEPS[n - 1].question.answers)
    return (
        isinstance(tried, list)
        and all(_is_int(t, 0, count - 1) for t in tried)
        and len(set(tried)) == len(tried)
    )


_FIELDS = {
    "step": lambda v: v if _is_int(v, 1, TOTAL) else None,
    "done": lambda v: _steps_map(
        v, lambda n, m: _is_int(m, 0, (1 << len(STEPS[n - 1].milestones)) - 1)
    ),
    "answers": lambda v: _steps_map(v, _answers_ok),
    "guesses": lambda v: _steps_map(
        v, lambda n, g: STEPS[n - 1].predict is not None and _is_int(g, -MAX_GUESS, MAX_GUESS)
    ),
    "best": lambda v: _steps_map(
        v,
        lambda n, b: (
            STEPS[n - 1].target is not None
            and isinstance(b, (int, float))
            and not isinstance(b, bool)
            and math.isfinite(b)
            and b >= 0
        ),
    ),
    "log": lambda v: v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None,
}
_FIELD_NAMES = {
    "step": "the current step",
    "done": "the finished tasks",
    "answers": "the check answers",
    "guesses": "the guessed numbers",
    "best": "the best losses",
    "log": "the log",
}


def loads(text: str | None) -> Loaded:
    """Read a record written by :func:`dumps`; never raises on bad input.

    ``None`` or ``""`` (a first visit) gives a fresh start without a message.
    A record that is not JSON, too large, of another version or changed by hand
    is set aside with a message, keeping the model if it can be read; a record
    with a few bad fields keeps the good ones and says which parts start afresh.
    """
    if text is None or text == "":
        return Loaded(Progress())
    if not isinstance(text, str):
        return _fresh("Your saved lesson progress is not text.", None)
    if len(text) > MAX_RECORD:
        match = _MODEL_FIELD.search(text[: MAX_MODEL + 100])
        return _fresh(
            f"Your saved lesson progress is far too large ({len(text):,} characters) to be "
            "one of ours.",
            match and match.group(1),
        )
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        match = _MODEL_FIELD.search(text)
        return _fresh(
            "Your saved lesson progress is damaged and could not be read.", match and match.group(1)
        )
    if not isinstance(record, dict) or "v" not in record:
        return _fresh("The saved data is not lesson progress.", None)
    found = record.get("model")
    version = record["v"]
    if version != VERSION:
        age = "an older" if _is_int(version, 0, VERSION - 1) else "another"
        return _fresh(
            f"Your saved lesson progress comes from {age} version of the lesson (format "
            f"{str(version)[:20]}; this page reads format {VERSION}).",
            found,
        )
    if record.get("sum") != _checksum(record):
        return _fresh("Your saved lesson progress was changed outside this page.", found)

    progress = Progress(model=None)
    bad = []
    if "model" in record:
        if _model_ok(found):
            progress.model = found
        else:
            progress.model = START_MODEL
            bad.append("the model")
    for name, read in _FIELDS.items():
        value = read(record.get(name, {} if name not in ("step", "log") else None))
        if value is None and name in record:
            bad.append(_FIELD_NAMES[name])
        elif value is not None:
            setattr(progress, name, value)
    progress.log = [clip(line) for line in progress.log[-MAX_LOG:]]
    for n, tried in progress.answers.items():
        right = STEPS[n - 1].question.right_index
        if right in tried:  # nothing is recorded after the right answer
            del tried[tried.index(right) + 1 :]
    saved = record.get("saved")
    saved_at = float(saved) if _is_int(saved, 0, 10**11) else None
    messages = []
    if bad:
        messages.append(
            "Part of your saved lesson progress was damaged (" + ", ".join(bad) + "); those "
            "parts start afresh, the rest is as you left it."
        )
    if "model" not in record:
        messages.append(
            "Your saved progress had no room for your model, so the lesson's first model is loaded."
        )
    return Loaded(progress, tuple(messages), saved_at)
