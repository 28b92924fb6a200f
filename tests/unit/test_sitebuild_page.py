"""The page and the worker (sitebuild.page), made from what the pinned Panel's converter
really writes for a small app."""

import json
import os
import re
import subprocess
import sys

import pytest

from sitebuild.config import SITE_SRC
from sitebuild.page import (
    APPLY_PATCH_JS,
    BOKEH_CDN,
    PANEL_CDN,
    check_no_external_urls,
    fill_template,
    make_page,
    make_worker,
)
from sitebuild.report import StepError

APP = "import panel as pn\npn.pane.Markdown('the app code').servable()\n"

# What `panel convert APP --to pyodide-worker --skip-embed` writes, from Panel's own converter.
CONVERT = """
import json, sys
from panel.io.convert import script_to_html
html, worker = script_to_html(
    sys.argv[1], requirements=["numpy"], runtime="pyodide-worker", prerender=False
)
print(json.dumps([html, worker]))
"""


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    app = tmp_path_factory.mktemp("convert") / "app.py"
    app.write_text(APP)
    res = subprocess.run(
        [sys.executable, "-c", CONVERT, str(app)],
        capture_output=True,
        text=True,
        env=dict(os.environ, BOKEH_RESOURCES="cdn"),
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    html, worker = json.loads(res.stdout.splitlines()[-1])
    return html, worker


CONFIG = {"pyodide": "0.27.7", "packages": ["numpy"], "sizes": {}}


def test_the_worker_keeps_the_app_and_panels_handlers_and_loads_nothing_from_a_cdn(converted):
    _, panel_js = converted
    worker = make_worker(panel_js, CONFIG)
    assert worker.startswith((SITE_SRC / "worker.js").read_text().split("/*@")[0])
    assert "const CP = " + json.dumps(CONFIG, indent=1) + ";" in worker
    assert "the app code" in worker
    assert "msg.type === 'rendered'" in worker and "msg.type === 'location'" in worker
    # Panel's loader (CDN Pyodide, micropip) is gone; patches go through cpApplyPatch.
    assert 'importScripts("https://' in panel_js
    assert 'importScripts("https://' not in worker
    assert "micropip" not in worker and "cdn.jsdelivr" not in worker
    ours = (SITE_SRC / "worker.js").read_text()
    assert worker.count("startApplication()") == ours.count("startApplication()")  # not Panel's
    assert worker.count("cpApplyPatch(msg.patch)") == 1
    assert worker.count(APPLY_PATCH_JS.read_text()) == 1
    assert "self.pyodide.globals.set('patch'" not in worker
    assert not re.search(r"/\*@\w+@\*/", worker)  # every marker filled


def test_a_changed_panel_worker_is_refused_naming_what_to_update(converted):
    _, panel_js = converted
    changed = panel_js.replace("self.pyodide.globals.set('patch', msg.patch)", "applyPatch(msg)")
    with pytest.raises(StepError, match="patch handler") as err:
        make_worker(changed, CONFIG)
    assert "PANEL_PATCH_HANDLER" in err.value.fix
    with pytest.raises(StepError, match="unexpected layout"):
        make_worker(panel_js.replace("self.onmessage = ", "onmessage = "), CONFIG)


def test_the_page_starts_our_loader_first_and_takes_over_its_worker(converted):
    html, _ = converted
    page = make_page(html, {"panel": "1.7.5"})
    head = page[: page.index("</head>")]
    charset = head.index('<meta charset="utf-8">')
    loader = head.index('<script src="loader.js"></script>')
    assert charset < loader == head.index("<script")  # the page's first script
    assert '<link rel="icon" href="static/panel/1.7.5/dist/images/favicon.ico">' in head
    assert '<script src="scorm.js" defer></script>' in head  # the LMS session (docs/LMS.md)
    assert 'new Worker("./app.js")' not in page
    assert "const pyodideWorker = cpLoader.worker();" in page
    body = re.search(r"<body[^>]*>\n", page)
    assert page[body.end() :].startswith((SITE_SRC / "loader.html").read_text())


def test_a_page_without_charset_is_refused(converted):
    html, _ = converted
    with pytest.raises(StepError, match="no <meta charset>"):
        make_page(html.replace('<meta charset="utf-8">', ""), {"panel": "1.7.5"})


def test_once_the_cdns_are_mapped_to_static_files_nothing_external_is_left(converted, tmp_path):
    html, panel_js = converted
    (tmp_path / "app.js").write_text(make_worker(panel_js, CONFIG))
    (tmp_path / "index.html").write_text(make_page(html, {"panel": "1.7.5"}))
    with pytest.raises(StepError) as err:  # Panel's page names its CDNs
        check_no_external_urls(tmp_path)
    assert "index.html: https://cdn." in str(err.value)
    local = make_page(html, {"panel": "1.7.5"})
    local = local.replace(BOKEH_CDN, "static/bokeh/").replace(PANEL_CDN, "static/panel/")
    (tmp_path / "index.html").write_text(local)
    check_no_external_urls(tmp_path)
    (tmp_path / "extra.js").write_text('fetch("https://fonts.googleapis.com/css")')
    with pytest.raises(StepError, match="extra.js: https://fonts.googleapis.com/css"):
        check_no_external_urls(tmp_path)


def test_a_template_marker_must_exist():
    assert fill_template("a /*@X@*/ b", {"X": "1"}) == "a 1 b"
    with pytest.raises(StepError, match=r"/\*@Y@\*/ missing"):
        fill_template("a /*@X@*/ b", {"Y": "1"})
