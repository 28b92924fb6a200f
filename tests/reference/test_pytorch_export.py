"""to_pytorch against the real PyTorch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from conftest import import_script

from pycnn import Conv2D, Dense, Flatten, Sequential, export
from pycnn.export.script import RESERVED_NAMES


@pytest.fixture(scope="session")
def script(case, tmp_path_factory):
    code = export.to_pytorch(case.model, **case.training(link="http://127.0.0.1:8000/?m=test"))
    return import_script(code, tmp_path_factory.mktemp("pytorch"), f"pytorch_{case.name}")


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def test_layers_parameters_and_shapes_are_pycnn_s(case, script):
    """One child module per playground layer, named like it, with its parameters and output shape."""
    model = script.build_model().eval()
    rows = case.model.summary()
    children = dict(model.named_children())
    assert list(children) == [row.name for row in rows]
    assert sum(p.numel() for p in model.parameters()) == case.model.count_params()
    outputs = {}
    for name, module in children.items():
        module.register_forward_hook(lambda m, i, out, name=name: outputs.setdefault(name, out))
    with torch.no_grad():
        model(_nchw(case.x_test[:2]))
    for row in rows:
        assert sum(p.numel() for p in children[row.name].parameters()) == row.params, row.name
        shape = tuple(outputs[row.name].shape[1:])
        nhwc = (*shape[1:], shape[0]) if len(shape) == 3 else shape
        assert nhwc == row.output_shape, row.name


def test_pycnn_weights_give_the_same_predictions(case, script):
    model = script.build_model(str(case.weights)).eval()
    with torch.no_grad():
        torch_out = model(_nchw(case.x_test)).numpy()
    pycnn_out = case.model.predict(case.x_test)
    np.testing.assert_allclose(torch_out, pycnn_out, rtol=1e-4, atol=2e-6)
    assert (torch_out.argmax(axis=1) == pycnn_out.argmax(axis=1)).mean() >= 0.99


def test_a_short_training_run_prints_the_test_accuracy(case, script, capsys):
    accuracy = script.main(["--epochs", "1"], load_data=case.load_small)
    printed = capsys.readouterr().out
    assert re.search(r"Epoch 1/1: loss \d+\.\d{4}, accuracy \d\.\d{4}, val_loss", printed), printed
    match = re.search(r"Test accuracy: (\d\.\d{4}) \(loss \d+\.\d{4}\)", printed)
    assert match, printed
    assert float(match[1]) == pytest.approx(accuracy, abs=5e-5)


def test_starting_from_the_playground_weights_tests_them(case, script):
    accuracy = script.main(
        ["--weights", str(case.weights), "--epochs", "0"], load_data=case.load_small
    )
    expected = np.mean(case.model.predict(case.x_test[:100]).argmax(axis=1) == case.y_test[:100])
    assert accuracy == pytest.approx(expected, abs=0.011)  # at most one image either way


def test_weights_of_the_wrong_model_are_refused(case, script, tmp_path):
    """load_state_dict checks every shape: weights of another network do not load quietly."""
    other = Sequential([Conv2D(3, 3), Conv2D(3, 3), Flatten(), Dense(1)], input_shape=(9, 9, 1))
    path = tmp_path / "other.npz"
    other.save_weights(path)
    with pytest.raises((KeyError, RuntimeError)):
        script.build_model(str(path))


def test_reserved_names_cover_every_public_nn_module_attribute():
    """A layer named like an nn.Module method must not shadow it; the list names them all."""
    public = {name for name in dir(torch.nn.Module) if not name.startswith("_")}
    assert public <= RESERVED_NAMES | {"training"}, sorted(public - RESERVED_NAMES)


def test_layer_names_that_are_not_identifiers_still_export(tmp_path):
    model = Sequential(
        [
            Conv2D(2, 3, name="my conv"),
            Conv2D(2, 1, name="2nd"),
            Conv2D(2, 1, name="eval"),  # would hide nn.Module.eval
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        input_shape=(5, 5, 1),
    )
    weights = tmp_path / "weights.npz"
    model.save_weights(weights)
    module = import_script(export.to_pytorch(model), tmp_path, "pytorch_odd_names")
    net = module.build_model(str(weights)).eval()
    assert list(dict(net.named_children())) == [
        "my_conv",
        "layer_2nd",
        "layer_eval",
        "flatten",
        "dense",
    ]
    x = np.random.default_rng(0).random((4, 5, 5, 1), dtype=np.float32)
    with torch.no_grad():
        out = net(_nchw(x)).numpy()
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-4, atol=2e-6)
