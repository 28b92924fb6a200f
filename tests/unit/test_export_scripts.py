"""Keras/PyTorch scripts and model JSON, without Keras or PyTorch installed.

The real libraries run these scripts in tests/reference/; here: the code compiles, names
the weights file's keys, carries the settings, and bad input gets a clear message.
"""

from __future__ import annotations

import ast
import io
import json

import numpy as np
import pytest

from pycnn import (
    SGD,
    Adam,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    ModelError,
    Sequential,
    datasets,
    export,
)
from pycnn.export import data_code, script

LIBRARIES = {"keras": export.to_keras, "pytorch": export.to_pytorch}


def convnet(classes: int = 10, input_shape=(28, 28, 1)) -> Sequential:
    return Sequential(
        [
            Conv2D(8, 3, strides=2, padding="same", activation="tanh"),  # 28 -> 14, pads (0, 1)
            MaxPooling2D(2),
            AveragePooling2D(3, strides=2, padding="same"),  # 7 -> 4, pads (1, 1)
            Flatten(),
            Dropout(0.5),
            Dense(16, activation="sigmoid"),
            Dense(classes, activation="softmax"),
        ],
        input_shape=input_shape,
    )


def names_defined(code: str) -> set[str]:
    return {
        node.name
        for node in ast.parse(code).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dataset", [*datasets.available(), None])
def test_every_dataset_gives_a_script_that_compiles(library, dataset):
    info = datasets.info(dataset or "mnist")
    model = convnet(info.num_classes, info.input_shape)
    if info.input_shape[0] < 28:  # digits: a smaller network
        model = Sequential(
            [Conv2D(4, 3, padding="same"), Flatten(), Dense(10, activation="softmax")],
            input_shape=info.input_shape,
        )
    code = LIBRARIES[library](model, dataset=dataset)
    compile(code, f"cnn_{library}.py", "exec")
    assert {"build_model", "load_pycnn_weights", "load_data", "train", "main"} <= names_defined(
        code
    )
    assert code.endswith('if __name__ == "__main__":\n    main()\n')


def every_padding(input_shape=(9, 7, 3)) -> Sequential:
    """Every layer kind with even, uneven and no "same" padding, on a 3-channel input."""
    return Sequential(
        [
            Conv2D(4, (3, 2), padding="same", activation="relu"),  # uneven along the width
            Conv2D(4, 3, strides=2, padding="same", activation="softmax"),
            MaxPooling2D(2, strides=1, padding="same"),
            AveragePooling2D(2, strides=1, padding="same"),
            AveragePooling2D(3, strides=1, padding="same"),
            MaxPooling2D(3, strides=1, padding="same"),
            Conv2D(2, 1, activation="sigmoid"),
            Flatten(),
            Dropout(0.1),
            Dense(5),
        ],
        input_shape=input_shape,
    )


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_layer_and_padding_gives_a_script_that_compiles(library):
    code = LIBRARIES[library](every_padding())
    compile(code, f"cnn_{library}.py", "exec")
    assert code.count("padding") >= 4


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_script_reads_exactly_the_keys_save_weights_writes(library):
    model = convnet()
    model.layers[-1].name = "output"  # the keys follow the layers' names
    buffer = io.BytesIO()
    model.save_weights(buffer)
    buffer.seek(0)
    with np.load(buffer) as saved:
        keys = set(saved.files)
        assert all(saved[key].dtype == np.float32 for key in keys)
    assert keys == {
        "conv2d/kernel",
        "conv2d/bias",
        "dense/kernel",
        "dense/bias",
        "output/kernel",
        "output/bias",
    }
    code = LIBRARIES[library](model, dataset="mnist")
    read = {node.value for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Constant)}
    assert keys <= read
    assert not {v for v in read if isinstance(v, str) and v.endswith(("/kernel", "/bias"))} - keys


