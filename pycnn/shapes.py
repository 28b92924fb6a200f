"""Shapes, parameter counts and costs, known before any data (Keras arithmetic).

All functions here are pure integer arithmetic on shapes, like Keras's
``ops/operation_utils.py``. Shapes are channels-last and never include the
batch dimension: an image is ``(height, width, channels)``, a flat vector
``(features,)``.

Output length of a sliding window (convolution or pooling) along one axis::

    valid: out = floor((n - k) / s) + 1      (needs n >= k)
    same:  out = ceil(n / s)                  (pads (k - 1)-ish, extra at the end)

Checking a whole stack of layers without raising is :func:`pycnn.check.check_layers`.
"""

from __future__ import annotations

import math

from .errors import ModelError

__all__ = [
    "activation_memory",
    "batch_shape_text",
    "conv2d_macs",
    "conv2d_output_shape",
    "conv2d_params",
    "conv2d_scratch",
    "conv_output_length",
    "dense_macs",
    "dense_params",
    "inference_floats",
    "pool2d_scratch",
    "window_output_shape",
]

FLOAT_BYTES = 4  # every array the layers compute is float32


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


def activation_memory(input_shape, output_shapes, batch_size: int) -> int:
    """Bytes of float32 activations plus their gradients for one training batch.

    Counts the input and every layer output (``output_shapes``, e.g. from
    :func:`pycnn.check_layers` rows), each twice: value and gradient. Kernel
    scratch buffers (im2col patches) and the parameters are not included.
    Pure arithmetic, so a UI can refuse a model before allocating it.
    """
    floats = math.prod(input_shape) + sum(math.prod(s) for s in output_shapes)
    return 2 * FLOAT_BYTES * int(batch_size) * floats


def conv2d_scratch(input_shape, output_shape, kernel_size) -> int:
    """Floats per example of a Conv2D forward's temporaries.

    The im2col matrix, one row of ``kh * kw * C_in + 1`` values per output
    pixel, plus a zero-padded copy of the input (bounded by ``(H + kh) x
    (W + kw)``).
    """
    h, w, c_in = input_shape
    h_out, w_out, _ = output_shape
    kh, kw = kernel_size
    return h_out * w_out * (kh * kw * c_in + 1) + (h + kh) * (w + kw) * c_in


def pool2d_scratch(input_shape, output_shape, pool_size) -> int:
    """Floats per example of a pooling forward's temporaries.

    The ``ph * pw`` window views stacked into one array, plus a padded copy
    of the input (bounded by ``(H + ph) x (W + pw)``).
    """
    h, w, c = input_shape
    h_out, w_out, _ = output_shape
    ph, pw = pool_size
    return ph * pw * h_out * w_out * c + (h + ph) * (w + pw) * c


def inference_floats(input_shape, output_shape, scratch: int = 0) -> int:
    """Floats per example alive at once while one layer runs without training.

    Its input, its output (counted three times: the linear part, the
    activation and one temporary of the same size) and the kernel's
    ``scratch`` (:func:`conv2d_scratch`, :func:`pool2d_scratch`). Nothing
    is kept for a backward pass, so a whole forward needs the largest of
    these over the layers, not their sum.
    """
    return math.prod(input_shape) + 3 * math.prod(output_shape) + scratch


def batch_shape_text(shape) -> str:
    """A shape with Keras's batch placeholder: ``(26, 26, 32)`` -> ``"(None, 26, 26, 32)"``."""
    return "(" + ", ".join(["None", *(str(d) for d in shape)]) + ")"
