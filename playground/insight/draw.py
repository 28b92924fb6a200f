"""Draw to predict: make a learner's drawing look like the images a dataset was made of.

A drawing arrives as strokes (what a ``<canvas>`` with pointer events
records) or as a raster, and leaves as the ``(H, W, C)`` float32 input the
model was trained on, prepared the way its dataset's images were made:

``mnist``
    Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of
    handwritten digits" (http://yann.lecun.com/exdb/mnist/): the digits were
    "size normalized to fit in a 20x20 pixel box while preserving their aspect
    ratio", with grey levels from anti-aliasing, then "centered in a 28x28
    image by computing the center of mass of the pixels". Here: the ink's
    bounding box is scaled to fit 20×20, the strokes are rendered at four times
    that size with a 2-pixel pen (the median stroke width of the shipped MNIST
    images, measured as 2 × area / perimeter of their pixels above 0.5) and
    area-averaged down, and the result is placed so its centre of mass falls on
    the centre of the 28×28 field (to a fraction of a pixel). Ink is 1, paper 0.
``fashion``
    H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST" (arXiv:1708.07747,
    2017): product images were trimmed, their longest edge resized to 28, and
    centred in 28×28. Here the same with the drawing's bounding box (their
    sharpening step is left out: strokes are already sharp).
``optdigits`` (the ``digits`` dataset)
    E. Alpaydin and C. Kaynak, UCI "Optical Recognition of Handwritten
    Digits" (1998): NIST's programs gave normalized 32×32 bitmaps, and "the
    number of on pixels" in each 4×4 block makes an 8×8 image of counts 0–16;
    ``pycnn.datasets.load`` divides by 16. NIST's normalization is not spelled
    out there; the shipped images show what it does, and it is done the same
    way: every digit's ink spans all 8 rows (1,497 of 1,497 training images)
    and is centred across, so the drawing's height is scaled to 32 and it is
    centred; and every class holds about the same amount of ink (304–330 of
    1,024 pixels on average per class), so the strokes are widened until the
    bitmap holds :data:`DIGITS_INK` on pixels.
``shapes``
    The generated dataset (:mod:`pycnn.datasets.shapes`): shapes 11–21 pixels
    across (of 28), 1.2–2.6-pixel strokes, brightness 0.7–1 on a 0–0.1
    background, drawn with a 1-pixel anti-aliased edge. Here the typical
    values: the drawing fitted to 60 % of the field, a 1.9-pixel pen, ink 0.85
    on 0.05, centred (the pixel noise is left out so a prediction does not
    flicker).
``colour-shapes``
    The generated colour dataset (:func:`pycnn.datasets.make_colour_shapes`):
    the same outlines as ``shapes``, in one of its three colours at 75–100 %
    brightness on a background whose channels are 0–0.15. Here the ``shapes``
    recipe with the colour the learner picks for the pen (:attr:`Recipe.pens`)
    at 87.5 % brightness, on 0.075 in every channel (the means).
``generic``
    Any other dataset or input size: the MNIST procedure at the input's size
    (box 20/28 of the side, pen 2/28).

Every size is relative to the input, so each procedure works from 8×8 to
64×64; a 3-channel input gets the picture in the pen's colour (white unless the
recipe offers colours), the grey datasets' white on black.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pycnn.activations import softmax
from pycnn.datasets.shapes import COLOURS, PALETTE
from pycnn.insight import NothingToShow, prepare_image

__all__ = [
    "DIGITS_INK",
    "RECIPES",
    "DrawPrediction",
    "Drawing",
    "Prepared",
    "canvas_colours",
    "predict_drawing",
    "prepare_drawing",
    "recipe_for",
]

SUPERSAMPLE = 4  # strokes are rendered at 4x the size they end up at, then area-averaged
MAX_RENDER = 96  # ...but at most this many pixels across: beyond, more detail is not seen
MAX_POINTS = 20_000  # a drawing with more points is refused (a page would not send it)
#: pen width in pixels of a 28x28 image: with it, ten drawn digits hold as much ink as
#: the MNIST images of the same digits (tests/unit/test_insight_draw.py measures it)
PEN = 2.6
#: on pixels of a 32x32 optdigits bitmap: the mean of the shipped training images is 313
DIGITS_INK = 313

EMPTY = NothingToShow("empty-drawing", "Draw something first: the canvas is empty.")
NOT_TRAINED = NothingToShow(
    "not-trained", "Train the model first: then draw, and it will tell you what it sees."
)


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Drawing:
    """Strokes in canvas pixels (``x`` to the right, ``y`` down).

    Attributes
    ----------
    width, height : float
        The canvas size in the same pixels.
    strokes : tuple of ndarray
        One float64 ``(n, 2)`` array of ``(x, y)`` points per stroke (pen down
        to pen up); a single point is a dot.
    """

    width: float
    height: float
    strokes: tuple[np.ndarray, ...]

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.strokes)

    @classmethod
    def from_json(cls, data) -> Drawing | NothingToShow:
        """A drawing from what a page sends, or :class:`NothingToShow` saying what is wrong.

        ``{"width": 280, "height": 280, "strokes": [[x0, y0, x1, y1, ...], ...]}``:
        each stroke a flat list of coordinates (compact), or a list of
        ``[x, y]`` pairs.
        """
        try:
            width, height = float(data["width"]), float(data["height"])
            strokes = []
            for stroke in data["strokes"]:
                points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
                if len(points):
                    strokes.append(points)
        except (KeyError, TypeError, ValueError) as err:
            return NothingToShow(
                "bad-input",
                "The drawing could not be read: expected {width, height, strokes: "
                "[[x0, y0, x1, y1, ...], ...]}. "
                f"Received: {type(data).__name__} ({err})",
            )
        drawing = cls(width, height, tuple(strokes))
        problem = _check(drawing)
        return problem or drawing


def _check(drawing: Drawing) -> NothingToShow | None:
    if not (
        math.isfinite(drawing.width)
        and math.isfinite(drawing.height)
        and drawing.width > 0
        and drawing.height > 0
    ):
        return NothingToShow(
            "bad-input",
            f"The canvas size must be positive. Received: {drawing.width} × {drawing.height}",
        )
    if drawing.points > MAX_POINTS:
        return NothingToShow(
            "bad-input",
            f"The drawing has too many points ({drawing.points:,}; at most {MAX_POINTS:,}).",
        )
    if any(not np.all(np.isfinite(s)) for s in drawing.strokes):
        return NothingToShow("bad-input", "The drawing has points that are not numbers.")
    return None


# --------------------------------------------------------------------------- rendering


def _simplify(points: np.ndarray, step: float) -> np.ndarray:
    """Drop points closer than ``step`` (along the stroke) to the last one kept; keep both ends."""
    if len(points) < 3:
        return points
    travelled = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    keep = np.diff(np.floor(travelled / step), prepend=-1) > 0
    keep[-1] = True
    return points[keep]


def _segments(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """``(S, 2, 2)`` segments ``[start, end]`` of every stroke (a dot: start == end)."""
    parts = []
    for s in strokes:
        if len(s) == 1:
            parts.append(np.stack([s, s], axis=1))
        else:
            parts.append(np.stack([s[:-1], s[1:]], axis=1))
    return np.concatenate(parts)


def _render(segments: np.ndarray, pen: float, height: int, width: int) -> np.ndarray:
    """Ink coverage ``(height, width)`` in [0, 1] of thick lines along ``segments``.

    Coordinates are in output pixels (pixel ``(r, c)`` spans ``[c, c+1) × [r, r+1)``);
    a pixel is full within ``pen / 2`` of a segment, with a 1-pixel ramp at the edge.
    Segments are handled in runs of consecutive ones, each only inside the box it
    can touch, so the cost follows the ink, not the canvas.
    """
    distance = np.full((height, width), np.inf)
    reach = pen / 2 + 1
    run = 16
    for first in range(0, len(segments), run):
        seg = segments[first : first + run]
        low = np.floor(seg.reshape(-1, 2).min(axis=0) - reach).astype(int)
        high = np.ceil(seg.reshape(-1, 2).max(axis=0) + reach).astype(int)
        x0, y0 = np.maximum(low, 0)
        x1, y1 = np.minimum(high, (width, height))
        if x0 >= x1 or y0 >= y1:
            continue
        px = np.arange(x0, x1) + 0.5
        py = np.arange(y0, y1) + 0.5
        a = seg[:, 0, :]  # (S, 2)
        d = seg[:, 1, :] - a
        length2 = np.maximum((d * d).sum(axis=1), 1e-12)[:, None, None]
        ax, ay = a[:, 0, None, None], a[:, 1, None, None]
        dx, dy = d[:, 0, None, None], d[:, 1, None, None]
        rx = px[None, None, :] - ax  # (S, 1, w)
        ry = py[None, :, None] - ay  # (S, h, 1)
        t = np.clip((rx * dx + ry * dy) / length2, 0.0, 1.0)  # (S, h, w)
        d2 = ((rx - t * dx) ** 2 + (ry - t * dy) ** 2).min(axis=0)
        window = distance[y0:y1, x0:x1]
        np.minimum(window, np.sqrt(d2), out=window)
    return np.clip(pen / 2 + 0.5 - distance, 0.0, 1.0)


def _ink_from_strokes(drawing: Drawing, box: float, pen: float) -> np.ndarray:
    """The strokes rendered so their ink's longer side is ``zoom * box`` pixels.

    ``zoom`` is :data:`SUPERSAMPLE`, or less where that would pass
    :data:`MAX_RENDER`. ``pen`` is the pen width in the same units as ``box``
    (output pixels): the returned array is exactly the ink's bounding box,
    centre lines plus the pen. Points closer than half an output pixel along a
    stroke are merged.
    """
    points = np.concatenate(drawing.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float((high - low).max())
    zoom = min(SUPERSAMPLE, MAX_RENDER / box)
    pen_px = zoom * pen
    scale = (zoom * box - pen_px) / extent if extent > 0 else 1.0
    step = zoom / 2
    strokes = [_simplify((s - low) * scale + pen_px / 2, step) for s in drawing.strokes]
    width, height = np.ceil((high - low) * scale + pen_px).astype(int)
    return _render(_segments(strokes), pen_px, int(height), int(width))


def _ink_from_raster(raster: np.ndarray) -> np.ndarray | NothingToShow:
    """A raster's ink cropped to its bounding box, as coverage in [0, 1].

    ``raster``: ``(h, w)`` ink coverage in [0, 1] (1 = ink), or uint8
    ``(h, w, 4)`` RGBA as a canvas's ``getImageData`` gives (ink = alpha).
    """
    a = np.asarray(raster)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., 3].astype(np.float64) / 255.0
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.number) or a.size == 0:
        return NothingToShow(
            "bad-input",
            "A raster drawing must be an (h, w) array of ink in [0, 1] or (h, w, 4) RGBA. "
            f"Received: shape {a.shape}",
        )
    a = np.clip(np.nan_to_num(a.astype(np.float64)), 0.0, 1.0)
    rows, cols = np.flatnonzero(a.max(axis=1) > 0.02), np.flatnonzero(a.max(axis=0) > 0.02)
    if not len(rows):
        return EMPTY
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _area_matrix(n_out: int, n_in: int, scale: float, offset: float) -> np.ndarray:
    """``(n_out, n_in)``: how much of output pixel ``i`` input pixel ``j`` covers.

    Input pixel ``j`` lands on ``[offset + j*scale, offset + (j+1)*scale)``.
    """
    starts = offset + scale * np.arange(n_in)
    lo = np.maximum(np.arange(n_out)[:, None], starts[None, :])
    hi = np.minimum(np.arange(1, n_out + 1)[:, None], starts[None, :] + scale)
    return np.maximum(hi - lo, 0.0)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """``(row, column)`` of a 2-D image's centre of mass, pixel ``i`` centred on ``i + 0.5``."""
    mass = image.sum()
    rows = image.sum(axis=1) @ (np.arange(image.shape[0]) + 0.5) / mass
    cols = image.sum(axis=0) @ (np.arange(image.shape[1]) + 0.5) / mass
    return float(rows), float(cols)


