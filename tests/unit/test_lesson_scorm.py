"""playground.lesson.scorm: the SCORM 1.2 values the lesson reports, and which saved record
(this browser's or the LMS's suspend data) a returning learner continues from."""

from __future__ import annotations

import pytest

from playground.lesson import Lesson, Progress, dumps, loads
from playground.lesson.content import STEPS, TOTAL
from playground.lesson.scorm import report, resume_record
from playground.lesson.storage import SUSPEND_DATA_LIMIT


def right(n: int) -> int:
    return STEPS[n - 1].question.right_index


def wrong(n: int) -> int:
    return (right(n) + 1) % len(STEPS[n - 1].question.answers)


def finished() -> Progress:
    """Every step done; steps 1-6 answered right at once, 7 and 8 on the second try."""
    return Progress(
        step=TOTAL,
        done={s.number: (1 << len(s.milestones)) - 1 for s in STEPS},
        answers={n: [right(n)] for n in range(1, 7)} | {n: [wrong(n), right(n)] for n in (7, 8)},
    )


def test_a_new_learner_is_incomplete_at_step_1_without_a_score():
    values = report(Lesson())
    assert values["cmi.core.lesson_status"] == "incomplete"
    assert values["cmi.core.lesson_location"] == "1"
    assert "cmi.core.score.raw" not in values  # no question answered: no 0 in the gradebook
    assert loads(values["cmi.suspend_data"]).progress == Lesson().progress


def test_free_play_reports_browsed():
    assert report(Lesson(mode="free"))["cmi.core.lesson_status"] == "browsed"


def test_a_finished_lesson_is_completed_with_the_first_try_score():
    lesson = Lesson(finished())
    values = report(lesson, saved_at=1_767_225_600)
    assert lesson.completed
    assert values["cmi.core.lesson_status"] == "completed"
    assert values["cmi.core.lesson_location"] == str(TOTAL)
    # 6 of 8 right on the first try
    assert values["cmi.core.score.raw"] == str(round(100 * 6 / 8)) == "75"
    assert (values["cmi.core.score.min"], values["cmi.core.score.max"]) == ("0", "100")
    loaded = loads(values["cmi.suspend_data"])
    assert loaded.progress == lesson.progress
    assert loaded.saved_at == 1_767_225_600


def test_the_score_appears_with_the_first_answer_even_a_wrong_one():
    lesson = Lesson(Progress(answers={1: [wrong(1)]}))
    assert report(lesson)["cmi.core.score.raw"] == "0"


def test_the_suspend_data_fits_the_lms_even_with_a_full_log():
    progress = finished()
    progress.log = [f"line {i}: " + "x" * 180 for i in range(200)]
    text = report(Lesson(progress))["cmi.suspend_data"]
    assert len(text) <= SUSPEND_DATA_LIMIT < len(dumps(progress))
    assert loads(text).progress.answers == progress.answers


def saved(step: int, at: float | None) -> str:
    return dumps(Progress(step=1, done={}, log=[f"at step {step}"]), saved_at=at)


@pytest.mark.parametrize(
    ("local", "lms", "expected"),
    [
        (saved(1, 100), saved(2, 200), "lms"),  # went on on another computer
        (saved(1, 300), saved(2, 200), "local"),  # went on here (say, outside the LMS)
        (saved(1, 200), saved(2, 200), "local"),  # the same save: this browser's has it all
        (saved(1, 100), "{not json", "local"),  # damaged in the LMS
        ("{not json", saved(2, 100), "lms"),  # damaged here
        (saved(1, None), saved(2, 100), "lms"),  # no save time here
        (None, saved(2, 100), "lms"),  # a new computer
        ("", saved(2, 100), "lms"),
        (saved(1, 100), "", "local"),  # an LMS that kept nothing
        (saved(1, 100), None, "local"),  # no LMS
        (None, None, None),
    ],
)
def test_the_later_save_is_resumed(local, lms, expected):
    chosen = resume_record(local, lms)
    assert chosen == {"local": local, "lms": lms, None: None}[expected]


def test_the_store_resumes_the_later_record_and_reports_only_inside_an_lms():
    import json
    from urllib.parse import quote, unquote

    from playground.components.lesson_store import LessonStore

    here, there = saved(1, 100), saved(2, 200)
    store = LessonStore(stored="1:" + quote(here, safe=""))  # no LMS: the page sent one record
    assert store.record == here and not store.in_lms
    store.save(Lesson())
    assert store.saving and store.reporting == ""  # nothing for an LMS that is not there

    store = LessonStore(stored=f"2:{quote(here, safe='')}:{quote(there, safe='')}")
    assert store.in_lms and store.record == there  # saved later in the LMS
    store = LessonStore(stored=f"2:{quote(here, safe='')}:")  # an LMS that kept nothing yet
    assert store.in_lms and store.record == here
    lesson = Lesson(finished())
    store.save(lesson)
    reported = json.loads(unquote(store.reporting))
    assert reported["cmi.core.lesson_status"] == "completed"
    assert loads(reported["cmi.suspend_data"]).saved_at == loads(unquote(store.saving)).saved_at
