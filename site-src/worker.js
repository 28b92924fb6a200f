// CNN Playground: the Pyodide web worker (template; build.py fills the /*@…@*/ markers).
//
// Everything is loaded from this site (relative to this file), never from a CDN. The
// packages are listed in our own pyodide-lock.json with their sha256, so Pyodide checks
// the integrity of every wheel. Progress is reported to the page (loader.js) as
// {type: 'cp-progress'} messages, failures as {type: 'cp-error'}.
"use strict";

const CP = /*@CP_CONFIG@*/;
const SITE_URL = new URL("./", self.location.href).href;
const PYODIDE_URL = new URL("pyodide/", SITE_URL).href;

importScripts(PYODIDE_URL + "pyodide.js");

function post(msg) {
  self.postMessage(msg);
}

function timing(name) {
  // Absolute time, so the page can relate it to its own navigation start.
  post({ type: "cp-timing", name: name, t: performance.timeOrigin + performance.now() });
}

let currentStage = "runtime";
function stage(name, text) {
  currentStage = name;
  post({ type: "cp-progress", stage: name, text: text });
  timing("stage-" + name);
}

// Count what arrives so the page can say how far along the downloads are. Pyodide fetches
// the runtime and every wheel with the global fetch; we only observe, never alter.
const fileSizes = CP.sizes;
const totalBytes = Object.values(fileSizes).reduce((a, b) => a + b, 0);
let doneBytes = 0;
let doneFiles = 0;
const nativeFetch = self.fetch.bind(self);

// Start downloading every package while Python boots (same request Pyodide will make,
// with the same integrity check); Pyodide's own fetch then receives the response.
const prefetched = new Map();
for (const [file, integrity] of Object.entries(CP.integrity)) {
  const url = PYODIDE_URL + file;
  const pending = nativeFetch(url, { integrity: integrity });
  pending.catch(() => {}); // a failure is reported when Pyodide asks for the file
  prefetched.set(url, pending);
}

self.fetch = async function (input, init) {
  const url = String(input instanceof Request ? input.url : input);
  const early = prefetched.get(url);
  prefetched.delete(url);
  const name = decodeURIComponent(url.split("?")[0].split("/").pop());
  let response;
  try {
    response = await (early || nativeFetch(input, init));
  } catch (e) {
    // A missing file or a failed integrity check: say which file.
    throw new Error(`Could not download ${name}: ${e && e.message ? e.message : e}`);
  }
  if (name in fileSizes) {
    if (!response.ok) {
      throw new Error(`Could not download ${name}: HTTP ${response.status} ${response.statusText}`);
    }
    doneBytes += fileSizes[name];
    doneFiles += 1;
    post({ type: "cp-progress", stage: currentStage, file: name, doneBytes: doneBytes,
           totalBytes: totalBytes, doneFiles: doneFiles,
           totalFiles: Object.keys(fileSizes).length });
  }
  return response;
};

function sendPatch(patch, buffers, msg_id) {
  post({ type: "patch", patch: patch, buffers: buffers });
}

function lastLine(text) {
  const lines = String(text).split("\n").map((l) => l.trim()).filter((l) => l);
  return lines.length ? lines[lines.length - 1] : String(text);
}

async function startApplication() {
  try {
    stage("runtime", `Downloading and starting Python (Pyodide ${CP.pyodide})`);
    self.pyodide = await loadPyodide({ indexURL: PYODIDE_URL });
    self.pyodide.globals.set("sendPatch", sendPatch);
    timing("pyodide-ready");

    stage("packages", `Loading ${CP.packages.length} packages (NumPy, pandas, Panel, Bokeh, pycnn…)`);
    const failures = [];
    await self.pyodide.loadPackage(CP.packages, {
      checkIntegrity: true,
      messageCallback: (msg) => {
        if (msg.startsWith("Loaded")) post({ type: "cp-progress", stage: "packages", text: msg });
      },
      errorCallback: (msg) => {
        failures.push(msg);
        console.error(msg);
      },
    });
    if (failures.length) {
      throw new Error("Some packages failed to load: " + failures.join("; "));
    }
    // Wheels with compiled modules (numpy, pandas) are just unpacked: loadPackage would also
    // compile and link every .so they contain (seconds of CPU work at start-up); unpacked,
    // each is linked by Python's import (dlopen) the first time it is imported.
    for (const file of CP.unpackOnly) {
      const response = await self.fetch(PYODIDE_URL + file);
      self.pyodide.unpackArchive(await response.arrayBuffer(), "wheel");
      post({ type: "cp-progress", stage: "packages", text: `Unpacked ${file}` });
    }
    if (CP.unpackOnly.length) {
      self.pyodide.runPython("import importlib; importlib.invalidate_caches()");
    }
    timing("packages-loaded");
    // Large datasets are not in the wheel: they appear as files that are downloaded (by a
    // synchronous request from this worker) the first time Python reads them.
    for (const lazy of CP.lazyFiles) {
      const slash = lazy.path.lastIndexOf("/");
      self.pyodide.FS.mkdirTree(lazy.path.slice(0, slash));
      self.pyodide.FS.createLazyFile(lazy.path.slice(0, slash), lazy.path.slice(slash + 1),
                                     new URL(lazy.url, SITE_URL).href, true, false);
    }

    if (CP.lazyImports.length) {
      // Stand-ins for modules that are imported at start-up but rarely used then: the real
      // module is imported the first time one of its attributes is used, or in the
      // background once the page is live (warmLazyImports).
      self.pyodide.globals.set("_cp_lazy", self.pyodide.toPy(CP.lazyImports));
      self.pyodide.runPython(`
import importlib, importlib.util, sys, types

class _CpLazyModule(types.ModuleType):
    __cp_lazy__ = True  # patched Bokeh checks this: no objects of this module exist yet

    def __getattr__(self, attr):
        return getattr(_cp_load_lazy(self.__name__), attr)

def _cp_load_lazy(name):
    if isinstance(sys.modules.get(name), _CpLazyModule):
        del sys.modules[name]
    return importlib.import_module(name)

for _name in _cp_lazy:
    _spec = importlib.util.find_spec(_name)
    if _spec is not None and _name not in sys.modules:
        _stub = _CpLazyModule(_name)
        _stub.__spec__ = _spec
        sys.modules[_name] = _stub
sys.modules["__main__"]._cp_load_lazy = _cp_load_lazy
del _cp_lazy
`);
    }

    stage("app", "Starting the playground (importing Panel and pycnn, building the page)");
    const code = /*@CP_APP_CODE@*/;
    const [docs_json, render_items, root_ids] = await self.pyodide.runPythonAsync(code);
    timing("app-ready");
    stage("render", "Drawing the page");
    post({ type: "render", docs_json: docs_json, render_items: render_items, root_ids: root_ids });
  } catch (e) {
    const text = String(e && e.message ? e.message : e);
    console.error(`CNN Playground failed while loading (${currentStage}):\n${text}`);
    post({ type: "cp-error", stage: currentStage, message: lastLine(text), detail: text });
  }
}

function warmLazyImports() {
  for (const name of CP.lazyImports) {
    try {
      self.pyodide.runPython(`_cp_load_lazy(${JSON.stringify(name)})`);
    } catch (e) {
      console.warn(`could not import ${name} in the background: ${e}`);
    }
  }
  timing("lazy-imports-done");
}
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "rendered" && CP.lazyImports.length) {
    // Once the page is live, import the deferred modules while the learner reads it.
    setTimeout(warmLazyImports, 3000);
  }
});

// ---- Panel's own message handlers (from `panel convert`), unchanged ----
/*@CP_PANEL_HANDLERS@*/
startApplication();
