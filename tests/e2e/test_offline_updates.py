"""A learner's browser after the teacher changed the site: rebuilt, edited by hand, taken
down; and the playground embedded in frames that restrict it.

The learner's page starts from the copy the service worker keeps (at once, also offline),
then notices what changed on the server: it offers a new version ("Reload", ``.cp-update``)
or, for a site taken down, forgets its copy. Each test serves its own copy of the built site
(hard links, so copying is cheap) on its own port, so service workers and caches never leak
from one test to the next; files a test changes are replaced, never written through a link.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import e2e_support as sup
from playwright.sync_api import expect

#: How long a build may take to be cached in full by its service worker (~30 MB on a busy
#: 2-core machine).
INSTALL_TIMEOUT_S = 120

_CACHES_JS = """async () => {
  const names = await caches.keys();
  const packages = (await caches.has('cp-packages'))
    ? (await (await caches.open('cp-packages')).keys()).map((r) => r.url) : [];
  const regs = await navigator.serviceWorker.getRegistrations();
  return {names, packages, registrations: regs.map((r) => r.scope)};
}"""


def _replace(path: Path, text: str) -> None:
    """A new file at `path` (the old one may be a hard link into the built site)."""
    path.unlink()
    path.write_text(text, encoding="utf-8")


MARKER = '<meta name="cp-test-edition" content="{}">'


def _mark_page(site: Path, edition: str) -> None:
    index = site / "index.html"
    html = index.read_text(encoding="utf-8")
    charset = '<meta charset="utf-8">'
    assert charset in html
    _replace(index, html.replace(charset, charset + MARKER.format(edition), 1))


def _edition(page) -> str | None:
    marker = page.locator("meta[name=cp-test-edition]")
    return marker.get_attribute("content") if marker.count() else None


def _layers(page) -> str:
    """The model in the page address."""
    return parse_qs(urlsplit(page.url).query)["layers"][0]


def _version(site: Path) -> str:
    return re.search(r'const VERSION = "([0-9a-f]+)";', (site / "sw.js").read_text())[1]


def _rebuilt_copy(site_dir: Path, dest: Path) -> Path:
    """What `python3 build.py build` makes after a change: a page that differs (with its gzip
    twin), and a sw.js and build-info.json that carry the new build's version."""
    site = sup.copy_site(site_dir, dest)
    _mark_page(site, "rebuilt")
    index = site / "index.html"
    twin = site / "index.html.gz"
    twin.unlink(missing_ok=True)
    twin.write_bytes(gzip.compress(index.read_bytes(), mtime=0))
    old = _version(site)
    new = hashlib.sha256(old.encode() + index.read_bytes()).hexdigest()[:16]
    for name in ("sw.js", "build-info.json"):
        text = (site / name).read_text(encoding="utf-8")
        assert old in text, f"{name} does not carry the build's version {old}"
        _replace(site / name, text.replace(old, new))
    assert _version(site) == new
    return site


def _deploy(new: Path, served: Path) -> None:
    """Publish `new` where `served` is, the way the build swaps a site: by renames."""
    os.replace(served, served.with_name(served.name + "-retired"))
    os.replace(new, served)


