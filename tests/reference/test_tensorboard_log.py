"""write_tensorboard_log and log_zip, read by TensorBoard itself."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
from tensorboard.util import tensor_util

from pycnn import Conv2D, Dense, Flatten, MaxPooling2D, Sequential, datasets, export


@pytest.fixture(scope="module")
def history():
    """A real run: two epochs on digits with validation, every batch recorded."""
    (x, y), _, _ = datasets.load("digits")
    model = Sequential(
        [
            Conv2D(4, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        input_shape=(8, 8, 1),
    )
    model.compile("adam", metrics=["accuracy"])
    events = model.fit_iter(x[:400], y[:400], epochs=2, batch_size=50, validation_split=0.25)
    return export.history_from_events(events)


def expected(history) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(run, tag) -> [(step, value as float32)], as Keras's TensorBoard callback lays them out."""

    def f32(values, first):
        return [(first + i, float(np.float32(v))) for i, v in enumerate(values)]

    return {
        ("train", "epoch_loss"): f32(history["loss"], 0),
        ("train", "epoch_accuracy"): f32(history["accuracy"], 0),
        ("train", "batch_loss"): f32(history["batch_loss"], 1),
        ("train", "batch_accuracy"): f32(history["batch_accuracy"], 1),
        ("validation", "epoch_loss"): f32(history["val_loss"], 0),
        ("validation", "epoch_accuracy"): f32(history["val_accuracy"], 0),
    }


def test_the_run_has_every_kind_of_value(history):
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    assert len(history["batch_loss"]) == 2 * 6  # 300 training images in batches of 50


def test_event_accumulator_finds_every_value(history, tmp_path):
    export.write_tensorboard_log(history, tmp_path)
    want = expected(history)
    for run in ("train", "validation"):
        accumulator = event_accumulator.EventAccumulator(str(tmp_path / run)).Reload()
        tags = {tag for (r, tag) in want if r == run}
        assert set(accumulator.Tags()["scalars"]) == tags
        for tag in tags:
            got = [(e.step, e.value) for e in accumulator.Scalars(tag)]
            assert got == want[(run, tag)], (run, tag)


def test_tensorboard_s_own_loader_reads_them_as_scalars(history, tmp_path):
    """The accumulator TensorBoard's scalar dashboard uses (values become tensors)."""
    export.write_tensorboard_log(history, tmp_path)
    for (run, tag), values in expected(history).items():
        accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path / run)).Reload()
        assert tag in accumulator.Tags()["tensors"]
        got = [
            (e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
            for e in accumulator.Tensors(tag)
        ]
        assert got == values, (run, tag)
        metadata = accumulator.SummaryMetadata(tag)
        assert metadata.plugin_data.plugin_name == "scalars"


def test_tensorboard_checks_the_record_checksums(history, tmp_path):
    """TensorBoard's record reader verifies both CRCs of each record: ours pass, a bad one does not."""
    (path,) = export.write_tensorboard_log({"loss": [0.5, 0.25]}, tmp_path)

    def read_all(file: Path) -> int:
        reader = pywrap_tensorflow.PyRecordReader_New(str(file).encode(), 0, b"", None)
        count = 0
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                return count
            count += 1

    assert read_all(path) == 3  # file_version + two values
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # the last record's data checksum
    path.write_bytes(bytes(data))
    with pytest.raises(errors.DataLossError, match="crc32"):
        read_all(path)


def test_the_zip_unpacks_into_a_log_tensorboard_reads(history, tmp_path):
    with zipfile.ZipFile(io.BytesIO(export.log_zip(history))) as archive:
        archive.extractall(tmp_path)
    accumulator = event_accumulator.EventAccumulator(str(tmp_path / "logs" / "validation")).Reload()
    assert [(e.step, e.value) for e in accumulator.Scalars("epoch_loss")] == expected(history)[
        ("validation", "epoch_loss")
    ]
    rows = (tmp_path / "logs.csv").read_text().splitlines()
    assert len(rows) == 1 + sum(len(v) for v in expected(history).values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_tensorboard_server_shows_the_log(history, tmp_path):
    """`tensorboard --logdir` as a learner runs it, asked over HTTP for each curve."""
    export.write_tensorboard_log(history, tmp_path / "logs")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(tmp_path / "logs"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars"
    try:
        for (run, tag), values in expected(history).items():
            url = f"{base}?run={run}&tag={tag}"
            deadline, points = time.monotonic() + 90, None
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        points = json.loads(response.read())
                    if len(points) == len(values):
                        break
                except OSError:  # not listening yet, or the run not loaded yet (HTTP 400)
                    pass
                assert server.poll() is None, server.stderr.read()[-2000:]
                time.sleep(0.5)
            assert points is not None, f"TensorBoard did not serve {run}/{tag}"
            assert [(step, value) for _, step, value in points] == values, (run, tag)
    finally:
        server.terminate()
        server.wait(timeout=30)
