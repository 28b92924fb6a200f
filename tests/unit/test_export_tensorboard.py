"""TensorBoard event files written by hand: CRC-32C, TFRecord framing, Event/Summary messages.

TensorBoard's own reader checks them in tests/reference/test_tensorboard_log.py; here a
tiny protobuf decoder written for the test reads them back.
"""

from __future__ import annotations

import csv
import io
import struct
import zipfile

import numpy as np
import pytest

from pycnn import Conv2D, Dense, Flatten, MaxPooling2D, Sequential, export
from pycnn.export import tensorboard, tfrecord

# --------------------------------------------------------------------------- CRC-32C


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),  # the standard check value of CRC-32C
        # RFC 3720 (iSCSI), appendix B.4
        (bytes(32), 0x8A9136AA),
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_matches_the_published_check_values(data, crc):
    assert tfrecord.crc32c(data) == crc


def test_masked_crc_rotates_right_by_15_and_adds_the_constant():
    crc = tfrecord.crc32c(b"123456789")
    masked = tfrecord.masked_crc32c(b"123456789")
    unmasked = (masked - 0xA282EAD8) & 0xFFFFFFFF
    assert ((unmasked << 15) | (unmasked >> 17)) & 0xFFFFFFFF == crc


# --------------------------------------------------------------------------- a decoder


def read_records(data: bytes) -> list[bytes]:
    """Split a TFRecord stream, checking both checksums of every record."""
    records, pos = [], 0
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        assert header_crc == tfrecord.masked_crc32c(header)
        payload = data[pos + 12 : pos + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])
        assert payload_crc == tfrecord.masked_crc32c(payload)
        records.append(payload)
        pos += 16 + length
    assert pos == len(data)
    return records


