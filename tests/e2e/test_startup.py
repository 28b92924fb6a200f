"""Start-up: the first document, and the build's memory snapshot (sitebuild/snapshot.py,
site-src/snapshot.js).

The first document holds only what the first screen shows; the views below it are built
right after the first render (playground.components.layout.built_later) and arrive by
themselves.

Every visit starts Python from the snapshot, a first one too: it is downloaded with the
packages and kept (Cache Storage) for the next visit. `?snapshot=0` starts the normal way; a
snapshot that cannot be used (here: a damaged file) is never kept, and the page still comes
up. Every load runs under the e2e guard (no request leaves localhost, no page errors), so
Panel's stylesheet URLs, made at build time, must name this site.
"""

from __future__ import annotations

import re

import e2e_support as sup
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

NUMPY_AND_APP = """
import numpy as np, sys
assert "panel" in sys.modules and "playground.state" in sys.modules
str(float(np.linalg.norm(np.arange(12.0).reshape(3, 4) @ np.ones(4))))
"""


PANDAS = "import pandas; str(pandas.DataFrame({'a': [1, 2]}).a.sum())"


def _started(page) -> str:
    return page.evaluate("document.documentElement.dataset.cpStart")


def _python(page, code: str) -> str:
    workers = [w for w in page.workers if w.url.split("?")[0].endswith("/app.js")]
    assert workers, [w.url for w in page.workers]
    return workers[0].evaluate("(code) => self.pyodide.runPython(code)", code)


def _marks(page) -> set[str]:
    return set(page.evaluate("() => Object.keys(window.cpLoadTimings || {})"))


SNAPSHOT_KEPT = """async () => {
  const cache = await caches.open("cp-packages");
  return (await cache.keys()).some((r) => r.url.includes("/snapshot.bin?sha256="));
}"""


def _downloads_said(page) -> list[tuple[int, int, str]]:
    """Every "Downloaded N of M files (…): FILE" the loading card showed, as (N, M, FILE)."""
    said = [text for _, text in page.evaluate("window.cpLoaderSaid")]
    found = [re.search(r"Downloaded (\d+) of (\d+) files \(.*\): (\S+)", t) for t in said]
    return [(int(m[1]), int(m[2]), m[3]) for m in found if m]


