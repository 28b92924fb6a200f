// Run by sitebuild/snapshot.py under Node.js: the memory snapshot the worker starts from.
//
//   node snapshot.mjs make  PYODIDE_DIR JOB_JSON OUT_DIR   -> OUT_DIR/snapshot.bin, meta.json
//   node snapshot.mjs check PYODIDE_DIR JOB_JSON OUT_DIR   -> restores it, runs the app's imports
//
// PYODIDE_DIR is the site's own pyodide/ folder (the runtime and the package archives exactly
// as shipped). JOB_JSON: {sitePackages, lazyImports, lazyImportsPy, imports, snapshotJs,
// unpackJs}. The restore is site-src/snapshot.js and the archives are read by
// site-src/unpack.js's ustar reader: the same code the worker runs.
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";

const [mode, pyodideDir, jobPath, outDir] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(jobPath, "utf8"));
globalThis.self = globalThis;
vm.runInThisContext(fs.readFileSync(job.snapshotJs, "utf8"));
vm.runInThisContext(fs.readFileSync(job.unpackJs, "utf8")); // cpTarFiles
// Panel imports XMLHttpRequest from `js` (a web worker has one): the snapshot keeps the
// name, and the worker's own XMLHttpRequest takes its place on restore.
globalThis.XMLHttpRequest ??= class XMLHttpRequest {};
// Panel builds its CSS URLs from the worker's address at import (sitebuild/patches/
// panel-cdn-root.patch); here that address is a stand-in the worker replaces by its own in
// what it sends to the page (snapshot.js: SITE_STAND_IN).
globalThis.location = { href: self.cpSnapshot.SITE_STAND_IN + "app.js" };
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);

// Every package archive (the one the page needs first and the one it fetches once live):
// the snapshot imports the app with every package present, as a normal start does.
function installPackages(py) {
  for (const file of fs.readdirSync(pyodideDir).filter((f) => /^site-packages.*\.tar\.gz$/.test(f))) {
    installArchive(py, zlib.gunzipSync(fs.readFileSync(path.join(pyodideDir, file))));
  }
  py.runPython("import importlib; importlib.invalidate_caches()");
}

function installArchive(py, tar) {
  cpTarFiles(new Uint8Array(tar.buffer, tar.byteOffset, tar.length), (name, contents) => {
    const file = job.sitePackages + name;
    py.FS.mkdirTree(file.slice(0, file.lastIndexOf("/")));
    py.FS.writeFile(file, contents);
  });
}

const importApp = `
import gc, importlib
gc.disable()
for _m in ${JSON.stringify(job.imports)}:
    importlib.import_module(_m)
del _m
gc.enable()
gc.collect()
gc.freeze()  # what start-up created lives as long as the page: later collections skip it
`;

if (mode === "make") {
  const py = await loadPyodide({ indexURL: pyodideDir + "/", _makeSnapshot: true });
  installPackages(py);
  const tableStart = py._module.wasmTable.length;
  py.globals.set("_cp_lazy", py.toPy(job.lazyImports));
  py.runPython(fs.readFileSync(job.lazyImportsPy, "utf8"));
  py.runPython(importApp);
  const meta = self.cpSnapshot.describe(py, tableStart);
  const snapshot = py.makeMemorySnapshot({ serializer: self.cpSnapshot.serializer });
  fs.writeFileSync(path.join(outDir, "snapshot.bin"), snapshot);
  fs.writeFileSync(path.join(outDir, "meta.json"), JSON.stringify(meta));
} else if (mode === "check") {
  const meta = JSON.parse(fs.readFileSync(path.join(outDir, "meta.json"), "utf8"));
  const snapshot = new Uint8Array(fs.readFileSync(path.join(outDir, "snapshot.bin")));
  const py = await loadPyodide({ indexURL: pyodideDir + "/", _loadSnapshot: snapshot,
                                 _snapshotDeserializer: self.cpSnapshot.deserializer });
  installPackages(py);
  self.cpSnapshot.restore(py, meta);
  // Every module is there, numpy's compiled code runs, and Panel builds Bokeh models.
  console.log(py.runPython(`
import sys
import numpy as np
import panel as pn
missing = [m for m in ${JSON.stringify(job.imports)} if m not in sys.modules]
assert not missing, missing
assert float((np.arange(12.0).reshape(3, 4) @ np.ones((4, 2))).sum()) == 132.0
root = pn.Column(pn.pane.HTML("<b>x</b>"), pn.widgets.Button(name="b")).get_root()
f"{len(sys.modules)} modules, {type(root).__name__} {root.id}"
`));
} else {
  throw new Error(`unknown mode ${mode}`);
}
