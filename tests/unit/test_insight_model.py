"""pycnn.insight on every kind of model: filters, feature maps, test results, the code that runs.

Each inspection is checked against the engine itself (the model's own
outputs, the kernels' own caches, a trace of the calls training makes), for
1- and 3-channel models from 8×8 to 64×64, and for the cases where there is
nothing to show.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

from playground.insight.feature_maps import feature_map_pictures, image_picture
from playground.insight.filters import FILTER_VIEWS, filter_picture
from pycnn import (
    Adam,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    Sequential,
    activations,
    datasets,
    insight,
    ops,
)
from pycnn.insight import NothingToShow


def _zoo():
    """(name, layers, input shape): every layer kind, padding, stride, activation, channel count."""
    return {
        "starter-8x8": (
            lambda: [
                Conv2D(8, 3, activation="relu"),
                MaxPooling2D(2),
                Flatten(),
                Dense(10, activation="softmax"),
            ],
            (8, 8, 1),
        ),
        "keras-28x28": (
            lambda: [
                Conv2D(32, 3, activation="relu"),
                MaxPooling2D(2),
                Conv2D(64, 3, activation="relu"),
                MaxPooling2D(2),
                Flatten(),
                Dropout(0.5),
                Dense(10, activation="softmax"),
            ],
            (28, 28, 1),
        ),
        "lenet-tanh-same": (
            lambda: [
                Conv2D(6, 5, padding="same", activation="tanh"),
                AveragePooling2D(2),
                Conv2D(16, 5, activation="tanh"),
                AveragePooling2D(2),
                Flatten(),
                Dense(84, activation="tanh"),
                Dense(10, activation="softmax"),
            ],
            (28, 28, 1),
        ),
        "rgb-32-strided": (
            lambda: [
                Conv2D(4, 3, strides=2, padding="same", activation="sigmoid"),
                MaxPooling2D(3, strides=2, padding="same"),
                Dropout(0.2),
                Conv2D(6, 1),
                Flatten(),
                Dense(3, activation="softmax"),
            ],
            (32, 32, 3),
        ),
        "rgb-64-linear-out": (
            lambda: [
                AveragePooling2D(4),
                Conv2D(5, 3, activation="relu"),
                MaxPooling2D(2),
                Flatten(),
                Dense(4),
            ],
            (64, 64, 3),
        ),
        "dense-only": (
            lambda: [Flatten(), Dense(16, activation="relu"), Dense(10, activation="softmax")],
            (28, 28, 1),
        ),
    }


ZOO = _zoo()


def make(name: str, seed: int = 0) -> Sequential:
    layers, shape = ZOO[name]
    return Sequential(layers(), input_shape=shape, seed=seed)


def _image(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("name", list(ZOO))
def test_filters_of_every_conv_layer_are_copies_of_its_kernel(name):
    model = make(name)
    convs = insight.conv_layers(model)
    assert convs == [(i, l.name) for i, l in enumerate(model.layers) if l.kind == "Conv2D"]
    if not convs:
        nothing = insight.filter_bank(model)
        assert isinstance(nothing, NothingToShow) and nothing.reason == "no-filters"
        assert "no Conv2D layer" in nothing.message
        return
    assert insight.filter_bank(model).layer_index == convs[0][0]  # the first one by default
    for index, layer_name in convs:
        bank = insight.filter_bank(model, layer_name)
        kernel = model.layers[index].params["kernel"]
        np.testing.assert_array_equal(bank.kernel, kernel)
        assert bank.limit == pytest.approx(float(np.abs(kernel).max()))
        kernel += 1.0  # training goes on: the snapshot must not move
        assert not np.array_equal(bank.kernel, kernel)
        kh, kw, c_in, c_out = bank.kernel.shape
        assert f"{c_out} filters of {kh}×{kw}" in bank.describe()
        for view in FILTER_VIEWS:
            picture = filter_picture(bank, view)
            if view == "rgb" and c_in != 3:
                assert isinstance(picture, NothingToShow) and "3 input channels" in picture.message
                continue
            assert picture.rgba.dtype == np.uint8 and picture.rgba.shape[2] == 4
            assert max(picture.rgba.shape[:2]) <= 320
            assert layer_name in picture.alt and "from" in picture.alt


def test_filters_say_which_layers_have_none():
    model = make("keras-28x28")
    for which in ("max_pooling2d", 4, "dense"):
        nothing = insight.filter_bank(model, which)
        assert isinstance(nothing, NothingToShow) and nothing.reason == "no-filters"
        assert "has no filters" in nothing.message
    assert insight.filter_bank(model, "nope").reason == "no-layer"
    assert insight.filter_bank(None).reason == "no-model"
    assert insight.filter_bank(Sequential([Conv2D(2, 3)])).reason == "no-model"  # not built


def test_filter_picture_layout_and_symmetric_colour_limits():
    """One tile per filter (and channel), a 1-px gap, zero always the scale's middle colour."""
    model = make("keras-28x28")
    bank = insight.filter_bank(model, "conv2d")
    kernel = np.zeros_like(bank.kernel)
    kernel[0, 0, 0, 0] = 2.0  # the largest |w|: the orange end
    kernel[1, 1, 0, 1] = -1.0  # half of it below zero
    bank = insight.FilterBank(bank.layer_index, bank.layer_name, kernel, bank.bias)
    picture = filter_picture(bank, "channels", fit=40)  # 32 filters: 8 x 4 tiles, scale 1
    rgba = picture.rgba
    assert rgba.shape == (4 * 4 + 1, 8 * 4 + 1, 4)  # scale 1: 3-px tiles + 1-px gaps
    from playground.insight import colours
    from playground.insight.picture import GAP_COLOUR

    assert tuple(rgba[0, 0]) == GAP_COLOUR and tuple(rgba[:, 4][1]) == GAP_COLOUR
    np.testing.assert_array_equal(rgba[1, 1, :3], colours.DIVERGING[255])  # filter 0, +2
    np.testing.assert_array_equal(rgba[2, 2, :3], colours.DIVERGING[128])  # filter 0, 0
    np.testing.assert_array_equal(rgba[2, 6, :3], colours.DIVERGING[64])  # filter 1 (1, 1), -1
    assert "−2" in picture.alt and "+2" in picture.alt and picture.limits == (-2.0, 2.0)

    deep = insight.filter_bank(model, "conv2d_1")  # 64 filters over 32 channels
    per_channel = filter_picture(deep, "channels", fit=300)
    assert per_channel.rgba.shape[:2] == (64 * 4 + 1, 32 * 4 + 1)
    mean = filter_picture(deep, "mean", fit=40)
    assert mean.rgba.shape[:2] == (8 * 4 + 1, 8 * 4 + 1) and "mean of its 32" in mean.alt


