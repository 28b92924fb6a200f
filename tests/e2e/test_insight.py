"""See inside the network, as a new learner does it, in real Chromium on the static site.

Two page loads: on ``digits`` the learner opens the filters (the section opens
closed), trains and watches them change,
sends a test image through the network, opens the confusion matrix, clicks a cell
(from the keyboard) and sees its images and the mistakes, and reads the code of
the Conv2D layer, and closes the view; on MNIST the learner draws before training (the page asks for
training and offers a button), trains one epoch with that button, then draws
digits with the mouse (pointer events) and with a finger (touch pointer events)
and reads the prediction. A third load picks the generated colour dataset in the
page and checks every view on RGB input. Expected shapes come from pycnn in this process.
"""

from __future__ import annotations

import re
import time

import e2e_support as sup
import numpy as np
import pytest

pytestmark = pytest.mark.e2e

STARTER = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"


# --------------------------------------------------------------------------- helpers


def _choose(page, label: str) -> None:
    page.locator(".cp-inside-choice button", has_text=label).first.click()


def _expected_captions(layers: str, dataset: str) -> list[str]:
    from playground.analysis import build_model
    from pycnn.datasets import info

    model = build_model(layers, info(dataset).input_shape)
    return [
        f"{layer.name} ({layer.kind}), output (None, {', '.join(map(str, row.output_shape))})"
        for layer, row in zip(model.layers, model.summary())
        if layer.kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D")
    ]


def _draw(page, strokes, box) -> None:
    """Draw ``strokes`` (canvas pixels) with the mouse: real pointer events."""
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()


def _touch_stroke(canvas, box, points) -> None:
    """One stroke of a finger: touch pointer events, as a tablet sends them."""
    common = {"pointerId": 7, "pointerType": "touch", "isPrimary": True, "bubbles": True}
    kinds = ["pointerdown"] + ["pointermove"] * (len(points) - 2) + ["pointerup"]
    for kind, (x, y) in zip(kinds, points):
        canvas.dispatch_event(
            kind, {**common, "clientX": box["x"] + x, "clientY": box["y"] + y, "buttons": 1}
        )


# --------------------------------------------------------------------------- digits


