"""Training controller: runs pycnn's ``fit_iter`` in slices that yield to the event loop.

In Pyodide there are no threads: Python shares the web worker with the
messages that carry button clicks. So :meth:`TrainingController.train` is a
coroutine that runs batches for at most ``SLICE_SECONDS`` and then
``await asyncio.sleep(0)``, which lets a Stop click (or any edit) through.
Stop therefore takes effect after the current batch — also during the
end-of-epoch validation, which pycnn runs batch by batch with a
``"validation"`` event before each batch.

No Panel import: unit tests drive the coroutine directly.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import param

from playground.analysis import build_model
from playground.spec import format_layers
from playground.state import PlaygroundState

__all__ = ["Progress", "TrainingController"]

SLICE_SECONDS = 0.05  # hand control back to the page at least this often
UI_SECONDS = 0.1  # refresh status text / progress bar at most this often
# Test accuracy is measured on at most this many test images, so the figure comes
# within seconds in the browser also for MNIST (10,000 test images).
TEST_LIMIT = 2000


def _get(event: Any, key: str, default: Any = None) -> Any:
    if isinstance(event, dict):
        return event.get(key, default)
    return getattr(event, key, default)


@dataclass
class Progress:
    """One update the UI shows and the plots stream (normalised from pycnn events)."""

    kind: str  # "batch", "validation" (progress of the end-of-epoch validation) or "epoch"
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based batch within the epoch
    steps: int
    loss: float
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    samples_per_s: float | None = None
    seconds_left: float | None = None
    batch_loss: float | None = None  # this batch alone (loss is the epoch's running mean)
    val_seen: int = 0  # validation images evaluated so far this epoch
    val_samples: int = 0  # validation images in all (0 without validation)

    @property
    def position(self) -> float:
        """Epochs done as a real number (x axis of the plots)."""
        return (self.epoch - 1) + (self.step / self.steps if self.steps else 1.0)


def _weights(model) -> list:
    return model.get_weights()  # copies


def _set_weights(model, weights) -> None:
    model.set_weights(weights)


class TrainingController(param.Parameterized):
    """Owns the pycnn model of the current spec and trains it on request."""

    running = param.Boolean(default=False)
    status = param.String(default="Not trained yet: press Train.")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0))
    message = param.String(default="", doc="Why training stopped early, if it did")
    test_accuracy = param.Number(default=None, allow_None=True)
    last_loss = param.Number(default=None, allow_None=True)
    run_id = param.Integer(default=0, doc="Increments at every Train press")
    session = param.Integer(default=0, doc="Increments when a fresh model is built (plots restart)")

    def __init__(self, state: PlaygroundState, dataset_loader: Callable | None = None, **params):
        super().__init__(**params)
        self.state = state
        self._loader = dataset_loader
        self.model = None
        self._model_key: tuple | None = None
        self._stop = False
        self.listeners: list[Callable[[Progress], None]] = []
        self.trained_epochs = 0

    # ---- model
    def _key(self) -> tuple:
        s = self.state
        return (format_layers(s.layers), s.dataset, s.seed)

    def ensure_model(self):
        """The model for the current spec; rebuilt (fresh weights) when the spec changed."""
        key = self._key()
        if self.model is None or key != self._model_key:
            self.model = build_model(
                self.state.layers, self.state.info.input_shape, seed=self.state.seed
            )
            self._model_key = key
            self.trained_epochs = 0
            self.test_accuracy = None
            self.session += 1
        return self.model

    def reset_weights(self) -> None:
        if self.running:
            return
        self.model = None
        self.ensure_model()
        self.last_loss = None
        self.progress = 0.0
        self.message = ""
        self.status = "Weights reset to fresh random values: press Train."

    def request_stop(self) -> None:
        if self.running:
            self._stop = True
            self.status = "Stopping after this batch…"

    # ---- data
    async def _data(self):
        if self._loader is None:
            from playground.data import get_dataset

            return await get_dataset(self.state.dataset)
        data = self._loader(self.state.dataset)
        if asyncio.iscoroutine(data):
            data = await data
        return data

    def _optimizer(self):
        import pycnn

        s = self.state
        if s.optimizer == "adam":
            return pycnn.Adam(s.learning_rate)
        return pycnn.SGD(s.learning_rate, momentum=0.9)

    # ---- training
    async def train(self, epochs: int | None = None) -> str:
        """Train for ``epochs`` (default: the state's setting). Returns how it ended:
        "done", "stopped", "diverged", "refused" or "error"."""
        if self.running:
            return "refused"
        state = self.state
        reason = state.train_block_reason()
        if reason:
            self.message = reason
            self.status = "Cannot train: " + reason
            return "refused"
        self._stop = False
        self.message = ""
        self.running = True
        state.training = True
        self.run_id += 1
        try:
            return await self._train(epochs or state.epochs)
        except ValueError as exc:  # bad data/model: pycnn names the problem
            self.message = str(exc)
            self.status = "Training failed: " + str(exc)
            return "error"
        finally:
            self.running = False
            state.training = False
            self._stop = False

    async def _train(self, epochs: int) -> str:
        state = self.state
        self.status = f"Loading the {state.info.title} images…"
        await asyncio.sleep(0)
        (x_train, y_train), (x_test, y_test), _names = await self._data()
        model = self.ensure_model()
        model.compile(
            optimizer=self._optimizer(),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        n_val = int(len(x_train) * state.validation_split)
        n_fit = len(x_train) - n_val
        steps = max(1, math.ceil(n_fit / state.batch_size))
        self.status = f"Training: epoch 1/{epochs}…"
        self.progress = 0.0
        await asyncio.sleep(0)

        events = model.fit_iter(
            x_train,
            y_train,
            epochs=epochs,
            batch_size=state.batch_size,
            validation_split=state.validation_split,
        )
        good = _weights(model)  # weights that gave the last finite loss
        before = good
        first_loss = None
        started = time.perf_counter()
        last_yield = started
        last_ui = 0.0
        last_position = 0.0
        seen = 0
        outcome = "done"
        while True:
            if self._stop:
                outcome = "stopped"
                break
            try:
                event = next(events)
            except StopIteration:
                break
            p = self._progress(event, epochs, steps)
            if p.kind == "validation":
                # Progress only (the figures come with the epoch event): no plot point.
                now = time.perf_counter()
                starting = p.val_seen == 0
                if starting or now - last_ui >= UI_SECONDS:
                    self.status = self._status_text(p)
                    last_ui = now
                # at the start, yield at once so the page shows "validating…" before it blocks
                if starting or now - last_yield >= SLICE_SECONDS:
                    await asyncio.sleep(0)
                    last_yield = time.perf_counter()
                continue
            if p.kind == "batch":
                seen += 1
                current = p.batch_loss if p.batch_loss is not None else p.loss
                if not math.isfinite(current) or (
                    first_loss is not None and current > max(10.0, 10 * first_loss)
                ):
                    _set_weights(model, good)
                    outcome = "diverged"
                    self.message = (
                        f"Training diverged at epoch {p.epoch}, batch {p.step}: the loss became "
                        f"{'not a number' if math.isnan(current) else f'{current:.3g}'}. The learning rate "
                        f"{state.learning_rate:g} is probably too high: try {state.learning_rate / 10:g}. "
                        "The last good weights were kept."
                    )
                    break
                if first_loss is None:
                    first_loss = current
                good, before = before, _weights(model)
                if p.samples_per_s is None:
                    elapsed = time.perf_counter() - started
                    p.samples_per_s = seen * state.batch_size / elapsed if elapsed > 0 else None
                if p.seconds_left is None and p.samples_per_s:
                    left = (epochs - p.epoch) * n_fit + (steps - p.step) * state.batch_size
                    p.seconds_left = max(0.0, left / p.samples_per_s)
            elif not math.isfinite(p.loss):
                continue
            for listener in self.listeners:
                listener(p)
            now = time.perf_counter()
            # Each change is a message to the page: update the text at most ~10 times a second.
            self.last_loss = p.loss
            last_position = p.position
            if p.kind == "epoch" or now - last_ui >= UI_SECONDS:
                self.param.update(
                    progress=min(1.0, p.position / epochs), status=self._status_text(p)
                )
                last_ui = now
            if now - last_yield >= SLICE_SECONDS:
                await asyncio.sleep(0)
                last_yield = time.perf_counter()
        close = getattr(events, "close", None)
        if close:
            close()
        if outcome == "diverged":
            self.status = "Stopped: the loss exploded. " + self.message
            return outcome
        self.trained_epochs += round(last_position)
        self.status = (
            "Stopped. " if outcome == "stopped" else "Done. "
        ) + "Measuring test accuracy…"
        await asyncio.sleep(0)
        n_test = min(len(x_test), TEST_LIMIT)
        loss, acc = await self._evaluate(x_test[:n_test], y_test[:n_test])
        self.test_accuracy = acc
        head = "Stopped" if outcome == "stopped" else "Finished"
        trained = f"loss {self.last_loss:.4f}; " if self.last_loss is not None else ""
        of = f" of {len(x_test):,}" if n_test < len(x_test) else ""
        self.status = (
            f"{head}: {trained}test accuracy {acc * 100:.1f} % "
            f"on {n_test:,}{of} test images (test loss {loss:.4f})."
        )
        return outcome

    async def _evaluate(self, x, y, chunk: int = 256) -> tuple[float, float]:
        total_loss = total_acc = 0.0
        for start in range(0, len(x), chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            loss, acc = self.model.evaluate(xb, yb)
            total_loss += float(loss) * len(xb)
            total_acc += float(acc) * len(xb)
            await asyncio.sleep(0)
        return total_loss / len(x), total_acc / len(x)

    def _progress(self, event: Any, epochs: int, steps: int) -> Progress:
        """A Progress from a pycnn ``TrainEvent`` (dicts with the same keys work too)."""

        def num(key):
            v = _get(event, key)
            return None if v is None else float(v)

        raw = str(_get(event, "kind", "batch"))
        kind = "epoch" if raw.startswith("epoch") else raw if raw == "validation" else "batch"
        steps = int(_get(event, "steps", steps) or steps)
        batch_loss = num("batch_loss")
        return Progress(
            kind=kind,
            epoch=int(_get(event, "epoch", 1)),
            epochs=int(_get(event, "epochs", epochs)),
            step=int(_get(event, "step", steps)),
            steps=steps,
            loss=float(_get(event, "loss", float("nan"))),
            accuracy=num("accuracy"),
            val_loss=num("val_loss"),
            val_accuracy=num("val_accuracy"),
            samples_per_s=num("samples_per_sec"),
            batch_loss=batch_loss,
            val_seen=int(_get(event, "val_seen", 0) or 0),
            val_samples=int(_get(event, "val_samples", 0) or 0),
        )

    @staticmethod
    def _status_text(p: Progress) -> str:
        if p.kind == "validation":
            return (
                f"Epoch {p.epoch}/{p.epochs}: validating… {p.val_seen:,}/{p.val_samples:,} "
                f"held-out images (training loss {p.loss:.4f})"
            )
        text = f"Epoch {p.epoch}/{p.epochs}, batch {p.step}/{p.steps}: loss {p.loss:.4f}"
        if p.accuracy is not None:
            text += f", accuracy {p.accuracy * 100:.1f} %"
        if p.val_accuracy is not None:
            text += f", validation accuracy {p.val_accuracy * 100:.1f} %"
        if p.samples_per_s:
            text += f" · {p.samples_per_s:,.0f} samples/s"
        if p.seconds_left is not None:
            text += f" · about {p.seconds_left:,.0f} s left"
        return text
