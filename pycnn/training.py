"""Running a model's layers on batches: training steps, evaluation, prediction, the fit loop.

The functions take the model's *steps* (its layers as they run, some pairs
fused: :func:`pycnn.layers.fused.plan_steps`) and arrays already checked by
:mod:`pycnn.inputs`; :class:`pycnn.Sequential` calls them.

* :func:`train_step`: forward, fused softmax cross-entropy, backward, and
  one optimizer update of every parameter;
* :func:`evaluate_batches` and :func:`predict_batches`: forward passes in
  inference mode, one batch at a time;
* :func:`fit_events`: epochs of shuffled mini-batches, yielding a
  :class:`~pycnn.events.TrainEvent` after every batch, before every
  validation batch and at the end of every epoch; :func:`history` folds
  those events into Keras's history dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import numpy as np

from . import losses
from .events import TrainEvent

__all__ = [
    "evaluate_batches",
    "fit_events",
    "forward",
    "forward_logits",
    "history",
    "predict_batches",
    "train_step",
]


def forward(steps: list, x: np.ndarray, training: bool) -> np.ndarray:
    """Run ``x`` through every step; only a training pass keeps what backward reads."""
    for step in steps:
        x = step.forward(x, training=training)
    return x


def forward_logits(steps: list, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(logits, output)`` of a compiled model: its class scores before and after softmax.

    The last step is the output layer (``compile`` checks it is a softmax or
    linear Dense or Conv2D; it is never fused).
    """
    return steps[-1].forward_logits(forward(steps[:-1], x, training), training)


def train_step(steps: list, layers: list, optimizer, x: np.ndarray, y: np.ndarray):
    """One optimizer step on a batch; returns the batch's ``(loss, accuracy)``.

    The last step is the output layer; it runs its forward, the loss and its backward as
    one (:meth:`pycnn.layers.ActivatedLayer.train_output`).
    """
    *hidden, output = steps
    # steps before the first one with parameters need no gradient at all
    first = next(i for i, step in enumerate(steps) if step.trainable_keys)
    h = forward(hidden, x, training=True)
    loss, correct, grad = output.train_output(h, y, need_input_grad=len(hidden) > first)
    for i in range(len(hidden) - 1, first - 1, -1):
        grad = hidden[i].backward(grad, need_input_grad=i > first)
    optimizer.apply_gradients(
        (layer.grads[k], layer.params[k]) for layer in layers for k in layer.trainable_keys
    )
    return loss, correct / y.shape[0]


def evaluate_batches(
    steps: list, x: np.ndarray, y: np.ndarray, batch_size: int
) -> Iterator[tuple[int, float, float]]:
    """Evaluate batch by batch, in inference mode.

    Yields ``(images done, loss summed so far, number correct so far)`` before
    each batch and once more at the end. ``evaluate`` and the validation pass
    of :func:`fit_events` both use it, so both give the same numbers.
    """
    loss_sum = correct = 0.0
    for i in range(0, x.shape[0], batch_size):
        yield i, loss_sum, correct
        logits, out = forward_logits(steps, x[i : i + batch_size], training=False)
        batch_y = y[i : i + batch_size]
        loss, _ = losses.softmax_cross_entropy(logits, batch_y, need_grad=False)
        loss_sum += loss * batch_y.shape[0]
        correct += np.count_nonzero(out.argmax(axis=-1) == batch_y)
    yield x.shape[0], loss_sum, correct


def predict_batches(steps: list, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The last step's outputs for all of ``x``, computed ``batch_size`` examples at a time."""
    parts = [
        forward(steps, x[i : i + batch_size], training=False)
        for i in range(0, x.shape[0], batch_size)
    ]
    return np.concatenate(parts, axis=0)


def fit_events(
    train_on_batch: Callable[[np.ndarray, np.ndarray], tuple[float, float]],
    steps: list,
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
    """Train on prepared arrays, yielding progress (see :class:`TrainEvent`).

    ``train_on_batch(x, y)`` makes one optimizer step and returns the batch's
    ``(loss, accuracy)``; ``steps`` run the validation pass. ``rng`` draws
    each epoch's order when ``shuffle`` is true; otherwise batches follow the
    order of ``x``.
    """
    n = x.shape[0]
    n_val = 0 if validation is None else validation[0].shape[0]
    batches = -(-n // batch_size)  # per epoch
    total = batches * epochs
    start = time.perf_counter()
    global_step = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n) if shuffle else np.arange(n)
        epoch_start = time.perf_counter()
        seen, loss_sum, correct_sum = 0, 0.0, 0.0
        for step in range(1, batches + 1):
            idx = order[(step - 1) * batch_size : step * batch_size]
            batch_loss, batch_accuracy = train_on_batch(x[idx], y[idx])
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
                steps=batches,
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
        for val_seen, val_loss_sum, val_correct in evaluate_batches(
            steps, *validation, validation_batch_size
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
