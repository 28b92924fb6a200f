"""The "Intro to CNNs" lesson as a new learner meets it, in real Chromium on the static site.

A first visit opens step 1 / 8 with most blocks locked; a wrong answer explains
itself and a right one (with the task done) moves on; training on digits
unlocks Conv2D and the log says why; a reload finds the same step, answers and
model; Start over asks first; free play has every block; on phone and tablet
widths the panel fits the screen and its controls are big enough to tap, a strip
keeps the step in view down in the playground and leads back to the card, and
step 1's picture of a 28×28 image is read and picked with a finger through a
close-up; step 1 works from the keyboard alone; a damaged saved record is
reported and the page works; two copies of the site on one host keep separate
progress. Expected numbers come from the lesson package
and pycnn in this process, not from the page.
"""

from __future__ import annotations

import json
import re

import e2e_support as sup
import pytest
from playwright.sync_api import expect

from playground.components.layout import TOUCH
from playground.lesson import STEPS, TOTAL, Progress, dumps, storage_key
from playground.lesson.content import START_MODEL
from playground.spec import KINDS

pytestmark = pytest.mark.e2e

WAIT_MS = 30_000  # one step of the page (a click and the worker's answer) on a busy machine
TRAIN_MS = 180_000  # one training run of a small model on digits, on a busy machine


def right(step: int) -> int:
    return STEPS[step - 1].question.right_index


def wrong(step: int) -> int:
    return (right(step) + 1) % len(STEPS[step - 1].question.answers)


def step_counter(page):
    return page.locator(".cp-lesson-step").first


def answer_button(page, index: int):
    return page.locator(f".cp-lesson-answer-{index} button").first


def sample_grid(dataset: str = "digits") -> list[list[float]]:
    """The sample image (the dataset's first test image) as the page rounds it."""
    from pycnn.datasets import load

    _train, (x_test, _y), _names = load(dataset)
    return [[round(float(v), 2) for v in row] for row in x_test[0, :, :, 0]]


