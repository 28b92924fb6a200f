// CNN Playground: a memory snapshot of Python with the app's modules already imported.
//
// Used by the build (sitebuild/snapshot.mjs, under Node.js: makes the snapshot, then restores
// it once to check it) and by the Pyodide worker (worker.js: restores it), so both do it the
// same way. Pyodide 0.27.7's snapshot (`_makeSnapshot` / `makeMemorySnapshot()` /
// `_loadSnapshot`) keeps only the WebAssembly memory. Two things live outside it:
//
// - the compiled side modules numpy's extensions were linked from (dlopen): their code, and
//   the slots of the function table that point into it. Restoring links each one again, in the
//   original order, at the memory and table addresses the snapshot's C structures name
//   (Emscripten's loader reuses them when the library's handle says it is loaded), with its
//   data and constructors left as they were in the snapshot: the module's active data segments
//   are written back over by the saved bytes, and its constructors are not run again.
// - JavaScript objects Python holds (hiwire). Globals (JSON, XMLHttpRequest) Pyodide finds by
//   their path; the one function Panel creates at import with run_js is kept as its source.
//
// - CPython's helper for calling C functions (`_PyEM_CountArgsPtr`), which Pyodide adds to the
//   function table at start where the engine has WebAssembly GC (browsers) and not elsewhere
//   (Node.js 20, where the snapshot is made: CPython then calls through JavaScript, slower).
//   A browser's table therefore has one slot more than the snapshot's, which the first side
//   module's slots cover; the helper is put back after them and handed to CPython.
// - The site's address: the snapshot is made without one, and Panel builds its stylesheets'
//   URLs from it at import. They name SITE_STAND_IN, which `siteUrls` replaces by the
//   site's real address in everything the worker sends to the page.
//
// `describe` records what restoring needs; `restore` checks it got exactly that (every table
// slot the same function) and throws otherwise, so the caller can start Python normally.
"use strict";

(function (scope) {
  const HANDLE_MEMORY_BASE = 12; // Emscripten's struct dso: memory base, size, table base, size
  const HANDLE_MEMORY_SIZE = 16;
  const HANDLE_TABLE_BASE = 20;

  // A 32-bit FNV-1a hash of the table's function names (wasm function indices): enough to
  // tell whether the restored table is the snapshot's.
  function tableHash(table, start, end) {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const f = table.get(i);
      const name = f ? f.name : "-";
      for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x01000193);
      h = Math.imul(h ^ 0x7c, 0x01000193);
    }
    return (h >>> 0).toString(16);
  }

  // After the imports, before makeMemorySnapshot: the side modules in load order, and the
  // table they filled (`tableStart`: its length before the first one was loaded).
  function describe(pyodide, tableStart) {
    const M = pyodide._module;
    const libs = Object.entries(M.LDSO.loadedLibsByHandle)
      .filter(([handle]) => Number(handle) !== 0) // the main module
      .map(([handle, lib]) => ({
        handle: Number(handle),
        name: lib.name,
        global: Boolean(lib.global),
        memoryBase: M.HEAPU32[(Number(handle) + HANDLE_MEMORY_BASE) >>> 2],
        memorySize: M.HEAP32[(Number(handle) + HANDLE_MEMORY_SIZE) >>> 2],
        tableBase: M.HEAPU32[(Number(handle) + HANDLE_TABLE_BASE) >>> 2],
      }))
      .sort((a, b) => a.tableBase - b.tableBase);
    const tableEnd = M.wasmTable.length;
    return { tableStart, tableEnd, tableHash: tableHash(M.wasmTable, tableStart, tableEnd),
             countArgs: M._PyEM_CountArgsPtr || 0, libs };
  }

  function serializer(obj) {
    if (typeof obj === "function") return { source: String(obj) };
    throw new Error(`the snapshot cannot keep this JavaScript object: ${String(obj).slice(0, 80)}`);
  }

  function deserializer(kept) {
    return (0, eval)("(" + kept.source + ")");
  }

  // After loadPyodide({_loadSnapshot}) and after the packages' files are back in the file
  // system: link the side modules again as they were. Throws if anything differs.
  function restore(pyodide, meta) {
    const M = pyodide._module;
    const helper = !meta.countArgs && M._PyEM_CountArgsPtr === meta.tableStart
      ? M.wasmTable.get(meta.tableStart) : null;
    if (M.wasmTable.length !== meta.tableStart + (helper ? 1 : 0)) {
      throw new Error(`function table has ${M.wasmTable.length} slots, the snapshot ` +
                      `expects ${meta.tableStart}`);
    }
    const RealInstance = WebAssembly.Instance;
    // Emscripten's loader instantiates each module with `new WebAssembly.Instance` and then
    // runs its relocations and constructors: both already happened in the snapshot.
    WebAssembly.Instance = function (module, imports) {
      const exports = Object.assign({}, new RealInstance(module, imports).exports);
      delete exports.__wasm_apply_data_relocs;
      delete exports.__wasm_call_ctors;
      return { exports: exports };
    };
    try {
      for (const lib of meta.libs) {
        const kept = M.HEAPU8.slice(lib.memoryBase, lib.memoryBase + lib.memorySize);
        M.loadDynamicLibrary(lib.name, { global: lib.global, nodelete: true, loadAsync: false },
                             lib.global ? null : {}, lib.handle);
        M.HEAPU8.set(kept, lib.memoryBase); // instantiating wrote the initial data back
      }
    } finally {
      WebAssembly.Instance = RealInstance;
    }
    const hash = tableHash(M.wasmTable, meta.tableStart, M.wasmTable.length);
    if (M.wasmTable.length !== meta.tableEnd || hash !== meta.tableHash) {
      throw new Error(`function table differs from the snapshot's (${M.wasmTable.length} ` +
                      `slots, hash ${hash}; expected ${meta.tableEnd}, ${meta.tableHash})`);
    }
    if (helper) {  // as Pyodide's own start does, at the helper's new slot
      const slot = M.wasmTable.grow(1);
      M.wasmTable.set(slot, helper);
      const offset = M.HEAP32[M.__PyEM_EMSCRIPTEN_COUNT_ARGS_OFFSET >>> 2];
      M.HEAP32[(M.__PyRuntime + offset) >>> 2] = slot;
      M._PyEM_CountArgsPtr = slot;
    }
  }

  const SITE_STAND_IN = "https://cnn-playground.example/";

  // A message for the page with SITE_STAND_IN replaced by `siteUrl` (a string or a JSON-like
  // object; an object is copied only when it names the stand-in).
  function siteUrls(value, siteUrl) {
    if (typeof value === "string") return value.split(SITE_STAND_IN).join(siteUrl);
    if (value === null || value === undefined) return value;
    const text = JSON.stringify(value);
    return text.includes(SITE_STAND_IN) ? JSON.parse(siteUrls(text, siteUrl)) : value;
  }

  scope.cpSnapshot = { SITE_STAND_IN, describe, serializer, deserializer, restore, siteUrls };
})(typeof self !== "undefined" ? self : globalThis);
