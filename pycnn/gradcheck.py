"""The one gradient check: central differences along random directions.

For a scalar function ``f`` and its claimed gradient ``g`` at ``x``, pick a
random unit direction ``v`` and compare the analytic directional derivative
``sum(g * v)`` with the numeric one::

    (f(x + eps * v) - f(x - eps * v)) / (2 * eps)

Central differences are accurate to O(eps**2); in float64 with eps=1e-6 a
correct gradient agrees to ~1e-8 relative. One check covers all entries at
once (a wrong entry shows up in a random direction with probability 1),
so a few directions are enough and the check stays fast.

:func:`check_layer` applies it to a layer's input and every parameter: the
layer is switched to float64 and the loss is ``sum(forward(x) * G)`` for a
fixed random ``G``, so ``backward(G)`` must return dloss/dx and fill
``grads`` with dloss/dparams.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["GradientMismatch", "check_gradient", "check_layer"]


class GradientMismatch(AssertionError):
    """Analytic and numeric directional derivatives disagree."""


def check_gradient(
    f: Callable[[], float],
    x: np.ndarray,
    analytic: np.ndarray,
    *,
    name: str = "x",
    eps: float = 1e-6,
    directions: int = 3,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    rng: np.random.Generator | None = None,
) -> None:
    """Check ``analytic`` = df/dx by perturbing ``x`` **in place** (restored after).

    ``f`` takes no arguments and must read ``x`` (so a closure over the
    array being perturbed). ``x`` should be float64. Raises
    :class:`GradientMismatch` with both values on failure.
    """
    if x.dtype != np.float64:
        raise TypeError(f"check_gradient needs a float64 array for {name}, got {x.dtype}")
    if analytic is None or np.shape(analytic) != x.shape:
        raise GradientMismatch(
            f"gradient for {name} has shape {np.shape(analytic)}, expected {x.shape}"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    original = x.copy()
    try:
        for d in range(directions):
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v) or 1.0
            x[...] = original + eps * v
            f_plus = f()
            x[...] = original - eps * v
            f_minus = f()
            x[...] = original
            numeric = (f_plus - f_minus) / (2 * eps)
            exact = float(np.sum(np.asarray(analytic, dtype=np.float64) * v))
            if not abs(exact - numeric) <= atol + rtol * max(abs(exact), abs(numeric)):
                raise GradientMismatch(
                    f"gradient of {name} is wrong along random direction {d}: "
                    f"analytic {exact:.10g} vs numeric {numeric:.10g} "
                    f"(difference {exact - numeric:.3g}, shape {x.shape})"
                )
    finally:
        x[...] = original


def check_layer(
    layer,
    x: np.ndarray,
    *,
    training: bool = True,
    reset: Callable[[], None] | None = None,
    seed: int = 0,
    **tolerances,
) -> None:
    """Check ``layer.backward`` for the input and every parameter of a built layer.

    The layer's parameters are converted to float64 in place (the layer
    stays usable for further checks). Forward runs with ``training`` (a
    layer keeps what backward reads only in training). ``reset`` runs before
    every forward pass, e.g. to re-seed a Dropout layer so each pass uses
    the same mask.
    """
    rng = np.random.default_rng(seed)
    for key in layer.params:
        layer.params[key] = layer.params[key].astype(np.float64)
    x = np.array(x, dtype=np.float64)

    def forward():
        if reset is not None:
            reset()
        return layer.forward(x, training=training)

    out = forward()
    upstream = rng.standard_normal(out.shape)  # dloss/dout for loss = sum(out * upstream)

    def loss():
        return float(np.sum(forward() * upstream))

    forward()
    dx = layer.backward(upstream)
    grads = {k: np.array(v) for k, v in layer.grads.items()}
    kind = f"{type(layer).__name__} {getattr(layer, 'name', '')}".strip()
    check_gradient(loss, x, dx, name=f"{kind} input", rng=rng, **tolerances)
    for key, value in layer.params.items():
        check_gradient(loss, value, grads.get(key), name=f"{kind} {key}", rng=rng, **tolerances)
