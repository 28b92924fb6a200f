"""Accessibility of the live page, measured the way outside auditors do, and by keyboard.

axe-core (pinned in runtime.lock.json, injected as a script, no network) audits the
whole page, Panel's shadow roots included: before, during and after a training run,
with a model that has a problem (marked rows, fix buttons), and with each "See inside
the network" view open before and after training; the loader's offer of a new version
too. A nameless button planted inside a shadow root is found, which shows the audit
reaches the components. A keyboard-only learner moves a layer, edits it, trains and
opens a view, finding every control by its spoken name and always seeing where the
focus is.
"""

from __future__ import annotations

import contextlib
import re
import time

import e2e_support as sup
import pytest

pytestmark = pytest.mark.e2e

# The element that has the keyboard focus, looking through shadow roots.
FOCUSED_JS = """el => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a === el;
}"""


def _summary_kinds(page) -> list[str]:
    return [
        re.search(r"\((\w+)\)", row.locator("td").nth(1).inner_text()).group(1)
        for row in page.locator(".cp-summary tr.cp-row").all()
    ]


def _wait_kinds(page, expected: list[str], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(Exception):  # the table was redrawn while read
            if _summary_kinds(page) == expected:
                return
        assert time.monotonic() < deadline, f"summary shows {_summary_kinds(page)}, not {expected}"
        page.wait_for_timeout(100)


def _tab_to(page, target, max_presses: int = 120) -> int:
    """Press Tab until ``target`` has the keyboard focus; return how many presses it took."""
    for presses in range(1, max_presses + 1):
        page.keyboard.press("Tab")
        if target.evaluate(FOCUSED_JS):
            return presses
    raise AssertionError(f"Tab never reached {target} in {max_presses} presses")


def _focus_ring(target) -> tuple[str, float]:
    return target.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )


def test_no_serious_problem_before_during_and_after_training(open_app):
    # One image per step at a small rate: a run long enough to be audited while it trains,
    # however fast the engine gets.
    page = open_app(sup.free_play("&epochs=100&batch=1&lr=0.001"))
    before = sup.assert_accessible(page)
    assert before["passes"] >= 20, before  # axe really audited the page (rules that passed)

    page.get_by_role("button", name="Train", exact=True).click()
    sup.wait_text(page.locator(".cp-status"), r"^Epoch ([2-9]|\d\d)/100", timeout_s=60)
    sup.assert_accessible(page)  # Stop enabled, settings locked, the plots drawing

    page.get_by_role("button", name="Stop", exact=True).click()
    sup.wait_text(page.locator(".cp-status"), r"^Stopped", timeout_s=60)
    sup.assert_accessible(page)
    # The plots in words: their last points, as a screen reader gets them.
    text = page.locator(".cp-plot-text").first.inner_text()
    assert re.search(r"After epoch \d+: loss training \d\.\d+, validation \d\.\d+", text), text


def test_a_model_with_a_problem_is_shown_accessibly_too(open_app):
    page = open_app(
        "?dataset=digits&layers=conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax"
    )
    page.locator(".cp-fix button").first.wait_for(state="visible")
    sup.assert_accessible(page)
    # The marked layer says so in words, not only in red.
    assert page.locator(".cp-block-problem").all_inner_texts() == ["⚠ has a problem"]
    row = page.locator(".cp-summary tr.cp-row-error").first
    assert row.get_by_role("img", name="has a problem").count() == 1


def test_the_audit_looks_inside_panels_shadow_roots(open_app):
    """Plant a button with no name two shadow roots deep: axe must report it, naming the path."""
    page = open_app(sup.free_play())
    sup.assert_accessible(page)
    depth = page.locator(".cp-train").first.evaluate(
        """host => {
          const button = document.createElement("button");
          button.className = "cp-planted";
          host.shadowRoot.append(button);
          let depth = 1;
          for (let n = host; n.getRootNode() instanceof ShadowRoot; n = n.getRootNode().host) depth++;
          return depth;
        }"""
    )
    assert depth >= 2, "the Train button's host was expected inside another shadow root"
    results = sup.run_axe(page)
    nameless = [
        node for v in results["violations"] if v["id"] == "button-name" for node in v["nodes"]
    ]
    assert len(nameless) == 1, sup.describe_axe_violations(results)
    assert nameless[0]["impact"] == "critical"
    [path] = nameless[0]["target"]  # a node in shadow DOM: one selector per tree, host first
    assert isinstance(path, list) and len(path) == depth + 1 and path[-1] == ".cp-planted", path

    page.locator(".cp-planted").evaluate("el => el.remove()")
    sup.assert_accessible(page)


