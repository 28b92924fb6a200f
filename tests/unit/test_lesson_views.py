"""The lesson panel without a browser: start-up from the saved progress and the link, the
learner's actions, what the page is told (blocks, hidden numbers, address, saved record),
and every step's view computed from the real model and data."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import quote, unquote

import numpy as np
import pytest
from bokeh.document import Document

pn = pytest.importorskip("panel")

from panel.io.location import Location
from panel.util import edit_readonly

from playground import runtime
from playground.components.layout import TOUCH
from playground.components.lesson import LessonPanel, lesson_address
from playground.components.lesson_html import strip_status
from playground.components.lesson_store import LessonStore
from playground.components.lesson_views import (
    PHONE_ROOM,
    WAITING,
    ViewInputs,
    close_up_cells,
    feature_map_items,
    sliding_filter,
    view_html,
)
from playground.components.lesson_widgets import parse_pick
from playground.components.shapeflow import shapeflow_svg
from playground.components.share import ShareLink
from playground.components.summary import summary_html
from playground.lesson import (
    STEPS,
    TOTAL,
    Lesson,
    Progress,
    Snapshot,
    dumps,
    live,
    loads,
    storage_key,
)
from playground.lesson.content import START_MODEL
from playground.presets import PRESETS
from playground.spec import KINDS, format_layers, parse_layers
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn.datasets import load

EVIL = "<script>alert(1)</script>"


class Page:
    """The playground's objects as app.py assembles them, at ``path`` + ``search``."""

    def __init__(self, search: str = "", path: str = "/cnn/"):
        self.location = Location()
        with edit_readonly(self.location):
            self.location.param.update(href=f"http://h{path}{search}", search=search, pathname=path)
        self.state = PlaygroundState()
        self.controller = TrainingController(self.state, dataset_loader=lambda n: load(n))
        self.share = ShareLink(state=self.state, location=self.location)
        self.panel = LessonPanel(state=self.state, controller=self.controller, share=self.share)

    def open(self, record: str = "") -> Page:
        """The page's script answers with what localStorage holds ("" = nothing)."""
        self.panel.store.stored = "1:" + quote(record, safe="")
        return self

    @property
    def lesson(self) -> Lesson:
        return self.panel.lesson

    @property
    def saved(self) -> dict | None:
        text = unquote(self.panel.store.saving)
        return json.loads(text) if text else None

    def layers(self) -> str:
        return format_layers(self.state.layers)

    def text(self, pane) -> str:
        return str(pane.object)

    def train(self) -> None:
        assert asyncio.run(self.controller.train()) == "done", self.controller.status


def right(step: int) -> int:
    return STEPS[step - 1].question.right_index


def wrong(step: int) -> int:
    return (right(step) + 1) % len(STEPS[step - 1].question.answers)


def brightest(page: Page) -> tuple[int, int]:
    grid = page.panel._view._pixels.values
    return live.brightest(grid)[1][0]


# --------------------------------------------------------------------------- start


def test_a_first_visit_asks_the_page_and_opens_step_1_with_the_first_model():
    page = Page()
    panel = page.panel
    assert panel.store.key == storage_key("/cnn/") and panel.store.asked == 1
    # Before the page has answered: a first visit's start, prepared for the first document
    # (the page keeps it hidden until the answer).
    assert not panel.ready and not panel.store.revealed
    assert page.lesson.step == 1 and page.state.query().startswith(START_MODEL)
    edits = []
    page.state.param.watch(edits.append, ["layers", "dataset", "unlocked_kinds"])
    page.open("")
    assert panel.ready and panel.store.revealed
    assert edits == []  # nothing changes: the first document was already right
    assert page.lesson.step == 1 and page.lesson.mode == "learn"
    assert page.state.query().startswith(START_MODEL)
    assert page.state.unlocked_kinds == ["flatten", "dense"]
    assert page.location.search == "?mode=learn&step=1"
    assert f"Step 1 / {TOTAL}" in page.text(panel._step_label)
    assert STEPS[0].title in page.text(panel._card)
    assert [b.name[:3] for b in panel._answers.objects] == ["A. ", "B. ", "C. ", "D. "]
    assert 'class="cp-unlocked">Flatten, Dense<' in page.text(panel._unlocked)
    assert page.text(panel._message_pane) == ""
    assert panel.store.saving == ""  # nothing the learner did yet: nothing overwritten
    assert panel._view.view == "pixel-grid" and len(panel._view._pixels.values) == 8


