"""Pictures of a Conv2D layer's filters (from :func:`pycnn.insight.filter_bank`).

Weights are drawn with the diverging scale (blue below zero, light grey at
zero, orange above) between symmetric limits ``±max|w|``, so zero always looks
the same and the tiles of one picture compare directly.
"""

from __future__ import annotations

import numpy as np

from pycnn.insight import FilterBank, NothingToShow

from . import colours
from .picture import Picture, fit_scale, grid_columns, tile_grid

__all__ = ["FILTER_VIEWS", "colour_bar", "filter_picture", "scale_words"]

#: ``auto`` picks ``rgb`` for 3-channel input, ``channels`` for 1, ``mean`` otherwise
FILTER_VIEWS = ("auto", "channels", "mean", "rgb")


def scale_words(limit: float) -> str:
    return f"colours from blue (−{limit:.3g}) through light grey (0) to orange (+{limit:.3g})"


def filter_picture(
    bank: FilterBank, view: str = "auto", fit: int = 320, columns: int | None = None
) -> Picture | NothingToShow:
    """The filters of ``bank`` as one picture.

    Parameters
    ----------
    bank : FilterBank
        kernel ``(kh, kw, C_in, C_out)``.
    view : {"auto", "channels", "mean", "rgb"}
        ``channels``: one tile per filter and input channel, a row per filter
        (a square-ish grid when ``C_in == 1``); ``mean``: one tile per filter,
        the mean over its input channels; ``rgb``: one colour tile per filter
        for 3-channel input (red, green, blue weights; mid grey is 0).
    fit : int
        Largest side in pixels: tiles are enlarged by the largest whole factor
        (up to 16) that fits (never below 1×, so a very large grid may exceed it).
    columns : int, optional
        Tiles per row (default: about square; ``C_in`` in the channels view).

    Returns a :class:`~playground.insight.picture.Picture` (RGBA, 1-px grey gaps)
    or :class:`NothingToShow` for ``rgb`` on a layer whose input is not 3 channels.
    """
    if view not in FILTER_VIEWS:
        raise ValueError(f"view must be one of {FILTER_VIEWS}. Received: view={view!r}")
    kernel = bank.kernel  # (kh, kw, C_in, C_out)
    kh, kw, c_in, c_out = kernel.shape
    if view == "auto":
        view = "channels" if c_in == 1 else "rgb" if c_in == 3 else "mean"
    if view == "rgb" and c_in != 3:
        return NothingToShow(
            "no-filters",
            f"The colour view needs filters over 3 input channels (red, green, blue); "
            f"{bank.layer_name} sees {c_in}.",
        )
    if view == "channels" and c_in > 1:
        values = kernel.transpose(3, 2, 0, 1).reshape(c_out * c_in, kh, kw)
        columns = columns or c_in
        layout = f"one tile per filter and input channel: {c_out} rows of {c_in}"
    elif view == "mean" and c_in > 1:
        values = kernel.mean(axis=2).transpose(2, 0, 1)  # (C_out, kh, kw)
        layout = f"one tile per filter, the mean of its {c_in} input channels"
    else:
        values = kernel.transpose(3, 0, 1, 2)  # (C_out, kh, kw, C_in)
        layout = "one tile per filter"
    limit = float(np.abs(values).max()) if values.size else 0.0
    if view == "rgb":
        grey = 0.5 + values / (2 * limit) if limit > 0 else np.full(values.shape, 0.5)
        tiles = np.empty((c_out, kh, kw, 4), dtype=np.uint8)
        tiles[..., :3] = np.rint(np.clip(grey, 0, 1) * 255)
        tiles[..., 3] = 255
        words = f"red, green and blue weights, mid grey is 0, full colour ±{limit:.3g}"
    else:
        tiles = colours.apply(colours.DIVERGING, values.reshape(-1, kh, kw), -limit, limit)
        words = scale_words(limit)
    columns = columns or grid_columns(tiles.shape[0])
    rows = -(-tiles.shape[0] // columns)
    scale = fit_scale(rows, columns, kh, kw, fit)
    alt = f"Filters of {bank.describe()} Shown as {layout}, {words}."
    return Picture(tile_grid(tiles, columns, scale), alt, (-limit, limit))


def colour_bar(
    table: np.ndarray, low: float, high: float, width: int = 256, height: int = 12
) -> Picture:
    """A horizontal legend of ``table`` from ``low`` (left) to ``high`` (right)."""
    ramp = np.linspace(low, high, width, dtype=np.float32)
    rgba = colours.apply(table, np.broadcast_to(ramp, (height, width)), low, high)
    return Picture(rgba, f"Colour scale from {low:.3g} (left) to {high:.3g} (right).")
