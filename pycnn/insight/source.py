"""Read the code: the NumPy source that runs for a layer, with this model's shapes.

:func:`layer_code` starts where training enters a layer — the layer's own
``forward``/``backward``, or the fused Conv2D + MaxPooling2D step
(:class:`pycnn.layers.fused.ConvMaxPool`) when the model runs the pair as one —
and follows the calls into pycnn (``pycnn.ops`` kernels and the matrix
products of :mod:`pycnn.products`, activations, the loss) by reading each
function's syntax tree. So the listing is what runs for *this* model, found
from the code itself rather than from a hand-kept list, and stays right when
the code changes.

The sources come from the installed modules (:func:`inspect.getsource`), so
a site must ship pycnn's ``.py`` files, not only bytecode.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..layers.fused import ConvMaxPool
from ..ops import same_padding
from .base import NothingToShow, find_layer, layer_input_shapes

__all__ = ["CodeSection", "LayerCode", "ShapeNote", "layer_code"]

# Modules whose functions are listed: the maths. Error plumbing (pycnn.errors) and the
# Layer base class (checks that forward ran before backward) would only add noise.
_SKIPPED_MODULES = ("pycnn.errors", "pycnn.layers.base")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
# An activated layer reaches ops through forward -> forward_logits -> _linear_forward, and
# ops' kernels call their helpers two levels further down; deeper is plumbing.
MAX_DEPTH = 5


@dataclass(frozen=True)
class CodeSection:
    """One function's source.

    ``depth`` is 0 for the entry point and grows by one per call level, so a
    view can indent or fold the helpers; ``first_line`` is the line of the
    ``def`` in ``path`` (relative to the repository, e.g. ``pycnn/ops.py``).
    """

    qualname: str
    module: str
    path: str
    first_line: int
    source: str
    depth: int

    @property
    def title(self) -> str:
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True)
class ShapeNote:
    """A tensor of this layer and its shape for this model.

    ``formula`` names the shape with the layer's symbols (``"(N, H_out, W_out, C_out)"``),
    ``shape`` gives the numbers, ``meaning`` says what it is.
    """

    name: str
    formula: str
    shape: tuple[int, ...]
    meaning: str

    @property
    def text(self) -> str:
        return f"{self.name}: {self.formula} = {self.shape}  # {self.meaning}"


@dataclass(frozen=True)
class LayerCode:
    """What runs for one layer during training, and the shapes it works on.

    Attributes
    ----------
    layer_index, layer_name, layer_kind
    runs_as : str
        How training runs the layer: ``"conv2d (Conv2D)"`` or, when fused,
        ``"conv2d + max_pooling2d (ConvMaxPool)"``.
    forward, backward : list of CodeSection
        Entry point first, then every pycnn function it calls, depth first in
        call order. ``backward`` is empty for a layer training never runs backward
        through.
    shapes : list of ShapeNote
    symbols : dict
        The numbers behind the formulas: ``{"N": 32, "H": 28, ...}``.
    constants : dict
        Module settings the listed code branches on, with their value here
        (``{"HAVE_BLAS": False}`` in the browser).
    notes : list of str
        Sentences for the learner (fusion, skipped gradients, the fused loss).
    """

    layer_index: int
    layer_name: str
    layer_kind: str
    runs_as: str
    forward: list[CodeSection]
    backward: list[CodeSection]
    shapes: list[ShapeNote]
    symbols: dict[str, int]
    constants: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- call graph


class _SourceMissing(Exception):
    pass


def _is_listed(fn: Any) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return (
        isinstance(fn, types.FunctionType)
        and module.startswith("pycnn.")
        and not module.startswith(_SKIPPED_MODULES)
    )


def _resolve(node: ast.expr, fn: types.FunctionType, owner: Any) -> Any:
    """The object an expression like ``ops.conv2d_forward`` or ``self._act.forward`` names.

    Only names and attribute chains are followed (no calls, no subscripts);
    anything else is None.
    """
    if isinstance(node, ast.Name):
        if node.id == "self":
            return owner
        if fn.__closure__:
            free = dict(zip(fn.__code__.co_freevars, fn.__closure__))
            if node.id in free:
                return free[node.id].cell_contents
        return fn.__globals__.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, fn, owner)
        if base is None:
            return None
        # Look the attribute up without running code: a property is not followed.
        found = inspect.getattr_static(base, node.attr, None)
        if found is None or isinstance(found, property):
            return None
        return getattr(base, node.attr)
    return None


def _callee(value: Any, owner: Any) -> tuple[types.FunctionType, Any] | None:
    """``(function, its self)`` for a resolved call target pycnn lists, else None."""
    if isinstance(value, types.MethodType):
        return (value.__func__, value.__self__) if _is_listed(value.__func__) else None
    if _is_listed(value):
        return value, owner
    return None


@functools.lru_cache(maxsize=256)
def _source(fn: types.FunctionType) -> tuple[str, int, str]:
    """``(dedented source, line of the def, path)``; cached: code does not change while running."""
    try:
        lines, first = inspect.getsourcelines(fn)
        path = Path(inspect.getsourcefile(fn) or "")
    except (OSError, TypeError) as err:
        raise _SourceMissing(f"{fn.__module__}.{fn.__qualname__}") from err
    try:
        shown = path.resolve().relative_to(_PACKAGE_ROOT).as_posix()
    except ValueError:
        shown = path.name
    return textwrap.dedent("".join(lines)), first, shown


@functools.lru_cache(maxsize=256)
def _references(fn: types.FunctionType) -> tuple[ast.expr, ...]:
    """The calls (``ast.Call``) and names (``ast.Name``) in ``fn``'s source, in reading order."""
    tree = ast.parse(_source(fn)[0])
    nodes = (n for n in ast.walk(tree) if isinstance(n, (ast.Call, ast.Name)))
    return tuple(sorted(nodes, key=lambda n: (n.lineno, n.col_offset)))