def test_the_record_the_loader_passed_is_in_the_first_document(monkeypatch):
    """The static site's loader reads localStorage before Python starts: a returning
    learner's step and model are applied when the panel is made, with no wait for the page."""
    progress = Progress(
        step=3,
        done={1: 1, 2: 3},
        answers={1: [right(1)], 2: [right(2)]},
        model="?dataset=digits&layers=conv2d:4:3,flatten,dense:10:softmax",
    )
    kept = {storage_key("/cnn/"): dumps(progress), storage_key("/other/"): "{}"}
    page_env = {"href": "http://h/cnn/", "pathname": "/cnn/", "cpStorage": kept}
    monkeypatch.setenv(runtime.PAGE_ENV, json.dumps(page_env))
    page = Page()
    panel = page.panel
    assert panel.ready and panel.store.revealed  # before the page has answered anything
    assert page.lesson.step == 3 and page.layers() == "conv2d:4:3,flatten,dense:10:softmax"
    assert page.state.unlocked_kinds == ["conv2d", "flatten", "dense"]
    page.open("")  # the page's own later reading changes nothing
    assert page.lesson.step == 3 and panel.store.saving == ""
    page.panel._answer(wrong(3))  # saving is on: the record was read
    assert page.saved["step"] == 3

    # Nothing kept for this copy: a first visit, ready at once as well.
    monkeypatch.setenv(runtime.PAGE_ENV, json.dumps({**page_env, "cpStorage": {}}))
    assert Page().panel.ready and Page().lesson.step == 1
    # The loader could not read storage: the page is asked after the first render.
    monkeypatch.setenv(runtime.PAGE_ENV, json.dumps({"href": "http://h/cnn/"}))
    assert not Page().panel.ready


def test_saved_progress_brings_back_the_step_the_model_and_the_log():
    progress = Progress(
        step=3,
        done={1: 1, 2: 3},
        answers={1: [right(1)], 2: [wrong(2), right(2)]},
        best={2: 0.31},
        model="?dataset=digits&layers=conv2d:4:3,flatten,dense:10:softmax&epochs=3",
        log=["Unlocked Conv2D: validation loss 0.31 < 0.50"],
    )
    page = Page().open(dumps(progress, saved_at=1_700_000_000))
    assert page.lesson.step == 3 and page.location.search == "?mode=learn&step=3"
    assert page.layers() == "conv2d:4:3,flatten,dense:10:softmax" and page.state.epochs == 3
    assert page.state.unlocked_kinds == ["conv2d", "flatten", "dense"]
    assert "LOG: Unlocked Conv2D: validation loss 0.31 &lt; 0.50" in page.text(page.panel._log)
    # step 2's check shows both answers tried
    page.panel._nav.value = 2
    names = [b.name for b in page.panel._answers.objects]
    assert names[right(2)].startswith(f"{'ABCD'[right(2)]}. Right: ")
    assert names[wrong(2)].startswith(f"{'ABCD'[wrong(2)]}. Not it: ")


def test_a_damaged_record_is_reported_keeps_the_model_and_is_not_overwritten_at_start():
    model = "?dataset=digits&layers=flatten,dense:16,dense:10:softmax"
    page = Page().open('{"v":1,"model":"' + model + '","step":4,')
    assert page.lesson.step == 1 and page.layers() == "flatten,dense:16,dense:10:softmax"
    message = page.text(page.panel._message_pane)
    assert "damaged" in message and "Your model was kept" in message
    assert page.panel.store.saving == ""
    page.panel._answer(wrong(1))  # the learner acts: now the fresh progress is saved
    assert page.saved["answers"] == {"1": [wrong(1)]}
    assert page.saved["model"].startswith(model)


def test_a_model_link_opens_free_play_with_every_block():
    layers = "conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    page = Page(f"?dataset=digits&layers={layers}").open("")
    assert page.lesson.mode == "free" and page.layers() == layers
    assert page.state.unlocked_kinds == list(KINDS)
    assert page.state.hidden_numbers == {}
    assert page.share.address is None and page.location.search == page.state.query()
    assert not page.panel._learning.visible
    assert page.panel._mode.name == "Back to the lesson"


