"""Conv2D followed by MaxPooling2D, run as one step when training and predicting.

Not a layer a user adds: :func:`plan_steps`, which a model asks how to run
its layers, puts one in place of each ``Conv2D(activation="relu" or None)``
directly followed by a
``MaxPooling2D`` whose windows tile the convolution's output
(``strides == pool_size``, no padding added). The pair then computes the
same numbers as the two layers one after the other, with less work
(:func:`pycnn.ops.conv2d_maxpool_forward` says how): in the Keras convnet
the first pair skips three passes over its 11 MB output, and the second
computes 100 instead of 121 output pixels per image.

``model.activations(x)`` still runs the layers one by one, so the
convolution's own feature maps can be shown.
"""

from __future__ import annotations

import numpy as np

from .. import ops, products
from .conv import Conv2D
from .pooling import MaxPooling2D

__all__ = ["ConvMaxPool", "plan_steps"]

_F32 = np.dtype(np.float32)


class ConvMaxPool:
    """A Conv2D and the MaxPooling2D after it, with the two layers' interface.

    ``forward(x, training)`` returns the pool's output; ``backward(grad_out,
    need_input_grad)`` fills ``conv.grads`` and returns dL/dx. The layers
    themselves keep their parameters; nothing is copied.
    """

    def __init__(self, conv: Conv2D, pool: MaxPooling2D) -> None:
        self.conv = conv
        self.pool = pool
        self.trainable_keys = conv.trainable_keys
        self._cache = None
        self._scratch = ops.Scratch()  # training reuses its buffers from batch to batch

    @staticmethod
    def can_fuse(layer, next_layer, conv_output_shape: tuple[int, ...]) -> bool:
        """Whether ``layer`` then ``next_layer`` can run as one :class:`ConvMaxPool`.

        ``conv_output_shape`` is ``layer``'s output shape (no batch axis).
        Other activations are left alone: ReLU (and linear) are the ones whose
        ties in the pool give exactly the unfused gradients.
        """
        return (
            isinstance(layer, Conv2D)
            and layer.activation in ("relu", "linear")
            and isinstance(next_layer, MaxPooling2D)
            and ops.max_pool_tiles(
                conv_output_shape[:2], next_layer.pool_size, next_layer.strides, next_layer.padding
            )
        )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        conv = self.conv
        direct = self._direct_forward(x, training)
        if direct is not None:
            out, cache = direct
        else:
            out, cache = ops.conv2d_maxpool_forward(
                x,
                conv.params["kernel"],
                conv.params["bias"],
                conv.strides,
                conv.padding,
                self.pool.pool_size,
                relu=conv.activation == "relu",
                scratch=self._scratch if training else None,
            )
        self._cache = (direct is not None, cache) if training else None
        # the layers' own caches are not filled by this step: make a stray
        # layer.backward() fail clearly instead of using an older forward
        conv._y = conv._cache = self.pool._cache = None
        return out  # (N, H_pool, W_pool, C_out)

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        direct, cache = self.conv._require_forward(self._cache)
        if direct:
            dx, dkernel, dbias = self._direct_backward(grad_out, cache, need_input_grad)
        else:
            dx, dkernel, dbias = ops.conv2d_maxpool_backward(grad_out, cache, need_input_grad)
        self.conv.grads = {"kernel": dkernel, "bias": dbias}
        return dx

    # The browser's kernel computes a conv with few inputs per output (a first layer on
    # grey or colour images) straight from the image, fused with ReLU and the pool
    # (pycnn/kernels/conv.c): no im2col matrix, no products of a few columns. Other shapes,
    # and numpy, take ops.conv2d_maxpool_forward.

    def _direct_forward(self, x: np.ndarray, training: bool):
        """``(out, cache)`` through the kernel's direct convolution, or None if it does not apply."""
        kernels = products.KERNELS
        conv = self.conv
        kernel, bias = conv.params["kernel"], conv.params["bias"]
        if kernels is None or not kernels.takes_conv_pool(x, kernel, bias):
            return None
        n, h, w, _ = x.shape
        kh, kw, _, c_out = kernel.shape
        (sh, sw), (ph, pw) = conv.strides, self.pool.pool_size
        pad_h, pad_w = ops._pads(h, w, kh, kw, conv.strides, conv.padding)
        xp = ops._pad(x, pad_h, pad_w)
        hp = ((xp.shape[1] - kh) // sh + 1) // ph  # pool windows per column
        wp = ((xp.shape[2] - kw) // sw + 1) // pw
        shape = (n, hp, wp, c_out)
        if training:
            out = self._scratch.array("out", shape, _F32)[0]
            route = self._scratch.array("route", shape, np.int32)[0]
        else:
            out, route = np.empty(shape, dtype=_F32), None
        relu = conv.activation == "relu"
        kernels.conv_pool(xp, kernel, bias, conv.strides, self.pool.pool_size, relu, out, route)
        return out, (kernels, xp, route, x.shape, pad_h, pad_w)

    def _direct_backward(self, grad_out, cache, need_input_grad: bool):
        kernels, xp, route, x_shape, pad_h, pad_w = cache
        kernel = self.conv.params["kernel"]
        dkernel = self._scratch.array("dkernel", kernel.shape, _F32)[0]
        dbias = self._scratch.array("dbias", kernel.shape[3:], _F32)[0]
        dxp = np.zeros(xp.shape, dtype=_F32) if need_input_grad else None
        kernels.conv_pool_grad(xp, grad_out, route, kernel, self.conv.strides,
                               self.pool.pool_size, dkernel, dbias, dxp)  # fmt: skip
        if dxp is None or dxp.shape == x_shape:
            return dxp, dkernel, dbias
        (top, _), (left, _) = pad_h, pad_w
        return dxp[:, top : top + x_shape[1], left : left + x_shape[2]], dkernel, dbias


def plan_steps(layers: list, output_shapes: list[tuple[int, ...]]) -> list:
    """The layers as training and prediction run them.

    A Conv2D with ReLU (or no activation) directly followed by a
    MaxPooling2D whose windows tile its output (``output_shapes[i]`` is
    layer ``i``'s) becomes one :class:`ConvMaxPool` step: the same numbers,
    less work. Every other layer is its own step.
    """
    steps: list = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        built = i < len(output_shapes)
        if built and ConvMaxPool.can_fuse(layer, after, output_shapes[i]):
            steps.append(ConvMaxPool(layer, after))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return steps
