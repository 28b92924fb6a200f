"""What the Keras and PyTorch scripts share: settings, header, layer walk, layout.

The generators in :mod:`pycnn.export.keras_code` and
:mod:`pycnn.export.pytorch_code` write the model and the training loop in
their library's idiom; the parts here (and ``load_data()`` from
:mod:`pycnn.export.data_code`) are the same for both, so both scripts train
on the same data with the same recipe.
"""

from __future__ import annotations

import keyword
import math
import numbers
import re
from dataclasses import dataclass

from .. import arguments, optimizers
from ..datasets import DATASETS
from ..errors import ModelError
from ..ops import same_padding

__all__ = [
    "LayerStep",
    "Settings",
    "call",
    "constants",
    "header",
    "imports",
    "join_blocks",
    "layer_steps",
    "main_code",
    "settings",
]

#: File names the page gives the downloads; the scripts' instructions use them.
KERAS_FILENAME = "cnn_keras.py"
PYTORCH_FILENAME = "cnn_pytorch.py"
WEIGHTS_FILENAME = "cnn_weights.npz"
MODEL_JSON_FILENAME = "cnn_model.json"
LOGS_FILENAME = "cnn_logs.zip"  # log_zip(): logs/ and logs.csv inside


@dataclass(frozen=True)
class Settings:
    """A model's training recipe, checked: what the exported scripts reproduce."""

    dataset: str | None
    epochs: int
    batch_size: int
    optimizer: optimizers.Optimizer
    validation_split: float
    seed: int
    link: str | None

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate


def settings(
    model,
    *,
    dataset: str | None = None,
    epochs: int = 5,
    batch_size: int = 32,
    learning_rate: float | None = None,
    optimizer=None,
    validation_split: float = 0.1,
    seed: int | None = None,
    link: str | None = None,
) -> Settings:
    """Check a model and its training settings for export; ``ModelError`` names what is wrong.

    ``optimizer`` is ``"adam"``, ``"sgd"`` (the playground's: momentum 0.9)
    or a pycnn optimizer; by default the one the model was compiled with,
    else Adam. ``learning_rate`` overrides the optimizer's. ``seed`` defaults
    to the model's. ``dataset`` (one of :func:`pycnn.datasets.available`)
    must have the model's input shape; ``None`` leaves the data loading to
    the learner.
    """
    _check_model(model)
    if dataset is not None:
        info = DATASETS.get(dataset) if isinstance(dataset, str) else None
        if info is None:
            raise ModelError(
                "unknown dataset",
                f"Use one of: {', '.join(DATASETS)}, or None to load your own images",
                f"dataset={dataset!r}",
                layer_kind="Export",
            )
        if tuple(info.input_shape) != tuple(model.input_shape):
            raise ModelError(
                f"the {info.title} images are {_shape_text(info.input_shape)}, "
                f"but the model takes {_shape_text(model.input_shape)}",
                "Export with the dataset the model was built for",
                f"dataset={dataset!r}, input_shape={tuple(model.input_shape)}",
                layer_kind="Export",
            )
        if model.output_shape != (info.num_classes,):
            raise ModelError(
                f"the {info.title} images have {info.num_classes} classes, "
                f"but the model's last layer has {model.output_shape[0]} outputs",
                f"End the model with Dense({info.num_classes}, activation='softmax')",
                f"output_shape={model.output_shape}",
                layer_kind="Export",
            )
    epochs = arguments.normalize_positive_int(epochs, "epochs", "Export")
    batch_size = arguments.normalize_positive_int(batch_size, "batch_size", "Export")
    split_ok = isinstance(validation_split, numbers.Real) and not isinstance(validation_split, bool)
    if not split_ok or not 0 <= validation_split < 1:
        raise ModelError(
            "validation_split must be a number in [0, 1)",
            "Use e.g. validation_split=0.1 to hold out the last 10% of the training images",
            f"validation_split={validation_split!r}",
            layer_kind="Export",
        )
    seed = arguments.normalize_seed(model.seed if seed is None else seed, "Export") or 0
    return Settings(
        dataset=dataset,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=_optimizer(model, optimizer, learning_rate),
        validation_split=float(validation_split),
        seed=int(seed),
        link=None if link is None else str(link),
    )


