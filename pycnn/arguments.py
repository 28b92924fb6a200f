"""Checks of constructor and call arguments: a normalised value or a :class:`ModelError`.

Layers, the model and the datasets read their integer, pair, padding, seed
and input-shape arguments through these, so the same mistake gets the same
message everywhere (Keras keeps the same job in ``utils/argument_validation.py``).
"""

from __future__ import annotations

import numbers
from typing import Any

from .errors import ModelError

__all__ = [
    "PADDINGS",
    "is_int",
    "normalize_input_shape",
    "normalize_padding",
    "normalize_pair",
    "normalize_positive_int",
    "normalize_seed",
]

PADDINGS = ("valid", "same")


def is_int(value: Any) -> bool:
    """An integer, NumPy's included, but not ``True``/``False``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_positive_int(value: Any, arg: str, kind: str | None, hint: str = "") -> int:
    """``value`` as a positive ``int`` or a :class:`ModelError`."""
    if not is_int(value) or value <= 0:
        raise ModelError(
            f"{arg} must be a positive integer",
            hint or f"Use a whole number such as 1, 2 or 3 for {arg}",
            f"{arg}={value!r}",
            layer_kind=kind,
        )
    return int(value)


def normalize_seed(value: Any, kind: str | None, hint: str = "Use e.g. seed=0") -> int | None:
    """A seed for :func:`numpy.random.default_rng`: a non-negative ``int``, or ``None``."""
    if value is None:
        return None
    if not is_int(value) or value < 0:
        raise ModelError(
            "seed must be a non-negative integer or None",
            hint,
            f"seed={value!r}",
            layer_kind=kind,
        )
    return int(value)


def normalize_pair(value: Any, arg: str, kind: str) -> tuple[int, int]:
    """An int or a pair of ints (height, width), all positive, as a 2-tuple.

    ``3`` -> ``(3, 3)``; ``(3, 2)`` -> ``(3, 2)``.
    """
    if is_int(value):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = tuple(value)
    else:
        raise ModelError(
            f"{arg} must be an integer or a pair of integers (height, width)",
            f"Use e.g. {arg}=3 or {arg}=(3, 3)",
            f"{arg}={value!r}",
            layer_kind=kind,
        )
    if not all(is_int(v) and v > 0 for v in pair):
        raise ModelError(
            f"{arg} must contain positive integers",
            f"Use whole numbers of at least 1, e.g. {arg}=2",
            f"{arg}={value!r}",
            layer_kind=kind,
        )
    return int(pair[0]), int(pair[1])


def normalize_padding(value: Any, kind: str) -> str:
    """``'valid'`` or ``'same'`` (case-insensitive) or a :class:`ModelError`."""
    if isinstance(value, str) and value.lower() in PADDINGS:
        return value.lower()
    raise ModelError(
        "unknown padding",
        "Use padding='valid' (no padding, output shrinks) or padding='same' "
        "(zero padding, output size ceil(n / strides))",
        f"padding={value!r}",
        layer_kind=kind,
    )


def normalize_input_shape(shape: Any) -> tuple[int, ...]:
    """A model input shape (no batch dimension) as a tuple of positive ints."""
    if is_int(shape):
        shape = (shape,)
    if (
        not isinstance(shape, (tuple, list))
        or not shape
        or not all(is_int(d) and d > 0 for d in shape)
    ):
        raise ModelError(
            "input_shape must be a non-empty tuple of positive integers, without the batch size",
            "Use e.g. input_shape=(28, 28, 1) for grey 28x28 images",
            f"input_shape={shape!r}",
            layer_kind="Input",
        )
    return tuple(int(d) for d in shape)