def test_every_visit_starts_from_the_snapshot_and_its_python_works(new_context, open_app):
    page = new_context().new_page()
    page.add_init_script(sup.RECORD_LOADER_TEXT)
    page = open_app(page=page)
    assert _started(page) == "snapshot"  # a first visit too: downloaded with the packages
    # The loading card counted each download once: all of them, never more than there are.
    counts = _downloads_said(page)
    assert counts and all(n <= m for n, m, _ in counts), counts
    assert max(n for n, _, _ in counts) == counts[0][1], counts
    assert "snapshot.bin.gz" in {file for *_, file in counts}
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"
    # The stylesheets Panel names were rebased from the build's stand-in onto this site.
    hrefs = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap((el) => el.shadowRoot
             ? [...el.shadowRoot.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href)
             : [])"""
    )
    assert hrefs and all(h.startswith(page.url.split("?")[0].rsplit("/", 1)[0]) for h in hrefs)
    assert "snapshot-from-cache" not in _marks(page)
    assert page.evaluate(SNAPSHOT_KEPT)
    # pandas, in the archive fetched once the page is live, is then there for the stand-in.
    page.wait_for_function("() => 'later-packages' in (window.cpLoadTimings || {})")
    assert _python(page, PANDAS) == "3"
    page = open_app(page=page)  # the next visit reads it back from this browser
    assert _started(page) == "snapshot"
    assert "snapshot-from-cache" in _marks(page)
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"


def test_snapshot_0_starts_python_the_normal_way(new_context, open_app):
    page = new_context().new_page()
    page.add_init_script(sup.RECORD_LOADER_TEXT)
    page = open_app("?snapshot=0", page=page)
    assert _started(page) == "full"
    counts = _downloads_said(page)  # every package archive, and no snapshot
    assert counts and all(n <= m for n, m, _ in counts), counts
    assert max(n for n, _, _ in counts) == counts[0][1], counts
    assert "snapshot.bin.gz" not in {file for *_, file in counts}
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"
    assert _python(page, PANDAS) == "3"  # both archives were installed before the app
    assert not page.evaluate(SNAPSHOT_KEPT)


def test_a_damaged_snapshot_is_not_kept_and_the_page_still_starts(
    new_context, open_app, start_server, site_dir, tmp_path, monitor
):
    copy = sup.copy_site(site_dir, tmp_path / "site")
    damaged = copy / "pyodide" / "snapshot.bin.gz"
    half = damaged.read_bytes()[: damaged.stat().st_size // 2]
    damaged.unlink()  # a hard link to the original: replace it, never write into it
    damaged.write_bytes(half)
    server = start_server(copy)
    page = new_context().new_page()
    page.add_init_script(sup.RECORD_LOADER_TEXT)
    page = open_app(base=server.url, page=page)
    assert _started(page) == "full"
    assert any("snapshot did not load" in line for line in monitor.console), monitor.console_tail()
    counts = _downloads_said(page)  # Pyodide's files fetched again are not counted twice
    assert counts and all(n <= m for n, m, _ in counts), counts
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"
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


# A kept copy (Cache Storage) is used once its length is right; its sha256 is checked again
# once the page is live (site-src/unpack.js: checkKept). These damage one kept copy in place,
# keeping its length, as a disk or a browser could.
DAMAGE_KEPT = """async ([part, at]) => {
  const cache = await caches.open("cp-packages");
  const key = (await cache.keys()).find((r) => r.url.includes(part));
  if (!key) return null;
  const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
  bytes[at < 0 ? bytes.length + at : at] ^= 0xff;
  await cache.put(key, new Response(bytes, { headers: { "Content-Type": "application/x-tar" } }));
  return key.url;
}"""

KEPT = """async (part) => {
  const cache = await caches.open("cp-packages");
  return (await cache.keys()).some((r) => r.url.includes(part));
}"""


def _until(page, js: str, arg, want: bool, timeout_s: float = 60) -> None:
    """Poll an async function in the page until it returns `want`."""
    for _ in range(int(timeout_s * 4)):
        if page.evaluate(js, arg) == want:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"{js} never returned {want} for {arg}")


def _kept_visit(new_context, open_app):
    """A first visit, once it kept the package archive and the snapshot."""
    page = new_context().new_page()
    page = open_app(page=page)
    _until(page, KEPT, "/site-packages.tar?sha256=", True)
    _until(page, KEPT, "/snapshot.bin?sha256=", True)
    return page


def test_a_kept_snapshot_that_does_not_restore_is_dropped_and_the_page_starts(
    new_context, open_app, monitor
):
    page = _kept_visit(new_context, open_app)
    # Its first byte is the snapshot's magic number: same length, so it is read and tried.
    assert page.evaluate(DAMAGE_KEPT, ["/snapshot.bin?sha256=", 0])
    page = open_app(page=page)  # live: open_app waited for .cp-ready
    assert _started(page) == "full"
    assert "snapshot-from-cache" in _marks(page)
    assert any("snapshot did not load" in line for line in monitor.console), monitor.console_tail()
    assert _python(page, NUMPY_AND_APP) == "44.31703961232068"
    _until(page, KEPT, "/snapshot.bin?sha256=", False)  # dropped ...
    page = open_app(page=page)  # ... so the next visit downloads it again, and keeps it
    assert _started(page) == "snapshot"
    assert "snapshot-from-cache" not in _marks(page)
    _until(page, KEPT, "/snapshot.bin?sha256=", True)


def test_a_kept_archive_whose_sha256_differs_is_dropped_once_the_page_is_live(
    new_context, open_app, monitor
):
    page = _kept_visit(new_context, open_app)
    # The tar's last byte is in its end-of-archive blocks: nothing reads it, the hash sees it.
    assert page.evaluate(DAMAGE_KEPT, ["/site-packages.tar?sha256=", -1])
    page = open_app(page=page)
    assert "packages-from-cache" in _marks(page)  # used after the length check ...
    _until(page, KEPT, "/site-packages.tar?sha256=", False)  # ... dropped after the hash check
    assert any("was damaged" in line for line in monitor.console), monitor.console_tail()
    page = open_app(page=page)
    assert "packages-from-cache" not in _marks(page)  # downloaded and checked again
    _until(page, KEPT, "/site-packages.tar?sha256=", True)
