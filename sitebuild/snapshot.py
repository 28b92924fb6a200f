"""A memory snapshot of Python with the app's modules imported (docs/SITE.md, step 8).

Made under Node.js from the site's own pyodide/ folder (the runtime and package archive
exactly as shipped), then restored once by a second Node.js process that checks the
modules, numpy's compiled code and Panel work (`sitebuild/snapshot.mjs`). It is not
byte-reproducible (addresses and times differ from run to run), so it is verified instead,
and cached by the hash of everything it is made from. Without Node.js there is no
snapshot and the worker starts Python the normal way.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from sitebuild.config import ROOT, SITE_SRC, cache_dir, sha256_file
from sitebuild.node import run_node
from sitebuild.report import detail, log

MAKER = Path(__file__).with_name("snapshot.mjs")
RESTORE_JS = SITE_SRC / "snapshot.js"
TAR_READER_JS = SITE_SRC / "unpack.js"  # cpTarFiles
LAZY_IMPORTS_PY = SITE_SRC / "lazy_imports.py"
FILE = "snapshot.bin.gz"
# The first lines of the app code `panel convert` writes (sitebuild/page.py keeps them).
CONVERT_IMPORTS = ["asyncio", "panel.io.pyodide"]


def app_imports(app: Path = ROOT / "playground" / "app.py") -> list[str]:
    """The modules playground/app.py imports at its top level, in order."""
    names = list(CONVERT_IMPORTS)
    for node in ast.parse(app.read_text()).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return list(dict.fromkeys(names))


def make_snapshot(pyodide_dir: Path, site_packages: str, lazy_imports: list[str]) -> dict | None:
    """Write pyodide/snapshot.bin.gz; return its entry for the worker's configuration."""
    node = shutil.which("node")
    if not node:
        detail("Node.js not found: no memory snapshot (Python starts the normal way, slower)")
        return None
    job = {
        "sitePackages": site_packages,
        "lazyImports": lazy_imports,
        "lazyImportsPy": str(LAZY_IMPORTS_PY),
        "imports": app_imports(),
        "snapshotJs": str(RESTORE_JS),
        "unpackJs": str(TAR_READER_JS),
    }
    digest = hashlib.sha256(
        json.dumps({**job, "lazyImportsPy": "", "snapshotJs": "", "unpackJs": ""}).encode()
    )
    for path in (MAKER, RESTORE_JS, TAR_READER_JS, LAZY_IMPORTS_PY):
        digest.update(path.read_bytes())
    for name in sorted(p.name for p in pyodide_dir.iterdir() if p.name != FILE):
        digest.update(name.encode() + sha256_file(pyodide_dir / name).encode())
    cached = cache_dir() / "snapshot" / digest.hexdigest()[:24]
    if not (cached / "meta.json").exists():
        _make(pyodide_dir, job, cached)
    else:
        detail("memory snapshot (cached)")
    meta = json.loads((cached / "meta.json").read_text())
    shutil.copyfile(cached / FILE, pyodide_dir / FILE)
    return {
        "file": FILE,
        "size": (pyodide_dir / FILE).stat().st_size,
        "sha256": sha256_file(pyodide_dir / FILE),
        "unpackedBytes": meta.pop("unpackedBytes"),
        "tarSha256": meta.pop("unpackedSha256"),
        **meta,
    }


def _make(pyodide_dir: Path, job: dict, cached: Path) -> None:
    log("Making the memory snapshot (Node.js + Pyodide: the app's imports, then a check)")
    with tempfile.TemporaryDirectory(prefix="cnn-playground-snapshot-") as tmp:
        work = Path(tmp)
        (work / "job.json").write_text(json.dumps(job))
        for mode in ("make", "check"):
            res = run_node(
                "snapshot",
                [MAKER, mode, pyodide_dir, work / "job.json", work],
                "see sitebuild/snapshot.py; the app's imports must work under Node.js",
            )
        detail(f"memory snapshot checked: {res.stdout.strip()[-200:]}")
        raw = (work / "snapshot.bin").read_bytes()
        meta = json.loads((work / "meta.json").read_text())
        meta["unpackedBytes"] = len(raw)
        meta["unpackedSha256"] = hashlib.sha256(raw).hexdigest()
        # Written beside the cache entry under a name of this build's own, then renamed into
        # place: two builds at once (serve and test) each finish their copy, and the second
        # rename finds the entry made and drops its copy.
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=cached.name + ".part-", dir=cached.parent))
        (part / FILE).write_bytes(gzip.compress(raw, compresslevel=6, mtime=0))
        (part / "meta.json").write_text(json.dumps(meta))
        if not (cached / "meta.json").exists():
            shutil.rmtree(cached, ignore_errors=True)  # an entry a stopped build left half made
        try:
            part.rename(cached)
        except OSError:
            shutil.rmtree(part, ignore_errors=True)
        detail(
            f"{FILE}: {len(raw) / 1e6:.1f} MB of memory, {(cached / FILE).stat().st_size / 1e6:.1f} MB gzip'd"
        )
