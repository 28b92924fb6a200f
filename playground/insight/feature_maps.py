"""Pictures of feature maps (from :func:`pycnn.insight.feature_maps`) and of input images.

Activations use the sequential scale (dark violet → yellow). A layer's
"before" and "after" pictures share one pair of limits, so what the
activation changes is visible: after a ReLU every negative value takes the
colour of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycnn.insight import FeatureMap

from . import colours
from .picture import Picture, fit_scale, grid_columns, tile_grid

__all__ = ["FeatureMapPictures", "feature_map_pictures", "image_picture"]


@dataclass(frozen=True)
class FeatureMapPictures:
    """The pictures of one layer's feature maps.

    ``caption`` names the layer and its output shape as the summary table
    writes it; ``before`` is None when the layer has no activation to show.
    Both pictures share one colour scale: ``after.limits``.
    """

    layer_name: str
    kind: str
    caption: str
    after: Picture
    before: Picture | None


def _maps_picture(values: np.ndarray, low: float, high: float, fit: int, what: str) -> Picture:
    """``values``: ``(H, W, C)`` → one tile per channel."""
    h, w, c = values.shape
    tiles = colours.apply(colours.SEQUENTIAL, values.transpose(2, 0, 1), low, high)
    columns = grid_columns(c)
    scale = fit_scale(-(-c // columns), columns, h, w, fit)
    alt = (
        f"{what}: {c} feature map{'s' * (c != 1)} of {h}×{w}, values from "
        f"{float(values.min()):.3g} to {float(values.max()):.3g}; colours from dark violet "
        f"({low:.3g}) to yellow ({high:.3g})."
    )
    return Picture(tile_grid(tiles, columns, scale), alt, (low, high))


def feature_map_pictures(maps: list[FeatureMap], fit: int = 320) -> list[FeatureMapPictures]:
    """One :class:`FeatureMapPictures` per layer, in layer order.

    ``fit``: the largest side of each picture in pixels (maps are enlarged by
    whole factors, up to 16, to fill it).
    """
    out = []
    for fm in maps:
        arrays = [fm.after] if fm.before is None else [fm.before, fm.after]
        low = float(min(a.min() for a in arrays))
        high = float(max(a.max() for a in arrays))
        caption = f"{fm.layer_name} ({fm.kind}), output {fm.shape_text}"
        after_words = f"{caption}, after {fm.activation}" if fm.before is not None else caption
        before = None
        if fm.before is not None:
            before = _maps_picture(fm.before, low, high, fit, f"{caption}, before {fm.activation}")
        after = _maps_picture(fm.after, low, high, fit, after_words)
        out.append(FeatureMapPictures(fm.layer_name, fm.kind, caption, after, before))
    return out


def image_picture(image: np.ndarray, fit: int = 112, what: str = "Input image") -> Picture:
    """An input image ``(H, W)`` or ``(H, W, C)`` with values in [0, 1], enlarged to ``fit``.

    One channel is grey (0 black, 1 white), three are RGB; other channel
    counts show their mean in grey.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    h, w, c = image.shape
    rgb = image if c == 3 else np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    rgba = np.empty((1, h, w, 4), dtype=np.uint8)
    rgba[0, ..., :3] = np.rint(np.clip(rgb, 0, 1) * 255)
    rgba[0, ..., 3] = 255
    scale = fit_scale(1, 1, h, w, fit, gap=0)
    alt = (
        f"{what}, {h}×{w} with {c} channel{'s' * (c != 1)}, values from "
        f"{float(image.min()):.3g} to {float(image.max()):.3g}."
    )
    return Picture(tile_grid(rgba, 1, scale, gap=0), alt)
