"""Playground components without a browser: they drive the state and show text safely."""

from __future__ import annotations

import json
import re

import pytest

pn = pytest.importorskip("panel")

from panel.io.location import Location
from panel.util import edit_readonly

from playground import runtime
from playground.components.builder import Builder
from playground.components.shapeflow import shapeflow_svg
from playground.components.share import ShareLink
from playground.components.summary import ModelProblems, summary_html
from playground.components.trainer import Trainer
from playground.spec import format_layers, parse_layers
from playground.state import DEFAULT_LAYERS, PRESETS, PlaygroundState
from playground.training import TrainingController

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _location(href: str = "", search: str = "") -> Location:
    loc = Location()
    with edit_readonly(loc):
        loc.param.update(href=href, search=search)
    return loc


def _no_markup_from(text_html: str) -> None:
    assert "<script" not in text_html and "<img" not in text_html.replace('<img src="data:', "")


# --------------------------------------------------------------------------- share


def test_link_known_at_start_is_applied_and_edits_write_the_address():
    keras = PRESETS["keras"].layers
    loc = _location(
        "http://host/app?dataset=mnist&layers=" + keras, f"?dataset=mnist&layers={keras}"
    )
    state = PlaygroundState()
    share = ShareLink(state=state, location=loc)
    assert share.ready and state.dataset == "mnist" and state.analysis.total_params == 34_826
    state.remove(5)  # the Dropout
    assert "dropout" not in loc.search and loc.search == state.query()
    assert share._link.value == "http://host/app" + state.query()


def test_link_arriving_after_render_is_applied_then_ready():
    """The pyodide-worker order: the address reaches Python after the first render."""
    loc = _location()
    state = PlaygroundState()
    share = ShareLink(state=state, location=loc)
    state.update(0, filters=4)  # before the address is known: must not overwrite it
    assert loc.search == ""
    with edit_readonly(loc):
        loc.param.update(
            href="http://h/?layers=flatten,dense:10:softmax",
            search="?layers=flatten,dense:10:softmax",
        )
    assert share.ready
    assert format_layers(state.layers) == "flatten,dense:10:softmax"


def _page_env(monkeypatch, href: str, search: str, **fields) -> None:
    page = {
        "href": href,
        "hostname": "h",
        "pathname": "/",
        "protocol": "http:",
        "port": "",
        "search": search,
        "hash": "",
        "origin": "http://h",  # window.location as JSON also has these, which Location has not
        "host": "h",
        **fields,
    }
    monkeypatch.setenv(runtime.PAGE_ENV, json.dumps(page))


def test_page_address_passed_by_the_loader_is_applied_before_the_first_render(monkeypatch):
    """worker.js hands Python the page's window.location: the first document shows the link."""
    _page_env(
        monkeypatch, "http://h/?layers=flatten,dense:10:softmax", "?layers=flatten,dense:10:softmax"
    )
    loc = _location()
    state = PlaygroundState()
    share = ShareLink(state=state, location=loc)
    assert share.ready and format_layers(state.layers) == "flatten,dense:10:softmax"
    assert (loc.href, loc.hostname, loc.protocol) == (
        "http://h/?layers=flatten,dense:10:softmax",
        "h",
        "http:",
    )
    assert share._link.value == "http://h/" + state.query()
    state.update(1, units=12)  # edits write the address as usual
    assert "dense:12" in loc.search


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "[1, 2]",
        '{"href": 5}',
        '{"search": "?layers=x"}',
        '{"href": "http://h/", "search": "no question mark"}',
    ],
)
def test_unusable_page_address_changes_nothing(monkeypatch, raw):
    monkeypatch.setenv(runtime.PAGE_ENV, raw)
    loc = _location()
    assert not runtime.fill_location_from_page(loc)
    assert (loc.href, loc.search) == ("", "")


