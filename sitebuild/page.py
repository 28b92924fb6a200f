"""The page and the worker: `panel convert`'s output made self-hosted, with our loader."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from sitebuild.config import ROOT, SITE_SRC, runtime_config
from sitebuild.report import StepError, detail, log
from sitebuild.venv import venv_bin


def convert_app(work: Path) -> tuple[str, str]:
    """Run `panel convert --to pyodide-worker` on playground/app.py; return (html, worker js)."""
    app = ROOT / "playground" / "app.py"
    if not app.exists():
        raise StepError(
            "convert",
            "playground/app.py does not exist",
            "restore it from git",
        )
    out = work / "convert"
    shutil.rmtree(out, ignore_errors=True)
    log("Converting playground/app.py with `panel convert --to pyodide-worker`")
    env = dict(os.environ, BOKEH_RESOURCES="cdn")
    # --skip-embed: no static pre-render of the page under the loading card. BokehJS drew it
    # on the main thread while Python started, and on two cores that slowed the worker down:
    # 0.5 s of every load (warm 3.72 -> 3.22 s, cold 5.73 -> 5.20 s, side by side, 7 each).
    cmd = [
        str(venv_bin("panel")),
        "convert",
        str(app),
        "--to",
        "pyodide-worker",
        "--out",
        str(out),
        "--title",
        "CNN Playground",
        "--requirements",
        "numpy",
        "--skip-embed",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT), check=False)
    html_path, js_path = out / "app.html", out / "app.js"
    if res.returncode != 0 or not html_path.exists() or not js_path.exists():
        raise StepError(
            "convert",
            f"panel convert failed:\n{(res.stderr + res.stdout)[-3000:]}",
            "run `python3 build.py dev` to see the app's error under panel serve",
        )
    return html_path.read_text(), js_path.read_text()


BOKEH_CDN = "https://cdn.bokeh.org/bokeh/release/"
PANEL_CDN = "https://cdn.holoviz.org/panel/"


def copy_static(html: str, archives: dict[str, Path], lock: dict, site: Path) -> str:
    """Copy the Bokeh/Panel JS+CSS the page uses into site/static/; return rewritten html."""
    cfg = runtime_config()
    panel_whl = archives[
        next(
            a["filename"] for a in lock["artefacts"] if a["source"] == f"pypi:panel=={cfg['panel']}"
        )
    ]
    bokeh_whl = archives[
        next(
            a["filename"] for a in lock["artefacts"] if a["source"] == f"pypi:bokeh=={cfg['bokeh']}"
        )
    ]
    panel_dist = f"{PANEL_CDN}{cfg['panel']}/dist/"
    copied = 0
    with zipfile.ZipFile(panel_whl) as pz, zipfile.ZipFile(bokeh_whl) as bz:
        panel_names = set(pz.namelist())

        def panel_file(rel: str) -> None:
            nonlocal copied
            member = "panel/dist/" + rel
            if member not in panel_names:
                raise StepError(
                    "static",
                    f"the page needs {panel_dist}{rel}, not in the panel wheel",
                    "check the Panel version pin",
                )
            target = site / "static/panel" / cfg["panel"] / "dist" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(pz.read(member))
            copied += 1

        # Everything under dist/css and the theme bundle (small; used at run time by widgets
        # the app may create later), plus every dist file the page references.
        for name in panel_names:
            if name.startswith(
                (
                    "panel/dist/css/",
                    "panel/dist/bundled/theme/",
                    "panel/dist/assets/",
                    "panel/dist/images/favicon",
                )
            ) and not name.endswith("/"):
                panel_file(name[len("panel/dist/") :])
        for url in sorted(set(re.findall(re.escape(panel_dist) + r"[^\"'\s)?]+", html))):
            panel_file(url[len(panel_dist) :])
        panel_file("panel.min.js")
        for url in sorted(set(re.findall(re.escape(BOKEH_CDN) + r"[^\"'\s)?]+", html))):
            fname = url[len(BOKEH_CDN) :]
            m = re.fullmatch(
                r"(bokeh(?:-[a-z]+)?)-" + re.escape(cfg["bokeh"]) + r"\.min\.js", fname
            )
            if not m:
                raise StepError("static", f"unexpected Bokeh resource {url}", "extend copy_static")
            target = site / "static/bokeh" / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bz.read(f"bokeh/server/static/js/{m.group(1)}.min.js"))
            copied += 1
    html = html.replace(BOKEH_CDN, "static/bokeh/").replace(PANEL_CDN, "static/panel/")
    detail(f"{copied} Panel/Bokeh static files")
    return html


def fill_template(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        marker = f"/*@{key}@*/"
        if marker not in template:
            raise StepError(
                "template",
                f"marker {marker} missing from a site-src template",
                "restore site-src/ from git",
            )
        template = template.replace(marker, value)
    return template


# Panel 1.7.5's worker parks each patch from the page in a Python global and applies it in
# `runPythonAsync`, which awaits before running: a second patch arriving meanwhile overwrote the
# first, so under load a learner's click or edit was silently lost. We apply every patch at once,
# synchronously and in arrival order, through one Python function.
PANEL_PATCH_HANDLER = re.compile(
    r"self\.pyodide\.globals\.set\('patch', msg\.patch\)\s*self\.pyodide\.runPythonAsync\(`[^`]*"
    r"apply_json_patch\(_convert_json_patch\(patch\), setter='js'\)\s*`\)",
    re.DOTALL,
)
# Defines cpApplyPatch(patch), which replaces that handler.
APPLY_PATCH_JS = Path(__file__).with_name("apply_patch.js")


def make_worker(panel_js: str, config: dict) -> str:
    """Our worker: panel's app code and message handlers, our local, parallel loader."""
    m = re.search(r"const code = `(.*?)`\n", panel_js, re.DOTALL)
    tail_at = panel_js.find("self.onmessage = ")
    if not m or tail_at < 0 or "startApplication()" not in panel_js[tail_at:]:
        raise StepError(
            "worker",
            "the worker from `panel convert` has an unexpected layout",
            "Panel changed its pyodide-worker template; update make_worker()",
        )
    handlers = panel_js[tail_at:].replace("startApplication()", "").rstrip() + "\n"
    handlers, found = PANEL_PATCH_HANDLER.subn("cpApplyPatch(msg.patch)", handlers)
    if found != 1:
        raise StepError(
            "worker",
            "the patch handler from `panel convert` has an unexpected layout",
            "Panel changed its pyodide-worker template; update PANEL_PATCH_HANDLER",
        )
    handlers = "\n" + APPLY_PATCH_JS.read_text() + handlers
    template = (SITE_SRC / "worker.js").read_text()
    return fill_template(
        template,
        {
            "CP_CONFIG": json.dumps(config, indent=1),
            "CP_APP_CODE": "`" + m.group(1) + "`",
            "CP_PANEL_HANDLERS": handlers,
            "CP_LAZY_IMPORTS_PY": json.dumps((SITE_SRC / "lazy_imports.py").read_text()),
        },
    )


