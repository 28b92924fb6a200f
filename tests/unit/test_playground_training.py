"""The training controller, driven directly (no browser): it learns, stops on request,
stops on divergence keeping the last good weights, and yields to the event loop."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from playground.state import PlaygroundState
from playground.training import TrainingController


def _digits(name: str):
    from pycnn.datasets import load

    return load(name)


def test_trains_on_digits_loss_falls_accuracy_rises():
    state = PlaygroundState(epochs=4, learning_rate=0.01, seed=1)
    controller = TrainingController(state, dataset_loader=_digits)
    epochs = []
    controller.listeners.append(lambda p: epochs.append(p) if p.kind == "epoch" else None)
    outcome = asyncio.run(controller.train())
    assert outcome == "done", controller.status
    assert len(epochs) == 4
    assert epochs[-1].loss < epochs[0].loss
    assert epochs[-1].val_accuracy > epochs[0].val_accuracy
    assert controller.test_accuracy > 0.8
    assert "test accuracy" in controller.status
    assert not state.training and not controller.running
    assert controller.trained_epochs == 4


def test_stop_on_request_after_the_current_batch():
    state = PlaygroundState(epochs=20, batch_size=8)
    controller = TrainingController(state, dataset_loader=_digits)
    batches = []

    def listener(p):
        if p.kind == "batch":
            batches.append(p)
            if len(batches) == 5:
                controller.request_stop()

    controller.listeners.append(listener)
    assert asyncio.run(controller.train()) == "stopped"
    assert len(batches) == 5
    assert controller.status.startswith("Stopped")
    assert controller.test_accuracy is not None  # the weights trained so far are measured


def test_stop_from_another_task_within_a_second_while_training_runs():
    """What a Stop click does in the browser: another task runs while training yields."""
    state = PlaygroundState(epochs=100)
    controller = TrainingController(state, dataset_loader=_digits)

    async def scenario():
        task = asyncio.create_task(controller.train())
        ticks = 0
        while controller.progress == 0 or ticks < 5:  # the loop keeps turning meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        assert state.training
        asked = time.perf_counter()
        controller.request_stop()
        outcome = await task
        return outcome, time.perf_counter() - asked

    outcome, latency = asyncio.run(scenario())
    assert outcome == "stopped"
    assert latency < 1.0


def test_divergence_stops_with_advice_and_keeps_the_last_good_weights():
    def exploding(name):
        (x, y), (xt, yt), names = _digits(name)
        return (x * 300.0, y), (xt * 300.0, yt), names  # huge inputs + a big step blow the loss up

    state = PlaygroundState(epochs=5, learning_rate=1.0, optimizer="sgd")
    controller = TrainingController(state, dataset_loader=exploding)
    seen = []
    controller.listeners.append(lambda p: seen.append(p.batch_loss))
    outcome = asyncio.run(controller.train())
    assert outcome == "diverged", controller.status
    assert "learning rate" in controller.message and "0.1" in controller.message
    assert "last good weights" in controller.message
    weights = controller.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert not state.training


def test_refuses_an_invalid_model_with_the_reason():
    state = PlaygroundState()
    state.layers = state.layers[:-1]  # no output layer
    controller = TrainingController(state, dataset_loader=_digits)
    assert asyncio.run(controller.train()) == "refused"
    assert "Fix the model first" in controller.message


def test_training_continues_from_the_current_weights_until_reset():
    state = PlaygroundState(epochs=1)
    controller = TrainingController(state, dataset_loader=_digits)
    asyncio.run(controller.train())
    first = controller.model
    asyncio.run(controller.train())
    assert controller.model is first and controller.trained_epochs == 2
    controller.reset_weights()
    assert controller.model is not first and controller.trained_epochs == 0
    state.update(0, filters=4)  # a new spec gets a fresh model
    asyncio.run(controller.train())
    assert controller.model.layers[0].params["kernel"].shape[-1] == 4


def test_spec_is_locked_while_training():
    state = PlaygroundState(epochs=3)
    controller = TrainingController(state, dataset_loader=_digits)
    before = list(state.layers)

    async def scenario():
        task = asyncio.create_task(controller.train())
        while not state.training:
            await asyncio.sleep(0)
        state.remove(0)
        state.add("dense")
        return await task

    asyncio.run(scenario())
    assert state.layers == before