def _walk(
    fn: types.FunctionType,
    owner: Any,
    depth: int,
    seen: set,
    sections: list[CodeSection],
    constants: dict[str, Any],
) -> None:
    if fn in seen or depth > MAX_DEPTH:
        return
    seen.add(fn)
    source, first, path = _source(fn)
    sections.append(CodeSection(fn.__qualname__, fn.__module__, path, first, source, depth))
    for node in _references(fn):
        if isinstance(node, ast.Name):
            value = fn.__globals__.get(node.id)
            if node.id.lstrip("_").isupper() and isinstance(value, (bool, int, float, str)):
                constants[node.id] = value
            continue
        target = _callee(_resolve(node.func, fn, owner), owner)
        if target is not None:
            _walk(*target, depth + 1, seen, sections, constants)


def _listing(entries: list[tuple[Any, Any]], constants: dict[str, Any]) -> list[CodeSection]:
    sections: list[CodeSection] = []
    seen: set = set()
    for fn, owner in entries:
        _walk(fn, owner, 0, seen, sections, constants)
    return sections


# --------------------------------------------------------------------------- shapes


def _p(*dims: int) -> tuple[int, ...]:
    return tuple(int(d) for d in dims)


def _padded(in_shape, window, strides, padding, n) -> tuple[ShapeNote | None, tuple[int, int]]:
    """The padded input's note (None without padding) and its (H, W)."""
    h, w, c = in_shape
    if padding != "same":
        return None, (h, w)
    pad_h = same_padding(h, window[0], strides[0])
    pad_w = same_padding(w, window[1], strides[1])
    if pad_h == (0, 0) and pad_w == (0, 0):
        return None, (h, w)
    hp, wp = h + sum(pad_h), w + sum(pad_w)
    note = ShapeNote(
        "xp",
        "(N, H + pad_top + pad_bottom, W + pad_left + pad_right, C_in)",
        _p(n, hp, wp, c),
        f"x with zero rows {pad_h} and columns {pad_w} added ('same' padding)",
    )
    return note, (hp, wp)


