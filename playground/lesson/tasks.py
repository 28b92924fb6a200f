"""The predicates that judge a step's task, one per milestone key.

Each milestone of a step (``content.Milestone``) names a predicate in
:data:`PREDICATES` (a name → function registry); a predicate answers "is this
milestone met by this evidence?" from plain values
(:class:`~playground.lesson.inputs.Evidence`). Milestones are sticky: once
met, the lesson remembers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from playground.lesson import live
from playground.lesson.content import LESSON_DATASET, Milestone
from playground.lesson.inputs import Evidence, Run
from playground.spec import KINDS, Block

__all__ = ["PREDICATES", "run_problem"]


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


def _guessed(m: Milestone, ev: Evidence) -> bool:
    """The guess is the model's own number (``m.key``: which one, as ``Step.predict``)."""
    s = ev.snapshot
    return s is not None and ev.guess is not None and ev.guess == live.guessed_number(s, m.key)


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
    "conv_params": _guessed,
    "target_shape": _target_shape,
    "edge_map": _edge_map,
    "pool_after_conv": _pool_after_conv,
    "flatten_length": _guessed,
    "loss": _loss,
}