def _place(ink: np.ndarray, field: tuple[int, int], scale: tuple[float, float], by_mass: bool):
    """Scale ``ink`` by ``(sy, sx)`` and centre it in ``field`` (by mass or by its box).

    Each output pixel gets the share of its area covered by ink (area
    averaging). Counting that share at the pixel's centre moves the centre of
    mass by a few hundredths of a pixel, so centring by mass measures the
    result and shifts again (twice is enough for 0.01 px).
    """
    (h, w), (sy, sx) = ink.shape, scale
    cy, cx = _centre_of_mass(ink) if by_mass else (h / 2, w / 2)
    oy, ox = field[0] / 2 - cy * sy, field[1] / 2 - cx * sx
    for _ in range(3 if by_mass else 1):
        out = _area_matrix(field[0], h, sy, oy) @ ink @ _area_matrix(field[1], w, sx, ox).T
        if by_mass:
            got_y, got_x = _centre_of_mass(out)
            oy, ox = oy + field[0] / 2 - got_y, ox + field[1] / 2 - got_x
    return out


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """How one dataset's images were made, in sizes relative to the input.

    ``box`` and ``pen`` are fractions of the input's side (box: the longer
    side of the ink's bounding box; pen: stroke width); ``by_mass`` centres by
    centre of mass, else by the bounding box; ``ink``/``paper`` are the values
    of full ink and of the background.
    """

    key: str
    box: float
    pen: float
    by_mass: bool
    ink: float = 1.0
    paper: float = 0.0
    summary: str = ""
    pens: tuple[tuple[str, tuple[float, float, float]], ...] = ()


