"""What the lesson reads from the playground, and the predicates that judge a task.

The lesson never imports the playground's state object: the page hands it
plain values.

* :class:`Snapshot` — the model as it is now: blocks, dataset, input shape,
  classes, the summary rows (anything with ``kind``, ``output_shape``,
  ``params``, ``error``), the model-level error and the share-link query.
  :meth:`Snapshot.from_state` builds one from the playground's state object.
* :class:`Run` — one finished training run: dataset, block kinds, validation
  loss per finished epoch, test accuracy, parameters, speed.
* :class:`Evidence` — what one event brought: a snapshot and/or a run, a picked
  pixel, a guessed number, a picked feature map.

Each milestone of a step (``content.Milestone``) names a predicate in
:data:`PREDICATES`; a predicate answers "is this milestone met by this
evidence?". Milestones are sticky: once met, the lesson remembers it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from playground.lesson import live
from playground.lesson.content import LESSON_DATASET, Milestone
from playground.spec import KINDS, Block

__all__ = [
    "PREDICATES",
    "Evidence",
    "PixelPick",
    "Row",
    "RowLike",
    "Run",
    "Snapshot",
    "run_problem",
]


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


# --------------------------------------------------------------------------- model shapes


def _raw_dense(layers: Sequence[Block]) -> int | None:
    """Index of a hidden Dense layer that sees the raw pixels: only Flatten/Dropout
    before it, and another layer after it (the output layer is not "hidden")."""
    for i, block in enumerate(layers):
        if block.kind == "dense":
            return i if i < len(layers) - 1 else None
        if block.kind not in ("flatten", "dropout"):
            return None
    return None


def _before_flatten(layers: Sequence[Block], kind: str) -> bool:
    for block in layers:
        if block.kind == kind:
            return True
        if block.kind == "flatten":
            return False
    return False


# --------------------------------------------------------------------------- predicates


def _brightest(m: Milestone, ev: Evidence) -> bool:
    return ev.pixel is not None and ev.pixel.brightest


def _dense_on_pixels(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    return s is not None and s.valid and _raw_dense(s.layers) is not None


def _conv_replaces_dense(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    return (
        s is not None
        and s.valid
        and _before_flatten(s.layers, "conv2d")
        and _raw_dense(s.layers) is None
    )


def _conv_params(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    if s is None or ev.guess is None:
        return False
    i = live.first_conv_index(s)
    return i is not None and s.rows[i].params is not None and ev.guess == s.rows[i].params


def _target_shape(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    if s is None:
        return False
    i = live.first_conv_index(s)
    if i is None or s.rows[i].output_shape is None or s.rows[i].error is not None:
        return False
    return tuple(s.rows[i].output_shape[:2]) == live.target_shape(s.input_shape)


def _edge_map(m: Milestone, ev: Evidence) -> bool:
    return ev.edge is not None and ev.edge >= live.EDGE_THRESHOLD


def _pool_after_conv(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    if s is None or not s.valid:
        return False
    kinds = [b.kind for b in s.layers]
    return "conv2d" in kinds and "maxpool" in kinds[kinds.index("conv2d") :]


def _flatten_length(m: Milestone, ev: Evidence) -> bool:
    s = ev.snapshot
    if s is None or ev.guess is None:
        return False
    i = live.flatten_index(s)
    shape = None if i is None else s.rows[i].output_shape
    return shape is not None and ev.guess == shape[0]


def run_problem(m: Milestone, run: Run) -> str | None:
    """Why ``run`` cannot count for the loss milestone ``m`` (None: it can)."""
    if run.dataset != LESSON_DATASET:
        return (
            f"The lesson's targets were measured on the {LESSON_DATASET} images, so this run on "
            f"{run.dataset} does not count towards them."
        )
    if run.best is None:
        return (
            "This run had no validation images (validation split 0), so it has no validation "
            "loss to compare with the target. Set the validation split back to 0.1."
        )
    missing = [KINDS[k].keras for k in m.needs if k not in run.kinds]
    if missing:
        return f"This step's target counts for a model with {' and '.join(missing)}."
    return None


def _loss(m: Milestone, ev: Evidence) -> bool:
    run = ev.run
    return (
        run is not None
        and m.target is not None
        and run_problem(m, run) is None
        and run.best is not None
        and run.best < m.target
    )


PREDICATES: dict[str, Callable[[Milestone, Evidence], bool]] = {
    "brightest": _brightest,
    "dense_on_pixels": _dense_on_pixels,
    "conv_replaces_dense": _conv_replaces_dense,
    "conv_params": _conv_params,
    "target_shape": _target_shape,
    "edge_map": _edge_map,
    "pool_after_conv": _pool_after_conv,
    "flatten_length": _flatten_length,
    "loss": _loss,
}
