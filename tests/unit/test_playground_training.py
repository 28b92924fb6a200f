"""The training controller, driven directly (no browser): it learns, stops on request,
stops on divergence keeping the last good weights, and yields to the event loop."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from playground.state import PlaygroundState
from playground.training import TrainingController


def _digits(name: str):
    from pycnn.datasets import load

    return load(name)


def _wrap_models(monkeypatch, wrap) -> list:
    """Every model the controller builds goes through ``wrap``; returns them, in order."""
    from playground import training

    models, build_model = [], training.build_model

    def wrapped(*args, **kwargs):
        models.append(wrap(build_model(*args, **kwargs)))
        return models[-1]

    monkeypatch.setattr(training, "build_model", wrapped)
    return models


def _count_evaluated(chunks: list[int], on_chunk=lambda: None):
    """A ``wrap`` that records how many images each ``evaluate`` call gets."""

    def wrap(model):
        evaluate = model.evaluate

        def record(x, y, batch_size=None):
            chunks.append(len(x))
            on_chunk()
            return evaluate(x, y, batch_size=batch_size)

        model.evaluate = record
        return model

    return wrap


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
    models = _wrap_models(monkeypatch, lambda model: _SlowValidation(model, seconds=0.1))

    def big_validation(name):  # digits x4, half held out: 1,497 x 4 x 0.5 -> 12 validation batches
        (x, y), test, names = _digits(name)
        return (np.concatenate([x] * 4), np.concatenate([y] * 4)), test, names

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
    assert latency < 1.0  # in fact: at most one 0.1 s validation batch
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


# --------------------------------------------------------------------------- how runs end


def test_a_run_that_stalls_at_chance_says_the_learning_rate_may_be_too_high():
    state = PlaygroundState()
    state.apply_query("?dataset=digits&lr=1&optimizer=sgd&epochs=3")
    controller = TrainingController(state, dataset_loader=_digits)
    assert asyncio.run(controller.train()) == "done"
    assert "test accuracy" in controller.status
    message = controller.message
    assert "ln 10 ≈ 2.30" in message and "learnt almost nothing" in message
    assert "learning rate 1 may be too high: try 0.1" in message


def test_a_healthy_run_gets_no_hint_and_a_tiny_learning_rate_gets_the_other_one():
    state = PlaygroundState(epochs=3, learning_rate=0.01)
    controller = TrainingController(state, dataset_loader=_digits)
    asyncio.run(controller.train())
    assert controller.message == "" and controller.test_accuracy > 0.8
    state.learning_rate = 1e-6
    controller.reset_weights()
    asyncio.run(controller.train())
    assert "larger learning rate than 1e-06" in controller.message


class _Fails:
    """A pycnn model whose training raises ``error`` after ``after`` batches."""

    def __init__(self, model, error: BaseException, after: int):
        self._model, self._error, self._after = model, error, after
        self.weights_after_batches: list = []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def fit_iter(self, *args, **kwargs):
        for i, event in enumerate(self._model.fit_iter(*args, **kwargs)):
            if event.kind == "batch":
                self.weights_after_batches.append(self._model.get_weights())
            yield event
            if i + 1 == self._after:
                # half a batch: some weights changed before the failure
                self._model.layers[0].params["kernel"] += 1.0
                raise self._error


@pytest.mark.parametrize(
    "error, words",
    [
        (MemoryError(), ["ran out of memory", "Lower the batch size"]),
        (RuntimeError("a bug"), ["unexpected", "RuntimeError: a bug"]),
        (ValueError("Layer 1 (conv2d, Conv2D): bad input. Received: x."), ["Received: x."]),
    ],
)
def test_any_failure_during_a_run_ends_with_a_status_and_the_last_finished_weights(
    monkeypatch, error, words
):
    models = _wrap_models(monkeypatch, lambda model: _Fails(model, error, after=3))
    state = PlaygroundState(epochs=2)
    before = list(state.layers)
    controller = TrainingController(state, dataset_loader=_digits)
    assert asyncio.run(controller.train()) == "error"
    assert controller.status.startswith("Training failed: ")
    for word in words:
        assert word in controller.message
    assert "weights of the last finished batch were kept" in controller.message
    model = models[-1]
    last_good = model.weights_after_batches[-1]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), last_good))
    assert not controller.running and not state.training and state.layers == before
    assert asyncio.run(controller.train(epochs=1)) == "error"  # the page can try again


# --------------------------------------------------------------------------- reset weights


def test_reset_on_an_invalid_model_says_why_and_keeps_the_trained_model():
    state = PlaygroundState(epochs=1)
    controller = TrainingController(state, dataset_loader=_digits)
    asyncio.run(controller.train())
    trained, weights = controller.model, controller.model.get_weights()
    state.layers = state.layers[:-1]  # no output layer
    assert controller.reset_weights() is False
    assert controller.status.startswith("Weights not reset: Fix the model first")
    assert "10 classes" in controller.message
    assert controller.model is trained
    assert all(np.array_equal(a, b) for a, b in zip(trained.get_weights(), weights))


def test_reset_of_a_model_too_big_for_the_tab_is_refused_before_allocating(monkeypatch):
    from playground import training

    def must_not_build(*_args, **_kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(training, "build_model", must_not_build)
    state = PlaygroundState()
    state.apply_query(
        "?dataset=mnist&layers=flatten,dense:4096,dense:4096,dense:4096,dense:10:softmax"
    )
    controller = TrainingController(state, dataset_loader=_digits)
    assert controller.reset_weights() is False
    assert "parameters" in controller.message and "3,000,000" in controller.message
    assert controller.status.startswith("Weights not reset")


def test_reset_that_runs_out_of_memory_keeps_the_old_model(monkeypatch):
    from playground import training

    state = PlaygroundState()
    controller = TrainingController(state, dataset_loader=_digits)
    old = controller.ensure_model()

    def out_of_memory(*_args, **_kwargs):
        raise MemoryError

    monkeypatch.setattr(training, "build_model", out_of_memory)
    assert controller.reset_weights() is False
    assert "ran out of memory" in controller.message and controller.model is old


# --------------------------------------------------------------------------- stale results


def test_switching_dataset_clears_the_last_runs_results_and_says_so():
    state = PlaygroundState(epochs=1)
    controller = TrainingController(state, dataset_loader=_digits)
    asyncio.run(controller.train())
    assert controller.test_accuracy is not None
    session = controller.session
    state.dataset = "shapes"
    assert controller.test_accuracy is None and controller.last_loss is None
    assert controller.session == session + 1  # the curves start afresh
    assert controller.status.startswith("The dataset is now Synthetic shapes")
    assert "cleared" in controller.status
    state.update(0, filters=4)  # nothing more to clear: the status stays
    assert controller.status.startswith("The dataset is now")


def test_editing_the_network_after_a_run_clears_its_results():
    state = PlaygroundState(epochs=1)
    controller = TrainingController(state, dataset_loader=_digits)
    asyncio.run(controller.train())
    state.update(0, filters=4)
    assert controller.test_accuracy is None
    assert controller.status.startswith("The network changed")


# --------------------------------------------------------------------------- evaluation memory


def test_test_accuracy_is_measured_in_chunks_the_memory_budget_allows(monkeypatch):
    from playground.analysis import evaluation_batch

    chunks: list[int] = []
    _wrap_models(monkeypatch, _count_evaluated(chunks))
    # 8x8 maps of 256 channels through 30 layers: ~0.5 M values per image.
    state = PlaygroundState(batch_size=8, epochs=1, validation_split=0.0)
    state.apply_query(
        "?dataset=digits&batch=8&val=0&layers=conv2d:256:1,"
        + ",".join(["maxpool:1"] * 30)
        + ",flatten,dense:10:softmax"
    )
    chunk = evaluation_batch(state.analysis)
    assert 1 < chunk < 256, chunk
    controller = TrainingController(state, dataset_loader=_digits)
    statuses = []
    controller.param.watch(lambda e: statuses.append(e.new), "status")
    controller.listeners.append(lambda e: controller.request_stop())  # after one batch
    assert asyncio.run(controller.train()) == "stopped"
    assert max(chunks) == chunk and sum(chunks) == 300  # every test image, never more at once
    assert controller.test_accuracy is not None
    assert f"Stopped. Measuring test accuracy… {chunk}/300 images" in statuses
    assert statuses[-1].startswith("Stopped: ")


def test_links_and_presets_that_change_several_values_at_once_reach_the_controller():
    """One update of layers and dataset calls the controller's watcher with both events."""
    state = PlaygroundState(epochs=1)
    controller = TrainingController(state, dataset_loader=_digits)
    state.load_preset("keras")  # before any run: nothing to clear
    assert state.dataset == "mnist" and controller.status.startswith("Not trained yet")
    assert state.apply_query("?dataset=digits&layers=flatten,dense:10:softmax") == []
    asyncio.run(controller.train())
    assert state.apply_query(f"?dataset=shapes&layers={DEFAULT_SHAPES}&seed=3") == []
    assert controller.status.startswith("The dataset is now Synthetic shapes")


