"""Flatten: (N, H, W, C) -> (N, H*W*C), row-major like Keras channels-last."""

from __future__ import annotations

import math

from .base import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    """Reshape each example to one vector; no parameters, nothing learned.

    Element ``(i, j, c)`` of an ``(H, W, C)`` input lands at ``(i * W + j) * C + c``:
    channels vary fastest, as in Keras with ``data_format="channels_last"``, so a
    Dense kernel's rows line up with Keras's for the same weights.
    """

    def __init__(self, name=None) -> None:
        super().__init__(name=name)
        self._input_batch_shape = None

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        self._input_batch_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out, need_input_grad=True):
        shape = self._require_forward(self._input_batch_shape)
        return grad_out.reshape(shape) if need_input_grad else None
