"""What pycnn says about a spec before any weights exist, and the model built from it.

* :func:`analyze` — the summary table of a spec, also of an invalid one: the
  offending layer is marked, the layers before and after it keep their rows,
  and one-click fixes are offered.
* The browser-tab guard: :func:`size_problem` (too many parameters, layer
  outputs beyond ``MEMORY_BUDGET`` or a step's work beyond ``WORK_BUDGET`` at the
  training batch size) and :func:`evaluation_batch` (how many images evaluation
  may take at once within the same budgets).
* :func:`build_model` — the ``pycnn.Sequential`` of a spec, built from the same
  layer configs the analysis checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pycnn
from playground.spec import Block, layer_config, parse_layers
from pycnn.shapes import batch_shape_text

__all__ = [
    "MAX_PARAMS",
    "MEMORY_BUDGET",
    "WORK_BUDGET",
    "Analysis",
    "Fix",
    "Row",
    "analyze",
    "build_model",
    "evaluation_batch",
    "params_problem",
    "shape_text",
    "size_problem",
    "training_bytes",
    "training_macs",
]

MAX_PARAMS = 3_000_000
MEMORY_BUDGET = 400 * 1024**2  # bytes of layer outputs a browser tab can safely hold
EVALUATION_BATCH = 256  # images evaluated at once when memory allows
# Multiply-adds of one step the page cannot interrupt: a training batch, an evaluation
# chunk. The worker has one thread, so Stop is heard only between steps. The browser's
# kernel did 1.3-9 billion multiply-adds a second on heavy models on a loaded machine
# (benchmarks/bench_stop.py, docs/PERFORMANCE.md "Stop"): this keeps a step within a second
# at the slowest and still takes the Keras convnet at batch 128.
WORK_BUDGET = 1_000_000_000


def shape_text(shape: tuple | None) -> str:
    """Keras's way of writing an output shape: ``(None, 26, 26, 8)``; "—" if unknown."""
    return "—" if shape is None else batch_shape_text(shape)


@dataclass
class Row:
    index: int
    name: str
    kind: str  # Keras class name
    output_shape: tuple[int, ...] | None
    params: int | None
    macs: int | None
    error: str | None = None


@dataclass
class Fix:
    """A one-click repair the app offers: a label and the repaired layer list."""

    label: str
    layers: list[Block]


@dataclass
class Analysis:
    rows: list[Row]
    input_shape: tuple[int, ...]
    num_classes: int
    error: str | None = None  # what is wrong (model error or output mismatch)
    error_index: int | None = None  # the marked row (None: model-level problem)
    fixes: list[Fix] = field(default_factory=list)
    total_params: int = 0
    total_macs: int = 0

    @property
    def valid(self) -> bool:
        return self.error is None

    @property
    def bytes(self) -> int:
        return 4 * self.total_params  # float32

    def activation_values(self) -> int:
        """Values stored per example by a forward pass (input + every layer output)."""
        shapes = [self.input_shape] + [r.output_shape for r in self.rows if r.output_shape]
        return sum(math.prod(shape) for shape in shapes)


def analyze(blocks: list[Block], input_shape, num_classes: int) -> Analysis:
    """Summary rows for ``blocks`` on ``input_shape`` — also when the model is invalid.

    ``pycnn.check_layers`` is pure arithmetic (no weights allocated), fast enough
    to run on every edit.
    """
    input_shape = tuple(int(v) for v in input_shape)
    result = Analysis([], input_shape, num_classes)
    if not blocks:
        result.error = "The model has no layers. Add blocks from the palette, or load a preset."
        return result
    checks = pycnn.check_layers([layer_config(b) for b in blocks], input_shape)
    result.rows = [
        Row(
            c.index,
            c.name,
            c.kind or block.info.keras,
            None if c.output_shape is None else tuple(int(v) for v in c.output_shape),
            None if c.error is not None else int(c.params),
            None if c.error is not None else int(c.macs),
            None if c.error is None else str(c.error),
        )
        for c, block in zip(checks, blocks)
    ]
    result.total_params = sum(r.params or 0 for r in result.rows)
    result.total_macs = sum(r.macs or 0 for r in result.rows)
    bad = next((r for r in result.rows if r.error is not None), None)
    if bad is not None:
        result.error = bad.error
        result.error_index = bad.index
        result.fixes = _fixes_for_error(blocks, bad.index, checks[bad.index].input_shape)
    else:
        _check_output(blocks, result)
    return result


def _fixes_for_error(blocks, index, in_shape) -> list[Fix]:
    fixes: list[Fix] = []
    block = blocks[index]
    in_shape = tuple(in_shape or ())
    if block.kind == "dense" and len(in_shape) == 3:
        fixes.append(
            Fix(
                f"Insert Flatten before layer {index + 1}",
                blocks[:index] + [Block.make("flatten")] + blocks[index:],
            )
        )
    if block.kind in ("conv2d", "maxpool", "avgpool") and len(in_shape) == 3:
        key = "kernel_size" if block.kind == "conv2d" else "pool_size"
        size = block.args[key]
        side = min(in_shape[0], in_shape[1])
        if block.kind == "conv2d" and block.args["padding"] == "valid" and size <= 11:
            fixes.append(
                Fix(
                    f"Use padding='same' in layer {index + 1}",
                    _replace(blocks, index, padding="same"),
                )
            )
        if 1 <= side < size:
            fixes.append(
                Fix(
                    f"Shrink layer {index + 1}'s window to {side}×{side}",
                    _replace(blocks, index, **{key: side}),
                )
            )
    fixes.append(
        Fix(f"Remove layer {index + 1} ({block.info.keras})", blocks[:index] + blocks[index + 1 :])
    )
    return fixes


