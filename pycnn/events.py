"""Progress events yielded by :meth:`pycnn.Sequential.fit_iter`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TrainEvent"]


@dataclass(frozen=True)
class TrainEvent:
    """One step of training progress.

    ``kind`` is one of:

    * ``"batch"`` after every optimizer step;
    * ``"validation"`` (only with validation data) before each batch of the
      end-of-epoch validation pass, so a consumer that stops iterating there
      stops within one validation batch. It is progress only: ``val_seen``
      of ``val_samples`` examples are done, ``val_loss``/``val_accuracy``
      are still ``None``, and the other fields repeat the epoch's training
      figures (``step == steps``). Consumers that don't care can skip it;
    * ``"epoch"`` once at the end of each epoch, after validation.

    So one epoch reads ``batch × steps``, then, with validation data,
    ``validation × ceil(val_samples / validation batch size)`` (by default
    :meth:`pycnn.Sequential.inference_batch_size`, at most 256), then ``epoch``.
    Stopping (no longer iterating) at any point keeps the weights of the
    last batch event; validation never changes them.

    ``loss`` and ``accuracy`` are running means over the epoch so far
    (weighted by batch size, as Keras reports them); on an epoch event they
    are the epoch's values. ``val_loss``/``val_accuracy`` are ``None`` until
    validation has run (only epoch events carry them, and only with
    validation data). ``samples_per_sec`` is the epoch's training throughput
    (validation time is not counted).

    Counters are 1-based: ``epoch`` in ``1..epochs``, ``step`` in
    ``1..steps`` (batches per epoch), ``global_step`` in ``1..total_steps``.
    ``val_samples`` is the size of the validation set (0 without one) and
    ``val_seen`` how many of them this epoch's validation has evaluated: 0
    on batch events, ``val_samples`` on epoch events.
    """

    kind: str
    epoch: int
    epochs: int
    step: int
    steps: int
    global_step: int
    total_steps: int
    loss: float
    accuracy: float
    batch_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    samples_seen: int
    samples_per_sec: float
    elapsed: float
    val_seen: int = 0
    val_samples: int = 0

    @property
    def progress(self) -> float:
        """Fraction of all training steps done, in [0, 1]."""
        return self.global_step / self.total_steps if self.total_steps else 1.0

    @property
    def val_progress(self) -> float:
        """Fraction of this epoch's validation done, in [0, 1] (1 without validation data)."""
        return self.val_seen / self.val_samples if self.val_samples else 1.0

    def to_dict(self) -> dict:
        return asdict(self)
