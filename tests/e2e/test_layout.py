"""The page on a phone, two tablets and a laptop: no horizontal scrolling, touch-sized
controls, the builder beside the summary where there is room and above it where not.

One page in a mobile context (touch, the page's own viewport meta honoured) is resized
through the four screens, before and after a training run (the plots must fit too); each
"See inside the network" view is looked at on the phone and the upright tablet. What
arrives after the page is live (the dataset's samples, the sample image of each lesson
step that shows one) has its room from the start: nothing below it moves while the
learner reads.
"""

from __future__ import annotations

import json
import re
import time

import e2e_support as sup
import pytest
from playwright.sync_api import expect

from playground.lesson import START_MODEL, Progress, dumps, storage_key

pytestmark = pytest.mark.e2e

# (what, width, height, a touch screen)
SCREENS = [
    ("phone", 390, 844, True),
    ("tablet upright", 768, 1024, True),
    ("tablet landscape", 1024, 768, True),
    ("classroom laptop", 1366, 768, False),
]
KEY_CONTROLS = [
    ".cp-share-link input",
    ".cp-dataset select",
    ".cp-preset-keras button",
    ".cp-add-conv2d button",
    ".cp-block-conv2d .cp-remove button",
    ".cp-block-conv2d .cp-arg-filters select",
    ".cp-undo button",
    ".cp-epochs input",
    ".cp-train button",
    ".cp-stop button",
]


def _box(locator) -> dict:
    """Where ``locator`` is on the page (not the window), after checking it is visible."""
    locator.scroll_into_view_if_needed()
    assert locator.is_visible(), f"{locator} is not visible"
    return locator.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height }; }"""
    )


def _check_screens(page) -> None:
    for what, width, height, touch in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)  # Bokeh lays plots out again after a resize
        sup.assert_no_horizontal_scroll(page)
        client = page.evaluate("document.documentElement.clientWidth")
        for selector in KEY_CONTROLS:
            box = _box(page.locator(selector).first)
            assert box["x"] >= 0 and box["x"] + box["width"] <= client + 0.5, (
                f"{what}: {selector} is not fully on screen: {box}"
            )
            if touch:
                assert min(box["width"], box["height"]) >= 40 - 0.5, f"{what}: {selector} {box}"
        if touch:
            assert sup.small_touch_targets(page) == [], what

        build = _box(page.locator(".cp-section-build").first)
        summary = _box(page.locator(".cp-section-summary").first)
        if width >= 1024:  # room for both columns: side by side
            assert summary["x"] >= build["x"] + build["width"], (what, build, summary)
        else:  # stacked: the summary below the builder
            assert summary["y"] >= build["y"] + build["height"], (what, build, summary)


def _mobile_page(new_context, open_app, address: str):
    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    return open_app(address, page=context.new_page())


def test_every_screen_size_fits_without_horizontal_scrolling(new_context, open_app):
    page = _mobile_page(new_context, open_app, sup.free_play())
    _check_screens(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(".cp-train button").first.tap()
    deadline = time.monotonic() + 120
    while not re.match(r"^Finished", page.locator(".cp-status").first.inner_text()):
        assert time.monotonic() < deadline, "training did not finish"
        page.wait_for_timeout(200)
    assert sup.bokeh_data(page, "cp-val-source")["loss"], "the plots got no points"
    _check_screens(page)  # the plots and the test accuracy fit as well


def test_every_see_inside_view_fits_a_phone_and_a_tablet(new_context, open_app):
    page = _mobile_page(new_context, open_app, sup.free_play("&epochs=1"))
    page.locator(".cp-train button").first.tap()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=180)
    for label, marker in (
        ("Filters", ".cp-filters"),
        ("Feature maps", ".cp-featuremaps"),
        ("Test results", ".cp-confusion"),
        ("Read the code", ".cp-code"),
        ("Draw to predict", ".cp-draw canvas"),
    ):
        page.get_by_role("button", name=label, exact=True).tap()
        page.locator(marker).first.wait_for(state="visible", timeout=60_000)
        for width, height in ((390, 844), (768, 1024)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(600)
            sup.assert_no_horizontal_scroll(page)
            assert sup.small_touch_targets(page) == [], (label, width)
        page.set_viewport_size({"width": 390, "height": 844})


def test_the_lesson_sits_beside_the_playground_or_above_it(new_context, open_app):
    page = _mobile_page(new_context, open_app, "?mode=learn&step=4&unlock=all")
    step = page.locator(".cp-lesson-step").first
    sup.wait_text(step, r"Step 4 / \d+")
    for what, width, height, touch in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)
        sup.assert_no_horizontal_scroll(page)
        if touch:
            assert sup.small_touch_targets(page) == [], what
        page.evaluate("window.scrollTo(0, 0)")
        card = step.evaluate("el => el.getBoundingClientRect().toJSON()")
        assert 0 <= card["y"] < height and card["right"] <= width, f"{what}: step card {card}"
        lesson = _box(page.locator(".cp-lesson").first)
        main = _box(page.locator(".cp-section-build").first)
        if width >= 1200:  # layout.WIDE: a column on the right
            assert lesson["x"] >= main["x"] + main["width"], (what, lesson, main)
        else:  # in the flow, above the playground
            assert main["y"] >= lesson["y"] + lesson["height"], (what, lesson, main)


# From the moment the page is live, where each of some elements starts on the page, every
# time it changes (window.cpMoves[selector]: [[ms since live, y], …]; the first entry is
# where it was when it was first found), and its text then, shadow roots included
# (window.cpFirstText[selector]).
_DEEP = """
  const deep = (root, selector) => {
    const hit = root.querySelector(selector)
    if (hit) return hit
    for (const el of root.querySelectorAll('*')) {
      const inner = el.shadowRoot && deep(el.shadowRoot, selector)
      if (inner) return inner
    }
    return null
  }
  const text = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return node.data
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return ''
    const children = [...(node.shadowRoot ? node.shadowRoot.childNodes : []), ...node.childNodes]
    return children.map(text).join('')
  }
