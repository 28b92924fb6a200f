"""The "Intro to CNNs" lesson path: content, task predicates, state machine, saving.

Pure Python (no Panel), so it runs in Pyodide and in unit tests alike. The page
drives it like this (docs/LESSON.md has the details)::

    loaded = loads(local_storage.get(storage_key(location.pathname)))
    lesson = Lesson(loaded.progress)               # show loaded.messages
    start = decide_start(location.search, lesson.progress)
    start.apply_to(lesson)                         # then load start.model
    lesson.observe(Snapshot.from_state(state))     # after every edit, too
    lesson.training_finished(Run(...))             # after every training run
    lesson.answer(i); lesson.pick_pixel(grid, r, c); lesson.guess(n); lesson.pick_map(i, k)
    save(dumps(lesson.progress, saved_at=now))     # whenever lesson.revision changes
"""

from playground.lesson.content import (
    LESSON_DATASET,
    START_KINDS,
    START_MODEL,
    STEPS,
    TOTAL,
    VIEWS,
)
from playground.lesson.glossary import FAQ, GLOSSARY
from playground.lesson.inputs import Row, RowLike, Run, Snapshot
from playground.lesson.links import Start, decide_start
from playground.lesson.machine import Card, Feedback, Lesson, Progress
from playground.lesson.storage import SUSPEND_DATA_LIMIT, Loaded, dumps, loads, storage_key

__all__ = [
    "FAQ",
    "GLOSSARY",
    "LESSON_DATASET",
    "START_KINDS",
    "START_MODEL",
    "STEPS",
    "SUSPEND_DATA_LIMIT",
    "TOTAL",
    "VIEWS",
    "Card",
    "Feedback",
    "Lesson",
    "Loaded",
    "Progress",
    "Row",
    "RowLike",
    "Run",
    "Snapshot",
    "Start",
    "decide_start",
    "dumps",
    "loads",
    "storage_key",
]
