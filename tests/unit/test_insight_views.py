"""The "See inside the network" views without a browser: they show what the model holds,
say plainly when there is nothing to show, stay within their share of training time,
and a click on a confusion-matrix cell shows exactly that cell's test images."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

pn = pytest.importorskip("panel")

from playground.components import figures, htmlwidgets, inside
from playground.components.inside import (
    LIVE_INTERVAL,
    LIVE_SHARE,
    VIEWS,
    InsightContext,
    SeeInside,
)
from playground.insight.glyphs import digit_drawing
from playground.spec import parse_layers
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn import Conv2D, Dense, Flatten, MaxPooling2D, Sequential
from pycnn.datasets import load

STARTER = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"


def _section(state=None, epochs: int = 3) -> SeeInside:
    state = state or PlaygroundState(epochs=epochs, seed=0)
    return SeeInside(state=state, controller=TrainingController(state, dataset_loader=load))


def _act(change=lambda: None) -> None:
    """Make a change inside a running event loop, as the page does, and let the
    refreshes it schedules run."""

    async def act():
        change()
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(act())


def _show(section: SeeInside, key: str):
    """Choose a view and let its refresh run."""
    _act(lambda: setattr(section, "view", key))
    return section.views[key]


def _train(section: SeeInside, press=None) -> None:
    """Train (``press``: the coroutine a Train button runs) and let the views catch up."""

    async def train():
        await (press or section.controller.train())
        assert section.controller.status.startswith("Finished"), section.controller.status
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(train())


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


# --------------------------------------------------------------------------- the section


def test_views_are_built_when_first_chosen_and_work_only_while_shown():
    section = _section()
    assert section.view is None and section.views == {}  # the section opens closed
    filters = _show(section, "filters")
    assert filters.redraws == 1
    code = _show(section, "code")
    assert list(section.views) == ["filters", "code"] and code.active and not filters.active
    _act(lambda: section.state.update(0, filters=4))  # an edit while the filters are hidden...
    assert filters.redraws == 1
    assert "conv2d" in code._listing.object  # ...while the code shown is refreshed
    _show(section, "filters")  # ...caught up when they are shown again
    assert filters.redraws == 2 and "4 filters" in filters._picture.object
    _act(lambda: setattr(section._close, "clicks", section._close.clicks + 1))  # Close
    assert section.view is None and not filters.active and not code.active


#: the modules of the section: a call into any of them is work the section does
_SECTION_FILES = {
    str(Path(module.__file__))
    for module in (
        inside,
        htmlwidgets,
        figures,
        *(importlib.import_module(path.split(":")[0]) for _label, path in VIEWS.values()),
    )
}


def _section_calls(run) -> int:
    """How many calls into the section's code ``run()`` makes (Python's profiler sees
    every function call, whatever reaches it: a watcher, a listener, a scheduled task)."""
    calls = 0

    def profile(frame, event, _arg):
        nonlocal calls
        if event == "call" and frame.f_code.co_filename in _SECTION_FILES:
            calls += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_a_closed_section_does_no_work_while_training():
    """Closed views follow nothing: no watcher, no listener, no refresh while the network
    trains — as the page opens, and after every view was used and closed again."""
    section = _section(epochs=2)
    listeners = list(section.controller.listeners)
    assert _section_calls(lambda: _train(section)) == 0  # as the page opens
    for key in VIEWS:
        _show(section, key)
    assert _section_calls(lambda: _train(section)) > 0  # a view on screen: it works
    _act(lambda: setattr(section, "view", None))  # every view built, then closed
    assert section.controller.listeners == listeners

    def runs():
        _train(section)
        section.controller.reset_weights()
        _train(section)

    assert _section_calls(runs) == 0
    # "Read the code" shows no weights: on screen it too does nothing while training runs
    _show(section, "code")
    assert _section_calls(runs) == 0


# --------------------------------------------------------------------------- filters


def test_filters_untrained_then_learnt_and_a_deeper_layer():
    section = _section()
    view = _show(section, "filters")
    before = view._picture.object
    assert "Not trained yet" in view._note.object
    alt = re.search(r'alt="([^"]+)"', before).group(1)
    assert "8 filters of 3×3 weights over 1 input channel" in alt and "weights from" in alt
    assert "−" in before or "-" in before  # the colour bar's limits are written out
    _train(section)
    assert "learnt" in view._note.object and view._picture.object != before

    _act(lambda: section.state.load_preset("keras"))  # two Conv2D layers, on MNIST
    assert list(view._layer.options.values()) == ["conv2d", "conv2d_1"]
    _act(lambda: setattr(view._layer, "value", "conv2d_1"))
    assert list(view._view.options.values()) == ["mean", "channels"] and view._view.visible
    assert "one tile per filter, the mean of its 32 input channels" in view._picture.object
    _act(lambda: setattr(view._view, "value", "channels"))
    assert "64 rows of 32" in view._picture.object


@pytest.mark.parametrize(
    ("layers", "words"),
    [
        ("conv2d:8:9,flatten,dense:10:softmax", "There is no working model yet"),  # 9 > 8
        ("flatten,dense:32,dense:10:softmax", "has no Conv2D layer"),
    ],
)
def test_filters_say_why_there_is_nothing_to_show(layers, words):
    state = PlaygroundState(layers=parse_layers(layers))
    view = _show(_section(state), "filters")
    assert words in _text(view._note.object) and view._picture.object == ""


def test_filter_redraws_stay_within_their_share_of_the_training_time():
    section = _section(epochs=60)  # long enough for a few redraws LIVE_INTERVAL apart
    view = _show(section, "filters")
    redraws = view.redraws
    clock = view.throttle.clock
    start = clock()
    _train(section)
    elapsed = clock() - start
    during = view.redraws - redraws
    assert during >= 3, "the filters were not redrawn while training ran"
    # Each redraw makes the next one due after (1 - share) / share times its duration: at
    # most that share of the time, give or take the redraw under way when the run ended.
    last = view.throttle.spent / during
    assert view.throttle.spent <= LIVE_SHARE * elapsed + last, (view.throttle.spent, elapsed)
    # and LIVE_INTERVAL apart, besides the refreshes as the run starts and ends (after
    # which the first live redraw is due at once)
    assert during <= elapsed / LIVE_INTERVAL + 4, (during, elapsed)


def test_a_hidden_filter_view_does_no_work_while_training():
    section = _section(epochs=2)
    view = _show(section, "filters")
    _show(section, "code")
    redraws, spent = view.redraws, view.throttle.spent
    _train(section)
    assert view.redraws == redraws and view.throttle.spent == spent


def test_a_view_that_fails_says_so_and_training_goes_on(monkeypatch):
    section = _section(epochs=2)
    view = _show(section, "filters")

    def broken():
        raise RuntimeError("picture broke")

    monkeypatch.setattr(view, "draw_live", broken)
    notices = []
    section.controller.listeners.append(lambda _e: notices.append(view.notice.object))
    _train(section)  # ends "Finished": the failure never reached the run
    assert "could not be shown" in notices[-1] and "picture broke" in notices[-1]
    assert "not affected" in notices[-1]

    monkeypatch.setattr(view, "refresh", broken)
    _act(lambda: section.state.update(0, filters=4))
    assert "picture broke" in view.notice.object


# --------------------------------------------------------------------------- feature maps


def test_feature_maps_of_a_test_image_and_of_the_drawing():
    section = _section()
    view = _show(section, "featuremaps")
    strip = view.strip.content[0]
    assert strip.count("<button") == 11  # one test image per class, and "Your drawing"
    assert 'aria-label="Test image' in strip
    captions = re.findall(r'cp-featuremaps-caption">([^<]+)<', view._maps.object)
    assert captions == [
        "conv2d (Conv2D), output (None, 6, 6, 8)",  # the summary table's numbers
        "max_pooling2d (MaxPooling2D), output (None, 3, 3, 8)",
    ]
    assert view._maps.object.count("<img") == 3 + 2  # before/after relu, pool, 2 legends
    assert "before the activation" in view._maps.object

    _act(lambda: setattr(view.strip, "pick", ["drawing", 1]))  # before drawing anything
    assert "Draw something" in view._maps.object and view._input.object == ""
    drawing = {"width": 280, "height": 280, "strokes": [[100, 50, 110, 230]]}
    _act(lambda: setattr(section.context, "drawing", drawing))
    assert (
        "Your drawing" in view._input.object
        and len(re.findall("cp-featuremaps-caption", view._maps.object)) == 2
    )

    picked = re.findall(r'data-pick="(\d+)"', strip)[4]
    _act(lambda: setattr(view.strip, "pick", [picked, 2]))
    assert f"Test image {picked}: 4" in view._input.object


def test_feature_maps_without_conv_layers_say_so():
    state = PlaygroundState(layers=parse_layers("flatten,dense:10:softmax"))
    view = _show(_section(state), "featuremaps")
    assert "no Conv2D or pooling layer" in view._maps.object


# --------------------------------------------------------------------------- test results


def test_confusion_matrix_cells_are_buttons_and_a_click_shows_that_cells_images():
    section = _section()
    view = _show(section, "results")
    assert "Train the model first" in view._status.object and view.results is None
    _train(section)
    results = view.results
    _train_set, (_x_test, y_test), names = load("digits")
    assert results.confusion.sum() == len(y_test) == 300
    assert results.accuracy == pytest.approx(section.controller.test_accuracy, abs=1e-6)
    table = view.table.content[0]
    buttons = re.findall(r'<button type="button"[^>]*aria-label="([^"]+)"[^>]*>([^<]+)<', table)
    assert len(buttons) == 100
    for name, label in buttons:
        assert label in name  # the visible number is part of the accessible name

    true, predicted = np.unravel_index(
        np.argmax(results.confusion - np.diag(np.diag(results.confusion))), results.confusion.shape
    )
    view.table.pick = [f"{true},{predicted}", 1]  # what a click on that cell sends
    expected = np.flatnonzero((y_test == true) & (results.predictions == predicted))
    assert len(expected) == results.confusion[true, predicted] > 0
    np.testing.assert_array_equal(view.selected, expected)
    shown = [int(i) for i in re.findall(r'data-index="(\d+)"', view._cell.object)]
    assert shown == list(expected)
    assert f"{len(expected)} test image" in view._cell.object

    wrong = int((results.labels != results.predictions).sum())
    gallery = view._mistakes.object
    assert gallery.count("<figure") == min(24, wrong)
    first = results.mistakes(1)[0]
    assert f"true {names[first.true]}, predicted {names[first.predicted]}" in gallery
    assert 'class="cp-bars"' in gallery

    view._numbers.value = True  # shares of each row
    assert "%" in re.findall(r"<button[^>]*>([^<]+)<", view.table.content[0])[0]

    _act(lambda: section.state.update(0, filters=4))  # another model: the results are gone
    assert view.results is None and "Train the model first" in view._status.object


# --------------------------------------------------------------------------- read the code


def test_read_the_code_of_a_conv_layer_and_of_an_invalid_model():
    section = _section()
    view = _show(section, "code")
    assert view._layer.value == "conv2d"
    listing = view._listing.object
    assert "ConvMaxPool" in listing  # the fused step training runs for conv2d + max_pooling2d
    assert 'def</span> <span class="tok-def">conv2d_maxpool_forward' in listing
    assert "kernel: (kh, kw, C_in, C_out) = (3, 3, 1, 8)" in listing
    assert "x: (N, H, W, C_in) = (32, 8, 8, 1)" in listing  # N is the batch size
    _act(lambda: setattr(section.state, "batch_size", 64))
    assert "(64, 8, 8, 1)" in view._listing.object

    _act(lambda: setattr(view._layer, "value", "dense"))
    assert "Dense" in view._listing.object and "softmax" in view._listing.object

    _act(
        lambda: setattr(
            section.state, "layers", parse_layers("conv2d:8:9,flatten,dense:10:softmax")
        )
    )
    assert "There is no working model yet" in view._listing.object


# --------------------------------------------------------------------------- draw to predict


def test_draw_to_predict_asks_for_training_then_reads_a_drawn_digit():
    section = _section(epochs=20)
    section.state.learning_rate = 0.01
    view = _show(section, "draw")
    view.canvas.put(digit_drawing(7))
    assert "Train the model first" in view._answer.object and view._train.visible
    assert section.context.drawing["strokes"] == view.canvas.strokes

    _train(section, view._on_train(None))  # the view's own Train button
    assert not view._train.visible
    answer = view._answer.object
    top = re.search(r'cp-draw-prediction">([^<]+)<', answer).group(1)
    assert re.fullmatch(r"\d \(\d+ %\)", top), top
    assert view.prediction is not None and view.prediction.top == 7, top
    assert 'class="cp-pic cp-draw-input"' in answer and "8×8 with 1 channel" in answer
    assert answer.count('class="cp-bar-name') == 10

    view.canvas.strokes = []  # Clear
    assert "Draw something first" in view._answer.object


# --------------------------------------------------------------------------- 3 channels


class _Context(InsightContext):
    """A 3-channel 64×64 model on random images: no dataset of the site is like it."""

    def __init__(self, state, controller, model, x, y):
        super().__init__(state, controller)
        self._model, self._x, self._y = model, x, y

    def model(self):
        return self._model

    def trained_model(self):
        return self._model

    @property
    def dataset(self) -> str:
        return "colour-things"

    @property
    def class_names(self):
        return ("a", "b", "c")

    async def test_set(self):
        return self._x, self._y


def test_every_view_works_on_a_three_channel_model():
    from playground.components.code import CodeView
    from playground.components.draw import DrawView
    from playground.components.featuremaps import FeatureMapView
    from playground.components.filters import FilterView
    from playground.components.results import ResultsView

    rng = np.random.default_rng(0)
    x = rng.random((40, 64, 64, 3), dtype=np.float32)
    y = np.arange(40) % 3
    model = Sequential(
        [Conv2D(4, 5, strides=2), MaxPooling2D(2), Flatten(), Dense(3, activation="softmax")],
        input_shape=(64, 64, 3),
        seed=1,
    )
    state = PlaygroundState()
    context = _Context(state, TrainingController(state), model, x, y)
    views = {}

    def build():
        for cls in (FilterView, FeatureMapView, ResultsView, CodeView, DrawView):
            views[cls] = cls(context=context)
            views[cls].active = True

    _act(build)
    filters = views[FilterView]
    assert list(filters._view.options.values()) == ["rgb", "channels", "mean"]
    assert "red, green and blue weights" in filters._picture.object
    maps = views[FeatureMapView]._maps.object
    assert "output (None, 30, 30, 4)" in maps and "output (None, 15, 15, 4)" in maps
    assert "64×64 with 3 channels" in views[FeatureMapView]._input.object
    results = views[ResultsView].results
    assert results.confusion.shape == (3, 3) and results.confusion.sum() == 40
    assert "kernel: (kh, kw, C_in, C_out) = (5, 5, 3, 4)" in views[CodeView]._listing.object
    draw = views[DrawView]
    draw.canvas.put(digit_drawing(3))
    assert "64×64 with 3 channels" in draw._answer.object and draw.prediction is not None


def test_a_model_whose_weights_came_from_a_file_counts_as_trained():
    from playground.analysis import build_model
    from playground.model_files import Imported, apply_import

    section = _section(PlaygroundState(layers=parse_layers(STARTER), dataset="digits", seed=0))
    controller = section.controller
    assert section.context.trained_model() is None
    model = build_model(STARTER, (8, 8, 1), seed=3)
    blocks = tuple(parse_layers(STARTER))
    apply_import(Imported(blocks, "digits", 0, model, "A model."), section.state, controller)
    assert section.context.trained_model() is model
    controller.reset_weights()  # fresh random weights are not trained ones
    assert section.context.trained_model() is None


def test_test_results_stop_measuring_when_hidden_and_measure_when_shown_again():
    section = _section(epochs=1)
    _train(section)
    seen = []

    async def glance():
        section.view = "results"
        view = section.views["results"]
        while "Measuring the test images" not in view._status.object:
            await asyncio.sleep(0)
        section.view = None  # closed while the test images are being measured
        for _ in range(20):
            await asyncio.sleep(0)
        seen.append(view.results)

    asyncio.run(glance())
    assert seen == [None]  # the pass stopped: nothing measured while hidden
    view = _show(section, "results")
    assert view.results is not None and view.results.n == 300


def test_every_view_on_the_colour_dataset_shows_colour():
    """Trained on the generated RGB dataset: colour filters, 9×9 confusion matrix over its
    test set, colour pictures, and a drawing in the pen colour the learner picks."""
    colour = "conv2d:8:3,maxpool:2,flatten,dense:9:softmax"
    state = PlaygroundState(layers=parse_layers(colour), dataset="colour-shapes", epochs=1)
    section = _section(state)
    _train(section)
    filters = _show(section, "filters")
    assert filters._view.value == "rgb" and "red, green and blue weights" in filters._picture.object
    results = _show(section, "results").results
    assert results.confusion.shape == (9, 9) and results.confusion.sum() == 450
    assert np.trace(results.confusion) / 450 > 3 / 9  # well above chance after one epoch
    draw = _show(section, "draw")
    assert draw._pen.visible and list(draw._pen.options) == ["orange pen", "yellow pen", "blue pen"]
    draw.canvas.put(digit_drawing(0))
    _act()
    orange = draw.prediction
    assert "32×32 with 3 channels" in draw._answer.object and orange is not None
    _act(lambda: setattr(draw._pen, "value", "blue"))
    blue = draw.prediction
    assert blue.prepared.image[..., 2].max() > blue.prepared.image[..., 0].max()
    assert orange.prepared.image[..., 0].max() > orange.prepared.image[..., 2].max()
    assert not np.array_equal(orange.probabilities, blue.probabilities)
