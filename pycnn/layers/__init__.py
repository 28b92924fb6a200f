"""Layers, one module per kind. See :class:`pycnn.layers.base.Layer` for the interface."""

from .activated import ActivatedLayer
from .base import Layer
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .pooling import AveragePooling2D, MaxPooling2D

__all__ = [
    "LAYER_CLASSES",
    "ActivatedLayer",
    "AveragePooling2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPooling2D",
]

#: Keras class name -> layer class, for configs and URL/JSON specs
LAYER_CLASSES = {
    cls.__name__: cls for cls in (Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense, Dropout)
}