def test_filters_feature_maps_confusion_mistakes_and_code_on_digits(open_app):
    # 60 epochs: the starter trains digits in ~0.1 s an epoch on a quiet laptop, and the
    # filters redraw at most a few times a second, so a shorter run can end between redraws
    page = open_app(f"?dataset=digits&layers={STARTER}&epochs=60")
    status = page.locator(".cp-status")

    # The section opens closed; the filters show the random ones of the untrained model.
    sup.wait_text(page.locator(".cp-inside-closed"), "nothing here runs")
    _choose(page, "Filters")
    picture = page.locator(".cp-filters .cp-filters-picture").first
    picture.wait_for(timeout=60_000)
    alt = picture.get_attribute("alt")
    assert "8 filters of 3×3 weights over 1 input channel" in alt and "weights from" in alt
    assert "Not trained yet" in page.locator(".cp-filters-note").first.inner_text()
    untrained = picture.get_attribute("src")

    # Training: the picture changes while the run goes on, not only at its end.
    page.locator(".cp-train button").first.click()
    during: set[str] = set()
    deadline = time.monotonic() + 180
    while not status.first.inner_text().startswith("Finished"):
        assert time.monotonic() < deadline, status.first.inner_text()
        text = status.first.inner_text()
        src = picture.get_attribute("src")
        if text.startswith("Epoch") and src != untrained:
            during.add(src)
        page.wait_for_timeout(80)
    assert len(during) >= 2, "the filters were not redrawn while training ran"
    learnt = picture.get_attribute("src")
    assert learnt != untrained
    accuracy = sup.wait_text(page.locator(".cp-test-accuracy"), r"\d+\.\d %")

    # Feature maps of a test image: every Conv/Pool layer, captioned like the summary table.
    _choose(page, "Feature maps")
    strip = page.locator(".cp-featuremaps-strip button")
    strip.first.wait_for(timeout=30_000)
    assert strip.count() == 11  # one test image per class, and "Your drawing"
    strip.nth(4).click()
    label = strip.nth(4).get_attribute("aria-label")
    assert re.fullmatch(r"Test image \d+: 4", label), label
    number = re.search(r"\d+", label).group()
    sup.wait_text(page.locator(".cp-featuremaps-input-caption"), rf"Test image {number}: 4")
    captions = page.locator(".cp-featuremaps-caption").all_inner_texts()
    assert captions == _expected_captions(STARTER, "digits")
    assert page.locator(".cp-featuremaps figcaption", has_text="before the activation").count()
    for image in page.locator(".cp-featuremaps-layer figure img").all():
        assert re.search(
            r"feature maps of \d+×\d+, values from \S+ to \S+", image.get_attribute("alt")
        )

    # The confusion matrix: cells are buttons; a click from the keyboard shows their images.
    _choose(page, "Test results")
    cells = page.locator(".cp-confusion button[data-pick]")
    cells.first.wait_for(timeout=60_000)
    assert cells.count() == 100
    summary = page.locator(".cp-results-summary").first.inner_text()
    shown = float(re.search(r"([\d.]+) %", accuracy).group(1))
    assert f"{round(shown):.0f} % right" in summary, (summary, accuracy)
    off_diagonal = [
        (cell, int(cell.inner_text()))
        for cell in cells.all()
        if len(set(cell.get_attribute("data-pick").split(","))) == 2 and cell.inner_text() != "0"
    ]
    assert off_diagonal, "no mistakes at all on the digits test images"
    cell, count = max(off_diagonal, key=lambda pair: pair[1])
    name = cell.get_attribute("aria-label")
    assert re.match(rf"{count} test images? of \d predicted as \d", name), name
    cell.focus()
    page.keyboard.press("Enter")
    images = page.locator(".cp-cell-images figure")
    deadline = time.monotonic() + 15
    while images.count() != count:
        assert time.monotonic() < deadline, (images.count(), count)
        page.wait_for_timeout(100)
    assert cell.get_attribute("aria-pressed") == "true"
    true, predicted = cell.get_attribute("data-pick").split(",")
    for figure in page.locator(".cp-cell-images figure").all():
        assert f"true class {true}" in figure.locator("img").get_attribute("alt")
        assert f"predicted {predicted} (" in figure.locator("figcaption").inner_text()

    # The gallery of mistakes: true and predicted class, and the probability bars.
    mistakes = page.locator(".cp-misclassified figure")
    assert mistakes.count() >= 1
    caption = mistakes.first.locator("figcaption").inner_text()
    found = re.fullmatch(r"true (\d), predicted (\d) \(\d+ %\)", caption)
    assert found and found.group(1) != found.group(2), caption
    assert mistakes.first.locator(".cp-bar-name").count() >= 3

    # Read the code of the Conv2D layer: the fused step pycnn runs, with this model's shapes.
    _choose(page, "Read the code")
    runs = sup.wait_text(page.locator(".cp-code-runs"), "Training runs", timeout_s=30)
    assert "conv2d + max_pooling2d (ConvMaxPool)" in runs
    code = page.locator(".cp-code-text").first.inner_text()
    assert "def conv2d_maxpool_forward" in code and "def conv2d_maxpool_backward" in code
    assert "x: (N, H, W, C_in) = (32, 8, 8, 1)" in code
    assert "kernel: (kh, kw, C_in, C_out) = (3, 3, 1, 8)" in code

    # Close the view: the section is closed again, as it opened.
    page.get_by_role("button", name="Close the view", exact=True).click()
    sup.wait_text(page.locator(".cp-inside-closed"), "nothing here runs")
    assert page.locator(".cp-code").count() == 0


# --------------------------------------------------------------------------- draw on MNIST


