"""The built static site works in real Chromium — live, relocatable,
embeddable, offline after a first visit, honest while loading — and computes the
default model's summary and a training step with pycnn *in the browser*.

Every test here also fails on any request leaving localhost, any uncaught page
error and any Python traceback in the console (see conftest.py).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import e2e_support as sup
import pytest

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- the guard itself


def test_network_guard_blocks_and_records_external_requests(page, site_url, monitor):
    """The harness refuses requests leaving localhost from the page and from a worker.

    Without this, "no external request" below could pass because the guard saw nothing.
    """
    blank = site_url + "__e2e_guard_test__.html"  # served by the test, on the allowed origin
    page.route(
        blank,
        lambda route: route.fulfill(
            body="<!doctype html><title>guard</title>", content_type="text/html"
        ),
    )
    page.goto(blank, wait_until="domcontentloaded")
    result = page.evaluate(
        """async () => {
          const out = {};
          try { await fetch('https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js'); out.page = 'loaded'; }
          catch (e) { out.page = 'blocked'; }
          const src = `fetch('https://example.org/from-worker').then(() => postMessage('loaded'), () => postMessage('blocked'))`;
          const w = new Worker(URL.createObjectURL(new Blob([src], {type: 'text/javascript'})));
          out.worker = await new Promise((res) => { w.onmessage = (e) => res(e.data); });
          return out;
        }"""
    )
    assert result == {"page": "blocked", "worker": "blocked"}
    blocked = list(monitor.external_requests)
    assert any("cdn.jsdelivr.net/pyodide" in u for u in blocked), blocked
    assert any("example.org/from-worker" in u for u in blocked), blocked
    monitor.external_requests.clear()  # expected here; must not fail this test


def test_error_detectors_catch_page_errors_tracebacks_and_worker_crashes(page, site_url, monitor):
    """The harness sees what must fail a test: without this, 'no errors' proves nothing."""
    blank = site_url + "__e2e_errors_test__.html"
    page.route(
        blank,
        lambda route: route.fulfill(
            body="<!doctype html><title>errors</title>", content_type="text/html"
        ),
    )
    page.goto(blank, wait_until="domcontentloaded")
    page.evaluate(
        r"""async () => {
          setTimeout(() => { throw new Error('e2e-uncaught-boom'); }, 0);
          // What Pyodide prints when Python code in the worker raises.
          const src = `console.log('PythonError: Traceback (most recent call last):\\n  File "<exec>", line 1\\nZeroDivisionError: division by zero');
                       throw new Error('e2e-worker-crash');`;
          new Worker(URL.createObjectURL(new Blob([src], {type: 'text/javascript'})));
          await new Promise((r) => setTimeout(r, 1000));
        }"""
    )
    page.wait_for_timeout(500)
    assert any("e2e-uncaught-boom" in e for e in monitor.page_errors), monitor.page_errors
    assert any("ZeroDivisionError" in t for t in monitor.python_tracebacks), monitor.console
    assert any("e2e-worker-crash" in e for e in monitor.worker_errors), monitor.console
    # Expected here; must not fail this test.
    monitor.page_errors.clear()
    monitor.python_tracebacks.clear()
    monitor.worker_errors.clear()


# --------------------------------------------------------------------------- live


def test_page_becomes_live(open_app, monitor, site_url):
    page = open_app()
    assert page.locator(".cp-summary").first.is_visible()
    assert page.locator(".cp-train").first.is_visible()
    # The loading screen gives way to the app.
    status = page.locator(sup.LOADING_STATUS_SELECTOR)
    assert status.count() == 0 or not status.first.is_visible()
    # The real runtime ran: Pyodide's wasm was fetched from this server.
    assert any(u.startswith(site_url) and u.endswith(".wasm") for u in monitor.requests)


def test_no_external_request(app_page, monitor, external_requests, site_url):
    """A full load (and a moment of idling after it) attempts nothing outside localhost."""
    app_page.wait_for_timeout(2_000)  # lazy icons, fonts, MathJax would be asked for by now
    local = [u for u in monitor.requests if u.startswith(site_url)]
    assert len(local) >= 10, f"guard saw too few requests to be trusted: {monitor.requests}"
    assert external_requests == []


# --------------------------------------------------------------------------- pycnn in the browser


def _expected_summary(layers: str, dataset: str) -> list[tuple[tuple[int, ...], int]]:
    """(output shape, parameter count) per layer, computed here by pycnn on real arrays.

    Shapes come from an actual forward pass and counts from the built weights, not
    from the shape arithmetic the app displays, so the two are independent.
    """
    import numpy as np

    from playground import state

    blocks = state.parse_layers(layers) if hasattr(state, "parse_layers") else None
    if blocks is None:
        from playground.spec import parse_layers

        blocks = parse_layers(layers)
    input_shape = tuple(state.dataset_info(dataset).input_shape)
    rng = np.random.default_rng(0)
    x = rng.random((2, *input_shape)).astype(np.float32)
    rows = []
    for layer in state.build_model(blocks, input_shape).layers:
        x = layer.forward(x)
        rows.append((tuple(int(d) for d in x.shape[1:]), int(layer.count_params())))
    return rows


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in re.findall(r"\d+", text.replace(",", ", ")))


def _int(text: str) -> int:
    return int(text.strip().replace(",", "").replace("\u202f", "").replace(" ", ""))


def _displayed_summary(page) -> tuple[list[tuple[tuple[int, ...], int]], int]:
    """(shape, params) per row of the app's summary table, and the displayed total."""
    summary = page.locator(".cp-summary").first
    summary.locator("tr.cp-row").first.wait_for(state="visible")
    headers = [h.strip() for h in summary.locator("th").all_inner_texts()]
    shape_col = next(i for i, h in enumerate(headers) if "shape" in h.lower())
    param_col = next(i for i, h in enumerate(headers) if "param" in h.lower())
    rows = []
    for row in summary.locator("tr.cp-row").all():
        cells = row.locator("td").all_inner_texts()
        rows.append((_dims(cells[shape_col]), _int(cells[param_col])))
    total = _int(summary.locator(".cp-total-params").first.inner_text())
    return rows, total