def _wait_until(page, js: str, arg=None, timeout_s: float = INSTALL_TIMEOUT_S) -> None:
    """Poll `js` (a function; may be async) in the page until it returns something truthy.
    (page.wait_for_function does not wait for an async function's result.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(js, arg):
        assert time.monotonic() < deadline, f"still false after {timeout_s:.0f} s: {js}"
        page.wait_for_timeout(250)


def _first_visit(new_context, server, monitor, fake_clock: bool = False):
    """A learner's first visit: live, then kept by the service worker, which has then also
    compared the site with the server and cached the datasets (what it does last).

    With the HTTP cache on, as for a learner (Playwright's request routing would also
    make a reload bypass the service worker); external requests are still refused.
    `fake_clock`: the page's timers run on Playwright's clock (in real time until the test
    moves it forward)."""
    page = new_context(intercept=False).new_page()
    if fake_clock:
        page.clock.install()
    # A model link: free play, whose model is in the address (the plain address opens the
    # lesson, whose model is in its saved progress and whose blocks are locked).
    page.goto(
        server.url + "?dataset=digits&layers=flatten,dense:10:softmax",
        wait_until="domcontentloaded",
    )
    sup.wait_until_live(page, monitor)
    datasets = sorted(f"data/{p.name}" for p in (server.root / "data").glob("*.npz"))
    assert datasets, f"no datasets in {server.root}"
    _wait_until(
        page,
        """async (datasets) => navigator.serviceWorker.controller
             && document.documentElement.dataset.cpOffline === 'ready'
             && (await Promise.all(datasets.map((d) => caches.match(d)))).every(Boolean)""",
        datasets,
    )
    # Once live, the page keeps the package archives and the memory snapshot for the next
    # visit (site-src/unpack.js), the second archive once it has read it; a new worker's
    # script request makes the browser look for a newer sw.js. Wait for all of them, so the
    # next visit reads each from this browser, none from the server.
    kept = [
        f"/{p.name.removesuffix('.gz')}?sha256="
        for p in (server.root / "pyodide").iterdir()
        if p.name.endswith((".tar.gz", ".bin.gz"))
    ]
    assert kept, f"no package archive in {server.root}"
    _wait_until(
        page,
        """async (kept) => {
             if (!(await caches.has('cp-packages'))) return false;
             const urls = (await (await caches.open('cp-packages')).keys()).map((r) => r.url);
             return kept.every((part) => urls.some((url) => url.includes(part)));
           }""",
        kept,
    )
    return page


def _back_online(page) -> None:
    """The network drops and comes back: the page sees `offline`, then `online`."""
    page.context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    page.context.set_offline(False)
    page.wait_for_function("navigator.onLine")


def _reload_into_new_version(page, monitor) -> None:
    button = page.locator(".cp-update")
    button.wait_for(state="visible", timeout=INSTALL_TIMEOUT_S * 1000)
    expect(button).to_have_accessible_name("Reload")
    with page.expect_navigation(wait_until="domcontentloaded", timeout=60_000):
        button.click()
    sup.wait_until_live(page, monitor)


def test_rebuilt_site_offers_its_new_version_and_reload_brings_it(
    new_context, start_server, site_dir, tmp_path, monitor
):
    served = sup.copy_site(site_dir, tmp_path / "site")
    rebuilt = _rebuilt_copy(site_dir, tmp_path / "rebuilt")
    old, new = _version(served), _version(rebuilt)
    server = start_server(served)
    page = _first_visit(new_context, server, monitor)

    _deploy(rebuilt, served)
    page.reload(wait_until="domcontentloaded")
    sup.wait_until_live(page, monitor)
    # The kept build starts, as it would offline...
    assert _edition(page) is None
    # ...the learner changes the model meanwhile...
    page.locator(".cp-add-dropout button").first.click()
    page.wait_for_url(re.compile(r"dropout:0\.5"))
    edited = _layers(page)
    # ...and the new build is offered only once it is cached in full: it starts offline.
    page.locator(".cp-update").wait_for(state="visible", timeout=INSTALL_TIMEOUT_S * 1000)
    server.stop()
    _reload_into_new_version(page, monitor)

    assert _edition(page) == "rebuilt"
    # The learner's model came along: it is in the address, which Reload keeps.
    assert _layers(page) == edited
    expect(page.locator(".cp-block-dropout")).to_have_count(1)
    state = page.evaluate(_CACHES_JS)
    assert any(new in name for name in state["names"]), state
    assert not any(old in name for name in state["names"]), f"old build still cached: {state}"
    # Offline, the check for a newer site finds nothing and changes nothing.
    assert state["registrations"] == [server.url], state
    page.wait_for_timeout(2000)
    assert page.locator(".cp-update").is_hidden()


def test_open_tab_learns_of_a_rebuild_without_reloading(
    new_context, start_server, site_dir, tmp_path, monitor
):
    """A classroom's tab left open for hours: the page asks again every quarter of an hour."""
    served = sup.copy_site(site_dir, tmp_path / "site")
    rebuilt = _rebuilt_copy(site_dir, tmp_path / "rebuilt")
    server = start_server(served)
    page = _first_visit(new_context, server, monitor, fake_clock=True)
    # The browser looks for a newer sw.js itself shortly after a request for a worker's
    # script (the last: the one reading the second package archive); not again while the page
    # stays open.
    page.wait_for_timeout(5000)

    _deploy(rebuilt, served)
    page.wait_for_timeout(2000)
    # Nothing has looked for the new build yet (not even the browser on its own).
    assert page.evaluate(
        "navigator.serviceWorker.getRegistration().then((r) => !r.installing && !r.waiting)"
    ), "the new build was found before the page asked again"
    page.clock.fast_forward("15:00")
    page.locator(".cp-update").wait_for(state="visible", timeout=INSTALL_TIMEOUT_S * 1000)
    assert _edition(page) is None  # offered, not forced: the page is still the old build