def _conv_notes(layer, in_shape, out_shape, pool, n) -> tuple[list[ShapeNote], dict[str, int]]:
    h, w, c_in = in_shape
    h_out, w_out, c_out = out_shape
    kh, kw = layer.kernel_size
    k = kh * kw * c_in
    symbols = {"N": n, "H": h, "W": w, "C_in": c_in, "kh": kh, "kw": kw}
    symbols |= {"H_out": h_out, "W_out": w_out, "C_out": c_out}
    notes = [ShapeNote("x", "(N, H, W, C_in)", _p(n, h, w, c_in), "input batch")]
    padded, _ = _padded(in_shape, layer.kernel_size, layer.strides, layer.padding, n)
    notes += [padded] if padded else []
    notes.append(
        ShapeNote("kernel", "(kh, kw, C_in, C_out)", _p(kh, kw, c_in, c_out), "the filters")
    )
    notes.append(ShapeNote("bias", "(C_out,)", _p(c_out), "one number per filter"))
    weights = ShapeNote(
        "weights", "(kh·kw·C_in + 1, C_out)", _p(k + 1, c_out), "[kernel; bias] as one matrix"
    )
    if pool is None:
        notes.append(
            ShapeNote(
                "cols",
                "(N·H_out·W_out, kh·kw·C_in + 1)",
                _p(n * h_out * w_out, k + 1),
                "im2col: one row per output pixel, its receptive field plus a 1 for the bias",
            )
        )
        notes.append(weights)
        notes.append(
            ShapeNote("z", "(N, H_out, W_out, C_out)", _p(n, h_out, w_out, c_out), "cols @ weights")
        )
        notes.append(
            ShapeNote(
                "out",
                "(N, H_out, W_out, C_out)",
                _p(n, h_out, w_out, c_out),
                f"{layer.activation}(z), the layer's output",
            )
        )
        return notes, symbols
    ph, pw = pool.pool_size
    hp, wp = h_out // ph, w_out // pw
    symbols |= {"ph": ph, "pw": pw, "Hp": hp, "Wp": wp}
    notes.append(
        ShapeNote(
            "cols",
            "(ph·pw·N·Hp·Wp, kh·kw·C_in + 1)",
            _p(ph * pw * n * hp * wp, k + 1),
            "im2col rows in ph·pw blocks, one per position inside a pool window",
        )
    )
    notes.append(weights)
    notes.append(
        ShapeNote(
            "z",
            "(ph·pw, N, Hp, Wp, C_out)",
            _p(ph * pw, n, hp, wp, c_out),
            "the convolution's outputs grouped by position in their pool window",
        )
    )
    notes.append(
        ShapeNote(
            "out",
            "(N, Hp, Wp, C_out)",
            _p(n, hp, wp, c_out),
            f"max over each window, then {layer.activation}: the pool's output",
        )
    )
    return notes, symbols


def _pool_notes(layer, in_shape, out_shape, n) -> tuple[list[ShapeNote], dict[str, int]]:
    h, w, c = in_shape
    h_out, w_out, _ = out_shape
    ph, pw = layer.pool_size
    symbols = {"N": n, "H": h, "W": w, "C": c, "ph": ph, "pw": pw, "H_out": h_out, "W_out": w_out}
    notes = [ShapeNote("x", "(N, H, W, C)", _p(n, h, w, c), "input batch")]
    padded, _ = _padded(in_shape, layer.pool_size, layer.strides, layer.padding, n)
    notes += [padded] if padded else []
    if layer.kind == "MaxPooling2D":
        notes.append(
            ShapeNote(
                "source",
                "ph·pw × (N, H_out, W_out, C)",
                _p(ph * pw, n, h_out, w_out, c),
                "the value at each position of every window",
            )
        )
    out = ShapeNote("out", "(N, H_out, W_out, C)", _p(n, h_out, w_out, c), "the layer's output")
    return [*notes, out], symbols


