// pycnn inside the built site's own Pyodide runtime (benchmarks/bench_browser.py).
// Messages {id, cmd, arg}; answers {id, ok, result | error}.
//   init {pyodideBase, siteBase, kernels, kernel, dataBase, stepsUrl, sourceZip|null}: load
//        Pyodide from the site's files, numpy and pycnn from the site's package archive
//        (site-packages.tar.gz; with sourceZip, pycnn from a zip of the repository's pycnn/
//        source), pycnn's matrix-product kernel the way the site's worker does (the site's
//        kernel.js; `kernel`: "auto", "relaxed", "simd" or "numpy" for none), then the
//        shared timing module benchmarks/browser/pycnn_steps.py and the data files.
//   run TASK: pycnn_steps.run(TASK) (see that file).
"use strict";
let pyodide = null;
let steps = null;

async function fetchBytes(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return new Uint8Array(await resp.arrayBuffer());
}

async function init(arg) {
  const t0 = performance.now();
  importScripts(arg.pyodideBase + "pyodide.js");
  pyodide = await loadPyodide({ indexURL: arg.pyodideBase });
  const tRuntime = performance.now();
  pyodide.unpackArchive(await fetchBytes(arg.pyodideBase + "site-packages.tar.gz"), "gztar",
                        { extractDir: "/lib/python3.12/site-packages" });
  if (arg.sourceZip) {
    pyodide.unpackArchive(await fetchBytes(arg.sourceZip), "zip", { extractDir: "/home/pyodide/src" });
    pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/src')");  // before the site's
  }
  const tPackages = performance.now();
  importScripts(arg.siteBase + "kernel.js");
  const build = self.cpKernels.choose(arg.kernels, arg.kernel);
  if (build && !self.cpKernels.install(
    pyodide, await self.cpKernels.compile(arg.siteBase + build.file, build.sha256), build)) {
    throw new Error(`${build.file} failed its check`);
  }
  pyodide.FS.mkdirTree("/home/pyodide/bench/data");
  for (const name of ["mnist-x.f32", "mnist-y.i32", "digits-x.f32", "digits-y.i32"]) {
    pyodide.FS.writeFile(`/home/pyodide/bench/data/${name}`, await fetchBytes(arg.dataBase + name));
  }
  pyodide.FS.writeFile("/home/pyodide/bench/pycnn_steps.py", await fetchBytes(arg.stepsUrl));
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/bench')");
  steps = pyodide.pyimport("pycnn_steps");
  const info = JSON.parse(steps.setup("/home/pyodide/bench/data"));
  info.load_ms = { runtime: tRuntime - t0, packages: tPackages - tRuntime,
                   total: performance.now() - t0 };
  info.user_agent = navigator.userAgent;
  return info;
}

self.onmessage = async (ev) => {
  const { id, cmd, arg } = ev.data;
  try {
    let result;
    if (cmd === "init") result = await init(arg);
    else if (cmd === "run") result = JSON.parse(steps.run(JSON.stringify(arg)));
    else throw new Error(`unknown command ${cmd}`);
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err && err.stack || err) });
  }
};
