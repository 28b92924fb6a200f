"""Playground state logic without a browser: share links, undo/redo, validation, presets."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.spec import Block, format_layers, parse_layers
from playground.state import (
    DEFAULT_LAYERS,
    MAX_PARAMS,
    PRESETS,
    PlaygroundState,
    analyze,
    build_model,
    format_query,
    parse_query,
    size_problem,
)

KERAS = PRESETS["keras"].layers


# --------------------------------------------------------------------------- share links


def test_design_md_link_rebuilds_the_model_and_settings():
    s = PlaygroundState()
    problems = s.apply_query(
        f"?dataset=mnist&layers={KERAS}&epochs=3&batch=64&lr=0.003&optimizer=sgd&seed=7"
    )
    assert problems == []
    assert s.dataset == "mnist"
    assert format_layers(s.layers) == KERAS
    assert (s.epochs, s.batch_size, s.learning_rate, s.optimizer, s.seed) == (
        3,
        64,
        0.003,
        "sgd",
        7,
    )
    assert s.analysis.total_params == 34_826


def test_malformed_layers_name_the_token_and_load_the_default_model():
    s = PlaygroundState()
    s.apply_query("?dataset=mnist&layers=conv2d:32:3,maxpool:two,flatten&epochs=2")
    assert format_layers(s.layers) == DEFAULT_LAYERS
    assert s.dataset == "mnist" and s.epochs == 2  # the valid parts of the link are kept
    [problem] = s.link_problems
    assert problem.key == "layers"
    assert "token 2" in problem.message and "maxpool:two" in problem.message
    assert "whole number" in problem.message and "default model" in problem.message


@pytest.mark.parametrize(
    "query, key, words",
    [
        ("?dataset=cifar", "dataset", ["Unknown dataset", "cifar", "digits"]),
        ("?epochs=many", "epochs", ["whole number", "many"]),
        ("?epochs=0", "epochs", ["between 1 and 100"]),
        ("?lr=-1", "lr", ["between"]),
        ("?lr=nan", "lr", ["number"]),
        ("?batch=1e9", "batch", ["whole number"]),
        ("?optimizer=rmsprop", "optimizer", ["sgd or adam"]),
        ("?layers=", "layers", ["empty"]),
    ],
)
def test_bad_settings_are_reported_and_ignored(query, key, words):
    values, problems = parse_query(query)
    assert [p.key for p in problems] == [key]
    for word in words:
        assert word in problems[0].message
    assert key not in values


@pytest.mark.parametrize("key", ["epochs", "seed", "batch", "lr", "val"])
@pytest.mark.parametrize("digits", [400, 5000])
def test_absurdly_long_numbers_are_out_of_range_not_a_crash(key, digits):
    values, problems = parse_query(f"?{key}={'9' * digits}&dataset=mnist")
    assert values == {"dataset": "mnist"}
    [problem] = problems
    assert problem.key == key and "between" in problem.message
    assert len(problem.message) < 200  # the value is shortened in the message


@pytest.mark.parametrize("raw", ["²", "١٢", "1_0", "0x10", "inf", "-nan", "1e", " "])
def test_only_plain_ascii_numbers_are_numbers(raw):
    _, problems = parse_query({"epochs": raw, "lr": raw})
    assert [p.key for p in problems] == ["epochs", "lr"]
    assert "whole number" in problems[0].message and "must be a number" in problems[1].message


def test_an_unexpected_failure_while_reading_a_link_keeps_the_page_and_says_so(monkeypatch):
    from playground import state as state_module

    s = PlaygroundState(epochs=7)
    s.update(0, filters=4)
    before = (list(s.layers), s.dataset, s.epochs)

    def broken(query):
        raise RuntimeError("a bug in the reader")

    monkeypatch.setattr(state_module, "parse_query", broken)
    [problem] = s.apply_query("?dataset=mnist&epochs=3")
    assert problem.key == "link" and "could not be read" in problem.message
    assert "RuntimeError" in problem.message and "model on the page was kept" in problem.message
    assert (list(s.layers), s.dataset, s.epochs) == before
    assert s.link_problems == [problem]


def _assert_loads(values) -> None:
    """Whatever parse_query returns, the state accepts as is."""
    s = PlaygroundState()
    s.param.update(**values)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_query_never_raises_for_any_text(text):
    values, problems = parse_query(text)
    assert all(p.message for p in problems)
    _assert_loads(values)


_KEYS = st.sampled_from(["dataset", "layers", "epochs", "batch", "lr", "optimizer", "seed", "val"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(_KEYS, st.text(max_size=10)),
            st.one_of(
                st.text(max_size=40),
                st.integers().map(str),
                st.floats().map(str),
                st.text("0123456789", min_size=300, max_size=600),
            ),
        ),
        max_size=8,
    )
)
def test_parse_query_never_raises_for_any_keys_and_values(pairs):
    values, problems = parse_query("?" + urlencode(pairs))
    assert all(p.message for p in problems)
    _assert_loads(values)


def test_unknown_keys_are_ignored_for_lms_parameters():
    values, problems = parse_query("?dataset=digits&lti_launch=abc&utm_source=x")
    assert values == {"dataset": "digits"} and problems == []


def test_markup_in_a_link_stays_text_in_the_message():
    evil = "<script>alert(1)</script>"
    _, problems = parse_query(
        {"layers": f"conv2d:8:3,{evil}", "dataset": "<img src=x onerror=alert(1)>"}
    )
    messages = " ".join(p.message for p in problems)
    assert "<script>" in messages  # quoted verbatim (as text) so the learner sees what was wrong
    from playground.components.text import esc

    assert "<" not in esc(messages) and "&lt;script&gt;" in esc(messages)


_settings = st.fixed_dictionaries(
    {
        "dataset": st.sampled_from(["digits", "mnist", "fashion", "shapes"]),
        "epochs": st.integers(1, 100),
        "batch_size": st.integers(1, 1024),
        "learning_rate": st.sampled_from([1.0, 0.1, 0.01, 0.003, 0.001, 1e-4, 1.5e-5]),
        "optimizer": st.sampled_from(["adam", "sgd"]),
        "seed": st.integers(0, 2**31 - 1),
        "validation_split": st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.5]),
    }
)
_layer_strings = st.lists(
    st.sampled_from(
        [
            "conv2d:8:3",
            "conv2d:16:5:strides=2:padding=same:activation=tanh",
            "maxpool:2",
            "avgpool:3:strides=1",
            "flatten",
            "dense:10:softmax",
            "dense:64",
            "dropout:0.25",
        ]
    ),
    min_size=1,
    max_size=8,
).map(",".join)


@settings(max_examples=100, deadline=None)
@given(_settings, _layer_strings)
def test_url_round_trip(values, layers):
    s = PlaygroundState(**values)
    s.layers = parse_layers(layers)
    query = format_query(s)
    t = PlaygroundState()
    assert t.apply_query(query) == []
    for name, value in values.items():
        assert getattr(t, name) == value, name
    assert t.layers == s.layers
    assert format_query(t) == query


# --------------------------------------------------------------------------- undo / redo


def test_undo_redo_every_kind_of_edit():
    s = PlaygroundState()
    history = [list(s.layers)]
    s.add("dense", 3, units=32)
    s.update(0, filters=16)
    s.duplicate(0)
    s.move(1, +1)
    s.remove(2)
    s.dataset = "mnist"
    final = (list(s.layers), s.dataset)
    steps = 6
    for _ in range(steps):
        assert s.undo()
    assert s.layers == history[0] and s.dataset == "digits"
    assert not s.undo() and not s.can_undo
    for _ in range(steps):
        assert s.redo()
    assert (s.layers, s.dataset) == final
    assert not s.redo()


def test_deleting_the_wrong_block_is_one_undo_away():
    s = PlaygroundState()
    before = list(s.layers)
    s.remove(0)
    assert len(s.layers) == len(before) - 1
    s.undo()
    assert s.layers == before


def test_a_new_edit_clears_redo_and_opening_a_link_is_not_an_edit():
    s = PlaygroundState()
    s.apply_query(f"?layers={KERAS}&dataset=mnist")
    assert not s.can_undo
    s.remove(0)
    s.undo()
    assert s.can_redo
    s.update(0, filters=4)
    assert not s.can_redo


def test_edits_are_refused_while_training():
    s = PlaygroundState()
    before = list(s.layers)
    s.training = True
    s.add("dense")
    s.remove(0)
    s.load_preset("keras")
    assert s.layers == before and not s.undo()


def test_locked_blocks_cannot_be_added():
    s = PlaygroundState(unlocked_kinds=["conv2d", "flatten", "dense"])
    n = len(s.layers)
    s.add("dropout")
    assert len(s.layers) == n
    s.add("conv2d", 0)
    assert len(s.layers) == n + 1


# --------------------------------------------------------------------------- validation


def test_default_model_is_valid_and_matches_pycnn():
    s = PlaygroundState()
    a = s.analysis
    assert a.valid and s.train_block_reason() is None
    model = build_model(DEFAULT_LAYERS, (8, 8, 1))
    assert [r.output_shape for r in a.rows] == [tuple(r.output_shape) for r in model.summary()]
    assert a.total_params == model.count_params() == 810


def test_invalid_layer_is_marked_and_the_rest_of_the_table_stays():
    blocks = parse_layers("conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax")
    a = analyze(blocks, (8, 8, 1), 10)
    assert not a.valid and a.error_index == 2
    assert [r.output_shape is not None for r in a.rows] == [True, True, False, True, True]
    assert a.rows[2].error.startswith("Layer 3 (conv2d_1, Conv2D)")  # numbered from 1 like the page
    assert "kernel_size" in a.error and "Received" in a.error
    labels = [f.label for f in a.fixes]
    assert any("padding='same'" in label for label in labels)
    for fix in a.fixes:  # every offered fix gives a valid model
        assert analyze(fix.layers, (8, 8, 1), 10).valid, fix.label


def test_dense_on_an_image_offers_flatten():
    s = PlaygroundState()
    s.layers = parse_layers("conv2d:8:3,dense:10:softmax")
    a = s.analysis
    assert a.error_index == 1 and "Flatten" in a.error
    assert s.train_block_reason().startswith("Fix the model first")
    s.apply_fix(a.fixes[0])
    assert format_layers(s.layers) == "conv2d:8:3,flatten,dense:10:softmax"
    assert s.analysis.valid


@pytest.mark.parametrize(
    "layers, fixed",
    [
        ("flatten,dense:5", "flatten,dense:10:softmax"),
        ("flatten,dense:10", "flatten,dense:10:softmax"),
        ("conv2d:8:3", "conv2d:8:3,flatten,dense:10:softmax"),
        ("flatten,dropout:0.5", "flatten,dropout:0.5,dense:10:softmax"),
    ],
)
def test_output_must_match_the_classes_with_a_one_click_fix(layers, fixed):
    s = PlaygroundState()
    s.layers = parse_layers(layers)
    a = s.analysis
    assert not a.valid and a.error_index == len(s.layers) - 1
    assert "10 classes" in a.error
    [fix] = a.fixes
    s.apply_fix(fix)
    assert format_layers(s.layers) == fixed and s.analysis.valid


def test_shapes_dataset_needs_six_outputs():
    s = PlaygroundState(dataset="shapes")
    assert not s.analysis.valid and "6 classes" in s.analysis.error
    s.apply_fix(s.analysis.fixes[0])
    assert s.analysis.valid and s.layers[-1].args["units"] == 6


def test_empty_model_says_what_to_do():
    s = PlaygroundState()
    s.layers = []
    assert "no layers" in s.analysis.error.lower()


def test_too_large_models_are_refused_with_a_reason():
    s = PlaygroundState(dataset="mnist")
    s.layers = parse_layers("flatten,dense:4096,dense:4096,dense:10:softmax")
    assert s.analysis.valid
    reason = s.train_block_reason()
    assert reason and f"{MAX_PARAMS:,}" in reason and "parameters" in reason
    s.layers = parse_layers(
        "conv2d:256:3:padding=same,conv2d:256:3:padding=same,flatten,dense:10:softmax"
    )
    s.batch_size = 1024
    reason = size_problem(s.analysis, s.batch_size)
    assert reason and "batch size 1024" in reason
    s.batch_size = 1
    assert size_problem(s.analysis, 1) is None or "parameters" in size_problem(s.analysis, 1)


# --------------------------------------------------------------------------- presets


@pytest.mark.parametrize(
    "key, dataset, params",
    [
        ("starter", "digits", 810),
        ("keras", "mnist", 34_826),  # Keras's published "Simple MNIST convnet" total
        ("lenet", "mnist", 61_706),  # LeNet-5's classic count
        ("dense", "mnist", 101_770),  # 785·128 + 129·10
    ],
)
def test_preset_parameter_counts(key, dataset, params):
    s = PlaygroundState(dataset=dataset)
    s.load_preset(key)
    assert s.analysis.valid, s.analysis.error
    assert s.analysis.total_params == params
    assert build_model(s.layers, s.info.input_shape).count_params() == params


def test_keras_preset_on_digits_switches_to_mnist_in_one_undo_step():
    s = PlaygroundState()
    s.load_preset("keras")
    assert s.dataset == "mnist" and s.analysis.total_params == 34_826
    assert (s.batch_size, s.optimizer) == (128, "adam")
    s.undo()
    assert s.dataset == "digits" and format_layers(s.layers) == DEFAULT_LAYERS


def test_every_preset_is_valid_on_every_dataset_it_loads_on():
    for dataset in ("digits", "mnist", "fashion"):
        for key in PRESETS:
            s = PlaygroundState(dataset=dataset)
            s.load_preset(key)
            assert s.analysis.valid, (dataset, key, s.analysis.error)


def test_blocks_are_values():
    a = Block.make("conv2d", filters=8, kernel_size=3)
    assert a == parse_layers("conv2d:8:3")[0]
    assert a.replace(filters=16) != a and a.args["filters"] == 8
