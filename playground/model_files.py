"""The playground's model as files, and files back into the playground.

Export: each download is made by :mod:`pycnn.export` (or pycnn's own
``save_weights``) from the current model, its training settings and the
run's history, so the page offers exactly what the reference tests check
against Keras, PyTorch and TensorBoard (docs/EXPORT.md).

Import: a model JSON (the playground's own, or Keras's ``model.to_json()`` of
a Sequential CNN built from the playground's blocks), a weights ``.npz``, or
both. :func:`read_import` checks everything (format, size, every layer and
argument, the input shape, the weights) before :func:`apply_import` changes
anything, so a bad file leaves the model, its weights and the run as they
were. Weights are read without pickle (``pycnn.npz``): a crafted file cannot
run code.

No Panel import: unit-tested without a browser.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pycnn
from playground.analysis import MAX_PARAMS, analyze, build_model, params_problem
from playground.components.text import fmt_bytes
from playground.settings import DATASETS
from playground.spec import KINDS, Block, shorten
from pycnn import export
from pycnn.datasets import info as dataset_info

__all__ = [
    "CSV_FILENAME",
    "DOWNLOADS",
    "MAX_JSON_BYTES",
    "MAX_WEIGHTS_BYTES",
    "Download",
    "ImportProblem",
    "Imported",
    "Upload",
    "apply_import",
    "blocks_from_config",
    "file_contents",
    "read_import",
    "training_settings",
]

# ----------------------------------------------------------------------------- export

CSV_FILENAME = "cnn_logs.csv"  # the CSV that cnn_logs.zip also holds, for a spreadsheet


@dataclass(frozen=True)
class Download:
    key: str  # the control's marker is cp-export-<key>
    filename: str
    label: str  # the button's text, its accessible name
    after_run: bool = False  # made from the run's history


DOWNLOADS = (
    Download("keras", export.KERAS_FILENAME, "Keras code (.py)"),
    Download("pytorch", export.PYTORCH_FILENAME, "PyTorch code (.py)"),
    Download("json", export.MODEL_JSON_FILENAME, "Model JSON"),
    Download("weights", export.WEIGHTS_FILENAME, "Weights (.npz)"),
    Download("log", export.LOGS_FILENAME, "Training log for TensorBoard (.zip)", after_run=True),
    Download("csv", CSV_FILENAME, "Training log (.csv)", after_run=True),
)


def training_settings(state: Any, link: str = "") -> dict[str, Any]:
    """The training recipe of ``state`` (a PlaygroundState) as pycnn.export's arguments."""
    return {
        "dataset": state.dataset,
        "epochs": state.epochs,
        "batch_size": state.batch_size,
        "learning_rate": state.learning_rate,
        "optimizer": state.optimizer,
        "validation_split": state.validation_split,
        "seed": state.seed,
        "link": link or None,
    }


def _weights(model: pycnn.Sequential) -> bytes:
    buffer = io.BytesIO()
    model.save_weights(buffer)
    return buffer.getvalue()


def file_contents(
    key: str,
    model: pycnn.Sequential,
    state: Any,
    history: Mapping[str, Sequence[float]],
    link: str = "",
) -> bytes:
    """The bytes of the download ``key`` (see DOWNLOADS) for this model, state and run."""
    if key == "keras":
        return export.to_keras(model, **training_settings(state, link)).encode()
    if key == "pytorch":
        return export.to_pytorch(model, **training_settings(state, link)).encode()
    if key == "json":
        return export.model_json(model).encode()
    if key == "weights":
        return _weights(model)
    if key == "log":
        return export.log_zip(history)
    if key == "csv":
        return export.scalars_csv(history).encode()
    raise KeyError(key)


# ----------------------------------------------------------------------------- import

MAX_JSON_BYTES = 1024**2  # a model JSON is a few KB; Keras's own is under 20 KB
# The float32 weights of the largest model a tab may train, plus room for the archive's headers
MAX_WEIGHTS_BYTES = MAX_PARAMS * 4 + 1024**2
KEPT = "The model, its weights and the training run on the page were kept."

_KERAS_KINDS = {info.keras: key for key, info in KINDS.items()}
_SUPPORTED = ", ".join(_KERAS_KINDS)
_SQUARE = ("kernel_size", "strides", "pool_size")
# Keras arguments the blocks do not have, accepted only at the value that means what the
# playground computes (Keras's defaults).
_FIXED: dict[str, tuple[Any, ...]] = {
    "data_format": ("channels_last", None),
    "dilation_rate": (1, [1, 1]),
    "groups": (1,),
    "use_bias": (True,),
    "padding": ("valid",),  # pooling (a Conv2D's padding is one of its arguments)
}
# Keys that do not change what the layer computes with given weights.
_SKIPPED = {
    "name",
    "trainable",
    "dtype",
    "kernel_initializer",
    "bias_initializer",
    "seed",
    "batch_input_shape",
}