def test_rgb_filters_map_zero_to_mid_grey():
    model = make("rgb-32-strided")
    bank = insight.filter_bank(model)
    kernel = np.zeros_like(bank.kernel)
    kernel[0, 0, :, 0] = [1.0, -1.0, 0.0]
    picture = filter_picture(insight.FilterBank(0, "c", kernel, bank.bias), fit=13)
    assert tuple(picture.rgba[1, 1, :3]) == (255, 0, 128)  # + red, - green, 0 blue
    assert "red, green and blue" in picture.alt


# --------------------------------------------------------------------------- feature maps


@pytest.mark.parametrize("name", list(ZOO))
def test_feature_maps_are_the_models_own_outputs_with_summary_shapes(name):
    model = make(name)
    image = _image(model.input_shape)
    maps = insight.feature_maps(model, image)
    kinds = [l.kind for l in model.layers]
    if not set(kinds) & set(insight.MAP_KINDS):
        assert isinstance(maps, NothingToShow) and maps.reason == "no-maps"
        return
    outputs = model.activations(image[None])
    rows = {r.name: r for r in model.summary()}
    assert [m.layer_name for m in maps] == [
        l.name for l in model.layers if l.kind in insight.MAP_KINDS
    ]
    for fm in maps:
        row = rows[fm.layer_name]
        assert fm.output_shape == row.output_shape == fm.after.shape
        assert fm.shape_text == "(None, " + ", ".join(map(str, row.output_shape)) + ")"
        np.testing.assert_array_equal(fm.after, outputs[fm.layer_name][0])
        layer = model.layers[fm.layer_index]
        if layer.kind == "Conv2D" and layer.activation != "linear":
            act = activations.get(layer.activation)
            np.testing.assert_allclose(act.forward(fm.before), fm.after, rtol=1e-6, atol=1e-6)
            assert f"before {layer.activation}" in fm.describe()
        else:
            assert fm.before is None
    pictures = feature_map_pictures(maps)
    for fm, pics in zip(maps, pictures):
        assert fm.shape_text in pics.caption and fm.layer_name in pics.caption
        assert max(pics.after.rgba.shape[:2]) <= 320
        assert (pics.before is None) == (fm.before is None)
        assert f"{fm.output_shape[-1]} feature map" in pics.after.alt


