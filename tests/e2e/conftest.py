"""End-to-end fixtures: the real built site, served locally, in real headless Chromium.

Every test in tests/e2e/ is marked ``e2e`` automatically. What fails a test
without any assertion of its own (checked right after the test body, and again
at teardown for anything that arrives while the browser closes):

- any request that would leave localhost (aborted and named, from pages, frames,
  Web Workers and the service worker; a Chromium-level proxy catches the rest);
- an uncaught page error, a Python traceback / ``PythonError`` in the console
  (pyodide worker output included), a Web Worker ``error`` event;
- a same-origin response with status >= 400 (a file missing from ``site/``).

Tests that *expect* a broken load use ``@pytest.mark.e2e_allow_errors`` (external
requests still fail them).

Fixtures (see docs/TESTING.md):

``site_dir``          Path of the built site (built once per session, or ``$CNN_PLAYGROUND_SITE``).
``site_url``          ``http://127.0.0.1:<port>/`` — the site at the root of a local server.
``subpath_url``       ``http://127.0.0.1:<port>/courses/cnn/`` — the same site below a sub-path.
``chromium_browser``  the Playwright ``Browser`` (one per test module).
``monitor``           the test's :class:`e2e_support.Monitor` (errors, requests, console).
``external_requests`` list of blocked external URLs of this test (normally empty).
``new_context()``     a fresh, instrumented browser context (fresh profile); closed at teardown.
``page``              a blank page in a fresh context.
``open_app(path_and_query="", *, base=None, page=None)``
                      navigate (default: a new fresh context) and wait until ``.cp-ready``;
                      returns the live ``Page``.
``app_page``          ``open_app()`` — a live app at the site root.
``start_server(root, prefix="/")``
                      serve another directory on a new port (allowed by the network guard).
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from pathlib import Path

import e2e_support as sup
import pytest

_current_monitor: sup.Monitor | None = None
_session_ports: set[int] = set()


# --------------------------------------------------------------------------- pytest hooks


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e_allow_errors: the test expects a failed load; page errors, tracebacks and "
        "HTTP errors do not fail it (external requests still do)",
    )


def pytest_collection_modifyitems(config, items) -> None:
    e2e_dir = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(e2e_dir):
            item.add_marker(pytest.mark.e2e)


def _problems(item) -> list[str]:
    monitor: sup.Monitor | None = getattr(item, "_cp_monitor", None)
    if monitor is None:
        return []
    allow_errors = item.get_closest_marker("e2e_allow_errors") is not None
    return monitor.problems(external=True, errors=not allow_errors)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    problems = _problems(item)
    item._cp_reported = len(problems)
    if problems:
        monitor = item._cp_monitor
        raise AssertionError(
            "the browser reported problems during this test:\n- "
            + "\n- ".join(problems)
            + "\n\nlast console messages:\n"
            + monitor.console_tail()
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "_cp_rep_" + report.when, report)
    return report


# --------------------------------------------------------------------------- session


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site: ``$CNN_PLAYGROUND_SITE`` if set, else ``python3 build.py build`` once."""
    return sup.build_site()


@pytest.fixture(scope="session")
def site_server(site_dir):
    with sup.LocalServer(site_dir, "/") as server:
        _session_ports.add(server.port)
        yield server


@pytest.fixture(scope="session")
def site_url(site_server) -> str:
    return site_server.url


@pytest.fixture(scope="session")
def subpath_server(site_dir):
    with sup.LocalServer(site_dir, "/courses/cnn/") as server:
        _session_ports.add(server.port)
        yield server


@pytest.fixture(scope="session")
def subpath_url(subpath_server) -> str:
    return subpath_server.url


@pytest.fixture(scope="session")
def blackhole_proxy():
    proxy = sup.BlackholeProxy()

    def on_hit(url: str) -> None:
        if _current_monitor is not None:
            _current_monitor.external_requests.append(url + "  (reached the Chromium proxy)")

    proxy.on_hit = on_hit
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def chromium_browser(blackhole_proxy):
    # Module scope, not session: while Playwright's sync API is running, the main thread
    # has a running asyncio loop and asyncio.run() fails, so it must be stopped before
    # the unit tests that follow (tests/unit uses asyncio.run). A launch costs ~1 s.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = sup.launch_chromium(playwright, proxy_port=blackhole_proxy.port)
        yield browser
        browser.close()


