"""Picture-making for the insight views: colour scales, PNG files, grids, tables, highlighted code."""

from __future__ import annotations

import inspect
import itertools
import struct
import zlib

import numpy as np
import pytest

from playground.insight import colours
from playground.insight.filters import colour_bar
from playground.insight.highlight import CODE_CSS, TOKEN_COLOURS, highlight_html, tokens
from playground.insight.picture import Picture, encode_png, fit_scale, grid_columns, tile_grid
from playground.insight.results import (
    confusion_table,
    contrast_ratio,
    mistake_caption,
    percent,
    prediction_text,
    probability_bars,
)
from playground.insight.throttle import Throttle
from pycnn import ops
from pycnn.insight import EvaluationResults, Mistake

# Machado, Oliveira and Fernandes (2009), "A Physiologically-based Model for Simulation
# of Color Vision Deficiency", IEEE TVCG 15(6): their matrices for severity 1.0, applied
# to linear RGB.
CVD = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
    "typical": np.eye(3),
}


def seen_as(table: np.ndarray, vision: str) -> np.ndarray:
    """OKLab colours of a uint8 table as someone with ``vision`` sees it (simulated)."""
    linear = colours.srgb_to_linear(table / 255.0) @ np.asarray(CVD[vision]).T
    return colours.srgb_to_oklab(colours.linear_to_srgb(linear))


# --------------------------------------------------------------------------- colour scales


