// CNN Playground: loading pycnn's WebAssembly kernel (pycnn/kernels/*.c, one module) into Pyodide.
//
// Used by the Pyodide worker (worker.js), the browser benchmark and the Node.js tests, so
// they all load it the same way. Pyodide's numpy has no BLAS and no SIMD; this WebAssembly
// kernel makes training several times faster. The build compiles two versions: relaxed SIMD
// (a fused multiply-add) and plain SIMD; `choose` takes the first one this engine can run,
// `compile` fetches it and checks the sha256 the build recorded, and `install` has
// Emscripten's own dynamic linker load it into Pyodide's memory -- so it works on numpy's
// arrays in place, with Pyodide's stack and table -- and hands its exports to pycnn.
"use strict";

self.cpKernels = (() => {
  // Two tiny modules to ask the engine what it supports: one returns a v128 constant, the
  // other a relaxed fused multiply-add (f32x4.relaxed_madd, opcode 0xfd 0x105) of three.
  const v128Const = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const probe = (body) => {
    const code = [0, ...body, 0x0b];
    return new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0,
                           10, code.length + 2, 1, code.length, ...code]);
  };
  const PROBES = {
    relaxed: probe([...v128Const, ...v128Const, ...v128Const, 0xfd, 0x85, 0x02]),
    simd: probe(v128Const),
  };

  function runs(feature) {
    try {
      return WebAssembly.validate(PROBES[feature]);
    } catch (e) {
      return false;
    }
  }

  // builds: [{feature, name, file, sha256}] in order of preference (the build's CP.kernels);
  // wanted: "auto", or a feature ("relaxed", "simd") to force, or "numpy" for none.
  function choose(builds, wanted) {
    return builds.find((b) => (wanted === "auto" || wanted === b.feature) && runs(b.feature)) || null;
  }

  async function compile(url, sha256) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const bytes = await response.arrayBuffer();
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
                              (b) => b.toString(16).padStart(2, "0")).join("");
    if (digest !== sha256) throw new Error(`${url}: sha256 ${digest}, expected ${sha256}`);
    return WebAssembly.compile(bytes);
  }

  // Returns true when pycnn now uses the kernel (pycnn.kernels.install checks it on a
  // small product first and declines one that computes something else).
  function install(pyodide, module, build) {
    const exports = pyodide._module.loadWebAssemblyModule(
      module, { loadAsync: false, nodelete: true }, build.file, {}, 0);
    const products = pyodide.pyimport("pycnn.kernels").install(exports, build.name);
    if (!products) return false;
    products.destroy();
    return true;
  }

  return { PROBES, runs, choose, compile, install };
})();
