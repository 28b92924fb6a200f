"""Training logs as TensorBoard event files, written without TensorFlow.

The layout is the one Keras's ``TensorBoard`` callback makes, so a log from
the playground sits beside one from Keras and reads the same::

    logdir/train/events.out.tfevents.…       epoch_loss, epoch_accuracy (step = epoch, from 0)
                                             batch_loss, batch_accuracy (step = batch, from 1)
    logdir/validation/events.out.tfevents.…  epoch_loss, epoch_accuracy (step = epoch, from 0)

An event file is a sequence of TFRecords (:mod:`pycnn.export.tfrecord`), each
holding one ``Event`` protocol-buffer message: first one that names the file
format (``file_version``), then one per logged value. The few fields needed
are encoded here by hand; their numbers come from TensorBoard's copies of
``tensorflow/core/util/event.proto`` and ``framework/summary.proto``::

    message Event   { double wall_time = 1; int64 step = 2;
                      oneof what { string file_version = 3; Summary summary = 5; ... } }
    message Summary { repeated Value value = 1; }
    message Value   { string tag = 1; oneof value { float simple_value = 2; ... } }

A ``simple_value`` is what TensorBoard's scalar dashboard has always read
(it converts it to its newer tensor form on load). It is a float32, so the
logged values are the history's rounded to float32.
"""

from __future__ import annotations

import math
import numbers
import os
import struct
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .tfrecord import records

__all__ = ["event_files", "scalars", "write_tensorboard_log"]

FILE_VERSION = "brain.Event:2"


# --------------------------------------------------------------------------- protobuf


def _varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values take their 64-bit two's complement."""
    if 0 <= value < 0x80:
        return bytes((value,))  # the usual case: small steps, short messages
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    """A field's tag: its number and how its value is encoded (0 varint, 1 64-bit,
    2 length-delimited, 5 32-bit)."""
    return _varint(field << 3 | wire_type)


def _length_delimited(key: bytes, value: bytes) -> bytes:
    return key + _varint(len(value)) + value


# Field tags of the messages above
_EVENT_WALL_TIME = _key(1, 1)  # double
_EVENT_STEP = _key(2, 0)  # int64
_EVENT_FILE_VERSION = _key(3, 2)  # string
_EVENT_SUMMARY = _key(5, 2)  # Summary
_SUMMARY_VALUE = _key(1, 2)  # Summary.Value
_VALUE_TAG = _key(1, 2)  # string
_VALUE_SIMPLE_VALUE = _key(2, 5)  # float


def _event(wall_time: float, step: int, what: bytes) -> bytes:
    """One serialized ``Event``; ``what`` is its encoded ``file_version`` or ``summary``."""
    return _EVENT_WALL_TIME + struct.pack("<d", wall_time) + _EVENT_STEP + _varint(step) + what


def _file_version_event(wall_time: float) -> bytes:
    return _event(wall_time, 0, _length_delimited(_EVENT_FILE_VERSION, FILE_VERSION.encode()))


def _scalar_event(wall_time: float, step: int, encoded_tag: bytes, value: float) -> bytes:
    """An ``Event`` whose ``Summary`` has one ``Value``: ``encoded_tag`` and ``simple_value``."""
    summary_value = encoded_tag + _VALUE_SIMPLE_VALUE + struct.pack("<f", value)
    summary = _length_delimited(_SUMMARY_VALUE, summary_value)
    return _event(wall_time, step, _length_delimited(_EVENT_SUMMARY, summary))


# --------------------------------------------------------------------------- layout


def scalars(history: Mapping[str, Sequence[float]]) -> dict[str, list[tuple[str, int, float]]]:
    """Where each history value goes: ``{run: [(tag, step, value), ...]}``.

    ``history`` is what :meth:`pycnn.Sequential.fit` returns
    (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``: one value per
    epoch), optionally with ``batch_loss`` / ``batch_accuracy`` (one value per
    batch, see :func:`pycnn.export.history_from_events`). As in Keras, a
    ``val_`` key goes to the ``validation`` run with the prefix dropped, and
    every other key to ``train``; epochs count from 0, batches from 1.
    """
    if not isinstance(history, Mapping):
        raise TypeError(
            "history must be a dict of lists, as model.fit() returns it. "
            f"Received: {type(history).__name__}"
        )
    runs: dict[str, list[tuple[str, int, float]]] = {}
    for key, values in history.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"history keys must be metric names. Received: {key!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(
                f"history[{key!r}] must be a list of numbers. Received: {type(values).__name__}"
            )
        if key.startswith("batch_"):
            run, tag, first_step = "train", key, 1
        elif key.startswith("val_"):
            run, tag, first_step = "validation", "epoch_" + key[4:], 0
        else:
            run, tag, first_step = "train", "epoch_" + key, 0
        for i, value in enumerate(values):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"history[{key!r}][{i}] must be a number. Received: {value!r}")
            runs.setdefault(run, []).append((tag, first_step + i, float(value)))
    for entries in runs.values():
        entries.sort(key=lambda entry: (entry[1], entry[0]))
    return runs


def event_files(
    history: Mapping[str, Sequence[float]], wall_time: float | None = None
) -> dict[str, bytes]:
    """The event files for ``history``: ``{"train/events.out.tfevents…": bytes, ...}``.

    Nothing is written; :func:`write_tensorboard_log` and the zip helper use
    this. ``wall_time`` (seconds since 1970, default now) stamps every event
    and names the files, so the same arguments give the same bytes.
    """
    wall_time = time.time() if wall_time is None else float(wall_time)
    if not math.isfinite(wall_time) or wall_time < 0:
        raise ValueError(f"wall_time must be seconds since 1970. Received: {wall_time!r}")
    name = f"events.out.tfevents.{int(wall_time)}.pycnn.v2"
    files = {}
    for run, entries in scalars(history).items():
        tags = {tag: _length_delimited(_VALUE_TAG, tag.encode()) for tag, _, _ in entries}
        events = [_file_version_event(wall_time)]
        events += [_scalar_event(wall_time, step, tags[tag], value) for tag, step, value in entries]
        files[f"{run}/{name}"] = records(events)
    return files


def write_tensorboard_log(
    history: Mapping[str, Sequence[float]],
    logdir: str | os.PathLike,
    wall_time: float | None = None,
) -> list[Path]:
    """Write ``history`` as a TensorBoard log in ``logdir``; returns the files written.

    Open it with ``tensorboard --logdir <logdir>``. See :func:`scalars` for
    what ``history`` holds and where each value goes.
    """
    written = []
    for relative, data in event_files(history, wall_time).items():
        path = Path(logdir, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
