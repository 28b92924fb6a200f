"""The exported scripts' data loading and their run as programs."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import import_script

from pycnn import Conv2D, Dense, Flatten, MaxPooling2D, Sequential, datasets, export

LIBRARIES = {"keras": export.to_keras, "pytorch": export.to_pytorch}


def _model(dataset: str) -> Sequential:
    info = datasets.info(dataset)
    return Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(info.num_classes, activation="softmax"),
        ],
        input_shape=info.input_shape,
    )


def _script(library: str, dataset: str, folder: Path, **training):
    code = LIBRARIES[library](_model(dataset), dataset=dataset, **training)
    return import_script(code, folder, f"{library}_{dataset}_data")


GENERATED = ("shapes", "colour-shapes")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dataset", GENERATED)
def test_generated_shapes_are_the_playground_s_images(library, dataset, tmp_path):
    (x_train, y_train), (x_test, y_test) = _script(library, dataset, tmp_path).load_data()
    (want_x_train, want_y_train), (want_x_test, want_y_test), _ = datasets.load(dataset)
    assert x_train.shape == (datasets.info(dataset).n_train, *datasets.info(dataset).input_shape)
    np.testing.assert_array_equal(x_train, want_x_train)
    np.testing.assert_array_equal(y_train, want_y_train)
    np.testing.assert_array_equal(x_test, want_x_test)
    np.testing.assert_array_equal(y_test, want_y_test)


@pytest.mark.parametrize("library", LIBRARIES)
def test_digits_come_from_scikit_learn_split_like_the_playground(library, tmp_path):
    (x_train, y_train), (x_test, y_test) = _script(library, "digits", tmp_path).load_data()
    (want_x_train, want_y_train), (want_x_test, want_y_test), _ = datasets.load("digits")
    assert x_train.shape == want_x_train.shape and x_test.shape == want_x_test.shape
    assert x_train.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(y_test), np.bincount(want_y_test))
    np.testing.assert_array_equal(np.bincount(y_train), np.bincount(want_y_train))
    # the same 1,797 images, scaled the same way, however they are split
    every = np.concatenate([x_train, x_test]).reshape(len(y_train) + len(y_test), -1)
    want = np.concatenate([want_x_train, want_x_test]).reshape(len(every), -1)
    np.testing.assert_array_equal(np.unique(every, axis=0), np.unique(want, axis=0))


def _idx(array: np.ndarray) -> bytes:
    """``array`` as a gzipped IDX file (the MNIST format)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _as_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(x[..., 0] * 255).astype(np.uint8)


def test_pytorch_reads_fashion_mnist_from_the_download(tmp_path):
    """The download and IDX reading, against a local copy in the real file format."""
    (x_train, y_train), (x_test, y_test), _ = datasets.load("fashion")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {
        "train-images-idx3-ubyte.gz": _as_uint8(x_train[:500]),
        "train-labels-idx1-ubyte.gz": y_train[:500],
        "t10k-images-idx3-ubyte.gz": _as_uint8(x_test[:200]),
        "t10k-labels-idx1-ubyte.gz": y_test[:200],
    }
    for name, array in files.items():
        (mirror / name).write_bytes(_idx(array))
    module = _script("pytorch", "fashion", tmp_path)
    module.DATA_URL = mirror.as_uri() + "/"
    module.DATA_DIR = tmp_path / "cache"
    (got_x_train, got_y_train), (got_x_test, got_y_test) = module.load_data()
    np.testing.assert_array_equal(got_y_train, y_train[:500])
    np.testing.assert_array_equal(got_y_test, y_test[:200])
    np.testing.assert_allclose(got_x_train, x_train[:500], atol=1e-6)
    np.testing.assert_allclose(got_x_test, x_test[:200], atol=1e-6)
    assert sorted(p.name for p in module.DATA_DIR.iterdir()) == sorted(files)  # cached


def test_pytorch_reads_mnist_from_the_download(tmp_path):
    (x_train, y_train), (x_test, y_test), _ = datasets.load("mnist")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    np.savez(
        mirror / "mnist.npz",
        x_train=_as_uint8(x_train[:300]),
        y_train=y_train[:300].astype(np.uint8),
        x_test=_as_uint8(x_test[:100]),
        y_test=y_test[:100].astype(np.uint8),
    )
    module = _script("pytorch", "mnist", tmp_path)
    module.DATA_URL = mirror.as_uri() + "/"
    module.DATA_DIR = tmp_path / "cache"
    (got_x_train, got_y_train), (got_x_test, got_y_test) = module.load_data()
    np.testing.assert_allclose(got_x_train, x_train[:300], atol=1e-6)
    np.testing.assert_array_equal(got_y_train, y_train[:300])
    np.testing.assert_array_equal(got_y_test, y_test[:100])
    assert got_x_test.shape == (100, 28, 28, 1)


def test_keras_reads_fashion_mnist_the_keras_way(tmp_path):
    """keras.datasets.fashion_mnist, served from Keras's own download cache."""
    (x_train, y_train), (x_test, y_test), _ = datasets.load("fashion")
    cache = Path(os.environ["KERAS_HOME"], "datasets", "fashion-mnist")
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "train-images-idx3-ubyte.gz").write_bytes(_idx(_as_uint8(x_train[:400])))
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(_idx(y_train[:400]))
    (cache / "t10k-images-idx3-ubyte.gz").write_bytes(_idx(_as_uint8(x_test[:100])))
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(_idx(y_test[:100]))
    (got_x_train, got_y_train), (got_x_test, got_y_test) = _script(
        "keras", "fashion", tmp_path
    ).load_data()
    np.testing.assert_allclose(got_x_train, x_train[:400], atol=1e-6)
    np.testing.assert_array_equal(got_y_train, y_train[:400])
    np.testing.assert_array_equal(got_y_test, y_test[:100])
    assert got_x_test.shape == (100, 28, 28, 1) and got_x_test.dtype == np.float32


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dataset", GENERATED)
def test_the_script_runs_as_a_program(library, dataset, tmp_path):
    """`python cnn_<library>.py`: loads a whole generated dataset (grey, then RGB), trains
    an epoch, tests."""
    model = _model(dataset)
    model.save_weights(tmp_path / export.WEIGHTS_FILENAME)
    code = LIBRARIES[library](model, dataset=dataset, epochs=1, batch_size=64)
    script = tmp_path / f"cnn_{library}.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, script.name, "--weights", export.WEIGHTS_FILENAME],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"Test accuracy: (\d\.\d{4})", result.stdout)
    assert match, result.stdout[-3000:]
    # one epoch learns a lot: at least three times chance (1/6 on shapes, 1/9 in colour)
    assert float(match[1]) > 3 / datasets.info(dataset).num_classes
