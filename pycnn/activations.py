"""Activation functions, by name: forward and the backward (vector-Jacobian) step.

Every backward is written in terms of the activation's *output* ``y``, so a
layer only needs to remember ``y``:

=========  ==========================  ==================================
name       y = f(z)                    dL/dz given g = dL/dy
=========  ==========================  ==================================
linear     z                           g
relu       max(z, 0)                   g * (y > 0)
sigmoid    1 / (1 + exp(-z))           g * y * (1 - y)
tanh       tanh(z)                     g * (1 - y**2)
softmax    exp(z) / sum(exp(z))        y * (g - sum(g * y))   (last axis)
=========  ==========================  ==================================

Softmax followed by cross-entropy is fused in :mod:`pycnn.losses`, which is
both faster and numerically safer than chaining the two backward steps.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ModelError

__all__ = ["ACTIVATIONS", "Activation", "get", "normalize_name"]


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (grad_y, y) -> grad_z


def _linear(z):
    return z


def _linear_backward(g, y):
    return g


def _relu(z):
    return np.maximum(z, 0)


def _relu_backward(g, y):
    return g * (y > 0)


def _sigmoid(z):
    # split by sign so exp never overflows
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out


def _sigmoid_backward(g, y):
    return g * y * (1 - y)


def _tanh(z):
    return np.tanh(z)


def _tanh_backward(g, y):
    return g * (1 - y * y)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the max for stability."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(g, y):
    return y * (g - np.sum(g * y, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", _relu, _relu_backward),
        Activation("linear", _linear, _linear_backward),
        Activation("sigmoid", _sigmoid, _sigmoid_backward),
        Activation("tanh", _tanh, _tanh_backward),
        Activation("softmax", softmax, _softmax_backward),
    )
}


def normalize_name(name, kind: str = "") -> str:
    """A known activation name (``None`` means ``'linear'``, like Keras)."""
    if name is None:
        return "linear"
    if isinstance(name, str) and name.lower() in ACTIVATIONS:
        return name.lower()
    close = difflib.get_close_matches(str(name).lower(), ACTIVATIONS, n=1)
    suggestion = f"Did you mean '{close[0]}'? " if close else ""
    raise ModelError(
        "unknown activation",
        f"{suggestion}Use one of: {', '.join(ACTIVATIONS)}",
        f"activation={name!r}",
        layer_kind=kind or None,
    )


def get(name) -> Activation:
    return ACTIVATIONS[normalize_name(name)]