def brightest_pixel(dataset: str = "digits") -> tuple[int, int]:
    """Where the sample image peaks (the first such pixel)."""
    grid = sample_grid(dataset)
    top = max(max(row) for row in grid)
    return next((r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == top)


def pixel(page, row: int, col: int):
    return page.locator(f'.cp-pixel-grid [data-row="{row}"][data-col="{col}"]').first


def add_button(page, kind: str):
    return page.locator(f".cp-add-{kind} button").first


def stored(page, path: str = "/") -> dict | None:
    text = page.evaluate("(key) => localStorage.getItem(key)", storage_key(path))
    return None if text is None else json.loads(text)


def seed_storage(context, key: str, text: str) -> None:
    """Put ``text`` into localStorage under ``key`` before the page's first script runs
    (once per context: a reload finds what the page itself saved)."""
    context.add_init_script(
        f"""try {{
              if (!sessionStorage.getItem("cp-seeded")) {{
                localStorage.setItem({json.dumps(key)}, {json.dumps(text)});
                sessionStorage.setItem("cp-seeded", "1");
              }}
            }} catch (error) {{}}  // documents without storage (workers' blank frames)"""
    )


# Init script: what the learner could see, frame by frame, until the first 20 changes —
# the step counter's text and the number of summary rows, while the page is not hidden.
RECORD_WHAT_SHOWED = """
window.cpShowed = [];
(function watch() {
  const steps = [], rows = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.classList.contains("cp-lesson-step")) steps.push(el.textContent.trim());
      if (el.matches("tr.cp-row")) rows.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  const html = document.documentElement;
  if (html && document.body && !html.classList.contains("cp-lesson-pending")) {
    walk(document);
    const now = JSON.stringify([steps.filter(Boolean), rows.length]);
    const showed = window.cpShowed;
    if (rows.length && showed[showed.length - 1] !== now) showed.push(now);
  }
  if (window.cpShowed.length < 20 && performance.now() < 180000) requestAnimationFrame(watch);
})();
"""


def finish_step_1(page) -> None:
    r, c = brightest_pixel()
    pixel(page, r, c).click()
    expect(page.locator(".cp-lesson-feedback").first).to_contain_text("brightest", timeout=WAIT_MS)
    answer_button(page, right(1)).click()
    expect(step_counter(page)).to_contain_text(f"2 / {TOTAL}", timeout=WAIT_MS)


# --------------------------------------------------------------------------- first visit


def test_first_visit_opens_step_1_with_locked_blocks_and_answers_get_their_feedback(open_app):
    page = open_app()
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}")
    assert page.url.endswith("?mode=learn&step=1")
    expect(page.locator(".cp-unlocked").first).to_have_text("Flatten, Dense")
    for kind in KINDS:
        button = add_button(page, kind)
        if kind in ("flatten", "dense"):
            expect(button).to_be_enabled()
        else:
            expect(button).to_be_disabled()
    # The first model of the lesson is in the summary: Flatten and Dense(10).
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(2)

    # A wrong answer: its own explanation, and the step stays.
    question = STEPS[0].question
    bad = wrong(1)
    answer_button(page, bad).click()
    feedback = page.locator(".cp-lesson-feedback").first
    expect(feedback).to_contain_text(question.answers[bad].feedback[:60], timeout=WAIT_MS)
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}")

    # The right answer before the task: right, but the step waits for the task.
    answer_button(page, right(1)).click()
    expect(feedback).to_contain_text("Finish the task", timeout=WAIT_MS)
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}")

    # A pixel that is not the brightest says so; the brightest one completes the step.
    pixel(page, 0, 0).click()
    expect(feedback).to_contain_text("Look for a whiter one", timeout=WAIT_MS)
    r, c = brightest_pixel()
    pixel(page, r, c).click()
    expect(step_counter(page)).to_have_text(f"Step 2 / {TOTAL}", timeout=WAIT_MS)
    expect(page.locator(".cp-log").first).to_contain_text(
        f"LOG: Step 1 complete. Next: step 2 / {TOTAL}", timeout=WAIT_MS
    )
    expect(page).to_have_url(re.compile(r"\?mode=learn&step=2$"))
    # The check is scored on first tries: a wrong first answer gives 0 for step 1.
    record = stored(page)
    assert record["step"] == 2 and record["answers"]["1"] == [bad, right(1)]


# --------------------------------------------------------------------------- training and reload


def test_training_unlocks_conv2d_with_the_reason_in_the_log_and_a_reload_keeps_everything(
    open_app, new_context, monitor
):
    context = new_context()
    page = open_app(page=context.new_page())
    finish_step_1(page)

    # Step 2: a hidden Dense on the raw pixels, then one press of Train.
    add_button(page, "dense").click()
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(3, timeout=WAIT_MS)
    milestones = page.locator(".cp-milestones").first
    expect(milestones).to_contain_text("✓ Done: A hidden Dense layer", timeout=WAIT_MS)
    expect(add_button(page, "conv2d")).to_be_disabled()
    page.locator(".cp-train button").first.click()
    log = page.locator(".cp-log").first
    expect(log).to_contain_text(
        re.compile(r"LOG: Unlocked Conv2D: validation loss 0\.\d+ < 0\.50"), timeout=TRAIN_MS
    )
    expect(log).to_contain_text("LOG: Trained on digits for 5 epochs")
    expect(add_button(page, "conv2d")).to_be_enabled()
    expect(page.locator(".cp-unlocked").first).to_have_text("Conv2D, Flatten, Dense")

    answer_button(page, right(2)).click()
    expect(step_counter(page)).to_have_text(f"Step 3 / {TOTAL}", timeout=WAIT_MS)
    expect(log).to_contain_text(f"LOG: Step 2 complete. Next: step 3 / {TOTAL}")
    model = page.locator(".cp-share-link input").first.input_value()
    lines = log.inner_text()

    # Reload: the same step, model, log and answers.
    page.reload()
    sup.wait_until_live(page, monitor)
    expect(step_counter(page)).to_have_text(f"Step 3 / {TOTAL}")
    assert page.locator(".cp-share-link input").first.input_value() == model
    assert "dense:32" in model
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(3)
    assert page.locator(".cp-log").first.inner_text() == lines
    expect(add_button(page, "conv2d")).to_be_enabled()
    # Step 2's check still shows the answer given (open it from the step menu).
    page.locator(".cp-lesson-nav select").first.select_option(index=1)
    expect(step_counter(page)).to_have_text(f"Step 2 / {TOTAL}", timeout=WAIT_MS)
    expect(answer_button(page, right(2))).to_contain_text("Right:", timeout=WAIT_MS)
    assert page.url.endswith("?mode=learn&step=2")
    # A step not reached yet is shown locked, with how to reach it.
    page.locator(".cp-lesson-nav select").first.select_option(index=4)
    expect(page.locator(".cp-locked-step").first).to_contain_text(
        "Step 5 opens once", timeout=WAIT_MS
    )


