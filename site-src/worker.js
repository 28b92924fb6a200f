// CNN Playground: the Pyodide web worker (template; sitebuild/page.py fills the /*@…@*/ markers).
//
// Everything is loaded from this site (relative to this file), never from a CDN. The Python
// packages come as archives whose sha256 build.py recorded (unpack.js checks them). Progress
// is reported to the page (loader.js) as {type: 'cp-bytes' | 'cp-progress'}
// messages, failures as {type: 'cp-error'}.
"use strict";

const CP = /*@CP_CONFIG@*/;
// What loader.js put in this worker's name: {page} (see loader.js start()).
const JOB = (() => {
  try {
    const job = JSON.parse(self.name);
    return job && typeof job === "object" ? job : {};
  } catch (e) {
    return {};
  }
})();
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

// What the page's address asks for (`?kernel=`, `?snapshot=0`: comparisons and tests).
function pageParam(name) {
  try {
    return new URLSearchParams(JOB.page.search || "").get(name);
  } catch (e) {
    return null; // no page address
  }
}

// A memory snapshot of Python with the app's modules imported (build.py made it under
// Node.js from these very files; snapshot.js says what it holds): restoring it replaces
// Python's start and most of the app's imports, on a first visit too. `?snapshot=0` starts
// the normal way, and so does any failure to get or restore it.
const SNAPSHOT = CP.snapshot && pageParam("snapshot") !== "0" ? CP.snapshot : null;

// Count what arrives so the page can say how far along the downloads are: the page (loader.js)
// knows the sizes and adds up {type: 'cp-bytes'} messages. Pyodide fetches its runtime files
// with the global fetch; we only observe, never alter. The package archives and the snapshot
// are read by the page's own unpack.js workers, which report their bytes to the page.
// The second package archive (pandas and what only it needs, which nothing imports before the
// page is live) comes once the page is live on a snapshot start, and before the app on a
// normal start, where the stand-ins for lazy imports need its files.
const LATER = CP.laterImage;
const countedByUnpack = [CP.image.file, CP.snapshot && CP.snapshot.file,
                         CP.laterImage && CP.laterImage.file];
const counted = new Set(); // each file once: a fallback start fetches Pyodide's files again
const nativeFetch = self.fetch.bind(self);

function progress(file, bytes, fileDone) {
  post({ type: "cp-bytes", file: file, bytes: bytes, fileDone: fileDone });
}

self.fetch = async function (input, init) {
  const url = String(input instanceof Request ? input.url : input);
  const name = decodeURIComponent(url.split("?")[0].split("/").pop());
  let response;
  try {
    response = await nativeFetch(input, init);
  } catch (e) {
    // A missing file or a failed integrity check: say which file.
    throw new Error(`Could not download ${name}: ${e && e.message ? e.message : e}`);
  }
  if (name in CP.sizes && !countedByUnpack.includes(name)) {
    if (!response.ok) {
      throw new Error(`Could not download ${name}: HTTP ${response.status} ${response.statusText}`);
    }
    if (!counted.has(name)) progress(name, CP.sizes[name], true);
    counted.add(name);
  }
  return response;
};

// Every Python package (pure-Python wheels, NumPy, pandas, pycnn and the app) arrives in a
// gzip'd tar of site-packages (build.py: build_images; two of them, see LATER), and the memory
// snapshot (below) as one gzip'd file. The page starts an unpack.js worker for each (it
// downloads or reads the kept copy, checks and inflates, on another core) -- for the first
// archive and the snapshot at once, as the page starts, for LATER when this worker asks
// ({type: 'cp-unpack', file}) -- and hands this worker a MessagePort to it ({type:
// 'cp-unpacker', file, port}); {type: 'cp-unpack-failed', file, message} if it could not
// start it. The package files are then written into the file system from JavaScript (no
// Python runs to unpack them).
importScripts(new URL("unpack.js", SITE_URL).href);
const unpacking = new Map(); // file -> {promise, resolve, reject}
function unpacked(spec, label) {
  let entry = unpacking.get(spec.file);
  if (!entry) {
    entry = {};
    entry.promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    entry.promise.catch(() => {}); // reported where it is awaited
    unpacking.set(spec.file, entry);
  }
  if (label) entry.label = label;
  return entry.promise;
}
self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type !== "cp-unpacker" && msg.type !== "cp-unpack-failed") return;
  unpacked({ file: msg.file }, null);
  const entry = unpacking.get(msg.file);
  if (msg.type === "cp-unpack-failed") {
    entry.reject(new Error(`Could not unpack ${msg.file}: ${msg.message}`));
    return;
  }
  msg.port.onmessage = (reply) => {
    const data = reply.data || {};
    msg.port.close();
    if (data.type === "tar") {
      if (data.fromCache && entry.label) timing(entry.label + "-from-cache");
      entry.resolve(data.tar);
    } else {
      entry.reject(new Error(data.message || `Could not unpack ${msg.file}`));
    }
  };
});
const image = unpacked(CP.image, "packages");
let laterImage = null;
function laterPackages() {  // once
  if (!laterImage) {
    laterImage = LATER ? unpacked(LATER, "later-packages") : Promise.resolve(null);
    if (LATER) post({ type: "cp-unpack", file: LATER.file });
  }
  return laterImage;
}
if (!SNAPSHOT) laterPackages().catch(() => {}); // reported when bootPython awaits it

