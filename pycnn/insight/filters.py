"""A Conv2D layer's kernels, as numbers ready to be drawn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import NO_MODEL, NothingToShow, find_layer, layers_of_kind

__all__ = ["FilterBank", "conv_layers", "filter_bank"]


@dataclass(frozen=True)
class FilterBank:
    """A snapshot of one Conv2D layer's filters (copied: training may go on).

    Attributes
    ----------
    layer_index : int
        0-based position in the model.
    layer_name : str
    kernel : ndarray, float32, shape (kh, kw, C_in, C_out)
        Filter ``f`` is ``kernel[:, :, :, f]``; it looks at ``C_in`` input channels.
    bias : ndarray, float32, shape (C_out,)
    """

    layer_index: int
    layer_name: str
    kernel: np.ndarray
    bias: np.ndarray

    @property
    def filters(self) -> int:
        return self.kernel.shape[3]

    @property
    def in_channels(self) -> int:
        return self.kernel.shape[2]

    @property
    def limit(self) -> float:
        """``max |w|``: a colour scale from ``-limit`` to ``+limit`` is centred on 0."""
        return float(np.abs(self.kernel).max()) if self.kernel.size else 0.0

    def describe(self) -> str:
        """Text alternative: what the filters are and the range of their weights."""
        kh, kw, c_in, c_out = self.kernel.shape
        return (
            f"{self.layer_name}: {c_out} filter{'s' * (c_out != 1)} of {kh}×{kw} weights "
            f"over {c_in} input channel{'s' * (c_in != 1)}; weights from "
            f"{float(self.kernel.min()):.3g} to {float(self.kernel.max()):.3g}."
        )


def conv_layers(model) -> list[tuple[int, str]]:
    """``(index, name)`` of each Conv2D layer: the choices for a filter view."""
    return layers_of_kind(model, "Conv2D")


def filter_bank(model, layer: int | str | None = None) -> FilterBank | NothingToShow:
    """The filters of ``layer`` (name or index); the first Conv2D layer by default.

    A model that is not trained yet has its random starting filters: they are
    shown too (a view may say so). Returns :class:`NothingToShow` when there is
    no model, no Conv2D layer, or ``layer`` is not a Conv2D layer.
    """
    if model is None or not model.built:
        return NO_MODEL
    if layer is None:
        choices = conv_layers(model)
        if not choices:
            return NothingToShow(
                "no-filters",
                "This model has no Conv2D layer, so there are no filters to show. "
                "Add a Conv2D block to see what its filters learn.",
            )
        layer = choices[0][0]
    found = find_layer(model, layer)
    if isinstance(found, NothingToShow):
        return found
    index, obj = found
    if obj.kind != "Conv2D":
        return NothingToShow(
            "no-filters",
            f"Layer {obj.name} ({obj.kind}) has no filters: only Conv2D layers have them.",
        )
    return FilterBank(
        index,
        obj.name,
        np.array(obj.params["kernel"], dtype=np.float32),
        np.array(obj.params["bias"], dtype=np.float32),
    )