# --------------------------------------------------------------------------- start over


def test_start_over_asks_first_then_forgets_steps_answers_and_model(new_context, open_app):
    progress = Progress(
        step=3,
        done={1: 1, 2: 3},
        answers={1: [right(1)], 2: [right(2)]},
        best={2: 0.3},
        model="?dataset=digits&layers=conv2d:4:3,flatten,dense:10:softmax",
        log=["Unlocked Conv2D: validation loss 0.30 < 0.50"],
    )
    context = new_context()
    seed_storage(context, storage_key("/"), dumps(progress))
    context.add_init_script(RECORD_WHAT_SHOWED)
    page = open_app(page=context.new_page())
    expect(step_counter(page)).to_have_text(f"Step 3 / {TOTAL}")
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(3)
    # From the first frame the page showed: step 3 and its model, never step 1 or another model.
    showed = [json.loads(s) for s in page.evaluate("window.cpShowed")]
    assert showed and all(v == [[f"Step 3 / {TOTAL}"], 3] for v in showed), showed

    page.locator(".cp-start-over button").first.click()
    confirm = page.locator(".cp-start-over-confirm").first
    expect(confirm).to_contain_text("cannot be undone", timeout=WAIT_MS)
    page.locator(".cp-start-over-no button").first.click()
    expect(page.locator(".cp-start-over button").first).to_be_visible(timeout=WAIT_MS)
    expect(step_counter(page)).to_have_text(f"Step 3 / {TOTAL}")

    page.locator(".cp-start-over button").first.click()
    page.locator(".cp-start-over-yes button").first.click()
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}", timeout=WAIT_MS)
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(2)
    expect(add_button(page, "conv2d")).to_be_disabled()
    expect(page.locator(".cp-log").first).to_contain_text(f"LOG: Started over at step 1 / {TOTAL}")
    record = stored(page)
    assert record["step"] == 1 and record["answers"] == {} and record["done"] == {}
    assert record["model"].startswith(START_MODEL)


# --------------------------------------------------------------------------- free play


def test_free_play_has_every_block_and_the_lesson_model_waits(open_app):
    page = open_app()
    page.locator(".cp-mode button").first.click()
    expect(page.locator(".cp-mode button").first).to_have_text(
        "Back to the lesson", timeout=WAIT_MS
    )
    for kind in KINDS:
        expect(add_button(page, kind)).to_be_enabled()
    expect(step_counter(page)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"\?dataset=digits&layers=flatten,dense:10:softmax"))
    add_button(page, "dropout").click()
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(3, timeout=WAIT_MS)

    # Back in the lesson: its own model again, with its locks.
    page.locator(".cp-mode button").first.click()
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}", timeout=WAIT_MS)
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(2, timeout=WAIT_MS)
    expect(add_button(page, "dropout")).to_be_disabled()
    expect(page).to_have_url(re.compile(r"\?mode=learn&step=1$"))


