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


class _SlowValidation:
    """A pycnn model whose validation batches take ``seconds`` each, as a big model's do in
    the browser; it logs the events it yields."""

    def __init__(self, model, seconds: float):
        self._model, self._seconds, self.log = model, seconds, []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def fit_iter(self, *args, **kwargs):
        for event in self._model.fit_iter(*args, **kwargs):
            if event.kind == "validation" and event.val_seen > 0:
                time.sleep(self._seconds)  # the batch before this event
            self.log.append((event.kind, time.perf_counter()))
            yield event


def test_stop_during_validation_stops_within_one_validation_batch(monkeypatch):
    from playground import training

    models = []
    build_model = training.build_model

    def slow_model(*args, **kwargs):
        models.append(_SlowValidation(build_model(*args, **kwargs), seconds=0.1))
        return models[-1]

    def big_validation(name):  # digits x4, half held out: 1,497 x 4 x 0.5 -> 12 validation batches
        (x, y), test, names = _digits(name)
        return (np.concatenate([x] * 4), np.concatenate([y] * 4)), test, names

    monkeypatch.setattr(training, "build_model", slow_model)
    state = PlaygroundState(epochs=3, validation_split=0.5)
    controller = TrainingController(state, dataset_loader=big_validation)
    epochs = []
    controller.listeners.append(lambda p: epochs.append(p) if p.kind == "epoch" else None)

    async def scenario():
        task = asyncio.create_task(controller.train())
        while "validating" not in controller.status:  # the page shows it while validation runs
            assert not task.done(), controller.status
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.15)  # well inside the pass (12 batches x 0.1 s)
        asked = time.perf_counter()
        controller.request_stop()
        outcome = await task
        return outcome, asked, time.perf_counter() - asked

    outcome, asked, latency = asyncio.run(scenario())
    assert outcome == "stopped" and controller.status.startswith("Stopped")
    assert latency < 1.0  # the promise (in fact: at most one 0.1 s validation batch)
    log = models[-1].log
    assert [kind for kind, _ in log].count("validation") < 12  # it did not wait for the whole pass
    assert sum(1 for kind, at in log if at > asked) <= 1  # at most the batch that was running
    assert epochs == [] and log[-1][0] == "validation"
    assert controller.trained_epochs == 1  # the epoch's training was done; only validation was cut
    assert controller.test_accuracy is not None


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