RECIPES = {
    "mnist": Recipe(
        "mnist",
        20 / 28,
        PEN / 28,
        True,
        summary="fitted in a 20×20 box, anti-aliased, centred by its centre of mass in 28×28",
    ),
    "fashion": Recipe(
        "fashion", 1.0, PEN / 28, False, summary="longest side resized to 28, centred in 28×28"
    ),
    "optdigits": Recipe(
        "optdigits",
        1.0,
        2 / 32,
        False,
        summary="height scaled to a 32×32 bitmap, on pixels counted in 4×4 blocks (0–16), ÷16",
    ),
    "shapes": Recipe(
        "shapes",
        0.6,
        1.9 / 28,
        False,
        ink=0.85,
        paper=0.05,
        summary="fitted to 60 % of the image, 1.9-pixel strokes of 0.85 on a 0.05 background",
    ),
    "colour-shapes": Recipe(
        "colour-shapes",
        0.6,
        1.9 / 28,
        False,
        ink=0.875,
        paper=0.075,
        summary=(
            "fitted to 60 % of the image, 2.2-pixel strokes in the pen's colour "
            "on a dark background (0.075)"
        ),
        pens=tuple(zip(COLOURS, (tuple(float(v) for v in rgb) for rgb in PALETTE))),
    ),
    "generic": Recipe(
        "generic",
        20 / 28,
        PEN / 28,
        True,
        summary="fitted in a box of 5/7 of the image, centred by its centre of mass",
    ),
}

