"""The LMS package: the built site as one SCORM 1.2 content package (a zip).

A SCORM 1.2 package is a zip with ``imsmanifest.xml`` at its root (IMS Content Packaging
1.1.2 with ADL's extensions): one organization with one item, launched through one
resource of ``adlcp:scormtype="sco"`` whose ``href`` is the page, and every file of the
package listed under that resource. The schema files the manifest names in
``xsi:schemaLocation`` lie beside it at the root, as SCORM 1.2's Content Aggregation Model
asks; they come from a pinned npm package (``scorm-schemas`` in pyproject.toml), each
file checked against its sha256 in runtime.lock.json.

The zip is deterministic: files in sorted order, one fixed timestamp, fixed permissions
and compression, so the same site gives the same bytes. The gzip twins of the site
(``x.js.gz`` beside ``x.js``, for our own server's ``Content-Encoding``) are left out: an LMS serves the
plain files. docs/LMS.md describes what the page reports to the LMS.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from sitebuild.config import ROOT, load_runtime_lock, runtime_config
from sitebuild.fetch import fetch, verified_member
from sitebuild.page import EXTERNAL_URL, HARMLESS_URL
from sitebuild.report import StepError, detail, log

__all__ = [
    "DEFAULT_OUT",
    "LAUNCH",
    "SCHEMAS",
    "check_package",
    "manifest_xml",
    "package_files",
    "schema_files",
    "write_package",
]

DEFAULT_OUT = ROOT / "dist" / "cnn-playground-scorm12.zip"
LAUNCH = "index.html"
TITLE = "CNN Playground: build and train a convolutional network"
IDENTIFIER = "cnn-playground"

IMSCP = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
IMSMD = "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# namespace -> the schema file the manifest points at (ims_xml.xsd is imported by two of them)
SCHEMAS = {
    IMSCP: "imscp_rootv1p1p2.xsd",
    IMSMD: "imsmd_rootv1p2p1.xsd",
    ADLCP: "adlcp_rootv1p2.xsd",
}
SCHEMA_FILES = (*SCHEMAS.values(), "ims_xml.xsd")

# A fixed date for every entry (the earliest a zip can hold): same site, same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Already compressed: deflating them again costs time and gains nothing.
STORED_SUFFIXES = (".gz", ".npz", ".zip", ".png", ".ico", ".woff", ".woff2")


def _is_twin(path: Path) -> bool:
    """A gzip twin: ``x.js.gz`` beside ``x.js`` (``site-packages.tar.gz`` alone is a file)."""
    return path.suffix == ".gz" and path.with_suffix("").is_file()


def package_files(site: Path) -> list[str]:
    """The site's files that go into the package, as sorted relative POSIX paths."""
    files = sorted(
        p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and not _is_twin(p)
    )
    if LAUNCH not in files:
        raise StepError(
            "scorm", f"{site} has no {LAUNCH}", "build the site first: python3 build.py build"
        )
    clash = sorted(set(files) & {"imsmanifest.xml", *SCHEMA_FILES})
    if clash:
        raise StepError(
            "scorm",
            f"the site already has {', '.join(clash)}, which the package adds at its root",
            "rename that file in site-src/",
        )
    return files


def manifest_xml(files: list[str]) -> str:
    """imsmanifest.xml for a package of ``files`` (paths relative to the package root)."""
    locations = " ".join(f"{ns} {name}" for ns, name in SCHEMAS.items())
    listed = "".join(f"      <file href={quoteattr(f)}/>\n" for f in files)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="{IDENTIFIER}" version="1.0"\n'
        f'          xmlns="{IMSCP}"\n'
        f'          xmlns:adlcp="{ADLCP}"\n'
        f'          xmlns:xsi="{XSI}"\n'
        f'          xsi:schemaLocation="{locations}">\n'
        "  <metadata>\n"
        "    <schema>ADL SCORM</schema>\n"
        "    <schemaversion>1.2</schemaversion>\n"
        "  </metadata>\n"
        f'  <organizations default="{IDENTIFIER}-org">\n'
        f'    <organization identifier="{IDENTIFIER}-org">\n'
        f"      <title>{TITLE}</title>\n"
        f'      <item identifier="{IDENTIFIER}-item" identifierref="{IDENTIFIER}-sco"'
        ' isvisible="true">\n'
        f"        <title>{TITLE}</title>\n"
        "      </item>\n"
        "    </organization>\n"
        "  </organizations>\n"
        "  <resources>\n"
        f'    <resource identifier="{IDENTIFIER}-sco" type="webcontent"'
        f' adlcp:scormtype="sco" href="{LAUNCH}">\n'
        f"{listed}"
        "    </resource>\n"
        "  </resources>\n"
        "</manifest>\n"
    )


