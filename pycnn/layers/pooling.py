"""MaxPooling2D and AveragePooling2D: shrink each feature map, no parameters."""

from __future__ import annotations

from .. import arguments, ops, shapes
from .base import Layer

__all__ = ["AveragePooling2D", "MaxPooling2D"]


class _Pooling2D(Layer):
    """Shared shape logic. ``strides`` defaults to ``pool_size`` (Keras).

    Shapes: ``(N, H, W, C)`` -> ``(N, H_out, W_out, C)`` with the same
    output-size rule as Conv2D (``valid``: floor((H - ph) / sh) + 1,
    ``same``: ceil(H / sh)).
    """

    _forward = staticmethod(ops.max_pool2d_forward)
    _backward = staticmethod(ops.max_pool2d_backward)

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name=None) -> None:
        super().__init__(name=name)
        self.pool_size = arguments.normalize_pair(pool_size, "pool_size", self.kind)
        self.strides = (
            self.pool_size
            if strides is None
            else arguments.normalize_pair(strides, "strides", self.kind)
        )
        self.padding = arguments.normalize_padding(padding, self.kind)
        self._cache = None

    def get_config(self):
        return {
            "name": self.name,
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }

    def output_shape(self, input_shape):
        with self._owned_errors():
            input_shape = tuple(input_shape)
            channels = input_shape[-1] if input_shape else 0
            return shapes.window_output_shape(
                input_shape,
                self.pool_size,
                self.strides,
                self.padding,
                channels,
                kind=self.kind,
                window_arg="pool_size",
            )

    def inference_floats(self, input_shape):
        out = self.output_shape(input_shape)
        scratch = shapes.pool2d_scratch(input_shape, out, self.pool_size)
        return shapes.inference_floats(input_shape, out, scratch)

    def forward(self, x, training=False):
        out, cache = self._forward(x, self.pool_size, self.strides, self.padding)
        self._cache = cache if training else None
        return out

    def backward(self, grad_out, need_input_grad=True):
        cache = self._require_forward(self._cache)
        return self._backward(grad_out, cache) if need_input_grad else None


class MaxPooling2D(_Pooling2D):
    """Keeps the largest value of each ``pool_size`` window (per channel).

    Backward sends each output gradient to the input that was the maximum
    (the first one on ties). ``same`` padding never wins: it pads with -inf.
    """


class AveragePooling2D(_Pooling2D):
    """Mean of each window (per channel); ``same`` averages real elements only."""

    _forward = staticmethod(ops.avg_pool2d_forward)
    _backward = staticmethod(ops.avg_pool2d_backward)