def test_draw_digits_for_a_model_trained_on_mnist(open_app):
    from playground.insight.glyphs import digit_drawing

    page = open_app(f"?dataset=mnist&layers={STARTER}&epochs=1")
    _choose(page, "Draw to predict")
    canvas = page.locator(".cp-draw canvas").first
    canvas.wait_for(timeout=30_000)
    assert canvas.evaluate("c => getComputedStyle(c).touchAction") == "none"
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()

    # Before training: the drawing stays, the page asks for training and offers it.
    _draw(page, digit_drawing(7, box["width"], box["height"]).strokes, box)
    sup.wait_text(page.locator(".cp-draw-message"), "Train the model first")
    train = page.locator(".cp-draw-train button").first
    train.click()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=300)

    # The drawing made before training is read as soon as the model is trained.
    top = sup.wait_text(page.locator(".cp-draw-prediction"), r"^\d \(\d+ %\)$", timeout_s=30)
    assert top.startswith("7 "), top
    assert not page.locator(".cp-draw-train button").first.is_visible()
    picture = page.locator(".cp-draw-input").first
    assert "28×28 with 1 channel" in picture.get_attribute("alt")
    assert page.locator(".cp-draw-answer .cp-bar-name").count() == 10

    # A clearly drawn 3, after Clear.
    page.locator(".cp-draw-clear").first.click()
    sup.wait_text(page.locator(".cp-draw-message"), "Draw something first")
    box = canvas.bounding_box()
    _draw(page, digit_drawing(3, box["width"], box["height"]).strokes, box)
    three = _settled_src(page)  # the whole drawing: sent at pen-up, after the partial ones
    top = page.locator(".cp-draw-prediction").first.inner_text()
    assert re.fullmatch(r"3 \(\d+ %\)", top), top

    # A finger's stroke across it (touch pointer events) changes what the model sees;
    # Undo stroke takes it away again.
    _touch_stroke(canvas, box, [(20 + 12 * i, 140) for i in range(21)])
    assert _settled_src(page) != three
    page.locator(".cp-draw-undo").first.click()
    _wait_src(page, lambda src: src == three)
    assert page.locator(".cp-draw-prediction").first.inner_text() == top


# --------------------------------------------------------------------------- colour input


