"""A synthetic dataset of simple shapes, generated with numpy in milliseconds.

Six classes (:data:`SHAPE_CLASSES`): circle, square, triangle, cross, horizontal
line, vertical line. Each image is one outline shape drawn with an
anti-aliased stroke at a random position, size, angle (±15°), stroke width and
brightness, on a slightly noisy background. The same ``seed`` always gives the
same images; different seeds give different ones.

Every shape except the circle is a set of line segments in unit coordinates;
a pixel's brightness falls off with its distance to the nearest segment, so
one vectorised distance computation draws every class.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..arguments import normalize_seed
from .registry import SHAPE_CLASSES

__all__ = ["SHAPE_CLASSES", "make_shapes", "whole_number"]

_CIRCLE = 0
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


def _draw(labels: np.ndarray, size: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Draw one image per label. Returns float32 ``(N, size, size)`` in [0, 1]."""
    n = len(labels)
    scale = size / 28.0
    half = rng.uniform(0.2, 0.38, n).astype(np.float32) * size  # half-extent in pixels
    margin = half + 1.5 * scale
    cx = rng.uniform(0, 1, n).astype(np.float32) * (size - 2 * margin) + margin
    cy = rng.uniform(0, 1, n).astype(np.float32) * (size - 2 * margin) + margin
    angle = np.deg2rad(rng.uniform(-15, 15, n)).astype(np.float32)
    stroke = rng.uniform(1.2, 2.6, n).astype(np.float32) * scale
    brightness = rng.uniform(0.7, 1.0, n).astype(np.float32)
    background = rng.uniform(0.0, 0.1, n).astype(np.float32)

    # Segment endpoints in pixels: rotate, scale, translate the unit templates.
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (N, 2, 2)
    seg = np.einsum("nij,nsej->nsei", rot, _TEMPLATES[labels]) * half[:, None, None, None]
    seg += np.stack([cx, cy], -1)[:, None, None, :]  # (N, S, 2 endpoints, 2 xy)

    coords = np.arange(size, dtype=np.float32) + 0.5  # pixel centres
    px = coords[None, None, None, :]  # (1, 1, 1, W)
    py = coords[None, None, :, None]  # (1, 1, H, 1)
    ax, ay = seg[:, :, 0, 0, None, None], seg[:, :, 0, 1, None, None]  # (N, S, 1, 1)
    dx, dy = seg[:, :, 1, 0, None, None] - ax, seg[:, :, 1, 1, None, None] - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-6)
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)  # (N, S, H, W)
    dist = np.hypot(px - ax - t * dx, py - ay - t * dy).min(axis=1)  # (N, H, W)

    is_circle = labels == _CIRCLE
    if is_circle.any():
        r = np.hypot(px[:, 0] - cx[is_circle, None, None], py[:, 0] - cy[is_circle, None, None])
        dist[is_circle] = np.abs(r - half[is_circle, None, None])

    # Anti-aliased stroke: 1 inside the stroke, linear ramp over one pixel at its edge.
    ink = np.clip(stroke[:, None, None] / 2 + 0.5 - dist, 0.0, 1.0)
    images = background[:, None, None] + ink * (brightness - background)[:, None, None]
    images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    return np.clip(images, 0.0, 1.0, out=images)


def whole_number(value, arg: str, minimum: int) -> int:
    """``value`` as an ``int`` of at least ``minimum`` (``4`` or ``4.0``), or a ValueError."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and math.isfinite(value) and value == int(value) and value >= minimum):
        raise ValueError(f"{arg} must be a whole number >= {minimum}. Received: {arg}={value!r}")
    return int(value)


def make_shapes(
    n: int, *, size: int = 28, seed: int | np.random.SeedSequence = 0, noise: float = 0.08
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` shape images with balanced classes.

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
    n = whole_number(n, "n", 0)
    size = whole_number(size, "size", 8)
    if not isinstance(seed, np.random.SeedSequence):
        seed = normalize_seed(seed, None)
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0. Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    images = np.empty((n, size, size), dtype=np.float32)
    chunk = 512  # bounds the (chunk, 4, H, W) temporaries: matters in a browser tab
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        images[start:stop] = _draw(labels[start:stop], size, rng, noise)
    return images[..., None], labels
