// Run a Python benchmark inside Pyodide under Node.js, with pycnn's source loaded into its FS.
//
// node benchmarks/pyodide_run.mjs PYODIDE_DIR REPO_DIR SCRIPT ARGS_JSON [KERNEL]
//
// PYODIDE_DIR: the npm package folder of pyodide@0.27.7 (pyodide.mjs, pyodide-lock.json, ...),
//              with the numpy wheel named in the lock file copied next to them.
// REPO_DIR:    the repository; its pycnn/ folder is copied to /home/pyodide/pycnn.
// SCRIPT:      a Python file defining inner(args: dict); it is imported as bench_inner.
// ARGS_JSON:   the dict passed to inner(); with "baseline": a folder, that pycnn/ source is
//              copied to /home/pyodide/pycnn_base too.
// KERNEL:      optionally a build of pycnn's WebAssembly kernel (a .wasm file), loaded the way
//              the site's worker loads it (site-src/kernel.js).
// Called by benchmarks/bench_pyodide.py, which prepares PYODIDE_DIR.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const [pyodideDir, repoDir, script, argsJson, kernel] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep });
await pyodide.loadPackage("numpy", { messageCallback: () => {} });

function copyTree(src, dst) {
  pyodide.FS.mkdirTree(dst);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (entry.name === "__pycache__") continue;
    const from = path.join(src, entry.name);
    const to = dst + "/" + entry.name;
    if (entry.isDirectory()) copyTree(from, to);
    else pyodide.FS.writeFile(to, fs.readFileSync(from));
  }
}
copyTree(path.join(repoDir, "pycnn"), "/home/pyodide/pycnn");
const baseline = JSON.parse(argsJson).baseline;  // an older pycnn/ to time beside it
if (baseline) copyTree(baseline, "/home/pyodide/pycnn_base");
pyodide.FS.writeFile("/home/pyodide/bench_inner.py", fs.readFileSync(script));
if (kernel) {
  globalThis.self = globalThis;
  vm.runInThisContext(fs.readFileSync(path.join(repoDir, "site-src", "kernel.js"), "utf8"));
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
  const build = { name: path.basename(kernel, ".wasm"), file: path.basename(kernel) };
  if (!self.cpKernels.install(pyodide, await WebAssembly.compile(fs.readFileSync(kernel)), build)) {
    throw new Error(`${kernel} failed its check`);
  }
}
pyodide.globals.set("ARGS_JSON", argsJson);
await pyodide.runPythonAsync(`
import json, sys
sys.path.insert(0, "/home/pyodide")
import bench_inner
bench_inner.inner(json.loads(ARGS_JSON))
`);
