"""The SCORM 1.2 package in a real SCORM run-time: scorm-again (npm, pinned), in Chromium.

The package is built from the site under test exactly as ``python3 build.py scorm`` builds
it, unpacked as an LMS unpacks it, and launched by ``lms/player.html``: scorm-again's
``Scorm12API`` as ``window.API`` and the launch page in a frame below it. Every file comes
from localhost; every other request fails the test (conftest.py). The session opens and
closes, the page works without an LMS, an LMS's refusals give a note, and the lesson's
status, step, score and record reach the LMS and bring a learner back on another computer.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import time
import zipfile
from pathlib import Path

import e2e_support as sup
import pytest
from playwright.sync_api import expect

from playground.lesson import LESSON_DATASET, STEPS, SUSPEND_DATA_LIMIT, loads
from sitebuild.scorm import LAUNCH, check_package, schema_files, write_package

pytestmark = pytest.mark.e2e

PLAYER = Path(__file__).with_name("lms") / "player.html"
SCORM_AGAIN = "npm:scorm-again@"
WAIT_MS = 30_000  # one step of the page (a click and the worker's answer) on a busy machine


def right_answer(step: int) -> int:
    return STEPS[step - 1].question.right_index


@pytest.fixture(scope="module")
def lms_root(site_dir, tmp_path_factory) -> Path:
    """A folder as an LMS serves it: the player, scorm-again, the unpacked package."""
    root = tmp_path_factory.mktemp("lms")
    package = root / "package.zip"
    write_package(site_dir, package, schema_files())
    assert check_package(package) == []
    with zipfile.ZipFile(package) as zf:
        zf.extractall(root / "content")
    assert (root / "content" / "imsmanifest.xml").is_file()
    assert (root / "content" / LAUNCH).is_file()
    with tarfile.open(sup.pinned_test_artefact(SCORM_AGAIN)) as tar:
        runtime = tar.extractfile("package/dist/scorm12.min.js")
        (root / "scorm12.min.js").write_bytes(runtime.read())
    shutil.copyfile(PLAYER, root / "player.html")
    return root


@pytest.fixture
def lms_url(lms_root, start_server) -> str:
    return start_server(lms_root).url


def sco(page):
    """The launched page's frame (the SCO), once it is there."""
    page.locator("#sco").wait_for(state="attached")
    return page.frame_locator("#sco")


def sco_frame(page):
    for frame in page.frames:
        if frame.url.split("?")[0].endswith("/content/" + LAUNCH):  # the lesson adds ?step=…
            return frame
    raise AssertionError(f"no frame shows the package: {[f.url for f in page.frames]}")


# What the LMS holds now (scorm-again's CMI object, read on the LMS's side).
READ_CMI = """() => ({
  status: API.cmi.core.lesson_status,
  location: API.cmi.core.lesson_location,
  score: [API.cmi.core.score.raw, API.cmi.core.score.min, API.cmi.core.score.max],
  suspend: API.cmi.suspend_data,
})"""


def events(page, name: str | None = None) -> list[list[str]]:
    found = page.evaluate("() => lmsEvents")
    return [e for e in found if name is None or e[0] == name]


