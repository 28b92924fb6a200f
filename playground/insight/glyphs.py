"""Digits 0–9 as pen strokes, for examples and tests of drawing to predict.

Each digit is a few strokes of ``(x, y)`` points in a unit box 1 wide and
1.4 tall (``y`` down), written the plain way most people print digits (a
round 0, a single stroke for 1, a 7 without a bar). :func:`digit_drawing`
scales one onto a canvas, as a learner's pointer would have drawn it.
"""

from __future__ import annotations

import itertools

import numpy as np

from .draw import Drawing

__all__ = ["DIGIT_STROKES", "digit_drawing"]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 24):
    """Points along an ellipse from angle ``start`` to ``stop`` (degrees, 0 = right, 90 = down)."""
    t = np.deg2rad(np.linspace(start, stop, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*corners, n: int = 8):
    """Points along straight lines through ``corners``."""
    parts = [np.asarray(corners[0], dtype=np.float64)[None]]
    for a, b in itertools.pairwise(corners):
        s = np.linspace(0.0, 1.0, n)[1:, None]
        parts.append(np.asarray(a) + s * (np.asarray(b) - np.asarray(a)))
    return np.concatenate(parts)


#: digit -> list of strokes, each float64 ``(n, 2)`` in the unit box
DIGIT_STROKES: dict[int, list[np.ndarray]] = {
    0: [_arc(0.5, 0.7, 0.33, 0.6, -90, 270, 48)],
    1: [_line((0.55, 0.1), (0.45, 1.3))],
    2: [
        np.concatenate(
            [_arc(0.5, 0.45, 0.35, 0.35, 190, 380), _line((0.83, 0.57), (0.12, 1.3), (0.9, 1.3))]
        )
    ],
    3: [
        np.concatenate([_arc(0.48, 0.4, 0.32, 0.3, 200, 450), _arc(0.48, 1.0, 0.36, 0.3, -90, 160)])
    ],
    4: [_line((0.6, 0.1), (0.1, 0.9), (0.9, 0.9)), _line((0.65, 0.45), (0.65, 1.3))],
    5: [
        np.concatenate(
            [_line((0.85, 0.1), (0.22, 0.1), (0.18, 0.62)), _arc(0.48, 0.92, 0.36, 0.36, -125, 150)]
        )
    ],
    6: [
        np.concatenate([_line((0.75, 0.1), (0.3, 0.55)), _arc(0.5, 0.98, 0.3, 0.32, 200, 560, 36)])
    ],
    7: [_line((0.1, 0.1), (0.9, 0.1), (0.38, 1.3))],
    8: [
        np.concatenate(
            [_arc(0.5, 0.42, 0.27, 0.3, 90, 450, 36), _arc(0.5, 1.0, 0.33, 0.3, -90, 270, 36)]
        )
    ],
    9: [np.concatenate([_arc(0.5, 0.45, 0.3, 0.32, 0, 360, 36), _line((0.8, 0.45), (0.75, 1.3))])],
}


def digit_drawing(
    digit: int, width: float = 280, height: float = 280, margin: float = 40
) -> Drawing:
    """Digit ``digit`` drawn on a ``width × height`` canvas, ``margin`` pixels from its edges."""
    scale = min(width - 2 * margin, (height - 2 * margin) / 1.4)
    offset = np.array([(width - scale) / 2, (height - 1.4 * scale) / 2])
    return Drawing(width, height, tuple(s * scale + offset for s in DIGIT_STROKES[digit]))
