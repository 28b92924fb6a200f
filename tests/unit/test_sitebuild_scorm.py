"""sitebuild/scorm.py: the SCORM 1.2 package (manifest, schema files, zip, self-containment)."""

import os
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from sitebuild.report import StepError
from sitebuild.scorm import (
    ADLCP,
    IMSCP,
    LAUNCH,
    SCHEMA_FILES,
    SCHEMAS,
    check_package,
    manifest_xml,
    schema_files,
    write_package,
)

CP = f"{{{IMSCP}}}"
FAKE_SCHEMAS = {name: b"<xsd:schema/>" for name in SCHEMA_FILES}


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "pyodide").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "index.html").write_text('<script src="loader.js"></script><p>Playground</p>')
    (root / "loader.js").write_text("const worker = new Worker('./app.js');")
    (root / "index.html.gz").write_bytes(b"twin")
    (root / "pyodide" / "pyodide.asm.wasm").write_bytes(bytes(range(256)) * 4)
    (root / "pyodide" / "site-packages.tar.gz").write_bytes(b"\x1f\x8b not a twin")
    (root / "data" / "mnist.npz").write_bytes(b"PK\x03\x04 not really")
    (root / "a file & more.txt").write_text("odd name")
    return root


def read_manifest(path):
    with zipfile.ZipFile(path) as zf:
        return zf.namelist(), ET.fromstring(zf.read("imsmanifest.xml"))


def test_manifest_launches_the_page_and_lists_every_file_of_the_zip(site, tmp_path):
    out = tmp_path / "dist" / "package.zip"
    write_package(site, out, FAKE_SCHEMAS)
    names, root = read_manifest(out)

    assert names[0] == "imsmanifest.xml"  # at the root of the zip
    assert root.tag == CP + "manifest"
    assert root.findtext(f"{CP}metadata/{CP}schema") == "ADL SCORM"
    assert root.findtext(f"{CP}metadata/{CP}schemaversion") == "1.2"
    # Every schemaLocation pair is (namespace, a schema file at the package root).
    pairs = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation").split()
    assert dict(zip(pairs[::2], pairs[1::2], strict=True)) == SCHEMAS
    assert set(SCHEMA_FILES) <= set(names)

    organizations = root.find(CP + "organizations")
    (organization,) = organizations.findall(CP + "organization")
    assert organizations.get("default") == organization.get("identifier")
    (item,) = organization.findall(CP + "item")
    assert item.findtext(CP + "title")
    (resource,) = root.iter(CP + "resource")
    assert resource.get("identifier") == item.get("identifierref")
    assert resource.get(f"{{{ADLCP}}}scormtype") == "sco"
    assert resource.get("type") == "webcontent"
    assert resource.get("href") == LAUNCH and LAUNCH in names

    listed = [f.get("href") for f in resource.iter(CP + "file")]
    site_files = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and p.name != "index.html.gz"
    )
    assert listed == site_files  # the odd file name too, escaped in the XML
    assert "index.html.gz" not in names  # the gzip twins are our server's, not the LMS's
    assert "pyodide/site-packages.tar.gz" in names  # a file of its own, not a twin
    assert sorted(names) == sorted(["imsmanifest.xml", *SCHEMA_FILES, *site_files])
    assert check_package(out) == []


def test_the_zip_is_the_same_bytes_for_the_same_site(site, tmp_path):
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    write_package(site, first, FAKE_SCHEMAS)
    for path in site.rglob("*"):  # a rebuild writes the same files at another time
        os.utime(path, (1_900_000_000, 1_900_000_000))
    write_package(site, second, FAKE_SCHEMAS)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
        assert infos["data/mnist.npz"].compress_type == zipfile.ZIP_STORED
        assert infos["index.html"].compress_type == zipfile.ZIP_DEFLATED
        assert (
            zf.read("pyodide/pyodide.asm.wasm") == (site / "pyodide/pyodide.asm.wasm").read_bytes()
        )