def schema_files() -> dict[str, bytes]:
    """The SCORM 1.2 schema files, from the pinned npm package, each checked by sha256."""
    cfg = runtime_config()
    pinned = load_runtime_lock().get("scorm-schemas")
    if not pinned or pinned["artefact"]["source"] != cfg["scorm-schemas"]:
        raise StepError(
            "scorm",
            f"runtime.lock.json does not pin {cfg['scorm-schemas']} (scorm-schemas)",
            "run `python3 build.py lock` and commit runtime.lock.json",
        )
    archive = fetch(pinned["artefact"])
    by_name = {f["filename"]: f for f in pinned["files"]}
    missing = [name for name in SCHEMA_FILES if name not in by_name]
    if missing:
        raise StepError(
            "scorm",
            f"runtime.lock.json pins no {', '.join(missing)} under scorm-schemas",
            "run `python3 build.py lock` and commit runtime.lock.json",
        )
    archives = {archive.name: archive}
    return {name: verified_member(by_name[name], archives) for name in SCHEMA_FILES}


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, so the permissions above mean the same everywhere
    stored = name.endswith(STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    return info


def write_package(site: Path, out: Path, schemas: dict[str, bytes]) -> dict:
    """Write the package of ``site`` to ``out``; return what is in it (for the log)."""
    files = package_files(site)
    manifest = manifest_xml(files).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compresslevel=9) as zf:
        zf.writestr(_entry("imsmanifest.xml"), manifest)
        for name in sorted(schemas):
            zf.writestr(_entry(name), schemas[name])
        for name in files:
            zf.writestr(_entry(name), (site / name).read_bytes())
    tmp.replace(out)
    problems = check_package(out)
    if problems:
        raise StepError(
            "scorm", "the package is not self-contained:\n  " + "\n  ".join(problems[:20])
        )
    return {"files": len(files), "bytes": out.stat().st_size}


def build_package(site: Path, out: Path = DEFAULT_OUT) -> Path:
    """`python3 build.py scorm`: the SCORM 1.2 package of the built ``site``."""
    log(f"Packaging {site.name}/ as a SCORM 1.2 package")
    schemas = schema_files()
    detail(f"{len(schemas)} schema files verified by sha256")
    info = write_package(site, out, schemas)
    log(
        f"Wrote {out} ({info['bytes'] / 1e6:.1f} MB, {info['files']} files + manifest and "
        "schemas): upload it to the LMS as a SCORM 1.2 package (docs/LMS.md)"
    )
    return out


# --------------------------------------------------------------------------- the check

# An address that leaves the package: a scheme (http:, https:, //host) or a parent folder.
_OUTSIDE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|/)")


def _local(href: str, names: set[str]) -> str | None:
    """Why ``href`` (relative to the package root) is not a file of the package, or None."""
    if _OUTSIDE.match(href):
        return "points outside the package"
    path = posixpath.normpath(href.split("#", 1)[0].split("?", 1)[0])
    if path.startswith("../"):
        return "points outside the package"
    if path not in names:
        return "is not in the package"
    return None


def check_package(path: Path) -> list[str]:
    """What makes the package at ``path`` not self-contained (empty: nothing).

    The manifest must parse; its launch page, every listed file and every schema location
    must be files of the zip; every file of the zip must be listed (or be the manifest or a
    schema); and no page or script of the site may name another origin (the build's own
    check, run again on what the zip holds).
    """
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        try:
            root = ET.fromstring(zf.read("imsmanifest.xml"))
        except (KeyError, ET.ParseError) as exc:
            return [f"imsmanifest.xml: {exc}"]
        cp = f"{{{IMSCP}}}"
        sco = [
            r
            for r in root.iter(cp + "resource")
            if r.get(f"{{{ADLCP}}}scormtype") == "sco" and r.get("href")
        ]
        if len(sco) != 1:
            problems.append(f"imsmanifest.xml: {len(sco)} SCO resources with a launch page")
        listed = {f.get("href", "") for f in root.iter(cp + "file")}
        for href in sorted(listed | {r.get("href") for r in sco}):
            why = _local(href, names)
            if why:
                problems.append(f"imsmanifest.xml: {href} {why}")
        pairs = (root.get(f"{{{XSI}}}schemaLocation") or "").split()
        for location in pairs[1::2]:
            why = _local(location, names)
            if why:
                problems.append(f"imsmanifest.xml: schema {location} {why}")
        unlisted = names - listed - {"imsmanifest.xml", *SCHEMA_FILES}
        problems += [f"{name}: in the zip but not in the manifest" for name in sorted(unlisted)]
        for name in sorted(n for n in names & listed if n.endswith((".html", ".js"))):
            if "/" in name:
                continue  # the site's own pages and scripts are at its root (page.py checks the same)
            text = zf.read(name).decode("utf-8", "replace")
            problems += [
                f"{name}: names another origin: {url}"
                for url in EXTERNAL_URL.findall(text)
                if not HARMLESS_URL.search(url)
            ]
    return problems