def test_a_teacher_link_to_a_step_not_reached_shows_it_locked_with_the_way_there():
    page = Page("?mode=learn&step=5").open("")
    card = page.text(page.panel._card)
    assert STEPS[4].title in card and "This step is locked" in card
    assert "Step 5 opens once every step before it is complete" in card
    assert page.panel._back.visible and not page.panel._check.visible
    assert page.lesson.step == 1  # the progress is where it was
    page.panel._leave_locked()
    assert f"Step 1 / {TOTAL}" in page.text(page.panel._step_label)
    assert page.panel._check.visible


def test_unlock_all_stays_in_the_address_and_bad_link_values_are_named_safely():
    page = Page("?mode=learn&step=6&unlock=all").open("")
    assert page.lesson.step == 6 and page.location.search == "?mode=learn&step=6&unlock=all"
    assert page.state.unlocked_kinds == list(KINDS)
    page = Page(f"?mode={quote(EVIL)}&step=x").open("")
    message = page.text(page.panel._message_pane)
    assert "<script" not in message and "&lt;script&gt;" in message
    assert "step must be a whole number" in message


def test_a_page_that_never_answers_starts_fresh_and_saves_nothing():
    page = Page()
    page.panel.start_without_saved_progress()
    assert page.panel.ready and page.lesson.step == 1
    assert "could not read your saved progress" in page.text(page.panel._message_pane)
    page.panel._answer(wrong(1))
    assert page.panel.store.saving == ""  # a record the page could not read is never replaced
    page.open(dumps(Progress(step=2, done={1: 1}, answers={1: [right(1)]})))
    assert page.lesson.step == 1  # too late: the lesson has started


def test_what_the_browser_refuses_is_said_and_the_lesson_goes_on():
    page = Page().open("")
    page.panel.store.problem = quote("write:QuotaExceededError")
    message = page.text(page.panel._message_pane)
    assert "does not let the page keep your lesson progress (QuotaExceededError" in message
    page.panel._answer(right(1))
    assert page.lesson.progress.answers[1] == [right(1)]


# --------------------------------------------------------------------------- the learner's actions


def test_answers_pixels_and_the_saved_record_follow_the_learner():
    page = Page().open("")
    panel = page.panel
    panel._answers.objects[wrong(1)].clicks += 1
    feedback = page.text(panel._feedback)
    assert "cp-wrong" in feedback and STEPS[0].question.answers[wrong(1)].feedback[:40] in feedback
    panel._answers.objects[right(1)].clicks += 1
    assert "Finish the task" in page.text(panel._feedback)
    assert page.saved["answers"] == {"1": [wrong(1), right(1)]}
    r, c = brightest(page)
    panel._view._pixels.picked = f"{r},{c},1"  # what the page sends for a click
    assert page.lesson.step == 2 and page.location.search == "?mode=learn&step=2"
    assert "brightest value" in page.text(panel._feedback)
    assert page.saved["step"] == 2 and page.saved["done"] == {"1": 1}
    panel._view._pixels.picked = "99,99,2"  # outside the image: ignored
    panel._view._pixels.picked = "nonsense"
    assert page.lesson.step == 2


def test_training_on_digits_unlocks_conv2d_and_the_log_says_why():
    page = Page().open("")
    page.panel._view._pixels.picked = "{},{},1".format(*brightest(page))
    page.panel._answer(right(1))
    page.state.smart_add("dense")
    assert "✓ Done: A hidden Dense layer" in page.text(page.panel._task)
    page.train()
    log = page.text(page.panel._log)
    assert "LOG: Trained on digits for 5 epochs" in log
    assert "LOG: Unlocked Conv2D: validation loss 0." in log
    assert "conv2d" in page.state.unlocked_kinds
    assert "Conv2D, Flatten, Dense" in page.text(page.panel._unlocked)
    assert "your best here: 0." in page.text(page.panel._task)
    assert page.saved["best"]["2"] < 0.5


