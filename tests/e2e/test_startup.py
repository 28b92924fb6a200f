"""Start-up: the first document, and the build's memory snapshot (sitebuild/snapshot.py,
site-src/snapshot.js).

The first document holds only what the first screen shows; the views below it are built
right after the first render (playground.components.layout.built_later) and arrive by
themselves.

A first visit starts Python the normal way and then keeps the snapshot (Cache Storage);
the next visit starts from it. `?snapshot=0` starts the normal way; a snapshot that cannot
be used (here: a damaged file) is never kept, and the page still comes up. Every load runs under the e2e guard (no request leaves localhost, no page
errors), so Panel's stylesheet URLs, made at build time, must name this site.
"""

from __future__ import annotations

import time

import e2e_support as sup
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

NUMPY_AND_APP = """
import numpy as np, sys
assert "panel" in sys.modules and "playground.state" in sys.modules
str(float(np.linalg.norm(np.arange(12.0).reshape(3, 4) @ np.ones(4))))
"""


def _started(page) -> str:
    return page.evaluate("document.documentElement.dataset.cpStart")


def _python(page, code: str) -> str:
    workers = [w for w in page.workers if w.url.split("?")[0].endswith("/app.js")]
    assert workers, [w.url for w in page.workers]
    return workers[0].evaluate("(code) => self.pyodide.runPython(code)", code)


SNAPSHOT_KEPT = """async () => {
  const cache = await caches.open("cp-packages");
  return (await cache.keys()).some((r) => r.url.includes("/snapshot.bin?sha256="));
}"""


def _wait_until_kept(page, timeout_s: float = 120) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(SNAPSHOT_KEPT):
            return True
        page.wait_for_timeout(500)
    return False


def test_a_second_visit_starts_from_the_snapshot_and_its_python_works(open_app):
    page = open_app()
    assert _started(page) == "full"  # a first visit: nothing kept yet
    assert _wait_until_kept(page), "the snapshot was not kept after the first visit"
    page = open_app(page=page)
    assert _started(page) == "snapshot"
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"
    # The stylesheets Panel names were rebased from the build's stand-in onto this site.
    hrefs = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap((el) => el.shadowRoot
             ? [...el.shadowRoot.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href)
             : [])"""
    )
    assert hrefs and all(h.startswith(page.url.split("?")[0].rsplit("/", 1)[0]) for h in hrefs)


def test_snapshot_0_starts_python_the_normal_way(open_app):
    page = open_app("?snapshot=0")
    assert _started(page) == "full"
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"


def test_a_damaged_snapshot_is_not_kept_and_the_page_still_starts(
    open_app, start_server, site_dir, tmp_path, monitor
):
    copy = sup.copy_site(site_dir, tmp_path / "site")
    damaged = copy / "pyodide" / "snapshot.bin.gz"
    half = damaged.read_bytes()[: damaged.stat().st_size // 2]
    damaged.unlink()  # a hard link to the original: replace it, never write into it
    damaged.write_bytes(half)
    server = start_server(copy)
    page = open_app(base=server.url)
    assert _started(page) == "full"
    deadline = time.monotonic() + 120
    while not any("snapshot was not kept" in line for line in monitor.console):
        assert time.monotonic() < deadline, monitor.console_tail()
        page.wait_for_timeout(500)
    assert not page.evaluate(SNAPSHOT_KEPT)
    page = open_app(base=server.url, page=page)
    assert _started(page) == "full"  # and live: open_app waited for .cp-ready


def test_the_views_below_the_first_screen_are_built_after_the_first_render_by_themselves(
    new_context, open_app
):
    page = new_context().new_page()
    page.add_init_script(sup.RECORD_FIRST_DOCUMENT)
    page = open_app(page=page)  # .cp-ready, then no placeholder left: nobody clicked anything
    first = page.evaluate("window.__cpFirstDocument")
    assert "cp-ready" in first and "cp-section-build" in first
    for placeholder in ("the training controls and plots", "downloads and sharing"):
        assert f"Preparing {placeholder}" in first
    for later in ("cp-train", "cp-export-keras", "cp-inside-choice"):
        assert later not in first, f"{later} is in the first document"
        assert page.locator(f".{later}").count() == 1, f"{later} never arrived"
    assert page.locator(sup.PENDING_SELECTOR).count() == 0
    # and they are live: a click on one reaches Python, which answers with another view
    body = page.locator(".cp-inside-body").first
    expect(body).not_to_contain_text("Loading the view", timeout=60_000)
    before = body.inner_text()
    page.locator(".cp-inside-choice button", has_text="Read the code").first.click()
    expect(body).not_to_have_text(before, timeout=60_000)
