"""The lesson path on the real playground: live numbers, every task predicate (met / not
met), unlock rules with their targets, answers and score, the log's texts, modes, start
over — and one walk through all eight steps with real training on digits."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from test_lesson_content import assert_own_plain_words

from playground.lesson import Lesson, Progress, Row, Run, Snapshot, dumps, live, loads
from playground.lesson.content import START_MODEL, STEPS
from playground.lesson.inputs import Evidence, PixelPick
from playground.lesson.narration import loss_pair
from playground.lesson.tasks import PREDICATES
from playground.spec import KINDS, parse_layers
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn.datasets import available, load


def state_of(layers: str, dataset: str = "digits", **settings) -> PlaygroundState:
    return PlaygroundState(dataset=dataset, layers=parse_layers(layers), **settings)


def snap(layers: str, dataset: str = "digits") -> Snapshot:
    return Snapshot.from_state(state_of(layers, dataset))


def met(key: str, step: int = 1, **evidence) -> bool:
    milestone = next(m for m in STEPS[step - 1].milestones if m.key == key)
    return PREDICATES[key](milestone, Evidence(**evidence))


def run(best: float, kinds="conv2d,maxpool,flatten,dense", dataset="digits") -> Run:
    return Run(dataset, tuple(kinds.split(",")), (best + 0.3, best), 0.93, 1000, 3000.0)


def image() -> np.ndarray:
    (x, _), _, _ = load("digits")
    return x[0, :, :, 0]


RIGHT = {s.number: s.question.right_index for s in STEPS}
WRONG = {s.number: (s.question.right_index + 1) % len(s.question.answers) for s in STEPS}


def lesson_at(step: int, layers: str = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax") -> Lesson:
    lesson = Lesson(Progress(step=step), unlock_all=True)
    lesson.observe(snap(layers))
    return lesson


# --------------------------------------------------------------------------- live numbers


def test_the_issue_example_conv_has_80_parameters_with_its_arithmetic():
    s = snap("conv2d:8:3,flatten,dense:10:softmax")
    assert live.layer_sentence(s, 0) == (
        "Conv2D(8, 3×3) has 80 parameters: 8 filters × (3×3×1 + 1); output 6×6×8"
    )
    assert live.layer_sentence(s, 1) == "Flatten has no parameters: 6×6×8 becomes 288"
    assert live.layer_sentence(s, 2) == (
        "Dense(10, softmax) has 2,890 parameters: 10 units × (288 inputs + 1)"
    )


@pytest.mark.parametrize(
    ("layers", "dataset"),
    [
        ("conv2d:8:3,flatten,dense:10:softmax", "digits"),
        ("conv2d:8:3,flatten,dense:10:softmax", "mnist"),
        (
            (
                "conv2d:16:5:padding=same,maxpool:2,conv2d:32:3:strides=2,flatten,dense:64,"
                "dense:10:softmax"
            ),
            "digits",
        ),
        (
            "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax",
            "mnist",
        ),
        (
            (
                "conv2d:6:5:padding=same:activation=tanh,avgpool:2,flatten,dense:120:tanh,"
                "dense:10:softmax"
            ),
            "fashion",
        ),
    ],
)
def test_every_layer_sentence_quotes_the_model_s_own_count_and_a_formula_that_gives_it(
    layers, dataset
):
    s = snap(layers, dataset)
    assert s.valid, s.error
    for i, (block, row) in enumerate(zip(s.layers, s.rows)):
        sentence = live.layer_sentence(s, i)
        if row.params:
            assert f"has {row.params:,} parameters" in sentence
        else:
            assert "no parameters" in sentence
        if block.kind in ("conv2d", "dense"):
            assert ":" in sentence and "×" in sentence, sentence  # the arithmetic is shown


def test_layer_sentence_falls_back_to_the_count_when_the_formula_would_disagree():
    s = snap("conv2d:8:3,flatten,dense:10:softmax")
    odd = Snapshot(s.layers, "digits", (8, 8, 1), 10, (Row("Conv2D", (6, 6, 8), 81),) + s.rows[1:])
    assert live.layer_sentence(odd, 0) == "Conv2D(8, 3×3) has 81 parameters; output 6×6×8"


def test_shape_table_and_target_follow_keras_rules_for_each_dataset():
    assert live.shape_table((8, 8, 1)) == {
        ("valid", 1): "6×6",
        ("valid", 2): "3×3",
        ("same", 1): "8×8",
        ("same", 2): "4×4",
    }
    assert live.shape_table((28, 28, 1))[("same", 2)] == "14×14"
    assert live.target_shape((28, 28, 1)) == (14, 14)
    assert live.target_shape((8, 8, 1)) == (8, 8)


@pytest.mark.parametrize("dataset", available())
def test_the_shape_target_is_reachable_with_same_padding(dataset):
    h = state_of("flatten,dense:10:softmax", dataset).info.input_shape[0]
    stride = 1 if h < 16 else 2
    s = snap(f"conv2d:8:3:strides={stride}:padding=same,flatten,dense:10:softmax", dataset)
    assert met("target_shape", 4, snapshot=s)


def test_card_numbers_come_from_the_dataset():
    facts = live.card_facts((28, 28, 1), 10)
    assert facts["dense_1000"] == "784,000"
    assert facts["photo_weights"] == "120,000,000"
    assert facts["conv_example"] == "104"  # 4 × (5×5×1 + 1)
    assert facts["flatten_example"] == "400"


def test_brightest_pixel_and_edge_score():
    grid = [[0.0, 0.5], [1.0, 1.0]]
    assert live.brightest(grid) == (1.0, [(1, 0), (1, 1)])
    assert live.edge_score([[-1, 0, 1]] * 3) == 1.0  # a vertical edge detector
    assert live.edge_score(np.ones((3, 3, 1))) == 0.0  # a blur: brightness only
    assert live.edge_score(np.zeros((3, 3))) == 0.0


def test_pool_shift_uses_real_pooling_on_a_real_digit():
    demo = live.pool_shift(image())
    assert demo.total == 16 and len(demo.pooled) == 4
    assert 0 < demo.unchanged < demo.total  # most windows keep their maximum, not all
    x = np.asarray(demo.image)
    assert demo.pooled[0][0] == x[:2, :2].max()
    assert demo.shifted[0][1:] == demo.image[0][:-1]


# --------------------------------------------------------------------------- predicates


def test_step_1_brightest_pixel():
    assert met("brightest", pixel=PixelPick(2, 3, 1.0, 1.0))
    assert not met("brightest", pixel=PixelPick(2, 3, 0.4, 1.0))
    assert not met("brightest")


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ("flatten,dense:32,dense:10:softmax", True),
        ("flatten,dropout:0.2,dense:32,dense:10:softmax", True),
        ("flatten,dense:10:softmax", False),  # only the output layer
        ("conv2d:8:3,flatten,dense:32,dense:10:softmax", False),  # sees features, not pixels
        ("flatten,dense:32,dense:10", False),  # the model does not work
    ],
)
def test_step_2_dense_on_raw_pixels(layers, expected):
    assert met("dense_on_pixels", 2, snapshot=snap(layers)) is expected


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ("conv2d:8:3,flatten,dense:10:softmax", True),
        ("conv2d:8:3,flatten,dense:32,dense:10:softmax", True),
        ("flatten,dense:32,dense:10:softmax", False),
        ("conv2d:8:3,flatten,dense:10:relu", False),  # invalid output layer
    ],
)
def test_step_3_conv_replaces_the_dense(layers, expected):
    assert met("conv_replaces_dense", 3, snapshot=snap(layers)) is expected


def test_step_3_guess_of_the_conv_parameters():
    s = snap("conv2d:8:3,flatten,dense:10:softmax")
    assert met("conv_params", 3, snapshot=s, guess=80)
    assert not met("conv_params", 3, snapshot=s, guess=72)  # forgot the biases
    assert met(
        "conv_params", 3, snapshot=snap("conv2d:16:5,flatten,dense:10:softmax", "mnist"), guess=416
    )
    assert not met("conv_params", 3, snapshot=snap("flatten,dense:10:softmax"), guess=80)


@pytest.mark.parametrize(
    ("layers", "dataset", "expected"),
    [
        ("conv2d:8:3,flatten,dense:10:softmax", "digits", False),  # 6×6
        ("conv2d:8:3:padding=same,flatten,dense:10:softmax", "digits", True),  # 8×8
        ("conv2d:8:3:strides=2:padding=same,flatten,dense:10:softmax", "mnist", True),  # 14×14
        ("conv2d:8:2:strides=2,flatten,dense:10:softmax", "mnist", True),  # valid, k=2: 14×14
        ("conv2d:8:3:padding=same,flatten,dense:10:softmax", "mnist", False),  # 28×28
        ("flatten,dense:10:softmax", "digits", False),
    ],
)
def test_step_4_target_shape(layers, dataset, expected):
    assert met("target_shape", 4, snapshot=snap(layers, dataset)) is expected


def test_step_5_loss_needs_a_conv_on_digits_and_a_picked_edge_map():
    assert met("loss", 5, run=run(0.30, "conv2d,flatten,dense"))
    assert not met("loss", 5, run=run(0.45, "conv2d,flatten,dense"))  # target 0.40
    assert not met("loss", 5, run=run(0.20, "flatten,dense"))  # no Conv2D
    assert not met("loss", 5, run=run(0.20, "conv2d,flatten,dense", dataset="mnist"))
    assert not met("loss", 5, run=Run("digits", ("conv2d", "flatten", "dense"), ()))
    nan_then_good = Run("digits", ("conv2d", "flatten", "dense"), (float("nan"), 0.3))
    assert nan_then_good.best == 0.3 and met("loss", 5, run=nan_then_good)
    assert met("edge_map", 5, edge=0.9)
    assert not met("edge_map", 5, edge=0.5)


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ("conv2d:8:3,maxpool:2,flatten,dense:10:softmax", True),
        ("maxpool:2,conv2d:8:3,flatten,dense:10:softmax", False),  # pools the pixels
        ("conv2d:8:3,avgpool:2,flatten,dense:10:softmax", False),
        ("conv2d:8:3,flatten,dense:10:softmax", False),
    ],
)
def test_step_6_max_pooling_after_a_conv(layers, expected):
    assert met("pool_after_conv", 6, snapshot=snap(layers)) is expected


def test_step_6_and_8_targets_need_their_blocks():
    assert met("loss", 6, run=run(0.40, "conv2d,maxpool,flatten,dense"))
    assert not met("loss", 6, run=run(0.40, "conv2d,flatten,dense"))
    assert met("loss", 8, run=run(0.40, "conv2d,avgpool,flatten,dense"))
    assert not met("loss", 8, run=run(0.40, "flatten,dense"))
    assert not met("loss", 8, run=run(0.46))  # target 0.45


def test_step_7_flatten_length_guess():
    s = snap("conv2d:8:3,maxpool:2,flatten,dense:10:softmax")  # 3×3×8
    assert met("flatten_length", 7, snapshot=s, guess=72)
    assert not met("flatten_length", 7, snapshot=s, guess=64)
    assert met("flatten_length", 7, snapshot=snap("conv2d:8:3,flatten,dense:10:softmax"), guess=288)


# --------------------------------------------------------------------------- the machine


def test_a_new_learner_starts_at_step_1_with_only_the_first_blocks():
    lesson = Lesson()
    assert (lesson.step, lesson.reached, lesson.score) == (1, 1, 0)
    assert lesson.unlocked_kinds == ("flatten", "dense")
    assert lesson.model == START_MODEL
    assert lesson.lesson_status == "incomplete"
    card = lesson.card()
    assert card.label == "1 / 8" and card.open and not card.answered_right
    assert "8×8 pixels" in card.text  # the digits images


def test_a_step_needs_its_task_and_a_right_answer_in_either_order():
    lesson = Lesson()
    lesson.observe(snap(START_MODEL.split("layers=")[1]))
    wrong = lesson.answer(0)
    assert not wrong.right and "Lines and curves" in wrong.text
    assert lesson.step == 1
    right = lesson.answer(RIGHT[1])
    assert right.right and not right.first_try
    assert lesson.step == 1, "the task is not done yet"
    grid = image()
    r, c = live.brightest(grid)[1][0]
    dim = next((i, j) for i in range(8) for j in range(8) if grid[i, j] < grid.max())
    assert "Look for a whiter one" in lesson.pick_pixel(grid, *dim)
    assert lesson.step == 1
    assert "Found it" in lesson.pick_pixel(grid, r, c)
    assert lesson.step == 2 and lesson.reached == 2
    assert lesson.log[-3:] == (
        (
            f"Pixel at row {r + 1}, column {c + 1} is {grid.max():.2f}: the brightest value in "
            "this image. Found it."
        ),
        "Done: Picked a pixel with the highest value.",
        "Step 1 complete. Next: step 2 / 8, Why not only Dense?",
    )
    assert lesson.score == 0  # the first answer was wrong
    assert "Check 1: A is not it; read why and try again." in lesson.log


def test_score_counts_first_tries_and_answers_after_the_right_one_change_nothing():
    lesson = lesson_at(1)
    assert lesson.answer(RIGHT[1]).first_try
    lesson.answer(WRONG[1])  # after the right answer: feedback only
    assert lesson.progress.answers[1] == [RIGHT[1]]
    assert lesson.score == round(100 / 8)


def test_the_first_dense_on_pixels_and_a_training_run_unlock_conv2d_with_the_numbers():
    lesson = Lesson(Progress(step=2, done={1: 1}, answers={1: [RIGHT[1]]}))
    lesson.observe(snap("flatten,dense:10:softmax"))
    lesson.training_finished(run(0.55, "flatten,dense"))
    assert lesson.log[-1] == (
        "Validation loss 0.55 is not below 0.50 yet. Press Train again to continue from these "
        "weights, or give the network more filters."
    )
    lesson.training_finished(run(0.37, "flatten,dense"))
    assert "conv2d" not in lesson.unlocked_kinds, "the hidden Dense is still missing"
    assert lesson.card().best == 0.37
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))
    assert lesson.log[-3:] == (
        "New layer 2: Dense(32) has 2,080 parameters: 32 units × (64 inputs + 1).",
        "Done: A hidden Dense layer right after Flatten.",
        "Unlocked Conv2D: validation loss 0.37 < 0.50",
    )
    assert lesson.unlocked_kinds == ("conv2d", "flatten", "dense")
    assert lesson.card().milestones == (
        ("A hidden Dense layer right after Flatten", True),
        ("Validation loss below 0.50", True),
    )


@pytest.mark.parametrize(
    ("a_run", "says"),
    [
        (run(0.2, "conv2d,flatten,dense", dataset="mnist"), "measured on the digits images"),
        (Run("digits", ("conv2d", "flatten", "dense"), ()), "validation split 0"),
        (run(0.2, "flatten,dense"), "counts for a model with Conv2D"),
    ],
)
def test_runs_that_cannot_count_say_why(a_run, says):
    lesson = lesson_at(5)
    lesson.training_finished(a_run)
    assert says in lesson.log[-1]
    assert not lesson.progress.done.get(5)


def test_training_log_line_has_the_run_s_numbers():
    lesson = lesson_at(5)
    lesson.training_finished(Run("digits", ("conv2d",), (0.9, 0.31), 0.953, 2730, 3100.4))
    assert lesson.log[0] == (
        "Trained on digits for 2 epochs: best validation loss 0.31, test accuracy 95.3 %, "
        "2,730 parameters, 3,100 images/s."
    )


def test_loss_pair_never_prints_a_tie():
    assert loss_pair(0.4123, 0.5) == ("0.41", "0.50")
    assert loss_pair(0.4996, 0.5) == ("0.4996", "0.50")


def test_guesses_hide_the_number_until_guessed_and_give_the_recipe_not_the_result():
    lesson = lesson_at(3, "flatten,dense:10:softmax")
    assert lesson.hidden_number() == "conv_params"
    assert lesson.guess(80) == "Add a Conv2D to your model first, then guess."
    lesson.observe(snap("conv2d:8:3,flatten,dense:10:softmax"))
    wrong = lesson.guess(72)
    assert (
        wrong == "Not quite: you guessed 72. Each of the 8 filters has 3×3×1 weights plus one bias."
    )
    assert "80" not in wrong
    assert lesson.hidden_number() is None  # a guess was made: the table may show it
    assert lesson.guess(80) == (
        "Right: Conv2D(8, 3×3) has 80 parameters: 8 filters × (3×3×1 + 1); output 6×6×8."
    )
    assert lesson.progress.done[3] == 0b11
    seven = lesson_at(7)
    assert seven.guess(71).startswith("Not quite: you guessed 71. Multiply the three numbers")
    assert seven.guess(72) == "Right: Flatten turns 3×3×8 into a vector of 72 values."
    assert lesson_at(2).guess(5) == "This step has no number to guess."


def test_picking_a_feature_map_explains_its_edge_score():
    lesson = lesson_at(5)
    flat = lesson.pick_map(0, np.full((3, 3, 1), 0.2))
    assert flat.startswith("Map 1: edge score 0.00, below 0.75.")
    edge = lesson.pick_map(3, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert edge.startswith("Map 4: its filter's weights nearly cancel out (edge score 1.00)")
    assert lesson.progress.done[5] == 0b10


def test_steps_open_in_order_and_a_locked_step_says_how_to_reach_it():
    lesson = Lesson()
    assert not lesson.go(3) and lesson.step == 1
    card = lesson.card(3)
    assert not card.open
    assert card.how_to_reach.startswith("Step 3 opens once every step before it is complete.")
    assert "step 1, An image is a grid of numbers: Find the brightest pixel" in card.how_to_reach
    everything = Lesson(unlock_all=True)
    assert everything.go(6) and everything.step == 6
    assert everything.unlocked_kinds == tuple(KINDS)
    assert everything.reached == 1, "unlock=all opens steps without changing progress"


def test_going_back_to_a_done_step_and_forward_again():
    done = {1: 1, 2: 3}
    lesson = Lesson(Progress(step=3, done=done, answers={1: [RIGHT[1]], 2: [RIGHT[2]]}))
    assert lesson.go(1) and lesson.step == 1
    assert lesson.log[-1] == "Step 1 / 8: An image is a grid of numbers."
    lesson.answer(WRONG[1])
    assert lesson.score == 25, "a done step's answers are settled"
    assert lesson.go(3) and not lesson.go(4)


def test_arriving_at_a_step_checks_the_model_the_learner_already_has():
    lesson = Lesson(Progress(step=1))
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))
    lesson.pick_pixel([[1.0]], 0, 0)
    lesson.answer(RIGHT[1])
    assert lesson.step == 2
    assert lesson.progress.done[2] == 0b01  # the hidden Dense was already there


def test_free_play_unlocks_everything_and_leaves_the_lesson_model_alone():
    lesson = Lesson()
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))
    model = lesson.model
    lesson.set_mode("free")
    assert lesson.unlocked_kinds == tuple(KINDS) and lesson.lesson_status == "browsed"
    lesson.observe(snap("conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"))
    lesson.training_finished(run(0.1))
    assert lesson.model == model
    assert (
        lesson.log[-1]
        == "Free play: every block is unlocked. Your lesson model waits for you here."
    )
    lesson.set_mode("learn")
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))  # the page reloads the model
    assert lesson.log[-1] == "Back to the lesson at step 1 / 8."
    assert lesson.model == model
    with pytest.raises(ValueError, match="mode must be one of learn, free"):
        lesson.set_mode("quiz")


def test_start_over_forgets_everything_but_says_so():
    progress = Progress(
        step=3,
        done={1: 1, 2: 3},
        answers={1: [RIGHT[1]], 2: [RIGHT[2]]},
        model="?dataset=mnist&layers=flatten,dense:10:softmax",
    )
    lesson = Lesson(progress)
    assert lesson.step == 3
    lesson.set_mode("free")
    lesson.observe(snap("flatten,dense:10:softmax", "mnist"))
    lesson.start_over()
    assert (lesson.step, lesson.reached, lesson.score, lesson.mode) == (1, 1, 0, "learn")
    assert lesson.model == START_MODEL
    lesson.observe(snap("flatten,dense:10:softmax"))  # the page loads the first model
    assert lesson.log == ("Started over at step 1 / 8.",)
    assert lesson.log_lines() == ["LOG: Started over at step 1 / 8."]


def test_revision_changes_with_every_transition():
    lesson = Lesson()
    seen = [lesson.revision]
    lesson.observe(snap("flatten,dense:10:softmax"))
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))
    seen.append(lesson.revision)
    lesson.answer(WRONG[1])
    seen.append(lesson.revision)
    lesson.go(1)  # already there: no change
    seen.append(lesson.revision)
    assert seen[0] < seen[1] < seen[2] == seen[3]


def test_the_log_never_gives_away_the_number_the_step_asks_to_guess():
    three = lesson_at(3, "flatten,dense:32,dense:10:softmax")
    three.observe(snap("conv2d:8:3,flatten,dense:32,dense:10:softmax"))
    three.observe(snap("conv2d:8:3,flatten,dense:10:softmax"))
    three.observe(snap("conv2d:4:3,maxpool:2,flatten,dense:10:softmax"))
    assert [line for line in three.log if not line.startswith("Done:")][-3:] == [
        "New layer 1: Conv2D(8, 3×3); its parameter count stays hidden until you guess it.",
        "Removed Dense(32).",
        "Model changed: 4 layers.",
    ]
    seven = lesson_at(7, "conv2d:8:3,dense:10:softmax")
    seven.observe(snap("conv2d:8:3,flatten,dense:10:softmax"))
    assert seven.log[-1] == "New layer 2: Flatten; its length stays hidden until you guess it."
    seven.guess(288)
    seven.observe(snap("conv2d:8:3,flatten,dense:32,dense:10:softmax"))
    assert "288" in seven.log[-1]  # guessed: the numbers are back


def test_model_changes_are_narrated():
    lesson = Lesson()
    lesson.observe(snap("flatten,dense:10:softmax"))
    lesson.observe(snap("flatten,dense:32,dense:10:softmax"))
    lesson.observe(snap("flatten,dense:64,dense:10:softmax"))
    lesson.observe(snap("flatten,dense:10:softmax"))
    lesson.observe(snap("flatten,dense:10:softmax", "mnist"))
    lesson.observe(snap("conv2d:8:3,maxpool:2,flatten,dense:10:softmax", "mnist"))
    assert lesson.log == (
        "New layer 2: Dense(32) has 2,080 parameters: 32 units × (64 inputs + 1).",
        "Layer 2 changed: Dense(64) has 4,160 parameters: 64 units × (64 inputs + 1).",
        "Removed Dense(64) (4,160 parameters).",
        "Dataset mnist: images of 28×28×1, 10 classes. The lesson's targets count for digits only.",
        "Model changed: 4 layers, 13,610 parameters.",
    )


# --------------------------------------------------------------------------- the whole path


def train(state: PlaygroundState, controller: TrainingController) -> Run:
    epochs = []
    controller.listeners[:] = [lambda p: epochs.append(p) if p.kind == "epoch" else None]
    assert asyncio.run(controller.train()) == "done", controller.status
    return Run.from_state(
        state,
        [p.val_loss for p in epochs],
        controller.test_accuracy,
        epochs[-1].samples_per_sec,
    )


def test_walk_the_whole_path_on_the_real_playground_with_real_training():
    loaded = loads(None)
    lesson = Lesson(loaded.progress)
    state = PlaygroundState()
    state.apply_query(lesson.model)
    state.unlocked_kinds = list(lesson.unlocked_kinds)
    controller = TrainingController(state, dataset_loader=lambda name: load(name))

    def edit(change) -> None:
        state.unlocked_kinds = list(lesson.unlocked_kinds)  # the palette follows the lesson
        change()
        lesson.observe(Snapshot.from_state(state))

    def press_train() -> None:
        lesson.training_finished(train(state, controller))

    def answer_right() -> None:
        assert lesson.answer(STEPS[lesson.step - 1].question.right_index).right

    lesson.observe(Snapshot.from_state(state))
    # 1: the pixel grid
    grid = image()
    lesson.pick_pixel(grid, *live.brightest(grid)[1][0])
    answer_right()
    # 2: a Dense on the raw pixels, then train below the target: Conv2D unlocks
    assert lesson.step == 2
    state.smart_add("conv2d")
    assert "conv2d" not in [b.kind for b in state.layers], "locked blocks cannot be added"
    edit(lambda: state.smart_add("dense"))
    press_train()
    assert "conv2d" in lesson.unlocked_kinds
    answer_right()
    # 3: replace the Dense with a Conv2D and guess its parameters
    edit(lambda: state.remove(1))
    edit(lambda: state.smart_add("conv2d"))
    lesson.guess(8 * (3 * 3 * 1 + 1))
    answer_right()
    # 4: 'same' padding gives the 8×8 target
    assert lesson.step == 4
    edit(lambda: state.update(0, padding="same"))
    answer_right()
    # 5: train below the target (MaxPooling2D unlocks), pick the most edge-like map
    press_train()
    kernels = controller.model.get_weights()[0]
    scores = [live.edge_score(kernels[..., i]) for i in range(kernels.shape[-1])]
    lesson.pick_map(int(np.argmax(scores)), kernels[..., int(np.argmax(scores))])
    answer_right()
    # 6: pooling after the Conv2D, train (AveragePooling2D unlocks)
    assert lesson.step == 6 and "maxpool" in lesson.unlocked_kinds
    edit(lambda: state.smart_add("maxpool"))
    press_train()
    answer_right()
    # 7: guess Flatten's length from the shape before it
    before = state.analysis.rows[1].output_shape
    lesson.guess(before[0] * before[1] * before[2])
    answer_right()
    # 8: the whole network below the last target: Dropout unlocks, the path is complete
    press_train()
    answer_right()

    assert lesson.completed and lesson.score == 100 and lesson.lesson_status == "completed"
    assert lesson.unlocked_kinds == tuple(KINDS)
    unlocks = [line for line in lesson.log if line.startswith("Unlocked")]
    assert [u.split(":")[0] for u in unlocks] == [
        "Unlocked Conv2D",
        "Unlocked MaxPooling2D",
        "Unlocked AveragePooling2D",
        "Unlocked Dropout",
    ]
    for line, step in zip(unlocks, [s for s in STEPS if s.target]):
        value, target = line.split("validation loss ")[1].split(" < ")
        assert float(value) < step.target and target == f"{step.target:.2f}"
    assert lesson.log[-1].startswith("Path complete: all 8 steps done, check score 100 / 100.")
    # Step 3 asks for a guess first: adding the Conv2D does not give its count away,
    # the right guess does.
    added = lesson.log.index(
        "New layer 1: Conv2D(8, 3×3); its parameter count stays hidden until you guess it."
    )
    guessed = lesson.log.index(
        "Right: Conv2D(8, 3×3) has 80 parameters: 8 filters × (3×3×1 + 1); output 6×6×8."
    )
    assert added < guessed
    assert not any(re.search(r"(?<![\d,])80 parameters", line) for line in lesson.log[:guessed])
    for line in lesson.log:
        assert_own_plain_words(line)
    # what a reload finds: the same step, answers, model and log
    again = loads(dumps(lesson.progress))
    assert again.messages == ()
    assert again.progress == lesson.progress
    assert Lesson(again.progress).completed
