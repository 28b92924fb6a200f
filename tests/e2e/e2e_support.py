"""Plumbing for the end-to-end tests and the load benchmark (no pytest in here).

Used by ``tests/e2e/conftest.py`` and ``benchmarks/bench_load.py``:

- :func:`find_chromium` / :func:`launch_chromium` — which Chromium runs the tests.
- :class:`LocalServer` — ``sitebuild.server.make_server`` in a background thread.
- :class:`Monitor` — everything a test must fail on: requests leaving localhost,
  uncaught page errors, Python tracebacks in the console, worker errors,
  failed same-origin responses.
- :func:`instrument_context` — routes every request of a browser context through
  the allow-list and attaches the monitor to every page of it.
- :class:`BlackholeProxy` — a second line of defence: Chromium's proxy for all
  non-loopback traffic, so a request that escapes Playwright routing (from a
  service worker, say) is still refused and recorded.
- :func:`wait_until_live` — open the app and wait for ``.cp-ready``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from sitebuild.assemble import site_is_current
from sitebuild.chromium import CHROMIUM_ENV, find_chromium
from sitebuild.fetch import pinned_test_artefact
from sitebuild.server import make_server

REPO_ROOT = Path(__file__).resolve().parents[2]

# Requests made by a service worker are only visible to (and routable by)
# Playwright with this switch; it must be set before the Playwright driver starts.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")

SITE_ENV = "CNN_PLAYGROUND_SITE"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: The app is live (rendered and interactive) when this is in the page (docs/ARCHITECTURE.md).
#: The app appends it last, as a zero-height pane, so we wait for "attached" (Playwright's
#: "visible" needs a non-empty box).
READY_SELECTOR = ".cp-ready"
READY_STATE = "attached"
#: Panel keeps ``pn-loading`` on <body> until the Python worker's document is drawn and
#: linked (a page with a static pre-render, which the site does not use, would show
#: ``.cp-ready`` before that): the app is live when the marker is there AND this matches nothing.
STILL_LOADING_SELECTOR = "body.pn-loading"
#: A view built right after the first render (playground.components.layout.built_later) is
#: this placeholder until it arrives: :func:`wait_until_live` also waits until none is left.
PENDING_SELECTOR = ".cp-pending"
#: Loader page (site-src loader): the line that says what is loading right now, and
#: the box (``hidden`` until then) that says why loading failed.
LOADING_STATUS_SELECTOR = "#cp-loader-detail"
LOAD_ERROR_SELECTOR = "#cp-loader-error"

LIVE_TIMEOUT_S = float(os.environ.get("CNN_PLAYGROUND_LIVE_TIMEOUT", "120"))

TRACEBACK_MARKERS = ("Traceback (most recent call last)", "PythonError")


# --------------------------------------------------------------------------- Chromium


def describe_chromium() -> str:
    exe = find_chromium()
    return exe if exe else "Playwright's bundled Chromium"


def launch_chromium(playwright, proxy_port: int | None = None):
    """Launch headless Chromium with the project's flags (see docs/TESTING.md)."""
    kwargs: dict = {"headless": True, "args": list(CHROMIUM_ARGS)}
    exe = find_chromium()
    if exe:
        kwargs["executable_path"] = exe
    if proxy_port is not None:
        # Passed as raw flags: Playwright's `proxy` option would also proxy loopback.
        # Chromium never proxies loopback by itself, so only external traffic reaches it.
        kwargs["args"] += [
            f"--proxy-server=http://127.0.0.1:{proxy_port}",
            "--proxy-bypass-list=<loopback>",
        ]
    try:
        return playwright.chromium.launch(**kwargs)
    except Exception as exc:
        hint = (
            f"Set ${CHROMIUM_ENV} to a Chromium binary, install Debian's `chromium` "
            "(apt-get install chromium), or run `playwright install chromium`."
        )
        raise RuntimeError(f"Could not launch {describe_chromium()}: {exc}\n{hint}") from exc