def wait_for(condition, what: str, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_package_starts_a_session_and_finishes_it_when_the_learner_leaves(
    page, lms_url, monitor
):
    page.goto(lms_url + "player.html", wait_until="domcontentloaded")
    page.evaluate("() => launch()")
    sup.wait_until_live(sco(page), monitor)

    frame = sco_frame(page)
    assert frame.evaluate("() => document.documentElement.dataset.cpLms") == "connected"
    assert events(page, "LMSInitialize") == [["LMSInitialize", "", ""]]
    assert page.evaluate("() => API.isInitialized()")
    assert frame.evaluate("() => cpScorm.start") == {
        "suspend": "",
        "location": "",
        "status": "not attempted",
        "entry": "",
        "mode": "normal",
    }
    assert sco(page).locator("#cp-lms-note").count() == 0
    # Started: no longer "not attempted", committed at once.
    assert events(page, "LMSSetValue")[0] == ["LMSSetValue", "cmi.core.lesson_status", "incomplete"]
    assert page.evaluate("() => API.cmi.core.lesson_status") == "incomplete"
    assert events(page, "LMSCommit")

    page.evaluate("() => leave()")
    wait_for(lambda: events(page, "LMSFinish"), "LMSFinish after the frame was removed")
    assert page.evaluate("() => API.isTerminated()")
    # cmi.core.exit and session_time are write-only for the SCO: read what it wrote.
    (_, _, exit), (_, _, session_time) = events(page, "LMSSetValue")[-2:]
    assert [e[1] for e in events(page, "LMSSetValue")[-2:]] == [
        "cmi.core.exit",
        "cmi.core.session_time",
    ]
    assert exit == "suspend"  # the LMS keeps the suspend data for the next launch
    assert re.fullmatch(r"\d{2,4}:\d\d:\d\d\.\d\d", session_time) and session_time != "00:00:00.00"
    names = [e[0] for e in events(page)]
    assert names.index("LMSCommit", names.index("LMSSetValue")) < names.index("LMSFinish")


def test_without_an_lms_the_launch_page_works_as_the_site(open_app, lms_url):
    page = open_app(base=lms_url + "content/")
    assert page.evaluate("() => document.documentElement.dataset.cpLms") == "none"
    assert page.evaluate("() => window.cpScorm.connected") is False
    assert page.locator("#cp-lms-note").count() == 0
    # report() is a no-op without a session, so the page can call it unconditionally
    assert page.evaluate("() => cpScorm.report({'cmi.core.lesson_status': 'completed'})") is False


def test_an_lms_that_refuses_the_session_gets_a_note_and_the_page_still_works(
    page, lms_url, monitor
):
    # The LMS has already opened a session (a second launch in one window, say): scorm-again
    # refuses the page's LMSInitialize with error 101.
    page.goto(lms_url + "player.html", wait_until="domcontentloaded")
    page.evaluate("() => launch(null, (api) => api.LMSInitialize(''))")
    frame = sco(page)
    sup.wait_until_live(frame, monitor)
    note = frame.locator("#cp-lms-note")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert "did not start a session for this page" in text
    assert "error 101" in text and "LMSInitialize" in text
    assert "your progress is kept in this browser" in text
    assert sco_frame(page).evaluate("() => document.documentElement.dataset.cpLms") == "failed"
    # Not blocking: the builder is still there and the note can be dismissed by name.
    frame.get_by_role("button", name="Dismiss the note about the course system").click()
    note.wait_for(state="hidden")


def test_a_value_the_lms_refuses_is_named_in_the_note_and_the_rest_is_kept(page, lms_url, monitor):
    page.goto(lms_url + "player.html", wait_until="domcontentloaded")
    page.evaluate("() => launch()")
    frame = sco(page)
    sup.wait_until_live(frame, monitor)
    accepted = sco_frame(page).evaluate(
        """() => cpScorm.report({
             'cmi.core.lesson_location': '3',
             'cmi.core.score.raw': 'not a number',
             'cmi.suspend_data': '{"v":1}',
           })"""
    )
    assert accepted is True
    text = frame.locator("#cp-lms-note").inner_text()
    assert "did not keep your progress" in text
    assert "error 405" in text and "cmi.core.score.raw" in text
    assert page.evaluate("() => [API.cmi.core.lesson_location, API.cmi.suspend_data]") == [
        "3",
        '{"v":1}',
    ]
    assert events(page, "LMSCommit")  # what was accepted is committed


# --------------------------------------------------------------------------- the lesson


def finish_step_1(frame) -> int:
    """Pick the brightest pixel and answer step 1's check right; return the expected score."""
    from playground.lesson import Lesson, Progress, live
    from pycnn.datasets import load

    _train, (x_test, _y), _names = load(LESSON_DATASET)
    grid = [[round(float(v), 2) for v in row] for row in x_test[0, :, :, 0]]  # as the page shows
    row, col = live.brightest(grid)[1][0]
    frame.locator(f'.cp-pixel-grid [data-row="{row}"][data-col="{col}"]').first.click()
    expect(frame.locator(".cp-lesson-feedback").first).to_contain_text("brightest", timeout=WAIT_MS)
    right = right_answer(1)
    frame.locator(f".cp-lesson-answer-{right} button").first.click()
    expect(frame.locator(".cp-lesson-step").first).to_contain_text("2 / ", timeout=WAIT_MS)
    return Lesson(Progress(answers={1: [right]})).score


def test_the_lesson_reports_to_the_lms_and_resumes_on_another_computer(
    new_context, lms_url, monitor
):
    page = new_context().new_page()
    page.goto(lms_url + "player.html", wait_until="domcontentloaded")
    page.evaluate("() => launch()")
    frame = sco(page)
    sup.wait_until_live(frame, monitor)
    expect(frame.locator(".cp-lesson-step").first).to_contain_text("1 / ")

    score = finish_step_1(frame)
    wait_for(
        lambda: page.evaluate("() => API.cmi.core.lesson_location") == "2",
        "the step reported to the LMS",
    )
    cmi = page.evaluate(READ_CMI)
    assert (cmi["status"], cmi["location"]) == ("incomplete", "2")
    assert cmi["score"] == [str(score), "0", "100"]
    record = cmi["suspend"]
    assert 0 < len(record) <= SUSPEND_DATA_LIMIT
    loaded = loads(record)
    assert loaded.messages == ()
    assert loaded.progress.step == 2 and loaded.progress.answers == {1: [right_answer(1)]}
    assert events(page, "LMSCommit")

    page.evaluate("() => leave()")
    wait_for(lambda: events(page, "LMSFinish"), "LMSFinish")
    kept = page.evaluate("() => kept()")
    assert kept["core"]["entry"] == "resume"

    # Another computer: a fresh browser profile, nothing in its localStorage; the LMS hands
    # the page what it kept.
    elsewhere = new_context().new_page()
    elsewhere.goto(lms_url + "player.html", wait_until="domcontentloaded")
    elsewhere.evaluate("(kept) => launch(kept)", kept)
    frame = sco(elsewhere)
    sup.wait_until_live(frame, monitor)
    expect(frame.locator(".cp-lesson-step").first).to_contain_text("2 / ", timeout=WAIT_MS)
    assert sco_frame(elsewhere).evaluate("() => cpScorm.start.entry") == "resume"

    # Free play is reported as browsing.
    frame.locator(".cp-mode button").first.click()
    wait_for(
        lambda: elsewhere.evaluate("() => API.cmi.core.lesson_status") == "browsed",
        "'browsed' after switching to free play",
    )
