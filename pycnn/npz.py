"""Read the arrays of an ``.npz`` archive, or say clearly why the file cannot be used.

Weight files and the dataset files are ``.npz`` archives: a zip file with
one ``<key>.npy`` member per array. :func:`read_arrays` reads every member
as a plain array (pickled objects are never loaded) and turns whatever a
damaged, truncated or foreign file raises into a :class:`ModelError` that
names the file and the problem. The zip format's CRC-32 of each member
makes a flipped bit in the data show up as an error, not as a changed number.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any

import numpy as np

from .errors import ModelError

__all__ = ["file_label", "read_arrays"]

# What the zip and .npy readers raise for bytes that are not a valid archive
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,  # includes UnicodeDecodeError and NumPy's refusal of object arrays
    NotImplementedError,  # a compression method or .npy version this reader lacks
    RuntimeError,  # a member flagged as encrypted
    OverflowError,
    MemoryError,  # a damaged header that asks for an absurd array
)


def file_label(file: Any) -> str:
    """How a message names ``file``: the path as given, or a file object's name."""
    if isinstance(file, (str, os.PathLike)):
        return repr(os.fspath(file))
    name = getattr(file, "name", None)
    return repr(name) if isinstance(name, str) else f"a {type(file).__name__}"


def read_arrays(file: Any, what: str, hint: str, kind: str | None = None) -> dict[str, np.ndarray]:
    """Every array in the ``.npz`` archive ``file`` (a path or a binary file object).

    ``what`` names the file in messages (e.g. ``"the weights file"``),
    ``hint`` says how to get a good one and ``kind`` is the ModelError's
    ``layer_kind``. Raises :class:`ModelError` for anything that is not an
    archive of plain arrays.
    """
    label = file_label(file)
    if not isinstance(file, (str, os.PathLike)) and not hasattr(file, "read"):
        raise ModelError(
            f"{what} must be a path or a binary file object",
            hint,
            label,
            layer_kind=kind,
        )
    key = None
    try:
        arrays = {}
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                key = info.filename
                if not key.endswith(".npy"):
                    raise ModelError(
                        f"{what} holds an entry that is not a NumPy array",
                        hint,
                        f"{label}, entry {key!r} ({info.file_size} bytes)",
                        layer_kind=kind,
                    )
                with archive.open(info) as member:
                    arrays[key[: -len(".npy")]] = np.lib.format.read_array(
                        member, allow_pickle=False
                    )
        return arrays
    except ModelError:
        raise
    except FileNotFoundError:
        raise ModelError(f"{what} does not exist", hint, label, layer_kind=kind) from None
    except _DAMAGED as err:
        where = f"{label}, entry {key!r}" if key else label
        raise ModelError(
            f"{what} is damaged, truncated or not an .npz archive",
            hint,
            f"{where} ({type(err).__name__}: {err})",
            layer_kind=kind,
        ) from None
