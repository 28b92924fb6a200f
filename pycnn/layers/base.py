"""The :class:`Layer` interface every layer implements.

A layer knows its output shape and parameter count from its input shape
alone (no data), then:

* ``build(input_shape)`` creates ``params`` (dict: ``kernel``, ``bias``),
* ``forward(x, training=False)`` maps ``(N, *input_shape)`` to
  ``(N, *output_shape)``; with ``training=True`` it remembers what backward
  needs, without it nothing (so inference holds one layer's arrays at a time),
* ``backward(grad_out)`` returns dL/dx and fills ``grads`` (same keys as
  ``params``). It never changes ``params``: optimizers do that.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import numpy as np

from .. import shapes
from ..errors import ModelError

__all__ = ["Layer", "assign_default_names", "default_name"]


def default_name(kind: str) -> str:
    """Keras's snake-case base name: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", kind).lower()


class Layer:
    """Base class. Subclasses set ``trainable_keys`` and override the hooks."""

    #: names of the parameter arrays this layer owns (``()`` for none)
    trainable_keys: tuple[str, ...] = ()

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ModelError(
                "name must be a non-empty string",
                "Leave name out to get a default such as 'conv2d_1'",
                f"name={name!r}",
                layer_kind=self.kind,
            )
        self.name: str | None = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.built = False

    # ------------------------------------------------------------ description

    @property
    def kind(self) -> str:
        return type(self).__name__

    def get_config(self) -> dict[str, Any]:
        """Keras-style constructor arguments (JSON-friendly)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        name = f", name={self.name!r}" if self.name else ""
        return f"{self.kind}({args}{name})"

    @contextlib.contextmanager
    def _owned_errors(self):
        """Fill this layer's name and kind into ModelErrors raised inside."""
        try:
            yield
        except ModelError as err:
            raise ModelError(
                err.problem, err.hint, err.received, layer_name=self.name, layer_kind=self.kind
            ) from None

    def _error(self, problem: str, hint: str, received: str) -> ModelError:
        return ModelError(problem, hint, received, layer_name=self.name, layer_kind=self.kind)

    # ------------------------------------------------------------ shapes, before data

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape (no batch dim) or a :class:`ModelError` if impossible."""
        raise NotImplementedError

    def param_count(self, input_shape: tuple[int, ...]) -> int:
        """Number of trainable numbers for this input shape."""
        return 0

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-adds per example (0 for layers without weights)."""
        return 0

    def inference_floats(self, input_shape: tuple[int, ...]) -> int:
        """Floats per example alive at once while ``forward(training=False)`` runs.

        An upper bound (see :func:`pycnn.shapes.inference_floats`); layers whose
        kernels need scratch space add it.
        """
        return shapes.inference_floats(input_shape, self.output_shape(input_shape))

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    # ------------------------------------------------------------ data

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator | None = None) -> None:
        """Check the input shape and create parameters (seeded by ``rng``)."""
        self.output_shape(tuple(input_shape))  # raises if impossible
        self.input_shape = tuple(input_shape)
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def _require_forward(self, cache: Any) -> Any:
        if cache is None:
            raise RuntimeError(
                f"{self.kind} '{self.name}': backward() called before forward(x, training=True)"
            )
        return cache


def assign_default_names(layers: list[Any], apply: bool = True) -> list[str]:
    """Keras-style unique names: the first Conv2D is ``conv2d``, then ``conv2d_1`` ...

    ``layers`` may contain a kind string such as ``"Conv2D"`` in place of a
    layer that could not be created; it still takes a name so later indices stay stable. With
    ``apply=True`` unnamed layers get their name set.
    """
    taken = {layer.name for layer in layers if isinstance(layer, Layer) and layer.name}
    counters: dict[str, int] = {}
    names = []
    for layer in layers:
        if isinstance(layer, Layer) and layer.name:
            names.append(layer.name)
            continue
        if isinstance(layer, Layer):
            base = default_name(layer.kind)
        elif isinstance(layer, str):  # placeholder: the kind of a layer that failed to build
            base = default_name(layer)
        else:
            base = "layer"
        while True:
            n = counters.get(base, 0)
            counters[base] = n + 1
            candidate = base if n == 0 else f"{base}_{n}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
        if apply and isinstance(layer, Layer):
            layer.name = candidate
    return names
