"""pycnn: a small, readable NumPy CNN library with Keras semantics.

    from pycnn import Sequential, Conv2D, MaxPooling2D, Flatten, Dense, Adam

Shapes and parameter counts are known before any data
(:mod:`pycnn.shapes`), user mistakes raise :class:`pycnn.errors.ModelError`
(a ``ValueError``), and training is a generator of progress events.
"""

from .errors import ModelError
from .events import TrainEvent
from .layers import AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPooling2D
from .model import Sequential, SummaryRow
from .optimizers import SGD, Adam, Optimizer
from .shapes import LayerCheck, check_layers

__all__ = [
    "SGD",
    "Adam",
    "AveragePooling2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LayerCheck",
    "MaxPooling2D",
    "ModelError",
    "Optimizer",
    "Sequential",
    "SummaryRow",
    "TrainEvent",
    "check_layers",
]

__version__ = "0.1.0"
