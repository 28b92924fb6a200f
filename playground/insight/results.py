"""Words and colours for test results and predictions (from :mod:`pycnn.insight`).

A confusion-matrix view builds its table from :func:`confusion_table`: every
cell has its background colour, a text colour with a WCAG contrast of at
least 4.5:1 on it, a short label and a sentence for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pycnn.insight import EvaluationResults, Mistake

from . import colours

__all__ = [
    "Bar",
    "ConfusionCell",
    "ConfusionTable",
    "confusion_table",
    "contrast_ratio",
    "mistake_caption",
    "percent",
    "prediction_text",
    "probability_bars",
    "text_colour_on",
]

_BLACK, _WHITE = "#000000", "#ffffff"


def percent(p: float) -> str:
    """``0.934`` → ``"93 %"`` (``"<1 %"`` for a small non-zero share)."""
    if 0 < p < 0.005:
        return "<1 %"
    return f"{100 * p:.0f} %"


def contrast_ratio(rgb_a, rgb_b) -> float:
    """WCAG 2 contrast ratio of two uint8 sRGB colours (1 to 21)."""
    la, lb = (float(colours.relative_luminance(np.asarray(c[:3]) / 255.0)) for c in (rgb_a, rgb_b))
    high, low = max(la, lb), min(la, lb)
    return (high + 0.05) / (low + 0.05)


def text_colour_on(rgb) -> str:
    """Black or white, whichever reads better on the background ``rgb``."""
    return (
        _BLACK if contrast_ratio(rgb, (0, 0, 0)) >= contrast_ratio(rgb, (255, 255, 255)) else _WHITE
    )


@dataclass(frozen=True)
class ConfusionCell:
    """Cell ``[true, predicted]``: ``count`` images, ``fraction`` of their true class."""

    true: int
    predicted: int
    count: int
    fraction: float
    background: str
    text_colour: str
    label: str
    description: str


@dataclass(frozen=True)
class ConfusionTable:
    """``cells[t][p]`` for true class ``t`` (rows) and prediction ``p`` (columns).

    ``class_accuracy[t]`` is the text of row ``t``'s accuracy (``"97 %"``, or
    ``"—"`` without test images); ``caption`` sums the table up.
    """

    class_names: tuple[str, ...]
    cells: list[list[ConfusionCell]]
    class_accuracy: list[str]
    normalised: bool
    caption: str


def confusion_table(results: EvaluationResults, normalised: bool = False) -> ConfusionTable:
    """The confusion matrix as table cells: counts, or shares of each row with ``normalised``.

    Cells are coloured by their share of the row in both modes (darkest 0,
    yellow 1), so a strong diagonal looks the same whichever numbers are shown.
    """
    names = results.class_names
    shares = results.row_normalised
    idx = np.clip(np.rint(shares * 255), 0, 255).astype(int)
    cells = []
    for t, true_name in enumerate(names):
        row = []
        for p, predicted_name in enumerate(names):
            count = int(results.confusion[t, p])
            share = float(shares[t, p])
            rgb = colours.SEQUENTIAL[idx[t, p]]
            verb = "correctly predicted" if t == p else f"predicted as {predicted_name}"
            row.append(
                ConfusionCell(
                    t,
                    p,
                    count,
                    share,
                    colours.hex_colour(rgb),
                    text_colour_on(rgb),
                    percent(share) if normalised else str(count),
                    f"{count} test image{'s' * (count != 1)} of {true_name} {verb} "
                    f"({percent(share)} of the {true_name} images)",
                )
            )
        cells.append(row)
    accuracy = [("—" if np.isnan(a) else percent(float(a))) for a in results.per_class_accuracy]
    caption = (
        f"Confusion matrix of {results.n} test images: rows are the true classes, columns "
        f"the predictions; {percent(results.accuracy)} are on the diagonal (right)."
    )
    return ConfusionTable(names, cells, accuracy, normalised, caption)


@dataclass(frozen=True)
class Bar:
    """One class's probability for a bar chart; ``top`` marks the predicted class."""

    index: int
    name: str
    probability: float
    text: str
    top: bool


def probability_bars(
    probabilities: np.ndarray, class_names: Sequence[str], sort: bool = False
) -> list[Bar]:
    """Bars in class order, or highest first with ``sort`` (ties keep class order)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    top = int(probabilities.argmax())
    order = np.argsort(-probabilities, kind="stable") if sort else range(len(class_names))
    return [
        Bar(int(k), class_names[k], float(probabilities[k]), percent(probabilities[k]), k == top)
        for k in order
    ]


def prediction_text(probabilities: np.ndarray, class_names: Sequence[str]) -> str:
    """The top class and its probability: ``"7 (93 %)"``."""
    top = int(np.argmax(probabilities))
    return f"{class_names[top]} ({percent(float(probabilities[top]))})"


def mistake_caption(mistake: Mistake, class_names: Sequence[str]) -> str:
    """``"true 3, predicted 5 (87 %)"`` for one gallery image."""
    return (
        f"true {class_names[mistake.true]}, predicted "
        f"{prediction_text(mistake.probabilities, class_names)}"
    )