def test_work_after_first_render_waits_for_the_document_to_be_drawn():
    from bokeh.document import Document
    from bokeh.events import DocumentReady
    from panel.io.state import set_curdoc

    ran: list[str] = []
    doc = Document()
    with set_curdoc(doc):
        runtime.after_first_render(lambda: ran.append("first"))
        runtime.after_first_render(lambda: ran.append("second"))
        assert ran == []
        doc.callbacks.trigger_event(DocumentReady())
        assert ran == ["first", "second"]
        runtime.after_first_render(lambda: ran.append("later"))  # already drawn: at once
        assert ran == ["first", "second", "later"]
    runtime.after_first_render(lambda: ran.append("no document"))
    assert ran[-1] == "no document"


def test_work_asked_for_after_the_first_render_runs_at_once():
    """The worker without the page address: DocumentReady fires before the app asks."""
    from bokeh.document import Document
    from bokeh.events import DocumentReady
    from panel.io.state import set_curdoc

    ran: list[str] = []
    doc = Document()
    with set_curdoc(doc):
        runtime.watch_first_render()  # at start-up
        doc.callbacks.trigger_event(DocumentReady())
        runtime.after_first_render(lambda: ran.append("preview"))
        assert ran == ["preview"]


def test_malformed_link_shows_escaped_text_and_the_default_model():
    search = "?layers=conv2d:8:3," + EVIL + "&dataset=" + EVIL
    state = PlaygroundState()
    share = ShareLink(state=state, location=_location("http://h/" + search, search))
    assert format_layers(state.layers) == DEFAULT_LAYERS
    html = share._problems.object
    _no_markup_from(html)
    assert "&lt;script&gt;" in html and "token 2" in html
    assert "dataset must be one of" in html


# --------------------------------------------------------------------------- summary / problems


def test_summary_marks_the_offending_row_and_escapes_messages():
    state = PlaygroundState()
    state.layers = parse_layers("conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax")
    html = summary_html(state.analysis)
    rows = re.findall(r'<tr class="([^"]*)" data-index="(\d)"', html)
    assert ("cp-row cp-row-error", "2") in rows
    assert html.count("cp-row-message") == 1
    # the layers after it are still computed (as if it were absent), and the total says so
    assert "Total params (without the invalid layer): " in html and 'cp-total-params">810<' in html


def test_problems_box_offers_fixes_that_work():
    state = PlaygroundState()
    state.layers = parse_layers("conv2d:8:3,dense:10:softmax")
    box = ModelProblems(state=state)
    assert box._box.visible
    [flatten, _remove] = box._fixes.objects
    flatten.clicks += 1
    assert state.analysis.valid and not box._box.visible


# --------------------------------------------------------------------------- builder


def test_builder_add_edit_duplicate_move_remove_undo():
    state = PlaygroundState()
    builder = Builder(state=state)
    assert len(builder._editors) == 4
    [add_dropout] = [b for b in builder._palette.objects if "cp-add-dropout" in b.css_classes]
    add_dropout.clicks += 1
    assert [b.kind for b in state.layers] == ["conv2d", "maxpool", "flatten", "dropout", "dense"]
    assert len(builder._editors) == 5
    builder._editors[0].widgets["filters"].value = 16
    assert state.layers[0].args["filters"] == 16
    builder._editors[0].dup.clicks += 1
    assert [b.kind for b in state.layers][:2] == ["conv2d", "conv2d"]
    builder._editors[1].down.clicks += 1
    assert state.layers[2].kind == "conv2d"
    builder._editors[2].remove.clicks += 1
    assert len(state.layers) == 5
    builder._undo.clicks += 1
    assert len(state.layers) == 6 and len(builder._editors) == 6


def test_builder_offers_only_sensible_values_and_keeps_odd_link_values():
    state = PlaygroundState()
    state.layers = parse_layers("conv2d:13:3,maxpool:2:strides=1,flatten,dense:10:softmax")
    builder = Builder(state=state)
    filters = builder._editors[0].widgets["filters"]
    assert 13 in filters.options.values() and filters.value == 13
    padding = builder._editors[0].widgets["padding"]
    assert list(padding.options.values()) == ["valid", "same"]
    stride = builder._editors[1].widgets["strides"]
    stride.value = 0  # "= pool size"
    assert state.layers[1].args["strides"] is None


