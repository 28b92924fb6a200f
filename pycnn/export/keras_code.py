"""The model and its training as a Keras 3 script: :func:`to_keras`.

pycnn follows Keras's semantics layer for layer (channels-last images,
``same`` padding, kernel layouts, the optimizers' update rules), so the
script is the model written in Keras's own words, and pycnn's weights go in
unchanged.
"""

from __future__ import annotations

from .. import optimizers
from .data_code import load_data_code
from .script import (
    KERAS_FILENAME,
    WEIGHTS_FILENAME,
    LayerStep,
    Settings,
    call,
    constants,
    header,
    imports,
    join_blocks,
    layer_steps,
    main_code,
    number,
    python_name,
    settings,
)

__all__ = ["to_keras"]


def to_keras(model, **training) -> str:
    """A runnable Keras script (source text) for ``model`` and its training settings.

    ``training``: ``dataset``, ``epochs``, ``batch_size``, ``learning_rate``,
    ``optimizer``, ``validation_split``, ``seed`` and ``link`` (the playground
    address, named in the header); see :func:`pycnn.export.script.settings`.
    The script defines ``build_model(weights=None)`` (``weights``: the path of
    an ``.npz`` from :meth:`pycnn.Sequential.save_weights`), ``load_data()``,
    ``train()`` and ``main()``; run as a program it trains on the full
    dataset and prints the test accuracy.
    """
    s = settings(model, **training)
    steps = layer_steps(model)
    data_imports, data_code = load_data_code(s, model, "keras")
    needs = "Keras 3 and a backend: `pip install keras torch`, KERAS_BACKEND=torch"
    if s.dataset == "digits":
        needs = "Keras 3, a backend and scikit-learn: `pip install keras torch scikit-learn`"
    modules = ["import argparse", "import keras", "import numpy as np", "from keras import layers"]
    return join_blocks(
        header(s, model, "Keras", KERAS_FILENAME, needs),
        imports(modules + data_imports),
        constants(s),
        _build_model(model, steps, s),
        _load_weights(steps),
        data_code,
        _TRAIN,
        main_code(
            "keras.utils.set_random_seed(SEED)",
            "model.summary()",
            "model.evaluate(x_test, y_test, verbose=0)",
        ),
    )


def _layer(step: LayerStep) -> str:
    c = step.config
    args: list[str] = []
    if step.kind == "Conv2D":
        args += [str(c["filters"]), str(tuple(c["kernel_size"]))]
        if tuple(c["strides"]) != (1, 1):
            args.append(f"strides={tuple(c['strides'])}")
    elif step.kind in ("MaxPooling2D", "AveragePooling2D"):
        args.append(str(tuple(c["pool_size"])))
        if tuple(c["strides"]) != tuple(c["pool_size"]):
            args.append(f"strides={tuple(c['strides'])}")
    elif step.kind == "Dense":
        args.append(str(c["units"]))
    elif step.kind == "Dropout":
        args.append(number(c["rate"]))
    if c.get("padding") == "same":
        args.append('padding="same"')
    if step.activation not in (None, "linear"):
        args.append(f'activation="{step.activation}"')
    args.append(f'name="{step.var}"')
    line = call(12, f"layers.{step.kind}", args, ",")
    if step.kind == "AveragePooling2D" and step.uneven_padding:
        line = _UNEVEN_AVERAGE_NOTE + line
    return line


# Keras 3.15's PyTorch backend pads such a layer by repeating the edge pixels and averages
# them in, a known Keras bug fixed after 3.15.1 (docs/EXPORT.md); TensorFlow, JAX and pycnn
# average the real pixels only. The reference tests watch for the fix.
_UNEVEN_AVERAGE_NOTE = """\
            # Uneven "same" padding: with the PyTorch backend, Keras up to 3.15 averages the
            # edge differently from the playground; the TensorFlow and JAX backends match it.
"""


def _build_model(model, steps: list[LayerStep], s: Settings) -> str:
    rows = "\n".join(_layer(step) for step in steps)
    return f'''
def build_model(weights=None):
    """The playground's network, layer for layer, compiled with its optimizer.

    weights: the path of a .npz of weights exported by the playground, or None
    for fresh random weights.
    """
    model = keras.Sequential(
        [
            keras.Input(shape={tuple(model.input_shape)}),
{rows}
        ],
        name="{python_name(model.name, set())}",
    )
    if weights is not None:
        load_pycnn_weights(model, weights)
    model.compile(
        optimizer={_optimizer_code(s.optimizer)},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
'''


def _load_weights(steps: list[LayerStep]) -> str:
    lines = "\n".join(
        call(
            8,
            f'model.get_layer("{step.var}").set_weights',
            [f'[saved["{step.name}/kernel"], saved["{step.name}/bias"]]'],
        )
        for step in steps
        if step.has_weights
    )
    return f'''
def load_pycnn_weights(model, path):
    """Copy the weights the playground exported ({WEIGHTS_FILENAME}) into the model.

    The .npz holds one float32 array per parameter, named "<layer>/kernel" and
    "<layer>/bias", in Keras's own layouts (Conv2D kernel: height, width, in,
    out; Dense kernel: in, out), so they go in as they are.
    """
    with np.load(path, allow_pickle=False) as saved:
{lines or "        pass  # no layer has weights"}
'''


def _optimizer_code(opt: optimizers.Optimizer) -> str:
    if isinstance(opt, optimizers.Adam):
        # Keras's defaults are pycnn's: beta_1=0.9, beta_2=0.999, epsilon=1e-7
        extra = "".join(
            f", {key}={number(getattr(opt, key))}"
            for key, default in (("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7))
            if getattr(opt, key) != default
        )
        return f"keras.optimizers.Adam(learning_rate=LEARNING_RATE{extra})"
    extra = f", momentum={number(opt.momentum)}" if opt.momentum else ""
    extra += ", nesterov=True" if opt.nesterov else ""
    return f"keras.optimizers.SGD(learning_rate=LEARNING_RATE{extra})"


_TRAIN = '''
def train(model, x_train, y_train, epochs=EPOCHS):
    """Train as the playground does (Keras holds out the last VALIDATION_SPLIT)."""
    return model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        validation_split=VALIDATION_SPLIT,
    )
'''