DEFAULT_SHAPES = "conv2d:8:3,maxpool:2,flatten,dense:6:softmax"


def test_stop_while_measuring_the_test_accuracy_reports_the_images_measured(monkeypatch):
    from playground.analysis import evaluation_batch

    controller = None
    chunks: list[int] = []

    def click_stop_at_the_second_chunk():
        if len(chunks) == 2:
            controller.request_stop()

    _wrap_models(monkeypatch, _count_evaluated(chunks, click_stop_at_the_second_chunk))
    state = PlaygroundState()
    state.apply_query(
        "?dataset=digits&batch=8&epochs=1&val=0&layers=conv2d:256:1,"
        + ",".join(["maxpool:1"] * 30)
        + ",flatten,dense:10:softmax"
    )
    chunk = evaluation_batch(state.analysis)
    controller = TrainingController(state, dataset_loader=_digits)
    controller.listeners.append(lambda e: controller.request_stop())  # training: one batch
    assert asyncio.run(controller.train()) == "stopped"
    assert chunks == [chunk, chunk]
    assert controller.status.startswith("Stopped: ")
    assert f"on {2 * chunk} of 300 test images" in controller.status
    assert "measuring was stopped" in controller.status
    assert controller.test_accuracy is not None and not controller.running


def test_a_dataset_that_cannot_be_downloaded_says_so_and_keeps_the_model():
    def offline(name):
        raise OSError(f"Could not download the {name} images (data/{name}.npz: HTTP 404).")

    state = PlaygroundState()
    controller = TrainingController(state, dataset_loader=offline)
    assert asyncio.run(controller.train()) == "error"
    assert controller.status == (
        "Training failed: Could not download the digits images (data/digits.npz: HTTP 404). "
        "The model and its earlier weights were kept."
    )
    assert not state.training


def test_validation_runs_in_chunks_the_memory_budget_allows(monkeypatch):
    from playground.analysis import evaluation_batch

    seen: list[int] = []

    def recording(model):
        fit_iter = model.fit_iter

        def events(*args, **kwargs):
            for event in fit_iter(*args, **kwargs):
                if event.kind == "validation":
                    seen.append(event.val_seen)
                yield event

        model.fit_iter = events
        return model

    def small_mnist(name):
        (x, y), test, names = _digits(name)
        return (x[:400], y[:400]), test, names  # 200 to train on, 200 held out

    _wrap_models(monkeypatch, recording)
    state = PlaygroundState()
    state.apply_query(  # eleven 28x28x64 outputs per image
        "?dataset=mnist&epochs=1&val=0.5&layers=conv2d:64:1,"
        + ",".join(["dropout:0.1"] * 10)
        + ",flatten,dense:10:softmax"
    )
    chunk = evaluation_batch(state.analysis)
    assert chunk < 200
    controller = TrainingController(state, dataset_loader=small_mnist)
    assert asyncio.run(controller.train()) == "done", controller.status
    assert seen == list(range(0, 200, chunk))
