"""Conv2D: a bank of learned filters slid over the image."""

from __future__ import annotations

import numpy as np

from .. import arguments, initializers, ops, shapes
from .activated import ActivatedLayer

__all__ = ["Conv2D"]


class Conv2D(ActivatedLayer):
    """2-D convolution (cross-correlation, like Keras), then an activation.

    Parameters
    ----------
    filters : int
        Number of output channels ``C_out``.
    kernel_size : int or (int, int)
        Window ``(kh, kw)``.
    strides : int or (int, int), default 1
    padding : {'valid', 'same'}, default 'valid'
    activation : {'relu', 'linear', 'sigmoid', 'tanh', 'softmax'} or None
        ``None`` means ``'linear'``.

    Shapes
    ------
    input ``(N, H, W, C_in)`` -> output ``(N, H_out, W_out, C_out)``;
    ``kernel`` ``(kh, kw, C_in, C_out)``, ``bias`` ``(C_out,)``.

    Notes
    -----
    ``valid``: ``H_out = floor((H - kh) / sh) + 1``; ``same``: ``H_out = ceil(H / sh)``.
    Parameters: ``(kh * kw * C_in + 1) * C_out``.
    """

    trainable_keys = ("kernel", "bias")

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        activation: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(activation=activation, name=name)
        self.filters = arguments.normalize_positive_int(
            filters, "filters", self.kind, "Use a whole number of filters such as 8, 16 or 32"
        )
        self.kernel_size = arguments.normalize_pair(kernel_size, "kernel_size", self.kind)
        self.strides = arguments.normalize_pair(strides, "strides", self.kind)
        self.padding = arguments.normalize_padding(padding, self.kind)
        self._cache = None

    def get_config(self):
        return {
            "name": self.name,
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": self.activation,
        }

    # shapes ---------------------------------------------------------------

    def output_shape(self, input_shape):
        with self._owned_errors():
            return shapes.conv2d_output_shape(
                tuple(input_shape), self.filters, self.kernel_size, self.strides, self.padding
            )

    def param_count(self, input_shape):
        return shapes.conv2d_params(input_shape, self.filters, self.kernel_size)

    def macs(self, input_shape):
        return shapes.conv2d_macs(input_shape, self.output_shape(input_shape), self.kernel_size)

    def inference_floats(self, input_shape):
        out = self.output_shape(input_shape)
        scratch = shapes.conv2d_scratch(input_shape, out, self.kernel_size)
        return shapes.inference_floats(input_shape, out, scratch)

    # data -----------------------------------------------------------------

    def build(self, input_shape, rng=None):
        super().build(input_shape)
        rng = rng if rng is not None else np.random.default_rng()
        kh, kw = self.kernel_size
        shape = (kh, kw, self.input_shape[-1], self.filters)
        self.params = {
            "kernel": initializers.glorot_uniform(shape, rng),
            "bias": initializers.zeros((self.filters,)),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _linear_forward(self, x, training):
        z, cache = ops.conv2d_forward(
            x, self.params["kernel"], self.params["bias"], self.strides, self.padding
        )
        self._cache = cache if training else None  # the im2col matrix: often the largest array
        return z  # (N, H_out, W_out, C_out)

    def backward_pre_activation(self, grad_z, need_input_grad=True):
        cache = self._require_forward(self._cache)
        dx, dkernel, dbias = ops.conv2d_backward(grad_z, cache, need_input_grad)
        self.grads = {"kernel": dkernel, "bias": dbias}
        return dx
