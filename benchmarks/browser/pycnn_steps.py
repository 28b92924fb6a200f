"""pycnn training steps timed the same way natively and inside the browser's Pyodide.

Imported by ``benchmarks/bench_browser.py`` (desktop CPython) and by
``benchmarks/browser/pyodide-worker.js`` (Pyodide 0.27.7 in a Web Worker of
headless Chromium), so both sides run exactly this code.

The data comes as raw little-endian files written by the harness (the same
bytes ConvNetJS reads): ``mnist-x.f32`` (N x 28 x 28 float32 in [0, 1]),
``mnist-y.i32``, ``digits-x.f32`` (N x 8 x 8), ``digits-y.i32``.

Optimizer on every model: SGD(learning_rate=0.01, momentum=0.9) -- the same
update rule as ConvNetJS's ``sgd`` trainer with ``momentum: 0.9``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

_STATE: dict = {}


def _read(path: str, dtype, shape_tail: tuple) -> np.ndarray:
    with open(path, "rb") as f:
        data = np.frombuffer(f.read(), dtype=dtype)
    return data.reshape((-1, *shape_tail)) if shape_tail else data


def setup(data_dir: str) -> str:
    """Load the data and build the models (idempotent); returns a JSON description."""
    import pycnn
    from pycnn import SGD, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Sequential, products

    _STATE["x_mnist"] = _read(f"{data_dir}/mnist-x.f32", "<f4", (28, 28, 1)).astype(np.float32)
    _STATE["y_mnist"] = _read(f"{data_dir}/mnist-y.i32", "<i4", ()).astype(np.intp)
    _STATE["x_digits"] = _read(f"{data_dir}/digits-x.f32", "<f4", (8, 8, 1)).astype(np.float32)
    _STATE["y_digits"] = _read(f"{data_dir}/digits-y.i32", "<i4", ()).astype(np.intp)

    def compiled(model):
        model.compile(
            optimizer=SGD(0.01, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def keras():
        return compiled(
            Sequential(
                [
                    Conv2D(32, 3, activation="relu"),
                    MaxPooling2D(2),
                    Conv2D(64, 3, activation="relu"),
                    MaxPooling2D(2),
                    Flatten(),
                    Dropout(0.5),
                    Dense(10, activation="softmax"),
                ],
                input_shape=(28, 28, 1),
                seed=0,
            )
        )

    def starter(input_shape):
        return compiled(
            Sequential(
                [
                    Conv2D(8, 3, activation="relu"),
                    MaxPooling2D(2),
                    Flatten(),
                    Dense(10, activation="softmax"),
                ],
                input_shape=input_shape,
                seed=0,
            )
        )

    _STATE["models"] = {
        "keras": keras(),
        "starter": starter((8, 8, 1)),
        "mnist_default": starter((28, 28, 1)),  # the app's default layers on MNIST
    }
    _STATE["cursor"] = 0
    return json.dumps(
        {
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "platform": sys.platform,
            "pycnn_file": getattr(pycnn, "__file__", "?"),
            "have_blas": products.HAVE_BLAS,
            "kernels": getattr(products.KERNELS, "name", "numpy"),
            "params": {k: int(m.count_params()) for k, m in _STATE["models"].items()},
            "mnist_images": int(_STATE["x_mnist"].shape[0]),
            "digits_images": int(_STATE["x_digits"].shape[0]),
        }
    )


def run(task_json: str) -> str:
    """Run one task; returns JSON ``{"times": [seconds, ...], "samples": per_time}``.

    Tasks:
    ``{"task": "keras", "batch": B, "steps": n, "model": "keras"}``: n ``train_on_batch``
    steps of the Keras model (or ``"mnist_default"``: the starter layers on 28x28) on
    consecutive MNIST batches, each timed;
    ``{"task": "starter_epoch", "batch": 32, "epochs": n}``: n one-epoch ``fit``
    calls of the starter model on all the digits images (shuffled, as the app
    trains), each timed.
    """
    task = json.loads(task_json)
    models = _STATE["models"]
    times = []
    if task["task"] == "keras":
        model, batch = models[task.get("model", "keras")], int(task["batch"])
        x, y = _STATE["x_mnist"], _STATE["y_mnist"]
        for _ in range(int(task["steps"])):
            i = _STATE["cursor"]
            if i + batch > x.shape[0]:
                i = 0
            _STATE["cursor"] = i + batch
            xb, yb = x[i : i + batch], y[i : i + batch]
            t0 = time.perf_counter()
            model.train_on_batch(xb, yb)
            times.append(time.perf_counter() - t0)
        samples = batch
    elif task["task"] == "starter_epoch":
        model = models["starter"]
        x, y = _STATE["x_digits"], _STATE["y_digits"]
        for _ in range(int(task.get("epochs", 1))):
            t0 = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=int(task["batch"]))
            times.append(time.perf_counter() - t0)
        samples = int(x.shape[0])
    else:
        raise ValueError(f"unknown task {task['task']!r}")
    return json.dumps({"times": times, "samples": samples})
