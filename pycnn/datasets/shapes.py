"""Two synthetic datasets of simple shapes, generated with numpy in milliseconds.

``shapes`` (:func:`make_shapes`): six grey classes (:data:`SHAPE_CLASSES`):
circle, square, triangle, cross, horizontal line, vertical line. Each image is
one outline shape drawn with an anti-aliased stroke at a random position, size,
angle (±15°), stroke width and brightness, on a slightly noisy background.

``colour-shapes`` (:func:`make_colour_shapes`): nine RGB classes
(:data:`COLOUR_SHAPE_CLASSES`), a circle, square or triangle outline drawn the
same way in orange, yellow or blue on a dark, randomly tinted background. Neither
the shape nor the colour alone gives the class, so a network must learn both:
its first filters pick up colours as well as edges.

The same ``seed`` always gives the same images; different seeds give different ones.

Every shape except the circle is a set of line segments in unit coordinates;
a pixel's brightness falls off with its distance to the nearest segment, so
one vectorised distance computation draws every class.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..arguments import normalize_seed
from .registry import COLOUR_SHAPE_CLASSES, COLOURS, SHAPE_CLASSES

__all__ = [
    "COLOURS",
    "COLOUR_SHAPE_CLASSES",
    "PALETTE",
    "SHAPE_CLASSES",
    "make_colour_shapes",
    "make_shapes",
    "whole_number",
]

_CIRCLE = 0
#: sRGB of COLOURS in [0, 1], float32 (3, 3): M. Okabe and K. Ito, "Color Universal Design"
#: (2008), vermillion (here "orange"), yellow and blue, told apart with every common
#: colour-vision deficiency.
PALETTE = np.array([[213, 94, 0], [240, 228, 66], [0, 114, 178]], dtype=np.float32) / 255
_SEGMENTS_PER_SHAPE = 4


def _templates() -> np.ndarray:
    """Segments of each class in unit coordinates ``(x, y)``, y pointing down.

    Returns
    -------
    ndarray, shape (n_classes, 4, 2, 2)
        ``[class, segment, endpoint, xy]``; shapes with fewer than four segments
        repeat their last one (harmless: we take the minimum distance).
    """
    square = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    triangle = [(0, -1), (1, 0.8), (-1, 0.8)]
    shapes = {
        "circle": [((0, 0), (0, 0))],  # drawn analytically, placeholder only
        "square": [(square[i], square[(i + 1) % 4]) for i in range(4)],
        "triangle": [(triangle[i], triangle[(i + 1) % 3]) for i in range(3)],
        "cross": [((-1, 0), (1, 0)), ((0, -1), (0, 1))],
        "horizontal line": [((-1, 0), (1, 0))],
        "vertical line": [((0, -1), (0, 1))],
    }
    out = np.zeros((len(SHAPE_CLASSES), _SEGMENTS_PER_SHAPE, 2, 2), dtype=np.float32)
    for k, name in enumerate(SHAPE_CLASSES):
        segments = shapes[name]
        segments = segments + [segments[-1]] * (_SEGMENTS_PER_SHAPE - len(segments))
        out[k] = np.array(segments, dtype=np.float32)
    return out


_TEMPLATES = _templates()


def _ink(shapes: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage in [0, 1], float32 ``(N, size, size)``: one outline per shape index.

    ``shapes`` index :data:`SHAPE_CLASSES`; each outline gets a random position,
    size, angle (±15°) and stroke width.
    """
    n = len(shapes)
    scale = size / 28.0
    half = rng.uniform(0.2, 0.38, n).astype(np.float32) * size  # half-extent in pixels
    margin = half + 1.5 * scale
    cx = rng.uniform(0, 1, n).astype(np.float32) * (size - 2 * margin) + margin
    cy = rng.uniform(0, 1, n).astype(np.float32) * (size - 2 * margin) + margin
    angle = np.deg2rad(rng.uniform(-15, 15, n)).astype(np.float32)
    stroke = rng.uniform(1.2, 2.6, n).astype(np.float32) * scale

    # Segment endpoints in pixels: rotate, scale, translate the unit templates.
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (N, 2, 2)
    seg = np.einsum("nij,nsej->nsei", rot, _TEMPLATES[shapes]) * half[:, None, None, None]
    seg += np.stack([cx, cy], -1)[:, None, None, :]  # (N, S, 2 endpoints, 2 xy)

    coords = np.arange(size, dtype=np.float32) + 0.5  # pixel centres
    px = coords[None, None, None, :]  # (1, 1, 1, W)
    py = coords[None, None, :, None]  # (1, 1, H, 1)
    ax, ay = seg[:, :, 0, 0, None, None], seg[:, :, 0, 1, None, None]  # (N, S, 1, 1)
    dx, dy = seg[:, :, 1, 0, None, None] - ax, seg[:, :, 1, 1, None, None] - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-6)
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)  # (N, S, H, W)
    dist = np.hypot(px - ax - t * dx, py - ay - t * dy).min(axis=1)  # (N, H, W)

    is_circle = shapes == _CIRCLE
    if is_circle.any():
        r = np.hypot(px[:, 0] - cx[is_circle, None, None], py[:, 0] - cy[is_circle, None, None])
        dist[is_circle] = np.abs(r - half[is_circle, None, None])

    # Anti-aliased stroke: 1 inside the stroke, linear ramp over one pixel at its edge.
    return np.clip(stroke[:, None, None] / 2 + 0.5 - dist, 0.0, 1.0)


