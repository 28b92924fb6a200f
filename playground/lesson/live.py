"""Live numbers and small pictures for the lesson, computed from the real model and data.

Two kinds of input, both plain values:

* a :class:`~playground.lesson.tasks.Snapshot` of the playground (blocks, input
  shape, the summary rows with output shapes and parameter counts) — the
  numbers the model decides (a layer's parameters, Flatten's length) always
  come from those rows, never from a formula alone;
* small grids from the page (a sample image, one filter's weights) as nested
  lists or NumPy arrays.

Shape arithmetic and pooling come from ``pycnn`` (imported where needed, so
reading this module costs nothing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playground.spec import Block

if TYPE_CHECKING:
    from playground.lesson.inputs import Snapshot

__all__ = [
    "EDGE_THRESHOLD",
    "EXAMPLE_KERNEL",
    "PHOTO",
    "PoolShift",
    "Slide",
    "as_grid",
    "brightest",
    "call_text",
    "card_facts",
    "edge_score",
    "first_conv_index",
    "flatten_index",
    "guessed_layer",
    "guessed_number",
    "layer_input_shape",
    "layer_sentence",
    "pool_shift",
    "shape_table",
    "shape_text",
    "slide",
    "target_shape",
]

# The photo of the "why not Dense" argument: 200×200 pixels, 3 colours, 1,000 neurons.
PHOTO = (200, 200, 3)
NEURONS = 1000
# A filter "answers to edges" when its weights nearly cancel out (see edge_score).
EDGE_THRESHOLD = 0.75


def _n(value: int) -> str:
    return f"{value:,}"


def shape_text(shape: Sequence[int]) -> str:
    """``(6, 6, 8)`` → ``6×6×8``; a vector ``(72,)`` → ``72``."""
    return "×".join(str(int(v)) for v in shape)


def _side(n: int, k: int, s: int, padding: str) -> int:
    from pycnn.shapes import conv_output_length

    return conv_output_length(n, k, s, padding)


def shape_table(input_shape: Sequence[int], kernel: int = 3) -> dict[tuple[str, int], str]:
    """Output height × width of a ``kernel``×``kernel`` Conv2D on ``input_shape`` for
    padding 'valid'/'same' × stride 1/2 (Keras rules), e.g. ``{("valid", 1): "6×6", …}``."""
    h, w = int(input_shape[0]), int(input_shape[1])
    return {
        (
            padding,
            stride,
        ): f"{_side(h, kernel, stride, padding)}×{_side(w, kernel, stride, padding)}"
        for padding in ("valid", "same")
        for stride in (1, 2)
    }


def target_shape(input_shape: Sequence[int]) -> tuple[int, int]:
    """The stride-and-padding step's goal: half of each side of a large image (28 → 14,
    'same' padding with stride 2), the input's own size for a small one (8 → 8, 'same'
    with stride 1). A small image keeps its size so the pooling step still has a map
    worth pooling. Any kernel reaches either goal with 'same' padding."""

    def side(n: int) -> int:
        return n if n < 16 else math.ceil(n / 2)

    return side(int(input_shape[0])), side(int(input_shape[1]))


def card_facts(input_shape: Sequence[int], num_classes: int) -> dict[str, str]:
    """The ``{name}`` fields of the lesson texts for a dataset (all formatted strings)."""
    h, w, c = (int(v) for v in input_shape)
    values = h * w * c
    table = shape_table(input_shape)
    th, tw = target_shape(input_shape)
    return {
        "h": str(h),
        "w": str(w),
        "c": str(c),
        "classes": str(num_classes),
        "values": _n(values),
        "dense_1000": _n(values * NEURONS),
        "photo_weights": _n(PHOTO[0] * PHOTO[1] * PHOTO[2] * NEURONS),
        "conv_example": _n(4 * (5 * 5 * c + 1)),
        "valid1": table[("valid", 1)],
        "same1": table[("same", 1)],
        "valid2": table[("valid", 2)],
        "same2": table[("same", 2)],
        "bigger": f"{h + 2}×{w + 2}",
        "target_shape": f"{th}×{tw}",
        "flatten_example": _n(5 * 5 * 16),
    }


# --------------------------------------------------------------------------- the model's layers


def call_text(block: Block) -> str:
    """A block as a short Keras-like call: ``Conv2D(8, 3×3, stride 2, same)``, ``Dense(32)``."""
    a = block.args
    if block.kind == "conv2d":
        k = a["kernel_size"]
        parts = [str(a["filters"]), f"{k}×{k}"]
        if a["strides"] != 1:
            parts.append(f"stride {a['strides']}")
        if a["padding"] != "valid":
            parts.append(a["padding"])
        if a["activation"] != "relu":
            parts.append(a["activation"])
    elif block.kind in ("maxpool", "avgpool"):
        p = a["pool_size"]
        parts = [f"{p}×{p}"]
        if a["strides"] is not None and a["strides"] != p:
            parts.append(f"stride {a['strides']}")
    elif block.kind == "dense":
        parts = [str(a["units"])]
        if a["activation"] != "relu":
            parts.append(a["activation"])
    elif block.kind == "dropout":
        parts = [f"{a['rate']:g}"]
    else:
        return block.info.keras
    return f"{block.info.keras}({', '.join(parts)})"


def layer_input_shape(snapshot: Snapshot, index: int) -> tuple[int, ...] | None:
    """The shape layer ``index`` receives (None if an earlier layer has no shape)."""
    if index == 0:
        return tuple(snapshot.input_shape)
    shape = snapshot.rows[index - 1].output_shape
    return None if shape is None else tuple(shape)


def layer_sentence(snapshot: Snapshot, index: int) -> str | None:
    """What layer ``index`` costs, in one sentence with its arithmetic, e.g.
    ``Conv2D(8, 3×3) has 80 parameters: 8 filters × (3×3×1 + 1)``.

    The count is the summary row's (the model's own); the formula is shown only
    when it gives that same count. None when the layer has an error.
    """
    block = snapshot.layers[index]
    row = snapshot.rows[index]
    if row.error is not None or row.params is None or row.output_shape is None:
        return None
    name = call_text(block)
    in_shape = layer_input_shape(snapshot, index)
    out = shape_text(row.output_shape)
    params = int(row.params)
    if block.kind == "conv2d" and in_shape is not None:
        f, k, c = block.args["filters"], block.args["kernel_size"], in_shape[-1]
        if f * (k * k * c + 1) == params:
            return (
                f"{name} has {_n(params)} parameters: {f} filters × ({k}×{k}×{c} + 1); output {out}"
            )
    if block.kind == "dense" and in_shape is not None and len(in_shape) == 1:
        units, inputs = block.args["units"], in_shape[0]
        if units * (inputs + 1) == params:
            return f"{name} has {_n(params)} parameters: {units} units × ({_n(inputs)} inputs + 1)"
    if block.kind == "dropout" and in_shape is not None:
        share = f"{block.args['rate'] * 100:g} %"
        return (
            f"{name} has no parameters: while training it silences {share} of its "
            f"{shape_text(in_shape)} inputs at random"
        )
    if params == 0 and in_shape is not None:
        return f"{name} has no parameters: {shape_text(in_shape)} becomes {out}"
    return f"{name} has {_n(params)} parameters; output {out}"


def first_conv_index(snapshot: Snapshot) -> int | None:
    return next((i for i, b in enumerate(snapshot.layers) if b.kind == "conv2d"), None)


def flatten_index(snapshot: Snapshot) -> int | None:
    """The first Flatten that receives a 3-D block (the one whose length the learner guesses)."""
    for i, block in enumerate(snapshot.layers):
        if block.kind == "flatten":
            shape = layer_input_shape(snapshot, i)
            if shape is not None and len(shape) == 3:
                return i
    return None


def guessed_layer(snapshot: Snapshot, what: str) -> int | None:
    """The layer whose number the learner guesses (``Step.predict``): the first Conv2D for
    its parameters (``"conv_params"``), else the Flatten whose length it is."""
    return first_conv_index(snapshot) if what == "conv_params" else flatten_index(snapshot)


def guessed_number(snapshot: Snapshot, what: str) -> int | None:
    """That number, as the model has it (None: no such layer, or no number yet)."""
    i = guessed_layer(snapshot, what)
    if i is None:
        return None
    row = snapshot.rows[i]
    if what == "conv_params":
        return row.params
    return None if row.output_shape is None else row.output_shape[0]


# --------------------------------------------------------------------------- pictures


def as_grid(values: Any) -> list[list[float]]:
    """A 2-D list of floats from a nested list or array of shape (H, W) or (H, W, 1)."""
    rows = values.tolist() if hasattr(values, "tolist") else values
    out = []
    for row in rows:
        out.append([float(v[0] if isinstance(v, (list, tuple)) else v) for v in row])
    return out


def _flat(values: Any) -> list[float]:
    values = values.tolist() if hasattr(values, "tolist") else values
    if isinstance(values, (list, tuple)):
        return [v for item in values for v in _flat(item)]
    return [float(values)]


def brightest(grid: Any) -> tuple[float, list[tuple[int, int]]]:
    """The highest value of an image and every (row, column) holding it (0-based)."""
    g = as_grid(grid)
    top = max(max(row) for row in g)
    return top, [(r, c) for r, row in enumerate(g) for c, v in enumerate(row) if v == top]


def edge_score(kernel: Any) -> float:
    """How much a filter answers to changes rather than to brightness, from 0 to 1.

    ``1 − |sum of weights| / sum of |weights|``: a filter whose weights cancel out
    (score near 1) gives the same small output on any flat area, dark or bright,
    and a large one where brightness changes — along an edge. A filter of only
    positive weights (score 0) measures brightness. ``kernel``: one filter's
    weights, ``(kh, kw)`` or ``(kh, kw, channels)``.
    """
    weights = _flat(kernel)
    size = sum(abs(v) for v in weights)
    if size == 0:
        return 0.0
    return 1.0 - abs(sum(weights)) / size


@dataclass(frozen=True)
class PoolShift:
    """A grey image and the same image moved one pixel right, both max-pooled."""

    image: list[list[float]]
    shifted: list[list[float]]
    pooled: list[list[float]]
    pooled_shifted: list[list[float]]
    unchanged: int  # pooled values equal in both
    total: int


def pool_shift(grid: Any, pool: int = 2) -> PoolShift:
    """Pool ``grid`` and its one-pixel shift with pycnn's own MaxPooling2D."""
    import numpy as np

    import pycnn

    image = as_grid(grid)
    shifted = [[0.0] + row[:-1] for row in image]  # the new left column is empty (0)
    layer = pycnn.MaxPooling2D(pool)
    pooled, pooled_shifted = (
        layer.forward(np.asarray(g, dtype=np.float32)[None, :, :, None])[0, :, :, 0].tolist()
        for g in (image, shifted)
    )
    pairs = [(a, b) for ra, rb in zip(pooled, pooled_shifted) for a, b in zip(ra, rb)]
    return PoolShift(
        image,
        shifted,
        pooled,
        pooled_shifted,
        unchanged=sum(1 for a, b in pairs if a == b),
        total=len(pairs),
    )