def rewrite(path, out, change):
    """A copy of the package at ``path`` with ``change(files)`` applied to its contents."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    change(files)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def test_the_check_names_every_reference_that_leaves_the_package(site, tmp_path):
    good = tmp_path / "good.zip"
    write_package(site, good, FAKE_SCHEMAS)

    def external(files):
        manifest = files["imsmanifest.xml"].decode()
        files["imsmanifest.xml"] = manifest.replace(
            '<file href="loader.js"/>',
            '<file href="loader.js"/><file href="https://cdn.jsdelivr.net/x.js"/>'
            '<file href="../outside.js"/><file href="missing.js"/>',
        ).encode()
        files["loader.js"] = b"importScripts('https://cdn.jsdelivr.net/npm/pyodide/pyodide.js')"
        files["stray.txt"] = b"not listed"
        del files["adlcp_rootv1p2.xsd"]

    problems = check_package(rewrite(good, tmp_path / "bad.zip", external))
    text = "\n".join(problems)
    assert "https://cdn.jsdelivr.net/x.js points outside the package" in text
    assert "../outside.js points outside the package" in text
    assert "missing.js is not in the package" in text
    assert "loader.js: names another origin: https://cdn.jsdelivr.net/npm/pyodide" in text
    assert "stray.txt: in the zip but not in the manifest" in text
    assert "schema adlcp_rootv1p2.xsd is not in the package" in text
    assert len(problems) == 6


def test_a_broken_manifest_or_a_site_without_the_page_is_refused(site, tmp_path):
    good = tmp_path / "good.zip"
    write_package(site, good, FAKE_SCHEMAS)
    broken = rewrite(good, tmp_path / "broken.zip", lambda f: f.update({"imsmanifest.xml": b"<m"}))
    assert check_package(broken)[0].startswith("imsmanifest.xml:")
    (site / LAUNCH).unlink()
    with pytest.raises(StepError, match="has no index.html"):
        write_package(site, tmp_path / "none.zip", FAKE_SCHEMAS)


def test_the_manifest_escapes_file_names():
    text = manifest_xml([LAUNCH, 'a"b<c>&d.txt'])
    root = ET.fromstring(text)
    assert [f.get("href") for f in root.iter(CP + "file")] == [LAUNCH, 'a"b<c>&d.txt']


def test_the_schema_files_are_the_pinned_scorm_12_schemas():
    """The real files (npm, sha256-checked): each declares the namespace the manifest maps
    to it, and their imports name only each other, so the package needs nothing else."""
    files = schema_files()
    assert sorted(files) == sorted(SCHEMA_FILES)
    for namespace, name in SCHEMAS.items():
        assert ET.fromstring(files[name]).get("targetNamespace") == namespace
    for name, data in files.items():
        imported = re.findall(rb'schemaLocation="([^"]+)"', data)
        assert {i.decode() for i in imported} <= set(SCHEMA_FILES), name


def scorm_12_schema(folder):
    """The pinned SCORM 1.2 schemas as a validator, from their files written to ``folder``.

    Two adjustments, both to the 2001 schema files' form, not to what they allow:
    ``ims_xml.xsd`` binds the default namespace to the XML namespace, which the XML
    namespaces recommendation forbids, so a conforming parser refuses it; it only declares
    ``xml:lang``, which the W3C's own ``xml.xsd`` (shipped with xmlschema) declares the same
    way, so that file stands in for it. And the IMS metadata schema has content models that
    break XSD 1.0's Unique Particle Attribution rule, which XSD 1.1 relaxes; hence the 1.1
    validator (every construct these files use means the same in both versions).
    """
    for name, data in schema_files().items():
        (folder / name).write_bytes(data)
    w3c_xml = Path(xmlschema.__file__).parent / "schemas" / "XML" / "xml.xsd"
    (folder / "ims_xml.xsd").write_bytes(w3c_xml.read_bytes())
    cp, *others = SCHEMAS.items()
    return xmlschema.XMLSchema11(
        str(folder / cp[1]),
        locations=[(namespace, str(folder / name)) for namespace, name in others],
        allow="local",
    )


def test_the_manifest_is_valid_against_the_scorm_12_schemas(site, tmp_path):
    (tmp_path / "xsd").mkdir()
    schema = scorm_12_schema(tmp_path / "xsd")
    out = tmp_path / "package.zip"
    write_package(site, out, FAKE_SCHEMAS)
    with zipfile.ZipFile(out) as zf:
        manifest = zf.read("imsmanifest.xml").decode()

    assert [e.reason for e in schema.iter_errors(manifest)] == []
    # The validator bites: a launch type SCORM 1.2 does not know, a misspelt element.
    wrong = manifest.replace('adlcp:scormtype="sco"', 'adlcp:scormtype="lesson"')
    assert "scormtype" in str(next(schema.iter_errors(wrong)))
    wrong = manifest.replace("<schemaversion>", "<version>").replace(
        "</schemaversion>", "</version>"
    )
    assert not schema.is_valid(wrong)
