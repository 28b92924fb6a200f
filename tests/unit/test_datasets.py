"""pycnn.datasets: shipped subsets, the shapes generators, and scripts/prepare_data.py helpers."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import shutil
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from pycnn import datasets

REPO = Path(__file__).resolve().parents[2]
REAL = ["digits", "mnist", "fashion"]
PROVENANCE = json.loads((datasets.DATA_DIR / "PROVENANCE.json").read_text())


@cache
def _load_prepare_script():
    spec = importlib.util.spec_from_file_location(
        "prepare_data", REPO / "scripts" / "prepare_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("prepare_data", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = datasets.load(name)
        return cache[name]

    return get


# --------------------------------------------------------------------------- registry


def test_available_lists_the_five_datasets_in_display_order():
    assert datasets.available() == ["digits", "mnist", "fashion", "shapes", "colour-shapes"]
    assert list(datasets.DATASETS) == datasets.available()


def test_info_is_readable_without_loading_and_json_ready():
    mnist = datasets.info("mnist")
    assert mnist.input_shape == (28, 28, 1)
    assert mnist.num_classes == 10
    assert datasets.info("digits").input_shape == (8, 8, 1)
    assert datasets.info("shapes").synthetic and not mnist.synthetic
    colour = datasets.info("colour-shapes")
    assert colour.synthetic and colour.input_shape == (32, 32, 3)
    assert colour.class_names == datasets.COLOUR_SHAPE_CLASSES and colour.num_classes == 9
    assert (colour.n_train, colour.n_test) == (1800, 450)
    assert colour.licence.startswith("MIT") and "pycnn.datasets.shapes" in colour.attribution
    for name in datasets.available():
        d = datasets.info(name).to_dict()
        json.dumps(d)
        assert d["num_classes"] == len(d["class_names"])
        assert d["licence"] and d["attribution"]


@pytest.mark.parametrize("bad", ["cifar10", "MNIST", "", None])
def test_unknown_name_raises_value_error_listing_valid_names(bad):
    with pytest.raises(ValueError) as err:
        datasets.load(bad)
    message = str(err.value)
    for name in datasets.available():
        assert name in message
    assert "Received" in message


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("name", datasets.available())
def test_load_shapes_dtypes_ranges_and_labels(name, loaded):
    (x_train, y_train), (x_test, y_test), class_names = loaded(name)
    meta = datasets.info(name)
    assert class_names == list(meta.class_names)
    for x, y, n in ((x_train, y_train, meta.n_train), (x_test, y_test, meta.n_test)):
        assert x.shape == (n, *meta.input_shape)
        assert y.shape == (n,)
        assert x.dtype == np.float32
        assert y.dtype == np.int64
        assert x.flags.c_contiguous
        assert 0.0 <= x.min() and x.max() == 1.0
        assert 0.0 < x.mean() < 0.5  # dark background, bright strokes
        counts = np.bincount(y, minlength=meta.num_classes)
        assert len(counts) == meta.num_classes  # no label out of range
        assert counts.min() >= 0.5 * n / meta.num_classes  # every class well represented


def test_digits_keep_their_17_grey_levels(loaded):
    (x_train, _), _, _ = loaded("digits")
    levels = np.unique(x_train * 16)
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-5)
    assert len(levels) == 17


def test_load_returns_fresh_arrays_each_call():
    (x1, y1), _, names = datasets.load("digits")
    x1[:] = 0.0
    y1[:] = 0
    names.append("oops")
    (x2, y2), _, names2 = datasets.load("digits")
    assert x2.max() == 1.0 and y2.max() == 9 and len(names2) == 10


def test_data_dir_is_honoured(tmp_path):
    with pytest.raises(FileNotFoundError, match="digits.npz"):
        datasets.load("digits", data_dir=tmp_path)
    shutil.copy(datasets.DATA_DIR / "digits.npz", tmp_path / "digits.npz")
    (x, _), _, _ = datasets.load("digits", data_dir=str(tmp_path))
    assert x.shape == (1497, 8, 8, 1)


def test_malformed_data_file_is_a_clear_value_error(tmp_path):
    np.savez(tmp_path / "digits.npz", x_train=np.zeros((2, 8, 8), np.float64))
    with pytest.raises(ValueError, match="not a valid dataset file"):
        datasets.load("digits", data_dir=tmp_path)


@pytest.mark.parametrize("name", datasets.available())
def test_preview_is_balanced_and_grouped_by_class(name):
    x, y, class_names = datasets.preview(name, per_class=3)
    k = len(class_names)
    assert x.shape == (3 * k, *datasets.info(name).input_shape)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(y, np.repeat(np.arange(k), 3))


def test_preview_rejects_bad_arguments():
    with pytest.raises(ValueError, match="per_class"):
        datasets.preview("digits", per_class=0)
    with pytest.raises(ValueError, match="split"):
        datasets.preview("digits", split="validation")


# --------------------------------------------------------------------------- shapes generator


@pytest.mark.parametrize(
    ("name", "make"),
    [("shapes", datasets.make_shapes), ("colour-shapes", datasets.make_colour_shapes)],
)
def test_generated_datasets_are_deterministic_per_seed_and_differ_across_seeds(name, make):
    x1, y1 = make(120, seed=7)
    x2, y2 = make(120, seed=7)
    x3, y3 = make(120, seed=8)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert not np.array_equal(y1, y3)
    (a, _), (b, _), _ = datasets.load(name, seed=1)
    (c, _), (d, _), _ = datasets.load(name, seed=1)
    (e, _), _, _ = datasets.load(name, seed=2)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
    assert not np.array_equal(a, e)
    assert not np.array_equal(a[: len(b)], b)  # test split is not a copy of train


def test_shapes_classes_are_balanced_and_other_sizes_work():
    x, y = datasets.make_shapes(61, size=16, seed=0)
    assert x.shape == (61, 16, 16, 1) and x.dtype == np.float32
    counts = np.bincount(y, minlength=6)
    assert counts.max() - counts.min() <= 1
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert datasets.make_shapes(0)[0].shape == (0, 28, 28, 1)


def test_shape_classes_differ_where_they_should():
    """Mean images: a horizontal line is wide and flat, a vertical one tall and thin."""
    x, y = datasets.make_shapes(600, seed=0, noise=0.0)
    ink = x[..., 0] > 0.5
    rows = {k: ink[y == k].any(axis=2).sum(axis=1).mean() for k in range(6)}  # ink height
    cols = {k: ink[y == k].any(axis=1).sum(axis=1).mean() for k in range(6)}  # ink width
    h_line = datasets.SHAPE_CLASSES.index("horizontal line")
    v_line = datasets.SHAPE_CLASSES.index("vertical line")
    assert cols[h_line] > 3 * rows[h_line]
    assert rows[v_line] > 3 * cols[v_line]
    circle = datasets.SHAPE_CLASSES.index("circle")
    centre_ink = ink[y == circle][:, 12:16, 12:16].mean()
    assert centre_ink < 0.2  # outlines, not filled discs


@pytest.mark.parametrize("kwargs", [{"n": -1}, {"n": 2.5}, {"n": 4, "size": 4}])
def test_shapes_reject_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="Received"):
        datasets.make_shapes(**kwargs)


# --------------------------------------------------------------------------- colour shapes


def test_colour_shapes_are_balanced_rgb_in_range_at_any_size():
    x, y = datasets.make_colour_shapes(58, size=20, seed=0)
    assert x.shape == (58, 20, 20, 3) and x.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y, minlength=9)
    assert len(counts) == 9 and counts.max() - counts.min() <= 1
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert datasets.make_colour_shapes(0)[0].shape == (0, 32, 32, 3)
    with pytest.raises(ValueError, match="size must be"):
        datasets.make_colour_shapes(4, size=4)


def _stroke_colour_and_ink(x):
    """Per image: the mean RGB of its strokes, and its stroke pixels (brightest channel)."""
    bright = x.max(axis=3)
    ink = bright > 0.5 * bright.max(axis=(1, 2), keepdims=True)
    colour = (x * ink[..., None]).sum(axis=(1, 2)) / ink.sum(axis=(1, 2))[:, None]
    return colour, ink


def test_colour_and_shape_together_give_the_class():
    """Label k is the shape SHAPE_CLASSES[k // 3] in COLOURS[k % 3]: the strokes of the
    classes that share a colour have that colour, and the classes that share a shape have
    the shape of the grey dataset's class of the same name (measured, not assumed)."""
    x, y = datasets.make_colour_shapes(900, seed=0, noise=0.0)
    colour, ink = _stroke_colour_and_ink(x)
    names = datasets.COLOUR_SHAPE_CLASSES
    hues = {}
    for k, name in enumerate(names):
        hue, shape = name.split(" ", 1)
        assert shape == datasets.SHAPE_CLASSES[k // 3] and hue == datasets.COLOURS[k % 3]
        hues.setdefault(hue, []).append(colour[y == k].mean(axis=0))
    orange, yellow, blue = (np.mean(hues[h], axis=0) for h in ("orange", "yellow", "blue"))
    assert orange[0] > orange[1] + 0.2 > orange[2] + 0.2  # red > green > blue
    assert yellow[0] > 0.6 and yellow[1] > 0.6 and yellow[2] < 0.4
    assert blue[2] > blue[1] + 0.1 and blue[2] > blue[0] + 0.4
    # Within a shape, the colour separates the classes: nearest mean colour is right.
    means = np.stack([colour[y == k].mean(axis=0) for k in range(9)])
    for s in range(3):
        of_shape = y // 3 == s
        same_shape = means[3 * s : 3 * s + 3]
        nearest = ((colour[of_shape, None] - same_shape) ** 2).sum(axis=2).argmin(axis=1)
        assert (3 * s + nearest == y[of_shape]).mean() > 0.95
    # Within a colour, the shape separates them: outlines like the grey dataset's shapes.
    grey, grey_y = datasets.make_shapes(900, size=32, seed=0, noise=0.0)
    grey_ink = grey[..., 0] > 0.5
    filled = {}  # share of the ink's bounding box the outline covers: circle < square
    for k in range(9):
        for kind, images in (("colour", ink[y == k]), ("grey", grey_ink[grey_y == k // 3])):
            rows, cols = images.any(axis=2).sum(axis=1), images.any(axis=1).sum(axis=1)
            filled[kind, k] = (images.sum(axis=(1, 2)) / (rows * cols)).mean()
    for k in range(9):
        assert abs(filled["colour", k] - filled["grey", k]) < 0.05, (names[k], filled)
    square, triangle = datasets.SHAPE_CLASSES.index("square"), 2
    for c in range(3):
        assert filled["colour", 3 * triangle + c] < filled["colour", 3 * square + c]
    centre = [ink[y == k][:, 14:18, 14:18].mean() for k in range(3)]  # circles: outlines
    assert max(centre) < 0.2


def test_no_single_channel_or_brightness_gives_the_colour_class():
    """The background's channels vary on their own, so an image's mean colour overlaps
    between classes: a model must find the strokes to tell the colour."""
    x, y = datasets.make_colour_shapes(900, seed=0)
    mean = x.mean(axis=(1, 2))
    orange, blue = mean[y % 3 == 0], mean[y % 3 == 2]
    # some blue images have more red on average than some orange ones
    assert blue[:, 0].max() > orange[:, 0].min()


# --------------------------------------------------------------------------- provenance


@pytest.mark.parametrize("name", REAL)
def test_shipped_npz_matches_provenance(name):
    path = datasets.DATA_DIR / f"{name}.npz"
    entry = PROVENANCE[name]
    blob = path.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == entry["npz_sha256"]
    assert len(blob) == entry["npz_bytes"] < 6_000_000
    meta = datasets.info(name)
    assert entry["licence"] == meta.licence
    assert entry["class_names"] == list(meta.class_names)
    assert entry["shapes"]["x_train"] == [meta.n_train, *meta.input_shape[:2]]
    assert entry["shapes"]["x_test"] == [meta.n_test, *meta.input_shape[:2]]
    assert len(entry["source"]["sha256"]) == 64
    with np.load(path, allow_pickle=False) as npz:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            assert npz[key].dtype == np.uint8


def test_provenance_pins_match_the_prepare_script():
    script = _load_prepare_script()
    for name, (source, _) in script.DATASETS.items():
        entry = PROVENANCE[name]["source"]
        assert (entry["package"], entry["version"], entry["sha256"]) == (
            source.package,
            source.version,
            source.sha256,
        )
        assert entry["files_used"] == source.members


# --------------------------------------------------------------------------- prepare_data helpers


def test_parse_idx_reads_plain_and_gzipped_files():
    import gzip

    script = _load_prepare_script()
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in images.shape)
    raw += images.tobytes()
    np.testing.assert_array_equal(script.parse_idx(raw), images)
    np.testing.assert_array_equal(script.parse_idx(gzip.compress(raw)), images)
    with pytest.raises(ValueError):
        script.parse_idx(raw[:-1])


def test_npz_writer_is_byte_reproducible_and_loadable():
    script = _load_prepare_script()
    arrays = {
        "x_train": np.arange(64, dtype=np.uint8).reshape(1, 8, 8),
        "class_names": np.array(["a", "b"]),
        "pixel_max": np.uint8(16),
    }
    first, second = script.npz_bytes(arrays), script.npz_bytes(dict(reversed(arrays.items())))
    assert first == second
    with np.load(io.BytesIO(first), allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["x_train"], arrays["x_train"])
        assert list(npz["class_names"]) == ["a", "b"]


def test_hash_mismatch_names_the_file_and_both_hashes():
    script = _load_prepare_script()
    with pytest.raises(script.VerificationError) as err:
        script.verify("pkg.tgz", "a" * 64, "b" * 64)
    assert "pkg.tgz" in str(err.value)
    assert "a" * 64 in str(err.value) and "b" * 64 in str(err.value)


def test_stratified_split_keeps_class_proportions():
    script = _load_prepare_script()
    labels = np.repeat(np.arange(3), [50, 30, 20])
    picks = script.stratified_test_indices(labels, 10, seed=0)
    assert len(picks) == len(set(picks)) == 10
    np.testing.assert_array_equal(np.bincount(labels[picks]), [5, 3, 2])
    np.testing.assert_array_equal(picks, script.stratified_test_indices(labels, 10, seed=0))
