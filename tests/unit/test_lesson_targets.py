"""The validation-loss targets are reachable: one press of Train with the page's default
settings, on the lesson's dataset, brings every model a target was measured on below it.

Real training through the page's own TrainingController (about a second per run on a
laptop); benchmarks/bench_lesson_targets.py measures the margins over many seeds."""

from __future__ import annotations

import asyncio

import pytest

from playground.lesson import Lesson, Progress, Run
from playground.lesson.content import LESSON_DATASET, STEPS, TARGET_MODELS
from playground.spec import parse_layers
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn.datasets import load

CASES = [(n, layers) for n, models in TARGET_MODELS.items() for layers in models]


def test_every_step_with_a_target_lists_the_models_it_was_measured_on():
    assert sorted(TARGET_MODELS) == [s.number for s in STEPS if s.target is not None]


@pytest.mark.parametrize(("number", "layers"), CASES)
def test_one_press_of_train_reaches_the_target(number, layers):
    step = STEPS[number - 1]
    state = PlaygroundState(dataset=LESSON_DATASET, layers=parse_layers(layers))
    controller = TrainingController(state, dataset_loader=load)
    losses = []
    controller.listeners.append(lambda p: losses.append(p.val_loss) if p.kind == "epoch" else None)
    assert asyncio.run(controller.train()) == "done"
    result = Run.from_state(state, losses, controller.test_accuracy)
    assert result.best < step.target, f"{layers}: {result.best:.3f} ≥ {step.target}"
    # and the lesson counts it: the loss milestone of that step is met
    lesson = Lesson(Progress(step=number), unlock_all=True)
    lesson.training_finished(result)
    loss_bit = next(i for i, m in enumerate(step.milestones) if m.key == "loss")
    assert lesson.progress.done[number] >> loss_bit & 1
