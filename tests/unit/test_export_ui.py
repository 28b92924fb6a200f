"""The Export panel's logic without a browser: every download is what pycnn.export makes
for the page's model, settings and run; imports are checked before anything changes, and
a bad file is refused with a message that names it, keeping the model, weights and run.

``data/keras_sequential.json`` is real Keras output, written by Keras 3.15.1 (torch
backend) with::

    m = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        layers.AveragePooling2D(2, strides=1), layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax")])
    open("keras_sequential.json", "w").write(m.to_json())
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pytest

pn = pytest.importorskip("panel")

from panel.io.location import Location
from panel.util import edit_readonly

from playground.analysis import build_model
from playground.components.export import CopyBox, ExportPanel, embed_link, embed_snippet
from playground.components.importer import decode_upload
from playground.components.share import ShareLink
from playground.model_files import (
    DOWNLOADS,
    MAX_WEIGHTS_BYTES,
    Upload,
    training_settings,
)
from playground.spec import KINDS, format_layers
from playground.state import PlaygroundState
from playground.training import TrainingController
from pycnn import export

DATA = Path(__file__).parent / "data"
STARTER = "conv2d:4:3,maxpool:2,flatten,dense:10:softmax"
HREF = "http://host/cnn/"


def _small_digits(name: str):
    from pycnn.datasets import load

    (x, y), test, names = load(name)
    return (x[:256], y[:256]), (test[0][:64], test[1][:64]), names


def _panel(layers: str = STARTER, **settings):
    query = f"?dataset=digits&layers={layers}"
    loc = Location()
    with edit_readonly(loc):
        loc.param.update(href=HREF + query, search=query)
    state = PlaygroundState(**settings)
    controller = TrainingController(state, dataset_loader=_small_digits)
    share = ShareLink(state=state, location=loc)
    return ExportPanel(state=state, controller=controller, share=share)


def _train(panel: ExportPanel, epochs: int = 2) -> None:
    panel.state.epochs = epochs
    assert asyncio.run(panel.controller.train()) == "done", panel.controller.status


def _download(panel: ExportPanel, key: str) -> bytes:
    """Press the download button; returns the bytes the page would save, and checks the name."""
    (download,) = [d for d in DOWNLOADS if d.key == key]
    saves = panel.saver.saves
    panel.downloads[key].clicks += 1
    assert panel.saver.saves == saves + 1
    assert unquote(panel.saver.filename) == download.filename
    return base64.b64decode(panel.saver.payload)


def _notes(panel: ExportPanel) -> str:
    return panel._notes.object


def _snapshot(panel: ExportPanel):
    """Everything an import must keep when it fails."""
    s, c = panel.state, panel.controller
    model = c.current_model()
    return (
        format_layers(s.layers),
        s.dataset,
        s.seed,
        model,
        [w.copy() for w in model.get_weights()] if model else None,
        list(panel.runs.events),
        c.status,
    )


def _assert_kept(panel: ExportPanel, before) -> None:
    after = _snapshot(panel)
    assert after[:4] == before[:4] and after[5:] == before[5:]
    if before[4] is not None:
        for a, b in zip(after[4], before[4], strict=True):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- downloads


def test_code_and_json_downloads_are_pycnn_export_of_the_page_model_and_settings():
    panel = _panel(epochs=7, batch_size=64, learning_rate=0.003, optimizer="sgd", seed=5)
    s = panel.state
    link = panel.share.link
    assert link.startswith(HREF + "?dataset=digits&layers=" + STARTER) and "seed=5" in link
    model = build_model(s.layers, s.info.input_shape, seed=5)
    settings = training_settings(s, link)
    assert settings == {
        "dataset": "digits",
        "epochs": 7,
        "batch_size": 64,
        "learning_rate": 0.003,
        "optimizer": "sgd",
        "validation_split": 0.1,
        "seed": 5,
        "link": link,
    }
    assert _download(panel, "keras").decode() == export.to_keras(model, **settings)
    assert _download(panel, "pytorch").decode() == export.to_pytorch(model, **settings)
    assert _download(panel, "json").decode() == export.model_json(model)
    keras_code = _download(panel, "keras").decode()
    assert link in keras_code.splitlines()[1]  # the header names the playground link
    compile(keras_code, "cnn_keras.py", "exec")


def test_weights_download_is_the_trained_model_and_says_so():
    panel = _panel(seed=3)
    assert "freshly initialised" in _notes(panel) and "seed 3" in _notes(panel)
    fresh = np.load(io.BytesIO(_download(panel, "weights")), allow_pickle=False)
    _train(panel)
    assert "trained: 2 epochs" in _notes(panel)
    model = panel.controller.current_model()
    with np.load(io.BytesIO(_download(panel, "weights")), allow_pickle=False) as got:
        assert sorted(got.files) == ["conv2d/bias", "conv2d/kernel", "dense/bias", "dense/kernel"]
        for layer in model.layers:
            for key in layer.trainable_keys:
                np.testing.assert_array_equal(got[f"{layer.name}/{key}"], layer.params[key])
        assert not np.array_equal(got["conv2d/kernel"], fresh["conv2d/kernel"])


def test_log_downloads_hold_the_runs_history_and_wait_for_a_run():
    panel = _panel()
    d = panel.downloads
    assert d["log"].disabled and d["csv"].disabled and not d["keras"].disabled
    assert "appears after a run" in _notes(panel)
    d["log"].clicks += 1  # a click that was on its way before the button was disabled
    assert panel.saver.saves == 0
    seen = []
    panel.controller.listeners.append(seen.append)
    _train(panel, epochs=2)
    _train(panel, epochs=1)  # Train again continues the same model: its history goes on
    assert not d["log"].disabled and not d["csv"].disabled
    history = export.history_from_events(seen)
    assert len(history["loss"]) == 3 and len(history["val_loss"]) == 3
    csv = _download(panel, "csv").decode()
    assert csv == export.scalars_csv(history)
    with zipfile.ZipFile(io.BytesIO(_download(panel, "log"))) as archive:
        names = archive.namelist()
        assert archive.read("logs.csv").decode() == csv
    assert any(n.startswith("logs/train/events.out.tfevents.") for n in names)
    assert any(n.startswith("logs/validation/events.out.tfevents.") for n in names)

    panel.controller.reset_weights()  # a new model: its log starts empty
    assert d["log"].disabled and "freshly initialised" in _notes(panel)


def test_model_downloads_wait_for_a_model_that_works():
    panel = _panel("conv2d:8:3,dense:10:softmax")  # Dense on an image without Flatten
    assert all(panel.downloads[k].disabled for k in ("keras", "pytorch", "json", "weights"))
    assert "available once the model works" in _notes(panel)
    panel.state.apply_query("?dataset=digits&layers=" + STARTER, record=True)
    assert not panel.downloads["keras"].disabled


# --------------------------------------------------------------------------- share, embed


def test_copy_link_and_embed_snippet_follow_the_model():
    panel = _panel()
    assert panel._copy_link.text == panel.share.link
    panel.state.update(0, filters=16)
    assert "conv2d:16:3" in panel._copy_link.text == panel.share.link
    snippet = panel._embed.text
    assert snippet == embed_snippet(panel.share.link)
    assert 'title="CNN Playground"' in snippet and 'loading="lazy"' in snippet
    assert 'width="100%"' in snippet and 'height="900"' in snippet
    assert "&amp;layers=conv2d:16:3" in snippet  # the link is escaped inside the attribute


def test_the_embed_can_open_the_lesson_where_each_learner_is_or_at_a_chosen_step():
    panel = _panel()
    model_link = panel.share.link
    page = model_link.split("?", 1)[0]
    panel._embed_toggle.value = True
    assert panel._embed_opens.visible
    panel._embed_opens.value = "?mode=learn&step=5&unlock=all"
    assert panel._embed.text == embed_snippet(page + "?mode=learn&step=5&unlock=all")
    assert "layers=" not in panel._embed.text  # the lesson keeps its own model
    panel._embed_opens.value = "?mode=learn"
    assert panel._embed.text == embed_snippet(page + "?mode=learn")
    assert panel._copy_link.text == model_link  # Copy link still shares the model
    panel._embed_opens.value = "model"
    assert panel._embed.text == embed_snippet(model_link)
    assert embed_link("https://host/cnn/?layers=dense:10", "?mode=learn") == (
        "https://host/cnn/?mode=learn"
    )


def test_copy_text_travels_unchanged_whatever_it_holds():
    box = CopyBox()
    text = "<iframe src=\"?a=1&b='x'\">ü %20</iframe>"
    box.text = text
    assert set(box.encoded) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~%"
    )
    assert box.text == text


# --------------------------------------------------------------------------- import


def _exported(layers: str, dataset: str = "digits", seed: int = 0, train: bool = True):
    """(model JSON bytes, weights bytes, model) as the page would export them."""
    panel = _panel(layers, seed=seed)
    panel.state.dataset = dataset
    if train:
        _train(panel, epochs=1)
    model = panel.controller.ensure_model()
    return _download(panel, "json"), _download(panel, "weights"), model


def test_round_trip_json_and_weights_gives_the_same_model_and_bit_identical_weights():
    layers = "conv2d:6:3:padding=same,avgpool:2,flatten,dropout:0.25,dense:10:softmax"
    text, weights, source = _exported(layers, seed=9)
    panel = _panel()  # another learner, with the starter model
    assert panel.importer.open_files(
        [
            Upload("cnn_model.json", len(text), text),
            Upload("cnn_weights.npz", len(weights), weights),
        ]
    ), panel.importer._message.object
    s = panel.state
    assert format_layers(s.layers) == layers and s.seed == 9 and s.dataset == "digits"
    model = panel.controller.current_model()
    for a, b in zip(model.get_weights(), source.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), source.predict(x))
    assert "cp-import-done" in panel.importer._message.object
    assert "opened from a file" in _notes(panel)
    assert panel.state.undo() and format_layers(panel.state.layers) == STARTER  # one Undo step


def test_weights_alone_load_into_the_current_model():
    _text, weights, source = _exported(STARTER, seed=0)
    panel = _panel()
    assert panel.importer.open_files([Upload("w.npz", len(weights), weights)])
    for a, b in zip(panel.controller.current_model().get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_to_json_opens_with_its_layers_and_input_shape():
    text = (DATA / "keras_sequential.json").read_bytes()
    panel = _panel()
    assert panel.importer.open_files([Upload("model.json", len(text), text)])
    assert panel.state.dataset == "mnist"  # the first dataset with 28x28x1 images
    assert format_layers(panel.state.layers) == (
        "conv2d:32:3,maxpool:2,conv2d:64:3:padding=same,avgpool:2:strides=1,flatten,"
        "dropout:0.5,dense:10:softmax"
    )


def test_a_keras_model_of_rgb_images_opens_on_the_colour_dataset():
    text = _keras(l0={"batch_shape": [None, 32, 32, 3]}, l7={"units": 9})
    panel = _panel()
    assert panel.importer.open_files([Upload("rgb.json", len(text), text)])
    assert panel.state.dataset == "colour-shapes"  # the one dataset of 32x32x3 images
    assert panel.state.analysis.error is None
    assert format_layers(panel.state.layers).endswith(",dense:9:softmax")


def test_pycnn_config_and_keras_2_json_open_too():
    """pycnn's bare ``to_config()`` (seed included) and Keras 2's ``batch_input_shape``."""
    model = _model_of("conv2d:6:5:strides=2,flatten,dense:10:softmax", seed=4)
    bare = json.dumps(model.to_config()).encode()
    panel = _panel()
    assert panel.importer.open_files([Upload("config.json", len(bare), bare)])
    assert format_layers(panel.state.layers) == "conv2d:6:5:strides=2,flatten,dense:10:softmax"
    assert panel.state.seed == 4
    keras2 = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "class_name": "Conv2D",
                    "config": {
                        "batch_input_shape": [None, 8, 8, 1],
                        "filters": 3,
                        "kernel_size": [3, 3],
                        "strides": [1, 1],
                        "padding": "valid",
                        "activation": "tanh",
                    },
                },
                {"class_name": "Flatten", "config": {}},
                {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}},
            ],
        },
    }
    text = json.dumps(keras2).encode()
    assert panel.importer.open_files([Upload("keras2.json", len(text), text)])
    assert (
        format_layers(panel.state.layers) == "conv2d:3:3:activation=tanh,flatten,dense:10:softmax"
    )
    assert panel.state.dataset == "digits" and panel.state.seed == 4  # no seed: kept


def _model_of(layers: str, seed: int = 0):
    from pycnn.datasets import info

    return build_model(layers, info("digits").input_shape, seed=seed)


def _keras(**changes):
    config = json.loads((DATA / "keras_sequential.json").read_text())
    layers = config["config"]["layers"]
    for index, change in changes.items():
        i = int(index[1:])
        if change is None:
            del layers[i]
        else:
            layers[i] = (
                {**layers[i], **change}
                if "class_name" in change
                else {
                    **layers[i],
                    "config": {**layers[i]["config"], **change},
                }
            )
    return json.dumps(config).encode()


class _Boom:
    """Pickling this runs code when unpickled: an import must never do that."""

    ran = False

    def __reduce__(self):
        return (setattr, (_Boom, "ran", True))


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _bad_files():
    text, weights, _model = _exported(STARTER, train=False)
    other_text, other_weights, _ = _exported(
        "conv2d:6:3,maxpool:2,flatten,dense:10:softmax", train=False
    )
    with np.load(io.BytesIO(weights)) as w:
        arrays = {k: w[k] for k in w.files}
    nan = dict(arrays)
    nan["dense/kernel"] = nan["dense/kernel"].copy()
    nan["dense/kernel"][0, 0] = np.nan
    pickled = io.BytesIO()
    np.savez(pickled, **{"conv2d/kernel": np.array([_Boom()], dtype=object)})
    return {
        "not a model file": ([("notes.txt", b"hello")], "'notes.txt' is neither a model JSON"),
        "truncated JSON": ([("m.json", text[: len(text) // 2])], "'m.json' is not valid JSON"),
        "unknown layer": (
            [("k.json", _keras(l3={"class_name": "BatchNormalization"}))],
            (
                "'k.json', layer 3: 'BatchNormalization' is not a layer the playground has. "
                "It has: Conv2D, MaxPooling2D"
            ),
        ),
        "unsupported argument": (
            [("k.json", _keras(l1={"use_bias": False}))],
            "'k.json', layer 1 (Conv2D): use_bias=False is not possible",
        ),
        "non-square kernel": (
            [("k.json", _keras(l1={"kernel_size": [3, 5]}))],
            "'k.json', layer 1 (Conv2D): kernel_size [3, 5] is not square",
        ),
        "bad argument value": (
            [("k.json", _keras(l1={"filters": 100000}))],
            "'k.json', layer 1 (Conv2D): filters",
        ),
        "impossible shapes": (
            [("k.json", _keras(l5=None))],  # no Flatten before Dense
            "'k.json' cannot be used on MNIST",
        ),
        "input no dataset has": (
            [("k.json", _keras(l0={"batch_shape": [None, 40, 40, 3]}))],
            "the model takes 40×40×3 images, and no dataset",
        ),
        "not Sequential": (
            [("f.json", b'{"class_name": "Functional", "config": {}}')],
            "holds a 'Functional' model",
        ),
        "two model files": ([("a.json", text), ("b.json", text)], "Open one model JSON"),
        "weights of another architecture": (
            [("m.json", text), ("w.npz", other_weights)],
            "'w.npz' cannot be used: Layer 1 (conv2d, Conv2D): kernel has the wrong shape",
        ),
        "weights of the wrong shape for the current model": (
            [("w.npz", other_weights)],
            "'w.npz' cannot be used",
        ),
        "truncated weights": (
            [("w.npz", weights[: len(weights) // 2])],
            "damaged, truncated or not an .npz archive",
        ),
        "NaN weights": ([("w.npz", _npz(**nan))], "holds NaN or infinity"),
        "pickled weights": ([("w.npz", pickled.getvalue())], "'w.npz' cannot be used"),
        "model JSON of another model with these weights": (
            [("o.json", other_text), ("w.npz", weights)],
            "wrong shape",
        ),
    }


def test_every_bad_file_is_refused_with_a_message_that_names_it_and_nothing_changes():
    panel = _panel()
    _train(panel, epochs=1)  # trained weights and a run's history, which must survive
    before = _snapshot(panel)
    for case, (files, expected) in _bad_files().items():
        uploads = [Upload(name, len(data), data) for name, data in files]
        assert not panel.importer.open_files(uploads), case
        message = panel.importer._message.object
        assert "cp-import-error" in message, case
        assert expected.replace("'", "&#x27;") in message, (case, message)
        assert "were kept" in message, case
        _assert_kept(panel, before)
    assert not _Boom.ran  # the pickled array was never unpickled
    assert not panel.downloads["log"].disabled  # the run's log is still there


def test_oversized_file_is_refused_by_its_size_without_reading_it():
    panel = _panel()
    before = _snapshot(panel)
    assert not panel.importer.open_files([Upload("big.npz", MAX_WEIGHTS_BYTES + 1, None)])
    assert "&#x27;big.npz&#x27; is 12.44 MB: a weights file can be at most 12.44 MB" in (
        panel.importer._message.object
    )
    _assert_kept(panel, before)


def test_import_is_refused_while_training_runs():
    panel = _panel()
    text, _w, _m = _exported("conv2d:6:3,maxpool:2,flatten,dense:10:softmax", train=False)
    panel.state.training = True
    assert not panel.importer.open_files([Upload("m.json", len(text), text)])
    assert "press Stop first" in panel.importer._message.object
    assert format_layers(panel.state.layers) == STARTER


def test_a_model_with_blocks_the_lesson_has_not_unlocked_is_refused_and_nothing_changes():
    panel = _panel("flatten,dense:10:softmax")
    panel.state.unlocked_kinds = ["flatten", "dense"]
    before = _snapshot(panel)
    text, _w, _m = _exported(STARTER, train=False)
    assert not panel.importer.open_files([Upload("m.json", len(text), text)])
    message = panel.importer._message.object
    assert "Not opened: &#x27;m.json&#x27;: Conv2D, MaxPooling2D are not unlocked yet" in message
    _assert_kept(panel, before)
    panel.state.unlocked_kinds = list(KINDS)
    assert panel.importer.open_files([Upload("m.json", len(text), text)])
    assert format_layers(panel.state.layers) == STARTER


def test_browser_upload_message_decodes_and_garbled_ones_are_refused():
    data = b'{"layers": []}\x00\xff'
    message = {
        "n": 1,
        "files": [{"name": "ü m.json", "size": 16, "data": base64.b64encode(data).decode()}],
    }
    (upload,) = decode_upload(quote(json.dumps(message), safe=""))
    assert upload == Upload("ü m.json", 16, data)
    (big,) = decode_upload(quote(json.dumps({"files": [{"name": "b", "size": 9, "data": None}]})))
    assert big.data is None
    panel = _panel()
    panel.importer._picker.upload = "%7Bnot json"
    assert "did not hand over the files" in panel.importer._message.object
    assert format_layers(panel.state.layers) == STARTER
