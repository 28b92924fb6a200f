"""The model's architecture as JSON that both pycnn and Keras read.

It is Keras 3's own ``model.to_json()`` format, limited to what the model
uses, wrapped around pycnn's :meth:`~pycnn.Sequential.to_config` (which adds
``input_shape`` and ``seed``, keys Keras passes over)::

    {"module": "keras", "class_name": "Sequential",
     "config": {"name": "sequential", "input_shape": [28, 28, 1], "seed": 0,
                "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                            "config": {"batch_shape": [null, 28, 28, 1], ...}},
                           {"module": "keras.layers", "class_name": "Conv2D",
                            "config": {"name": "conv2d", "filters": 32, ...}}, ...]}}

``keras.models.model_from_json(text)`` and
``pycnn.Sequential.from_config(json.loads(text))`` both rebuild the model
(with fresh weights: they travel in the ``.npz``).
"""

from __future__ import annotations

import json

from ..errors import ModelError

__all__ = ["model_config", "model_json"]

# Layers that take Keras's data_format argument; pycnn's are all channels-last.
_IMAGE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten")


def _keras_item(class_name: str, config: dict) -> dict:
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": config,
        "registered_name": None,
    }


def model_config(model) -> dict:
    """The model in Keras's JSON structure, as a dict (see the module docstring)."""
    if not getattr(model, "built", False):
        raise ModelError(
            "the model JSON needs the input shape, which is not known yet",
            "Pass input_shape=(height, width, channels) to Sequential",
            "input_shape=None",
            layer_kind="Export",
        )
    config = model.to_config()
    layers = [
        _keras_item(
            "InputLayer",
            {
                "batch_shape": [None, *config["input_shape"]],
                "dtype": "float32",
                "name": "input_layer",
            },
        )
    ]
    for item in config["layers"]:
        layer_config = dict(item["config"])
        if item["class_name"] in _IMAGE_LAYERS:
            layer_config["data_format"] = "channels_last"
        layers.append(_keras_item(item["class_name"], layer_config))
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {**config, "layers": layers},
        "registered_name": None,
    }


def model_json(model, indent: int | None = 2) -> str:
    """:func:`model_config` as JSON text."""
    return json.dumps(model_config(model), indent=indent)