def test_every_view_on_the_colour_dataset(open_app):
    """RGB input end to end: pick the colour dataset, fix the last layer, train an epoch,
    see colour filters, feature maps, a 9×9 confusion matrix, and draw in colour."""
    from playground.insight.glyphs import digit_drawing
    from pycnn.datasets import info

    colour = info("colour-shapes")
    page = open_app(f"?dataset=digits&layers={STARTER}&epochs=1")
    page.locator(".cp-dataset select").first.select_option(label=colour.title)
    about = page.locator(".cp-dataset-about div")
    assert "9 classes" in sup.wait_text(about, r"Input shape: 32×32×3")
    assert colour.attribution in about.all_inner_texts()
    samples = page.locator(".cp-preview img")
    samples.first.wait_for(timeout=60_000)
    assert samples.count() == 9
    assert samples.first.get_attribute("alt") == "3 sample images of orange circle"
    assert "dataset=colour-shapes" in page.url

    # Ten outputs for nine classes: the page offers the fix, and the summary reads RGB.
    page.locator(".cp-fix button", has_text="Dense(9").first.click()
    layers = STARTER.replace("dense:10", "dense:9")
    sup.wait_text(page.locator(".cp-summary .cp-row-input"), r"\(None, 32, 32, 3\)")
    sup.wait_text(page.locator(".cp-summary tr.cp-row").first, r"\(None, 30, 30, 8\)\s+224")
    page.locator(".cp-train button").first.click()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=300)
    accuracy = sup.wait_text(page.locator(".cp-test-accuracy"), r"\d+\.\d %")
    assert float(re.search(r"([\d.]+) %", accuracy).group(1)) > 100 * 3 / 9, accuracy

    # Filters in colour, and per channel.
    _choose(page, "Filters")
    picture = page.locator(".cp-filters .cp-filters-picture").first
    picture.wait_for(timeout=30_000)
    alt = picture.get_attribute("alt")
    assert "8 filters of 3×3 weights over 3 input channels" in alt, alt
    assert "red, green and blue weights" in alt
    page.locator(".cp-filters-view select").first.select_option(label="Each input channel")
    deadline = time.monotonic() + 15
    while "8 rows of 3" not in (picture.get_attribute("alt") or ""):
        assert time.monotonic() < deadline, picture.get_attribute("alt")
        page.wait_for_timeout(100)

    _choose(page, "Feature maps")
    strip = page.locator(".cp-featuremaps-strip button")
    strip.first.wait_for(timeout=30_000)
    assert strip.count() == 10  # one test image per class, and "Your drawing"
    assert page.locator(".cp-featuremaps-caption").all_inner_texts() == _expected_captions(
        layers, "colour-shapes"
    )
    assert "32×32 with 3 channels" in page.locator(".cp-featuremaps-input").first.get_attribute(
        "alt"
    )

    _choose(page, "Test results")
    cells = page.locator(".cp-confusion button[data-pick]")
    cells.first.wait_for(timeout=60_000)
    assert cells.count() == 81
    assert sum(int(c) for c in cells.all_inner_texts()) == colour.n_test
    mistake = page.locator(".cp-misclassified figure img").first
    assert "32×32 with 3 channels" in mistake.get_attribute("alt")

    # Draw a ring with the blue pen: the model sees it in blue and names a class.
    _choose(page, "Draw to predict")
    page.locator(".cp-draw-pen button", has_text="blue pen").first.click()
    canvas = page.locator(".cp-draw canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    _draw(page, digit_drawing(0, box["width"], box["height"]).strokes, box)
    top = sup.wait_text(page.locator(".cp-draw-prediction"), r" \(\d+ %\)$", timeout_s=30)
    assert re.fullmatch(r"(orange|yellow|blue) (circle|square|triangle) \(\d+ %\)", top), top
    assert page.locator(".cp-draw-answer .cp-bar-name").count() == 9
    assert "32×32 with 3 channels" in page.locator(".cp-draw-input").first.get_attribute("alt")
    assert "in the pen's colour" in page.locator(".cp-draw-answer figcaption").first.inner_text()
    sup.assert_accessible(page)  # the colour samples, the pen's buttons, every view's pictures


_PIXEL = """(c, [x, y]) => {
  const box = c.getBoundingClientRect()
  const at = [Math.floor(x * c.width / box.width), Math.floor(y * c.height / box.height)]
  return Array.from(c.getContext('2d').getImageData(at[0], at[1], 1, 1).data.slice(0, 3))
}"""


def _wait_pixel(canvas, xy, rgb, timeout_s: float = 15) -> None:
    """Wait until the canvas pixel at ``xy`` (CSS pixels from its corner) shows ``rgb``."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = canvas.evaluate(_PIXEL, list(xy))
        if max(abs(a - b) for a, b in zip(seen, rgb)) <= 2:
            return
        assert time.monotonic() < deadline, f"pixel {xy} is {seen}, expected {rgb}"
        time.sleep(0.1)


def test_the_canvas_shows_the_drawing_in_the_colours_the_model_sees(open_app):
    """On the colour dataset the strokes are in the pen's colour on the data's dark
    background (the model's own input); on a grey dataset dark on white."""
    from playground.insight.draw import recipe_for
    from pycnn.datasets import COLOURS, info
    from pycnn.datasets.shapes import PALETTE

    recipe = recipe_for("colour-shapes")

    def seen(value) -> list[int]:
        return [round(255 * float(v)) for v in np.broadcast_to(value, 3)]

    page = open_app("?dataset=colour-shapes&layers=conv2d:8:3,maxpool:2,flatten,dense:9:softmax")
    _choose(page, "Draw to predict")
    canvas = page.locator(".cp-draw canvas").first
    canvas.wait_for(timeout=30_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    w, h = box["width"], box["height"]
    middle, corner = (w / 2, h / 2), (4, 4)
    _draw(page, [[(w * 0.15, h / 2), (w * 0.85, h / 2)]], box)
    paper = seen(recipe.paper)
    _wait_pixel(canvas, corner, paper)
    _wait_pixel(canvas, middle, seen(recipe.ink * PALETTE[0]))  # the first pen, orange
    for k, name in enumerate(COLOURS):  # the whole drawing takes the pen picked
        page.locator(".cp-draw-pen button", has_text=f"{name} pen").first.click()
        _wait_pixel(canvas, middle, seen(recipe.ink * PALETTE[k]))
    page.locator(".cp-draw-undo").first.click()
    _wait_pixel(canvas, middle, paper)

    # A grey dataset: pencil on paper, and the pen's choice is gone.
    _draw(page, [[(w * 0.15, h / 2), (w * 0.85, h / 2)]], canvas.bounding_box())
    page.locator(".cp-dataset select").first.select_option(label=info("digits").title)
    _wait_pixel(canvas, corner, [255, 255, 255])
    _wait_pixel(canvas, middle, [17, 17, 17])
    assert not page.locator(".cp-draw-pen").first.is_visible()


def _src(page) -> str | None:
    try:
        return page.locator(".cp-draw-input").first.get_attribute("src", timeout=500)
    except Exception:  # noqa: BLE001 - being redrawn
        return None


def _settled_src(page, quiet_s: float = 1.5, timeout_s: float = 20) -> str:
    """The picture the model sees, once it has stopped changing for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = _src(page), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        src = _src(page)
        if src != last:
            last, since = src, time.monotonic()
        elif src and time.monotonic() - since >= quiet_s:
            return src
    raise AssertionError("the picture the model sees kept changing")


def _wait_src(page, ok, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        src = _src(page)
        if src and ok(src):
            return
        time.sleep(0.1)
    raise AssertionError("the picture the model sees did not change as expected")


# --------------------------------------------------------------------------- a phone

# How far right of the section's left edge anything in it is drawn (shadow roots
# included), skipping what sits in a box that scrolls or clips sideways (a long code
# line may scroll inside its listing; the page itself must not).
_WIDEST = """(section) => {
  const left = section.getBoundingClientRect().left
  let widest = 0
  const clips = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX)
  const visit = (el, clipped) => {
    const box = el.getBoundingClientRect()
    if (!clipped && box.width && box.height) widest = Math.max(widest, box.right)
    const inner = clipped || clips(el)
    for (const child of el.shadowRoot ? el.shadowRoot.children : []) visit(child, inner)
    for (const child of el.children) visit(child, inner)
  }
  visit(section, false)
  return widest - left
}"""


def test_every_view_fits_a_390_px_phone(new_context, open_app):
    """Each view laid out in the width a 390-px phone gives it draws nothing wider.

    The section is held to the phone's width: whether the rest of the page fits
    is the layout's own test."""
    context = new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = open_app(f"?dataset=digits&layers={STARTER}&epochs=2", page=context.new_page())
    page.locator(".cp-train button").first.click()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=120)
    markers = {
        "Filters": ".cp-filters-picture",
        "Feature maps": ".cp-featuremaps-caption",
        "Test results": ".cp-confusion button[data-pick]",
        "Read the code": ".cp-code-text",
        "Draw to predict": ".cp-draw canvas",
    }
    section = page.locator(".cp-inside").first
    section.evaluate("(el) => { el.style.width = el.style.maxWidth = '390px' }")
    for label, marker in markers.items():
        _choose(page, label)
        page.locator(marker).first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)  # the rest of the view is drawn with it
        widest = section.evaluate(_WIDEST)
        assert 300 < widest <= 390 + 1, f"{label}: the view is {widest:.0f} px wide, not 390"