def _shape_notes(layer, in_shape, out_shape, pool, n) -> tuple[list[ShapeNote], dict[str, int]]:
    kind = layer.kind
    if kind == "Conv2D":
        return _conv_notes(layer, in_shape, out_shape, pool, n)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return _pool_notes(layer, in_shape, out_shape, n)
    if kind == "Dense":
        (features,), (units,) = in_shape, out_shape
        return [
            ShapeNote("x", "(N, in)", _p(n, features), "input batch"),
            ShapeNote("kernel", "(in, units)", _p(features, units), "one column per unit"),
            ShapeNote("bias", "(units,)", _p(units), "one number per unit"),
            ShapeNote("z", "(N, units)", _p(n, units), "x @ kernel + bias"),
            ShapeNote("out", "(N, units)", _p(n, units), f"{layer.activation}(z)"),
        ], {"N": n, "in": features, "units": units}
    symbols = {"N": n}
    x = ShapeNote("x", "(N, " + ", ".join(map(str, in_shape)) + ")", _p(n, *in_shape), "input")
    out_note = ShapeNote(
        "out", "(N, " + ", ".join(map(str, out_shape)) + ")", _p(n, *out_shape), "output"
    )
    if kind == "Dropout":
        mask = ShapeNote("mask", x.formula, x.shape, "0 or 1/(1 - rate) per value, training only")
        return [x, mask, out_note], symbols
    return [x, out_note], symbols


# --------------------------------------------------------------------------- entry points


def layer_code(model, layer: int | str, batch_size: int = 32) -> LayerCode | NothingToShow:
    """The forward and backward code training runs for ``layer``, with its shapes.

    Parameters
    ----------
    model : pycnn.Sequential or None
    layer : int or str
        0-based index or name.
    batch_size : int
        ``N`` in the shapes (the training batch size).

    Returns :class:`NothingToShow` when there is no model or layer, or when the
    site ships pycnn without its source files (reason ``"no-source"``).
    """
    found = find_layer(model, layer)
    if isinstance(found, NothingToShow):
        return found
    index, obj = found
    layers = model.layers
    in_shapes = layer_input_shapes(model)
    out_shapes = [row.output_shape for row in model.summary()]

    def fuses(i: int) -> bool:
        return 0 <= i < len(layers) - 1 and bool(
            ConvMaxPool.can_fuse(layers[i], layers[i + 1], out_shapes[i])
        )

    start = index - 1 if fuses(index - 1) else index  # a pool fused into the conv before it
    last = len(layers) - 1
    notes: list[str] = []
    if fuses(start):
        conv, pool = layers[start], layers[start + 1]
        step = ConvMaxPool(conv, pool)
        runs_as = f"{conv.name} + {pool.name} (ConvMaxPool)"
        forward = [(ConvMaxPool.forward, step)]
        backward = [(ConvMaxPool.backward, step)]
        notes.append(
            f"Training and prediction run {conv.name} and {pool.name} as one step: the "
            "convolution, its activation and the max pool computed together, with the same "
            "numbers and less work. The feature-map view runs them one by one."
        )
        shapes, symbols = _shape_notes(conv, in_shapes[start], out_shapes[start], pool, batch_size)
        if obj is pool:
            shapes += _pool_notes(pool, in_shapes[index], out_shapes[index], batch_size)[0][-1:]
    else:
        runs_as = f"{obj.name} ({obj.kind})"
        forward = [(type(obj).forward, obj)]
        if index == last and hasattr(obj, "train_output"):
            # the output layer's training step: its forward again, the loss, its backward
            backward = [(type(obj).train_output, obj)]
            notes.append(
                "The loss starts the backward pass here: softmax and cross-entropy are fused, "
                "so the gradient reaching the scores is (probabilities − one-hot labels) / N."
            )
        else:
            backward = [(type(obj).backward, obj)]
        shapes, symbols = _shape_notes(obj, in_shapes[index], out_shapes[index], None, batch_size)
    trainable = [i for i, layer_ in enumerate(layers) if layer_.trainable_keys]
    if not trainable or start < trainable[0]:
        backward = []
        notes.append(
            "No layer before this one has weights, so training runs no backward pass here."
        )
    elif start == trainable[0]:
        notes.append(
            "This is the first layer with weights: its backward pass computes the weight "
            "gradients only (need_input_grad=False), as nothing before it needs dL/dx."
        )
    constants: dict[str, Any] = {}
    try:
        forward_code = _listing(forward, constants)
        backward_code = _listing(backward, constants)
    except _SourceMissing as err:
        return NothingToShow(
            "no-source",
            f"The source code of pycnn is not part of this build ({err} has none), "
            "so it cannot be shown here.",
        )
    return LayerCode(
        index,
        obj.name,
        obj.kind,
        runs_as,
        forward_code,
        backward_code,
        shapes,
        symbols,
        constants,
        notes,
    )