# A filter that answers to vertical edges (bright on the left, dark on the right): what the
# sliding-filter view shows until the learner's model has a Conv2D of its own.
EXAMPLE_KERNEL = ((1.0, 0.0, -1.0), (1.0, 0.0, -1.0), (1.0, 0.0, -1.0))


@dataclass(frozen=True)
class Slide:
    """One filter sliding over one image: what the sliding-filter view animates.

    ``image`` is the first channel of the input (H × W) and ``kernel`` the filter's
    weights on it (k × k); ``output`` (H_out × W_out) holds the filter's sums over every
    input channel plus ``bias`` — its output map before the activation. The window of
    output cell (r, c) starts at row ``r·stride − pad[0]``, column ``c·stride − pad[1]``
    of the image; positions outside it are the zeros of 'same' padding.
    """

    image: list[list[float]]
    kernel: list[list[float]]
    bias: float
    output: list[list[float]]
    stride: int
    pad: tuple[int, int]
    channels: int


def slide(image: Any, kernel: Any, bias: float = 0.0, stride: int = 1, padding: str = "valid"):
    """The :class:`Slide` of one filter (``kernel``: ``(k, k)`` or ``(k, k, channels)``)
    over ``image`` (``(H, W)`` or ``(H, W, channels)``), computed by pycnn's own conv."""
    import numpy as np

    from pycnn import ops

    x = np.asarray(image, dtype=np.float32)
    x = x[..., None] if x.ndim == 2 else x
    w = np.asarray(kernel, dtype=np.float32)
    w = w[..., None] if w.ndim == 2 else w
    k = w.shape[0]
    out, _ = ops.conv2d_forward(
        x[None], w[..., None], np.array([bias], np.float32), (stride, stride), padding
    )
    if padding == "same":
        pad = (
            ops.same_padding(x.shape[0], k, stride)[0],
            ops.same_padding(x.shape[1], k, stride)[0],
        )
    else:
        pad = (0, 0)
    return Slide(
        image=x[..., 0].tolist(),
        kernel=w[..., 0].tolist(),
        bias=float(bias),
        output=out[0, :, :, 0].tolist(),
        stride=int(stride),
        pad=pad,
        channels=int(x.shape[-1]),
    )