#: What the page's unpack.js workers need of an archive's (or the snapshot's) entry.
UNPACK_FIELDS = ("file", "size", "unpackedBytes", "sha256", "tarSha256")


def make_loader(config: dict) -> str:
    """loader.js with what it starts at once: the files it counts, the unpack.js jobs."""
    jobs = {
        key: config[key] and {f: config[key][f] for f in UNPACK_FIELDS}
        for key in ("image", "laterImage", "snapshot")
    }
    start = {"sizes": config["sizes"], **jobs}
    return fill_template(
        (SITE_SRC / "loader.js").read_text(), {"CP_START": json.dumps(start, indent=1)}
    )


def make_page(html: str, info: dict) -> str:
    """Panel's page, rewritten: local resources, our loader, our worker."""
    worker_line = 'const pyodideWorker = new Worker("./app.js");'
    if worker_line not in html or "<body" not in html or "</head>" not in html:
        raise StepError(
            "page",
            "the page from `panel convert` has an unexpected layout",
            "Panel changed its template; update make_page()",
        )
    # loader.js starts the worker before BokehJS loads, so Python boots meanwhile.
    html = html.replace(worker_line, "const pyodideWorker = cpLoader.worker();")
    head = (
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="static/panel/{panel}/dist/images/favicon.ico">\n'
        '<link rel="stylesheet" href="loader.css">\n'
        '<script src="loader.js"></script>\n'
        # Reporting to an LMS (SCORM 1.2) when the page runs inside one (docs/LMS.md); deferred:
        # nothing needs it before the page is parsed, and the parser need not wait for it.
        '<script src="scorm.js" defer></script>\n'
    ).format(panel=info["panel"])
    charset = '<meta charset="utf-8">'
    if charset not in html:
        raise StepError(
            "page",
            "the page from `panel convert` has no <meta charset>",
            "Panel changed its template; update make_page()",
        )
    html = html.replace(charset, charset + "\n" + head, 1)
    body_open = re.search(r"<body[^>]*>", html)
    overlay = (SITE_SRC / "loader.html").read_text()
    html = html[: body_open.end()] + "\n" + overlay + html[body_open.end() :]
    return html


EXTERNAL_URL = re.compile(r"""(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^\s"'`<>)]*""")
# URLs that appear in our output but are never fetched (XML namespaces, docs links).
HARMLESS_URL = re.compile(
    r"//www\.w3\.org/|//[a-z.-]+\.example/|//(github\.com|panel\.holoviz\.org|docs\.bokeh\.org)/"
)


def check_no_external_urls(site: Path) -> None:
    """Fail the build if a page or worker we wrote still points at another origin."""
    bad = []
    for path in [*site.glob("*.html"), *site.glob("*.js")]:
        for url in EXTERNAL_URL.findall(path.read_text()):
            if not HARMLESS_URL.search(url):
                bad.append(f"{path.name}: {url}")
    if bad:
        raise StepError(
            "self-hosting",
            "external URLs remain in the site:\n  " + "\n  ".join(bad[:20]),
            "map them to local files in sitebuild/page.py (copy_static / make_page)",
        )