class ImportProblem(ValueError):
    """Why a file cannot be opened; the message names the file and the place in it."""


@dataclass(frozen=True)
class Upload:
    """A file the learner picked or dropped. ``data`` is None when it was too large to read."""

    name: str
    size: int
    data: bytes | None


@dataclass(frozen=True)
class Imported:
    """What a checked import sets: the spec, and (with a weights file) the model to use."""

    blocks: list[Block]
    dataset: str
    seed: int
    model: pycnn.Sequential | None
    summary: str


def _kind(upload: Upload) -> str:
    name = upload.name.lower()
    data = upload.data or b""
    if name.endswith(".json") or (not name.endswith(".npz") and data.lstrip()[:1] == b"{"):
        return "json"
    if name.endswith(".npz") or data[:2] == b"PK":
        return "npz"
    raise ImportProblem(
        f"'{shorten(upload.name)}' is neither a model JSON (.json) nor a weights file (.npz)."
    )


def _data(upload: Upload, limit: int, what: str) -> bytes:
    size = upload.size if upload.data is None else max(upload.size, len(upload.data))
    if upload.data is None or size > limit:
        raise ImportProblem(
            f"'{shorten(upload.name)}' is {fmt_bytes(size)}: {what} can be at most "
            f"{fmt_bytes(limit)}."
        )
    return upload.data


def _read_json(upload: Upload) -> Any:
    data = _data(upload, MAX_JSON_BYTES, "a model JSON")
    name = shorten(upload.name)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportProblem(f"'{name}' is not text (UTF-8), so it is not a model JSON.") from None
    except json.JSONDecodeError as err:
        raise ImportProblem(
            f"'{name}' is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}); "
            "a file cut short looks like this too."
        ) from None
    except RecursionError:
        raise ImportProblem(f"'{name}' is nested too deeply to be a model JSON.") from None


def _square(value: Any, name: str, where: str) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or value[0] != value[1]:
            raise ImportProblem(
                f"{where}: {name} {shorten(value)} is not square; the playground's blocks use "
                "the same size across and down (e.g. [3, 3])."
            )
        return value[0]
    return value


def _block(item: Any, index: int, source: str) -> Block:
    where = f"'{source}', layer {index + 1}"
    if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
        raise ImportProblem(f"{where}: a layer is an object with 'class_name' and 'config'.")
    cls = item["class_name"]
    kind = _KERAS_KINDS.get(cls)
    if kind is None:
        raise ImportProblem(
            f"{where}: '{shorten(cls)}' is not a layer the playground has. It has: {_SUPPORTED}."
        )
    where = f"'{source}', layer {index + 1} ({cls})"
    config = item.get("config", {})
    if not isinstance(config, dict):
        raise ImportProblem(f"{where}: 'config' must be an object of the layer's arguments.")
    info = KINDS[kind]
    missing = [n for n in info.positional[: info.required] if n not in config]
    if missing:
        raise ImportProblem(f"{where}: the argument '{missing[0]}' is missing.")
    args = {}
    for arg in info.args:
        if arg.name in config:
            value = config[arg.name]
            args[arg.name] = _square(value, arg.name, where) if arg.name in _SQUARE else value
    for key, value in config.items():
        if key in args or key in _SKIPPED:
            continue
        if key in _FIXED:
            if value not in _FIXED[key]:
                raise ImportProblem(
                    f"{where}: {key}={shorten(value)} is not possible in the playground "
                    f"(only {_FIXED[key][0]!r})."
                )
        elif value is not None:
            raise ImportProblem(
                f"{where}: the argument '{shorten(key)}' ({shorten(value)}) has no counterpart "
                "in the playground's blocks."
            )
    try:
        return Block.make(kind, **args)
    except (ValueError, TypeError) as err:
        raise ImportProblem(f"{where}: {err}.") from None


