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

from .tfrecord import record

__all__ = ["event_files", "scalars", "write_tensorboard_log"]

FILE_VERSION = "brain.Event:2"


# --------------------------------------------------------------------------- protobuf


def _varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values take their 64-bit two's complement."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _double_field(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


def _float_field(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _int_field(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _event(wall_time: float, step: int = 0, *, file_version=None, summary=None) -> bytes:
    """One serialized ``Event``: either the file header or a summary."""
    message = _double_field(1, wall_time) + _int_field(2, step)
    if file_version is not None:
        message += _bytes_field(3, file_version.encode())
    if summary is not None:
        message += _bytes_field(5, summary)
    return message


def _scalar_summary(tag: str, value: float) -> bytes:
    """A ``Summary`` with one ``Value``: ``tag`` and ``simple_value``."""
    return _bytes_field(1, _bytes_field(1, tag.encode()) + _float_field(2, value))


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
        data = bytearray(record(_event(wall_time, file_version=FILE_VERSION)))
        for tag, step, value in entries:
            data += record(_event(wall_time, step, summary=_scalar_summary(tag, value)))
        files[f"{run}/{name}"] = bytes(data)
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
