"""Share links: the settings table, reading and writing links, the rules for odd links."""

from __future__ import annotations

from urllib.parse import urlencode

import param
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.links import LINK_PARAMS, format_query, link_query, parse_query
from playground.presets import DEFAULT_LAYERS, PRESETS
from playground.settings import DATASETS, SETTINGS, Settings
from playground.spec import format_layers, parse_layers
from playground.state import PlaygroundState

KERAS = PRESETS["keras"].layers


# --------------------------------------------------------------------------- the table


def test_every_setting_is_a_bounded_parameter_of_the_state():
    state = PlaygroundState()
    for setting in SETTINGS:
        p = state.param[setting.param]
        assert p.default == setting.default and p.doc == setting.doc
        if setting.choices:
            assert isinstance(p, param.Selector) and tuple(p.objects) == setting.choices
        else:
            assert p.bounds == (setting.low, setting.high)
            with pytest.raises(ValueError):
                setattr(state, setting.param, setting.high * 2 + 1)
    assert set(LINK_PARAMS) == {"layers", *(s.param for s in SETTINGS)}
    assert issubclass(PlaygroundState, Settings)


def test_the_table_drives_the_link_in_design_md_order():
    s = PlaygroundState(epochs=3, batch_size=64, learning_rate=0.003, optimizer="sgd", seed=7)
    s.layers = parse_layers(KERAS)
    assert format_query(s) == (
        f"?dataset=digits&layers={KERAS}&epochs=3&batch=64&lr=0.003&optimizer=sgd&seed=7"
    )
    s.validation_split = 0.2  # 'val' is written only when it is not the default
    assert format_query(s).endswith("&val=0.2")


# --------------------------------------------------------------------------- reading


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


def test_a_link_opens_the_colour_dataset_with_rgb_input():
    colour = "conv2d:8:3,maxpool:2,flatten,dense:9:softmax"
    s = PlaygroundState()
    assert s.apply_query(f"?dataset=colour-shapes&layers={colour}") == []
    assert s.dataset == "colour-shapes" and s.info.input_shape == (32, 32, 3)
    assert s.analysis.error is None
    first = s.analysis.rows[0]
    assert (first.output_shape, first.params) == ((30, 30, 8), 3 * 3 * 3 * 8 + 8)
    assert (
        format_query(s)
        == f"?dataset=colour-shapes&layers={colour}&epochs=5&batch=32&lr=0.01&optimizer=adam&seed=0"
    )


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
        ("?dataset=cifar", "dataset", ["dataset must be one of", "cifar", "digits"]),
        ("?epochs=many", "epochs", ["whole number", "many"]),
        ("?epochs=0", "epochs", ["at least 1"]),
        ("?epochs=101", "epochs", ["at most 100"]),
        ("?lr=-1", "lr", ["at least 1e-06"]),
        ("?lr=nan", "lr", ["must be a number"]),
        ("?batch=1e9", "batch", ["whole number"]),
        ("?optimizer=rmsprop", "optimizer", ["adam, sgd", "rmsprop"]),
        ("?layers=", "layers", ["empty"]),
    ],
)
def test_bad_settings_are_reported_and_ignored(query, key, words):
    values, problems = parse_query(query)
    assert [p.key for p in problems] == [key]
    for word in words:
        assert word in problems[0].message
    assert values == {}  # the default stays


@pytest.mark.parametrize("key", ["epochs", "seed", "batch", "lr", "val"])
@pytest.mark.parametrize("digits", [400, 5000])
def test_absurdly_long_numbers_are_out_of_range_not_a_crash(key, digits):
    values, problems = parse_query(f"?{key}={'9' * digits}&dataset=mnist")
    assert values == {"dataset": "mnist"}
    [problem] = problems
    assert problem.key == key and "at most" in problem.message
    assert len(problem.message) < 200  # the value is shortened in the message


@pytest.mark.parametrize("raw", ["²", "١٢", "1_0", "0x10", "inf", "-nan", "1e", " "])
def test_only_plain_ascii_numbers_are_numbers(raw):
    _, problems = parse_query("?" + urlencode({"epochs": raw, "lr": raw}))
    assert [p.key for p in problems] == ["epochs", "lr"]
    assert "must be a whole number" in problems[0].message
    assert "must be a number" in problems[1].message


def test_a_repeated_key_reads_the_first_value_and_says_so():
    values, problems = parse_query(
        "?layers=bogus&layers=flatten,dense:10:softmax&dataset=cifar&dataset=mnist&epochs=3&epochs=4"
    )
    assert "layers" not in values and "dataset" not in values and values["epochs"] == 3
    messages = {p.key: [] for p in problems}
    for p in problems:
        messages[p.key].append(p.message)
    layers, dataset, epochs = messages["layers"], messages["dataset"], messages["epochs"]
    assert "given 2 times" in layers[0] and "'bogus'" in layers[0] and "ignored" in layers[0]
    assert "unknown layer kind 'bogus'" in layers[1] and "default model" in layers[1]
    assert "given 2 times" in dataset[0] and "'cifar'" in dataset[0]
    assert "cifar" in dataset[1] and "must be one of" in dataset[1]
    assert epochs == [
        "'epochs' is given 2 times: the first value ('3') was read, the others were ignored."
    ]


def test_unknown_keys_are_ignored_for_lms_parameters():
    values, problems = parse_query("?dataset=digits&lti_launch=abc&utm_source=x&utm_source=y")
    assert values == {"dataset": "digits"} and problems == []


def test_markup_in_a_link_stays_text_in_the_message():
    evil = "<script>alert(1)</script>"
    _, problems = parse_query(
        "?" + urlencode({"layers": f"conv2d:8:3,{evil}", "dataset": "<img src=x onerror=alert(1)>"})
    )
    messages = " ".join(p.message for p in problems)
    assert "<script>" in messages  # quoted verbatim (as text) so the learner sees what was wrong
    from playground.components.text import esc

    assert "<" not in esc(messages) and "&lt;script&gt;" in esc(messages)


def _assert_loads(values) -> None:
    """Whatever parse_query returns, the state accepts as is."""
    PlaygroundState().param.update(**values)


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


# --------------------------------------------------------------------------- pasted text


@pytest.mark.parametrize(
    "text, query",
    [
        ("https://course.example/cnn/?dataset=mnist&epochs=2#top", "?dataset=mnist&epochs=2"),
        ("  ?layers=flatten,dense:10:softmax ", "?layers=flatten,dense:10:softmax"),
        ("dataset=shapes", "?dataset=shapes"),
        ("hello world", None),
        ("https://example.com/?utm_source=mail", None),
        ("", None),
    ],
)
def test_pasted_text_is_a_link_only_with_a_key_the_page_knows(text, query):
    assert link_query(text) == query


# --------------------------------------------------------------------------- round trip

_settings = st.fixed_dictionaries(
    {
        "dataset": st.sampled_from(DATASETS),
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