def _check_model(model) -> None:
    if not getattr(model, "built", False) or not model.layers:
        raise ModelError(
            "only a model with layers and a known input shape can be exported",
            "Pass input_shape=(height, width, channels) to Sequential and add layers",
            f"input_shape={getattr(model, 'input_shape', None)}, "
            f"{len(getattr(model, 'layers', []))} layers",
            layer_kind="Export",
        )
    index = len(model.layers) - 1
    last = model.layers[index]
    if (
        getattr(last, "activation", None) not in ("softmax", "linear")
        or len(model.output_shape) != 1
    ):
        raise ModelError(
            "the exported scripts train the model, so its last layer must output class scores",
            "End the model with Dense(number_of_classes, activation='softmax')",
            f"last layer {last.kind} with output shape {model.output_shape}",
            layer_index=index,
            layer_name=last.name,
            layer_kind=last.kind,
        )


def _optimizer(model, optimizer, learning_rate) -> optimizers.Optimizer:
    if optimizer is None:
        optimizer = model.optimizer if model.optimizer is not None else "adam"
    if isinstance(optimizer, str) and optimizer.lower() == "sgd":
        optimizer = optimizers.SGD(momentum=0.9)  # the playground's SGD
    try:
        optimizer = optimizers.get(optimizer)
        if learning_rate is not None:
            optimizer = type(optimizer)(
                **{**optimizer.get_config(), "learning_rate": learning_rate}
            )
    except ModelError as err:
        raise ModelError(err.problem, err.hint, err.received, layer_kind="Export") from None
    return optimizer


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class LayerStep:
    """One layer of the model as the scripts write it.

    ``var`` is its name as a Python identifier (the attribute of the PyTorch
    module and the Keras layer name); ``name`` stays pycnn's, the key prefix
    in the weights file. Shapes are channels-last, without the batch size.
    """

    index: int
    kind: str
    name: str
    var: str
    config: dict
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    activation: str | None
    has_weights: bool

    def pads(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """``((top, bottom), (left, right))`` zero rows/columns that ``same`` adds, else None."""
        if self.config.get("padding") != "same":
            return None
        window = self.config.get("kernel_size") or self.config["pool_size"]
        (h, w), (kh, kw), (sh, sw) = self.input_shape[:2], window, self.config["strides"]
        return same_padding(h, kh, sh), same_padding(w, kw, sw)

    @property
    def uneven_padding(self) -> bool:
        """``same`` padding with more rows or columns after than before (PyTorch can't pad so)."""
        pads = self.pads()
        return pads is not None and any(before != after for before, after in pads)


# Attributes of torch.nn.Module (and of this export's module) a layer name must not shadow;
# a test in tests/reference compares this list with the real nn.Module.
RESERVED_NAMES = frozenset(
    (
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "logits",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    )
)


def python_name(name: str, taken: set[str]) -> str:
    """``name`` as a Python identifier no other layer uses: ``conv2d_1`` stays, ``my conv`` → ``my_conv``."""
    var = re.sub(r"\W", "_", name.encode("ascii", "replace").decode()).strip("_") or "layer"
    if var[0].isdigit() or keyword.iskeyword(var) or var in RESERVED_NAMES:
        var = "layer_" + var
    candidate, n = var, 1
    while candidate in taken:
        candidate, n = f"{var}_{n}", n + 1
    taken.add(candidate)
    return candidate


def layer_steps(model) -> list[LayerStep]:
    steps, taken = [], set()
    in_shape = tuple(model.input_shape)
    for row, layer in zip(model.summary(), model.layers):
        steps.append(
            LayerStep(
                index=row.index,
                kind=row.kind,
                name=row.name,
                var=python_name(row.name, taken),
                config=layer.get_config(),
                input_shape=in_shape,
                output_shape=tuple(row.output_shape),
                activation=getattr(layer, "activation", None),
                has_weights=bool(layer.trainable_keys),
            )
        )
        in_shape = tuple(row.output_shape)
    return steps


# --------------------------------------------------------------------------- text


def _shape_text(shape) -> str:
    return "×".join(str(d) for d in shape)


def safe_text(text: str) -> str:
    """``text`` safe inside a ``#`` comment or a docstring: anything that could end one is escaped."""
    return "".join(
        ch if ch.isprintable() and ch not in '"\\' else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in text
    )


LINE_LENGTH = 100  # pycnn's: the scripts come out as ruff format would leave them


def call(indent: int, head: str, args: list[str], tail: str = "") -> str:
    """``head(args)tail`` at ``indent``, wrapped as ruff format would if it is too long."""
    pad = " " * indent
    one_line = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one_line) <= LINE_LENGTH:
        return one_line
    inner = " " * (indent + 4)
    if len(inner) + len(", ".join(args)) <= LINE_LENGTH:
        return f"{pad}{head}(\n{inner}{', '.join(args)}\n{pad}){tail}"
    return f"{pad}{head}(\n" + "".join(f"{inner}{a},\n" for a in args) + f"{pad}){tail}"