"""
_TRACK = (
    "((selectors) => {"
    + _DEEP
    + """  window.cpMoves = Object.fromEntries(selectors.map((s) => [s, []]))
  window.cpFirstText = {}
  const found = {}
  let t0 = null
  const track = () => {
    if (t0 === null && document.documentElement.dataset.cpLoad === 'live') t0 = performance.now()
    if (t0 !== null) {
      for (const selector of selectors) {
        if (!found[selector] || !found[selector].isConnected) found[selector] = deep(document, selector)
        if (!found[selector]) continue
        const y = Math.round(found[selector].getBoundingClientRect().top + scrollY)
        const seen = window.cpMoves[selector]
        if (!seen.length) window.cpFirstText[selector] = text(found[selector])
        if (!seen.length || seen[seen.length - 1][1] !== y)
          seen.push([Math.round(performance.now() - t0), y])
      }
    }
    if (t0 === null || performance.now() - t0 < 60000) requestAnimationFrame(track)
  }
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(track)
})"""
)


def _track_moves(page, *selectors: str) -> None:
    """From now on, ``page`` records where ``selectors`` are from the moment it is live."""
    page.add_init_script(f"{_TRACK}({json.dumps(selectors)})")


def _returning_learner(context, model: str) -> None:
    """Pages of ``context`` find a saved lesson progress with ``model`` as its model."""
    record = dumps(Progress(model=model))
    context.add_init_script(
        f"try {{ localStorage.setItem({json.dumps(storage_key('/'))}, "
        f"{json.dumps(record)}) }} catch (error) {{}}"
    )


def _assert_never_moved(page) -> None:
    moves = page.evaluate("window.cpMoves")
    for selector, ys in moves.items():
        assert ys, f"{selector} was never found"
        assert len(ys) == 1, f"{selector} moved once the page was live ([ms after live, y]): {ys}"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024), (390, 844)])
def test_nothing_moves_the_train_section_once_the_page_is_live(
    new_context, open_app, width, height
):
    """What arrives after the page is live (the dataset's sample images) was given its
    room from the start: the sections below do not jump while the learner reads."""
    page = new_context(viewport={"width": width, "height": height}).new_page()
    _track_moves(page, ".cp-section-train")
    open_app(sup.free_play(), page=page)
    page.locator(".cp-preview img").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    _assert_never_moved(page)


# The steps whose view shows the sample image (and the model's answer to it), and words the
# view says only once the image is there.
SAMPLE_VIEWS = {
    1: "Hover, tap",
    3: "Output map",
    5: "Map 1",
    6: "pooled values stayed",
    8: "Together:",
}
_ARRIVED = (
    "(said) => {"
    + _DEEP
    + """  const shown = (node) => {  // the text on screen: what is not drawn is left out
    if (node.nodeType === Node.TEXT_NODE) {
      const parent = node.parentElement || node.parentNode.host
      return getComputedStyle(parent).visibility === 'visible' ? node.data : ''
    }
    if (node.nodeType !== Node.ELEMENT_NODE || getComputedStyle(node).display === 'none') return ''
    const children = [...(node.shadowRoot ? node.shadowRoot.childNodes : []), ...node.childNodes]
    return children.map(shown).join('')
  }
  const view = deep(document, '.cp-lesson-view')
  const words = view ? shown(view) : ''
  return words.includes(said) && !words.includes('Loading')
}"""
)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024), (390, 844)])
@pytest.mark.parametrize(
    ("step", "dataset"),
    [(1, "digits"), (1, "mnist")] + [(s, "digits") for s in SAMPLE_VIEWS if s > 1],
)
def test_nothing_below_a_step_s_view_moves_when_its_sample_arrives(
    new_context, open_app, step, dataset, width, height
):
    """The pixel grid (on a 28×28 image a close-up beside the whole picture), the sliding
    filter, the feature maps, the pooled pictures and the class probabilities are laid out
    at their final size while the sample image is on its way (a status line over them says
    so): below the view, the check question and, where the lesson sits above the
    playground, the playground stay where they are when it arrives. A returning learner's
    Data section describes the lesson model's dataset from the start."""
    context = new_context(viewport={"width": width, "height": height})
    model = START_MODEL.replace("dataset=digits", f"dataset={dataset}")
    if step > 1:  # a Conv2D, for the views of its filters
        model = model.replace("layers=", "layers=conv2d:8:3,")
    if model != START_MODEL:  # else a first visit
        _returning_learner(context, model)
    page = context.new_page()
    # Below the view: the lesson's check question, where the lesson ends and the
    # playground begins, and the Train section below the Data section.
    _track_moves(page, ".cp-lesson-check", ".cp-section-data", ".cp-section-train")
    open_app(f"?mode=learn&step={step}&unlock=all", page=page)
    expect(page.locator(".cp-lesson-step").first).to_contain_text(f"Step {step} /")
    page.wait_for_function(_ARRIVED, arg=SAMPLE_VIEWS[step], timeout=60_000)
    if step == 1:
        page.locator(".cp-pixel-grid [data-row]").first.wait_for()  # the image's pixels, shown
        if dataset != "digits":
            expect(page.locator(".cp-pixels-close").first).to_be_attached()
    page.wait_for_timeout(1500)
    _assert_never_moved(page)
    shape = {"digits": "8×8×1", "mnist": "28×28×1"}[dataset]
    assert f"Input shape: {shape}" in page.evaluate("window.cpFirstText['.cp-section-data']")