def _replace(blocks, index, **args) -> list[Block]:
    out = list(blocks)
    out[index] = out[index].replace(**args)
    return out


def _check_output(blocks: list[Block], result: Analysis) -> None:
    """The last layer must give one probability per class: Dense(num_classes, softmax)."""
    n = result.num_classes
    last = blocks[-1]
    if last.kind == "dense" and last.args["units"] == n and last.args["activation"] == "softmax":
        return
    want = f"Dense({n}, activation='softmax')"
    result.error_index = len(blocks) - 1
    if last.kind == "dense":
        result.error = (
            f"The last layer must output one probability per class: this dataset has {n} classes, "
            f"so it should be {want}. Received: Dense({last.args['units']}, "
            f"activation='{last.args['activation']}')."
        )
        result.fixes = [
            Fix(
                f"Make the last layer {want}",
                _replace(blocks, len(blocks) - 1, units=n, activation="softmax"),
            )
        ]
        return
    out_shape = result.rows[-1].output_shape
    result.error = (
        f"The model must end with {want} to output one probability per class ({n} classes). "
        f"Received: last layer {last.info.keras} with output {shape_text(out_shape)}."
    )
    tail = [Block.make("dense", units=n, activation="softmax")]
    if len(out_shape) != 1:
        tail = [Block.make("flatten"), *tail]
    names = " + ".join(b.info.keras for b in tail)
    result.fixes = [Fix(f"Append {names}({n}, softmax)", list(blocks) + tail)]


# --------------------------------------------------------------------------- browser-tab guard


def training_bytes(analysis: Analysis, batch_size: int) -> int:
    """A rough but safe bound of the memory one training step takes: float32 layer
    outputs, their gradients (x2) and the convolutions' im2col patches (x2 again)."""
    return 4 * analysis.activation_values() * batch_size * 4


def training_macs(analysis: Analysis, batch_size: int) -> int:
    """Multiply-adds of one training step: the forward pass and both gradients (x3)."""
    return 3 * analysis.total_macs * batch_size


def size_problem(analysis: Analysis, batch_size: int) -> str | None:
    """Why the model is too large to train in a browser tab at ``batch_size``, or None."""
    problem = params_problem(analysis)
    if problem:
        return problem
    need = training_bytes(analysis, batch_size)
    if need > MEMORY_BUDGET:
        return (
            f"Training at batch size {batch_size} would need about {need / 1024**2:,.0f} MB for the "
            f"layer outputs, more than the {MEMORY_BUDGET // 1024**2} MB a browser tab can "
            "safely use. Lower the batch size, use fewer filters, or pool earlier."
        )
    work = training_macs(analysis, batch_size)
    if work > WORK_BUDGET:
        fits = WORK_BUDGET // training_macs(analysis, 1)
        lower = f"Use batch size {1 << (fits.bit_length() - 1)} or smaller, " if fits else "Use "
        return (
            f"One training batch of {batch_size} would need about {work / 1e9:,.1f} billion "
            "multiply-adds, too many for a browser tab to finish quickly, and Stop only takes "
            f"effect between batches. {lower}fewer filters or units, or pool earlier."
        )
    return None


def params_problem(analysis: Analysis) -> str | None:
    """Why the model's weights alone are too many for a browser tab, or None."""
    if analysis.total_params > MAX_PARAMS:
        return (
            f"This model has {analysis.total_params:,} parameters; a browser tab can train at most "
            f"{MAX_PARAMS:,}. Use fewer filters or units, or add pooling before Flatten so the "
            "Dense layer gets a smaller input."
        )
    return None


def evaluation_batch(analysis: Analysis) -> int:
    """How many images to evaluate at once within ``MEMORY_BUDGET`` and ``WORK_BUDGET``
    (1 to 256): Stop is heard between chunks.

    Inference keeps no gradients: half a training step's memory per image, and
    every layer output is counted as if kept, so the bound holds however the
    engine frees them; its work is the forward pass, a third of a training step's.
    A model that passes :func:`size_problem` at batch 1 gets at least 2.
    """
    per_image = training_bytes(analysis, 1) // 2
    by_memory = MEMORY_BUDGET // max(per_image, 1)
    by_work = WORK_BUDGET // max(analysis.total_macs, 1)
    return max(1, min(EVALUATION_BATCH, by_memory, by_work))


def build_model(blocks: list[Block] | str, input_shape, seed: int = 0) -> pycnn.Sequential:
    """A ``pycnn.Sequential`` for the spec (raises pycnn's ValueError if invalid)."""
    if isinstance(blocks, str):
        blocks = parse_layers(blocks)
    return pycnn.Sequential.from_config(
        {
            "input_shape": list(input_shape),
            "seed": seed,
            "layers": [layer_config(b) for b in blocks],
        }
    )
