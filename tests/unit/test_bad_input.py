"""Bad input at pycnn's public boundary: files, weights, configs, arrays and dataset files.

Each case must end in a ValueError (pycnn's ModelError) that says what is wrong and
ends "Received: …", and must leave the model as it was.
"""

import io
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycnn import Conv2D, Dense, Flatten, ModelError, Sequential, datasets
from pycnn.datasets import loading


def small_model(seed=0):
    model = Sequential(
        [Conv2D(2, 3), Flatten(), Dense(3, activation="softmax")], input_shape=(5, 5, 1), seed=seed
    )
    model.compile()
    return model


def weights_file(model) -> bytes:
    buffer = io.BytesIO()
    model.save_weights(buffer)
    return buffer.getvalue()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def assert_refused(call, *fragments, error=ModelError):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "Received: " in message, message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def assert_unchanged(model, weights):
    for now, before in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(now, before)


# --------------------------------------------------------------------------- weight files


def test_truncated_weights_file_names_the_file_and_keeps_the_weights(tmp_path):
    data = weights_file(small_model(seed=1))
    path = tmp_path / "run.weights.npz"
    path.write_bytes(data[: len(data) // 2])
    model = small_model()
    before = model.get_weights()
    assert_refused(lambda: model.load_weights(path), "damaged, truncated", "run.weights.npz")
    assert_unchanged(model, before)


def test_bit_flipped_weights_file_is_caught_by_the_checksum():
    data = bytearray(weights_file(small_model(seed=1)))
    start = data.index(b"\x93NUMPY")  # the first array's .npy header; its data follows
    data[start + 150] ^= 0x10  # a bit inside the kernel's numbers
    model = small_model()
    before = model.get_weights()
    assert_refused(lambda: model.load_weights(io.BytesIO(bytes(data))), "Bad CRC-32")
    assert_unchanged(model, before)


def test_every_truncation_and_sampled_bit_flip_is_refused_or_loads_the_same_numbers():
    source = small_model(seed=1)
    data = weights_file(source)
    damaged = [data[:n] for n in range(0, len(data), 7)]
    for i in range(0, len(data), 5):
        flipped = bytearray(data)
        flipped[i] ^= 1 << (i % 8)
        damaged.append(bytes(flipped))
    refused = 0
    for blob in damaged:
        model = small_model()
        before = model.get_weights()
        try:
            model.load_weights(io.BytesIO(blob))
        except ModelError as err:
            assert "Received: " in str(err)
            assert_unchanged(model, before)
            refused += 1
        else:  # a flip in bytes nobody reads (e.g. a timestamp): the numbers must be intact
            assert_unchanged(model, source.get_weights())
    assert refused > len(damaged) // 2


def test_archive_entry_that_is_not_an_array():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("conv2d/kernel.npy", npz_member(np.zeros((3, 3, 1, 2), np.float32)))
        archive.writestr("notes.txt", b"trained on Tuesday")
    assert_refused(
        lambda: small_model().load_weights(io.BytesIO(buffer.getvalue())),
        "not a NumPy array",
        "'notes.txt'",
    )


def npz_member(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


_RUNG: list[bool] = []


class _Alarm:
    """Unpickling this calls _ring: proof that pickle ran."""

    def __reduce__(self):
        return (_ring, ())


def _ring():
    _RUNG.append(True)
    return "rung"


def test_pickled_objects_in_an_archive_are_never_unpickled():
    buffer = io.BytesIO()
    np.savez(buffer, **{"conv2d/kernel": np.array([_Alarm()], dtype=object)})
    pickle.dumps(_Alarm())  # the payload is a real pickle
    assert_refused(
        lambda: small_model().load_weights(io.BytesIO(buffer.getvalue())),
        "Object arrays cannot be loaded",
    )
    assert _RUNG == []


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world", npz_member(np.zeros(3)), b"PK\x03\x04" + b"\0" * 40],
    ids=["empty", "text", "plain .npy", "zip header only"],
)
def test_files_that_are_not_npz_archives(tmp_path, content):
    path = tmp_path / "weights.npz"
    path.write_bytes(content)
    assert_refused(lambda: small_model().load_weights(path), "not an .npz archive", str(path))


def test_missing_file_and_not_a_file():
    assert_refused(lambda: small_model().load_weights("/no/such/weights.npz"), "does not exist")
    assert_refused(lambda: small_model().load_weights(None), "a path or a binary file object")


# --------------------------------------------------------------------------- weight values


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_on_set_and_load(bad):
    model = small_model()
    before = model.get_weights()
    kernel = before[0].copy()
    kernel[0, 0, 0, 1] = bad
    weights = [kernel, *before[1:]]
    assert_refused(lambda: model.set_weights(weights), "NaN or infinity", "1 of 18 values")
    names = ["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]
    blob = npz_bytes(**dict(zip(names, weights)))
    error = assert_refused(lambda: model.load_weights(io.BytesIO(blob)), "NaN or infinity")
    assert (error.layer_index, error.layer_name) == (0, "conv2d")
    assert_unchanged(model, before)


def test_values_too_large_for_float32_are_refused():
    model = small_model()
    weights = model.get_weights()
    weights[2] = np.full(weights[2].shape, 1e300)  # finite in float64, inf in float32
    assert_refused(lambda: model.set_weights(weights), "NaN or infinity")


@pytest.mark.parametrize(
    "dtype, received",
    [(complex, "complex128"), (str, "<U"), (object, "object"), (bool, "bool")],
)
def test_weights_that_are_not_real_numbers_are_refused_not_cast(dtype, received):
    model = small_model()
    before = model.get_weights()
    weights = [w.astype(dtype) for w in before]
    error = assert_refused(lambda: model.set_weights(weights), "must hold real numbers", received)
    assert error.layer_index == 0
    assert_unchanged(model, before)


def test_integer_weights_are_accepted_as_before():
    model = small_model()
    weights = [np.ones(w.shape, dtype=np.int64) for w in model.get_weights()]
    model.set_weights(weights)
    assert all(w.dtype == np.float32 and (w == 1).all() for w in model.get_weights())


@pytest.mark.parametrize("weights", [None, "kernel", 3, {"conv2d/kernel": 0}])
def test_set_weights_needs_a_list(weights):
    assert_refused(lambda: small_model().set_weights(weights), "list of arrays")


# --------------------------------------------------------------------------- fit / evaluate / predict


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_images_are_refused_everywhere(bad):
    model = small_model()
    before = model.get_weights()
    x = np.random.default_rng(0).random((6, 5, 5, 1), dtype=np.float32)
    x[4, 2, 3, 0] = bad
    y = np.array([0, 1, 2, 0, 1, 2])
    for call in (
        lambda: model.fit(x, y),
        lambda: model.evaluate(x, y),
        lambda: model.predict(x),
        lambda: model.fit(x[:4], y[:4], validation_data=(x, y)),
    ):
        assert_refused(call, "finite numbers", "in 1 example(s), the first")
    assert_refused(lambda: model.predict(x), "x[4]")
    assert_unchanged(model, before)


def test_float64_images_beyond_float32_are_refused():
    x = np.full((2, 5, 5, 1), 1e300)
    assert_refused(lambda: small_model().predict(x), "finite numbers")


# --------------------------------------------------------------------------- configs


def test_input_layer_without_a_config_dict():
    config = {"layers": [{"class_name": "InputLayer", "config": None}]}
    assert_refused(lambda: Sequential.from_config(config), "InputLayer", "config=None")
    config = {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": 5}}]}
    assert_refused(lambda: Sequential.from_config(config), "batch_shape=5")


def test_config_input_shape_reads_like_the_constructor():
    assert Sequential.from_config({"input_shape": 5, "layers": []}).input_shape == (5,)
    assert_refused(lambda: Sequential.from_config({"input_shape": "28x28"}), "input_shape")
    assert_refused(lambda: Sequential.from_config({"seed": -1}), "seed", "seed=-1")
    assert_refused(lambda: Sequential.from_config({"seed": True}), "seed=True")


def test_unhashable_class_name():
    config = {"layers": [{"class_name": ["Dense"], "config": {"units": 3}}]}
    assert_refused(lambda: Sequential.from_config(config), "unknown layer type")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_layer = st.fixed_dictionaries(
    {
        "class_name": st.sampled_from(["Conv2D", "Dense", "Flatten", "InputLayer", "Nope"]) | _json,
        "config": st.dictionaries(
            st.sampled_from(["units", "filters", "kernel_size", "batch_shape", "rate", "name"]),
            _json,
        )
        | _json,
    }
)


@settings(max_examples=150, deadline=None)
@given(
    config=st.fixed_dictionaries(
        {"layers": st.lists(_layer, max_size=3)},
        optional={"input_shape": _json, "seed": _json, "name": st.text(max_size=5)},
    )
    | _json
)
def test_from_config_raises_only_model_errors(config):
    try:
        Sequential.from_config(config)
    except ModelError as err:
        assert "Received: " in str(err)


# --------------------------------------------------------------------------- dataset files

DIGITS = {
    "x_train": np.zeros((5, 8, 8), np.uint8),
    "y_train": np.array([0, 1, 2, 3, 9], np.uint8),
    "x_test": np.zeros((3, 8, 8), np.uint8),
    "y_test": np.zeros(3, np.uint8),
}


@pytest.fixture
def digits_file(tmp_path, monkeypatch):
    """Write a digits.npz in tmp_path (bytes or arrays) and load it from there."""
    monkeypatch.setattr(loading, "_RAW_CACHE", {})

    def load(content=None, **arrays):
        path = tmp_path / "digits.npz"
        path.write_bytes(content if content is not None else npz_bytes(**arrays))
        loading._RAW_CACHE.clear()
        return datasets.load("digits", data_dir=tmp_path)

    return load


def test_a_good_small_dataset_file_loads(digits_file):
    (x, y), (x_test, _), names = digits_file(**DIGITS)
    assert x.shape == (5, 8, 8, 1) and y.tolist() == [0, 1, 2, 3, 9] and len(names) == 10
    assert x_test.shape == (3, 8, 8, 1)


def test_truncated_and_bit_flipped_dataset_files(digits_file):
    shipped = (datasets.DATA_DIR / "digits.npz").read_bytes()
    assert_refused(lambda: digits_file(shipped[:-100]), "damaged, truncated", "digits.npz")
    flipped = bytearray(shipped)
    flipped[len(flipped) // 2] ^= 0x01
    assert_refused(lambda: digits_file(bytes(flipped)), "digits.npz", "Bad CRC-32")


def test_dataset_entry_that_is_not_an_array(digits_file):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, value in DIGITS.items():
            archive.writestr(f"{key}.npy", npz_member(value))
        archive.writestr("README", b"digits")
    assert_refused(lambda: digits_file(buffer.getvalue()), "not a NumPy array", "'README'")


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"y_train": np.array([0, 1, 2, 3, 12], np.uint8)}, "labels outside the 10 classes"),
        ({"y_test": np.zeros(2, np.uint8)}, "one label per image in y_test"),
        ({"x_train": np.zeros((5, 9, 9), np.uint8)}, "wrong size"),
        ({"pixel_max": np.array(0)}, "pixel_max"),
        ({"pixel_max": np.array(np.nan)}, "pixel_max"),
        ({"pixel_max": np.array([255, 255])}, "pixel_max.shape=(2,)"),
        ({"class_names": np.array(["a", "b"])}, "10 class names"),
        ({"x_test": np.zeros((3, 8, 8), np.float32)}, "non-uint8"),
    ],
)
def test_dataset_files_with_inconsistent_contents(digits_file, change, fragment):
    assert_refused(lambda: digits_file(**{**DIGITS, **change}), fragment, "digits.npz")


@pytest.mark.parametrize("seed", [-1, "a", 2.5, True])
def test_dataset_seeds(seed):
    assert_refused(lambda: datasets.load("shapes", seed=seed), "seed must be")
    assert_refused(lambda: datasets.make_shapes(4, seed=seed), "seed must be")


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: datasets.make_shapes("a"), "n must be a whole number"),
        (lambda: datasets.make_shapes(4, size=None), "size must be"),
        (lambda: datasets.make_shapes(4, noise=-1), "noise must be"),
        (lambda: datasets.make_shapes(4, noise=float("nan")), "noise must be"),
        (lambda: datasets.preview("digits", per_class="a"), "per_class must be"),
    ],
)
def test_dataset_arguments(call, fragment):
    assert_refused(call, fragment, error=ValueError)
