"""Training controller: runs pycnn's ``fit_iter`` in slices that yield to the event loop.

In Pyodide there are no threads: Python shares the web worker with the
messages that carry button clicks. So :meth:`TrainingController.train` is a
coroutine that runs batches for at most ``SLICE_SECONDS`` and then
``await asyncio.sleep(0)``, which lets a Stop click (or any edit) through.
Stop therefore takes effect after the current batch — also during the
end-of-epoch validation, which pycnn runs batch by batch with a
``"validation"`` event before each batch.

Listeners get pycnn's :class:`~pycnn.TrainEvent` of every batch and epoch.
Every run ends with a status that says how it ended: done, stopped, diverged
(the last good weights kept), or failed (the weights of the last finished
batch kept, and why).

No Panel import: unit tests drive the coroutine directly.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import param

import pycnn
from playground.analysis import build_model, evaluation_batch
from playground.data import get_dataset
from playground.spec import format_layers, shorten
from playground.state import PlaygroundState

__all__ = ["TrainingController", "failure_text", "status_text"]

SLICE_SECONDS = 0.05  # hand control back to the page at least this often
UI_SECONDS = 0.1  # refresh status text / progress bar at most this often
# Test accuracy is measured on at most this many test images, so the figure comes
# within seconds in the browser also for MNIST (10,000 test images).
TEST_LIMIT = 2000
# A final epoch loss above this share of ln(classes) — the loss of guessing — means
# the network learnt nothing.
CHANCE_SHARE = 0.9


class _Pacer:
    """When to hand control back to the page, and when to refresh the status text
    (each change is a message to the page: at most ~10 a second)."""

    def __init__(self) -> None:
        self._last_yield = time.perf_counter()
        self._last_ui = -math.inf

    def ui_due(self) -> bool:
        now = time.perf_counter()
        if now - self._last_ui < UI_SECONDS:
            return False
        self._last_ui = now
        return True

    async def breathe(self, now: bool = False) -> None:
        if now or time.perf_counter() - self._last_yield >= SLICE_SECONDS:
            await asyncio.sleep(0)
            self._last_yield = time.perf_counter()


class _DivergenceGuard:
    """Watches the batch losses; keeps the weights that gave the last finite loss.

    A batch's loss is computed before its update, so the weights that produced
    the last good loss are the ones from two batch events ago.
    """

    def __init__(self, model: pycnn.Sequential) -> None:
        self.model = model
        self.good = self.latest = model.get_weights()  # copies
        self.first_loss: float | None = None

    def exploded(self, loss: float) -> bool:
        """True (and the last good weights restored) if ``loss`` is NaN/inf or blew up."""
        if not math.isfinite(loss) or (
            self.first_loss is not None and loss > max(10.0, 10 * self.first_loss)
        ):
            self.model.set_weights(self.good)
            return True
        if self.first_loss is None:
            self.first_loss = loss
        self.good, self.latest = self.latest, self.model.get_weights()
        return False

    def restore_latest(self) -> None:
        """Back to the weights after the last finished batch (a batch that failed half-way
        may have updated some layers only)."""
        self.model.set_weights(self.latest)


def status_text(event: pycnn.TrainEvent, batch_size: int) -> str:
    """The status line for one training event."""
    if event.kind == "validation":
        return (
            f"Epoch {event.epoch}/{event.epochs}: validating… {event.val_seen:,}/"
            f"{event.val_samples:,} held-out images (training loss {event.loss:.4f})"
        )
    text = (
        f"Epoch {event.epoch}/{event.epochs}, batch {event.step}/{event.steps}: "
        f"loss {event.loss:.4f}, accuracy {event.accuracy * 100:.1f} %"
    )
    if event.val_accuracy is not None:
        text += f", validation accuracy {event.val_accuracy * 100:.1f} %"
    if event.samples_per_sec:
        left = (event.total_steps - event.global_step) * batch_size / event.samples_per_sec
        text += f" · {event.samples_per_sec:,.0f} samples/s · about {left:,.0f} s left"
    return text


def failure_text(exc: BaseException) -> str:
    """What an exception during a run means for the learner."""
    if isinstance(exc, MemoryError):
        return (
            "The browser tab ran out of memory. Lower the batch size, or use a smaller model "
            "(fewer filters or units, pooling earlier)."
        )
    if isinstance(exc, (ValueError, OSError)):  # pycnn's errors, a failed download: they say why
        return str(exc)
    return f"Something unexpected went wrong ({type(exc).__name__}: {shorten(exc, 200)})."


def _chance_hint(loss: float, classes: int, learning_rate: float) -> str | None:
    """A hint when the loss stayed at the level of guessing, ln(classes)."""
    chance = math.log(classes)
    if loss < CHANCE_SHARE * chance:
        return None
    hint = (
        f"The loss ended at {loss:.2f}, about what guessing among {classes} classes gives "
        f"(ln {classes} ≈ {chance:.2f}): the network has learnt almost nothing. "
    )
    if learning_rate >= 0.1:
        return hint + (
            f"The learning rate {learning_rate:g} may be too high: try {learning_rate / 10:g}."
        )
    return hint + (
        f"Try more epochs, or a larger learning rate than {learning_rate:g} "
        f"(e.g. {min(1.0, learning_rate * 10):g})."
    )


class TrainingController(param.Parameterized):
    """Owns the pycnn model of the current spec and trains it on request."""

    running = param.Boolean(default=False)
    status = param.String(default="Not trained yet: press Train.")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0))
    message = param.String(default="", doc="Why the last run or reset went wrong, or a hint")
    test_accuracy = param.Number(default=None, allow_None=True)
    last_loss = param.Number(default=None, allow_None=True)
    run_id = param.Integer(default=0, doc="Increments at every Train press")
    session = param.Integer(default=0, doc="Increments when the curves must start afresh")

    def __init__(self, state: PlaygroundState, dataset_loader: Callable | None = None, **params):
        super().__init__(**params)
        self.state = state
        self._loader = dataset_loader
        self.model: pycnn.Sequential | None = None
        self._model_key: tuple | None = None
        self._stop = False
        self._guard: _DivergenceGuard | None = None
        self._shows_results = False
        self.listeners: list[Callable[[pycnn.TrainEvent], None]] = []
        self.trained_epochs = 0
        self._trained = False  # self.model's weights were learnt (a batch, or a weights file)
        state.param.watch(self._on_spec_change, ["layers", "dataset", "seed"])

    # ---- model
    def _key(self) -> tuple:
        s = self.state
        return (format_layers(s.layers), s.dataset, s.seed)

    def _use(self, model: pycnn.Sequential) -> None:
        self.model, self._model_key = model, self._key()
        self.trained_epochs = 0
        self._trained = False
        self.test_accuracy = None
        self.session += 1

    def _fresh_model(self) -> pycnn.Sequential:
        s = self.state
        return build_model(s.layers, s.info.input_shape, seed=s.seed)

    def current_model(self) -> pycnn.Sequential | None:
        """The model of the current spec if one exists (trained or not), without building one."""
        return self.model if self.model is not None and self._key() == self._model_key else None

    def ensure_model(self) -> pycnn.Sequential:
        """The model for the current spec; rebuilt (fresh weights) when the spec changed."""
        if self.current_model() is None:
            self._use(self._fresh_model())
        return self.model

    def adopt(self, model: pycnn.Sequential, status: str, trained: bool = False) -> None:
        """Continue from ``model``, built for the current spec (fresh or loaded weights;
        ``trained``: its weights were learnt, so views of a trained model show it)."""
        self._use(model)
        self._trained = trained
        self._shows_results = False
        self.param.update(last_loss=None, progress=0.0, message="", status=status)

    def model_or_none(self) -> pycnn.Sequential | None:
        """The model of the current spec, built (random weights) if need be; None when it
        cannot be built (invalid, too big): views then say there is nothing to show."""
        if self.state.build_block_reason() is not None:
            return None
        try:
            return self.ensure_model()
        except Exception:  # noqa: BLE001 - a view says "nothing to show"; Train says why
            return None

    def trained_model(self) -> pycnn.Sequential | None:
        """The current spec's model once training (a run stopped after one batch counts) or
        a weights file has set its weights, else None: what views of a trained model show."""
        model = self.current_model()
        return model if model is not None and self._trained else None

    def reset_weights(self) -> bool:
        """Fresh random weights for the current spec; the old ones stay if that is impossible."""
        if self.running:
            return False
        reason = self.state.build_block_reason()
        if reason is None:
            try:
                model = self._fresh_model()
            except Exception as exc:  # noqa: BLE001 - say why, keep the old model
                reason = failure_text(exc)
        if reason is not None:
            self.param.update(message=reason, status="Weights not reset: " + reason)
            return False
        self.adopt(model, "Weights reset to fresh random values: press Train.")
        return True

    def request_stop(self) -> None:
        if self.running:
            self._stop = True
            self.status = "Stopping after this batch…"

    def _on_spec_change(self, *events) -> None:
        """Results on screen belong to the model they were measured on: clear them."""
        if self.running or not self._shows_results:
            return
        self._shows_results = False
        changed = {e.name for e in events}
        if "dataset" in changed:
            what = f"The dataset is now {self.state.info.title}"
        else:
            what = "The network changed" if "layers" in changed else "The seed changed"
        self.param.update(
            test_accuracy=None,
            last_loss=None,
            progress=0.0,
            message="",
            session=self.session + 1,
            status=f"{what}: the last run's curves and test accuracy were cleared. Press Train.",
        )

    # ---- data
    async def _data(self):
        if self._loader is None:
            return await get_dataset(self.state.dataset)
        data = self._loader(self.state.dataset)
        if asyncio.iscoroutine(data):
            data = await data
        return data

    def _optimizer(self) -> pycnn.Optimizer:
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
            self.param.update(message=reason, status="Cannot train: " + reason)
            return "refused"
        self._stop = False
        self._guard = None
        self.message = ""
        self.running = True
        state.training = True
        self.run_id += 1
        self._shows_results = True
        try:
            return await self._train(epochs or state.epochs)
        except Exception as exc:  # noqa: BLE001 - every run ends with a status that says why
            self._fail(exc)
            return "error"
        finally:
            self.running = False
            state.training = False
            self._stop = False
            self._guard = None

    def _fail(self, exc: BaseException) -> None:
        kept = "The model and its earlier weights were kept."
        if self._guard is not None:
            try:
                self._guard.restore_latest()
                kept = "The model and the weights of the last finished batch were kept."
            except Exception:  # noqa: BLE001 - e.g. out of memory again while copying
                kept = "The model was kept; its weights may be partly updated: Reset weights."
        text = f"{failure_text(exc)} {kept}"
        self.param.update(message=text, status="Training failed: " + text)

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
        self.param.update(progress=0.0, status=f"Training: epoch 1/{epochs}…")
        await asyncio.sleep(0)
        outcome, last = await self._fit(model, x_train, y_train, epochs)
        self._trained = self._trained or last is not None
        if outcome == "diverged":
            self.status = "Stopped: the loss exploded. " + self.message
            return outcome
        if last is not None:
            self.trained_epochs += round(last.epochs * last.progress)
        await self._measure_test(x_test, y_test, stopped=outcome == "stopped")
        if last is not None and (last.kind == "epoch" or last.epoch > 1):  # an epoch was done
            hint = _chance_hint(last.loss, state.info.num_classes, state.learning_rate)
            self.message = hint or ""
        return outcome

    async def _fit(self, model, x, y, epochs: int) -> tuple[str, pycnn.TrainEvent | None]:
        """Run ``fit_iter`` until it ends, Stop is pressed or the loss explodes.

        Returns how it ended and the last event passed on to the listeners.
        """
        batch_size = self.state.batch_size
        events = model.fit_iter(
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=self.state.validation_split,
            validation_batch_size=evaluation_batch(self.state.analysis),
        )
        self._guard = _DivergenceGuard(model)
        pacer = _Pacer()
        last = None
        try:
            while not self._stop:
                event = next(events, None)
                if event is None:
                    return "done", last
                if event.kind == "validation":  # progress only: no plot point
                    starting = event.val_seen == 0
                    if pacer.ui_due() or starting:
                        self.status = status_text(event, batch_size)
                    # at the start, yield at once so the page shows "validating…" before it blocks
                    await pacer.breathe(now=starting)
                    continue
                if event.kind == "batch" and self._guard.exploded(event.batch_loss):
                    self.message = self._divergence_text(event)
                    return "diverged", last
                last = event
                self.last_loss = event.loss
                for listener in self.listeners:
                    listener(event)
                if pacer.ui_due() or event.kind == "epoch":
                    self.param.update(
                        progress=min(1.0, event.progress), status=status_text(event, batch_size)
                    )
                await pacer.breathe()
            return "stopped", last
        finally:
            events.close()

    def _divergence_text(self, event: pycnn.TrainEvent) -> str:
        lr = self.state.learning_rate
        loss = event.batch_loss
        shown = "not a number" if math.isnan(loss) else f"{loss:.3g}"
        return (
            f"Training diverged at epoch {event.epoch}, batch {event.step}: the loss became "
            f"{shown}. The learning rate {lr:g} is probably too high: try {lr / 10:g}. "
            "The last good weights were kept."
        )

    async def _measure_test(self, x_test, y_test, stopped: bool) -> None:
        """Test accuracy on up to TEST_LIMIT images; Stop ends it early (a huge model
        may need minutes) with the figure for the images measured so far."""
        self._stop = False
        n_test = min(len(x_test), TEST_LIMIT)
        doing = ("Stopped" if stopped else "Done") + ". Measuring test accuracy…"
        self.status = doing
        await asyncio.sleep(0)
        loss, acc, done = await self._evaluate(x_test[:n_test], y_test[:n_test], doing)
        self.test_accuracy = acc
        trained = f"loss {self.last_loss:.4f}; " if self.last_loss is not None else ""
        of = f" of {len(x_test):,}" if done < len(x_test) else ""
        cut = ", measuring was stopped" if done < n_test else ""
        self.status = (
            f"{'Stopped' if stopped or cut else 'Finished'}: {trained}test accuracy "
            f"{acc * 100:.1f} % on {done:,}{of} test images (test loss {loss:.4f}{cut})."
        )

    async def _evaluate(self, x, y, doing: str) -> tuple[float, float, int]:
        """(loss, accuracy, images measured) in chunks the tab's memory budget allows,
        yielding between them; after Stop, on the chunks measured so far."""
        chunk = evaluation_batch(self.state.analysis)
        pacer = _Pacer()
        total_loss = total_acc = 0.0
        done = 0
        while done < len(x) and not (self._stop and done):
            xb, yb = x[done : done + chunk], y[done : done + chunk]
            loss, acc = self.model.evaluate(xb, yb, batch_size=chunk)
            total_loss += float(loss) * len(xb)
            total_acc += float(acc) * len(xb)
            done += len(xb)
            if pacer.ui_due() and not self._stop:
                self.status = f"{doing} {done:,}/{len(x):,} images"
            await pacer.breathe()
        return total_loss / done, total_acc / done, done
