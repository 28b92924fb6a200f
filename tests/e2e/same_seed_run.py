"""A fixed-seed training run that the browser's Pyodide and desktop CPython both do.

``tests/e2e/test_kernel.py`` runs :func:`run` here and, from this file's source, in
the page's own worker. Two Conv2D(relu) + MaxPool pairs (the fused layer: its products
and its pool passes both go through the WebAssembly kernel in the browser) and a Dense
output, ten SGD steps on the digits images.
"""

import json


def run() -> str:
    """JSON: the batch losses, the weights after the run, the kernels pycnn used."""
    from pycnn import SGD, Conv2D, Dense, Flatten, MaxPooling2D, Sequential, datasets, products

    (x, y), _, _ = datasets.load("digits")
    model = Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Conv2D(16, 2, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        input_shape=(8, 8, 1),
        seed=7,
    )
    model.compile(optimizer=SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
    calls = getattr(products.KERNELS, "calls", 0)
    losses = [
        float(model.train_on_batch(x[i : i + 64], y[i : i + 64])[0]) for i in range(0, 640, 64)
    ]
    return json.dumps(
        {
            "losses": losses,
            "weights": [w.ravel().tolist() for w in model.get_weights()],
            "kernels": getattr(products.KERNELS, "name", "numpy"),
            "calls": getattr(products.KERNELS, "calls", 0) - calls,
        }
    )
