"""Shared plumbing for layers that end in an activation (Conv2D, Dense)."""

from __future__ import annotations

import numpy as np

from .. import activations
from .base import Layer

__all__ = ["ActivatedLayer"]


class ActivatedLayer(Layer):
    """A layer computing ``y = activation(z)`` where ``z`` is its linear part.

    Subclasses implement ``_linear_forward(x) -> z`` and
    ``backward_pre_activation(grad_z, need_input_grad) -> dL/dx``.
    """

    def __init__(self, activation: str | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self.activation = activations.normalize_name(activation, self.kind)
        self._act = activations.ACTIVATIONS[self.activation]
        self._y: np.ndarray | None = None
        #: pre-activation output of the last forward, kept for softmax layers
        #: so the loss can be fused (see pycnn.losses)
        self.logits: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not self.built:
            raise RuntimeError(
                f"{self.kind} '{self.name}': call build(input_shape) before forward(), "
                "or put the layer in a Sequential with an input_shape"
            )
        z = self._linear_forward(x)
        y = self._act.forward(z)
        self._y = y
        self.logits = z if self.activation == "softmax" else None
        return y

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dL/dx from dL/dy: first through the activation, then the linear part."""
        y = self._require_forward(self._y)
        grad_z = self._act.backward(grad_out, y)
        return self.backward_pre_activation(grad_z, need_input_grad)

    def _linear_forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_pre_activation(
        self, grad_z: np.ndarray, need_input_grad: bool = True
    ) -> np.ndarray | None:
        """dL/dx from dL/dz (z = output before the activation); fills ``grads``."""
        raise NotImplementedError