def test_a_guessed_number_stays_hidden_everywhere_until_the_guess():
    progress = Progress(step=3, done={1: 1, 2: 3}, answers={1: [right(1)], 2: [right(2)]})
    progress.model = "?dataset=digits&layers=flatten,dense:32,dense:10:softmax"
    page = Page().open(dumps(progress))
    page.state.remove(1)
    page.state.smart_add("conv2d")
    assert page.layers() == "conv2d:8:3,flatten,dense:10:softmax"
    assert page.state.hidden_numbers == {0: "params"}
    table = summary_html(page.state.analysis, page.state.hidden_numbers)
    assert ">80<" not in table and 'cp-total-params">?<' in table
    assert "80 parameters" not in page.text(page.panel._log)
    page.panel._guess.value = 72
    page.panel._guess_button.clicks += 1
    assert "Not quite" in page.text(page.panel._feedback)
    assert page.state.hidden_numbers == {}  # a guess was made: the table may show it
    assert ">80<" in summary_html(page.state.analysis, page.state.hidden_numbers)
    page.panel._guess.value = 80
    page.panel._guess_button.clicks += 1
    assert "Right: Conv2D(8, 3×3) has 80 parameters" in page.text(page.panel._feedback)


def test_flatten_s_length_is_hidden_in_the_table_and_the_shape_flow_on_step_7():
    page = Page("?mode=learn&step=7&unlock=all").open("")
    page.state.apply_query("?dataset=digits&layers=conv2d:8:3,maxpool:2,flatten,dense:10:softmax")
    assert page.state.hidden_numbers == {2: "output_shape"}
    table = summary_html(page.state.analysis, page.state.hidden_numbers)
    assert "(None, 72)" not in table and "(None, 3, 3, 8)" in table
    assert ">72<" not in shapeflow_svg(page.state.analysis, page.state.hidden_numbers)
    assert "? (type your guess below)" in view_html("flatten-length", inputs(page))


def test_free_play_and_back_keep_the_lesson_model():
    page = Page().open("")
    page.panel._mode.clicks += 1
    assert page.lesson.mode == "free" and page.state.unlocked_kinds == list(KINDS)
    assert page.share.address is None and "layers=flatten,dense:10:softmax" in page.location.search
    page.state.smart_add("dropout")
    page.state.load_preset("keras")
    assert page.state.dataset == "mnist"
    page.panel._mode.clicks += 1
    assert page.lesson.mode == "learn" and page.state.query().startswith(START_MODEL)
    assert page.state.unlocked_kinds == ["flatten", "dense"]
    assert page.location.search == "?mode=learn&step=1"


def test_start_over_asks_first_and_forgets_everything():
    progress = Progress(step=2, done={1: 1}, answers={1: [right(1)]})
    progress.model = "?dataset=digits&layers=flatten,dense:64,dense:10:softmax"
    page = Page().open(dumps(progress))
    panel = page.panel
    panel._start_over.clicks += 1
    assert panel._confirm.visible and not panel._start_over.visible
    panel._confirm_no.clicks += 1
    assert not panel._confirm.visible and page.lesson.step == 2
    panel._start_over.clicks += 1
    panel._confirm_yes.clicks += 1
    assert page.lesson.step == 1 and page.state.query().startswith(START_MODEL)
    assert page.saved["step"] == 1 and page.saved["answers"] == {}
    assert page.saved["log"] == [f"Started over at step 1 / {TOTAL}."]


def test_presets_with_locked_blocks_are_refused_in_the_lesson():
    page = Page().open("")
    for key, preset in PRESETS.items():
        kinds = {b.kind for b in parse_layers(preset.layers)}
        assert page.state.preset_allowed(key) == (kinds <= {"flatten", "dense"})
    before = page.layers()
    page.state.load_preset("keras")
    assert page.layers() == before


# --------------------------------------------------------------------------- the step strip


def test_the_step_strip_follows_the_card_on_screen():
    page = Page().open("")
    strip = page.panel.strip
    assert strip.visible and strip.label == f"1 / {TOTAL}" and strip.title == STEPS[0].title
    assert not strip.done and strip.status == "○ To do: Picked a pixel with the highest value"
    page.panel._view._pixels.picked = "{},{},1".format(*brightest(page))
    assert strip.done and strip.status == "✓ Task done: answer the check in the card."
    page.panel._answer(right(1))
    assert strip.label == f"2 / {TOTAL}" and strip.title == STEPS[1].title
    page.panel._nav.value = 1  # a step already complete, from the menu
    assert strip.label == f"1 / {TOTAL}" and strip.status == "✓ Step complete." and strip.done
    page.panel._nav.value = 5  # not reached: shown locked
    assert strip.label == f"5 / {TOTAL}" and strip.status.startswith("Locked")
    page.panel._mode.clicks += 1  # free play: no step to keep in view
    assert not strip.visible