_DATASET_RECIPES = {
    "mnist": "mnist",
    "fashion": "fashion",
    "digits": "optdigits",
    "shapes": "shapes",
    "colour-shapes": "colour-shapes",
}


def recipe_for(dataset: str | None) -> Recipe:
    """The :class:`Recipe` for a dataset name (``generic`` for any other)."""
    return RECIPES[_DATASET_RECIPES.get(dataset or "", "generic")]


def _optdigits(ink: np.ndarray, field: tuple[int, int]) -> np.ndarray:
    """8×8-style counts from ink: a 32×32-style bitmap, ink normalised, 4×4 blocks counted.

    ``field`` is the output size (8×8 for the real dataset); the bitmap is 4× it.
    """
    big = (4 * field[0], 4 * field[1])
    sy = big[0] / ink.shape[0]
    sx = min(sy, big[1] / ink.shape[1])  # height fills the bitmap; a wide drawing is squeezed
    coverage = _place(ink, big, (sy, sx), by_mass=False)
    target = round(DIGITS_INK * big[0] * big[1] / 1024)
    on = coverage >= 0.5
    if on.sum() < target:
        # Widen the strokes: switch on the pixels nearest to the ink (NIST's bitmaps have
        # normalised stroke widths: every class holds about the same number of on pixels).
        ink_y, ink_x = np.nonzero(on if on.any() else coverage > 0)
        pix_y, pix_x = (g.ravel().astype(np.float32) for g in np.indices(big))
        near = ((pix_y[:, None] - ink_y) ** 2 + (pix_x[:, None] - ink_x) ** 2).min(axis=1)
        order = np.lexsort((-coverage.ravel(), near))
        on = np.zeros(big[0] * big[1], dtype=bool)
        on[order[:target]] = True
        on = on.reshape(big)
    counts = on.reshape(field[0], 4, field[1], 4).sum(axis=(1, 3))
    return counts / 16.0


@dataclass(frozen=True)
class Prepared:
    """The model's view of a drawing.

    ``image``: float32 ``(H, W, C)`` in the data's range; ``recipe``: the
    :class:`Recipe` key used; ``description``: one sentence on how it was made.
    """

    image: np.ndarray
    recipe: str
    description: str


