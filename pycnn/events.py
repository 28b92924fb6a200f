"""Progress events yielded by :meth:`pycnn.Sequential.fit_iter`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TrainEvent"]


@dataclass(frozen=True)
class TrainEvent:
    """One step of training progress.

    ``kind`` is ``"batch"`` after every optimizer step and ``"epoch"`` once
    at the end of each epoch (after validation). ``loss`` and ``accuracy``
    are running means over the epoch so far (weighted by batch size, as
    Keras reports them); on an epoch event they are the epoch's values.
    ``val_loss``/``val_accuracy`` are ``None`` until validation has run
    (only epoch events carry them, and only with validation data).

    Counters are 1-based: ``epoch`` in ``1..epochs``, ``step`` in
    ``1..steps`` (batches per epoch), ``global_step`` in ``1..total_steps``.
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

    @property
    def progress(self) -> float:
        """Fraction of all training steps done, in [0, 1]."""
        return self.global_step / self.total_steps if self.total_steps else 1.0

    def to_dict(self) -> dict:
        return asdict(self)
