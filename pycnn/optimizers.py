"""Optimizers with Keras's update rules. They alone change parameters.

Each optimizer keeps per-variable state (velocity, moments) created on the
first :meth:`Optimizer.apply_gradients` call; variables are updated in place
so layers keep referring to the same arrays.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import ModelError

__all__ = ["SGD", "Adam", "Optimizer", "get"]


def _check_number(value, arg: str, kind: str, low: float, high: float | None, hint: str) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and value >= low and (high is None or value < high) and np.isfinite(value)
    if not ok:
        upper = f", {high})" if high is not None else ", inf)"
        raise ModelError(
            f"{arg} must be a number in [{low}{upper}", hint, f"{arg}={value!r}", layer_kind=kind
        )
    return float(value)


class Optimizer:
    """Base class: ``apply_gradients(pairs)`` with ``pairs`` = [(grad, variable), ...]."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = _check_number(
            learning_rate,
            "learning_rate",
            type(self).__name__,
            0.0,
            None,
            "Use a small positive number such as 0.01 (SGD) or 0.001 (Adam)",
        )
        if self.learning_rate == 0:
            raise ModelError(
                "learning_rate must be greater than 0",
                "Use a small positive number such as 0.001",
                "learning_rate=0",
                layer_kind=type(self).__name__,
            )
        self.iterations = 0
        self._slots: list[dict[str, np.ndarray]] | None = None

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def apply_gradients(self, pairs) -> None:
        """Update each variable in place from its gradient (Keras argument order)."""
        pairs = list(pairs)
        if self._slots is None or len(self._slots) != len(pairs):
            self._slots = [self._new_slots(var) for _, var in pairs]
        self.iterations += 1
        for (grad, var), slots in zip(pairs, self._slots):
            self._update(var, grad.astype(var.dtype, copy=False), slots)

    def _new_slots(self, var: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _update(self, var: np.ndarray, grad: np.ndarray, slots: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Keras rule, with velocity ``m`` starting at 0::

        no momentum:  w = w - lr * g
        momentum:     m = momentum * m - lr * g
                      w = w + m                              (nesterov=False)
                      w = w + momentum * m - lr * g          (nesterov=True)
    """

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(learning_rate)
        self.momentum = _check_number(
            momentum, "momentum", "SGD", 0.0, 1.0, "Use momentum=0.9, or 0 for plain SGD"
        )
        self.nesterov = bool(nesterov)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }

    def _new_slots(self, var):
        return {"m": np.zeros_like(var)} if self.momentum else {}

    def _update(self, var, grad, slots):
        lr = var.dtype.type(self.learning_rate)
        if not self.momentum:
            var -= lr * grad
            return
        mu = var.dtype.type(self.momentum)
        m = slots["m"]
        m *= mu
        m -= lr * grad
        if self.nesterov:
            var += mu * m - lr * grad
        else:
            var += m


class Adam(Optimizer):
    """Adam (Kingma & Ba), in the form Keras implements::

    t = iterations (1 for the first update)
    alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m = m + (g - m) * (1 - beta_1)
    v = v + (g**2 - v) * (1 - beta_2)
    w = w - alpha * m / (sqrt(v) + epsilon)
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1 = _check_number(beta_1, "beta_1", "Adam", 0.0, 1.0, "Use beta_1=0.9")
        self.beta_2 = _check_number(beta_2, "beta_2", "Adam", 0.0, 1.0, "Use beta_2=0.999")
        self.epsilon = _check_number(epsilon, "epsilon", "Adam", 0.0, None, "Use epsilon=1e-7")

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

    def _new_slots(self, var):
        return {"m": np.zeros_like(var), "v": np.zeros_like(var)}

    def _update(self, var, grad, slots):
        t = self.iterations
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        f = var.dtype.type
        m, v = slots["m"], slots["v"]
        m += (grad - m) * f(1 - self.beta_1)
        v += (grad * grad - v) * f(1 - self.beta_2)
        var -= f(alpha) * m / (np.sqrt(v) + f(self.epsilon))


_OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance, a name ('sgd', 'adam') or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _OPTIMIZERS:
        return _OPTIMIZERS[identifier.lower()]()
    if (
        isinstance(identifier, dict)
        and str(identifier.get("class_name", "")).lower() in _OPTIMIZERS
    ):
        cls = _OPTIMIZERS[identifier["class_name"].lower()]
        return cls.from_config(identifier.get("config", {}))
    raise ModelError(
        "unknown optimizer",
        "Use optimizer='adam', 'sgd', Adam(1e-3) or SGD(0.01)",
        f"optimizer={identifier!r}",
        layer_kind="Model",
    )