const snapshotBytes = SNAPSHOT ? unpacked(SNAPSHOT, "snapshot") : null;
if (snapshotBytes) importScripts(new URL("snapshot.js", SITE_URL).href);

// pycnn's matrix-product kernel (kernel.js says how it is loaded): the build this browser
// runs best, or the one `?kernel=relaxed|simd|numpy` in the page's address forces (for
// comparisons and tests; numpy: none). Fetched, checked and compiled while Python boots.
importScripts(new URL("kernel.js", SITE_URL).href);
const kernel = self.cpKernels.choose(CP.kernels, pageParam("kernel") || "auto");
const kernelModule = kernel && self.cpKernels.compile(new URL(kernel.file, SITE_URL).href,
                                                      kernel.sha256);
if (kernelModule) kernelModule.catch(() => {}); // reported when installKernel awaits it

// Which products pycnn uses: "wasm-relaxed-simd", "wasm-simd" or "numpy". The page shows it as
// html[data-cp-kernel] (loader.js); self.cpKernel keeps the reason when it is numpy.
async function installKernel() {
  if (self.cpKernel) return; // once
  let name = "numpy";
  let reason = kernel ? "" : "no build chosen (this browser's features, or ?kernel=)";
  try {
    if (kernel && self.cpKernels.install(self.pyodide, await kernelModule, kernel)) {
      name = kernel.name;
    } else if (kernel) {
      reason = `${kernel.file} computed a wrong product`;
    }
  } catch (e) {
    reason = String(e && e.message ? e.message : e);
  }
  if (reason) console.warn(`CNN Playground: numpy does the matrix products (${reason})`);
  self.cpKernel = { name: name, reason: reason };
  post({ type: "cp-kernel", name: name });
}

// Write every regular file of a ustar archive below `root`. Each file is created as an
// in-memory (MEMFS) node whose contents is a view into `tar`: no copy, no path lookup per
// file (FS.writeFile(path, data, {canOwn: true}) does the same, three times slower).
// Returns the number of files.
function installImage(FS, root, tar) {
  const MEMFS = FS.filesystems.MEMFS;
  const dirs = new Map();
  return cpTarFiles(tar, (name, contents) => {
    const path = root + name;
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash);
    let parent = dirs.get(dir);
    if (parent === undefined) {
      FS.mkdirTree(dir);
      parent = FS.lookupPath(dir).node;
      dirs.set(dir, parent);
    }
    const node = MEMFS.createNode(parent, path.slice(slash + 1), 0o100644, 0);
    node.contents = contents;
    node.usedBytes = contents.length;
  });
}

// Started from the snapshot, Python names a stand-in for this site's address (snapshot.js).
let forPage = (value) => value;

function sendPatch(patch, buffers, msg_id) {
  post({ type: "patch", patch: forPage(patch), buffers: buffers });
}

function lastLine(text) {
  const lines = String(text).split("\n").map((l) => l.trim()).filter((l) => l);
  return lines.length ? lines[lines.length - 1] : String(text);
}

// An archive's files in the file system, then Python's importer told to look again.
function installPackages(spec, tar) {
  const files = installImage(self.pyodide.FS, CP.sitePackages, tar);
  if (files !== spec.files) {
    throw new Error(`${spec.file} holds ${files} files, expected ${spec.files}`);
  }
  // Forget what Python's importer saw in site-packages before (only that finder: the
  // stdlib zip's would re-read its whole directory, ~0.1 s).
  self.pyodide.runPython(`
import sys
_finder = sys.path_importer_cache.get(${JSON.stringify(CP.sitePackages.replace(/\/$/, ""))})
if _finder is not None:
    _finder.invalidate_caches()
del _finder
`);
  return files;
}