# --------------------------------------------------------------------------- servers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalServer:
    """``sitebuild.server.make_server`` for ``root`` mounted at ``prefix``, in a daemon thread."""

    def __init__(self, root: Path, prefix: str = "/", host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root)
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.host = host
        self._server = make_server(self.root, host, port, self.prefix)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def responses(self) -> list[tuple[str, int]]:
        """(path, HTTP status) of every response so far, in order."""
        return list(self._server.responses)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Address of the site root, ending in '/'."""
        return self.origin + self.prefix

    def stop(self) -> None:
        """Stop serving and close the listening socket (connections are then refused)."""
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self.running = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


#: Hosts Chromium itself talks to (component updater, sign-in, optimization guide,
#: safe browsing, network time) even with the flags above. They reach the proxy from
#: the browser process, never from the site; the proxy refuses them too but they do
#: not fail tests. Page, frame and worker requests never get here: Playwright routing
#: sees those first, so e.g. fonts.googleapis.com from the site is always a failure.
BROWSER_SERVICE_HOSTS = (
    "accounts.google.com",
    "clients2.google.com",
    "clients1.google.com",
    "update.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "safebrowsing.googleapis.com",
    "sb-ssl.google.com",
    "content-autofill.googleapis.com",
    "clientservices.googleapis.com",
    "edgedl.me.gvt1.com",
    "redirector.gvt1.com",
    "android.clients.google.com",
)


def is_browser_service(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in BROWSER_SERVICE_HOSTS


class BlackholeProxy:
    """An HTTP proxy that refuses everything and records what was asked for.

    Chromium sends all non-loopback traffic here (``launch_chromium(proxy_port=...)``),
    including requests Playwright routing does not see. ``hits`` is a list of URLs
    (``https://host:443`` for CONNECT tunnels, whose path is encrypted); Chromium's
    own service traffic (:data:`BROWSER_SERVICE_HOSTS`) goes to ``browser_service_hits``.
    """

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.browser_service_hits: list[str] = []
        self.on_hit: Callable[[str], None] | None = None
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    line = self.rfile.readline(8192).decode("latin-1").strip()
                except OSError:
                    return
                if not line:
                    return
                parts = line.split()
                method, target = (parts + ["", ""])[:2]
                url = f"https://{target}" if method.upper() == "CONNECT" else target
                if is_browser_service(url):
                    proxy.browser_service_hits.append(url)
                else:
                    proxy.hits.append(url)
                    if proxy.on_hit:
                        proxy.on_hit(url)
                body = b"blocked by the CNN Playground e2e harness: no external requests\n"
                try:
                    self.wfile.write(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                        b"Connection: close\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                    )
                except OSError:
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- monitoring


def is_local(url: str, allowed_ports: set[int] | None = None) -> bool:
    """True for URLs that never leave the machine: loopback http(s)/ws, data:, blob:, about:."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return False
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return False
    if allowed_ports is None:
        return True
    return parts.port in allowed_ports


@dataclass
class Monitor:
    """What a test saw that must fail it. One per test (shared by its contexts).

    ``external_requests``: URLs that were refused because they leave localhost.
    ``page_errors``: uncaught exceptions in a page (``pageerror``).
    ``python_tracebacks``: console messages (any level, page or worker) carrying a
    Python traceback / ``PythonError``.
    ``worker_errors``: ``error`` events of Web Workers (reported by an init script).
    ``http_errors``: same-origin responses with status >= 400 (a missing site file).
    ``console``: every console message, kept for failure reports.
    """

    allowed_ports: set[int] = field(default_factory=set)
    #: A live reference to ports allowed for the whole session (servers started later count).
    shared_ports: set[int] = field(default_factory=set)
    external_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    python_tracebacks: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    #: http_errors for these URL path endings are not failures (browsers ask for them).
    ignored_http_error_suffixes: tuple[str, ...] = ("/favicon.ico",)

    def is_allowed(self, url: str) -> bool:
        ports = self.allowed_ports | self.shared_ports
        return is_local(url, ports)

    def problems(self, *, external=True, errors=True) -> list[str]:
        out: list[str] = []
        if external:
            out += [f"external request attempted (blocked): {u}" for u in self.external_requests]
        if errors:
            out += [f"uncaught page error: {e}" for e in self.page_errors]
            out += [f"Python traceback in the console:\n{t}" for t in self.python_tracebacks]
            out += [f"Web Worker error: {e}" for e in self.worker_errors]
            out += [f"HTTP error from the site: {e}" for e in self.http_errors]
        return out

    def console_tail(self, n: int = 40) -> str:
        return "\n".join(self.console[-n:])


# Installed in every page and frame before its own scripts: report Worker `error`
# events (a crashed pyodide worker) and fetch/XHR calls are left alone.
_WORKER_ERROR_INIT_SCRIPT = r"""
(() => {
  if (window.__cpWorkerHooked) return;
  window.__cpWorkerHooked = true;
  const Native = window.Worker;
  if (!Native) return;
  window.Worker = new Proxy(Native, {
    construct(target, args, newTarget) {
      const w = Reflect.construct(target, args, newTarget);
      w.addEventListener('error', (ev) => {
        const where = ev.filename ? ` (${ev.filename}:${ev.lineno})` : '';
        console.error('[cp-e2e] Web Worker error: ' + (ev.message || 'failed to load or crashed') + where);
      });
      return w;
    },
  });
})();
"""
WORKER_ERROR_PREFIX = "[cp-e2e] Web Worker error: "


def attach_page(page, monitor: Monitor) -> None:
    """Record page errors, console tracebacks and worker errors of `page` into `monitor`."""

    def on_console(msg) -> None:
        try:
            text = msg.text
        except Exception:  # noqa: BLE001 - page gone
            return
        monitor.console.append(f"[{msg.type}] {text}")
        if text.startswith(WORKER_ERROR_PREFIX):
            monitor.worker_errors.append(text[len(WORKER_ERROR_PREFIX) :])
        elif any(m in text for m in TRACEBACK_MARKERS):
            monitor.python_tracebacks.append(text)

    def on_pageerror(err) -> None:
        text = f"{err}"
        stack = getattr(err, "stack", None)
        monitor.page_errors.append(text if not stack else f"{text}\n{stack}")
        if any(m in text for m in TRACEBACK_MARKERS):
            monitor.python_tracebacks.append(text)

    def on_response(resp) -> None:
        try:
            url, status = resp.url, resp.status
        except Exception:  # noqa: BLE001
            return
        if (
            status >= 400
            and is_local(url)
            and not url.split("?")[0].endswith(monitor.ignored_http_error_suffixes)
        ):
            monitor.http_errors.append(f"{status} {url}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("response", on_response)


def instrument_context(context, monitor: Monitor, intercept: bool = True) -> None:
    """Allow only loopback requests on the monitored ports; abort and record the rest.

    ``intercept=False`` leaves requests alone (Playwright's interception turns the
    browser's HTTP cache off): the browser's proxy flags (``launch_chromium``) still refuse
    every non-loopback request, and the BlackholeProxy records it.
    """

    def route_handler(route, request) -> None:
        url = request.url
        monitor.requests.append(url)
        if monitor.is_allowed(url):
            route.continue_()
        else:
            monitor.external_requests.append(url)
            route.abort("blockedbyclient")

    if intercept:
        context.route("**/*", route_handler)
    context.add_init_script(_WORKER_ERROR_INIT_SCRIPT)
    for page in context.pages:
        attach_page(page, monitor)
    context.on("page", lambda p: attach_page(p, monitor))


# --------------------------------------------------------------------------- waiting


class AppNotLive(AssertionError):
    pass


#: Init script: every text the loader's status line shows, in order, recorded in the page as
#: ``window.cpLoaderSaid = [[ms since navigation, text], ...]`` (polling from outside would
#: miss texts that follow each other within milliseconds).
RECORD_LOADER_TEXT = """
window.cpLoaderSaid = [];
new MutationObserver(() => {
  const el = document.querySelector(DETAIL);
  const said = window.cpLoaderSaid;
  const text = el ? el.textContent.replace(/\\s+/g, " ").trim() : "";
  if (text && (!said.length || said[said.length - 1][1] !== text)) said.push([performance.now(), text]);
}).observe(document, { subtree: true, childList: true, characterData: true });
""".replace("DETAIL", json.dumps(LOADING_STATUS_SELECTOR))


def bokeh_data(page, name: str) -> dict | None:
    """The columns of the page's Bokeh data source named ``name`` (e.g. the loss curve's)."""
    return page.evaluate(
        """(name) => {
          for (const doc of [...Bokeh.documents].reverse()) {  // the last one is the live one
            const m = doc.get_model_by_name(name);
            if (m) { const d = {}; for (const [k, v] of Object.entries(m.data)) d[k] = Array.from(v); return d; }
          }
          return null;
        }""",
        name,
    )


#: Init script: keeps the first document the worker sends the page (its JSON) in
#: ``window.__cpFirstDocument``.
RECORD_FIRST_DOCUMENT = """
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const msg = event.data || {};
      if (msg.type === "render" && window.__cpFirstDocument === undefined) {
        window.__cpFirstDocument = String(msg.docs_json);
      }
    });
  }
};
"""


def is_live(target, wait_ms: int = 0) -> bool:
    """``.cp-ready`` is in the page and Panel no longer shows its loading state.

    With ``wait_ms`` > 0, wait up to that long for the marker first.
    """
    try:
        if wait_ms > 0:
            try:
                target.locator(READY_SELECTOR).first.wait_for(state=READY_STATE, timeout=wait_ms)
            except Exception:  # noqa: BLE001 - playwright TimeoutError
                return False
        return (
            target.locator(READY_SELECTOR).count() > 0
            and target.locator(STILL_LOADING_SELECTOR).count() == 0
        )
    except Exception:  # noqa: BLE001 - navigating / frame not there yet
        return False


#: After this many loads timed out in one session the app is evidently broken: later
#: waits are capped at SHORT_LIVE_TIMEOUT_S so a failing CI run ends well within its budget.
TIMEOUTS_BEFORE_SHORTENING = 2
SHORT_LIVE_TIMEOUT_S = 45.0
_live_timeouts = 0


def wait_until_live(target, monitor: Monitor | None = None, timeout_s: float | None = None):
    """Wait until ``.cp-ready`` is in ``target`` (a Page, Frame or FrameLocator), and then
    until the views built after the first render have arrived (no ``.cp-pending`` left).

    Fails early (without using up the timeout) if the monitor records a page
    error, a Python traceback or a worker error, or the loader shows an error.
    Timeout: ``timeout_s``, else ``$CNN_PLAYGROUND_LIVE_TIMEOUT`` (120 s), shortened to
    45 s once two loads of the session have timed out.
    """
    global _live_timeouts
    if timeout_s is None:
        timeout_s = LIVE_TIMEOUT_S
    if _live_timeouts >= TIMEOUTS_BEFORE_SHORTENING:
        timeout_s = min(timeout_s, SHORT_LIVE_TIMEOUT_S)
    load_error = target.locator(LOAD_ERROR_SELECTOR).first
    deadline = time.monotonic() + timeout_s
    last_status = ""
    while True:
        with contextlib.suppress(Exception):  # navigating / frame not there yet
            if is_live(target, wait_ms=500) and target.locator(PENDING_SELECTOR).count() == 0:
                return
        with contextlib.suppress(Exception):  # not rendered (yet / any more)
            status = target.locator(LOADING_STATUS_SELECTOR).first.inner_text(timeout=200)
            last_status = status.strip() or last_status
        problems = monitor.problems(external=False) if monitor else []
        error_text = ""
        with contextlib.suppress(Exception):
            if load_error.is_visible():
                error_text = load_error.inner_text(timeout=200)
        if problems or error_text:
            detail = "\n".join(problems)
            if error_text:
                detail += f"\nloader error message: {error_text}"
            raise AppNotLive(
                f"the app failed while loading (last loader status: {last_status!r}):\n{detail}"
            )
        if time.monotonic() > deadline:
            _live_timeouts += 1
            tail = monitor.console_tail() if monitor else ""
            raise AppNotLive(
                f"{READY_SELECTOR} not in the page after {timeout_s:.0f} s; last loader status: "
                f"{last_status!r}\nlast console messages:\n{tail}"
            )


def copy_site(site_dir: Path, dest: Path) -> Path:
    """Copy a built site to `dest` with hard links where possible (fast, no extra space).

    Change a file of the copy by replacing it (unlink, then write), never by writing into
    it: that would change the original too."""

    def link_or_copy(src, dst):
        try:
            Path(dst).hardlink_to(src)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(site_dir, dest, copy_function=link_or_copy)
    return dest


def free_play(query: str = "") -> str:
    """The address of the default model with ``query`` (``"&epochs=2"``) after it: a link
    with a model opens free play, every block unlocked (the plain address opens the lesson)."""
    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    return f"?dataset={DEFAULT_DATASET}&layers={DEFAULT_LAYERS}{query}"


def wait_text(locator, pattern: str, timeout_s: float = 30) -> str:
    """Wait until the first element of ``locator`` has text matching ``pattern`` (re.search);
    return that text, or fail with the last text seen."""
    import re

    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        try:
            text = locator.first.inner_text(timeout=500)
        except Exception:  # noqa: BLE001 - not rendered yet
            text = ""
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared; last text: {text!r}")


def build_site(site_dir: Path | None = None) -> Path:
    """Return a built site directory.

    ``$CNN_PLAYGROUND_SITE`` (an already built site, used as is), else the repo's
    ``site/`` — rebuilt with ``python3 build.py build`` unless it is current
    (``sitebuild.assemble.site_is_current()``), so ``python3 build.py test`` builds once.
    """
    import subprocess

    env_site = os.environ.get(SITE_ENV)
    if env_site:
        path = Path(env_site).resolve()
        if not (path / "index.html").is_file():
            raise FileNotFoundError(f"${SITE_ENV}={env_site} has no index.html: not a built site")
        return path
    path = site_dir or REPO_ROOT / "site"
    if not ((path / "index.html").is_file() and site_is_current()):
        cmd = [sys.executable, str(REPO_ROOT / "build.py"), "build"]
        print(f"e2e: building the site: {' '.join(cmd)}", flush=True)
        proc = subprocess.run(cmd, cwd=REPO_ROOT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
    if not (path / "index.html").is_file():
        raise FileNotFoundError(f"no built site: {path}/index.html is missing after the build")
    return path


# --------------------------------------------------------------------------- accessibility, layout

#: The axe-core release the tests audit with: runtime.lock.json "test-artefacts" (pinned in
#: pyproject.toml, fetched with npm by sitebuild.fetch and checked by sha256 like every
#: artefact; never in site/).
AXE_PACKAGE = "npm:axe-core@"
#: What the tests hold the page to: no violation of these impacts (axe's own scale:
#: minor < moderate < serious < critical).
BLOCKING_IMPACTS = ("critical", "serious")


_axe_js: str | None = None


def axe_source() -> str:
    """axe.min.js of the pinned axe-core package."""
    global _axe_js
    if _axe_js is None:
        import tarfile

        with tarfile.open(pinned_test_artefact(AXE_PACKAGE)) as tar:
            member = tar.extractfile("package/axe.min.js")
            assert member is not None, "axe-core's package has no axe.min.js"
            _axe_js = member.read().decode("utf-8")
    return _axe_js


def run_axe(page, context: str | None = None) -> dict:
    """Audit the live page with axe-core, as an outside auditor would; return axe's results.

    axe's source is injected as a script (no network). The audit covers the whole document
    including Panel's open shadow roots (axe descends into open shadow trees by itself; a
    node inside one is reported with a list of selectors, host first). ``context``: a CSS
    selector to audit only part of the page (axe's own syntax, e.g. ``".cp-summary"``).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    return page.evaluate(
        """async (context) => {
          const r = await axe.run(context ?? document, { resultTypes: ["violations"] });
          return { violations: r.violations, passes: r.passes.length,
                   version: axe.version, url: r.url };
        }""",
        context,
    )


def axe_counts(results: dict) -> dict[str, int]:
    """Violating nodes per impact, e.g. ``{"critical": 4, "serious": 5}`` (all impacts shown)."""
    counts = dict.fromkeys(("critical", "serious", "moderate", "minor"), 0)
    for v in results["violations"]:
        counts[v["impact"] or "minor"] += len(v["nodes"])
    return counts


def describe_axe_violations(results: dict, impacts=BLOCKING_IMPACTS) -> str:
    """One line per violating node: impact, rule, where (selectors, host first), axe's summary."""
    lines = []
    for v in results["violations"]:
        if v["impact"] not in impacts:
            continue
        for node in v["nodes"]:
            where = " >> ".join(" / ".join(t) if isinstance(t, list) else t for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{v['impact']} {v['id']}: {where}: {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page, context: str | None = None, impacts=BLOCKING_IMPACTS) -> dict:
    """Fail with axe's findings if any violation of ``impacts`` is on the page; return results."""
    results = run_axe(page, context)
    found = describe_axe_violations(results, impacts)
    assert not found, f"axe-core {results['version']} found:\n{found}"
    return results


# Every element of the document, descending into open shadow roots (Panel renders in them).
_ALL_ELEMENTS_JS = """
function* cpAllElements(root) {
  for (const el of root.querySelectorAll("*")) {
    yield el;
    if (el.shadowRoot) yield* cpAllElements(el.shadowRoot);
  }
}
function cpParent(el) {
  return el.parentElement || (el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : null);
}
function cpDescribe(el) {
  let marker = "";
  for (let p = el; p && !marker; p = cpParent(p)) {
    const cls = [...(p.classList || [])].filter((c) => c.startsWith("cp-"));
    if (cls.length) marker = "." + cls.join(".");
  }
  const name = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
  const own = el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
    ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  return `${marker || "(no cp- marker)"} ${own} ${JSON.stringify(name.slice(0, 40))}`;
}
"""


def horizontal_overflow(page) -> dict:
    """How wide the page is against its window, and (if wider) where that starts.

    ``{"scroll_width", "client_width", "inner_width", "culprits": [...]}``: a culprit is an
    element whose right edge passes the window's right edge while its parent's does not
    (shadow roots included); listed only when the page is wider than the window.
    """
    return page.evaluate(
        "() => {"
        + _ALL_ELEMENTS_JS
        + """
          const doc = document.documentElement, limit = doc.clientWidth + 1;
          const culprits = [];
          for (const el of doc.scrollWidth > doc.clientWidth ? cpAllElements(document) : []) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.right <= limit) continue;
            const parent = cpParent(el);
            if (parent && parent !== doc && parent.getBoundingClientRect().right > limit) continue;
            culprits.push(`${cpDescribe(el)} right edge at ${Math.round(r.right)} px`);
          }
          return { scroll_width: doc.scrollWidth, client_width: doc.clientWidth,
                   inner_width: window.innerWidth, culprits: culprits.slice(0, 12) };
        }"""
    )


def assert_no_horizontal_scroll(page) -> None:
    """The page is no wider than its window: no horizontal scrollbar (wide content scrolls
    inside its own box). Names where the overflow starts if it fails."""
    found = horizontal_overflow(page)
    assert found["scroll_width"] <= found["client_width"], (
        f"the page is {found['scroll_width']} px wide in a {found['client_width']} px window "
        "(horizontal scrolling); it starts at:\n" + "\n".join(found["culprits"])
    )


#: What counts as a touch target: every visible control a finger can press.
TOUCH_TARGETS = (
    "button, select, input:not([type=hidden]), textarea, a[href], [role=button], summary"
)


def small_touch_targets(page, min_px: float = 40, cell_px: float = 24) -> list[str]:
    """Visible controls smaller than ``min_px`` in width or height (shadow roots included),
    each described by its nearest ``cp-`` marker, tag and text.

    A control that is a cell of a data table (inside a ``<td>``: a confusion matrix of ten
    classes has to fit a phone) needs only ``cell_px``, WCAG 2.5.8's minimum target size.
    """
    return page.evaluate(
        "([minPx, cellPx]) => {"
        + _ALL_ELEMENTS_JS
        + """
          const out = [];
          for (const el of cpAllElements(document)) {
            if (!el.matches(SELECTOR)) continue;
            if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            const least = el.closest("td") ? cellPx : minPx;
            if (r.width < least - 0.5 || r.height < least - 0.5)
              out.push(`${cpDescribe(el)} is ${Math.round(r.width)}×${Math.round(r.height)} px`);
          }
          return out;
        }""".replace("SELECTOR", json.dumps(TOUCH_TARGETS)),
        [min_px, cell_px],
    )