def test_strip_status_names_the_first_milestone_left():
    page = Page("?mode=learn&step=2&unlock=all").open("")
    card = page.lesson.card(2)
    assert len(card.milestones) == 2 and not any(met for _t, met in card.milestones)
    done, text = strip_status(card)
    assert not done and text == f"○ To do: {card.milestones[0][0]} and 1 more"
    page.state.smart_add("dense")  # the hidden Dense: one milestone met, the loss left
    done, text = strip_status(page.lesson.card(2))
    assert not done and text == "○ To do: Validation loss below 0.50"


# --------------------------------------------------------------------------- the pixel reader


def test_close_up_cells_keep_every_cell_finger_sized_on_a_phone():
    assert close_up_cells(8) == 0  # digits: every pixel a cell, 340 / 8 = 42 px
    for width in (9, 28, 32, 200):
        cells = close_up_cells(width)
        assert cells % 2 == 1 and cells * TOUCH <= PHONE_ROOM, (width, cells)
        assert (cells + 2) * 48 > PHONE_ROOM  # no room for a ring more of cells
    assert close_up_cells(PHONE_ROOM // TOUCH) == 0 and close_up_cells(PHONE_ROOM // TOUCH + 1)


@pytest.mark.parametrize("dataset", ["digits", "mnist", "fashion"])
def test_step_1_shows_the_sample_as_it_is_with_a_close_up_where_it_is_too_big(dataset):
    page = Page().open("")
    page.state.dataset = dataset
    panel = page.panel
    x_test = load(dataset)[1][0]
    panel._sample, panel._sample_for = x_test[0], dataset
    panel._render_view()
    pixels = panel._view._pixels
    h, w = x_test.shape[1:3]
    assert np.allclose(pixels.values, x_test[0, :, :, 0], atol=0.005)  # the grid as shown
    assert pixels.close_up == close_up_cells(w) and (pixels.close_up > 0) == (w > 8)
    assert pixels.label == f"Sample image: {h}×{w} pixel values"
    r, c = live.brightest(pixels.values)[1][-1]
    pixels.picked = f"{r},{c},1"  # a pick in the close-up is a pixel of the whole image
    assert page.lesson.progress.task_done(1)


def _elements(html: str) -> list:
    """Each element of ``html``: its tag, its classes bar the ones that mark the sample's top
    class and the wait, and its width and height."""
    out = []
    for tag, attrs in re.findall(r"<(\w+)([^>]*)>", html):
        classes = re.search(r"class=[\"']([^\"']*)", attrs)
        marks = set(classes[1].split()) - {"cp-top", "cp-waiting"} if classes else set()
        size = re.findall(r'(?:width|height)="(\d+)"', attrs)
        out.append((tag, sorted(marks), size))
    return out


def _view_state(view) -> dict:
    """What decides the size of the view on screen (not the sample's own numbers)."""
    pixels, slide, maps = view._pixels, view._slide, view._maps
    return {
        "caption": view._caption.object,
        "shown": [w.visible for w in (view._html, pixels, slide, maps)],
        "html": _elements(view._html.object),
        "pixels": (np.shape(pixels.values), pixels.close_up, pixels.label),
        "slide": (np.shape(slide.image), np.shape(slide.output), slide.kernel, slide.pad),
        "maps": [[(p["width"], p["height"]) for p in item["pictures"]] for item in maps.items],
    }


@pytest.mark.parametrize("step", [1, 3, 5, 6, 8])
@pytest.mark.parametrize("dataset", ["digits", "mnist"])
def test_the_sample_views_are_laid_out_at_their_size_before_the_sample_arrives(step, dataset):
    """Steps 1, 3, 5, 6 and 8 show the sample image: before it arrives their view is computed
    on a blank image of its shape, hidden under a status line, so that it already has the
    caption, pictures, close-up and rows it will have; only the numbers change when it
    arrives, and nothing in it can be picked until then."""
    page = Page(f"?mode=learn&step={step}&unlock=all").open("")
    panel, view = page.panel, page.panel._view
    widget = {1: view._pixels, 3: view._slide, 5: view._maps}.get(step)
    root = widget.get_root(Document()) if widget else None  # drawn in a page
    if step == 1:
        assert len(root.data.values) == 8  # with the digits' values
    page.state.apply_query(f"?dataset={dataset}&layers=conv2d:8:3,flatten,dense:10:softmax")
    panel._sample_for = None  # the sample of this dataset is still on its way
    panel._render_view()
    waiting = _view_state(view)
    h, w = page.state.info.input_shape[:2]
    if widget is None:  # a static view: the status line over the hidden view
        html = view._html.object
        assert "cp-waiting" in html and f'role="status">{WAITING}</p>' in html
    else:
        assert widget.visible and not view._html.visible
        assert widget.waiting == WAITING and root.data.waiting == WAITING  # the page is told
    assert "Loading" not in view._caption.object
    if step == 1:
        pixels = view._pixels
        assert np.shape(pixels.values) == (h, w) == np.shape(root.data.values)
        assert pixels.close_up == close_up_cells(w)
    pick = {1: "0,0,1", 5: "0,1"}.get(step)
    if pick:
        revision = page.lesson.revision
        widget.picked = pick  # nothing to pick while the view waits
        assert page.lesson.revision == revision

    x_test, y_test = load(dataset)[1]
    panel._sample, panel._sample_for = x_test[0], dataset
    panel._render_view()
    assert _view_state(view) == waiting
    assert WAITING not in view._html.object
    assert not any(v.waiting for v in (view._pixels, view._slide, view._maps))
    if widget is not None:
        assert root.data.waiting == ""
    if step == 1:
        assert np.allclose(view._pixels.values, x_test[0, :, :, 0], atol=0.005)
    if step == 8:
        names = page.state.info.class_names
        assert f"True class of this image: {names[int(y_test[0])]}." in view._html.object


# --------------------------------------------------------------------------- the store


def test_the_store_sends_what_dumps_writes_and_reads_it_back():
    store = LessonStore(key=storage_key("/a/"))
    assert store.record is None and store.refusal is None
    lesson = Lesson(Progress(step=2, done={1: 1}, answers={1: [1]}, log=["é & <b>"]))
    store.save(lesson)
    assert re.fullmatch(r"[A-Za-z0-9%_.~-]+", store.saving)  # nothing Panel cleans as HTML
    assert loads(unquote(store.saving)).progress == lesson.progress
    store.stored = "1:"
    assert store.record == ""
    store.stored = "2:" + quote("{}", safe="")
    assert store.record == "{}"
    store.problem = quote("read:SecurityError")
    assert "does not let the page read your lesson progress (SecurityError" in store.refusal


def test_lesson_address():
    lesson = Lesson(Progress(step=1))
    assert lesson_address(lesson) == "?mode=learn&step=1"
    lesson.unlock_all = True
    assert lesson_address(lesson) == "?mode=learn&step=1&unlock=all"


# --------------------------------------------------------------------------- the views


def inputs(page: Page, trained: bool = False) -> ViewInputs:
    (_x, _y), (x_test, y_test), names = load(page.state.dataset)
    model = page.controller.ensure_model() if page.state.analysis.valid else None
    return ViewInputs(
        snapshot=Snapshot.from_state(page.state),
        sample=x_test[0],
        label=int(y_test[0]),
        class_names=tuple(names),
        model=model,
        trained=trained,
        hidden=page.lesson.hidden_number() if page.lesson else None,
    )


@pytest.mark.parametrize("dataset", ["digits", "mnist"])
def test_the_static_views_quote_the_model_s_own_numbers(dataset):
    page = Page()
    page.state.apply_query(
        f"?dataset={dataset}&layers=conv2d:8:3:strides=2,flatten,dense:10:softmax"
    )
    h, w, c = page.state.info.input_shape
    dense = view_html("dense-count", inputs(page))
    assert f"{h * w * c:,} × 1,000 = <span class='cp-num'>{h * w * c * 1000:,}</span>" in dense
    assert "120,000,000" in dense and "Conv2D(8, 3×3, stride 2): <span class='cp-num'>80<" in dense
    table = view_html("shape-table", inputs(page))
    valid2 = live.shape_table((h, w, c))[("valid", 2)]
    assert f'<td class="cp-yours">{valid2} (yours)</td>' in table
    th, tw = live.target_shape((h, w, c))
    assert f"<span class='cp-num'>{th}×{tw}</span>" in table
    pool = view_html("pool-shift", inputs(page))
    shift = live.pool_shift(inputs(page).sample[..., 0])
    assert f"{shift.unchanged} of {shift.total}</span> pooled values stayed" in pool
    flat = view_html("flatten-length", inputs(page))
    flat_len = page.state.analysis.rows[1].output_shape[0]
    assert f"{flat_len:,}</span> values" in flat


def test_the_softmax_view_shows_the_model_s_probabilities():
    page = Page()
    page.state.apply_query("?dataset=digits&layers=conv2d:8:3,flatten,dense:10:softmax")
    given = inputs(page)
    html = view_html("softmax-output", given)
    probabilities = given.model.predict(given.sample[None])[0]
    top = int(np.argmax(probabilities))
    assert html.count("<li") == 10 and f'<li class="cp-top"><span>{top}</span>' in html
    assert "Together: 1.00" in html and "Not trained yet" in html
    assert f"True class of this image: {given.label}." in html


def test_the_sliding_filter_is_the_model_s_first_filter_computed_by_pycnn():
    page = Page()
    page.state.apply_query(
        "?dataset=digits&layers=conv2d:4:3:padding=same:strides=2,flatten,dense:10:softmax"
    )
    given = inputs(page)
    caption, values = sliding_filter(given)
    assert "Filter 1 of your Conv2D(4, 3×3, stride 2, same)" in caption
    layer = given.model.layers[0]
    kernel, bias = layer.params["kernel"], layer.params["bias"]
    assert np.allclose(values["kernel"], kernel[:, :, 0, 0])
    assert values["pad"] == [0, 0] and values["stride"] == 2  # 8 → 4: TF pads after only
    out = np.asarray(values["output"])
    relu = given.model.activations(given.sample[None])[layer.name][0]  # ReLU(z) of layer 1
    assert np.allclose(np.maximum(out, 0), relu[:, :, 0], atol=1e-5)
    assert len(values["output_colours"]) == out.size and values["bias"] == pytest.approx(bias[0])
    # Without a Conv2D: the example filter on the sample image.
    page.state.apply_query("?dataset=digits&layers=flatten,dense:10:softmax")
    caption, values = sliding_filter(inputs(page))
    assert "example" in caption and values["kernel"] == [list(r) for r in live.EXAMPLE_KERNEL]


@pytest.mark.parametrize(
    ("padding", "stride"), [("valid", 1), ("same", 1), ("same", 2), ("valid", 2)]
)
def test_live_slide_matches_a_plain_loop(padding, stride):
    rng = np.random.default_rng(3)
    image, kernel = rng.random((7, 6)), rng.standard_normal((3, 3))
    s = live.slide(image, kernel, 0.5, stride, padding)
    top, left = s.pad
    for r, row in enumerate(s.output):
        for c, value in enumerate(row):
            total = 0.5
            for i in range(3):
                for j in range(3):
                    y, x = r * stride + i - top, c * stride + j - left
                    if 0 <= y < 7 and 0 <= x < 6:
                        total += image[y, x] * kernel[i, j]
            assert value == pytest.approx(total, abs=1e-5)


def test_feature_maps_are_pickable_and_a_pick_reaches_the_lesson():
    page = Page("?mode=learn&step=5&unlock=all").open("")
    page.state.apply_query("?dataset=digits&layers=conv2d:6:3,flatten,dense:10:softmax")
    caption, items, kernel = feature_map_items(inputs(page))
    assert len(items) == 6 and kernel.shape == (3, 3, 1, 6)
    for item in items:  # each picture with its size, for the page to lay it out at once
        for picture in item["pictures"]:
            assert picture["src"].startswith("data:image/png;base64,")
            assert picture["width"] > 0 and picture["height"] > 0
    assert "6 feature maps of your Conv2D(6, 3×3)" in caption
    panel = page.panel
    panel._sample = inputs(page).sample
    panel._sample_for = "digits"
    panel._render_view()
    assert panel._view.view == "feature-maps" and panel._view._maps.visible
    scores = [live.edge_score(kernel[..., i]) for i in range(6)]
    best = int(np.argmax(scores))
    panel._view._maps.picked = f"{best},1"
    assert f"Map {best + 1}" in page.text(panel._feedback)


def test_parse_pick():
    assert parse_pick("3,5,7") == (3, 5)
    assert parse_pick("2,1") == (2,)
    assert parse_pick("") is None and parse_pick("a,b") is None and parse_pick("4") is None