@pytest.mark.parametrize("library", LIBRARIES)
def test_the_settings_are_in_the_script(library):
    code = LIBRARIES[library](
        convnet(),
        dataset="fashion",
        epochs=7,
        batch_size=48,
        learning_rate=0.02,
        optimizer="sgd",
        validation_split=0.2,
        seed=11,
        link="https://example.org/play/?dataset=fashion&seed=11",
    )
    for line in ("EPOCHS = 7", "BATCH_SIZE = 48", "LEARNING_RATE = 0.02"):
        assert f"\n{line}\n" in code
    assert "\nVALIDATION_SPLIT = 0.2  #" in code and "\nSEED = 11\n" in code
    assert "# From: https://example.org/play/?dataset=fashion&seed=11\n" in code
    assert "momentum=0.9" in code  # the playground's SGD
    assert "Fashion-MNIST" in code.splitlines()[4]


def test_adam_keeps_pycnn_s_epsilon_in_pytorch():
    code = export.to_pytorch(convnet(), dataset="mnist", optimizer=Adam(0.003, epsilon=1e-6))
    assert "eps=1e-06" in code and "betas=(0.9, 0.999)" in code and "LEARNING_RATE = 0.003" in code
    keras_code = export.to_keras(convnet(), dataset="mnist", optimizer=Adam(0.003, beta_1=0.8))
    assert "keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1=0.8)" in keras_code


def test_the_compiled_optimizer_is_the_default():
    model = convnet()
    model.compile(SGD(0.05, momentum=0.5, nesterov=True))
    code = export.to_pytorch(model, dataset="mnist")
    assert (
        "torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.5, nesterov=True)" in code
    )
    assert "LEARNING_RATE = 0.05" in code
    assert "keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.5, nesterov=True)" in (
        export.to_keras(model, dataset="mnist")
    )


def test_pytorch_pads_same_like_keras():
    code = export.to_pytorch(convnet(), dataset="mnist")
    # uneven: 28 -> 14 with a 3x3 kernel, stride 2, pads nothing before and one after
    assert 'x = F.pad(x, (0, 1, 0, 1))  # "same": the extra goes right/bottom' in code
    assert "nn.Conv2d(1, 8, kernel_size=(3, 3), stride=(2, 2))" in code
    # even: the pooling's own padding, averaging real pixels only
    assert (
        "nn.AvgPool2d(\n            (3, 3), stride=(2, 2), padding=(1, 1), count_include_pad=False\n"
        in code
    )
    assert "class AvgPool2dSame" not in code
    uneven = Sequential(
        [
            AveragePooling2D(2, strides=1, padding="same"),
            MaxPooling2D(2, strides=1, padding="same"),
            Flatten(),
            Dense(2, activation="softmax"),
        ],
        input_shape=(5, 5, 3),
    )
    code = export.to_pytorch(uneven)
    assert (
        "self.average_pooling2d = AvgPool2dSame((2, 2), stride=(1, 1), padding=(0, 1, 0, 1))"
        in code
    )
    assert 'x = F.pad(x, (0, 1, 0, 1), value=float("-inf"))' in code
    assert "takes images as (N, 3, 5, 5)" in code


def test_flatten_keeps_keras_channels_last_order():
    code = export.to_pytorch(convnet(), dataset="mnist")
    assert "x = self.flatten(x.permute(0, 2, 3, 1))" in code
    assert "nn.Linear(128, 16)" in code


def test_a_link_cannot_break_out_of_its_comment():
    link = 'http://x/?a=1\nimport os; os.system("boom")\r\u2028"""\\'
    for to_code in LIBRARIES.values():
        code = to_code(convnet(), dataset="mnist", link=link)
        tree = ast.parse(code)
        calls = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert "system" not in calls
        assert (
            "# From: http://x/?a=1%0Aimport os; os.system(%22boom%22)%0D%E2%80%A8%22%22%22%5C\n"
            in code
        )