def _draw(labels: np.ndarray, size: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Draw one grey image per label. Returns float32 ``(N, size, size, 1)`` in [0, 1]."""
    n = len(labels)
    ink = _ink(labels, size, rng)
    brightness = rng.uniform(0.7, 1.0, n).astype(np.float32)
    background = rng.uniform(0.0, 0.1, n).astype(np.float32)
    images = background[:, None, None] + ink * (brightness - background)[:, None, None]
    images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    return np.clip(images, 0.0, 1.0, out=images)[..., None]


def _draw_colour(
    labels: np.ndarray, size: int, rng: np.random.Generator, noise: float
) -> np.ndarray:
    """Draw one colour image per label. Returns float32 ``(N, size, size, 3)`` in [0, 1].

    Label ``k`` is the outline ``COLOUR_SHAPES[k // 3]`` in ``COLOURS[k % 3]``,
    each at 75–100 % of that colour's brightness, on a dark background whose
    three channels vary independently (so no channel alone tells the colour).
    """
    n = len(labels)
    ink = _ink(labels // len(COLOURS), size, rng)[..., None]  # shape k is SHAPE_CLASSES[k]
    colour = PALETTE[labels % len(COLOURS)] * rng.uniform(0.75, 1.0, (n, 1)).astype(np.float32)
    background = rng.uniform(0.0, 0.15, (n, 3)).astype(np.float32)
    images = background[:, None, None, :] + ink * (colour - background)[:, None, None, :]
    images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    return np.clip(images, 0.0, 1.0, out=images)


def whole_number(value, arg: str, minimum: int) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (``4`` or ``4.0``), or a ValueError."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and math.isfinite(value) and value == int(value) and value >= minimum):
        raise ValueError(f"{arg} must be a whole number >= {minimum}. Received: {arg}={value!r}")
    return int(value)


def _check(n, size, seed, noise) -> tuple[int, int, np.random.Generator]:
    n = whole_number(n, "n", 0)
    size = whole_number(size, "size", 8)
    if not isinstance(seed, np.random.SeedSequence):
        seed = normalize_seed(seed, None)
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0. Received: noise={noise!r}")
    return n, size, np.random.default_rng(seed)


def _generate(draw, classes: int, channels: int, n, size, seed, noise):
    """Balanced labels from ``rng``, then ``draw`` in chunks: the loop both datasets share."""
    n, size, rng = _check(n, size, seed, noise)
    labels = rng.permutation(np.arange(n) % classes).astype(np.int64)
    images = np.empty((n, size, size, channels), dtype=np.float32)
    chunk = 512  # bounds the (chunk, 4, H, W) temporaries: matters in a browser tab
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        images[start:stop] = draw(labels[start:stop], size, rng, noise)
    return images, labels


def make_shapes(
    n: int, *, size: int = 28, seed: int | np.random.SeedSequence = 0, noise: float = 0.08
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` grey shape images with balanced classes.

    Parameters
    ----------
    n : int
        Number of images (classes are as balanced as ``n`` allows).
    size : int
        Height and width in pixels (at least 8).
    seed : int or numpy.random.SeedSequence
        Same seed, same images and labels.
    noise : float
        Standard deviation of the Gaussian pixel noise.

    Returns
    -------
    x : ndarray, float32, shape (n, size, size, 1), values in [0, 1]
    y : ndarray, int64, shape (n,), values in ``range(len(SHAPE_CLASSES))``
    """
    return _generate(_draw, len(SHAPE_CLASSES), 1, n, size, seed, noise)


def make_colour_shapes(
    n: int, *, size: int = 32, seed: int | np.random.SeedSequence = 0, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` colour shape images with balanced classes.

    Parameters are those of :func:`make_shapes`.

    Returns
    -------
    x : ndarray, float32, shape (n, size, size, 3), RGB values in [0, 1]
    y : ndarray, int64, shape (n,), values in ``range(len(COLOUR_SHAPE_CLASSES))``:
        label ``k`` is ``COLOUR_SHAPE_CLASSES[k]``, the shape ``SHAPE_CLASSES[k // 3]``
        in the colour ``COLOURS[k % 3]``
    """
    return _generate(_draw_colour, len(COLOUR_SHAPE_CLASSES), 3, n, size, seed, noise)
