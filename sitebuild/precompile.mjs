// Run by sitebuild/precompile.py under Node.js: compile Python sources with the CPython
// inside Pyodide (the browser's exact version), so the browser skips compiling at start-up.
//
//   node precompile.mjs PYODIDE_DIR WORK_DIR
//
// WORK_DIR holds jobs.json ([{id, prefix}]) and in/<id>/…/*.py; the bytecode goes to
// out/<id>/…/*.pyc. Prints the JSON list of files that did not compile.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, workDir] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
// No column tables in the bytecode (-X no_debug_ranges): half the size, and tracebacks
// still name the file and line.
const py = await loadPyodide({ indexURL: pyodideDir + "/", env: { PYTHONNODEBUGRANGES: "1" } });
py.FS.mkdirTree("/work");
py.FS.mount(py.FS.filesystems.NODEFS, { root: workDir }, "/work");
const failed = py.runPython(`
import importlib.util, json, os
from importlib._bootstrap_external import _code_to_hash_pyc
jobs = json.load(open("/work/jobs.json"))
failed = []
for job in jobs:
    src_root = "/work/in/" + job["id"]
    for dirpath, _, files in os.walk(src_root):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_root)
            with open(path, "rb") as f:
                source = f.read()
            try:
                code = compile(source, job["prefix"] + rel, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                failed.append(job["id"] + "/" + rel)
                continue
            out = "/work/out/" + job["id"] + "/" + rel + "c"
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(_code_to_hash_pyc(code, importlib.util.source_hash(source), False))
json.dumps(failed)
`);
console.log(failed);