def test_without_a_dataset_the_learner_writes_load_data():
    model = convnet(input_shape=(28, 28, 3))
    for to_code in LIBRARIES.values():
        code = to_code(model)
        assert "(N, 28, 28, 3)" in code and 'raise NotImplementedError("write load_data()' in code


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": "cifar"}, "unknown dataset"),
        ({"dataset": "digits"}, "images are 8×8×1, but the model takes 28×28×1"),
        ({"dataset": "shapes"}, "6 classes, but the model's last layer has 10 outputs"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\)"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"learning_rate": 0}, "learning_rate must be greater than 0"),
    ],
)
def test_bad_settings_get_a_clear_message(change, message):
    for to_code in LIBRARIES.values():
        with pytest.raises(ModelError, match=message) as info:
            to_code(convnet(), **{"dataset": "mnist", **change})
        assert info.value.layer_kind == "Export" and "Received:" in str(info.value)


def test_a_model_that_cannot_train_is_refused_with_its_layer():
    model = Sequential([Flatten(), Dense(10, activation="relu")], input_shape=(28, 28, 1))
    with pytest.raises(ModelError, match="last layer must output class scores") as info:
        export.to_keras(model, dataset="mnist")
    assert info.value.layer_index == 1
    with pytest.raises(ModelError, match="known input shape"):
        export.to_pytorch(Sequential([Flatten(), Dense(10)]))
    with pytest.raises(TypeError):
        export.to_keras(convnet(), dataset="mnist", epoch=3)  # a misspelt setting


def test_layer_names_become_python_names():
    taken: set[str] = set()
    names = ["conv2d", "my conv", "2nd", "eval", "class", "conv2d", "día"]
    assert [script.python_name(n, taken) for n in names] == [
        "conv2d",
        "my_conv",
        "layer_2nd",
        "layer_eval",
        "layer_class",
        "conv2d_1",
        "d_a",
    ]


@pytest.mark.parametrize("dataset", ["shapes", "colour-shapes"])
def test_the_shapes_generators_in_the_script_draw_pycnn_s_images(dataset):
    """The script's copy of the generator, run with NumPy alone, gives the same arrays."""
    info = datasets.info(dataset)
    model = convnet(classes=info.num_classes, input_shape=info.input_shape)
    settings = script.settings(model, dataset=dataset)
    _, blocks = data_code.load_data_code(settings, model, "keras")
    namespace: dict = {}
    code = compile("import numpy as np\n" + "\n\n".join(blocks), dataset, "exec")
    exec(code, namespace)  # noqa: S102  (the code under test)
    (x_train, y_train), (x_test, y_test) = namespace["load_data"]()
    (want_x, want_y), (want_x_test, want_y_test), _ = datasets.load(dataset)
    assert x_train.shape == (info.n_train, *info.input_shape)
    np.testing.assert_array_equal(x_train, want_x)
    np.testing.assert_array_equal(y_train, want_y)
    np.testing.assert_array_equal(x_test, want_x_test)
    np.testing.assert_array_equal(y_test, want_y_test)


# --------------------------------------------------------------------------- model JSON


def test_model_json_round_trips_through_pycnn():
    model = convnet()
    text = export.model_json(model)
    rebuilt = Sequential.from_config(json.loads(text))
    assert rebuilt.to_config() == model.to_config()
    assert [r.output_shape for r in rebuilt.summary()] == [r.output_shape for r in model.summary()]
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_model_json_is_keras_s_format():
    config = json.loads(export.model_json(convnet()))
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    first, *layers = config["config"]["layers"]
    assert first["class_name"] == "InputLayer"
    assert first["config"]["batch_shape"] == [None, 28, 28, 1]
    assert config["config"]["input_shape"] == [28, 28, 1]
    assert all(item["module"] == "keras.layers" for item in layers)
    conv = layers[0]["config"]
    assert conv["data_format"] == "channels_last" and conv["kernel_size"] == [3, 3]
    assert "data_format" not in layers[-1]["config"]  # Dense takes none


def test_model_json_needs_the_input_shape():
    with pytest.raises(ModelError, match="input shape"):
        export.model_json(Sequential([Flatten(), Dense(2)]))
