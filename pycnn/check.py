"""Check a whole stack of layers before building it, without raising.

:func:`check_layers` gives one row per layer (output shape, parameters,
multiply-adds, or the error that layer has), so a UI can show every row of
the summary table even when one layer is invalid. It sits above the layers
and the config reader; the per-layer arithmetic it relies on is in
:mod:`pycnn.shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .arguments import normalize_input_shape
from .errors import ModelError
from .layers.base import Layer, assign_default_names
from .serialization import layer_from_config

__all__ = ["LayerCheck", "SummaryRow", "check_layers"]


@dataclass(frozen=True)
class LayerCheck:
    """One row of :func:`check_layers` and of :meth:`pycnn.Sequential.summary`.

    The columns of Keras's summary (Layer (type) / Output Shape / Param #)
    and more: ``output_shape`` has no batch dimension; ``macs`` counts the
    multiply-adds of one example's forward pass in Conv2D and Dense layers
    (pooling, Flatten and Dropout report 0). ``ok`` rows have
    ``output_shape``, ``params`` and ``macs``; rows with an ``error`` (a
    :class:`ModelError` whose ``layer_index`` is this row's index) have
    ``output_shape=None`` and zero params/macs.
    """

    index: int
    name: str
    kind: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    error: ModelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_layers(layers, input_shape) -> list[LayerCheck]:
    """Validate layers one by one and never raise for a user mistake.

    Parameters
    ----------
    layers : list
        Layer objects, or Keras-style dicts ``{"class_name": "Conv2D",
        "config": {...}}`` (errors while *creating* a layer from a dict are
        reported in its row too).
    input_shape : tuple
        Model input, no batch dimension, e.g. ``(28, 28, 1)``.

    Returns
    -------
    list of LayerCheck
        One row per layer, in order, with Keras default names
        (``conv2d``, ``conv2d_1``, ...) unless the layer has its own name.
        After an invalid layer the following layers are checked as if the
        invalid one were absent (they receive its input shape), so the
        rest of the table stays informative. If ``input_shape`` itself is
        invalid, every row carries that error.
    """
    objects: list[Any] = []  # a Layer, or the kind name of one that could not be made
    creation_errors: dict[int, ModelError] = {}
    for i, item in enumerate(layers):
        if isinstance(item, Layer):
            objects.append(item)
            continue
        try:
            objects.append(layer_from_config(item))
        except ModelError as err:
            creation_errors[i] = err
            objects.append(_kind_of(item))
    names = assign_default_names(objects, apply=False)

    try:
        shape: tuple[int, ...] | None = normalize_input_shape(input_shape)
        input_error = None
    except ModelError as err:
        shape, input_error = None, err

    rows = []
    for i, layer in enumerate(objects):
        kind = layer if isinstance(layer, str) else layer.kind
        error = creation_errors.get(i) or input_error
        out = None
        params = macs = 0
        if error is None:
            try:
                out = layer.output_shape(shape)
                params = layer.param_count(shape)
                macs = layer.macs(shape)
            except ModelError as err:
                error = err
        if error is not None:
            error = error.located(i, names[i], kind)
        rows.append(LayerCheck(i, names[i], kind, shape, out, params, macs, error))
        if out is not None:
            shape = out
    return rows


def _kind_of(item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("class_name"), str):
        return item["class_name"]
    return "Layer"


#: The rows :meth:`pycnn.Sequential.summary` returns (always ``ok``).
SummaryRow = LayerCheck
