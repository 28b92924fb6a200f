"""Dropout: randomly silence inputs while training (inverted dropout)."""

from __future__ import annotations

import numbers

import numpy as np

from ..arguments import normalize_seed
from ..errors import ModelError
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Zero each input with probability ``rate`` during training and scale the
    survivors by ``1 / (1 - rate)``, so the expected value is unchanged and
    inference is the identity (nothing to rescale at test time).

    The random mask comes from ``self.rng``; a model sets it from its seed.
    """

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        is_number = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
        if not is_number or not 0 <= rate < 1:
            raise ModelError(
                "rate must be a number in [0, 1): the fraction of inputs to drop",
                "Use e.g. rate=0.5 (rate=1 would drop everything)",
                f"rate={rate!r}",
                layer_name=name,
                layer_kind=self.kind,
            )
        with self._owned_errors():
            self.seed = normalize_seed(
                seed, self.kind, "Leave seed out: the model's seed then drives the dropout mask"
            )
        self.rate = float(rate)
        self.rng = np.random.default_rng(self.seed)
        self._mask = None

    def get_config(self):
        return {"name": self.name, "rate": self.rate, "seed": self.seed}

    def output_shape(self, input_shape):
        return tuple(input_shape)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self._mask = np.ones((1,) * x.ndim, dtype=x.dtype)
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, grad_out, need_input_grad=True):
        mask = self._require_forward(self._mask)
        return grad_out * mask if need_input_grad else None
