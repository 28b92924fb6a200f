"""Draw to predict: drawings prepared the way each dataset's images were made, then predicted."""

from __future__ import annotations

import numpy as np
import pytest

from playground.insight import draw
from playground.insight.draw import (
    DIGITS_INK,
    Drawing,
    canvas_colours,
    predict_drawing,
    prepare_drawing,
    recipe_for,
)
from playground.insight.glyphs import DIGIT_STROKES, digit_drawing
from pycnn import Adam, Conv2D, Dense, Flatten, MaxPooling2D, Sequential, datasets
from pycnn.insight import NothingToShow


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Of a 2-D image, in pixel units with pixel ``i`` centred on ``i + 0.5``."""
    mass = image.sum()
    rows = (image.sum(axis=1) @ (np.arange(image.shape[0]) + 0.5)) / mass
    cols = (image.sum(axis=0) @ (np.arange(image.shape[1]) + 0.5)) / mass
    return float(rows), float(cols)


def extent(image: np.ndarray) -> tuple[int, int]:
    """Rows and columns holding any ink."""
    return int(np.any(image > 0, axis=1).sum()), int(np.any(image > 0, axis=0).sum())


# an "L" drawn low and to the right on a wide canvas: 150 px tall, 60 px wide
L_STROKE = Drawing(400, 300, (np.array([[300.0, 100.0], [300.0, 250.0], [360.0, 250.0]]),))


# --------------------------------------------------------------------------- MNIST


def test_mnist_stroke_fits_20x20_and_is_centred_by_mass():
    prepared = prepare_drawing(L_STROKE, "mnist", (28, 28, 1))
    image = prepared.image[..., 0]
    assert prepared.image.shape == (28, 28, 1) and prepared.image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.95
    rows, cols = centre_of_mass(image)
    assert rows == pytest.approx(14.0, abs=0.01) and cols == pytest.approx(14.0, abs=0.01)
    height, width = extent(image)
    assert 20 <= height <= 21  # 20 px tall, touching 21 rows when not on pixel edges
    assert width <= 11  # aspect ratio kept: 60 + pen of 150 + pen
    assert prepared.recipe == "mnist" and "centre of mass" in prepared.description


def test_mnist_ignores_where_and_how_big_the_learner_drew():
    small = prepare_drawing(L_STROKE, "mnist", (28, 28, 1)).image
    moved = Drawing(
        1000, 1000, (L_STROKE.strokes[0] * 3 + np.array([-700.0, -250.0]),)
    )  # 3x bigger, elsewhere
    np.testing.assert_allclose(prepare_drawing(moved, "mnist", (28, 28, 1)).image, small, atol=0.02)


def test_drawn_digits_hold_as_much_ink_as_mnist_digits():
    """The pen width: ten drawn digits hold the MNIST digits' ink (mean over classes)."""
    (x, y), _, _ = datasets.load("mnist")
    real = np.array([x[y == d].sum(axis=(1, 2, 3)).mean() for d in range(10)])
    drawn = np.array(
        [prepare_drawing(digit_drawing(d), "mnist", (28, 28, 1)).image.sum() for d in range(10)]
    )
    assert drawn.sum() / real.sum() == pytest.approx(1.0, abs=0.05)
    assert np.all((drawn / real > 0.7) & (drawn / real < 1.3))


def test_fashion_fills_the_frame_centred_by_its_box():
    image = prepare_drawing(L_STROKE, "fashion", (28, 28, 1)).image[..., 0]
    assert extent(image)[0] == 28  # the longest side resized to 28
    columns = np.flatnonzero(image.max(axis=0) > 0)
    assert abs((columns[0] + columns[-1] + 1) / 2 - 14) <= 0.5  # box centred across


def test_shapes_draws_on_the_datasets_background():
    image = prepare_drawing(digit_drawing(0), "shapes", (28, 28, 1)).image[..., 0]
    (x, _), _, _ = datasets.load("shapes")
    assert image.min() == pytest.approx(0.05) and image.max() == pytest.approx(0.85, abs=0.01)
    assert 0.0 <= x.min() and image.max() <= x.max()  # within the data's range
    ink = np.argwhere(image > 0.3)
    assert 14 <= ink[:, 0].max() - ink[:, 0].min() + 1 <= 19  # 60 % of the side, plus pen


