"""What the lesson tells a learning management system: SCORM 1.2 run-time data.

The page writes these values through the LMS's API (``site-src/scorm.js``, docs/LMS.md);
this module only decides them, so it runs in unit tests as in the browser:

* :func:`report` — the data elements for the lesson's state now;
* :func:`resume_record` — which saved record to continue from when both this browser and
  the LMS (``cmi.suspend_data``) hold one.
"""

from __future__ import annotations

from playground.lesson.machine import Lesson
from playground.lesson.storage import SUSPEND_DATA_LIMIT, dumps, loads

__all__ = ["report", "resume_record"]


def report(lesson: Lesson, *, saved_at: float | None = None) -> dict[str, str]:
    """SCORM 1.2 data elements for ``lesson``: status, step, progress record and score.

    ``cmi.core.lesson_status`` is the lesson's own (``incomplete`` while learning,
    ``browsed`` in free play, ``completed`` once every step is done; an LMS with a mastery
    score turns a completion into ``passed`` or ``failed`` by the score).
    ``cmi.core.lesson_location`` is the step on screen. ``cmi.suspend_data`` is the saved
    progress in at most 4,096 characters, so the learner resumes on any computer. The score
    (``cmi.core.score.raw``, 0–100, the share of check questions right on the first try) is
    reported from the first answer on: before it, a 0 would read as a failed test.
    """
    values = {
        "cmi.core.lesson_status": lesson.lesson_status,
        "cmi.core.lesson_location": str(lesson.step),
        "cmi.suspend_data": dumps(lesson.progress, limit=SUSPEND_DATA_LIMIT, saved_at=saved_at),
    }
    if any(lesson.progress.answers.values()):
        values["cmi.core.score.min"] = "0"
        values["cmi.core.score.max"] = "100"
        values["cmi.core.score.raw"] = str(lesson.score)
    return values


def resume_record(local: str | None, suspend_data: str | None) -> str | None:
    """The record to continue from: this browser's (``local``) or the LMS's.

    The one saved later wins (the learner went on elsewhere, or here); a record without a
    readable save time (damaged, or from no save at all) loses to one that has it, and on a
    tie this browser's wins (it also keeps the whole log and any model too long for the LMS).
    """
    if not suspend_data:
        return local
    if not local:
        return suspend_data
    here, there = loads(local).saved_at, loads(suspend_data).saved_at
    if there is not None and (here is None or there > here):
        return suspend_data
    return local