def test_locked_kinds_show_locked_in_the_palette():
    state = PlaygroundState(unlocked_kinds=["conv2d", "flatten", "dense"])
    builder = Builder(state=state)
    locked = [b for b in builder._palette.objects if b.disabled]
    # named in words (a screen reader says "locked"), with the padlock only on screen
    assert {b.name for b in locked} == {
        "MaxPooling2D (locked)",
        "AveragePooling2D (locked)",
        "Dropout (locked)",
    }
    assert {b.symbol for b in locked} == {"🔒"}
    state.unlocked_kinds = list(state.unlocked_kinds) + ["dropout"]
    dropout = next(b for b in builder._palette.objects if "cp-add-dropout" in b.css_classes)
    assert not dropout.disabled


# --------------------------------------------------------------------------- trainer / shape flow


def test_train_disabled_with_a_visible_reason():
    state = PlaygroundState()
    trainer = Trainer(state=state, controller=TrainingController(state))
    assert not trainer._train.disabled
    state.layers = parse_layers("flatten,dense:3")
    assert trainer._train.disabled
    assert "Train is disabled" in trainer._reason.object and "10 classes" in trainer._reason.object


def test_shapeflow_draws_one_box_per_layer_with_escaped_labels():
    state = PlaygroundState(dataset="mnist")
    state.load_preset("keras")
    svg = shapeflow_svg(state.analysis)
    for label in ("28×28×1", "26×26×32", "13×13×32", "5×5×64", "1600", "10"):
        assert f">{label}<" in svg
    _no_markup_from(svg)


def test_a_link_pasted_into_the_share_box_opens():
    state = PlaygroundState()
    share = ShareLink(state=state, location=_location("http://h/", ""))
    share._link.value = (
        "https://course.example/cnn/?dataset=mnist&layers=" + PRESETS["keras"].layers
    )
    assert state.dataset == "mnist" and state.analysis.total_params == 34_826
    assert share._link.value == "http://h/" + state.query()
    share._link.value = "?layers=nonsense"
    assert format_layers(state.layers) == DEFAULT_LAYERS and state.link_problems
    state.undo()  # pasting a link is an edit: the model before it comes back
    assert state.dataset == "mnist" and state.analysis.total_params == 34_826


def test_plots_are_built_at_the_first_run_and_stream_every_epoch():
    import asyncio

    from playground.components.plots import TrainingPlots
    from playground.runtime import IN_BROWSER
    from pycnn.datasets import load

    state = PlaygroundState(epochs=3)
    controller = TrainingController(state, dataset_loader=load)
    plots = TrainingPlots(controller=controller)
    if IN_BROWSER:
        assert plots._train is None  # nothing heavy at start-up in the browser
    asyncio.run(controller.train())
    val = plots._val.data
    assert len(val["x"]) == 3 and val["x"] == [1.0, 2.0, 3.0]
    assert len(plots._train.data["loss"]) >= 3
    assert "Test accuracy" in plots._test.object
    asyncio.run(controller.train(epochs=1))  # continuing: the curve goes on at epoch 4
    assert plots._val.data["x"][-1] == 4.0
    controller.reset_weights()
    assert plots._val.data["x"] == []


def test_switching_dataset_clears_the_curves_and_the_test_accuracy():
    import asyncio

    from playground.components.plots import TrainingPlots
    from pycnn.datasets import load

    state = PlaygroundState(epochs=2)
    controller = TrainingController(state, dataset_loader=load)
    plots = TrainingPlots(controller=controller)
    trainer = Trainer(state=state, controller=controller)
    asyncio.run(controller.train())
    assert plots._val.data["x"] == [1.0, 2.0] and "Test accuracy" in plots._test.object
    state.dataset = "mnist"
    assert plots._val.data["x"] == [] and plots._train.data["x"] == []
    assert plots._test.object == ""
    assert "The dataset is now MNIST" in trainer._status.object


def test_reset_on_an_invalid_model_shows_why():
    state = PlaygroundState()
    trainer = Trainer(state=state, controller=TrainingController(state))
    state.layers = parse_layers("conv2d:8:3,dense:10:softmax")
    trainer._reset.clicks += 1
    assert "Weights not reset: Fix the model first" in trainer._status.object
    assert "cp-train-message" in trainer._message.object and "Flatten" in trainer._message.object


