"""Tests that run pycnn inside Pyodide under Node.js (no browser): the site's own runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import e2e_support as sup  # the one place that builds (or finds) the site


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site (built if stale, or ``$CNN_PLAYGROUND_SITE``): Pyodide and numpy."""
    return sup.build_site()