@pytest.mark.parametrize("pen", datasets.COLOURS)
def test_colour_shapes_draw_in_the_pens_colour_like_the_datasets_strokes(pen):
    image = prepare_drawing(digit_drawing(0), "colour-shapes", (32, 32, 3), pen).image
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    (x, y), _, _ = datasets.load("colour-shapes")
    k = datasets.COLOURS.index(pen)
    # the brightest strokes of the data's images in this colour, and the drawing's
    data_ink = x[y % 3 == k][x[y % 3 == k].max(axis=3) > 0.5]
    drawn_ink = image[image.max(axis=2) > 0.5]
    fullest = image.reshape(-1, 3)[image.sum(axis=2).argmax()]  # a pixel all inside the pen
    np.testing.assert_allclose(fullest, 0.875 * datasets.shapes.PALETTE[k], atol=0.005)
    assert np.abs(np.median(data_ink, axis=0) - np.median(drawn_ink, axis=0)).max() < 0.12
    np.testing.assert_allclose(image[0, 0], 0.075)  # paper: the mean of the data's background
    ink = np.argwhere(image.max(axis=2) > 0.3)
    assert 16 <= ink[:, 0].max() - ink[:, 0].min() + 1 <= 23  # 60 % of the side, plus pen


def test_colour_shapes_pen_defaults_to_the_first_colour_and_grey_input_ignores_it():
    first = prepare_drawing(digit_drawing(1), "colour-shapes", (32, 32, 3)).image
    orange = prepare_drawing(digit_drawing(1), "colour-shapes", (32, 32, 3), "orange").image
    np.testing.assert_array_equal(first, orange)
    assert [name for name, _ in recipe_for("colour-shapes").pens] == list(datasets.COLOURS)
    assert recipe_for("mnist").pens == ()
    grey = prepare_drawing(digit_drawing(1), "colour-shapes", (32, 32, 1), "blue").image
    assert grey.max() == pytest.approx(0.875)  # one channel: the pen's brightness only


