"""Dense (fully connected): every input feature connected to every unit."""

from __future__ import annotations

import numpy as np

from .. import arguments, initializers, ops, products, shapes
from .activated import ActivatedLayer

__all__ = ["Dense"]

_F32 = np.dtype(np.float32)


class Dense(ActivatedLayer):
    """``y = activation(x @ kernel + bias)``.

    Shapes: input ``(N, in)`` -> output ``(N, units)``; ``kernel`` ``(in, units)``,
    ``bias`` ``(units,)``. Parameters: ``(in + 1) * units``.

    The input must be flat: put ``Flatten()`` between the last
    convolution/pooling layer and the first Dense layer.
    """

    trainable_keys = ("kernel", "bias")

    def __init__(self, units: int, activation: str | None = None, name: str | None = None) -> None:
        super().__init__(activation=activation, name=name)
        self.units = arguments.normalize_positive_int(
            units, "units", self.kind, "Use a whole number of units, e.g. 10 for 10 classes"
        )
        self._x = None
        self._scratch = ops.Scratch()  # training reuses its buffers from batch to batch

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation}

    def output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 1:
            raise self._error(
                f"Dense expects a flat input (features,), but its input has shape {input_shape}",
                "Add Flatten before it",
                f"input_shape={input_shape}",
            )
        return (self.units,)

    def param_count(self, input_shape):
        self.output_shape(input_shape)
        return shapes.dense_params(input_shape, self.units)

    def macs(self, input_shape):
        self.output_shape(input_shape)
        return shapes.dense_macs(input_shape, self.units)

    def build(self, input_shape, rng=None):
        super().build(input_shape)
        rng = rng if rng is not None else np.random.default_rng()
        self.params = {
            "kernel": initializers.glorot_uniform((self.input_shape[0], self.units), rng),
            "bias": initializers.zeros((self.units,)),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _linear_forward(self, x, training):
        kernel, bias = self.params["kernel"], self.params["bias"]
        if not training:
            return products.matmul(x, kernel) + bias  # (N, units)
        self._x = x  # (N, in)
        z = self._buffer("z", (x.shape[0], self.units), x, kernel)
        products.matmul(x, kernel, out=z)
        return np.add(z, bias, out=z)

    def backward_pre_activation(self, grad_z, need_input_grad=True):
        x = self._require_forward(self._x)
        kernel = self.params["kernel"]
        dkernel = products.matmul(x.T, grad_z, out=self._buffer("dkernel", kernel.shape, x, grad_z))
        self.grads = {"kernel": dkernel, "bias": grad_z.sum(axis=0)}
        if not need_input_grad:
            return None
        return products.matmul(grad_z, kernel.T, out=self._buffer("dx", x.shape, grad_z, kernel))

    def train_output(self, x, labels, need_input_grad=True):
        # With the browser's kernel the whole chain is one call (products.dense_cross_entropy)
        kernel, bias = self.params["kernel"], self.params["bias"]
        if products.KERNELS is not None and x.shape[0] and x.dtype == kernel.dtype == _F32:
            buffer = self._scratch.array
            out = (
                buffer("z", (x.shape[0], self.units), _F32)[0],  # then dL/dz
                buffer("dkernel", kernel.shape, _F32)[0],
                buffer("dbias", bias.shape, _F32)[0],
                buffer("dx", x.shape, _F32)[0] if need_input_grad else None,
            )
            done = products.dense_cross_entropy(x, kernel, bias, labels, out)
            if done is not None:
                self._x = self._y = None  # nothing for a stray backward() to reuse
                self.grads = {"kernel": out[1], "bias": out[2]}
                return done[0] / x.shape[0], done[1], out[3]
        return ActivatedLayer.train_output(self, x, labels, need_input_grad)

    def _buffer(self, name, shape, a, b):
        """A reused buffer of the products' result type (what ``a @ b`` would give)."""
        return self._scratch.array(name, shape, np.result_type(a, b))[0]