def test_a_model_link_opens_free_play_and_a_teacher_link_opens_its_step(open_app, new_context):
    layers = "conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    page = open_app(f"?dataset=digits&layers={layers}")
    expect(page.locator(".cp-mode button").first).to_have_text("Back to the lesson")
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(5)
    for kind in KINDS:
        expect(add_button(page, kind)).to_be_enabled()

    # A teacher's link to step 6 with every step open.
    page = open_app("?mode=learn&step=6&unlock=all")
    expect(step_counter(page)).to_have_text(f"Step 6 / {TOTAL}")
    expect(page.locator(".cp-lesson-check").first).to_contain_text(STEPS[5].question.prompt[:40])
    expect(page).to_have_url(re.compile(r"\?mode=learn&step=6&unlock=all$"))
    # The pooling picture: the sample and its one-pixel shift, pooled by pycnn.
    expect(page.locator(".cp-view-pool-shift").first).to_contain_text("pooled values stayed")


# --------------------------------------------------------------------------- layout


# Every element of the lesson panel (through the shadow roots Panel draws it in) that reaches
# past the right edge of the window: what would make the learner scroll sideways.
PAST_THE_EDGE = """
(panel) => {
  const edge = document.documentElement.clientWidth + 0.5, out = [];
  let seen = 0;
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      seen += r.width > 0;
      if (r.width > 0 && r.right > edge) out.push(`${el.tagName} ${el.className}: ${r.right}`);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(panel.shadowRoot || panel);
  return [seen, out.slice(0, 5)];
}
"""


@pytest.mark.parametrize("name", ["phone", "tablet"])
def test_the_panel_fits_the_screen_with_the_step_in_view_and_controls_to_tap(
    name, new_context, open_app
):
    """The lesson panel's share of "no horizontal scrolling": nothing of it reaches past the
    window at these widths (the whole page is tests/e2e/test_layout.py's), the step counter
    is on the first screen, and every control of the panel is tall enough to tap."""
    sizes = {"phone": [(390, 844)], "tablet": [(768, 1024), (1024, 768)]}[name]
    width, height = sizes[0]
    context = new_context(viewport={"width": width, "height": height}, has_touch=True)
    page = open_app(page=context.new_page())
    controls = ", ".join(f".cp-lesson {c}" for c in ("button", "select", "input", "summary"))
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        page.evaluate("() => window.scrollTo(0, 0)")
        panel = page.locator(".cp-lesson").first
        seen, past = panel.evaluate(PAST_THE_EDGE)
        assert seen > 100 and past == [], f"{width}×{height}: {seen} elements seen, past: {past}"
        box = step_counter(page).bounding_box()
        assert box and box["y"] < height and box["x"] + box["width"] <= width
        tapped = 0
        for control in page.locator(controls).all():
            if control.is_visible():
                b = control.bounding_box()
                what = control.evaluate("(e) => e.outerHTML.slice(0, 80)")
                assert b["height"] >= TOUCH - 0.5, (
                    f"{width}×{height}: {what} is {b['height']} px tall"
                )
                tapped += 1
        assert tapped >= 8  # the step menu, four answers, the mode switch, Start over, …


# Init script: the page's y of each of some elements, every time it changes, frame by frame.
RECORD_PLACES = """
window.cpPlaces = {};
(function watch() {
  const find = (root, selector) => {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll("*")) {
      const inner = el.shadowRoot && find(el.shadowRoot, selector);
      if (inner) return inner;
    }
    return null;
  };
  for (const selector of window.cpPlaceSelectors || []) {
    const el = find(document, selector);
    if (!el) continue;
    const y = Math.round(el.getBoundingClientRect().top + scrollY);
    const seen = (window.cpPlaces[selector] = window.cpPlaces[selector] || []);
    if (seen[seen.length - 1] !== y) seen.push(y);
  }
  requestAnimationFrame(watch);
})();
"""


