"""Model configs (Keras-style JSON-friendly dicts) and weights (``.npz``).

A layer config reads like Keras::

    {"class_name": "Conv2D",
     "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3],
                "strides": [1, 1], "padding": "valid", "activation": "relu"}}

A model config is ``{"name", "input_shape", "seed", "layers": [...]}``;
:func:`model_from_config` also accepts the ``{"class_name": "Sequential",
"config": {...}}`` wrapper and a leading Keras ``InputLayer`` entry.

Weights are saved as an uncompressed ``.npz`` with one float32 array per
parameter, keyed ``"<layer name>/<kernel|bias>"``; loading them back gives
bit-identical arrays.
"""

from __future__ import annotations

import difflib
import inspect
import os
from typing import Any

import numpy as np

from . import npz
from .errors import ModelError
from .layers import LAYER_CLASSES, Layer

__all__ = [
    "layer_from_config",
    "layer_to_config",
    "load_weights",
    "model_from_config",
    "model_to_config",
    "save_weights",
    "set_model_weights",
]

# Keras config keys that carry no meaning here and are skipped when reading
_IGNORED_KERAS_KEYS = {"trainable", "dtype"}


def layer_to_config(layer: Layer) -> dict[str, Any]:
    return {"class_name": layer.kind, "config": layer.get_config()}


def layer_from_config(item: Any) -> Layer:
    """A new layer from ``{"class_name": ..., "config": {...}}``; ModelError if invalid."""
    if not isinstance(item, dict) or "class_name" not in item:
        raise ModelError(
            "a layer config must be a dict with 'class_name' and 'config'",
            "Write e.g. {'class_name': 'Dense', 'config': {'units': 10}}",
            repr(item),
        )
    kind = item["class_name"]
    cls = LAYER_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(kind), LAYER_CLASSES, n=1)
        suggestion = f"Did you mean '{close[0]}'? " if close else ""
        raise ModelError(
            "unknown layer type",
            f"{suggestion}Use one of: {', '.join(LAYER_CLASSES)}",
            f"class_name={kind!r}",
        )
    config = item.get("config", {})
    if not isinstance(config, dict):
        raise ModelError(
            "a layer's 'config' must be a dict",
            "Write e.g. {'units': 10}",
            f"config={config!r}",
            layer_kind=kind,
        )
    config = dict(config)
    for key in _IGNORED_KERAS_KEYS:
        config.pop(key, None)
    if config.get("data_format", "channels_last") != "channels_last":
        raise ModelError(
            "only channels-last images are supported",
            "Use data_format='channels_last' (height, width, channels)",
            f"data_format={config['data_format']!r}",
            layer_kind=kind,
        )
    config.pop("data_format", None)
    accepted = inspect.signature(cls.__init__).parameters
    unknown = [k for k in config if k not in accepted]
    if unknown:
        names = [p for p in accepted if p != "self"]
        raise ModelError(
            f"unknown argument {unknown[0]!r} for {kind}",
            f"{kind} accepts: {', '.join(names)}",
            f"{unknown[0]}={config[unknown[0]]!r}",
            layer_kind=kind,
        )
    missing = [
        name
        for name, p in accepted.items()
        if name != "self" and p.default is inspect.Parameter.empty and name not in config
    ]
    if missing:
        raise ModelError(
            f"missing argument {missing[0]!r} for {kind}",
            f"Add '{missing[0]}' to the layer's config",
            f"config={config!r}",
            layer_kind=kind,
        )
    return cls(**config)


def model_to_config(model) -> dict[str, Any]:
    return {
        "name": model.name,
        "input_shape": list(model.input_shape) if model.input_shape is not None else None,
        "seed": model.seed,
        "layers": [layer_to_config(layer) for layer in model.layers],
    }


def model_from_config(config: dict[str, Any], cls):
    """A new (freshly initialised) ``cls`` model from :func:`model_to_config` output.

    ``cls`` is the model class (:class:`pycnn.Sequential`), passed in by
    ``Sequential.from_config`` because the model depends on this module.
    """
    if isinstance(config, dict) and config.get("class_name") == "Sequential":
        config = config.get("config", {})
    if not isinstance(config, dict) or not isinstance(config.get("layers", []), list):
        raise ModelError(
            "a model config must be a dict with a 'layers' list",
            "Use the output of model.to_config()",
            repr(config)[:200],
            layer_kind="Model",
        )
    layer_items = list(config.get("layers", []))
    input_shape = config.get("input_shape")
    if (
        layer_items
        and isinstance(layer_items[0], dict)
        and layer_items[0].get("class_name") == "InputLayer"
    ):
        input_shape = _input_layer_shape(layer_items.pop(0).get("config", {}), input_shape)
    layers = []
    for index, item in enumerate(layer_items):
        try:
            layers.append(layer_from_config(item))
        except ModelError as err:
            raise err.located(index, err.layer_name, err.layer_kind) from None
    return cls(
        layers,
        input_shape=input_shape,
        seed=config.get("seed", 0),
        name=config.get("name", "sequential"),
    )