@pytest.mark.parametrize("pen", datasets.COLOURS)
def test_the_canvas_shows_the_colours_the_model_gets(pen):
    image = prepare_drawing(digit_drawing(0), "colour-shapes", (32, 32, 3), pen).image
    fullest = image.reshape(-1, 3)[image.sum(axis=2).argmax()]

    def rgb(css: str) -> np.ndarray:
        return np.array([int(css[i : i + 2], 16) for i in (1, 3, 5)]) / 255

    ink, paper = canvas_colours("colour-shapes", (32, 32, 3), pen)
    np.testing.assert_allclose(rgb(ink), fullest, atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(rgb(paper), image[0, 0], atol=0.5 / 255 + 1e-6)
    assert canvas_colours("colour-shapes", (32, 32, 1), pen) == ("#111111", "#ffffff")
    assert canvas_colours("mnist", (28, 28, 1)) == ("#111111", "#ffffff")


# --------------------------------------------------------------------------- digits (optdigits)


def test_digits_are_counts_of_16_with_the_datasets_17_levels():
    (x, _), _, _ = datasets.load("digits")
    levels = np.unique(x * 16)
    np.testing.assert_array_equal(levels, np.arange(17))  # the data: 17 levels, 0..16 over 16
    seen = set()
    for d in range(10):
        image = prepare_drawing(digit_drawing(d), "digits", (8, 8, 1)).image[..., 0]
        counts = image * 16
        np.testing.assert_array_equal(counts, np.round(counts))
        assert counts.min() >= 0 and counts.max() <= 16
        seen |= set(np.unique(counts).astype(int).tolist())
        # like every shipped digit: ink in the top and bottom rows, and the normalised amount
        assert counts[0].sum() > 0 and counts[7].sum() > 0
        assert counts.sum() == DIGITS_INK
    assert seen <= set(range(17)) and len(seen) >= 12  # partial blocks, not just 0 and 16


def test_digits_ink_amount_is_the_datasets():
    (x, y), _, _ = datasets.load("digits")
    on_pixels = (x * 16).sum(axis=(1, 2, 3))
    assert on_pixels.mean() == pytest.approx(DIGITS_INK, abs=1)
    per_class = [on_pixels[y == d].mean() for d in range(10)]
    assert max(per_class) / min(per_class) < 1.1  # why the strokes are normalised to it


# --------------------------------------------------------------------------- any input


@pytest.mark.parametrize(
    "dataset, shape",
    [
        ("mnist", (28, 28, 1)),
        ("digits", (8, 8, 1)),
        ("fashion", (28, 28, 1)),
        ("shapes", (28, 28, 1)),
        ("shapes", (64, 64, 3)),
        ("colour-shapes", (8, 8, 1)),
        ("cifar-like", (32, 32, 3)),
        (None, (8, 8, 1)),
        ("mnist", (64, 48, 1)),
    ],
)
def test_every_recipe_works_at_every_size(dataset, shape):
    prepared = prepare_drawing(digit_drawing(4), dataset, shape)
    image = prepared.image
    assert image.shape == shape and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
    for c in range(1, shape[2]):
        np.testing.assert_array_equal(image[..., c], image[..., 0])  # grey in every channel
    assert prepared.recipe == recipe_for(dataset).key


def test_raster_drawings_are_prepared_like_strokes():
    """A canvas's pixels (RGBA, ink in alpha) give what its strokes give."""
    big = prepare_drawing(digit_drawing(2), "fashion", (112, 112, 1)).image[..., 0]
    rgba = np.zeros((112, 112, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(big * 255)
    from_raster = prepare_drawing(rgba, "mnist", (28, 28, 1)).image[..., 0]
    from_strokes = prepare_drawing(digit_drawing(2), "mnist", (28, 28, 1)).image[..., 0]
    assert np.corrcoef(from_raster.ravel(), from_strokes.ravel())[0, 1] > 0.9
    assert centre_of_mass(from_raster) == pytest.approx((14.0, 14.0), abs=0.01)
    digits = prepare_drawing(big, "digits", (8, 8, 1)).image * 16
    np.testing.assert_array_equal(digits, np.round(digits))


# --------------------------------------------------------------------------- bad input


def test_empty_and_malformed_drawings_are_reported():
    empty_cases = [
        Drawing(280, 280, ()),
        {"width": 280, "height": 280, "strokes": []},
        {"width": 280, "height": 280, "strokes": [[], []]},
        np.zeros((50, 50)),
    ]
    for case in empty_cases:
        answer = prepare_drawing(case, "mnist", (28, 28, 1))
        assert isinstance(answer, NothingToShow) and answer.reason == "empty-drawing", case
        assert "Draw something first" in answer.message
    bad_cases = [
        "not a drawing",
        {"width": 280, "strokes": [[1, 2]]},
        {"width": 280, "height": 280, "strokes": [[1, 2, 3]]},
        {"width": -5, "height": 280, "strokes": [[1, 2]]},
        {"width": 280, "height": 280, "strokes": [[1, float("nan")]]},
        {"width": 280, "height": 280, "strokes": [[0.5] * (2 * draw.MAX_POINTS + 2)]},
        np.zeros((3, 3, 2)),
    ]
    for case in bad_cases:
        answer = prepare_drawing(case, "mnist", (28, 28, 1))
        assert isinstance(answer, NothingToShow) and answer.reason == "bad-input", case
    flat_input = prepare_drawing(digit_drawing(1), "mnist", (784,))
    assert flat_input.reason == "bad-input" and "(784,)" in flat_input.message
    assert predict_drawing(None, digit_drawing(1), "mnist").reason == "not-trained"


def test_the_compact_json_form():
    flat = {"width": 280, "height": 280, "strokes": [[10, 20, 30, 40, 50, 60], [5, 5]]}
    pairs = {"width": 280, "height": 280, "strokes": [[[10, 20], [30, 40], [50, 60]], [[5, 5]]]}
    a, b = Drawing.from_json(flat), Drawing.from_json(pairs)
    assert a.points == b.points == 4
    np.testing.assert_array_equal(a.strokes[0], [[10, 20], [30, 40], [50, 60]])
    np.testing.assert_array_equal(
        prepare_drawing(flat, "mnist", (28, 28, 1)).image,
        prepare_drawing(b, "mnist", (28, 28, 1)).image,
    )
    dot = prepare_drawing({"width": 9, "height": 9, "strokes": [[4, 4]]}, "mnist", (28, 28, 1))
    assert dot.image.max() > 0.9  # a single tap is a dot, scaled up like any drawing


# --------------------------------------------------------------------------- end to end


def _starter(input_shape, seed=0):
    return Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        input_shape=input_shape,
        seed=seed,
    )


def _right(model, dataset) -> list[int]:
    answers = [predict_drawing(model, digit_drawing(d), dataset) for d in DIGIT_STROKES]
    for answer in answers:
        np.testing.assert_allclose(answer.probabilities.sum(), 1.0, rtol=1e-5)
    return [d for d, answer in zip(DIGIT_STROKES, answers) if answer.top == d]


def test_a_model_trained_on_digits_reads_drawn_digits():
    (x, y), _, _ = datasets.load("digits")
    model = _starter((8, 8, 1))
    model.compile(Adam(1e-2))
    model.fit(x, y, epochs=20, batch_size=32)
    right = _right(model, "digits")
    assert len(right) >= 7, right  # chance would be 1 of 10


def test_a_model_trained_briefly_on_mnist_reads_drawn_digits():
    (x, y), _, _ = datasets.load("mnist")
    model = _starter((28, 28, 1))
    model.compile(Adam(2e-3))
    model.fit(x[:4000], y[:4000], epochs=1, batch_size=32)
    right = _right(model, "mnist")
    assert len(right) >= 8, right
    # the preprocessing is what makes it work: the same strokes merely stretched to fill
    # the frame (no 20x20 box, no centring by mass) are read far worse
    stretched = [
        int(predict_drawing(model, digit_drawing(d), "fashion").top == d) for d in DIGIT_STROKES
    ]
    assert sum(stretched) < len(right)