@pytest.mark.parametrize("name", ["phone", "tablet"])
def test_down_in_the_playground_a_strip_keeps_the_step_in_view(name, new_context, open_app):
    """Below layout.WIDE the lesson sits above the playground and scrolls away: once it has,
    the step strip shows at the top of the window (not before: while any of the lesson is on
    screen it is neither shown, nor focusable, nor read), over the page, which does not move
    when it shows; it says the same step as the card, keeps what the page scrolls to below
    itself, and its button brings the card back with the focus."""
    width, height = {"phone": (390, 844), "tablet": (768, 1024)}[name]
    context = new_context(viewport={"width": width, "height": height}, has_touch=True)
    context.add_init_script(RECORD_PLACES)
    page = open_app(page=context.new_page())
    strip = page.locator(".cp-lesson-strip").first
    back = page.get_by_role("button", name="Back to the card", exact=True)

    # Scrolled from the card down into the playground, a few lines at a time.
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("window.cpPlaceSelectors = ['.cp-section-build', '.cp-section-train']")
    lesson = page.locator(".cp-aside").first
    end = lesson.evaluate("(el) => el.getBoundingClientRect().bottom + scrollY") + height // 2
    shown_at = []
    for y in range(0, int(end), 60):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(80)
        lesson_seen = lesson.evaluate("(el) => el.getBoundingClientRect().bottom > 0")
        if lesson_seen:
            expect(strip).to_be_hidden()
            expect(back).to_have_count(0)  # not in the accessibility tree
            assert not strip.locator("button").evaluate(
                "(b) => { b.focus(); return b === b.getRootNode().activeElement }"
            ), f"the hidden strip's button takes the focus at y={y}"
        else:
            expect(strip).to_be_visible()
            assert abs(strip.bounding_box()["y"]) <= 1, (y, strip.bounding_box())
            shown_at.append(y)
    assert shown_at, "the strip never showed"
    places = page.evaluate("window.cpPlaces")
    for selector, ys in places.items():
        assert len(ys) == 1, f"{selector} moved while the page scrolled: {ys}"

    train = page.locator(".cp-section-train h2").first
    train.evaluate("(h) => h.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(300)
    counter = step_counter(page).bounding_box()
    assert counter["y"] + counter["height"] < 0  # the card has scrolled away
    box = strip.bounding_box()
    assert strip.is_visible() and abs(box["y"]) <= 1, box
    assert box["height"] <= 0.1 * height and box["x"] + box["width"] <= width, box
    expect(strip).to_contain_text(f"Step 1 / {TOTAL}: {STEPS[0].title[:20]}")
    expect(strip).to_contain_text("○ To do: Picked a pixel")
    assert re.search(r"\d / \d", step_counter(page).inner_text()).group(0) == f"1 / {TOTAL}"
    # What the page scrolls to lands below the strip: a heading, and a control the
    # keyboard reaches while it is under the strip.
    assert train.bounding_box()["y"] >= box["y"] + box["height"] - 0.5
    # A view open further down keeps the page long enough to scroll the Train button
    # under the strip on a tall tablet screen.
    page.locator(".cp-inside-choice button", has_text="Read the code").first.click()
    page.locator(".cp-code").first.wait_for()
    button = page.locator(".cp-train button").first
    previous = page.locator(".cp-seed input").first
    previous.focus()
    page.evaluate(f"window.scrollBy(0, {button.bounding_box()['y'] - 10})")
    assert button.bounding_box()["y"] < box["height"]  # under the strip now
    page.keyboard.press("Tab")
    assert button.evaluate("(b) => b === b.getRootNode().activeElement")
    assert button.bounding_box()["y"] >= box["height"], "the focused button is under the strip"
    sup.assert_no_horizontal_scroll(page)
    assert min(back.bounding_box()["width"], back.bounding_box()["height"]) >= TOUCH - 0.5

    # The button, by touch and by keyboard: the card in view, the focus on its counter.
    for press in (back.tap, lambda: (back.focus(), page.keyboard.press("Enter"))):
        train.evaluate("(h) => h.scrollIntoView({ block: 'start' })")
        press()
        page.wait_for_function(
            "(el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < 200; }",
            arg=step_counter(page).element_handle(),
        )
        assert step_counter(page).evaluate("(el) => el === el.getRootNode().activeElement")
    # The strip follows the task; the check stays in the card.
    r, c = brightest_pixel()
    pixel(page, r, c).tap()
    expect(strip).to_contain_text("✓ Task done: answer the check in the card", timeout=WAIT_MS)
    assert strip.locator("button").count() == 1
    sup.assert_accessible(page)

    if name == "tablet":  # wide enough for the lesson beside the playground: no strip
        page.set_viewport_size({"width": 1366, "height": 768})
        expect(strip).to_be_hidden()
        assert page.evaluate("document.documentElement.style.scrollPaddingTop") == ""


def test_on_a_phone_a_28_by_28_image_is_read_and_picked_through_a_close_up(new_context, open_app):
    """MNIST's 28×28 pixels cannot all be finger-sized on a phone: the whole picture,
    and a close-up of finger-sized cells showing the data's own values; a tap on the
    picture moves the close-up there, a tap on a cell picks it, buttons and the arrow
    keys move it."""
    from pycnn.datasets import info

    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = open_app(page=context.new_page())
    page.locator(".cp-dataset select").first.select_option(label=info("mnist").title)
    pixel(page, 14, 14).wait_for(timeout=60_000)  # MNIST's pixels (digits' are 8×8)
    expect(page.locator(".cp-pixels-close").first).to_be_attached()
    grid = sample_grid("mnist")
    cells = page.locator(".cp-pixel-grid .cp-pixel")
    readout = page.locator(".cp-pixel-readout").first

    def shown() -> dict[tuple[int, int], str]:
        found = cells.evaluate_all(
            "(cs) => cs.map((c) => [+c.dataset.row, +c.dataset.col, c.textContent])"
        )
        return {(r, c): text for r, c, text in found}

    def assert_cells_are_the_data() -> dict[tuple[int, int], str]:
        now = shown()
        assert now == {(r, c): f"{grid[r][c]:.2f}" for r, c in now}
        return now

    expect(cells).to_have_count(49)  # 7 × 7 (close_up_cells)
    for cell in cells.all():
        b = cell.bounding_box()
        assert min(b["width"], b["height"]) >= TOUCH - 0.5 and b["x"] + b["width"] <= 390, b
    assert (14, 14) in assert_cells_are_the_data()  # it opens on the middle of the image

    # A tap on the brightest part of the picture: the close-up moves there.
    r, c = brightest_pixel("mnist")
    picture = page.locator(".cp-pixel-picture").first
    picture.scroll_into_view_if_needed()
    p = picture.bounding_box()
    picture.tap(position={"x": (c + 0.5) * p["width"] / 28, "y": (r + 0.5) * p["height"] / 28})
    expect(readout).to_have_text(f"Row {r + 1}, column {c + 1}: {grid[r][c]:.2f}")
    assert (r, c) in assert_cells_are_the_data()
    page.locator(f'.cp-pixel-grid [data-row="{r}"][data-col="{c}"]').first.tap()
    feedback = page.locator(".cp-lesson-feedback").first
    expect(feedback).to_contain_text("brightest", timeout=WAIT_MS)
    expect(page.locator(".cp-milestones").first).to_contain_text("✓ Done", timeout=WAIT_MS)

    # The buttons move the close-up by half its size; the arrow keys by a pixel.
    where = page.locator(".cp-pixel-where").first
    before = where.inner_text()
    page.get_by_role("button", name="Move the close-up down", exact=True).tap()
    expect(where).not_to_have_text(before)
    rows = sorted({r for r, _c in assert_cells_are_the_data()})
    assert re.search(rf"rows {rows[0] + 1}–{rows[-1] + 1},", where.inner_text())
    page.locator('.cp-pixel-grid [tabindex="0"]').first.focus()
    r, c = (int(v) - 1 for v in re.findall(r"\d+", readout.inner_text())[:2])
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    c = min(c + 5, 27)
    expect(readout).to_have_text(f"Row {r + 1}, column {c + 1}: {grid[r][c]:.2f}")
    assert (r, c) in assert_cells_are_the_data()
    sup.assert_no_horizontal_scroll(page)
    assert sup.small_touch_targets(page) == []
    sup.assert_accessible(page)


# --------------------------------------------------------------------------- keyboard


def test_keyboard_only_walk_through_step_1(open_app):
    page = open_app()
    pixel(page, 0, 0).wait_for(timeout=60_000)  # the sample's values are in the grid
    grid = page.locator(".cp-pixel-grid").first
    for _ in range(80):  # Tab until the pixel grid has the focus
        page.keyboard.press("Tab")
        if grid.evaluate("(g) => g.contains(g.getRootNode().activeElement)"):
            break
    else:
        pytest.fail("Tab never reached the pixel grid")
    r, c = brightest_pixel()
    for _ in range(r):
        page.keyboard.press("ArrowDown")
    for _ in range(c):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".cp-pixel-readout").first).to_contain_text(f"Row {r + 1}, column {c + 1}")
    page.keyboard.press("Enter")
    expect(page.locator(".cp-lesson-feedback").first).to_contain_text("brightest", timeout=WAIT_MS)

    # On to the check question: Tab to the right answer, press it with the keyboard.
    target = answer_button(page, right(1))
    for _ in range(40):
        page.keyboard.press("Tab")
        if target.evaluate("(b) => b === b.getRootNode().activeElement"):
            break
    else:
        pytest.fail("Tab never reached the right answer")
    page.keyboard.press("Enter")
    expect(step_counter(page)).to_have_text(f"Step 2 / {TOTAL}", timeout=WAIT_MS)


