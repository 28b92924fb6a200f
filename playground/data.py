"""The one place the app gets dataset arrays from.

Desktop (``panel serve``) and Pyodide both call :func:`get_dataset`. If the
arrays are not shipped inside the ``pycnn`` wheel (MNIST/Fashion may be left
out of it to keep the first load small), the browser fetches
``data/<name>.npz`` relative to the page and hands the file to pycnn.
Change ``DATA_URL`` if the site puts the files elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pycnn import datasets

DATA_URL = "data/{name}.npz"

_CACHE: dict[str, Any] = {}


async def _fetch_into_pycnn(name: str) -> None:
    """Browser only: download the .npz next to the page into pycnn's data folder."""
    from pyodide.http import pyfetch  # type: ignore[import-not-found]

    response = await pyfetch(DATA_URL.format(name=name))
    if not response.ok:
        raise OSError(
            f"Could not download the {name} images ({DATA_URL.format(name=name)}: HTTP {response.status})."
        )
    payload = await response.bytes()
    folder = Path(datasets.DATA_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.npz").write_bytes(payload)


async def get_dataset(name: str) -> Any:
    """``(x_train, y_train), (x_test, y_test), class_names`` for ``name`` (cached)."""
    if name in _CACHE:
        return _CACHE[name]
    try:
        data = datasets.load(name)
    except (FileNotFoundError, OSError):
        if sys.platform != "emscripten":
            raise
        await _fetch_into_pycnn(name)
        data = datasets.load(name)
    _CACHE[name] = data
    return data
