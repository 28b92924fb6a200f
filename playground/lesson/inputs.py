"""What the lesson reads from the playground: plain values, never the state object.

* :class:`Snapshot` — the model as it is now: blocks, dataset, input shape,
  classes, the summary rows (anything with ``kind``, ``output_shape``,
  ``params``, ``error``: :class:`RowLike`), the model-level error and the
  share-link query. :meth:`Snapshot.from_state` builds one from the
  playground's state object.
* :class:`Run` — one finished training run: dataset, block kinds, validation
  loss per finished epoch, test accuracy, parameters, speed.
  :meth:`Run.from_state` builds one.
* :class:`Evidence` — what one event brings to the task predicates: a snapshot
  and/or a run, a picked pixel, a guessed number, a picked feature map's edge
  score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from playground.spec import Block

__all__ = ["Evidence", "PixelPick", "Row", "RowLike", "Run", "Snapshot"]


class RowLike(Protocol):
    """One summary row as the playground computes it (Keras semantics)."""

    kind: str  # Keras class name, e.g. "Conv2D"
    output_shape: tuple[int, ...] | None  # without the batch dimension
    params: int | None
    error: str | None


@dataclass(frozen=True)
class Row:
    """A plain :class:`RowLike` (tests and callers without the playground's rows)."""

    kind: str
    output_shape: tuple[int, ...] | None
    params: int | None
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The playground's model at one moment.

    ``rows[i]`` describes ``layers[i]``; ``error`` is the model-level problem
    (None when the model can be trained); ``query`` is the share-link query of
    the model and its training settings (``?dataset=…&layers=…&epochs=…``).
    """

    layers: tuple[Block, ...]
    dataset: str
    input_shape: tuple[int, int, int]
    num_classes: int
    rows: tuple[RowLike, ...]
    error: str | None = None
    query: str = ""

    @property
    def valid(self) -> bool:
        return self.error is None and len(self.rows) == len(self.layers) > 0

    @property
    def total_params(self) -> int:
        return sum(int(r.params or 0) for r in self.rows)

    @classmethod
    def from_state(cls, state: Any) -> Snapshot:
        """From the playground's state object (``layers``, ``dataset``, ``info``,
        ``analysis`` with ``rows``/``error``, ``query()``) — the one place that
        knows its attribute names."""
        analysis = state.analysis
        return cls(
            layers=tuple(state.layers),
            dataset=state.dataset,
            input_shape=tuple(state.info.input_shape),
            num_classes=int(state.info.num_classes),
            rows=tuple(analysis.rows) if analysis is not None else (),
            error=None if analysis is None else analysis.error,
            query=state.query(),
        )


@dataclass(frozen=True)
class Run:
    """One finished training run (also a stopped one: its finished epochs count).

    ``val_losses``: the validation loss after each finished epoch (empty with a
    validation split of 0); ``kinds``: the block kinds of the trained model, in
    order; ``samples_per_sec``: training images per second.
    """

    dataset: str
    kinds: tuple[str, ...]
    val_losses: tuple[float, ...] = ()
    test_accuracy: float | None = None
    params: int = 0
    samples_per_sec: float | None = None

    @classmethod
    def from_state(
        cls,
        state: Any,
        val_losses: Sequence[float],
        test_accuracy: float | None = None,
        samples_per_sec: float | None = None,
    ) -> Run:
        """A run of the model now in the playground's state object (see Snapshot.from_state)."""
        analysis = state.analysis
        return cls(
            dataset=state.dataset,
            kinds=tuple(b.kind for b in state.layers),
            val_losses=tuple(float(v) for v in val_losses if v is not None),
            test_accuracy=test_accuracy,
            params=int(analysis.total_params) if analysis is not None else 0,
            samples_per_sec=samples_per_sec,
        )

    @property
    def best(self) -> float | None:
        """The lowest finite validation loss of the run, or None."""
        finite = [v for v in self.val_losses if isinstance(v, (int, float)) and math.isfinite(v)]
        return min(finite) if finite else None


@dataclass(frozen=True)
class PixelPick:
    row: int  # 0-based
    col: int
    value: float
    top: float  # the image's highest value

    @property
    def brightest(self) -> bool:
        return self.value >= self.top


@dataclass(frozen=True)
class Evidence:
    snapshot: Snapshot | None = None
    run: Run | None = None
    pixel: PixelPick | None = None
    guess: int | None = None  # the learner's number for the step's ``predict``
    edge: float | None = None  # edge_score of the picked feature map's filter