# --------------------------------------------------------------------------- saved progress


def test_a_damaged_saved_record_is_reported_and_the_page_works(new_context, open_app):
    model = "?dataset=digits&layers=flatten,dense:16,dense:10:softmax"
    damaged = '{"v":1,"model":"' + model + '","step":4,"done":{"1":1'  # cut off
    context = new_context()
    seed_storage(context, storage_key("/"), damaged)
    page = open_app(page=context.new_page())
    message = page.locator(".cp-lesson-message").first
    expect(message).to_contain_text("damaged")
    expect(message).to_contain_text("Your model was kept")
    expect(step_counter(page)).to_have_text(f"Step 1 / {TOTAL}")
    expect(page.locator(".cp-summary tr.cp-row")).to_have_count(3)  # the kept model
    answer_button(page, wrong(1)).click()
    expect(page.locator(".cp-lesson-feedback").first).to_be_visible(timeout=WAIT_MS)
    record = stored(page)
    assert record["model"].startswith(model) and record["answers"] == {"1": [wrong(1)]}


def test_two_copies_on_one_host_keep_separate_progress(
    new_context, open_app, start_server, site_dir, tmp_path
):
    for course in ("course-a", "course-b"):
        (tmp_path / course).mkdir()
        (tmp_path / course / "cnn").symlink_to(site_dir, target_is_directory=True)
    server = start_server(tmp_path)
    context = new_context()
    page = open_app(base=server.url + "course-a/cnn/", page=context.new_page())
    finish_step_1(page)

    other = open_app(base=server.url + "course-b/cnn/", page=context.new_page())
    expect(step_counter(other)).to_have_text(f"Step 1 / {TOTAL}")
    keys = other.evaluate("() => Object.keys(localStorage).sort()")
    assert storage_key("/course-a/cnn/") in keys
    assert stored(other, "/course-a/cnn/")["step"] == 2
    assert storage_key("/course-b/cnn/") not in keys or stored(other, "/course-b/cnn/")["step"] == 1