def _settled_summary(page, expected, timeout_s: float = 15):
    """The displayed summary once it equals ``expected`` or stopped changing (UI patches are async)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            shown = _displayed_summary(page)
        except Exception:  # the table was redrawn while being read
            if time.monotonic() > deadline:
                raise
            shown = None
        if shown is not None and (shown[0] == expected or time.monotonic() > deadline):
            return shown
        page.wait_for_timeout(250)


def test_summary_table_matches_pycnn_for_the_first_model(app_page):
    """The plain address opens the lesson with its first model."""
    from urllib.parse import parse_qs

    from playground.lesson import START_MODEL

    first = {k: v[0] for k, v in parse_qs(START_MODEL.lstrip("?")).items()}
    expected = _expected_summary(first["layers"], first["dataset"])
    rows, total = _settled_summary(app_page, expected)
    assert rows == expected, f"browser table {rows} != pycnn {expected}"
    assert total == sum(p for _, p in expected)


def test_summary_table_matches_pycnn_for_a_linked_model(new_context, open_app):
    """A model no-one could precompute: the browser must run pycnn to show it.

    The loader hands the worker the page's address, so the very first document already
    shows the linked model (no default model first, then a round trip for the address).
    """
    layers = (
        "conv2d:6:5:padding=same,avgpool:2,conv2d:12:3:strides=2,flatten,dense:17,dense:10:softmax"
    )
    page = new_context().new_page()
    page.add_init_script(sup.RECORD_FIRST_DOCUMENT)
    open_app(f"?dataset=mnist&layers={layers}", page=page)
    first = page.evaluate("window.__cpFirstDocument")
    assert first and f"layers={layers}" in first, "the first document shows the default model"
    assert "cp-ready" in first
    expected = _expected_summary(layers, "mnist")
    rows, total = _settled_summary(page, expected)
    assert rows == expected, f"browser table {rows} != pycnn {expected}"
    assert total == sum(p for _, p in expected)


_LOSS = re.compile(r"loss\s*[:=]?\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)", re.IGNORECASE)


def test_training_runs_in_the_browser_and_the_loss_changes(app_page):
    status = app_page.locator(".cp-status").first
    before = status.inner_text().strip()
    assert not _LOSS.search(before), f"a loss is shown before any training: {before!r}"
    curve = sup.bokeh_data(app_page, "cp-train-source")
    assert not (curve and curve["loss"]), f"a loss curve before any training: {curve}"
    app_page.locator(".cp-train").first.click()

    # The default run is short (5 digits epochs: well under a second of training), so the
    # status text may go straight to "Finished"; the loss curve keeps every value shown.
    seen: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (seen and seen[-1].startswith("Finished")):
        text = status.inner_text().strip()
        if not seen or seen[-1] != text:
            seen.append(text)
        app_page.wait_for_timeout(100)
    match = _LOSS.search(seen[-1])
    assert match, f"no loss shown after training; status went {seen}"
    curve = sup.bokeh_data(app_page, "cp-train-source")
    assert curve and len(curve["loss"]) >= 2, f"no loss curve after training: {curve}"
    assert all(0 <= v < 1e3 for v in curve["loss"]), curve["loss"]
    assert len(set(curve["loss"])) >= 2, f"the loss shown did not change: {curve['loss']}"
    assert curve["loss"][-1] < curve["loss"][0], f"training did not lower the loss: {curve['loss']}"


# --------------------------------------------------------------------------- relocatable


def test_served_from_a_sub_path(open_app, subpath_url, monitor):
    page = open_app(base=subpath_url)
    assert page.url.startswith(subpath_url)
    origin = subpath_url.split("/courses/")[0]
    same_origin = [u for u in monitor.requests if u.startswith(origin)]
    outside = [u for u in same_origin if not u.startswith(subpath_url)]
    assert same_origin, "no request reached the sub-path server"
    assert outside == [], f"requests outside /courses/cnn/ (absolute paths in the site?): {outside}"


def test_embed_example_iframe_goes_live(page, site_url, monitor):
    page.goto(site_url + "embed-example.html", wait_until="domcontentloaded")
    frame_element = page.locator("iframe").first
    frame_element.wait_for(state="attached")
    frame = page.frame_locator("iframe").first
    sup.wait_until_live(frame, monitor)
    # The iframe holds the app from this same site, found by a relative address.
    child = [f for f in page.frames if f is not page.main_frame]
    assert child and child[0].url.startswith(site_url), [f.url for f in page.frames]


# --------------------------------------------------------------------------- offline


_SW_STATE_JS = """async () => {
  if (!('serviceWorker' in navigator)) return {supported: false};
  const reg = await navigator.serviceWorker.getRegistration();
  let entries = 0;
  for (const name of await caches.keys()) {
    entries += (await (await caches.open(name)).keys()).length;
  }
  return {
    supported: true,
    active: !!(reg && reg.active && reg.active.state === 'activated'),
    controlled: !!navigator.serviceWorker.controller,
    entries,
  };
}"""


def _wait_for_service_worker_cache(page, timeout_s: float = 90) -> dict:
    """Wait until a service worker is active and its caches stopped growing for 3 s."""
    deadline = time.monotonic() + timeout_s
    stable_since, last_entries, state = None, -1, {}
    while time.monotonic() < deadline:
        state = page.evaluate(_SW_STATE_JS)
        if not state.get("supported"):
            raise AssertionError("no service worker support in this page")
        if state["active"] and state["entries"] > 0:
            if state["entries"] == last_entries:
                if stable_since and time.monotonic() - stable_since >= 3:
                    return state
            else:
                last_entries, stable_since = state["entries"], time.monotonic()
        page.wait_for_timeout(500)
    raise AssertionError(f"service worker did not become active with a filled cache: {state}")


def test_works_offline_after_first_visit(new_context, start_server, site_dir, monitor):
    server = start_server(site_dir)  # own origin: nothing shared with other tests
    context = new_context(intercept=False)  # with the browser's HTTP cache, as for a learner
    page = context.new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    sup.wait_until_live(page, monitor)
    state = _wait_for_service_worker_cache(page)
    # Filling the offline cache revalidates what the page already downloaded (304) instead
    # of downloading the site a second time. (Not site-packages.tar.gz: a test profile keeps
    # its HTTP cache in memory, where a 14 MB entry does not fit; a learner's disk cache does.)
    full = [path for path, status in server.responses if status == 200]
    for big in (
        "/pyodide/pyodide.asm.wasm",
        "/pyodide/pyodide.asm.js",
        "/pyodide/python_stdlib.zip",
    ):
        assert full.count(big) == 1, f"{big} sent {full.count(big)} times: {server.responses}"

    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=5)

    page.reload(wait_until="domcontentloaded")
    sup.wait_until_live(page, monitor)
    after = page.evaluate(_SW_STATE_JS)
    assert after["controlled"], f"second visit not served by the service worker: {after}"
    assert state["entries"] > 0
    # The second visit took the checked, unpacked packages from this browser's cache.
    marks = page.evaluate("() => Object.keys(window.cpLoadTimings || {})")
    assert "packages-from-cache" in marks, marks


# --------------------------------------------------------------------------- honest loading


def test_loading_page_shows_progress(page, site_url, site_dir, monitor):
    page.add_init_script(sup.RECORD_LOADER_TEXT)
    page.goto(site_url, wait_until="commit")
    sup.wait_until_live(page, monitor)
    seen = [text for _, text in page.evaluate("window.cpLoaderSaid")]
    assert len(set(seen)) >= 3, f"the loader should say what it is loading as it goes; saw {seen}"
    specific = re.compile(
        r"pyodide|numpy|pandas|panel|bokeh|pycnn|\d+\s*%|\d+\s*/\s*\d+", re.IGNORECASE
    )
    assert any(specific.search(t) for t in seen), (
        f"loader messages name no package and no progress figure: {seen}"
    )
    # The card's "the first visit downloads about …" is the size of what it counts, not the
    # placeholder in the HTML (the worker announces the sizes before <body> exists).
    sizes = json.loads(re.search(r'"sizes": (\{[^}]*\})', (site_dir / "app.js").read_text())[1])
    expected = f"{sum(sizes.values()) / 1e6:.1f} MB"
    assert page.locator("#cp-loader-total").text_content() == expected


def _site_copy_without(site_dir: Path, dest: Path, pattern: str) -> Path:
    """Copy site_dir to dest (hard links where possible) minus the first file matching pattern."""
    victims = sorted(site_dir.rglob(pattern))
    assert victims, f"no {pattern} in {site_dir}: cannot stage a missing runtime file"
    sup.copy_site(site_dir, dest)
    missing = dest / victims[0].relative_to(site_dir)
    missing.unlink()
    for twin in (".gz", ".br"):  # pre-compressed copies the local server may prefer
        missing.with_name(missing.name + twin).unlink(missing_ok=True)
    return missing


@pytest.mark.e2e_allow_errors
def test_missing_runtime_file_shows_an_error(page, site_dir, start_server, tmp_path, monitor):
    """A site whose package archive is missing says so on the page instead of hanging."""
    missing = _site_copy_without(site_dir, tmp_path / "site", "site-packages.tar.gz")
    server = start_server(tmp_path / "site")
    page.goto(server.url, wait_until="domcontentloaded")

    error = page.locator(sup.LOAD_ERROR_SELECTOR).first
    error.wait_for(state="visible", timeout=sup.LIVE_TIMEOUT_S * 1000)
    message = error.inner_text()
    assert missing.name in message and "404" in message, (
        f"error does not say what failed and why: {message!r}"
    )
    assert not sup.is_live(page)
    assert any(missing.name in e for e in monitor.http_errors), monitor.http_errors


@pytest.mark.e2e_allow_errors
def test_damaged_package_archive_is_refused(page, site_dir, start_server, tmp_path):
    """The worker checks the archive's sha256 before using a byte of it.

    The damage is in the gzip header's timestamp, which gzip itself does not check: only
    the sha256 comparison can notice it.
    """
    archive = _site_copy_without(site_dir, tmp_path / "site", "site-packages.tar.gz")
    data = bytearray((site_dir / archive.relative_to(tmp_path / "site")).read_bytes())
    assert data[:2] == b"\x1f\x8b", "the archive should be gzip"
    data[4] ^= 0xFF  # MTIME, first byte
    archive.write_bytes(bytes(data))  # a new file: the built site is not touched
    server = start_server(tmp_path / "site")
    page.goto(server.url, wait_until="domcontentloaded")

    error = page.locator(sup.LOAD_ERROR_SELECTOR).first
    error.wait_for(state="visible", timeout=sup.LIVE_TIMEOUT_S * 1000)
    message = error.inner_text()
    assert archive.name in message and "sha256" in message, message
    assert not sup.is_live(page)
