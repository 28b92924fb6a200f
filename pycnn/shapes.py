"""Shapes, parameter counts and costs, known before any data (Keras arithmetic).

All functions here are pure integer arithmetic. Shapes are channels-last and
never include the batch dimension: an image is ``(height, width, channels)``,
a flat vector ``(features,)``.

Output length of a sliding window (convolution or pooling) along one axis::

    valid: out = floor((n - k) / s) + 1      (needs n >= k)
    same:  out = ceil(n / s)                  (pads (k - 1)-ish, extra at the end)

:func:`check_layers` validates a whole list of layers without raising, so a
UI can show every row of the summary table even when one layer is invalid.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from .errors import ModelError

__all__ = [
    "PADDINGS",
    "LayerCheck",
    "activation_memory",
    "check_layers",
    "conv2d_macs",
    "conv2d_output_shape",
    "conv2d_params",
    "conv_output_length",
    "dense_macs",
    "dense_params",
    "flat_size",
    "normalize_input_shape",
    "normalize_padding",
    "normalize_pair",
    "normalize_positive_int",
    "window_output_shape",
]

PADDINGS = ("valid", "same")


# --------------------------------------------------------------------------- argument checks


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_positive_int(value: Any, arg: str, kind: str, hint: str = "") -> int:
    """``value`` as a positive ``int`` or a :class:`ModelError`."""
    if not _is_int(value) or value <= 0:
        raise ModelError(
            f"{arg} must be a positive integer",
            hint or f"Use a whole number such as 1, 2 or 3 for {arg}",
            f"{arg}={value!r}",
            layer_kind=kind,
        )
    return int(value)


def normalize_pair(value: Any, arg: str, kind: str) -> tuple[int, int]:
    """An int or a pair of ints (height, width), all positive, as a 2-tuple.

    ``3`` -> ``(3, 3)``; ``(3, 2)`` -> ``(3, 2)``.
    """
    if _is_int(value):
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
    if not all(_is_int(v) and v > 0 for v in pair):
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
    if _is_int(shape):
        shape = (shape,)
    if (
        not isinstance(shape, (tuple, list))
        or not shape
        or not all(_is_int(d) and d > 0 for d in shape)
    ):
        raise ModelError(
            "input_shape must be a non-empty tuple of positive integers, without the batch size",
            "Use e.g. input_shape=(28, 28, 1) for grey 28x28 images",
            f"input_shape={shape!r}",
            layer_kind="Input",
        )
    return tuple(int(d) for d in shape)


# --------------------------------------------------------------------------- arithmetic


def conv_output_length(n: int, k: int, s: int, padding: str) -> int:
    """Output length along one axis; ``<= 0`` means the window does not fit."""
    if padding == "same":
        return -(-n // s)
    return (n - k) // s + 1


def window_output_shape(
    input_shape: tuple[int, ...],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    channels: int,
    *,
    kind: str,
    window_arg: str,
) -> tuple[int, int, int]:
    """Output ``(H_out, W_out, channels)`` of a 2-D sliding window layer.

    Raises :class:`ModelError` if the input is not an image or the window
    is larger than the input with ``valid`` padding.
    """
    if len(input_shape) != 3:
        raise ModelError(
            f"{kind} expects an image input (height, width, channels), "
            f"but its input has {len(input_shape)} dimension(s)",
            "Put convolution and pooling layers before Flatten and Dense, "
            "and give the model an image input_shape such as (28, 28, 1)",
            f"input_shape={tuple(input_shape)}",
            layer_kind=kind,
        )
    h, w, _ = input_shape
    h_out = conv_output_length(h, window[0], strides[0], padding)
    w_out = conv_output_length(w, window[1], strides[1], padding)
    if h_out <= 0 or w_out <= 0:
        raise ModelError(
            f"{window_arg} {window} is larger than its input ({h}, {w})",
            f"Use a smaller {window_arg}, padding='same', or fewer pooling/strided "
            "layers before this one",
            f"input_shape={tuple(input_shape)}, {window_arg}={window}, padding='{padding}'",
            layer_kind=kind,
        )
    return h_out, w_out, channels


def conv2d_output_shape(input_shape, filters, kernel_size, strides, padding):
    """``(H_out, W_out, filters)`` of a Conv2D layer."""
    return window_output_shape(
        input_shape, kernel_size, strides, padding, filters, kind="Conv2D", window_arg="kernel_size"
    )


def conv2d_params(input_shape, filters: int, kernel_size: tuple[int, int]) -> int:
    """``(kh * kw * c_in + 1) * filters`` (weights plus one bias per filter)."""
    return (kernel_size[0] * kernel_size[1] * input_shape[-1] + 1) * filters


def conv2d_macs(input_shape, output_shape, kernel_size) -> int:
    """Multiply-adds per example: every output value is a kh*kw*c_in dot product."""
    h_out, w_out, filters = output_shape
    return h_out * w_out * filters * kernel_size[0] * kernel_size[1] * input_shape[-1]


def dense_params(input_shape, units: int) -> int:
    """``(in + 1) * units``."""
    return (input_shape[-1] + 1) * units


def dense_macs(input_shape, units: int) -> int:
    return input_shape[-1] * units


def flat_size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def activation_memory(input_shape, output_shapes, batch_size: int) -> int:
    """Bytes of float32 activations plus their gradients for one training batch.

    Counts the input and every layer output (``output_shapes``, e.g. from
    :func:`check_layers` rows), each twice: value and gradient. Kernel
    scratch buffers (im2col patches) and the parameters are not included.
    Pure arithmetic, so a UI can refuse a model before allocating it.
    """
    floats = flat_size(input_shape) + sum(flat_size(s) for s in output_shapes)
    return 2 * 4 * int(batch_size) * floats


# --------------------------------------------------------------------------- whole model


@dataclass(frozen=True)
class LayerCheck:
    """One row of :func:`check_layers`.

    ``ok`` rows have ``output_shape``, ``params`` and ``macs``; rows with an
    ``error`` (a :class:`ModelError` whose ``layer_index`` is this row's
    index) have ``output_shape=None`` and zero params/macs.
    """

    index: int
    name: str
    kind: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    error: ModelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_layers(layers, input_shape) -> list[LayerCheck]:
    """Validate layers one by one and never raise for a user mistake.

    Parameters
    ----------
    layers : list
        Layer objects, or Keras-style dicts ``{"class_name": "Conv2D",
        "config": {...}}`` (errors while *creating* a layer from a dict are
        reported in its row too).
    input_shape : tuple
        Model input, no batch dimension, e.g. ``(28, 28, 1)``.

    Returns
    -------
    list of LayerCheck
        One row per layer, in order, with Keras default names
        (``conv2d``, ``conv2d_1``, ...) unless the layer has its own name.
        After an invalid layer the following layers are checked as if the
        invalid one were absent (they receive its input shape), so the
        rest of the table stays informative. If ``input_shape`` itself is
        invalid, every row carries that error.
    """
    from .layers.base import Layer, assign_default_names  # layers import this module
    from .serialization import layer_from_config

    objects: list[Any] = []  # a Layer, or the kind name of one that could not be made
    creation_errors: dict[int, ModelError] = {}
    for i, item in enumerate(layers):
        if isinstance(item, Layer):
            objects.append(item)
            continue
        try:
            objects.append(layer_from_config(item))
        except ModelError as err:
            creation_errors[i] = err
            objects.append(_kind_of(item, None))
    names = assign_default_names(objects, apply=False)

    try:
        shape: tuple[int, ...] | None = normalize_input_shape(input_shape)
        input_error = None
    except ModelError as err:
        shape, input_error = None, err

    rows = []
    for i, layer in enumerate(objects):
        kind = layer if isinstance(layer, str) else layer.kind
        error = creation_errors.get(i) or input_error
        out = None
        params = macs = 0
        if error is None:
            try:
                out = layer.output_shape(shape)
                params = layer.param_count(shape)
                macs = layer.macs(shape)
            except ModelError as err:
                error = err
        if error is not None:
            error = error.located(i, names[i], kind)
        rows.append(LayerCheck(i, names[i], kind, shape, out, params, macs, error))
        if out is not None:
            shape = out
    return rows


def _kind_of(item: Any, layer: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("class_name"), str):
        return item["class_name"]
    return "Layer"