def _input_layer_shape(config: Any, default: Any) -> Any:
    """The input shape a Keras ``InputLayer`` config gives (its batch shape minus the batch)."""
    if not isinstance(config, dict):
        raise ModelError(
            "an InputLayer's 'config' must be a dict",
            "Write e.g. {'class_name': 'InputLayer', 'config': {'batch_shape': [None, 28, 28, 1]}}",
            f"config={config!r}",
            layer_kind="InputLayer",
        )
    batch_shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not batch_shape:
        return default
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) < 2:
        raise ModelError(
            "an InputLayer's batch_shape must list the batch size and then the input shape",
            "Write e.g. 'batch_shape': [None, 28, 28, 1]",
            f"batch_shape={batch_shape!r}",
            layer_kind="InputLayer",
        )
    return tuple(batch_shape[1:])


# --------------------------------------------------------------------------- weights


def _weight_keys(model) -> list[tuple[int, Layer, str]]:
    return [(i, layer, k) for i, layer in enumerate(model.layers) for k in layer.trainable_keys]


def save_weights(model, file) -> None:
    """Write every parameter to ``file`` (a path or a binary file object) as ``.npz``.

    A path is used exactly as given (NumPy would otherwise append ``.npz``).
    """
    model._require_built("save_weights()")
    arrays = {f"{layer.name}/{k}": layer.params[k] for _, layer, k in _weight_keys(model)}
    if isinstance(file, (str, os.PathLike)):
        with open(file, "wb") as f:
            np.savez(f, **arrays)
    else:
        np.savez(file, **arrays)


def load_weights(model, file) -> None:
    """Read weights written by :func:`save_weights` into a model of the same architecture.

    Every array is checked before any is copied: a file that does not fit
    leaves the model's weights as they were.
    """
    model._require_built("load_weights()")
    stored = npz.read_arrays(
        file, "the weights file", "Use a file written by model.save_weights()", "Model"
    )
    checked = []
    for index, layer, key in _weight_keys(model):
        name = f"{layer.name}/{key}"
        if name not in stored:
            raise ModelError(
                f"the weights file has no {key!r} for this layer",
                "Load weights saved from a model with the same layers and names",
                f"arrays in file: {sorted(stored)}",
                layer_index=index,
                layer_name=layer.name,
                layer_kind=layer.kind,
            )
        checked.append(_checked_weight(index, layer, key, stored[name]))
    expected = {f"{layer.name}/{k}" for _, layer, k in _weight_keys(model)}
    extra = sorted(set(stored) - expected)
    if extra:
        raise ModelError(
            "the weights file has arrays this model does not use",
            "Load weights saved from a model with the same layers",
            f"unexpected arrays: {extra}",
            layer_kind="Model",
        )
    _assign(model, checked)


def set_model_weights(model, weights: list[np.ndarray]) -> None:
    """Copy a list like :meth:`Sequential.get_weights` into the model's parameters.

    Every array is checked before any is copied.
    """
    keys = _weight_keys(model)
    if isinstance(weights, (str, bytes, dict, np.ndarray)) or not hasattr(weights, "__iter__"):
        raise ModelError(
            "weights must be a list of arrays",
            f"Pass {len(keys)} arrays, in the order of model.get_weights()",
            f"{type(weights).__name__}",
            layer_kind="Model",
        )
    weights = list(weights)
    if len(weights) != len(keys):
        raise ModelError(
            "wrong number of weight arrays",
            f"Pass {len(keys)} arrays, in the order of model.get_weights()",
            f"{len(weights)} arrays",
            layer_kind="Model",
        )
    _assign(model, [_checked_weight(*key, w) for key, w in zip(keys, weights)])


def _assign(model, arrays: list[np.ndarray]) -> None:
    for (_, layer, key), value in zip(_weight_keys(model), arrays):
        layer.params[key][...] = value


def _checked_weight(index: int, layer: Layer, key: str, value: Any) -> np.ndarray:
    """``value`` as an array that can replace ``layer.params[key]``, or a ModelError."""

    def error(problem: str, hint: str, received: str) -> ModelError:
        return ModelError(
            problem,
            hint,
            received,
            layer_index=index,
            layer_name=layer.name,
            layer_kind=layer.kind,
        )

    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise error(
            f"{key} cannot be turned into an array", "Pass a NumPy array", str(err)
        ) from None
    want = layer.params[key].shape
    if array.shape != want:
        raise error(
            f"{key} has the wrong shape: expected {want}",
            "Load weights saved from a model with the same layers and input shape",
            f"shape={array.shape}",
        )
    if array.dtype.kind not in "fiu":  # float, signed and unsigned integers
        raise error(
            f"{key} must hold real numbers",
            "Pass float32 arrays like the ones model.get_weights() returns",
            f"{key}.dtype={array.dtype}",
        )
    with np.errstate(over="ignore"):  # too large for float32: becomes inf, refused below
        array = array.astype(layer.params[key].dtype, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        raise error(
            f"{key} holds NaN or infinity, which would make every output NaN",
            "Use weights from a run that did not diverge",
            f"{int(array.size - finite.sum())} of {array.size} values not finite",
        )
    return array