def test_page_edited_by_hand_is_picked_up(new_context, start_server, site_dir, tmp_path, monitor):
    served = sup.copy_site(site_dir, tmp_path / "site")
    server = start_server(served)
    page = _first_visit(new_context, server, monitor)

    # A teacher edits index.html on the server while the learner's tab stays open; sw.js
    # stays the same. (The build's gzip twin would now be stale: other static hosts ignore
    # it, the build's local server prefers it.)
    _mark_page(served, "edited by hand")
    (served / "index.html.gz").unlink(missing_ok=True)
    # The learner's laptop drops off the network and comes back: the open page asks again.
    _back_online(page)

    # The learner puts the offer off: it goes away...
    page.locator(".cp-update").wait_for(state="visible", timeout=INSTALL_TIMEOUT_S * 1000)
    assert _edition(page) is None
    page.get_by_role("button", name="Not now").click()
    expect(page.locator("#cp-update-notice")).to_be_hidden()
    # ...and stays away: the page does not ask again (the edit below is not fetched)...
    _mark_page(served, "edited again")
    _back_online(page)
    page.wait_for_timeout(10_000)  # the page would ask 5 s after `online`
    expect(page.locator("#cp-update-notice")).to_be_hidden()
    # ...and the edited page, kept in place of the old one, comes with the next load, also
    # without the server.
    server.stop()
    page.reload(wait_until="domcontentloaded")
    sup.wait_until_live(page, monitor)
    assert _edition(page) == "edited by hand"


def test_removed_site_unregisters_its_service_worker(
    new_context, start_server, site_dir, tmp_path, monitor
):
    served = sup.copy_site(site_dir, tmp_path / "site")
    server = start_server(served)
    page = _first_visit(new_context, server, monitor)
    kept = page.evaluate(_CACHES_JS)
    assert kept["registrations"] and kept["packages"], kept

    # The site is taken down (its folder deleted): every file, sw.js included, answers 404.
    shutil.rmtree(served)
    # Expected too: the package archive the page reads once live (and unpack.js, which reads
    # it) may be asked for after the service worker has let the kept copies go, and then the
    # server has them no more (the page says so in the console and carries on without
    # pandas); that can happen before the test sees the page live.
    monitor.ignored_http_error_suffixes += ("/pyodide/site-packages-later.tar.gz", "/unpack.js")
    page.reload(wait_until="domcontentloaded")
    sup.wait_until_live(page, monitor)  # this visit still starts from the kept copy
    _wait_until(page, "async () => (await navigator.serviceWorker.getRegistrations()).length === 0")
    deadline = time.monotonic() + 60
    while not (
        "later-packages" in page.evaluate("Object.keys(window.cpLoadTimings)")
        or any("site-packages-later.tar.gz could not" in line for line in monitor.console)
    ):
        assert time.monotonic() < deadline, monitor.console_tail()
        page.wait_for_timeout(250)
    state = page.evaluate(_CACHES_JS)
    assert not [n for n in state["names"] if n.startswith("cnn-playground")], state
    assert not [u for u in state["packages"] if u.startswith(server.url)], state

    # The next visit asks the server, which says the site is gone.
    response = page.goto(server.url, wait_until="domcontentloaded")
    assert response.status == 404 and not response.from_service_worker
    monitor.http_errors.remove(f"404 {server.url}")  # expected: that is the point


