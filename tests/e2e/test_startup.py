"""Start-up from the build's memory snapshot (sitebuild/snapshot.py, site-src/snapshot.js).

The page starts from it by default; `?snapshot=0` starts Python the normal way; a snapshot
that cannot be used (here: a damaged file) falls back to the normal start, and the page
still comes up. Every load runs under the e2e guard (no request leaves localhost, no page
errors), so Panel's stylesheet URLs, made at build time, must name this site.
"""

from __future__ import annotations

import e2e_support as sup
import pytest

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


def test_the_page_starts_from_the_snapshot_and_its_python_works(open_app):
    page = open_app()
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


def test_a_damaged_snapshot_falls_back_to_the_normal_start(
    open_app, start_server, site_dir, tmp_path
):
    copy = sup.copy_site(site_dir, tmp_path / "site")
    damaged = copy / "pyodide" / "snapshot.bin.gz"
    half = damaged.read_bytes()[: damaged.stat().st_size // 2]
    damaged.unlink()  # a hard link to the original: replace it, never write into it
    damaged.write_bytes(half)
    server = start_server(copy)
    page = open_app(base=server.url)
    assert _started(page) == "full"  # and live: open_app waited for .cp-ready