def prepare_drawing(
    drawing, dataset: str | None, input_shape, pen: str | None = None
) -> Prepared | NothingToShow:
    """Turn a drawing into one input image, made the way ``dataset``'s images were.

    Parameters
    ----------
    drawing : Drawing, dict or ndarray
        A :class:`Drawing`, its JSON form (:meth:`Drawing.from_json`), or a
        raster (see :func:`_ink_from_raster`).
    dataset : str or None
        ``"mnist"``, ``"fashion"``, ``"digits"``, ``"shapes"``; others get the
        ``generic`` recipe.
    input_shape : tuple of int
        ``(H, W, C)`` of the model's input.
    pen : str, optional
        For 3-channel input: the name of one of the recipe's :attr:`Recipe.pens`
        (default: its first; white if it has none).

    Returns
    -------
    Prepared, or NothingToShow for an empty or unreadable drawing.
    """
    recipe = recipe_for(dataset)
    if len(input_shape) != 3:
        return NothingToShow(
            "bad-input",
            f"Drawings are images: the model needs an (height, width, channels) input. "
            f"Received: input_shape={tuple(input_shape)}",
        )
    h, w, c = (int(v) for v in input_shape)
    side = min(h, w)
    if isinstance(drawing, dict):
        drawing = Drawing.from_json(drawing)
    if isinstance(drawing, NothingToShow):
        return drawing
    if isinstance(drawing, Drawing):
        problem = _check(drawing)
        if problem:
            return problem
        if not drawing.strokes:
            return EMPTY
        # optdigits works on a 4x larger bitmap: the box and pen are relative to it
        unit = 4 * side if recipe.key == "optdigits" else side
        ink = _ink_from_strokes(drawing, recipe.box * unit, recipe.pen * unit)
    else:
        ink = _ink_from_raster(drawing)
        if isinstance(ink, NothingToShow):
            return ink
    if recipe.key == "optdigits":
        coverage = _optdigits(ink, (h, w))
    else:
        fit = recipe.box * side / max(ink.shape)
        coverage = np.clip(_place(ink, (h, w), (fit, fit), recipe.by_mass), 0.0, 1.0)
    image = recipe.paper + coverage[..., None] * (_ink_value(recipe, c, pen) - recipe.paper)
    return Prepared(
        image.astype(np.float32),
        recipe.key,
        f"Your drawing as the model sees it: {recipe.summary}.",
    )


def _ink_value(recipe: Recipe, channels: int, pen: str | None) -> np.ndarray:
    """Full ink, one value per channel: the pen's colour on 3 channels (white without pens)."""
    pens = dict(recipe.pens)
    colour = pens.get(pen, next(iter(pens.values()), None)) if channels == 3 else None
    return recipe.ink * (np.ones(channels) if colour is None else np.asarray(colour))


def canvas_colours(dataset: str | None, input_shape, pen: str | None = None) -> tuple[str, str]:
    """CSS colours of the canvas's strokes and background, as ``(ink, paper)``.

    A colour input shows the colours the model gets (:func:`prepare_drawing`: the
    pen's on the dataset's background), so the learner sees the drawing the model
    reads; a grey one is drawn dark on white, like pencil on paper.
    """
    if len(input_shape) != 3 or int(input_shape[2]) != 3:
        return "#111111", "#ffffff"
    recipe = recipe_for(dataset)

    def css(rgb) -> str:
        return "#" + "".join(f"{round(255 * float(v)):02x}" for v in np.broadcast_to(rgb, 3))

    return css(_ink_value(recipe, 3, pen)), css(recipe.paper)


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class DrawPrediction:
    """``probabilities``: float32 ``(classes,)``; ``prepared``: the input the model saw."""

    prepared: Prepared
    probabilities: np.ndarray

    @property
    def top(self) -> int:
        return int(np.argmax(self.probabilities))


def predict_drawing(
    model, drawing, dataset: str | None, pen: str | None = None
) -> DrawPrediction | NothingToShow:
    """Prepare ``drawing`` for ``model`` (see :func:`prepare_drawing`) and predict its class.

    Pass ``model=None`` until the model has been trained: the answer is then
    "train first".
    """
    if model is None or not model.built:
        return NOT_TRAINED
    prepared = prepare_drawing(drawing, dataset, model.input_shape, pen)
    if isinstance(prepared, NothingToShow):
        return prepared
    x = prepare_image(model, prepared.image)
    if isinstance(x, NothingToShow):
        return x
    out = model.predict(x)[0]
    last = getattr(model.layers[-1], "activation", None)
    probabilities = out if last == "softmax" else softmax(out)
    return DrawPrediction(prepared, np.asarray(probabilities, dtype=np.float32))
