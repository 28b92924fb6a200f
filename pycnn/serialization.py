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
    cls = LAYER_CLASSES.get(kind)
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
        first = layer_items.pop(0).get("config", {})
        batch_shape = first.get("batch_shape") or first.get("batch_input_shape")
        if batch_shape:
            input_shape = tuple(batch_shape[1:])
    layers = []
    for index, item in enumerate(layer_items):
        try:
            layers.append(layer_from_config(item))
        except ModelError as err:
            raise err.located(index, err.layer_name, err.layer_kind) from None
    return cls(
        layers,
        input_shape=tuple(input_shape) if input_shape is not None else None,
        seed=config.get("seed", 0),
        name=config.get("name", "sequential"),
    )


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
    """Read weights written by :func:`save_weights` into a model of the same architecture."""
    model._require_built("load_weights()")
    try:
        with np.load(file, allow_pickle=False) as data:
            stored = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as err:
        raise ModelError(
            "could not read the weights file",
            "Use a file written by model.save_weights()",
            f"{file!r} ({err})",
            layer_kind="Model",
        ) from None
    expected = [f"{layer.name}/{k}" for _, layer, k in _weight_keys(model)]
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
        _check_shape(index, layer, key, stored[name].shape)
    extra = sorted(set(stored) - set(expected))
    if extra:
        raise ModelError(
            "the weights file has arrays this model does not use",
            "Load weights saved from a model with the same layers",
            f"unexpected arrays: {extra}",
            layer_kind="Model",
        )
    for _, layer, key in _weight_keys(model):
        layer.params[key][...] = stored[f"{layer.name}/{key}"]


def set_model_weights(model, weights: list[np.ndarray]) -> None:
    """Copy a list like :meth:`Sequential.get_weights` into the model's parameters."""
    keys = _weight_keys(model)
    weights = list(weights)
    if len(weights) != len(keys):
        raise ModelError(
            "wrong number of weight arrays",
            f"Pass {len(keys)} arrays, in the order of model.get_weights()",
            f"{len(weights)} arrays",
            layer_kind="Model",
        )
    for (index, layer, key), w in zip(keys, weights):
        _check_shape(index, layer, key, np.shape(w))
    for (_, layer, key), w in zip(keys, weights):
        layer.params[key][...] = w


def _check_shape(index, layer, key, shape) -> None:
    want = layer.params[key].shape
    if tuple(shape) != want:
        raise ModelError(
            f"{key} has the wrong shape: expected {want}",
            "Load weights saved from a model with the same layers and input shape",
            f"shape={tuple(shape)}",
            layer_index=index,
            layer_name=layer.name,
            layer_kind=layer.kind,
        )