def _lesson_page(tmp_path: Path, site_url: str, iframe_attributes: str = "") -> str:
    (tmp_path / "lesson.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Lesson 4</title></head>"
        "<body><h1>Lesson 4: convolutions</h1>"
        f"<iframe src='{site_url}' {iframe_attributes} width='1200' height='850'"
        " title='CNN Playground'></iframe></body></html>",
        encoding="utf-8",
    )
    return "lesson.html"


def test_sandboxed_iframe_says_what_the_embedding_page_must_allow(
    page, site_url, start_server, tmp_path, monitor
):
    lms = start_server(tmp_path)
    lesson = _lesson_page(tmp_path, site_url, "sandbox='allow-scripts'")
    page.goto(lms.url + lesson, wait_until="domcontentloaded")
    frame = page.frame_locator("iframe").first
    error = frame.locator(sup.LOAD_ERROR_SELECTOR)
    error.wait_for(state="visible", timeout=30_000)
    message = error.inner_text()
    assert 'sandbox="allow-scripts allow-same-origin"' in message, message
    assert frame.locator("html[data-cp-load=failed]").count() == 1


def test_iframe_sandboxed_as_documented_runs_and_is_kept_offline(
    page, site_url, start_server, tmp_path, monitor
):
    """The sandbox README.md and embed-example.html tell teachers to use is enough: the
    playground starts, and a course page on the same site (another port of 127.0.0.1)
    lets it keep its copy for offline use, as the loading card promises."""
    lms = start_server(tmp_path)
    lesson = _lesson_page(tmp_path, site_url, "sandbox='allow-scripts allow-same-origin'")
    page.goto(lms.url + lesson, wait_until="domcontentloaded")
    frame = page.frame_locator("iframe").first
    sup.wait_until_live(frame, monitor)
    expect(frame.locator(".cp-offline-note")).to_contain_text("also offline")
    child = next(f for f in page.frames if f.url.startswith(site_url))
    _wait_until(child, "() => document.documentElement.dataset.cpOffline === 'ready'")


def test_cross_site_iframe_does_not_promise_offline_use(
    page, site_url, start_server, tmp_path, monitor
):
    """An LMS on another site: the browser refuses the frame a service worker and Cache
    Storage, so the page must not say that it will work offline."""
    lms = start_server(tmp_path)
    lesson = _lesson_page(tmp_path, site_url)
    # localhost is another site than 127.0.0.1, where the playground is.
    page.goto(f"http://localhost:{lms.port}/{lesson}", wait_until="domcontentloaded")
    frame = page.frame_locator("iframe").first
    note = frame.locator(".cp-offline-note")
    expect(note).to_contain_text("cannot be kept for offline use", timeout=30_000)
    assert "embedded in another site" in note.inner_text()
    card = frame.locator(".cp-loader-sub").inner_text()
    assert "also offline" not in card, card
    # The premise: this browser really refuses storage to the frame.
    child = next(f for f in page.frames if f.url.startswith(site_url))
    refused = child.evaluate("caches.keys().then(() => false, () => true)")
    assert refused, "this Chromium lets a cross-site frame use Cache Storage"

    sup.wait_until_live(frame, monitor)
    assert child.evaluate("document.documentElement.dataset.cpOffline") == "unavailable"
