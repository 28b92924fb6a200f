"""Loss functions. Only ``sparse_categorical_crossentropy`` for now.

For integer labels ``y`` and class scores ``z`` (logits) of shape
``(N, classes)``, with ``p = softmax(z)``::

    loss = mean_i( -log p[i, y_i] )
    dloss/dz = (p - onehot(y)) / N

That gradient is why softmax and cross-entropy are *fused*: chaining the
softmax Jacobian with ``-1/p`` gives the same result with more work and
more rounding (and ``-1/p`` blows up when ``p`` underflows).
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError

__all__ = ["LOSSES", "log_softmax", "normalize_name", "softmax_cross_entropy"]

LOSSES = ("sparse_categorical_crossentropy",)


def normalize_name(name) -> str:
    if isinstance(name, str) and name.lower() in LOSSES:
        return name.lower()
    raise ModelError(
        "unknown loss",
        "Use loss='sparse_categorical_crossentropy' with integer class labels",
        f"loss={name!r}",
        layer_kind="Model",
    )


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``log(softmax(z))`` over the last axis without overflow."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, need_grad: bool = True
) -> tuple[float, np.ndarray | None]:
    """Mean sparse categorical cross-entropy of ``softmax(logits)``, and dloss/dlogits.

    logits: (N, classes) float; labels: (N,) int in [0, classes).
    Returns ``(loss, grad)`` with ``grad`` shaped like ``logits`` (or None).
    """
    n = logits.shape[0]
    logp = log_softmax(logits)  # (N, classes)
    rows = np.arange(n)
    # the mean as a sum and a division: np.mean's own machinery costs more than the sum
    # for a batch of a few dozen (5x more in WebAssembly)
    loss = -float(logp[rows, labels].sum()) / n
    if not need_grad:
        return loss, None
    grad = np.exp(logp)  # softmax probabilities
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad
