"""The training loop behind :meth:`pycnn.Sequential.fit_iter` and ``fit``.

:func:`fit_events` runs epochs of shuffled mini-batches through
``model.train_on_batch`` and yields a :class:`~pycnn.events.TrainEvent`
after every batch, before every validation batch and at the end of every
epoch; :func:`history` folds those events into Keras's history dict. The
arrays arrive already checked (:mod:`pycnn.inputs`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np

from .events import TrainEvent

__all__ = ["fit_events", "history"]


def fit_events(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    validation: tuple[np.ndarray, np.ndarray] | None,
    validation_batch_size: int,
    shuffle: bool,
    rng: np.random.Generator,
) -> Iterator[TrainEvent]:
    """Train ``model`` on prepared arrays, yielding progress (see :class:`TrainEvent`).

    ``rng`` draws each epoch's order when ``shuffle`` is true; otherwise
    batches follow the order of ``x``.
    """
    n = x.shape[0]
    n_val = 0 if validation is None else validation[0].shape[0]
    steps = -(-n // batch_size)
    total = steps * epochs
    start = time.perf_counter()
    global_step = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n) if shuffle else np.arange(n)
        epoch_start = time.perf_counter()
        seen, loss_sum, correct_sum = 0, 0.0, 0.0
        for step in range(1, steps + 1):
            idx = order[(step - 1) * batch_size : step * batch_size]
            batch_loss, batch_accuracy = model.train_on_batch(x[idx], y[idx])
            global_step += 1
            seen += idx.size
            loss_sum += batch_loss * idx.size
            correct_sum += batch_accuracy * idx.size
            now = time.perf_counter()
            event = TrainEvent(
                kind="batch",
                epoch=epoch,
                epochs=epochs,
                step=step,
                steps=steps,
                global_step=global_step,
                total_steps=total,
                loss=loss_sum / seen,
                accuracy=correct_sum / seen,
                batch_loss=batch_loss,
                val_loss=None,
                val_accuracy=None,
                samples_seen=seen,
                samples_per_sec=seen / max(now - epoch_start, 1e-9),
                elapsed=now - start,
                val_samples=n_val,
            )
            yield event
        # The epoch's figures are its last batch's running ones; validation adds its own.
        now = time.perf_counter()
        summary = replace(
            event,
            kind="epoch",
            batch_loss=None,
            samples_per_sec=seen / max(now - epoch_start, 1e-9),
            elapsed=now - start,
        )
        if validation is None:
            yield summary
            continue
        # Batch by batch with an event before each: in a browser tab without
        # threads a whole pass can take seconds that Stop could not get through.
        for val_seen, val_loss_sum, val_correct in model._evaluate_iter(
            *validation, validation_batch_size
        ):
            if val_seen < n_val:
                yield replace(
                    summary,
                    kind="validation",
                    val_seen=val_seen,
                    elapsed=time.perf_counter() - start,
                )
        yield replace(
            summary,
            val_loss=val_loss_sum / n_val,
            val_accuracy=val_correct / n_val,
            val_seen=n_val,
            elapsed=time.perf_counter() - start,
        )


def history(events: Iterable[TrainEvent], with_accuracy: bool) -> dict[str, list[float]]:
    """Keras's ``History.history``: one value per epoch for each of its keys.

    ``loss`` always, ``accuracy`` when ``with_accuracy``, ``val_*`` when the
    epochs were validated.
    """
    out: dict[str, list[float]] = {}
    for event in events:
        if event.kind != "epoch":
            continue
        values = {"loss": event.loss}
        if with_accuracy:
            values["accuracy"] = event.accuracy
        if event.val_loss is not None:
            values["val_loss"] = event.val_loss
            if with_accuracy:
                values["val_accuracy"] = event.val_accuracy
        for key, value in values.items():
            out.setdefault(key, []).append(value)
    return out