def number(value: float) -> str:
    """A float literal as a person writes it: ``0.001``, ``1e-07``, ``0.5``."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number. Received: {value!r}")
    return repr(float(value))


def constants(s: Settings) -> str:
    """The training settings, as constants at the top of the script."""
    return f"""
EPOCHS = {s.epochs}
BATCH_SIZE = {s.batch_size}
LEARNING_RATE = {number(s.learning_rate)}
VALIDATION_SPLIT = {number(s.validation_split)}  # the last part of the training images
SEED = {s.seed}
"""


def main_code(seed: str, show: str, evaluate: str) -> str:
    """``main()``: the command line, then seed, load, build, train, test (library calls given)."""
    return f"""
def main(argv=None, load_data=load_data):
    parser = argparse.ArgumentParser(description="Train the playground's network.")
    parser.add_argument("--weights", help="start from these weights (.npz)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="0: only test")
    args = parser.parse_args(argv)

    {seed}
    (x_train, y_train), (x_test, y_test) = load_data()
    model = build_model(args.weights)
    {show}
    if args.epochs > 0:
        train(model, x_train, y_train, args.epochs)
    loss, accuracy = {evaluate}
    print(f"Test accuracy: {{accuracy:.4f}} (loss {{loss:.4f}})")
    return accuracy


if __name__ == "__main__":
    main()
"""


def header(s: Settings, model, library: str, filename: str, needs: str) -> str:
    """The comment block at the top of a script: where it came from, the recipe, how to run it."""
    info = DATASETS.get(s.dataset) if s.dataset else None
    data = (
        f"{info.title} ({_shape_text(info.input_shape)} images, {info.num_classes} classes)"
        if info
        else f"your own {_shape_text(model.input_shape)} images: write load_data() below"
    )
    opt = s.optimizer
    if isinstance(opt, optimizers.Adam):
        optimizer = f"Adam, learning rate {number(opt.learning_rate)}"
    else:
        optimizer = f"SGD, learning rate {number(opt.learning_rate)}"
        optimizer += f", momentum {number(opt.momentum)}" if opt.momentum else ""
        optimizer += " (Nesterov)" if opt.nesterov else ""
    held_out = (
        f"the last {100 * s.validation_split:g}% of the training images held out for validation"
        if s.validation_split
        else "no validation images held out"
    )
    origin = f"# From: {safe_text(s.link)}\n" if s.link else ""
    return f"""\
# A convolutional network built in CNN Playground, as a {library} script.
{origin}#
# Model:    {len(model.layers)} layers, {model.count_params():,} parameters, as in the playground
# Data:     {data}
# Training: {optimizer}, batch size {s.batch_size}, {s.epochs} epochs,
#           {held_out}, seed {s.seed}
#
# Run it (needs {needs}):
#   python {filename}
#       trains on the full dataset, then prints the test accuracy
#   python {filename} --weights {WEIGHTS_FILENAME} --epochs 0
#       tests the weights trained in the playground
# In your own code, build_model("{WEIGHTS_FILENAME}") is the playground's trained network.
"""


# --------------------------------------------------------------------------- layout


def imports(lines: list[str]) -> str:
    """Import lines grouped and ordered as isort/ruff do: standard library, then the rest."""

    def order(line: str) -> tuple[bool, str]:
        return line.startswith("from "), line.split()[1].lower()

    lines = sorted(set(lines))
    stdlib = sorted((i for i in lines if i.split()[1].split(".")[0] in _STDLIB), key=order)
    other = sorted((i for i in lines if i not in stdlib), key=order)
    return "\n".join(stdlib) + "\n\n" + "\n".join(other) + "\n"


_STDLIB = {"argparse", "gzip", "math", "numbers", "pathlib", "urllib"}


def join_blocks(*blocks: str | list[str]) -> str:
    """Top-level blocks of a script, spaced as ruff format and isort leave them.

    Two blank lines around a function, one between other statements.
    """
    flat = [
        b.strip("\n") for block in blocks for b in ([block] if isinstance(block, str) else block)
    ]
    flat = [b for b in flat if b]
    out = flat[0]
    for block in flat[1:]:
        around_def = out.splitlines()[-1].startswith(" ") or block.startswith(
            ("def ", "class ", "@")
        )
        out += ("\n\n\n" if around_def else "\n\n") + block
    return out + "\n"