def test_oklab_round_trip_and_reference_points():
    rgb = np.random.default_rng(0).random((100, 3))
    np.testing.assert_allclose(colours.oklab_to_srgb(colours.srgb_to_oklab(rgb)), rgb, atol=1e-9)
    np.testing.assert_allclose(colours.srgb_to_oklab(np.ones(3)), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(colours.srgb_to_oklab(np.zeros(3)), [0, 0, 0], atol=1e-6)


@pytest.mark.parametrize("vision", list(CVD))
def test_sequential_scale_is_ordered_by_lightness_for_every_vision(vision):
    lab = seen_as(colours.SEQUENTIAL, vision)
    lightness = lab[:, 0]
    assert np.all(np.diff(lightness) >= -1e-3)  # never darker (uint8 rounding aside)
    assert np.all(np.diff(lightness[::8]) > 0.01)  # and visibly lighter every 8 entries
    assert lightness[-1] - lightness[0] > 0.6
    steps = np.linalg.norm(np.diff(lab[::16], axis=0), axis=1)
    assert steps.max() < 2.5 * steps.min()  # roughly even perceptual steps


@pytest.mark.parametrize("vision", list(CVD))
def test_diverging_scale_keeps_sign_and_size_apart_for_every_vision(vision):
    lab = seen_as(colours.DIVERGING, vision)
    centre, low, high = lab[128], lab[0], lab[255]
    assert np.linalg.norm(low - high) > 0.2  # negative and positive ends clearly differ
    # magnitude is lightness: darker the further from zero, on both sides
    assert np.all(np.diff(lab[128:, 0]) <= 1e-3) and np.all(np.diff(lab[:128, 0]) >= -1e-3)
    assert abs(low[0] - high[0]) < 0.1  # about equal weight for equal size
    assert centre[0] - max(low[0], high[0]) > 0.3
    # every quarter-step from zero is visibly different from zero, on both sides
    for i in (32, 96, 160, 224):
        assert np.linalg.norm(lab[i] - centre) > 0.05


def test_apply_maps_limits_to_ends_and_zero_to_middle():
    values = np.array([[-2.0, 0.0, 2.0, np.nan]])
    rgba = colours.apply(colours.DIVERGING, values, -2.0, 2.0)
    assert rgba.shape == (1, 4, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[0, :3, :3], colours.DIVERGING[[0, 128, 255]])
    assert np.all(rgba[..., 3] == 255)
    flat = colours.apply(colours.SEQUENTIAL, np.zeros((2, 2)), 0.0, 0.0)
    assert np.all(flat[..., :3] == colours.SEQUENTIAL[128])
    assert colours.hex_colour((255, 0, 16)) == "#ff0010"


def test_colour_bar_runs_low_to_high():
    bar = colour_bar(colours.DIVERGING, -0.5, 0.5, width=64, height=4)
    assert bar.rgba.shape == (4, 64, 4)
    np.testing.assert_array_equal(bar.rgba[0, 0, :3], colours.DIVERGING[0])
    np.testing.assert_array_equal(bar.rgba[3, -1, :3], colours.DIVERGING[255])
    assert "-0.5" in bar.alt and "0.5 (right)" in bar.alt


# --------------------------------------------------------------------------- PNG and grids


def decode_png(data: bytes) -> tuple[int, int, int, np.ndarray]:
    """A tiny reader for what encode_png writes (filter 0 only), checking every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks.append((tag, body))
        pos += 12 + length
    assert [t for t, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour_type, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), dtype=np.uint8)
    rows = raw.reshape(height, 1 + width * channels)
    assert depth == 8 and np.all(rows[:, 0] == 0)
    return width, height, channels, rows[:, 1:].reshape(height, width, channels)


@pytest.mark.parametrize("channels", [None, 3, 4])
def test_png_round_trips(channels):
    shape = (5, 7) if channels is None else (5, 7, channels)
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    width, height, got_channels, decoded = decode_png(encode_png(pixels))
    assert (width, height, got_channels) == (7, 5, channels or 1)
    np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)
    picture = Picture(np.zeros((2, 3, 4), np.uint8), "two by three")
    assert picture.data_uri().startswith("data:image/png;base64,") and picture.width == 3
    with pytest.raises(ValueError, match="Received: shape"):
        encode_png(np.zeros((4, 4, 2), np.uint8))


def test_tile_grid_places_tiles_with_gaps():
    tiles = np.zeros((5, 2, 3, 4), dtype=np.uint8)
    for i in range(5):
        tiles[i] = i + 1
    grid = tile_grid(tiles, columns=3, scale=2, gap=1, gap_colour=(0, 0, 0, 0))
    assert grid.shape == (2 * (4 + 1) + 1, 3 * (6 + 1) + 1, 4)
    assert np.all(grid[1:5, 1:7] == 1) and np.all(grid[1:5, 8:14] == 2)
    assert np.all(grid[6:10, 8:14] == 5) and np.all(grid[6:10, 15:21] == 0)  # empty cell
    assert np.all(grid[0] == 0) and np.all(grid[:, 7] == 0)
    assert [grid_columns(n) for n in (1, 7, 8, 10, 32, 64)] == [1, 3, 4, 5, 8, 8]
    assert fit_scale(4, 8, 3, 3, fit=40) == 1 and fit_scale(1, 1, 8, 8, fit=112, gap=0) == 14


# --------------------------------------------------------------------------- results


def _results():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predictions = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.eye(3, dtype=np.float32)[predictions] * 0.7 + 0.1
    confusion = np.bincount(labels * 3 + predictions, minlength=9).reshape(3, 3)
    return EvaluationResults(("cat", "dog", "emu"), labels, predictions, probabilities, confusion)


def test_confusion_table_text_is_readable_on_every_colour():
    results = _results()
    table = confusion_table(results, normalised=True)
    assert [[c.count for c in row] for row in table.cells] == results.confusion.tolist()
    assert table.cells[0][1].label == "33 %" and table.class_accuracy == ["67 %", "50 %", "100 %"]
    assert (
        "1 test image of cat predicted as dog (33 % of the cat images)"
        == table.cells[0][1].description
    )
    assert "correctly predicted" in table.cells[2][2].description
    assert "6 test images" in table.caption and "67 %" in table.caption
    assert confusion_table(results).cells[0][0].label == "2"
    for entry in colours.SEQUENTIAL:  # every colour a cell can get
        table_colour = colours.hex_colour(entry)
        text = (
            "#000000"
            if contrast_ratio(entry, (0, 0, 0)) >= contrast_ratio(entry, (255,) * 3)
            else "#ffffff"
        )
        rgb = (0, 0, 0) if text == "#000000" else (255, 255, 255)
        assert contrast_ratio(entry, rgb) >= 4.5, table_colour
    for row in table.cells:
        for cell in row:
            rgb = [int(cell.background[i : i + 2], 16) for i in (1, 3, 5)]
            text = [int(cell.text_colour[i : i + 2], 16) for i in (1, 3, 5)]
            assert contrast_ratio(rgb, text) >= 4.5


def test_absent_class_reads_as_a_dash():
    results = _results()
    empty_row = EvaluationResults(
        results.class_names,
        results.labels,
        results.predictions,
        results.probabilities,
        np.array([[2, 1, 0], [0, 0, 0], [0, 1, 2]]),
    )
    assert confusion_table(empty_row).class_accuracy[1] == "—"
    assert np.isnan(empty_row.per_class_accuracy[1]) and empty_row.row_normalised[1].sum() == 0


def test_probability_bars_and_prediction_text():
    p = np.array([0.05, 0.93, 0.02, 0.0])
    names = ["0", "1", "2", "3"]
    bars = probability_bars(p, names)
    assert [b.name for b in bars] == names and [b.top for b in bars] == [False, True, False, False]
    assert [b.name for b in probability_bars(p, names, sort=True)] == ["1", "0", "2", "3"]
    assert bars[1].text == "93 %" and percent(0.001) == "<1 %" and percent(0.0) == "0 %"
    assert prediction_text(p, ["zero", "seven", "x", "y"]) == "seven (93 %)"
    mistake = Mistake(4, 2, 1, p.astype(np.float32))
    assert mistake_caption(mistake, names) == "true 2, predicted 1 (93 %)"


# --------------------------------------------------------------------------- highlighting


def test_tokens_rebuild_the_source_exactly():
    for source in (
        inspect.getsource(ops),
        "x = f'{a!r:>{w}} {{b}}'  # c\n@deco.ration\ndef g(): return a @ b\n",
        "def broken(:\n    'unterminated",
        "",
    ):
        assert "".join(text for _, text in tokens(source)) == source


def test_tokens_are_classified():
    source = (
        '@staticmethod\ndef conv(x, k=3):  # note\n    """Doc."""\n    return len(x) * 2.5 @ k\n'
    )
    kinds = {(kind, text) for kind, text in tokens(source) if kind}
    assert {("deco", "@"), ("deco", "staticmethod"), ("kw", "def"), ("def", "conv")} <= kinds
    assert {("com", "# note"), ("str", '"""Doc."""'), ("kw", "return"), ("bi", "len")} <= kinds
    assert {("num", "2.5"), ("num", "3"), ("op", "@"), ("op", "*")} <= kinds
    html = highlight_html("if a < b: s = '<b>'\n")
    assert '<span class="tok-kw">if</span>' in html and "&lt;b&gt;" in html and "<b>" not in html


def test_code_colours_are_readable():
    for kind, colour in TOKEN_COLOURS.items():
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert contrast_ratio(rgb, (255, 255, 255)) >= 4.5, kind
        assert f".tok-{kind} {{ color: {colour}; }}" in CODE_CSS


# --------------------------------------------------------------------------- throttling


def test_throttle_keeps_the_task_under_its_share():
    now = [0.0]
    throttle = Throttle(0.10, clock=lambda: now[0])

    def task(seconds):
        def run():
            now[0] += seconds
            return seconds

        return run

    ran = 0
    for _ in range(10_000):  # a training loop: 10 ms steps, a 30 ms task when due
        if throttle.due():
            throttle.run(task(0.030))
            ran += 1
        now[0] += 0.010
    assert throttle.spent / now[0] == pytest.approx(0.10, abs=0.01)
    assert ran > 10
    throttle.reset()
    assert throttle.due()
    assert throttle.run(task(0.0)) == 0.0
    with pytest.raises(ValueError, match="share"):
        Throttle(0)
    with pytest.raises(ValueError, match="interval"):
        Throttle(0.1, interval=-1)


def test_throttle_runs_a_quick_task_no_more_often_than_its_interval():
    now = [0.0]
    throttle = Throttle(0.10, interval=0.25, clock=lambda: now[0])
    starts = []
    for _ in range(1_000):  # 10 s of 10 ms steps, a 2 ms task when due
        if throttle.due():
            starts.append(now[0])
            throttle.run(lambda: now.__setitem__(0, now[0] + 0.002))
        now[0] += 0.010
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.25 - 1e-9 and len(starts) >= 35  # about 4 a second
    assert throttle.spent / now[0] < 0.01  # far under its share
