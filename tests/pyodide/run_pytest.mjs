// Run pytest inside Pyodide under Node.js, optionally with pycnn's WebAssembly kernel loaded
// the way the site's worker loads it. Used by tests/unit/test_wasm_kernel.py.
//
// node [--experimental-wasm-relaxed-simd] run_pytest.mjs SITE REPO HOST_SITE_PACKAGES KERNEL ARGS
//
// SITE:   a built site: its Pyodide runtime (pyodide/) and package archive (numpy) are used.
// REPO:   the repository, mounted at /repo; its pycnn/ comes first on sys.path.
// HOST_SITE_PACKAGES: the test venv's site-packages (pure-Python pytest and its deps),
//         mounted at /host-site-packages, searched after Pyodide's own (so numpy is Pyodide's).
// KERNEL: a .wasm build of pycnn/kernels/*.c, or "none" (numpy's products).
// ARGS:   JSON list of pytest arguments.
// Prints one line "RESULT {json}": pytest's exit code, its outcome counts and which kernels ran.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const [site, repo, hostSitePackages, kernel, argsJson] = process.argv.slice(2);
const pyodideDir = path.join(site, "pyodide") + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir });
const sitePackages = py.runPython("import site; site.getsitepackages()[0]");
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(pyodideDir, "site-packages.tar.gz"))), "gztar",
                 { extractDir: sitePackages });
for (const [host, mount] of [[repo, "/repo"], [hostSitePackages, "/host-site-packages"]]) {
  py.FS.mkdirTree(mount);
  py.FS.mount(py.FS.filesystems.NODEFS, { root: host }, mount);
}
py.runPython(`
import os, sys
sys.dont_write_bytecode = True  # the repository is the host's: leave no .pyc there
sys.path.insert(0, "/repo")
sys.path.append("/host-site-packages")
os.chdir("/repo")
`);
if (kernel !== "none") {
  // site-src/kernel.js, as the site's worker uses it
  globalThis.self = globalThis;
  vm.runInThisContext(fs.readFileSync(path.join(repo, "site-src", "kernel.js"), "utf8"));
  const build = { name: path.basename(kernel, ".wasm"), file: path.basename(kernel) };
  const module = await WebAssembly.compile(fs.readFileSync(kernel));
  if (!self.cpKernels.install(py, module, build)) {
    console.log("RESULT " + JSON.stringify({ exit: -1, error: `${build.file} failed its check` }));
    process.exit(0);
  }
}
py.globals.set("PYTEST_ARGS", argsJson);
const exit = py.runPython(`
import collections, json, pytest
from pycnn import products

class _Outcomes:
    counts = collections.Counter()

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.counts[report.outcome] += 1

_exit = int(pytest.main(json.loads(PYTEST_ARGS), plugins=[_Outcomes()]))
json.dumps({"exit": _exit, "outcomes": dict(_Outcomes.counts),
            "kernels": getattr(products.KERNELS, "name", "numpy"),
            "calls": getattr(products.KERNELS, "calls", 0)})
`);
console.log("RESULT " + exit);
