"""The Python packages the browser runs, as wheels: Pyodide's compiled ones (checked against
its official lock), pure ones from PyPI (stripped and patched), and the project's own."""

from __future__ import annotations

import posixpath
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from sitebuild.config import ROOT, runtime_config, sha256_bytes
from sitebuild.fetch import verified_member
from sitebuild.patch import patches_for
from sitebuild.report import StepError, detail, log
from sitebuild.wheel import keep_all, rewrite_wheel


def _panel_drop(name: str) -> bool:
    # Panel's JS/CSS is served from site/static/, not from inside the wheel (its dist/ is
    # ~100 MB unpacked); the Python side only reads dist/css in "inline" resource mode.
    if name.startswith("panel/dist/") and not name.startswith("panel/dist/css/"):
        return True
    return name.startswith(("panel/tests/", "panel/examples/")) or name.endswith(".map")


def _bokeh_drop(name: str) -> bool:
    return name.startswith(("bokeh/server/static/", "bokeh/sphinxext/", "bokeh/sampledata/"))


# What each of these wheels does not ship to the browser.
STRIPPED = {"panel": _panel_drop, "bokeh": _bokeh_drop}


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
        patches = patches_for(name)
        if name in STRIPPED or patches:
            whl = rewrite_wheel(src, out, drop=STRIPPED.get(name, keep_all), patches=patches)
            note = f"stripped; patched: {', '.join(p.name for p in patches) or 'nothing'}"
        elif not src.name.endswith("-none-any.whl"):
            # PyYAML/MarkupSafe: pure-Python fallbacks exist; drop the native extension.
            whl = rewrite_wheel(src, out, drop=_drop_compiled, retag="py3-none-any")
            note = "native extension dropped, retagged py3-none-any"
        else:
            whl = out / src.name
            shutil.copyfile(src, whl)
            note = ""
        entries[name] = wheel_entry(whl)
        detail(f"{whl.name} ({whl.stat().st_size / 1e6:.2f} MB) {note}")
    return entries


def wheel_entry(whl: Path) -> dict:
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