def decode(message: bytes) -> dict[int, list]:
    """Protocol-buffer fields by number: varints as int, 64/32-bit as bytes, the rest as bytes."""
    fields: dict[int, list] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = message[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(message):
        key = varint()
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value = varint()
        elif wire_type == 1:
            value, pos = message[pos : pos + 8], pos + 8
        elif wire_type == 5:
            value, pos = message[pos : pos + 4], pos + 4
        elif wire_type == 2:
            length = varint()
            value, pos = message[pos : pos + length], pos + length
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
        fields.setdefault(field, []).append(value)
    return fields


def read_events(data: bytes) -> list[dict]:
    events = []
    for record in read_records(data):
        event = decode(record)
        item = {
            "wall_time": struct.unpack("<d", event[1][0])[0],
            "step": event.get(2, [0])[0],
        }
        if 3 in event:
            item["file_version"] = event[3][0].decode()
        if 5 in event:
            (value,) = decode(event[5][0])[1]  # Summary.value: exactly one
            value = decode(value)
            item["tag"] = value[1][0].decode()
            item["value"] = struct.unpack("<f", value[2][0])[0]
        events.append(item)
    return events


# --------------------------------------------------------------------------- the log


HISTORY = {
    "loss": [1.25, 0.5],
    "accuracy": [0.5, 0.75],
    "val_loss": [1.5, 0.625],
    "val_accuracy": [0.4, 0.8],
    "batch_loss": [2.0, 1.0, 0.75, 0.5],
    "batch_accuracy": [0.25, 0.5, 0.625, 0.75],
}


def test_varints_encode_as_in_the_protobuf_documentation():
    assert tensorboard._varint(1) == b"\x01"
    assert tensorboard._varint(150) == b"\x96\x01"
    assert tensorboard._varint(300) == b"\xac\x02"
    assert tensorboard._varint(-1) == b"\xff" * 9 + b"\x01"  # int64 -1: ten bytes


def test_event_files_follow_keras_s_layout_and_decode_to_the_history():
    files = export.event_files(HISTORY, wall_time=1_700_000_000.5)
    assert sorted(files) == [
        "train/events.out.tfevents.1700000000.pycnn.v2",
        "validation/events.out.tfevents.1700000000.pycnn.v2",
    ]
    train = read_events(files["train/events.out.tfevents.1700000000.pycnn.v2"])
    validation = read_events(files["validation/events.out.tfevents.1700000000.pycnn.v2"])
    for events in (train, validation):
        assert events[0] == {
            "wall_time": 1_700_000_000.5,
            "step": 0,
            "file_version": "brain.Event:2",
        }
        assert all(e["wall_time"] == 1_700_000_000.5 for e in events)

    def values(events, tag):
        return [(e["step"], e["value"]) for e in events if e.get("tag") == tag]

    def f32(numbers):
        return [float(np.float32(x)) for x in numbers]

    assert values(train, "epoch_loss") == list(zip([0, 1], f32(HISTORY["loss"])))
    assert values(train, "epoch_accuracy") == list(zip([0, 1], f32(HISTORY["accuracy"])))
    assert values(train, "batch_loss") == list(zip([1, 2, 3, 4], f32(HISTORY["batch_loss"])))
    assert values(train, "batch_accuracy") == list(
        zip([1, 2, 3, 4], f32(HISTORY["batch_accuracy"]))
    )
    assert values(validation, "epoch_loss") == list(zip([0, 1], f32(HISTORY["val_loss"])))
    assert values(validation, "epoch_accuracy") == list(zip([0, 1], f32(HISTORY["val_accuracy"])))
    assert len(train) == 1 + 12 and len(validation) == 1 + 4  # nothing else in the files


def test_without_validation_there_is_no_validation_run():
    files = export.event_files({"loss": [0.5], "accuracy": [0.9]}, wall_time=0)
    assert list(files) == ["train/events.out.tfevents.0.pycnn.v2"]


def test_the_same_history_and_time_give_the_same_bytes():
    assert export.event_files(HISTORY, wall_time=5) == export.event_files(HISTORY, wall_time=5)


def test_write_tensorboard_log_writes_the_files(tmp_path):
    written = export.write_tensorboard_log(HISTORY, tmp_path / "logs", wall_time=12)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "logs/train/events.out.tfevents.12.pycnn.v2",
        "logs/validation/events.out.tfevents.12.pycnn.v2",
    ]
    expected = export.event_files(HISTORY, wall_time=12)
    for path in written:
        assert path.read_bytes() == expected[path.relative_to(tmp_path / "logs").as_posix()]


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        ([1.0, 2.0], TypeError, "dict of lists"),
        ({"loss": 0.5}, TypeError, "history['loss'] must be a list"),
        ({"loss": [0.5, "high"]}, TypeError, "history['loss'][1] must be a number"),
        ({"loss": [True]}, TypeError, "must be a number"),
        ({"": [0.5]}, ValueError, "metric names"),
    ],
)
def test_a_malformed_history_is_refused_with_the_place(history, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        export.event_files(history, wall_time=0)


def test_nan_and_infinite_losses_are_logged_as_they_are():
    events = read_events(
        export.event_files({"loss": [float("nan"), float("inf")]}, 0)[
            "train/events.out.tfevents.0.pycnn.v2"
        ]
    )
    assert np.isnan(events[1]["value"]) and events[2]["value"] == float("inf")


# --------------------------------------------------------------------------- CSV, zip, events


def test_csv_holds_the_same_values_at_full_precision():
    rows = list(csv.DictReader(io.StringIO(export.scalars_csv(HISTORY))))
    assert len(rows) == 16
    assert rows[0] == {"run": "train", "tag": "epoch_accuracy", "step": "0", "value": "0.5"}
    val = [
        (r["step"], float(r["value"]))
        for r in rows
        if r["run"] == "validation" and r["tag"] == "epoch_accuracy"
    ]
    assert val == [("0", 0.4), ("1", 0.8)]  # 0.4 exactly as given, not its float32


def test_log_zip_holds_the_logdir_and_the_csv():
    data = export.log_zip(HISTORY, wall_time=1_700_000_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = sorted(archive.namelist())
        assert names == [
            "logs.csv",
            "logs/train/events.out.tfevents.1700000000.pycnn.v2",
            "logs/validation/events.out.tfevents.1700000000.pycnn.v2",
        ]
        files = export.event_files(HISTORY, wall_time=1_700_000_000)
        for name, content in files.items():
            assert archive.read(f"logs/{name}") == content
        assert archive.read("logs.csv").decode() == export.scalars_csv(HISTORY)
    assert export.log_zip(HISTORY, wall_time=7) == export.log_zip(HISTORY, wall_time=7)


@pytest.mark.parametrize("folder", ["", "a/b", "..", "c\\d"])
def test_log_zip_refuses_a_folder_name_that_is_a_path(folder):
    with pytest.raises(ValueError, match="plain folder name"):
        export.log_zip(HISTORY, folder=folder, wall_time=0)


def test_history_from_events_gives_fit_s_history_plus_batches():
    rng = np.random.default_rng(0)
    x = rng.random((90, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 3, 90)

    def model():
        m = Sequential(
            [Conv2D(2, 3), MaxPooling2D(2), Flatten(), Dense(3, activation="softmax")],
            input_shape=(8, 8, 1),
            seed=3,
        )
        m.compile("sgd", metrics=["accuracy"])
        return m

    history = export.history_from_events(
        model().fit_iter(x, y, epochs=2, batch_size=16, validation_split=0.2)
    )
    fitted = model().fit(x, y, epochs=2, batch_size=16, validation_split=0.2)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert history[key] == fitted[key]
    steps = 2 * -(-72 // 16)
    assert len(history["batch_loss"]) == len(history["batch_accuracy"]) == steps
    # Keras's batch logs are running means: each epoch's last batch value is the epoch's
    assert history["batch_loss"][steps // 2 - 1] == history["loss"][0]
    assert history["batch_loss"][-1] == history["loss"][1]
