"""Shared plumbing for layers that end in an activation (Conv2D, Dense)."""

from __future__ import annotations

import numpy as np

from .. import activations, losses
from .base import Layer

__all__ = ["ActivatedLayer"]


class ActivatedLayer(Layer):
    """A layer computing ``y = activation(z)`` where ``z`` is its linear part.

    Subclasses implement ``_linear_forward(x, training) -> z`` and
    ``backward_pre_activation(grad_z, need_input_grad) -> dL/dx``. Only a
    training forward keeps what the backward pass reads.
    """

    def __init__(self, activation: str | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self.activation = activations.normalize_name(activation, self.kind)
        self._act = activations.ACTIVATIONS[self.activation]
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward_logits(x, training)[1]

    def forward_logits(
        self, x: np.ndarray, training: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(z, y)``: the output before the activation and after it.

        For a model's last layer ``z`` are the class scores (logits) the loss
        reads, so softmax and cross-entropy can be fused (see :mod:`pycnn.losses`).
        """
        if not self.built:
            raise RuntimeError(
                f"{self.kind} '{self.name}': call build(input_shape) before forward(), "
                "or put the layer in a Sequential with an input_shape"
            )
        z = self._linear_forward(x, training)
        y = self._act.forward(z)
        self._y = y if training else None
        return z, y

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dL/dx from dL/dy: first through the activation, then the linear part."""
        y = self._require_forward(self._y)
        grad_z = self._act.backward(grad_out, y)
        return self.backward_pre_activation(grad_z, need_input_grad)

    def train_output(
        self, x: np.ndarray, labels: np.ndarray, need_input_grad: bool = True
    ) -> tuple[float, int, np.ndarray | None]:
        """A training step's work as a model's output layer: forward, loss, backward.

        The loss is :func:`pycnn.losses.softmax_cross_entropy` of the class scores ``z``.
        Returns ``(loss, correct, dL/dx or None)``, ``correct`` counting the rows whose
        largest output is the label; fills ``grads``.
        """
        z, y = self.forward_logits(x, training=True)
        loss, grad_z = losses.softmax_cross_entropy(z, labels)
        correct = int(np.count_nonzero(y.argmax(axis=-1) == labels))  # not np.mean: slower
        return loss, correct, self.backward_pre_activation(grad_z, need_input_grad)

    def _linear_forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward_pre_activation(
        self, grad_z: np.ndarray, need_input_grad: bool = True
    ) -> np.ndarray | None:
        """dL/dx from dL/dz (z = output before the activation); fills ``grads``."""
        raise NotImplementedError
