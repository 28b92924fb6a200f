"""Tiny PNG encoder (zlib + struct only) for image grids shown as <img src="data:…">.

The site ships no image library (Pillow is not among its packages, and would cost
download and start-up time); a greyscale PNG is twenty lines.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

__all__ = ["grid", "png_data_uri"]


def png_data_uri(gray: np.ndarray) -> str:
    """``gray``: 2-D array with values in [0, 1] → ``data:image/png;base64,…``."""
    pixels = np.clip(np.asarray(gray, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))  # filter 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def grid(images: np.ndarray, columns: int, pad: int = 1, invert: bool = False) -> np.ndarray:
    """Tile ``(n, H, W[, 1])`` images into one 2-D array, ``columns`` per row."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    rows = -(-n // columns)
    out = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        tile = 1.0 - images[i] if invert else images[i]
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = tile
    return out
