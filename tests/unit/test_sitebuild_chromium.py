"""Which Chromium the tests use, and what happens when there is none (sitebuild.chromium).

A stand-in `python` records what it is asked: the probe for Playwright's own Chromium and
`-m playwright install chromium`, whose download fails (as without internet) or succeeds."""

import pytest

from sitebuild.chromium import CHROMIUM_ENV, ensure_chromium, find_chromium
from sitebuild.report import StepError

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2 $3 $4" = "-m playwright install chromium" ]; then
    if [ -n "$FAKE_DOWNLOAD_WORKS" ]; then : > "$FAKE_BROWSER"; exit 0; fi
    echo "Error: getaddrinfo ENOTFOUND cdn.playwright.dev" >&2
    exit 1
fi
if [ "$1" = "-c" ] && [ -f "$FAKE_BROWSER" ]; then echo "$FAKE_BROWSER"; exit 0; fi
exit 1
"""


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """An empty PATH, no $CNN_PLAYGROUND_CHROMIUM, and the stand-in python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(CHROMIUM_ENV, raising=False)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("FAKE_BROWSER", str(tmp_path / "ms-playwright" / "chrome"))
    (tmp_path / "ms-playwright").mkdir()

    class Machine:
        def calls(self) -> list[str]:
            log = tmp_path / "calls.log"
            return log.read_text().splitlines() if log.exists() else []

        def put_on_path(self, name: str):
            exe = bin_dir / name
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
            return exe

    Machine.python = python
    Machine.browser = tmp_path / "ms-playwright" / "chrome"
    return Machine()


def test_debians_chromium_is_used_and_nothing_is_downloaded(machine):
    chromium = machine.put_on_path("chromium")
    assert ensure_chromium(machine.python) == str(chromium)
    assert machine.calls() == []  # neither probed nor installed


def test_without_any_chromium_playwrights_own_is_installed(machine, monkeypatch):
    monkeypatch.setenv("FAKE_DOWNLOAD_WORKS", "1")
    assert ensure_chromium(machine.python) == str(machine.browser)
    assert "-m playwright install chromium" in machine.calls()


def test_when_the_download_fails_the_message_says_what_to_install(machine, capfd):
    with pytest.raises(StepError) as err:
        ensure_chromium(machine.python)
    assert machine.calls().count("-m playwright install chromium") == 1
    assert "could not download" in err.value.why
    assert "apt-get install chromium" in err.value.fix and CHROMIUM_ENV in err.value.fix
    assert "ENOTFOUND" in capfd.readouterr().err  # Playwright's own reason, shown above it


def test_an_installed_playwright_chromium_is_found_without_downloading(machine):
    machine.browser.write_text("")
    assert ensure_chromium(machine.python) == str(machine.browser)
    assert "-m playwright install chromium" not in machine.calls()


def test_the_environment_variable_comes_first_and_must_exist(machine, monkeypatch, tmp_path):
    machine.put_on_path("chromium")
    mine = machine.put_on_path("my-chrome")
    monkeypatch.setenv(CHROMIUM_ENV, "my-chrome")
    assert find_chromium(machine.python) == str(mine)
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "missing"))
    with pytest.raises(StepError, match=f"{CHROMIUM_ENV}=.*missing is not an executable file"):
        find_chromium(machine.python)
