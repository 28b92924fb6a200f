"""Configs and weights round-trip exactly."""

import io
import json

import numpy as np
import pytest

from pycnn import (
    Adam,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    ModelError,
    Sequential,
)


def model(seed=0):
    return Sequential(
        [
            Conv2D(4, (3, 2), strides=(1, 2), padding="same", activation="tanh"),
            MaxPooling2D(2),
            AveragePooling2D((2, 1), strides=1, padding="same"),
            Flatten(),
            Dropout(0.3),
            Dense(5, activation="sigmoid", name="hidden"),
            Dense(3, activation="softmax"),
        ],
        input_shape=(8, 9, 2),
        seed=seed,
    )


def test_config_uses_keras_names_and_round_trips():
    m = model()
    config = m.to_config()
    assert json.loads(json.dumps(config)) == config  # JSON-friendly
    conv = config["layers"][0]
    assert conv == {
        "class_name": "Conv2D",
        "config": {
            "name": "conv2d",
            "filters": 4,
            "kernel_size": [3, 2],
            "strides": [1, 2],
            "padding": "same",
            "activation": "tanh",
        },
    }
    assert config["layers"][1]["config"] == {
        "name": "max_pooling2d",
        "pool_size": [2, 2],
        "strides": [2, 2],
        "padding": "valid",
    }
    assert config["layers"][4]["config"]["rate"] == 0.3
    assert config["layers"][6]["config"]["units"] == 3
    again = Sequential.from_config(config)
    assert again.to_config() == config
    assert [(r.name, r.output_shape, r.params) for r in again.summary()] == [
        (r.name, r.output_shape, r.params) for r in m.summary()
    ]
    # same seed in the config -> same initial weights
    for a, b in zip(m.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_from_keras_style_config_with_input_layer():
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "keras",
            "trainable": True,
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1]}},
                {
                    "class_name": "Conv2D",
                    "config": {
                        "filters": 32,
                        "kernel_size": [3, 3],
                        "activation": "relu",
                        "trainable": True,
                        "data_format": "channels_last",
                    },
                },
                {"class_name": "Flatten", "config": {}},
                {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}},
            ],
        },
    }
    m = Sequential.from_config(config)
    assert m.input_shape == (28, 28, 1) and m.count_params() == 320 + (26 * 26 * 32 + 1) * 10


def test_bad_configs_name_the_layer():
    config = model().to_config()
    config["layers"][2]["config"]["pool_sise"] = 2
    with pytest.raises(ModelError) as info:
        Sequential.from_config(config)
    assert info.value.layer_index == 2 and "unknown argument 'pool_sise'" in str(info.value)
    config = model().to_config()
    del config["layers"][6]["config"]["units"]
    with pytest.raises(ModelError, match="missing argument 'units'"):
        Sequential.from_config(config)
    config["layers"][6] = {"class_name": "Dens", "config": {}}
    with pytest.raises(ModelError, match="Did you mean 'Dense'"):
        Sequential.from_config(config)


def test_weights_round_trip_exactly_via_file_object_and_path(tmp_path):
    trained = model(seed=1)
    trained.compile(Adam(1e-2))
    x = np.random.default_rng(0).random((16, 8, 9, 2), dtype=np.float32)
    trained.fit(x, np.arange(16) % 3, epochs=1, batch_size=8)

    buffer = io.BytesIO()
    trained.save_weights(buffer)
    buffer.seek(0)
    fresh = model(seed=2)
    fresh.load_weights(buffer)
    for a, b in zip(trained.get_weights(), fresh.get_weights()):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(trained.predict(x), fresh.predict(x))

    path = tmp_path / "weights"  # used as given, no ".npz" appended
    trained.save_weights(path)
    assert path.exists()
    other = model(seed=3)
    other.load_weights(str(path))
    for a, b in zip(trained.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loading_into_a_different_architecture_fails_clearly(tmp_path):
    path = tmp_path / "w.npz"
    model().save_weights(path)
    wider = Sequential(
        [
            Conv2D(8, (3, 2), strides=(1, 2), padding="same"),
            MaxPooling2D(2),
            AveragePooling2D((2, 1), strides=1, padding="same"),
            Flatten(),
            Dropout(0.3),
            Dense(5, name="hidden"),
            Dense(3, activation="softmax"),
        ],
        input_shape=(8, 9, 2),
    )
    with pytest.raises(ModelError) as info:
        wider.load_weights(path)
    assert info.value.layer_index == 0 and "wrong shape" in str(info.value)
    with pytest.raises(ModelError, match="not an .npz archive"):
        model().load_weights(io.BytesIO(b"not a zip"))
    with pytest.raises(ModelError, match="wrong number of weight arrays"):
        model().set_weights([])
