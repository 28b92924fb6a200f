"""Pictures as RGBA arrays with a text alternative, tiled grids, and a PNG encoder.

The browser runtime has neither Pillow nor any other image library, so PNG
files are written here with :mod:`zlib` and :mod:`struct` (the format:
W3C, "Portable Network Graphics (PNG) Specification", 2nd ed., 2003).
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GAP_COLOUR",
    "Picture",
    "encode_png",
    "fit_scale",
    "grid_columns",
    "png_data_uri",
    "tile_grid",
]

#: the 1-px lines between tiles: mid grey, apart from both ends of both colour scales
GAP_COLOUR = (128, 128, 128, 255)

_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


@dataclass(frozen=True)
class Picture:
    """An image to show and the words that describe it.

    Attributes
    ----------
    rgba : ndarray, uint8, shape (H, W, 4)
    alt : str
        Text alternative (what it shows, its shape, its value range), for the
        ``alt`` attribute or a caption.
    limits : (float, float) or None
        The values at the two ends of its colour scale (for a legend:
        ``colour_bar(table, *limits)``); None for plain images.
    """

    rgba: np.ndarray
    alt: str
    limits: tuple[float, float] | None = None

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])

    def png(self) -> bytes:
        return encode_png(self.rgba)

    def data_uri(self) -> str:
        """``data:image/png;base64,…`` for an ``<img src>``."""
        return png_data_uri(self.rgba)


def encode_png(pixels: np.ndarray, level: int = 1) -> bytes:
    """A PNG file of ``pixels``: uint8 ``(H, W)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.

    ``level`` is zlib's: 1 compresses the insight pictures 3.5 times faster than 6
    for files a third larger, and the filter view redraws while training runs.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width, channels = pixels.shape
    if channels not in _COLOUR_TYPES or height == 0 or width == 0:
        raise ValueError(
            "encode_png needs a non-empty (H, W), (H, W, 3) or (H, W, 4) array. "
            f"Received: shape {pixels.shape}"
        )
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # filter byte 0 per row
    rows[:, 1:] = pixels.reshape(height, -1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            chunk(b"IEND", b""),
        )
    )


def png_data_uri(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(pixels)).decode("ascii")


def fit_scale(rows: int, columns: int, tile_h: int, tile_w: int, fit: int, gap: int = 1) -> int:
    """The largest whole zoom (1 to 16) keeping a grid within ``fit`` pixels on each side."""
    for scale in range(16, 1, -1):
        height = rows * (tile_h * scale + gap) + gap
        width = columns * (tile_w * scale + gap) + gap
        if max(height, width) <= fit:
            return scale
    return 1


def grid_columns(n: int) -> int:
    """Tiles per row for ``n`` tiles: a full grid at most twice as wide as tall, else about square.

    32 → 8 columns (4 rows), 64 → 8, 10 → 5, 7 → 3.
    """
    root = math.sqrt(n)
    for columns in range(math.ceil(root), min(n, math.floor(2 * root)) + 1):
        if n % columns == 0:
            return columns
    return max(1, math.ceil(root))


def tile_grid(
    tiles: np.ndarray,
    columns: int,
    scale: int = 1,
    gap: int = 1,
    gap_colour: tuple[int, int, int, int] = GAP_COLOUR,
) -> np.ndarray:
    """Lay out ``tiles`` row by row, ``columns`` per row, with ``gap`` pixels between them.

    ``tiles``: uint8 ``(n, h, w, 4)``. Each tile is enlarged ``scale`` times
    (pixels become ``scale × scale`` blocks, so small kernels stay sharp).
    Returns uint8 ``(rows*(h*scale + gap) + gap, columns*(w*scale + gap) + gap, 4)``
    with ``rows = ceil(n / columns)``; the grid's unused cells show the gap colour.
    """
    n, h, w, channels = tiles.shape
    columns = max(1, min(int(columns), n))
    rows = -(-n // columns)
    cell = np.empty((rows * columns, h * scale + gap, w * scale + gap, channels), dtype=np.uint8)
    cell[...] = np.asarray(gap_colour, dtype=np.uint8)
    big = tiles.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else tiles
    cell[:n, gap:, gap:] = big
    grid = cell.reshape(rows, columns, *cell.shape[1:]).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * cell.shape[1], columns * cell.shape[2], channels)
    out = np.empty((grid.shape[0] + gap, grid.shape[1] + gap, channels), dtype=np.uint8)
    out[...] = np.asarray(gap_colour, dtype=np.uint8)
    out[: grid.shape[0], : grid.shape[1]] = grid
    return out
