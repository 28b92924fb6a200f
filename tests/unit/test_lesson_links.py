"""How the page opens: plain address, model links, lesson step links, unlock=all, and
malformed values — the pure decision, then applied to a Lesson."""

from __future__ import annotations

import pytest

from playground.lesson import Lesson, Progress, Start, decide_start
from playground.lesson.content import STEPS

# A learner who has finished steps 1–3 and is on step 4.
DONE_3 = Progress(
    step=4,
    done={1: 1, 2: 3, 3: 3},
    answers={n: [STEPS[n - 1].question.right_index] for n in (1, 2, 3)},
)
MODEL_LINK = "?dataset=digits&layers=conv2d:8:3,maxpool:2,flatten,dense:10:softmax"


def test_the_plain_address_opens_the_lesson_at_the_saved_step():
    assert decide_start("", Progress()) == Start("learn", 1)
    assert decide_start("", DONE_3) == Start("learn", 4)
    assert decide_start("?", DONE_3) == Start("learn", 4)


def test_a_model_link_opens_free_play_with_the_link_s_model():
    assert decide_start(MODEL_LINK, DONE_3) == Start("free", 4, model="link")


def test_mode_free_opens_free_play_with_the_lesson_model_unless_the_link_has_one():
    assert decide_start("?mode=free", DONE_3) == Start("free", 4, model="lesson")
    assert decide_start(MODEL_LINK + "&mode=free", DONE_3).model == "link"


def test_mode_learn_wins_over_a_model_link_and_says_what_happened_to_the_model():
    start = decide_start(MODEL_LINK + "&mode=learn", DONE_3)
    assert (start.mode, start.step, start.model) == ("learn", 4, "lesson")
    assert start.messages == (
        (
            "This link opens the lesson, which keeps your own model; its layers= model opens with "
            "mode=free."
        ),
    )


def test_a_step_link_opens_a_reached_step():
    assert decide_start("?mode=learn&step=2", DONE_3) == Start("learn", 2)
    assert decide_start("?step=4", DONE_3) == Start("learn", 4)


def test_a_step_link_to_a_step_not_reached_shows_it_locked():
    start = decide_start("?mode=learn&step=6", DONE_3)
    assert start == Start("learn", 4, locked_step=6)
    lesson = Lesson(DONE_3)
    start.apply_to(lesson)
    assert lesson.step == 4
    card = lesson.card(start.locked_step)
    assert not card.open and card.how_to_reach.startswith("Step 6 opens once every step")


def test_unlock_all_opens_any_step_and_every_block_for_this_visit_only():
    start = decide_start("?mode=learn&step=7&unlock=all", Progress())
    assert start == Start("learn", 7, unlock_all=True)
    lesson = Lesson(Progress())
    start.apply_to(lesson)
    assert lesson.step == 7 and lesson.card().open
    assert len(lesson.unlocked_kinds) == 6 and lesson.reached == 1
    assert decide_start("?unlock=ALL", Progress()).unlock_all


@pytest.mark.parametrize("value", ["x", "0", "9", "-1", "2.5", "²", ""])
def test_a_bad_step_value_is_named_and_the_saved_step_opens(value):
    start = decide_start(f"?mode=learn&step={value}", DONE_3)
    assert (start.mode, start.step, start.locked_step) == ("learn", 4, None)
    assert start.messages == (
        (
            f"The link's step must be a whole number from 1 to 8. Received: '{value}'. Your saved "
            "step was opened."
        ),
    )


def test_unknown_mode_and_unlock_values_are_named_and_the_lesson_opens():
    start = decide_start("?mode=quiz&unlock=some", Progress())
    assert (start.mode, start.step, start.unlock_all) == ("learn", 1, False)
    assert start.messages == (
        "The link's mode 'quiz' is unknown: use learn or free. The lesson was opened.",
        "The link's unlock 'some' is unknown: only unlock=all exists.",
    )


def test_other_parameters_are_ignored_and_parsed_pairs_work_too():
    assert decide_start("?lti_user=42&dataset=mnist", DONE_3) == Start("learn", 4)
    assert decide_start({"mode": "learn", "step": "3"}, DONE_3) == Start("learn", 3)
    long = decide_start("?mode=" + "m" * 500, Progress())
    assert len(long.messages[0]) < 120  # the received value is shortened


def test_a_saved_step_beyond_the_reached_one_opens_the_reached_one():
    assert decide_start("", Progress(step=6)) == Start("learn", 1)
