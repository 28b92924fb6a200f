"""Checks of the arrays passed to ``fit``, ``evaluate`` and ``predict``.

Each function takes what a user passed and returns an array the layers can
use as is, or raises a :class:`ModelError` that says which argument is
wrong, how to fix it, and what was received. Nothing here depends on the
model beyond the shapes it is given.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import ModelError

__all__ = [
    "as_array",
    "check_label_range",
    "class_labels",
    "float_array",
    "images",
    "split_validation",
    "validation_pair",
]


def as_array(value: Any, arg: str) -> np.ndarray:
    """``np.asarray(value)``, or a ModelError for what cannot become one array."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:  # e.g. ragged nested lists
        raise ModelError(
            f"{arg} cannot be turned into an array",
            "Pass a NumPy array",
            f"{type(value).__name__} ({err})",
            layer_kind="Input",
        ) from None


def float_array(x: Any, arg: str = "x") -> np.ndarray:
    """``x`` as an array of floating-point values (not yet shape-checked)."""
    x = as_array(x, arg)
    if not np.issubdtype(x.dtype, np.floating):
        raise ModelError(
            f"{arg} must hold floating-point values",
            "Convert images to floats in [0, 1], e.g. x.astype('float32') / 255",
            f"{arg}.dtype={x.dtype}",
            layer_kind="Input",
        )
    return x


def images(x: np.ndarray, input_shape: tuple[int, ...], arg: str = "x") -> np.ndarray:
    """A float array checked as a non-empty batch ``(N, *input_shape)`` of finite numbers.

    Returns it as float32 (no copy when it already is).
    """
    expected = (x.shape[0],) + input_shape if x.ndim else None
    if x.ndim != len(input_shape) + 1 or x.shape != expected:
        raise ModelError(
            f"{arg} must have shape (N, {', '.join(map(str, input_shape))})",
            _shape_hint(x.shape, input_shape),
            f"{arg}.shape={x.shape}",
            layer_kind="Input",
        )
    if x.shape[0] == 0:
        raise ModelError(
            f"{arg} holds no examples",
            "Pass at least one example",
            f"{arg}.shape={x.shape}",
            layer_kind="Input",
        )
    with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused just below
        x = x.astype(np.float32, copy=False)
    # min and max propagate NaN and show infinities, without a temporary the size of x
    if not (np.isfinite(x.min()) and np.isfinite(x.max())):
        bad = np.flatnonzero(~np.isfinite(x.reshape(x.shape[0], -1)).all(axis=1))
        raise ModelError(
            f"{arg} must hold finite numbers: NaN or infinity would make every result NaN",
            f"Drop or repair those examples, e.g. {arg} = np.nan_to_num({arg})",
            f"NaN or infinity in {bad.size} example(s), the first {arg}[{bad[0]}]",
            layer_kind="Input",
        )
    return x


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if got == want:
        return "This is a single example: add a batch axis, e.g. x[None]"
    if len(got) == len(want) and got[1:] == want[:-1] and want[-1] == 1:
        return "Add a channel axis, e.g. x[..., None]"
    if len(got) == len(want) + 1 and got[-1] != want[-1] and got[1:-1] == want[:-1]:
        return f"The model expects {want[-1]} channel(s); change input_shape or the data"
    return "Make the data and the model's input_shape agree"


def class_labels(y: Any, n: int, arg: str = "y") -> np.ndarray:
    """One whole-number class label per example, as an ``intp`` array of shape ``(n,)``."""
    y = as_array(y, arg)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ModelError(
            f"{arg} must hold one integer class label per example",
            "Pass labels shaped (N,), e.g. array([3, 0, 7, ...])",
            f"{arg}.shape={y.shape} for {n} examples",
            layer_kind="Input",
        )
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ModelError(
            f"{arg} must hold integer class labels",
            "Use integer labels 0, 1, 2, ...",
            f"{arg}.dtype={y.dtype}",
            layer_kind="Input",
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise ModelError(
            f"{arg} must hold whole-number class labels",
            "Use integer class indices, not one-hot vectors or probabilities",
            f"{arg}.dtype={y.dtype}",
            layer_kind="Input",
        )
    return y.astype(np.intp, copy=False)


def check_label_range(y: np.ndarray, classes: int, index: int, layer) -> None:
    """Every label must name one of the ``classes`` outputs of ``layer`` (the model's last)."""
    low, high = (int(y.min()), int(y.max())) if y.size else (0, 0)
    if low < 0 or high >= classes:
        raise ModelError(
            f"labels must be class indices in [0, {classes - 1}] for its {classes} outputs",
            f"Give the last layer one unit per class (e.g. Dense({max(high + 1, classes)}, "
            "activation='softmax')), or check the labels",
            f"labels from {low} to {high}",
            layer_index=index,
            layer_name=layer.name,
            layer_kind=layer.kind,
        )


def validation_pair(validation_data: Any) -> tuple[Any, Any]:
    """``(x_val, y_val)`` from ``validation_data``, still unchecked."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ModelError(
            "validation_data must be a pair (x_val, y_val)",
            "Pass validation_data=(x_val, y_val)",
            f"{type(validation_data).__name__}",
            layer_kind="Model",
        )
    return validation_data[0], validation_data[1]


def split_validation(x: np.ndarray, y: np.ndarray, validation_split: Any):
    """``x_train, y_train, (x_val, y_val)``: the *last* fraction held out, like Keras."""
    ok = (
        isinstance(validation_split, numbers.Real)
        and not isinstance(validation_split, bool)
        and 0 <= validation_split < 1
    )
    if not ok:
        raise ModelError(
            "validation_split must be a number in [0, 1)",
            "Use e.g. validation_split=0.1 to hold out the last 10%",
            f"validation_split={validation_split!r}",
            layer_kind="Model",
        )
    split_at = int(x.shape[0] * (1 - validation_split))
    if split_at == 0 or split_at == x.shape[0]:
        raise ModelError(
            "validation_split leaves no training or no validation examples",
            "Use more examples or a different validation_split",
            f"validation_split={validation_split!r} with {x.shape[0]} examples",
            layer_kind="Model",
        )
    return x[:split_at], y[:split_at], (x[split_at:], y[split_at:])
