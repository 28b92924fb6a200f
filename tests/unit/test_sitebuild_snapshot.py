"""What the build's memory snapshot imports: the app's top-level imports (sitebuild/snapshot.py)."""

from __future__ import annotations

from sitebuild.snapshot import CONVERT_IMPORTS, app_imports


def test_app_imports_are_the_top_level_imports_in_order(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(
        "import panel as pn\n"
        "from playground.state import PlaygroundState\n"
        "import os, json\n"
        "from . import local\n"  # relative: not a module the snapshot can name
        "def later():\n"
        "    import pandas\n"  # imported when called, not at start-up
        "from playground.state import other\n"  # already listed
    )
    assert app_imports(app) == [*CONVERT_IMPORTS, "panel", "playground.state", "os", "json"]


def test_the_real_app_imports_panel_and_its_components():
    names = app_imports()
    assert names[: len(CONVERT_IMPORTS)] == CONVERT_IMPORTS
    assert "panel" in names and "playground.state" in names
    assert any(n.startswith("playground.components.") for n in names)
