"""Saved lesson progress: round trip, per-copy keys, the SCORM suspend-data bound, and
records that are damaged, cut off, too large, of another version or changed by hand —
each ignored with a message, never a crash, keeping the learner's model when it can."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.lesson import Lesson, Progress, dumps, loads, storage_key
from playground.lesson.content import START_MODEL, STEPS, TOTAL
from playground.lesson.machine import MAX_LOG
from playground.lesson.narration import MAX_LINE
from playground.lesson.storage import MAX_RECORD, SUSPEND_DATA_LIMIT, VERSION, _checksum
from playground.spec import KINDS, Block, format_layers

MODEL = (
    "?dataset=digits&layers=conv2d:8:3:padding=same,maxpool:2,flatten,dense:32,dense:10:softmax"
    "&epochs=5&batch=32&lr=0.01&optimizer=adam&seed=0"
)


def rich() -> Progress:
    return Progress(
        step=6,
        done={1: 1, 2: 3, 3: 3, 4: 1, 5: 3, 6: 1},
        answers={n: [STEPS[n - 1].question.right_index] for n in range(1, 6)}
        | {2: [(STEPS[1].question.right_index + 1) % 4, STEPS[1].question.right_index]},
        guesses={3: 80},
        best={2: 0.2026, 5: 0.1946},
        model=MODEL,
        log=["Unlocked Conv2D: validation loss 0.20 < 0.50", "Conv2D(8, 3×3) has 80 parameters"],
    )


def record(progress: Progress | None = None, **changes) -> dict:
    data = json.loads(dumps(progress or rich()))
    data.update(changes)
    data["sum"] = _checksum(data)  # as if our own writer had made it
    return data


# --------------------------------------------------------------------------- round trip


def test_round_trip_keeps_everything_and_reports_no_problem():
    progress = rich()
    text = dumps(progress, saved_at=1_767_225_600.7)
    loaded = loads(text)
    assert loaded.messages == ()
    assert loaded.progress == progress
    assert loaded.saved_at == 1_767_225_600
    assert text.isascii()
    assert json.loads(text)["v"] == VERSION
    assert list(json.loads(text))[:2] == ["v", "model"]  # the model first: see salvage


def test_a_first_visit_starts_fresh_without_a_message():
    for nothing in (None, ""):
        loaded = loads(nothing)
        assert loaded.progress == Progress() and loaded.messages == ()


def test_a_reloaded_lesson_is_where_the_learner_left_it():
    lesson = Lesson(rich())
    again = Lesson(loads(dumps(lesson.progress)).progress)
    assert (again.step, again.reached, again.score, again.model) == (6, 6, lesson.score, MODEL)
    assert (
        again.unlocked_kinds == lesson.unlocked_kinds == ("conv2d", "maxpool", "flatten", "dense")
    )


# --------------------------------------------------------------------------- bad records


def test_a_cut_off_record_keeps_the_model_with_a_message():
    text = dumps(rich())
    loaded = loads(text[: len(text) // 2])
    assert loaded.progress.model == MODEL
    assert loaded.progress.step == 1 and loaded.progress.done == {}
    (message,) = loaded.messages
    assert message == (
        "Your saved lesson progress is damaged and could not be read. The lesson starts again "
        "at step 1. Your model was kept."
    )


@pytest.mark.parametrize("junk", ["{", "not json at all", "\x00\xff", "[1, 2", '"model"'])
def test_garbage_starts_fresh_with_the_first_model_and_says_so(junk):
    loaded = loads(junk)
    assert loaded.progress == Progress()
    assert loaded.messages[0].endswith("so the lesson's first model is loaded.")


@pytest.mark.parametrize("other", ["[1, 2]", '"text"', "42", '{"step": 3}', "null"])
def test_json_that_is_not_lesson_progress_is_ignored(other):
    loaded = loads(other)
    assert loaded.progress == Progress()
    assert loaded.messages[0].startswith("The saved data is not lesson progress.")


@pytest.mark.parametrize(
    ("version", "says"), [(0, "an older version"), (2, "another version"), ("1", "another version")]
)
def test_a_record_of_another_version_is_set_aside_keeping_the_model(version, says):
    loaded = loads(json.dumps(record(v=version)))
    assert loaded.progress == Progress(model=MODEL)
    assert f"comes from {says} of the lesson" in loaded.messages[0]
    assert loaded.messages[0].endswith("Your model was kept.")


def test_a_record_changed_by_hand_is_set_aside_keeping_the_model():
    data = json.loads(dumps(rich()))
    data["done"] = {str(n): 1 for n in range(1, TOTAL + 1)}  # "I finished everything"
    loaded = loads(json.dumps(data))
    assert loaded.progress == Progress(model=MODEL)
    assert loaded.messages == (
        (
            "Your saved lesson progress was changed outside this page. The lesson starts again "
            "at step 1. Your model was kept."
        ),
    )


def test_a_changed_record_with_an_unreadable_model_loads_the_first_model():
    data = json.loads(dumps(rich()))
    data["model"] = "?layers=conv2d:many"
    loaded = loads(json.dumps(data))
    assert loaded.progress.model == START_MODEL
    assert "could not be recovered" in loaded.messages[0]


def test_bad_fields_start_afresh_and_the_rest_is_kept():
    data = record(step=99, answers={"1": [0, 0]}, best={"1": 0.3})
    loaded = loads(json.dumps(data))
    progress = loaded.progress
    assert progress.model == MODEL and progress.done == rich().done
    assert progress.guesses == {3: 80} and progress.log == rich().log
    assert progress.step == 1 and progress.answers == {} and progress.best == {}
    assert loaded.messages == (
        (
            "Part of your saved lesson progress was damaged (the current step, the check "
            "answers, the best losses); those parts start afresh, the rest is as you left it."
        ),
    )


@pytest.mark.parametrize(
    "field",
    [
        {"step": True},
        {"step": 0},
        {"done": {"1": 2}},  # step 1 has one milestone
        {"done": {"9": 1}},
        {"done": [1]},
        {"answers": {"2": [4]}},
        {"answers": {"2": "0"}},
        {"guesses": {"1": 5}},  # step 1 has no guess
        {"guesses": {"3": 1.5}},
        {"best": {"2": float("inf")}},
        {"best": {"2": -1}},
        {"log": "text"},
        {"log": [1, 2]},
        {"model": "layers=dense"},
    ],
)
def test_each_kind_of_bad_field_is_named_and_never_crashes(field):
    loaded = loads(json.dumps(record(**field)))
    assert len(loaded.messages) == 1 and "was damaged (" in loaded.messages[0]
    assert isinstance(loaded.progress, Progress)


def test_answers_after_the_right_one_are_dropped():
    right = STEPS[1].question.right_index
    loaded = loads(json.dumps(record(answers={"2": [right, (right + 1) % 4]})))
    assert loaded.progress.answers == {2: [right]} and loaded.messages == ()


def test_a_step_beyond_the_reached_one_opens_the_reached_one():
    loaded = loads(json.dumps(record(Progress(), step=5)))
    assert loaded.messages == ()
    assert Lesson(loaded.progress).step == 1


def test_a_record_far_too_large_is_refused_keeping_the_model():
    data = json.loads(dumps(rich()))
    data["log"] = ["x" * 1000] * (MAX_RECORD // 1000 + 1)
    loaded = loads(json.dumps(data))
    assert loaded.progress == Progress(model=MODEL)
    assert "far too large" in loaded.messages[0]


def test_long_logs_are_cut_to_size_when_read():
    data = record(log=["y" * (3 * MAX_LINE)] * (MAX_LOG + 50))
    progress = loads(json.dumps(data)).progress
    assert len(progress.log) == MAX_LOG
    assert all(len(line) == MAX_LINE and line.endswith("…") for line in progress.log)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_without_raising(text):
    loaded = loads(text)
    assert isinstance(loaded.progress, Progress)
    assert Lesson(loaded.progress).step >= 1


SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
KEY = st.sampled_from(["1", "3", "8", "9", "0", "x", "²"]) | st.text(max_size=3)
JSON = (
    SCALAR
    | st.lists(SCALAR, max_size=5)
    | st.dictionaries(KEY, SCALAR | st.lists(SCALAR, max_size=4), max_size=4)
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["step", "done", "answers", "guesses", "best", "log", "model", "saved"]),
        JSON,
    )
)
def test_any_fields_with_a_valid_checksum_load_without_raising(fields):
    data = {"v": VERSION, **fields}
    data["sum"] = _checksum(data)
    loaded = loads(json.dumps(data))
    lesson = Lesson(loaded.progress)
    assert 1 <= lesson.step <= TOTAL and 0 <= lesson.score <= 100
    dumps(lesson.progress, limit=SUSPEND_DATA_LIMIT)


# --------------------------------------------------------------------------- SCORM suspend data


def maxed(model: str) -> Progress:
    """Everything at its largest: all steps done after every wrong answer, the largest
    guesses, a full log of the longest lines."""
    answers = {}
    for step in STEPS:
        right = step.question.right_index
        answers[step.number] = [i for i in range(len(step.question.answers)) if i != right] + [
            right
        ]
    return Progress(
        step=TOTAL,
        done={s.number: (1 << len(s.milestones)) - 1 for s in STEPS},
        answers=answers,
        guesses={s.number: -(10**12) for s in STEPS if s.predict},
        best={s.number: 0.123456789 for s in STEPS if s.target},
        model=model,
        log=[f"{i:04d} " + "×" * (MAX_LINE - 5) for i in range(MAX_LOG)],
    )


def test_suspend_data_fits_4096_characters_dropping_the_oldest_log_lines():
    progress = maxed(MODEL)
    full = dumps(progress, saved_at=99_999_999_999)
    assert len(full) > SUSPEND_DATA_LIMIT
    text = dumps(progress, limit=SUSPEND_DATA_LIMIT, saved_at=99_999_999_999)
    assert len(text) <= SUSPEND_DATA_LIMIT
    loaded = loads(text)
    assert loaded.messages == ()
    kept = loaded.progress.log
    assert kept and kept == progress.log[-len(kept) :], "the newest lines, oldest dropped"
    loaded.progress.log = progress.log
    assert loaded.progress == progress
    # one more line would not have fitted
    one_more = Progress(**{**vars(progress), "log": progress.log[-len(kept) - 1 :]})
    assert len(dumps(one_more, saved_at=99_999_999_999)) > SUSPEND_DATA_LIMIT


def test_the_longest_model_the_builder_can_make_fits_with_everything_else():
    longest = Block.make("conv2d", filters=256, kernel_size=11, strides=4, padding="same")
    longest = longest.replace(activation="sigmoid")
    layers = format_layers([longest] * 64)  # the builder's limit is 64 layers
    model = (
        f"?dataset=fashion&layers={layers}&epochs=100&batch=1024&lr=1e-06&optimizer=sgd"
        "&seed=2147483647&val=0.05"
    )
    text = dumps(maxed(model), limit=SUSPEND_DATA_LIMIT, saved_at=99_999_999_999)
    assert len(text) <= SUSPEND_DATA_LIMIT
    assert loads(text).progress.model == model


def test_a_model_too_long_for_suspend_data_is_left_out_with_a_message_on_reading():
    # Longer than any model the builder writes: a hand-made link with an extra parameter.
    huge = MODEL + "&note=" + "x" * SUSPEND_DATA_LIMIT
    text = dumps(maxed(huge), limit=SUSPEND_DATA_LIMIT)
    assert len(text) <= SUSPEND_DATA_LIMIT
    loaded = loads(text)
    assert loaded.progress.model is None and loaded.progress.log == []
    assert loaded.progress.done == maxed(huge).done and loaded.progress.answers
    assert loaded.messages == (
        "Your saved progress had no room for your model, so the lesson's first model is loaded.",
    )
    assert Lesson(loaded.progress).model == START_MODEL
    assert loads(dumps(maxed(huge))).progress.model == huge  # localStorage keeps it


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/", "cnn-playground:lesson:/"),
        ("", "cnn-playground:lesson:/"),
        ("/index.html", "cnn-playground:lesson:/"),
        ("/cnn/", "cnn-playground:lesson:/cnn/"),
        ("/cnn", "cnn-playground:lesson:/cnn/"),
        ("/cnn/index.html", "cnn-playground:lesson:/cnn/"),
        ("//cnn//index.html", "cnn-playground:lesson:/cnn/"),
        ("/cnn/?step=3#top", "cnn-playground:lesson:/cnn/"),
        ("/course/v1.2/", "cnn-playground:lesson:/course/v1.2/"),
        ("/course-a/cnn/", "cnn-playground:lesson:/course-a/cnn/"),
    ],
)
def test_each_copy_of_the_site_has_its_own_key(path, key):
    assert storage_key(path) == key


def test_copies_on_sub_paths_of_one_host_do_not_share_progress():
    keys = {storage_key(p) for p in ("/a/", "/b/", "/a/b/", "/A/")}
    assert len(keys) == 4
    assert all(KINDS and k.startswith("cnn-playground:lesson:/") for k in keys)
