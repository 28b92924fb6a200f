"""What every inspection shares: the "nothing to show" answer and finding a layer.

Inspections never raise for something a learner can cause (no model yet, a
layer without filters, an image of the wrong size): they return a
:class:`NothingToShow` whose ``message`` a view can print as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NothingToShow", "find_layer", "layer_input_shapes", "layers_of_kind"]


@dataclass(frozen=True)
class NothingToShow:
    """Why a view has nothing to show, in words for the learner.

    Attributes
    ----------
    reason : str
        A stable key a view may branch on: ``"no-model"``, ``"not-trained"``,
        ``"no-layer"``, ``"no-filters"``, ``"no-maps"``, ``"bad-input"``,
        ``"no-data"``, ``"no-source"``, ``"empty-drawing"``.
    message : str
        One or two sentences to display, saying what to do next.
    """

    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


NO_MODEL = NothingToShow(
    "no-model", "There is no working model yet: fix the layers above, then press Train."
)


def layer_input_shapes(model) -> list[tuple[int, ...]]:
    """Each layer's input shape (no batch axis), from the model's summary arithmetic."""
    shapes = [model.input_shape]
    shapes += [row.output_shape for row in model.summary()[:-1]]
    return shapes


def layers_of_kind(model, *kinds: str) -> list[tuple[int, str]]:
    """``(index, name)`` of every layer whose Keras class name is one of ``kinds``."""
    if model is None or not model.built:
        return []
    return [(i, layer.name) for i, layer in enumerate(model.layers) if layer.kind in kinds]


def find_layer(model, which: Any) -> tuple[int, Any] | NothingToShow:
    """The ``(index, layer)`` named ``which`` (a layer name or a 0-based index).

    Returns :class:`NothingToShow` (reason ``"no-layer"``) when there is no such layer.
    """
    if model is None or not model.built or not model.layers:
        return NO_MODEL
    for i, layer in enumerate(model.layers):
        if which == layer.name or (
            isinstance(which, int) and not isinstance(which, bool) and which == i
        ):
            return i, layer
    names = ", ".join(layer.name for layer in model.layers)
    return NothingToShow("no-layer", f"This model has no layer {which!r}. Its layers: {names}.")
