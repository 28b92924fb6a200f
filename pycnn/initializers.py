"""Weight initialisers (Keras defaults: glorot-uniform kernels, zero biases)."""

from __future__ import annotations

import numpy as np

__all__ = ["fans", "glorot_uniform", "zeros"]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) like Keras.

    Dense kernel ``(in, units)``: ``(in, units)``. Conv kernel
    ``(kh, kw, c_in, c_out)``: each input/output channel is seen through a
    ``kh * kw`` window, so ``(kh*kw*c_in, kh*kw*c_out)``.
    """
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return receptive * shape[-2], receptive * shape[-1]


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``, float32."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)