# --------------------------------------------------------------------------- per test


@pytest.fixture
def monitor(request):
    """The test's Monitor; its problems fail the test (see module docstring)."""
    global _current_monitor
    mon = sup.Monitor(shared_ports=_session_ports)
    request.node._cp_monitor = mon
    _current_monitor = mon
    yield mon
    _current_monitor = None
    problems = _problems(request.node)
    already = getattr(request.node, "_cp_reported", 0)
    call_rep = getattr(request.node, "_cp_rep_call", None)
    if call_rep is not None and call_rep.passed and len(problems) > already:
        pytest.fail(
            "the browser reported problems while the test was closing:\n- "
            + "\n- ".join(problems[already:]),
            pytrace=False,
        )


@pytest.fixture
def external_requests(monitor) -> list[str]:
    """External URLs this test's pages tried to load (each was blocked). Normally []."""
    return monitor.external_requests


@pytest.fixture
def new_context(request, chromium_browser, monitor):
    """Factory: ``new_context(intercept=True, **playwright_context_options)`` -> a fresh,
    guarded context. ``intercept=False``: the HTTP cache works as for a learner, and external
    requests are refused and recorded by the proxy only (see ``sup.instrument_context``)."""
    contexts = []

    def make(intercept: bool = True, **kwargs):
        kwargs.setdefault("viewport", {"width": 1280, "height": 900})
        kwargs.setdefault("service_workers", "allow")
        context = chromium_browser.new_context(**kwargs)
        context.set_default_timeout(30_000)
        sup.instrument_context(context, monitor, intercept=intercept)
        contexts.append(context)
        return context

    yield make

    failed = any(
        getattr(getattr(request.node, "_cp_rep_" + w, None), "failed", False)
        for w in ("setup", "call")
    )
    if failed:
        _save_failure_artifacts(request.node, contexts, monitor)
    for context in contexts:
        with contextlib.suppress(Exception):  # the browser may be gone
            context.close()


def _save_failure_artifacts(node, contexts, monitor) -> None:
    out = sup.REPO_ROOT / "test-results"
    out.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.nodeid)[-120:]
    (out / f"{stem}.console.txt").write_text("\n".join(monitor.console), encoding="utf-8")
    n = 0
    for context in contexts:
        for pg in context.pages:
            with contextlib.suppress(Exception):
                pg.screenshot(path=str(out / f"{stem}.{n}.png"), full_page=True, timeout=10_000)
            n += 1


@pytest.fixture
def page(new_context):
    """A blank page in a fresh context (fresh profile, no service worker, empty cache)."""
    return new_context().new_page()


@pytest.fixture
def open_app(new_context, monitor, site_url):
    """Factory: ``open_app(path_and_query="", *, base=None, page=None)`` -> live Page.

    ``path_and_query`` is resolved against ``base`` (default ``site_url``), e.g.
    ``open_app("?dataset=digits&layers=flatten,dense:10:softmax")``. Without ``page``
    a new fresh context is used. Waits (up to ``$CNN_PLAYGROUND_LIVE_TIMEOUT``,
    default 120 s) until ``.cp-ready`` is visible; fails early on a load error.
    """

    def _open(path_and_query: str = "", *, base: str | None = None, page=None):
        target = page or new_context().new_page()
        url = urllib.parse.urljoin(base or site_url, path_and_query.lstrip("/"))
        target.goto(url, wait_until="domcontentloaded")
        sup.wait_until_live(target, monitor)
        return target

    return _open


@pytest.fixture
def app_page(open_app):
    """A live app at the site root, in a fresh context."""
    return open_app()


@pytest.fixture
def start_server(monitor):
    """Factory: ``start_server(root, prefix="/")`` -> running LocalServer on a new port.

    Its port is allowed by the network guard. Stopped at teardown (or call ``.stop()``).
    """
    servers = []

    def start(root, prefix: str = "/"):
        server = sup.LocalServer(Path(root), prefix)
        servers.append(server)
        monitor.allowed_ports.add(server.port)
        return server

    yield start
    for server in servers:
        server.stop()
