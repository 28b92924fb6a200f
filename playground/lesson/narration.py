"""The lesson log's sentences (shown as ``LOG: …`` lines, newest last).

Every function returns plain text with the live numbers filled in; the
:class:`~playground.lesson.machine.Lesson` decides when to write them.
"""

from __future__ import annotations

from playground.lesson import live
from playground.lesson.content import LESSON_DATASET, TOTAL, Step
from playground.lesson.inputs import PixelPick, Run, Snapshot
from playground.spec import KINDS

__all__ = ["LOG_PREFIX", "MAX_LINE", "loss_pair", "model_changes"]

LOG_PREFIX = "LOG: "
MAX_LINE = 200  # characters; longer lines are cut (they are kept in saved progress)
LETTERS = "ABCD"


def clip(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def loss_pair(value: float, target: float) -> tuple[str, str]:
    """``value`` and ``target`` as text, with enough digits that "0.499 < 0.50" does
    not read "0.50 < 0.50"."""
    digits = 2
    while digits < 6 and f"{value:.{digits}f}" == f"{target:.{digits}f}" and value != target:
        digits += 1
    return f"{value:.{digits}f}", f"{target:.2f}"


def keras_names(kinds) -> str:
    return ", ".join(KINDS[k].keras for k in kinds)


def _end(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def step_opened(step: Step) -> str:
    return _end(f"Step {step.number} / {TOTAL}: {step.title}")


def step_complete(step: Step, following: Step | None) -> str:
    if following is None:
        return f"Step {step.number} complete."
    return _end(
        f"Step {step.number} complete. Next: step {following.number} / {TOTAL}, {following.title}"
    )


def path_complete(score: int) -> str:
    return (
        f"Path complete: all {TOTAL} steps done, check score {score} / 100. Every block is "
        "unlocked now."
    )


def unlocked(kinds, best: float | None, target: float | None) -> str:
    if best is None or target is None:
        return f"Unlocked {keras_names(kinds)}."
    value, goal = loss_pair(best, target)
    return f"Unlocked {keras_names(kinds)}: validation loss {value} < {goal}"


def milestone_met(text: str) -> str:
    return f"Done: {text}."


def answer(step: Step, index: int, right: bool, first_try: bool) -> str:
    letter = LETTERS[index]
    if right:
        return f"Check {step.number}: {letter} is right" + (
            " on the first try." if first_try else "."
        )
    return f"Check {step.number}: {letter} is not it; read why and try again."


def pixel(pick: PixelPick) -> str:
    where = f"Pixel at row {pick.row + 1}, column {pick.col + 1} is {pick.value:.2f}"
    if pick.brightest:
        return f"{where}: the brightest value in this image. Found it."
    return f"{where}; the brightest pixel is {pick.top:.2f}. Look for a whiter one."


def edge_pick(index: int, score: float, good: bool) -> str:
    if good:
        return (
            f"Map {index + 1}: its filter's weights nearly cancel out (edge score {score:.2f}), "
            "so it stays dark on flat areas and lights up where brightness changes. An edge "
            "detector."
        )
    return (
        f"Map {index + 1}: edge score {score:.2f}, below {live.EDGE_THRESHOLD:.2f}. Its weights "
        "are mostly of one sign, so it follows brightness more than edges. Look for a map "
        "that is dark on flat areas."
    )


def guess(step: Step, value: int, right: bool, snapshot: Snapshot, index: int) -> str:
    """Feedback on a guessed number; a wrong guess gets the recipe, not the result."""
    if right:
        if step.predict == "flatten_length":
            shape = live.layer_input_shape(snapshot, index)
            return (
                f"Right: Flatten turns {live.shape_text(shape)} into a vector of {value:,} values."
            )
        return "Right: " + (live.layer_sentence(snapshot, index) or f"{value:,}") + "."
    block = snapshot.layers[index]
    shape = live.layer_input_shape(snapshot, index)
    if step.predict == "flatten_length":
        return (
            f"Not quite: you guessed {value:,}. Multiply the three numbers of the shape before "
            f"Flatten ({live.shape_text(shape)})."
        )
    k, f = block.args["kernel_size"], block.args["filters"]
    channels = shape[-1] if shape else "?"
    return (
        f"Not quite: you guessed {value:,}. Each of the {f} filters has {k}×{k}×{channels} "
        "weights plus one bias."
    )


def training(run: Run) -> str:
    parts = []
    if run.best is not None:
        parts.append(f"best validation loss {run.best:.2f}")
    if run.test_accuracy is not None:
        parts.append(f"test accuracy {run.test_accuracy * 100:.1f} %")
    parts.append(f"{run.params:,} parameters")
    if run.samples_per_sec:
        parts.append(f"{run.samples_per_sec:,.0f} images/s")
    epochs = len(run.val_losses)
    head = f"Trained on {run.dataset}" + (f" for {epochs} epochs" if epochs else "")
    return f"{head}: {', '.join(parts)}."


def not_below(best: float, target: float) -> str:
    value, goal = loss_pair(best, target)
    return (
        f"Validation loss {value} is not below {goal} yet. Press Train again to continue from "
        "these weights, or give the network more filters."
    )


def mode(new_mode: str, step: int) -> str:
    if new_mode == "free":
        return "Free play: every block is unlocked. Your lesson model waits for you here."
    return f"Back to the lesson at step {step} / {TOTAL}."


def started_over() -> str:
    return f"Started over at step 1 / {TOTAL}."


def _dataset(snapshot: Snapshot) -> str:
    text = (
        f"Dataset {snapshot.dataset}: images of {live.shape_text(snapshot.input_shape)}, "
        f"{snapshot.num_classes} classes."
    )
    if snapshot.dataset != LESSON_DATASET:
        text += f" The lesson's targets count for {LESSON_DATASET} only."
    return text


# What a step hides until the learner has guessed it (Lesson.hidden_number): the layer
# kind whose sentence would give it away, and what the log says instead.
_HIDDEN = {
    "conv_params": ("conv2d", "its parameter count stays hidden until you guess it"),
    "flatten_length": ("flatten", "its length stays hidden until you guess it"),
}


def _sentence(snapshot: Snapshot, index: int, hidden: str | None) -> str:
    block = snapshot.layers[index]
    if hidden in _HIDDEN and block.kind == _HIDDEN[hidden][0]:
        return f"{live.call_text(block)}; {_HIDDEN[hidden][1]}"
    return live.layer_sentence(snapshot, index) or live.call_text(block)


def model_changes(old: Snapshot | None, new: Snapshot, hidden: str | None = None) -> list[str]:
    """What changed between two snapshots, with the arithmetic of an added or changed layer.

    ``hidden`` (``"conv_params"`` / ``"flatten_length"``): the number the learner is
    about to guess; no sentence gives it (or a total it could be worked out from) away.
    """
    if old is None:
        return []
    lines = []
    if old.dataset != new.dataset:
        lines.append(_dataset(new))
    a, b = list(old.layers), list(new.layers)
    if a == b:
        return lines
    index = _single_edit(a, b)
    if len(b) == len(a) + 1 and index is not None:
        lines.append(f"New layer {index + 1}: {_sentence(new, index, hidden)}.")
    elif len(b) == len(a) - 1 and index is not None:
        params = old.rows[index].params if index < len(old.rows) else None
        cost = f" ({params:,} parameters)" if params and hidden is None else ""
        lines.append(f"Removed {live.call_text(a[index])}{cost}.")
    elif len(b) == len(a) and index is not None:
        lines.append(f"Layer {index + 1} changed: {_sentence(new, index, hidden)}.")
    elif hidden is None:
        lines.append(f"Model changed: {len(b)} layers, {new.total_params:,} parameters.")
    else:
        lines.append(f"Model changed: {len(b)} layers.")
    return lines


def _single_edit(a: list, b: list) -> int | None:
    """The index of the one block added, removed or changed between ``a`` and ``b``."""
    if len(b) == len(a) + 1:
        return next((i for i in range(len(b)) if b[:i] + b[i + 1 :] == a), None)
    if len(b) == len(a) - 1:
        return next((i for i in range(len(a)) if a[:i] + a[i + 1 :] == b), None)
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return diff[0] if len(diff) == 1 else None
    return None
