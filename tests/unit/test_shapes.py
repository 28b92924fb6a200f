"""Shapes before data: Keras arithmetic, clear errors, and check_layers."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pycnn import (
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    ModelError,
    Sequential,
    check_layers,
)
from pycnn.shapes import activation_memory, conv_output_length

KERAS_MNIST_CONVNET = [
    ("conv2d", "Conv2D", (26, 26, 32), 320),
    ("max_pooling2d", "MaxPooling2D", (13, 13, 32), 0),
    ("conv2d_1", "Conv2D", (11, 11, 64), 18_496),
    ("max_pooling2d_1", "MaxPooling2D", (5, 5, 64), 0),
    ("flatten", "Flatten", (1600,), 0),
    ("dropout", "Dropout", (1600,), 0),
    ("dense", "Dense", (10,), 16_010),
]


def keras_mnist_model(**kwargs):
    return Sequential(
        [
            Conv2D(32, kernel_size=(3, 3), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Conv2D(64, kernel_size=(3, 3), activation="relu"),
            MaxPooling2D(pool_size=(2, 2)),
            Flatten(),
            Dropout(0.5),
            Dense(10, activation="softmax"),
        ],
        input_shape=(28, 28, 1),
        **kwargs,
    )


def test_keras_simple_mnist_convnet_summary_row_by_row():
    model = keras_mnist_model()
    rows = model.summary()
    assert [(r.name, r.kind, r.output_shape, r.params) for r in rows] == KERAS_MNIST_CONVNET
    assert model.count_params() == 34_826
    assert sum(p.size for layer in model.layers for p in layer.params.values()) == 34_826
    text = model.summary_text()
    assert "conv2d_1 (Conv2D)" in text and "(None, 11, 11, 64)" in text
    assert "Total params: 34,826" in text


def test_macs_and_activation_memory():
    model = keras_mnist_model()
    macs = [r.macs for r in model.summary()]
    assert macs == [26 * 26 * 32 * 9, 0, 11 * 11 * 64 * 9 * 32, 0, 0, 0, 1600 * 10]
    assert model.count_macs() == sum(macs)
    values = 28 * 28 + 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 1600 + 1600 + 10
    assert model.activation_memory(128) == 128 * values * 4 * 2
    rows = check_layers(model.layers, (28, 28, 1))  # same figure without building a model
    assert activation_memory((28, 28, 1), [r.output_shape for r in rows], 128) == 128 * values * 8
    with pytest.raises(ValueError, match="batch_size"):
        model.activation_memory(0)


@pytest.mark.parametrize(
    "n, k, s, padding, expected",
    [
        (28, 3, 1, "valid", 26),
        (26, 2, 2, "valid", 13),
        (11, 2, 2, "valid", 5),  # floor
        (7, 3, 2, "valid", 3),
        (5, 5, 1, "valid", 1),
        (4, 5, 1, "valid", 0),  # does not fit
        (28, 3, 1, "same", 28),
        (28, 3, 2, "same", 14),
        (7, 3, 2, "same", 4),  # ceil
        (5, 1, 3, "same", 2),
        (1, 5, 1, "same", 1),
    ],
)
def test_conv_output_length_table(n, k, s, padding, expected):
    assert conv_output_length(n, k, s, padding) == expected


@pytest.mark.parametrize(
    "layer, input_shape, expected_shape, expected_params",
    [
        (Conv2D(8, 3), (8, 8, 1), (6, 6, 8), 80),
        (Conv2D(8, (3, 1), strides=(2, 1)), (9, 5, 2), (4, 5, 8), 56),
        (Conv2D(4, 5, strides=3, padding="same"), (10, 7, 3), (4, 3, 4), 304),
        (MaxPooling2D(2), (5, 5, 3), (2, 2, 3), 0),
        (MaxPooling2D(3, strides=1, padding="same"), (5, 4, 3), (5, 4, 3), 0),
        (AveragePooling2D((2, 3)), (6, 6, 2), (3, 2, 2), 0),
        (AveragePooling2D(2, padding="same"), (5, 5, 2), (3, 3, 2), 0),
        (Flatten(), (3, 4, 5), (60,), 0),
        (Dense(7), (12,), (7,), 91),
        (Dropout(0.25), (4, 4, 2), (4, 4, 2), 0),
    ],
    ids=lambda v: repr(v) if not isinstance(v, tuple) else None,
)
def test_layer_shapes_table(layer, input_shape, expected_shape, expected_params):
    assert layer.output_shape(input_shape) == expected_shape
    assert layer.param_count(input_shape) == expected_params
    layer.build(input_shape, np.random.default_rng(0))
    out = layer.forward(np.zeros((2, *input_shape), np.float32))
    assert out.shape == (2, *expected_shape)
    assert layer.count_params() == expected_params


# --------------------------------------------------------------------------- error messages


def _located_error(layers, input_shape):
    with pytest.raises(ModelError) as info:
        Sequential(layers, input_shape=input_shape)
    return info.value


def test_kernel_larger_than_input_names_layer_and_fix():
    err = _located_error([Conv2D(8, 3), MaxPooling2D(2), Conv2D(8, 5)], (8, 8, 1))
    message = str(err)
    # the text counts layers from 1 (the third layer), layer_index from 0
    assert message.startswith("Layer 3 (conv2d_1, Conv2D): kernel_size (5, 5) is larger")
    assert "padding='same'" in err.hint
    assert message.endswith("Received: input_shape=(3, 3, 8), kernel_size=(5, 5), padding='valid'.")
    assert isinstance(err, ValueError)
    assert (err.layer_index, err.layer_name, err.layer_kind) == (2, "conv2d_1", "Conv2D")


def test_pool_larger_than_input():
    err = _located_error([MaxPooling2D(2), MaxPooling2D(2), MaxPooling2D(3)], (8, 8, 1))
    assert "Layer 3 (max_pooling2d_2, MaxPooling2D)" in str(err)
    assert "pool_size (3, 3) is larger than its input (2, 2)" in str(err)


def test_dense_on_image_says_add_flatten():
    err = _located_error([Conv2D(4, 3), Dense(10)], (8, 8, 1))
    assert err.layer_index == 1
    assert "Add Flatten before it" in str(err)
    assert str(err).endswith("Received: input_shape=(6, 6, 4).")


def test_conv_after_flatten():
    err = _located_error([Flatten(), Conv2D(4, 3)], (8, 8, 1))
    assert err.layer_index == 1 and "image input" in str(err)


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: Conv2D(0, 3), "filters must be a positive integer"),
        (lambda: Conv2D(-4, 3), "filters must be a positive integer"),
        (lambda: Conv2D(8.5, 3), "filters must be a positive integer"),
        (lambda: Conv2D(8, 0), "kernel_size must contain positive integers"),
        (lambda: Conv2D(8, (3, -1)), "kernel_size must contain positive integers"),
        (lambda: Conv2D(8, 2.5), "kernel_size must be an integer or a pair"),
        (lambda: Conv2D(8, (3, 3, 3)), "kernel_size must be an integer or a pair"),
        (lambda: Conv2D(8, True), "kernel_size must be an integer or a pair"),
        (lambda: Conv2D(8, 3, strides=0), "strides must contain positive integers"),
        (lambda: Conv2D(8, 3, padding="full"), "unknown padding"),
        (lambda: Conv2D(8, 3, activation="rellu"), "unknown activation"),
        (lambda: MaxPooling2D(0), "pool_size must contain positive integers"),
        (lambda: AveragePooling2D(2, padding="zeros"), "unknown padding"),
        (lambda: Dense(0), "units must be a positive integer"),
        (lambda: Dense(10, activation="softplus"), "unknown activation"),
        (lambda: Dropout(1.0), "rate must be a number in [0, 1)"),
        (lambda: Dropout(-0.1), "rate must be a number in [0, 1)"),
        (lambda: Dropout("half"), "rate must be a number in [0, 1)"),
    ],
)
def test_invalid_arguments(make, fragment):
    with pytest.raises(ModelError) as info:
        make()
    message = str(info.value)
    assert fragment in message
    assert "Received: " in message and message.rstrip(".").split("Received: ")[1]
    assert info.value.hint


def test_activation_typo_suggests_the_name():
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        Dense(3, activation="rellu")


def test_bad_input_shape():
    with pytest.raises(
        ModelError, match=r"input_shape must be .*Received: input_shape=\(28, 0, 1\)"
    ):
        Sequential([Flatten()], input_shape=(28, 0, 1))


# --------------------------------------------------------------------------- check_layers


def test_check_layers_reports_every_row_without_raising():
    rows = check_layers(
        [
            Conv2D(8, 3),
            MaxPooling2D(2),
            Conv2D(8, 5),  # too big for (3, 3)
            {"class_name": "Dense", "config": {"units": 0}},  # cannot even be created
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        (8, 8, 1),
    )
    assert [r.name for r in rows] == [
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "dense",
        "flatten",
        "dense_1",
    ]
    assert [r.ok for r in rows] == [True, True, False, False, True, True]
    assert rows[2].error.layer_index == 2 and "kernel_size (5, 5)" in str(rows[2].error)
    assert rows[2].input_shape == (3, 3, 8) and rows[2].output_shape is None
    assert str(rows[3].error).startswith("Layer 4 (dense, Dense): units must be")
    # the rest of the table continues from the last valid shape
    assert rows[4].output_shape == (72,) and rows[5].params == 73 * 3


def test_check_layers_matches_summary_for_a_valid_model():
    rows = check_layers(
        [
            {"class_name": c["class_name"], "config": c["config"]}
            for c in keras_mnist_model().to_config()["layers"]
        ],
        (28, 28, 1),
    )
    assert [(r.name, r.kind, r.output_shape, r.params) for r in rows] == KERAS_MNIST_CONVNET


def test_check_layers_unknown_kind_and_bad_input_shape():
    rows = check_layers([{"class_name": "Conv3D", "config": {}}, "flatten"], (4, 4, 1))
    assert "unknown layer type" in str(rows[0].error) and rows[0].error.layer_index == 0
    assert rows[1].error is not None and rows[1].error.layer_index == 1
    rows = check_layers([Flatten(), Dense(2)], (4, -1))
    assert all(r.error is not None and "input_shape" in str(r.error) for r in rows)


# --------------------------------------------------------------------------- properties


layer_specs = st.one_of(
    st.builds(
        lambda f, k, s, p, a: ("conv", f, k, s, p, a),
        st.integers(1, 4),
        st.tuples(st.integers(1, 5), st.integers(1, 5)),
        st.tuples(st.integers(1, 3), st.integers(1, 3)),
        st.sampled_from(["valid", "same"]),
        st.sampled_from(["relu", "linear", "sigmoid", "tanh", "softmax"]),
    ),
    st.builds(
        lambda kind, k, s, p: (kind, k, s, p),
        st.sampled_from(["max", "avg"]),
        st.tuples(st.integers(1, 4), st.integers(1, 4)),
        st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
        st.sampled_from(["valid", "same"]),
    ),
    st.builds(lambda r: ("dropout", r), st.floats(0, 0.9)),
    st.builds(lambda u: ("dense", u), st.integers(1, 6)),
    st.just(("flatten",)),
)


def _make(spec):
    if spec[0] == "conv":
        _, f, k, s, p, a = spec
        return Conv2D(f, k, strides=s, padding=p, activation=a)
    if spec[0] in ("max", "avg"):
        cls = MaxPooling2D if spec[0] == "max" else AveragePooling2D
        return cls(spec[1], strides=spec[2], padding=spec[3])
    if spec[0] == "dropout":
        return Dropout(spec[1])
    if spec[0] == "dense":
        return Dense(spec[1])
    return Flatten()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(layer_specs, min_size=1, max_size=5),
    input_shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3)),
)
def test_output_shape_equals_forward_shape_or_clear_error(specs, input_shape):
    """Valid random models: predicted shapes equal real shapes. Invalid ones:
    a ModelError (ValueError) naming the layer, never another exception."""
    layers = [_make(s) for s in specs]
    rows = check_layers(layers, input_shape)
    try:
        model = Sequential(layers, input_shape=input_shape, seed=0)
    except ModelError as err:
        first_bad = next(r for r in rows if r.error is not None)
        assert err.layer_index == first_bad.index
        assert str(err) == str(first_bad.error)
        assert str(err).startswith(f"Layer {err.layer_index + 1} (")
        assert "Received: " in str(err)
        return
    assert all(r.ok for r in rows)
    x = np.random.default_rng(0).random((2, *input_shape), dtype=np.float32)
    outputs = model.activations(x)
    for row, out in zip(rows, outputs.values()):
        assert out.shape == (2, *row.output_shape)
        assert out.dtype == np.float32


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.integers(-3, 0),
        st.floats(allow_nan=True),
        st.text(max_size=3),
        st.none(),
        st.tuples(st.integers(-2, 3)),
        st.booleans(),
        st.lists(st.integers(-1, 4), max_size=4),
    ),
    arg=st.sampled_from(
        ["filters", "kernel_size", "strides", "pool_size", "units", "rate", "padding", "activation"]
    ),
)
def test_invalid_arguments_raise_value_error_only(value, arg):
    makers = {
        "filters": lambda v: Conv2D(v, 3),
        "kernel_size": lambda v: Conv2D(4, v),
        "strides": lambda v: Conv2D(4, 3, strides=v),
        "pool_size": lambda v: MaxPooling2D(v),
        "units": lambda v: Dense(v),
        "rate": lambda v: Dropout(v),
        "padding": lambda v: AveragePooling2D(2, padding=v),
        "activation": lambda v: Dense(3, activation=v),
    }
    try:
        layer = makers[arg](value)
    except ModelError as err:
        assert "Received: " in str(err)
        return
    # accepted values must be usable
    assert layer.output_shape((9, 9, 2) if arg != "units" and arg != "activation" else (5,))


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.floats(allow_nan=True),
    st.text(max_size=6),
    st.lists(st.integers(-1, 5), max_size=3),
    st.sampled_from(["same", "valid", "relu", "softmax", "tanh"]),
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(
        st.fixed_dictionaries(
            {
                "class_name": st.sampled_from(
                    [
                        "Conv2D",
                        "MaxPooling2D",
                        "AveragePooling2D",
                        "Flatten",
                        "Dense",
                        "Dropout",
                        "Conv3D",
                        7,
                    ]
                )
            },
            optional={
                "config": st.dictionaries(
                    st.sampled_from(
                        [
                            "filters",
                            "kernel_size",
                            "strides",
                            "padding",
                            "activation",
                            "pool_size",
                            "units",
                            "rate",
                            "seed",
                            "name",
                            "bogus",
                        ]
                    ),
                    junk,
                    max_size=4,
                )
            },
        ),
        min_size=1,
        max_size=4,
    ),
    input_shape=st.one_of(
        st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3)),
        st.tuples(st.integers(-1, 9)),
        junk,
    ),
)
@example(
    items=[{"class_name": "Dropout", "config": {"rate": 0.5, "seed": "abc"}}], input_shape=(3, 3, 1)
)
@example(
    items=[{"class_name": "Dropout", "config": {"rate": 0.5, "seed": 1.5}}], input_shape=(3, 3, 1)
)
@example(
    items=[{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [None, 3]}}],
    input_shape=(3, 3, 1),
)
@example(items=[{"class_name": "Dense", "config": {"units": 3, "name": 5}}], input_shape=(4,))
def test_check_layers_never_raises_on_arbitrary_configs(items, input_shape):
    """What a UI might send: every row is either a shape or a located ModelError."""
    rows = check_layers(items, input_shape)
    assert len(rows) == len(items)
    for i, row in enumerate(rows):
        assert row.index == i and isinstance(row.name, str)
        if row.error is None:
            assert all(isinstance(d, int) and d > 0 for d in row.output_shape)
        else:
            assert isinstance(row.error, ValueError) and row.error.layer_index == i
            assert "Received: " in str(row.error)


def test_model_error_parts_and_pickling():
    import pickle

    with pytest.raises(ModelError) as info:
        Conv2D(0, 3)
    err = info.value
    assert str(err) == (
        "Conv2D: filters must be a positive integer. Use a whole number of filters such as "
        "8, 16 or 32. Received: filters=0."
    )
    assert (err.layer_index, err.layer_kind, err.where) == (None, "Conv2D", "Conv2D")
    assert err.problem == "filters must be a positive integer" and err.received == "filters=0"
    located = err.located(4, "conv2d_2", "Conv2D")
    assert str(located).startswith("Layer 5 (conv2d_2, Conv2D): filters must be")
    assert located.where == "Layer 5 (conv2d_2, Conv2D)" and located.layer_index == 4
    copy = pickle.loads(pickle.dumps(located))
    assert isinstance(copy, ValueError) and str(copy) == str(located)
    assert (copy.layer_index, copy.hint) == (4, located.hint)