def _shape(value: Any, source: str) -> tuple[int, int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise ImportProblem(
            f"'{source}': the input shape must be (height, width, channels), e.g. [28, 28, 1]. "
            f"Received: {shorten(value)}."
        )
    return tuple(value)


def blocks_from_config(config: Any, source: str) -> tuple[list[Block], tuple, int | None]:
    """The blocks, input shape and seed (None if not given) of a model JSON's content.

    Reads pycnn's ``to_config()``, its Keras-style wrapper (``model_json``) and
    Keras's ``model.to_json()`` (Keras 3 ``InputLayer``/``batch_shape``, Keras 2
    ``batch_input_shape``). ``source`` names the file in messages.
    """
    if not isinstance(config, dict):
        raise ImportProblem(f"'{source}' is not a model: a model JSON is an object with 'layers'.")
    if "class_name" in config:
        if config["class_name"] != "Sequential":
            raise ImportProblem(
                f"'{source}' holds a '{shorten(config['class_name'])}' model; the playground "
                "opens Sequential models (one layer after the other)."
            )
        config = config.get("config")
        if not isinstance(config, dict):
            raise ImportProblem(f"'{source}': the Sequential model has no 'config' object.")
    items = config.get("layers")
    if not isinstance(items, list) or not items:
        raise ImportProblem(f"'{source}' has no 'layers' list, so it is not a model JSON.")
    items = list(items)
    shape = config.get("input_shape")
    first = items[0].get("config") if isinstance(items[0], dict) else None
    first = first if isinstance(first, dict) else {}
    if isinstance(items[0], dict) and items[0].get("class_name") == "InputLayer":
        items.pop(0)
        batch = first.get("batch_shape") or first.get("batch_input_shape")
        shape = batch[1:] if isinstance(batch, list) else batch
    elif isinstance(first.get("batch_input_shape"), list):
        shape = first["batch_input_shape"][1:]
    if shape is None:
        raise ImportProblem(
            f"'{source}' does not say the input shape; export the model after building it "
            "(Keras: give it an Input)."
        )
    shape = _shape(shape, source)
    blocks = [_block(item, i, source) for i, item in enumerate(items)]
    seed = config.get("seed")
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**31):
        seed = None
    return blocks, shape, seed


def _dataset_for(shape: tuple, current: str, source: str) -> str:
    matches = [name for name in DATASETS if tuple(dataset_info(name).input_shape) == shape]
    if current in matches:
        return current
    if matches:
        return matches[0]
    offered = ", ".join(
        f"{dataset_info(n).title} {'×'.join(map(str, dataset_info(n).input_shape))}"
        for n in DATASETS
    )
    raise ImportProblem(
        f"'{source}': the model takes {'×'.join(map(str, shape))} images, and no dataset of "
        f"the playground has that size ({offered})."
    )


def read_import(uploads: Sequence[Upload], state: Any) -> Imported:
    """Check the uploaded files against ``state`` (a PlaygroundState); changes nothing.

    Raises :class:`ImportProblem` with a message that names the file and what is wrong.
    """
    if state.training:
        raise ImportProblem("A model cannot be opened while training runs: press Stop first.")
    if not uploads:
        raise ImportProblem("No file was given.")
    kinds = [_kind(u) for u in uploads]
    if len(uploads) > 2 or kinds.count("json") > 1 or kinds.count("npz") > 1:
        names = ", ".join(f"'{shorten(u.name)}'" for u in uploads)
        raise ImportProblem(
            f"Open one model JSON, one weights file, or one of each at a time. Received: {names}."
        )
    by_kind = dict(zip(kinds, uploads))
    if "json" in by_kind:
        source = by_kind["json"].name
        blocks, shape, seed = blocks_from_config(_read_json(by_kind["json"]), shorten(source))
        dataset = _dataset_for(shape, state.dataset, shorten(source))
        seed = state.seed if seed is None else seed
        summary = (
            f"Opened '{shorten(source)}': {len(blocks)} layers on {dataset_info(dataset).title}"
        )
    else:
        source, blocks = "the current model", list(state.layers)
        dataset, seed = state.dataset, state.seed
        summary = "Loaded weights into the current model"
    locked = state.locked_problem(blocks)
    if locked:
        raise ImportProblem(f"'{shorten(source)}': {locked}")
    info = dataset_info(dataset)
    analysis = analyze(blocks, info.input_shape, info.num_classes)
    reason = analysis.error if not analysis.valid else params_problem(analysis)
    if reason:
        raise ImportProblem(f"'{shorten(source)}' cannot be used on {info.title}: {reason}")
    model = None
    if "npz" in by_kind:
        upload = by_kind["npz"]
        buffer = io.BytesIO(_data(upload, MAX_WEIGHTS_BYTES, "a weights file"))
        buffer.name = upload.name  # pycnn's messages name the file
        model = build_model(blocks, info.input_shape, seed=seed)
        try:
            model.load_weights(buffer)
        except pycnn.ModelError as err:
            raise ImportProblem(f"'{shorten(upload.name)}' cannot be used: {err}") from None
        summary += f", with the weights from '{shorten(upload.name)}'"
    return Imported(blocks, dataset, seed, model, summary + ".")


def apply_import(imported: Imported, state: Any, controller: Any) -> None:
    """Make the checked import the playground's model (one Undo step brings the old spec back)."""
    state.param.update(layers=list(imported.blocks), dataset=imported.dataset, seed=imported.seed)
    if imported.model is not None:
        controller.adopt(
            imported.model,
            "Weights loaded from the file: press Train to train them further.",
            trained=True,
        )
