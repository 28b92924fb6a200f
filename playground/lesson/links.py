"""Which mode and step the page opens with, from its link and the saved progress.

Link parameters (next to the share-link ones, ``layers=`` etc.):

* ``mode=learn`` / ``mode=free`` — the lesson path or the free sandbox;
* ``step=N`` — open step N of the path (a teacher's link). A step the learner
  has not reached yet is shown locked, with how to reach it;
* ``unlock=all`` — every step and every block open, for this visit only (the
  saved progress does not change).

Without ``mode``, a model link (one with ``layers=``) opens free play, as a
shared model always has; any other address opens the lesson at the learner's
saved step (step 1 on a first visit). An explicit ``mode`` wins: the lesson
keeps the learner's own model, so ``mode=learn`` ignores a ``layers=`` model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from playground.lesson.content import TOTAL
from playground.lesson.machine import MODES, Lesson, Progress

__all__ = ["Start", "decide_start"]


@dataclass(frozen=True)
class Start:
    """How to open the page.

    ``step`` is the open step to show; ``locked_step`` a step the link asked for
    that is not open yet (show its card locked, with ``Lesson.how_to_reach``);
    ``model`` says which model to load: ``"link"`` (the link's own ``layers=``)
    or ``"lesson"`` (the learner's saved lesson model); ``messages`` explain
    link values that were not used.
    """

    mode: str
    step: int
    locked_step: int | None = None
    unlock_all: bool = False
    model: str = "lesson"
    messages: tuple[str, ...] = ()

    def apply_to(self, lesson: Lesson) -> None:
        """Open ``lesson`` as decided (``unlock_all`` is not saved with the progress)."""
        lesson.mode = self.mode
        lesson.unlock_all = self.unlock_all
        if lesson.is_open(self.step):
            lesson.progress.step = self.step
        lesson.revision += 1


def _show(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decide_start(query: str | Mapping[str, str], progress: Progress) -> Start:
    """The pure decision from the page's query string (or its parsed pairs)."""
    if isinstance(query, str):
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    else:
        pairs = [(str(k), str(v)) for k, v in query.items()]
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)  # the first of repeated keys counts
    messages = []

    mode = params.get("mode", "").strip().lower() or None
    if mode is not None and mode not in MODES:
        messages.append(
            f"The link's mode '{_show(params['mode'])}' is unknown: use learn or free. "
            "The lesson was opened."
        )
        mode = None
    has_model = "layers" in params
    if mode == "free" or (mode is None and has_model):
        return Start(
            "free", progress.step, model="link" if has_model else "lesson", messages=tuple(messages)
        )

    unlock = params.get("unlock")
    unlock_all = unlock is not None and unlock.strip().lower() == "all"
    if unlock is not None and not unlock_all:
        messages.append(f"The link's unlock '{_show(unlock)}' is unknown: only unlock=all exists.")
    if has_model:
        messages.append(
            "This link opens the lesson, which keeps your own model; its layers= model opens "
            "with mode=free."
        )

    step, locked = progress.step, None
    if "step" in params:
        raw = params["step"].strip()
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= TOTAL:
            wanted = int(raw)
            if unlock_all or wanted <= progress.reached:
                step = wanted
            else:
                locked = wanted
        else:
            messages.append(
                f"The link's step must be a whole number from 1 to {TOTAL}. Received: "
                f"'{_show(params['step'])}'. Your saved step was opened."
            )
    if not unlock_all and step > progress.reached:
        step = progress.reached
    return Start("learn", step, locked, unlock_all, "lesson", tuple(messages))