def test_relu_before_and_after_share_one_colour_scale():
    model = make("starter-8x8")
    maps = insight.feature_maps(model, _image((8, 8, 1), seed=3))
    conv = maps[0]
    assert conv.before.min() < 0 and conv.after.min() == 0  # ReLU cut something
    pics = feature_map_pictures(maps)[0]
    assert (
        pics.after.limits
        == pics.before.limits
        == (float(conv.before.min()), float(conv.after.max()))
    )


def test_feature_maps_take_hw_images_and_refuse_wrong_ones():
    model = make("starter-8x8")
    image = _image((8, 8, 1))
    flat = insight.feature_maps(model, image[..., 0])
    np.testing.assert_array_equal(flat[0].after, insight.feature_maps(model, image)[0].after)
    wrong = insight.feature_maps(model, np.zeros((28, 28, 1), np.float32))
    assert isinstance(wrong, NothingToShow) and wrong.reason == "bad-input"
    assert "(8, 8, 1)" in wrong.message and "(28, 28, 1)" in wrong.message
    assert insight.feature_maps(None, image).reason == "no-model"
    assert "3 channels" in image_picture(_image((5, 5, 3))).alt


# --------------------------------------------------------------------------- test results


@pytest.fixture(scope="module")
def digits_model():
    (x, y), (xt, yt), names = datasets.load("digits")
    model = make("starter-8x8")
    model.compile(Adam(1e-2), metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=32)
    return model, xt, yt, names


def test_confusion_matrix_agrees_with_evaluate(digits_model):
    model, xt, yt, names = digits_model
    steps = list(insight.evaluate_test_set(model, xt, yt, names, batch_size=64))
    assert [s.done for s in steps] == [64, 128, 192, 256, 300]  # progress after each batch
    assert all(s.results is None for s in steps[:-1]) and steps[-1].fraction == 1.0
    results = steps[-1].results
    _, accuracy = model.evaluate(xt, yt)
    assert results.confusion.sum() == len(yt) == results.n == 300
    assert results.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert np.trace(results.confusion) / len(yt) == pytest.approx(accuracy, abs=1e-12)
    np.testing.assert_array_equal(results.class_counts, np.bincount(yt, minlength=10))
    np.testing.assert_array_equal(
        results.confusion.sum(axis=0), np.bincount(results.predictions, minlength=10)
    )
    np.testing.assert_allclose(results.row_normalised.sum(axis=1), 1.0)
    per_class = [np.mean(results.predictions[yt == k] == k) for k in range(10)]
    np.testing.assert_allclose(results.per_class_accuracy, per_class)
    np.testing.assert_allclose(results.probabilities, model.predict(xt), rtol=1e-6)
    for t, p in [(3, 3), (8, 1), (9, 5)]:
        cell = results.cell(t, p)
        assert len(cell) == results.confusion[t, p]
        assert np.all(yt[cell] == t) and np.all(results.predictions[cell] == p)


def test_mistakes_come_most_confident_first(digits_model):
    model, xt, yt, names = digits_model
    results = list(insight.evaluate_test_set(model, xt, yt, names))[-1].results
    mistakes = results.mistakes()
    assert len(mistakes) == results.n - np.trace(results.confusion) > 0
    assert all(m.true == yt[m.index] != m.predicted for m in mistakes)
    confidence = [m.confidence for m in mistakes]
    assert confidence == sorted(confidence, reverse=True)
    assert mistakes[0].probabilities.shape == (10,) and [
        m.index for m in results.mistakes(limit=2)
    ] == [m.index for m in mistakes[:2]]


