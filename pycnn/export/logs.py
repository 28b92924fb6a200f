"""A training run's history: collected from progress events, as CSV, zipped with its TensorBoard log."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Mapping, Sequence

from .tensorboard import event_files, scalars

__all__ = ["history_from_events", "log_zip", "scalars_csv"]


def history_from_events(events: Iterable) -> dict[str, list[float]]:
    """The history of a run from its :class:`~pycnn.TrainEvent` objects.

    Gives what :meth:`pycnn.Sequential.fit` returns (``loss``, ``accuracy``
    and, with validation data, ``val_loss``, ``val_accuracy``, one value per
    epoch) plus ``batch_loss`` and ``batch_accuracy``, one value per batch.
    Like Keras's per-batch logs, a batch value is the mean over the epoch so
    far, not the loss of that batch alone. A run stopped early gives the
    values up to where it stopped.
    """
    history: dict[str, list[float]] = {}
    for event in events:
        if event.kind == "batch":
            values = {"batch_loss": event.loss, "batch_accuracy": event.accuracy}
        elif event.kind == "epoch":
            values = {"loss": event.loss, "accuracy": event.accuracy}
            if event.val_loss is not None:
                values["val_loss"] = event.val_loss
                values["val_accuracy"] = event.val_accuracy
        else:
            continue
        for key, value in values.items():
            history.setdefault(key, []).append(float(value))
    return history


def scalars_csv(history: Mapping[str, Sequence[float]]) -> str:
    """The values of the TensorBoard log as CSV: ``run,tag,step,value``, one row each.

    Same runs, tags and steps as the event files (:func:`pycnn.export.tensorboard.scalars`),
    with the history's full-precision values.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", "tag", "step", "value"])
    for run, entries in scalars(history).items():
        for tag, step, value in entries:
            writer.writerow([run, tag, step, repr(value)])
    return out.getvalue()


def log_zip(
    history: Mapping[str, Sequence[float]],
    folder: str = "logs",
    wall_time: float | None = None,
) -> bytes:
    """A ``.zip`` holding the TensorBoard log in ``folder/`` and ``folder.csv`` beside it.

    For the browser, where the files cannot be written to a folder: unzip,
    then ``tensorboard --logdir logs``.
    """
    if not folder or "/" in folder or "\\" in folder or folder in (".", ".."):
        raise ValueError(f"folder must be a plain folder name such as 'logs'. Received: {folder!r}")
    import zipfile  # here, not at the top: `import pycnn` stays quick in the browser

    wall_time = time.time() if wall_time is None else wall_time
    files = {f"{folder}/{name}": data for name, data in event_files(history, wall_time).items()}
    files[f"{folder}.csv"] = scalars_csv(history).encode()
    stamp = time.gmtime(max(wall_time, 315532800))[:6]  # zip dates start in 1980
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