def test_text_that_is_not_a_link_is_refused_and_the_model_kept():
    state = PlaygroundState()
    state.load_preset("keras")
    share = ShareLink(state=state, location=_location("http://h/", ""))
    before = (list(state.layers), state.dataset)
    share._link.value = "hello world"  # typed, then Enter
    assert (list(state.layers), state.dataset) == before and not state.can_redo
    html = share._problems.object
    assert "The link was not opened" in html and "hello world" in html
    assert "is not a link to a model" in html and "was kept" in html
    assert share._link.value == "http://h/" + state.query()  # the box shows the page's link


def test_a_link_pasted_while_training_is_refused_and_the_box_restored():
    state = PlaygroundState()
    share = ShareLink(state=state, location=_location("http://h/", ""))
    before = list(state.layers)
    state.training = True
    share._link.value = "http://h/?dataset=mnist&layers=flatten,dense:10:softmax"
    assert state.layers == before and state.dataset == "digits"
    assert "while training runs" in share._problems.object
    assert share._link.value == "http://h/" + state.query()
    state.training = False
    share._link.value = "http://h/?dataset=mnist&layers=flatten,dense:10:softmax"
    assert state.dataset == "mnist" and share._problems.object == ""


def test_repeated_keys_in_a_link_report_what_was_read():
    search = "?layers=bogus&layers=flatten,dense:10:softmax&dataset=cifar&dataset=mnist"
    state = PlaygroundState()
    share = ShareLink(state=state, location=_location("http://h/" + search, search))
    assert format_layers(state.layers) == DEFAULT_LAYERS and state.dataset == "digits"
    text = share._problems.object
    assert "&#x27;layers&#x27; is given 2 times" in text and "&#x27;bogus&#x27;" in text
    assert "&#x27;dataset&#x27; is given 2 times" in text and "cifar" in text
    assert share._link.value == "http://h/" + state.query()  # and the address says what loaded


# --------------------------------------------------------------------------- dataset preview


def test_the_dataset_words_follow_a_model_loaded_while_the_page_is_made():
    """A returning learner's lesson model is loaded after the Data section is made, before
    the page is drawn: the first document already describes its dataset; its images wait
    for the first render (they may be a download)."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from playground.components.dataset import DatasetPicker
    from playground.lesson import START_MODEL

    with set_curdoc(Document()):
        state = PlaygroundState()
        picker = DatasetPicker(state=state)
        assert "Input shape:</b> 8×8×1" in picker._about.object
        state.apply_query(START_MODEL.replace("dataset=digits", "dataset=mnist"))
        assert "Input shape:</b> 28×28×1" in picker._about.object
        assert "MNIST" in picker._about.object
        assert picker._preview.object.count("Loading sample images of") == 10


@pytest.mark.parametrize("name", ["digits", "shapes", "colour-shapes"])
def test_the_dataset_preview_has_its_final_size_before_its_images_arrive(name):
    from playground.components.dataset import PER_CLASS, _sample_strip, preview_html, strip_size
    from pycnn.datasets import info, preview

    dataset = info(name)
    x, y, _names = preview(name, per_class=PER_CLASS)
    strip = _sample_strip(x[y == 0][:PER_CLASS])
    width, height = strip_size(dataset.input_shape)
    # the strip enlarged by a whole factor, undistorted
    assert width % strip.shape[1] == 0 and width * strip.shape[0] == height * strip.shape[1]

    def boxes(html: str) -> list[str]:
        return re.findall(r"width:\d+px;height:\d+px|<figcaption.*?</figcaption>", html)

    loading = preview_html(dataset)
    loaded = preview_html(dataset, dict.fromkeys(range(dataset.num_classes), "data:,"))
    assert boxes(loading) == boxes(loaded)
    assert len(boxes(loaded)) == 2 * dataset.num_classes
    assert loading.count("Loading sample images of") == dataset.num_classes
    assert loaded.count(f'alt="{PER_CLASS} sample images of') == dataset.num_classes