def test_evaluation_batches_fit_the_memory_budget():
    keras = make("keras-28x28")
    # the Keras convnet needs ~330 kB per image at once: 51 images in 16 MB
    assert insight.evaluation_batch_size(keras) == 51
    assert insight.evaluation_batch_size(keras, memory_bytes=10) == 1
    assert insight.evaluation_batch_size(make("starter-8x8")) == 512
    # the estimate is at least what the engine really holds for one example
    x = _image((1, 28, 28, 1))
    _, cache = ops.conv2d_forward(
        x, keras.layers[0].params["kernel"], keras.layers[0].params["bias"], (1, 1), "valid"
    )
    outputs = sum(a.size for a in keras.activations(x).values())
    assert insight.evaluation.EVALUATION_MEMORY // 51 >= 4 * (x.size + outputs + cache[0].size)


def test_linear_output_gives_probabilities():
    model = make("rgb-64-linear-out")
    x, y = _image((10, 64, 64, 3)), np.arange(10) % 4
    results = list(insight.evaluate_test_set(model, x, y))[-1].results
    np.testing.assert_allclose(results.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(results.predictions, model.predict(x).argmax(axis=1))
    assert results.class_names == ("0", "1", "2", "3")


def test_evaluation_says_what_is_missing(digits_model):
    model, xt, yt, names = digits_model
    assert insight.evaluate_test_set(None, xt, yt).reason == "not-trained"
    assert "Train the model first" in insight.evaluate_test_set(None, xt, yt).message
    cases = [
        (xt[:0], yt[:0], names, "no-data"),
        (np.zeros((5, 28, 28, 1), np.float32), yt[:5], names, "bad-input"),
        (xt, yt[:10], names, "bad-input"),
        (xt, yt + 10, names, "bad-input"),
        ((xt * 16).astype(np.uint8), yt, names, "bad-input"),
        (xt, yt, names[:6], "bad-input"),
    ]
    for x, y, n, reason in cases:
        answer = insight.evaluate_test_set(model, x, y, n)
        assert isinstance(answer, NothingToShow) and answer.reason == reason, (x.shape, answer)


# --------------------------------------------------------------------------- the code that runs


def _conv_cache_shapes(layer, x):
    _, cache = ops.conv2d_forward(
        x, layer.params["kernel"], layer.params["bias"], layer.strides, layer.padding
    )
    return {"cols": cache[0].shape, "weights": cache[1].shape, "xp": cache[3]}


@pytest.mark.parametrize("name", list(ZOO))
def test_shape_notes_match_the_kernels_arrays(name):
    """Every shape written next to the code is the shape of the array the kernel really makes."""
    model = make(name)
    n = 5
    x = _image((n, *model.input_shape))
    inputs = [x, *model.activations(x).values()]
    for index, layer in enumerate(model.layers):
        code = insight.layer_code(model, layer.name, batch_size=n)
        notes = {note.name: note.shape for note in code.shapes}
        fused = "ConvMaxPool" in code.runs_as
        first = index - 1 if fused and layer.kind == "MaxPooling2D" else index  # the pair's input
        assert notes["x"] == inputs[first].shape and code.symbols["N"] == n
        if layer.kind == "Conv2D" and not fused:
            real = _conv_cache_shapes(layer, inputs[index])
            assert notes["cols"] == real["cols"] and notes["weights"] == real["weights"]
            assert notes.get("xp", real["xp"]) == real["xp"]
            assert notes["out"] == notes["z"] == inputs[index + 1].shape
        elif layer.kind == "Conv2D":
            pool = model.layers[index + 1]
            out, cache = ops.conv2d_maxpool_forward(
                inputs[index],
                layer.params["kernel"],
                layer.params["bias"],
                layer.strides,
                layer.padding,
                pool.pool_size,
                relu=True,
            )
            assert (notes["cols"], notes["weights"], notes["z"]) == (
                cache[0].shape,
                cache[1].shape,
                cache[2].shape,
            )
            assert notes["out"] == out.shape == inputs[index + 2].shape
        elif layer.kind == "MaxPooling2D" and not fused:
            _, cache = ops.max_pool2d_forward(
                inputs[index], layer.pool_size, layer.strides, layer.padding
            )
            assert notes["source"] == np.shape(cache[0]) or notes["source"] == (
                len(cache[0]),
                *cache[0][0].shape,
            )
            assert notes.get("xp", cache[2]) == cache[2] and notes["out"] == inputs[index + 1].shape
        elif not fused:
            assert notes["out"] == inputs[index + 1].shape
        for note in code.shapes:
            assert str(note.shape) in note.text and note.formula in note.text


def _called_during_training(model, x, y):
    """(module, qualname) of the pycnn functions a training step calls from its steps."""
    called = set()
    listed = ("pycnn.ops", "pycnn.products", "pycnn.activations", "pycnn.losses", "pycnn.layers.")

    def from_a_step(frame):
        """Called (at any depth) by a step, not by the model planning its steps."""
        while frame is not None:
            if frame.f_globals.get("__name__") == "pycnn.model":
                return frame.f_code.co_name in ("_run", "train_on_batch")
            frame = frame.f_back
        return False

    def profile(frame, event, arg):
        module = frame.f_globals.get("__name__", "")
        listed_module = module.startswith(listed) and module != "pycnn.layers.base"
        if event == "call" and listed_module and from_a_step(frame.f_back):
            # a comprehension's frame belongs to the function around it
            called.add((module, frame.f_code.co_qualname.split(".<locals>")[0]))

    sys.setprofile(profile)
    try:
        model.train_on_batch(x, y)
    finally:
        sys.setprofile(None)
    return called


@pytest.mark.parametrize("name", list(ZOO))
def test_the_listed_code_is_the_code_training_runs(name):
    model = make(name)
    model.compile(Adam(1e-3))
    n = 6
    x = _image((n, *model.input_shape))
    y = np.arange(n) % model.output_shape[-1]
    called = _called_during_training(model, x, y)
    listed = set()
    for layer in model.layers:
        code = insight.layer_code(model, layer.name)
        for section in code.forward + code.backward:
            listed.add((section.module, section.qualname))
            assert section.source.lstrip().startswith(("def ", "@"))
            assert section.source == inspect.cleandoc(section.source) or section.source.startswith(
                "def"
            )
        assert code.forward[0].depth == 0
    assert called and called <= listed, sorted(called - listed)


def test_code_for_a_fused_pair_and_for_the_output_layer():
    model = make("keras-28x28")
    conv = insight.layer_code(model, "conv2d")
    pool = insight.layer_code(model, "max_pooling2d")
    assert conv.runs_as == pool.runs_as == "conv2d + max_pooling2d (ConvMaxPool)"
    titles = [s.title for s in conv.forward]
    assert titles[0] == "pycnn.layers.fused.ConvMaxPool.forward"
    # both routes the step can take are listed one level down: the browser kernel's direct
    # convolution and numpy's im2col path
    at_depth_1 = [s.title for s in conv.forward if s.depth == 1]
    assert "pycnn.layers.fused.ConvMaxPool._direct_forward" in at_depth_1
    assert "pycnn.ops.conv2d_maxpool_forward" in at_depth_1
    numpy_route = conv.forward[titles.index("pycnn.ops.conv2d_maxpool_forward")]
    assert "pycnn.ops._im2col" in titles and numpy_route.path == "pycnn/ops.py"
    source = inspect.getsource(ops.conv2d_maxpool_forward)
    assert numpy_route.source == source
    assert numpy_route.first_line == inspect.getsourcelines(ops.conv2d_maxpool_forward)[1]
    assert "HAVE_BLAS" in conv.constants and any(
        "first layer with weights" in n for n in conv.notes
    )
    second = insight.layer_code(model, "conv2d_1")
    assert not any("first layer" in n for n in second.notes)
    dense = insight.layer_code(model, "dense")
    assert dense.backward[0].title == "pycnn.layers.dense.Dense.train_output"
    titles = [s.title for s in dense.backward]
    assert "pycnn.losses.softmax_cross_entropy" in titles
    assert "pycnn.layers.dense.Dense.backward_pre_activation" in titles
    assert "pycnn.activations.softmax" in [s.title for s in dense.forward]
    early_pool = insight.layer_code(make("rgb-64-linear-out"), 0)  # before any weights
    assert early_pool.backward == [] and "no backward pass" in early_pool.notes[-1]
    assert insight.layer_code(model, "nope").reason == "no-layer"
    assert insight.layer_code(None, 0).reason == "no-model"


def test_code_without_sources_says_so(monkeypatch):
    def no_source(obj):
        raise OSError("could not get source code")

    from pycnn.insight import source

    monkeypatch.setattr(inspect, "getsourcelines", no_source)
    source._source.cache_clear()  # sources already read are kept
    try:
        answer = insight.layer_code(make("starter-8x8"), 0)
    finally:
        source._source.cache_clear()
    assert isinstance(answer, NothingToShow) and answer.reason == "no-source"
    assert "not part of this build" in answer.message
