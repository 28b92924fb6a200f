"""Colour scales readable with every common colour-vision deficiency, built here in OKLab.

Two scales, each a 256-entry sRGB table computed at import (a few
milliseconds) from a short description in OKLab, the perceptual colour space
of B. Ottosson, "A perceptual color space for image processing" (2020,
https://bottosson.github.io/posts/oklab/), whose published matrices are the
only numbers carried over:

* :data:`SEQUENTIAL` for activations (dark → light): lightness rises evenly
  from 0.27 to 0.94 while the hue turns from violet through blue and teal to
  yellow, the recipe of matplotlib's viridis (S. van der Walt and N. Smith,
  "A Better Default Colormap for Matplotlib", SciPy 2015). Because lightness
  alone orders the values, the scale reads the same with any colour-vision
  deficiency and in greyscale.
* :data:`DIVERGING` for weights (negative → 0 → positive): blue and orange
  ends of equal lightness meeting at a light neutral grey, the layout
  K. Moreland recommends ("Diverging Color Maps for Scientific
  Visualization", 2009). Blue against orange differs along the blue–yellow
  opponent axis, which protanopes and deuteranopes (nearly all colour-blind
  people) keep; ColorBrewer's colour-blind-safe diverging schemes pair the
  same hues. Tritanopes (about 1 in 10,000) still see the two ends apart
  through the red–green axis, and the magnitude is in the lightness for
  everyone. ``tests/unit/test_insight_pictures.py`` checks both scales under
  the colour-vision-deficiency simulation of Machado, Oliveira and Fernandes
  (2009).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DIVERGING",
    "SEQUENTIAL",
    "apply",
    "hex_colour",
    "linear_to_srgb",
    "oklab_to_srgb",
    "relative_luminance",
    "srgb_to_linear",
    "srgb_to_oklab",
]

# Ottosson (2020): linear sRGB -> LMS cone response, and cube-rooted LMS -> OKLab.
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB components in [0, 1] → linear light (IEC 61966-2-1 transfer curve)."""
    c = np.asarray(srgb, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] → sRGB components in [0, 1]."""
    c = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def srgb_to_oklab(srgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` sRGB in [0, 1] → ``(..., 3)`` OKLab ``(L, a, b)``."""
    lms = srgb_to_linear(srgb) @ _RGB_TO_LMS.T
    return np.cbrt(lms) @ _LMS_TO_LAB.T


def _oklab_to_linear(lab: np.ndarray) -> np.ndarray:
    return (np.asarray(lab) @ _LAB_TO_LMS.T) ** 3 @ _LMS_TO_RGB.T


def oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """``(..., 3)`` OKLab → sRGB in [0, 1] (out-of-gamut colours clipped)."""
    return linear_to_srgb(_oklab_to_linear(lab))


def relative_luminance(srgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of ``(..., 3)`` sRGB in [0, 1]."""
    return srgb_to_linear(srgb) @ np.array([0.2126, 0.7152, 0.0722])


def _lch_to_lab(lightness, chroma, hue_degrees) -> np.ndarray:
    hue = np.deg2rad(hue_degrees)
    return np.stack([lightness, chroma * np.cos(hue), chroma * np.sin(hue)], axis=-1)


def _in_gamut_lch(lightness, chroma, hue_degrees) -> np.ndarray:
    """OKLab colours from (L, C, h), each chroma lowered as little as needed to fit in sRGB.

    Lowering chroma at fixed lightness and hue moves the colour straight towards
    grey, so the scale keeps its lightness ramp; the limit is found by bisection.
    """

    def fits(c):
        rgb = _oklab_to_linear(_lch_to_lab(lightness, c, hue_degrees))
        return np.all((rgb >= -1e-9) & (rgb <= 1 + 1e-9), axis=-1)

    chroma = np.asarray(chroma, dtype=np.float64)
    low, high = np.zeros_like(chroma), chroma.copy()
    for _ in range(24):
        middle = (low + high) / 2
        ok = fits(middle)
        low, high = np.where(ok, middle, low), np.where(ok, high, middle)
    return _lch_to_lab(lightness, np.where(fits(chroma), chroma, low), hue_degrees)


def _table(lab: np.ndarray) -> np.ndarray:
    return np.round(oklab_to_srgb(lab) * 255).astype(np.uint8)


def _sequential() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 256)
    lightness = 0.27 + 0.67 * t
    hue = 305.0 - 200.0 * t  # violet -> blue -> teal -> green -> yellow
    chroma = np.interp(t, [0.0, 0.5, 1.0], [0.13, 0.10, 0.17])
    return _table(_in_gamut_lch(lightness, chroma, hue))


def _diverging() -> np.ndarray:
    t = np.linspace(-1.0, 1.0, 256)
    s = np.abs(t)
    lightness = 0.96 - 0.40 * s  # both ends at L = 0.56
    chroma = 0.15 * s
    hue = np.where(t < 0, 255.0, 55.0)  # blue below zero, orange above
    return _table(_in_gamut_lch(lightness, chroma, hue))


#: uint8 ``(256, 3)`` sRGB: index 0 is the lowest value, 255 the highest
SEQUENTIAL = _sequential()
#: uint8 ``(256, 3)`` sRGB: index 0 is ``-limit`` (blue), 255 is ``+limit`` (orange)
DIVERGING = _diverging()


def apply(table: np.ndarray, values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Colour ``values`` with ``table``: ``low`` → first entry, ``high`` → last.

    Returns uint8 ``(*values.shape, 4)`` RGBA, opaque. NaNs get the first entry;
    ``low == high`` gives the middle entry everywhere.
    """
    v = np.asarray(values, dtype=np.float32)
    n = table.shape[0]
    if high > low:
        idx = np.nan_to_num((v - low) * ((n - 1) / (high - low)), nan=0.0)
        idx = np.clip(np.rint(idx), 0, n - 1).astype(np.intp)
    else:
        idx = np.full(v.shape, n // 2, dtype=np.intp)
    out = np.empty((*v.shape, 4), dtype=np.uint8)
    out[..., :3] = table[idx]
    out[..., 3] = 255
    return out


def hex_colour(rgb) -> str:
    """``(r, g, b)`` uint8 → ``"#rrggbb"``."""
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
