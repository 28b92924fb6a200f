"""pycnn: a small, readable NumPy CNN library with Keras semantics.

    from pycnn import Sequential, Conv2D, MaxPooling2D, Flatten, Dense, Adam

Shapes and parameter counts are known before any data
(:mod:`pycnn.shapes`, :func:`pycnn.check_layers`), user mistakes raise :class:`pycnn.errors.ModelError`
(a ``ValueError``), and training is a generator of progress events.
"""

from . import export
from .check import LayerCheck, SummaryRow, check_layers
from .errors import ModelError
from .events import TrainEvent
from .layers import AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPooling2D
from .model import Sequential
from .optimizers import SGD, Adam, Optimizer

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
    "export",
]

__version__ = "0.1.0"
