"""What `python3 build.py test` runs again on the browser's numpy: the engine's tests only."""

from sitebuild import testrun


def test_the_engine_tests_are_those_that_import_only_pycnn_numpy_and_test_tools(
    tmp_path, monkeypatch
):
    unit = tmp_path / "tests" / "unit"
    unit.mkdir(parents=True)
    files = {
        "test_engine.py": "import math\nimport numpy as np\nfrom pycnn import Dense\n",
        "test_props.py": "from hypothesis import given\nimport pytest\nfrom pycnn.ops import x\n",
        "test_app.py": "from pycnn import Dense\nfrom playground.state import State\n",
        "test_late_import.py": "def test_x():\n    import panel\n",
        "test_build_step.py": "from sitebuild.wheel import rewrite_wheel\n",
        "helper.py": "import numpy\n",  # not a test module
    }
    for name, text in files.items():
        (unit / name).write_text(text)
    monkeypatch.setattr(testrun, "ROOT", tmp_path)
    monkeypatch.setattr(testrun, "TESTS", tmp_path / "tests")
    assert testrun.engine_tests() == ["tests/unit/test_engine.py", "tests/unit/test_props.py"]


def test_the_repositorys_engine_tests_include_pycnns_and_no_app_or_build_tests():
    chosen = testrun.engine_tests()
    assert {"tests/unit/test_ops.py", "tests/unit/test_model.py"} <= set(chosen)
    assert not [
        t
        for t in chosen
        if t.startswith(
            ("tests/unit/test_playground", "tests/unit/test_sitebuild", "tests/unit/test_lesson")
        )
    ]
