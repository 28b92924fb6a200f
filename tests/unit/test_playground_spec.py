"""Share-link codec of the playground: tokens, round trips, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.spec import KINDS, Block, SpecError, format_layers, parse_block, parse_layers

KERAS = "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"


def test_design_example_parses_to_keras_arguments():
    blocks = parse_layers(KERAS)
    assert [b.kind for b in blocks] == [
        "conv2d",
        "maxpool",
        "conv2d",
        "maxpool",
        "flatten",
        "dropout",
        "dense",
    ]
    assert blocks[0].args == {
        "filters": 32,
        "kernel_size": 3,
        "strides": 1,
        "padding": "valid",
        "activation": "relu",
    }
    assert blocks[1].args == {"pool_size": 2, "strides": None}
    assert blocks[5].args == {"rate": 0.5}
    assert blocks[6].args == {"units": 10, "activation": "softmax"}
    assert format_layers(blocks) == KERAS


@pytest.mark.parametrize(
    "token, expected",
    [
        (
            "conv2d:16:5:strides=2:padding=same:activation=tanh",
            {
                "filters": 16,
                "kernel_size": 5,
                "strides": 2,
                "padding": "same",
                "activation": "tanh",
            },
        ),
        (
            "CONV2D:16:5:Padding=SAME",
            {
                "filters": 16,
                "kernel_size": 5,
                "strides": 1,
                "padding": "same",
                "activation": "relu",
            },
        ),
        ("maxpool:3:strides=1", {"pool_size": 3, "strides": 1}),
        ("avgpool:2:strides=2", {"pool_size": 2, "strides": None}),  # = Keras default
        ("dense:128", {"units": 128, "activation": "relu"}),
        ("dense:10:softmax", {"units": 10, "activation": "softmax"}),
        (" dropout:0.25 ", {"rate": 0.25}),
        ("flatten", {}),
    ],
)
def test_tokens(token, expected):
    assert parse_block(token).args == expected


@pytest.mark.parametrize(
    "text, index, words",
    [
        ("conv2d:32:3,blah:2", 1, ["token 2", "unknown layer kind", "blah"]),
        ("conv2d:abc:3", 0, ["token 1", "filters", "whole number"]),
        ("conv2d:0:3", 0, ["filters", "at least 1"]),
        ("conv2d:32", 0, ["needs filters:kernel_size"]),
        ("conv2d:32:3:padding=round", 0, ["padding", "valid, same"]),
        ("conv2d:32:3:color=red", 0, ["no option 'color'"]),
        ("conv2d:32:3:1:1", 0, ["too many values"]),
        ("flatten,,dense:10:softmax", 1, ["token 2", "empty"]),
        ("dense:10:softplus", 0, ["activation", "softmax"]),
        ("dropout:1", 0, ["rate", "at most 0.95"]),
        ("dropout:nan", 0, ["rate", "must be a number"]),
        ("conv2d:²:3", 0, ["filters must be a whole number"]),
        ("conv2d:8:3:strides=١", 0, ["strides must be a whole number"]),
        ("dense:" + "9" * 5000, 0, ["units must be at most 4096"]),
        ("dense:-" + "9" * 5000, 0, ["units must be at least 1"]),
        ("dropout:1e999", 0, ["rate must be at most 0.95"]),
        ("maxpool:2:strides=2:strides=1", 0, ["given twice"]),
        ("dense:units=2:10", 0, ["positional value"]),
    ],
)
def test_malformed_tokens_name_the_token_and_why(text, index, words):
    with pytest.raises(SpecError) as info:
        parse_layers(text)
    assert info.value.index == index
    for word in words:
        assert word.lower() in str(info.value).lower()


@pytest.mark.parametrize(
    "text", ["conv2d:²:3", "dense:" + "7" * 5000, "dense:1_0", "dropout:٠.5", "dropout:infinity"]
)
def test_messages_say_what_the_field_accepts_not_python_internals(text):
    with pytest.raises(SpecError) as info:
        parse_layers(text)
    message = str(info.value)
    for internal in ("invalid literal", "base 10", "int_max_str_digits", "Exceeds the limit"):
        assert internal not in message
    assert len(message) < 300


def test_empty_and_too_long():
    with pytest.raises(SpecError, match="empty"):
        parse_layers("")
    with pytest.raises(SpecError, match="Too many layers"):
        parse_layers(",".join(["flatten"] * 100))


def test_long_garbage_is_shortened_in_the_message():
    with pytest.raises(SpecError) as info:
        parse_layers("x" * 5000)
    assert len(str(info.value)) < 300


def _arg_strategy(arg):
    if arg.choices:
        return st.sampled_from(arg.choices)
    if arg.type is int:
        values = st.integers(int(arg.low), int(arg.high))
        return st.one_of(st.none(), values) if arg.optional_none else values
    return st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9])


@st.composite
def blocks(draw):
    kind = draw(st.sampled_from(list(KINDS)))
    info = KINDS[kind]
    args = {a.name: draw(_arg_strategy(a)) for a in info.args}
    return Block.make(kind, **args)


@settings(max_examples=300, deadline=None)
@given(st.lists(blocks(), min_size=1, max_size=12))
def test_round_trip(spec):
    text = format_layers(spec)
    assert parse_layers(text) == spec
    assert format_layers(parse_layers(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_is_either_read_or_refused_with_spec_error(text):
    try:
        parse_layers(text)
    except SpecError as exc:
        assert str(exc)