// Python from the snapshot when there is one and it restores cleanly; else the normal start
// (the packages, then the stand-ins for lazily imported modules). Returns how it started
// and how many package files are in place.
async function bootPython() {
  if (snapshotBytes) {
    try {
      const kept = snapshotBytes.then((bytes) => {
        stage("runtime", "Restoring Python with the playground's modules already imported");
        return bytes;
      });
      self.pyodide = await loadPyodide({
        indexURL: PYODIDE_URL,
        _loadSnapshot: kept,
        _snapshotDeserializer: self.cpSnapshot.deserializer,
      });
      timing("pyodide-ready");
      stage("packages", "Unpacking the packages the page needs (NumPy, Panel, Bokeh, pycnn…)");
      installPackages(CP.image, await image);
      self.cpSnapshot.restore(self.pyodide, SNAPSHOT);
      // Everyone restores the same memory: give each page its own random numbers.
      self.pyodide.runPython(`
import random, sys
random.seed()
if "numpy.random" in sys.modules:
    sys.modules["numpy.random"].seed()
`);
      forPage = (value) => self.cpSnapshot.siteUrls(value, SITE_URL);
      return { how: "snapshot", files: CP.image.files };
    } catch (e) {
      console.warn("CNN Playground: the memory snapshot did not load; starting Python " +
                   "the normal way:", e);
      self.pyodide = null;
    }
  }
  self.pyodide = await loadPyodide({ indexURL: PYODIDE_URL });
  timing("pyodide-ready");
  stage("packages", `Unpacking ${CP.packages.length} packages (NumPy, pandas, Panel, Bokeh, pycnn…)`);
  let files = installPackages(CP.image, await image);
  const later = await laterPackages();
  if (later) files += installPackages(LATER, later);
  if (CP.lazyImports.length) {
    self.pyodide.globals.set("_cp_lazy", self.pyodide.toPy(CP.lazyImports));
    self.pyodide.runPython(/*@CP_LAZY_IMPORTS_PY@*/);
  }
  return { how: "full", files: files };
}

async function startApplication() {
  try {
    stage("runtime", `Downloading and starting Python (Pyodide ${CP.pyodide})`);
    const start = await bootPython();
    post({ type: "cp-start", how: start.how });
    self.pyodide.globals.set("sendPatch", sendPatch);
    post({ type: "cp-progress", stage: "packages",
           text: `${start.files} package files in place` });
    timing("packages-loaded");
    // Large datasets are not in the wheel: they appear as files that are downloaded (by a
    // synchronous request from this worker) the first time Python reads them.
    for (const lazy of CP.lazyFiles) {
      const slash = lazy.path.lastIndexOf("/");
      self.pyodide.FS.mkdirTree(lazy.path.slice(0, slash));
      self.pyodide.FS.createLazyFile(lazy.path.slice(0, slash), lazy.path.slice(slash + 1),
                                     new URL(lazy.url, SITE_URL).href, true, false);
    }

    if (JOB.page) {  // the page's address, for the first document (playground/runtime.py)
      const os = self.pyodide.pyimport("os");
      os.environ.__setitem__("CNN_PLAYGROUND_PAGE", JSON.stringify(JOB.page));
      os.destroy();
    }
    stage("app", start.how === "snapshot" ? "Building the page"
                                      : "Starting the playground (importing Panel and pycnn, " +
                                        "building the page)");
    const code = /*@CP_APP_CODE@*/;
    // Start-up creates ~200,000 long-lived objects (classes, models): the cyclic garbage
    // collector would scan them again and again for nothing (~5% of the app's start-up).
    // Reference counting still frees everything else; see settleAfterStart.
    self.pyodide.runPython("import gc as _cp_gc; _cp_gc.disable()");
    const [docs_json, render_items, root_ids] = await self.pyodide.runPythonAsync(code);
    self.pyodide.runPython("_cp_gc.enable()");
    timing("app-ready");
    stage("render", "Drawing the page");
    post({ type: "render", docs_json: forPage(docs_json), render_items: render_items,
           root_ids: root_ids });
  } catch (e) {
    const text = String(e && e.message ? e.message : e);
    console.error(`CNN Playground failed while loading (${currentStage}):\n${text}`);
    post({ type: "cp-error", stage: currentStage, message: lastLine(text), detail: text });
  }
}

// Once the page is live, while the learner reads it: collect start-up's garbage once and
// freeze what remains (later collections skip it). The deferred modules (pandas) are not
// imported ahead of time: nothing the playground does needs them (build.py patches Bokeh's
// figure() and stream() not to), and importing pandas would hold this thread for 1-2 s,
// just when a learner may click.
function settleAfterStart() {
  self.pyodide.runPython("_cp_gc.collect(); _cp_gc.freeze()");
  timing("settled");
}

// On a snapshot start, the second package archive comes once the page is live (a normal start
// installed it before the app). Until it is in place pandas cannot be imported, which nothing
// on the page does (see settleAfterStart).
async function installLaterPackages() {
  if (laterImage || !LATER) return;
  try {
    installPackages(LATER, await laterPackages());
    timing("later-packages");
  } catch (e) {
    console.warn(`CNN Playground: ${LATER.file} could not be installed:`, e);
  }
}

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "rendered") {
    // Nothing on the first screen computes a product: pycnn's kernel is installed once the
    // page is live, next to Panel's handling of this message, which builds the views below
    // the first screen (the training controls among them).
    setTimeout(installKernel, 0);
    setTimeout(installLaterPackages, 0);
    setTimeout(settleAfterStart, 3000);
  }
});

// ---- Panel's own message handlers (from `panel convert`), unchanged ----
/*@CP_PANEL_HANDLERS@*/
startApplication();