def test_keyboard_only_learner_moves_edits_and_trains(open_app):
    """Tab (never a click) to the controls, found by the names a screen reader says."""
    page = open_app(sup.free_play())
    _wait_kinds(page, ["Conv2D", "MaxPooling2D", "Flatten", "Dense"])

    move_up = page.get_by_role("button", name="Move layer 2 up", exact=True)
    _tab_to(page, move_up)
    style, width = _focus_ring(move_up)
    assert style == "solid" and width >= 2, f"focus outline {style} {width}px"
    page.keyboard.press("Enter")
    _wait_kinds(page, ["MaxPooling2D", "Conv2D", "Flatten", "Dense"])

    # The Conv2D block is layer 2 now: its Filters menu changes with the arrow keys.
    filters = page.locator(".cp-block-conv2d .cp-arg-filters select").first
    _tab_to(page, filters)
    before = filters.input_value()
    page.keyboard.press("ArrowDown")
    chosen = filters.input_value()
    assert chosen != before
    deadline = time.monotonic() + 20
    while f"conv2d:{chosen}:3" not in page.url:
        assert time.monotonic() < deadline, f"the edit to {chosen} filters never reached the model"
        page.wait_for_timeout(100)

    train = page.get_by_role("button", name="Train", exact=True)
    _tab_to(page, train)
    assert _focus_ring(train)[0] == "solid"
    page.keyboard.press("Enter")
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=120)


def test_the_offer_of_a_new_version_is_readable_and_fits_a_phone(new_context, open_app):
    """The notice the loader shows when a new build is ready (tests/e2e/test_offline_updates.py
    makes it appear for real): its own markup and styles, shown on a phone."""
    context = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = open_app(sup.free_play(), page=context.new_page())
    page.evaluate("document.getElementById('cp-update-notice').hidden = false")
    notice = page.locator("#cp-update-notice")
    assert notice.is_visible()
    sup.assert_accessible(page, "#cp-update-notice")
    for name in ("Reload", "Not now"):
        box = notice.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["height"] >= 40 - 0.5 and box["x"] + box["width"] <= 390, (name, box)
    sup.assert_no_horizontal_scroll(page)


# --------------------------------------------------------------------------- See inside

#: Each "See inside the network" view: its button's label and the element it shows.
INSIDE_VIEWS = {
    "Filters": ".cp-filters",
    "Feature maps": ".cp-featuremaps",
    "Test results": ".cp-results",
    "Read the code": ".cp-code",
    "Draw to predict": ".cp-draw",
}


def _inside_button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def _audit_every_inside_view(page, when: str, views: dict[str, str] = INSIDE_VIEWS) -> None:
    for label, marker in views.items():
        _inside_button(page, label).click()
        page.locator(marker).first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(500)  # the view's first refresh reaches the page
        results = sup.run_axe(page)
        found = sup.describe_axe_violations(results)
        assert not found, f"{when}, view {label!r}: axe-core {results['version']} found:\n{found}"


def test_every_see_inside_view_passes_the_audit_before_and_after_training(open_app):
    page = open_app(sup.free_play("&epochs=2"))
    _audit_every_inside_view(page, "before training")
    page.get_by_role("button", name="Train", exact=True).click()
    sup.wait_text(page.locator(".cp-status"), r"^Finished", timeout_s=180)
    # The test results of the trained model: a confusion matrix and the mistakes.
    _audit_every_inside_view(
        page, "after training", {**INSIDE_VIEWS, "Test results": ".cp-confusion"}
    )


def test_keyboard_reaches_the_see_inside_views(open_app):
    page = open_app(sup.free_play())
    code = _inside_button(page, "Read the code")
    _tab_to(page, code, max_presses=400)
    assert _focus_ring(code)[0] == "solid"
    page.keyboard.press("Enter")
    page.locator(INSIDE_VIEWS["Read the code"]).first.wait_for(state="visible", timeout=60_000)


# --------------------------------------------------------------------------- the lesson


def test_every_lesson_step_passes_the_audit(open_app):
    """The lesson panel beside the playground, on each of its steps (a teacher's link opens
    them all): the card, its live picture, the task and the check question."""
    page = open_app("?mode=learn&step=1&unlock=all")
    counter = page.locator(".cp-lesson-step").first
    menu = page.locator(".cp-lesson-nav select").first
    total = int(re.search(r"/ (\d+)", sup.wait_text(counter, r"Step 1 / \d+")).group(1))
    for step in range(1, total + 1):
        if step > 1:
            menu.select_option(index=step - 1)
            sup.wait_text(counter, rf"Step {step} / {total}")
        page.locator(".cp-lesson-check button").first.wait_for(state="visible")
        page.wait_for_timeout(500)  # the step's picture is drawn
        results = sup.run_axe(page)
        found = sup.describe_axe_violations(results)
        assert not found, f"step {step}: axe-core {results['version']} found:\n{found}"
    # A wrong answer's feedback is part of the page too.
    page.locator(".cp-lesson-check button").first.click()
    page.locator(".cp-lesson-feedback").first.wait_for(state="visible")
    sup.assert_accessible(page)
