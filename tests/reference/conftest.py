"""The reference group: pycnn's exports checked against the real Keras, PyTorch and TensorBoard.

These tests need their own venv (``.venv-reference``, torch + keras + tensorboard), so the
main pytest run leaves them out; ``.venv/bin/python tests/reference/run.py`` (which
``python3 build.py test`` calls) creates that venv and runs them there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

if not os.environ.get("CNN_PLAYGROUND_REFERENCE"):
    collect_ignore_glob = ["test_*.py"]  # run them with: .venv/bin/python tests/reference/run.py

# Keras's download cache, before Keras is imported: the tests put dataset files there,
# and the learner's own ~/.keras stays untouched.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="cnn-playground-keras-home-")

from pycnn import (
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    Sequential,
    datasets,
    export,
)


@dataclass
class Case:
    """A model the playground can make, trained briefly by pycnn on real images."""

    name: str
    model: Sequential
    dataset: str | None  # what the exported script loads (None: the learner's own images)
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray  # real test images, for comparing predictions
    y_test: np.ndarray
    weights: Path  # pycnn's save_weights file

    def training(self, **extra) -> dict:
        return {"dataset": self.dataset, "epochs": 1, "batch_size": 32, **extra}

    def load_small(self):
        """A small subset in the scripts' load_data() format, for quick training runs."""
        return (self.x_train[:320], self.y_train[:320]), (self.x_test[:100], self.y_test[:100])


def _rgb(x: np.ndarray) -> np.ndarray:
    """Three real greyscale images per example, as the red, green and blue channels."""
    n = len(x) // 3
    return np.concatenate([x[:n], x[n : 2 * n], x[2 * n : 3 * n]], axis=-1)


def _layers(name: str) -> tuple[list, str]:
    if name == "keras_convnet":  # the convnet of Keras's "Simple MNIST convnet" example
        return [
            Conv2D(32, 3, activation="relu"),
            MaxPooling2D(2),
            Conv2D(64, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dropout(0.5),
            Dense(10, activation="softmax"),
        ], "mnist"
    if name == "strided_same":  # every kind of uneven "same" padding, strided too
        return [
            Conv2D(8, 3, strides=2, padding="same", activation="tanh"),  # 28 -> 14, pads (0, 1)
            Conv2D(12, 4, padding="same", activation="sigmoid"),  # even kernel: pads (1, 2)
            MaxPooling2D(3, strides=2, padding="same"),  # 14 -> 7, pads (0, 1)
            MaxPooling2D(2, strides=1, padding="same"),  # 7 -> 7, pads (0, 1)
            Conv2D(16, 5, strides=(2, 1), padding="same"),  # linear; pads (2, 2) both ways
            Flatten(),
            Dense(32, activation="relu"),
            Dense(10, activation="softmax"),
        ], "fashion"
    if name == "rgb_average":  # 3 channels, average pooling, linear output
        return [
            Conv2D(6, 3, padding="same", activation="relu"),
            AveragePooling2D(2),  # 28 -> 14
            AveragePooling2D(3, strides=1, padding="same"),  # pads (1, 1)
            AveragePooling2D(4, strides=2, padding="same"),  # 14 -> 7, pads (1, 1)
            Conv2D(8, 2, strides=2, activation="sigmoid"),  # 7 -> 3
            Flatten(),
            Dropout(0.25),
            Dense(10),
        ], None
    if name == "uneven_average":  # average pooling whose "same" padding is all after
        return [
            AveragePooling2D(3, strides=2, padding="same"),  # 28 -> 14, pads (0, 1)
            Conv2D(4, 3, activation="tanh"),  # 14 -> 12
            AveragePooling2D(2, strides=1, padding="same"),  # pads (0, 1)
            Flatten(),
            Dense(10, activation="softmax"),
        ], None
    if name == "digits_dense":  # softmax inside the network, tanh and sigmoid
        return [
            Conv2D(4, (3, 2), strides=(1, 2), padding="same", activation="softmax"),
            Flatten(),
            Dense(16, activation="tanh"),
            Dropout(0.2),
            Dense(16, activation="sigmoid"),
            Dense(10, activation="softmax"),
        ], "digits"
    raise KeyError(name)


def pytest_configure(config):
    # numpy 2 asks Keras's torch tensors for a newer __array__; harmless, and said 300 times
    config.addinivalue_line(
        "filterwarnings",
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    )


CASES = ["keras_convnet", "strided_same", "rgb_average", "uneven_average", "digits_dense"]


@pytest.fixture(scope="session", params=CASES)
def case(request, tmp_path_factory) -> Case:
    layers, dataset = _layers(request.param)
    (x_train, y_train), (x_test, y_test), _ = datasets.load(dataset or "fashion")
    if dataset is None:
        x_train, y_train = _rgb(x_train[:3000]), y_train[:1000]
        x_test, y_test = _rgb(x_test[:600]), y_test[:200]
    model = Sequential(layers, input_shape=x_train.shape[1:], seed=1)
    model.compile("adam", metrics=["accuracy"])
    model.fit(x_train[:1000], y_train[:1000], epochs=1, batch_size=32)
    weights = tmp_path_factory.mktemp(request.param) / export.WEIGHTS_FILENAME
    model.save_weights(weights)
    return Case(
        request.param, model, dataset, x_train, y_train, x_test[:200], y_test[:200], weights
    )


def import_script(code: str, folder: Path, name: str):
    """Write an exported script to ``folder`` and import it as a module, as a learner would."""
    path = folder / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
