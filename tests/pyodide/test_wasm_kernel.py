"""pycnn's WebAssembly matrix-product kernel: what the build ships, and its results in Pyodide.

The builds come from the same step the site build runs (``sitebuild.kernels``,
checked against the sha256 pinned in ``pycnn/kernels/wasm.lock.json``). Each is
then loaded into Pyodide under Node.js exactly as ``site-src/worker.js`` loads
it, and pytest runs *inside* Pyodide on the product tests
(``tests/unit/test_kernels.py``, ``tests/pyodide/kernel_only.py``), on the fused
conv + pool step (``tests/unit/test_kernels_conv.py``, the direct convolution) and on the
convolution tests of
``tests/unit/test_ops.py``: every product path -- SIMD, relaxed SIMD, and
Pyodide's numpy without a kernel -- against the float64 and loop oracles.
The export tests run there too: the page writes its TensorBoard log on a numpy whose
integers are 32-bit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sitebuild import kernels as kernel_build

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_pytest.mjs")
BUILDS = sorted(kernel_build.BUILDS)
# What a loaded kernel may ask of Pyodide: its memory, and the two bases and the table
# the dynamic linker always offers. No function (no libc), no stack pointer (no stack).
ALLOWED_IMPORTS = {
    ("env", "memory"),
    ("env", "__indirect_function_table"),
    ("env", "__memory_base"),
    ("env", "__table_base"),
}
PYODIDE_TESTS = [
    "tests/unit/test_kernels.py",
    "tests/unit/test_kernels_conv.py",
    "tests/pyodide/kernel_only.py",
    "tests/unit/test_ops.py",
    "-k",
    "kernel or product or conv2d or fused",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kernels")
    kernel_build.build_kernels(out)
    return out


def _leb(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _name(data: bytes, i: int) -> tuple[str, int]:
    n, i = _leb(data, i)
    return data[i : i + n].decode(), i + n


def wasm_sections(data: bytes) -> dict:
    """{"ids": [section ids in order], "custom": [names], "imports": {(module, name)}, "exports": {names}}."""
    assert data[:8] == b"\0asm\1\0\0\0"
    out = {"ids": [], "custom": [], "imports": set(), "exports": set()}
    i = 8
    while i < len(data):
        sid = data[i]
        size, i = _leb(data, i + 1)
        end = i + size
        out["ids"].append(sid)
        if sid == 0:
            out["custom"].append(_name(data, i)[0])
        elif sid in (2, 7):
            count, j = _leb(data, i)
            for _ in range(count):
                if sid == 2:
                    module, j = _name(data, j)
                    field, j = _name(data, j)
                    kind = data[j]
                    out["imports"].add((module, field))
                    j += 1
                    if kind == 0:  # function: type index
                        _, j = _leb(data, j)
                    elif kind == 1:  # table: reftype, limits
                        flags = data[j + 1]
                        _, j = _leb(data, j + 2)
                        if flags & 1:
                            _, j = _leb(data, j)
                    elif kind == 2:  # memory: limits
                        flags = data[j]
                        _, j = _leb(data, j + 1)
                        if flags & 1:
                            _, j = _leb(data, j)
                    else:  # global: type, mutability
                        j += 2
                else:
                    field, j = _name(data, j)
                    out["exports"].add(field)
                    _, j = _leb(data, j + 1)
        i = end
    return out


@pytest.mark.parametrize("name", BUILDS)
def test_build_is_a_side_module_that_needs_nothing_from_the_heap(built, name):
    info = wasm_sections((built / name).read_bytes())
    assert info["custom"][:1] == ["dylink.0"]  # Emscripten's dynamic linker can load it
    assert info["imports"] <= ALLOWED_IMPORTS, info["imports"] - ALLOWED_IMPORTS
    assert ("env", "memory") in info["imports"]  # Pyodide's own memory, not one of its own
    assert 5 not in info["ids"]  # no memory section
    assert 6 not in info["ids"]  # no globals (hence no stack pointer of its own)
    assert 11 not in info["ids"]  # no data
    products = {"cp_gemm", "cp_gemm_add_at", "cp_gemm_work_floats", "cp_dense_xent"}
    assert (
        products
        | {"cp_pool_max", "cp_pool_route", "cp_im2col", "cp_conv_pool", "cp_conv_pool_grad"}
        <= info["exports"]
    )


def test_builds_match_the_pinned_sha256(built):
    lock = kernel_build.read_lock()
    assert set(lock["builds"]) == set(BUILDS)
    for name in BUILDS:
        assert kernel_build.sha256_file(built / name) == lock["builds"][name]


def _run_in_pyodide(site_dir: Path, kernel: str, node_flags: list[str], tests=PYODIDE_TESTS):
    node = shutil.which("node")
    assert node, "Node.js is needed to run Pyodide outside the browser"
    host_site_packages = Path(pytest.__file__).resolve().parents[1]
    cmd = [node, *node_flags, str(RUNNER), str(site_dir), str(REPO), str(host_site_packages)]
    cmd += [kernel, json.dumps(["-q", "-p", "no:cacheprovider", *tests])]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
    lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
    assert lines, f"no result from Pyodide (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["exit"] == 0, proc.stdout[-6000:]
    return result


@pytest.mark.parametrize(
    "name, node_flags",
    [
        ("gemm-simd.wasm", []),
        # Node 20 has relaxed SIMD behind a flag; Chromium has it on (tests/e2e cover it there)
        ("gemm-relaxed.wasm", ["--experimental-wasm-relaxed-simd"]),
    ],
)
def test_kernel_agrees_with_the_oracles_inside_pyodide(site_dir, built, name, node_flags):
    result = _run_in_pyodide(site_dir, str(built / name), node_flags)
    assert result["kernels"] == Path(name).stem
    assert result["calls"] > 100  # the products really went through the kernel
    assert result["outcomes"].get("passed", 0) > 300
    assert not result["outcomes"].get("skipped")


def test_numpy_fallback_agrees_with_the_oracles_inside_pyodide(site_dir):
    # the products only: the conv tests run on this numpy version natively already
    result = _run_in_pyodide(site_dir, "none", [], tests=PYODIDE_TESTS[:1])
    assert not result["outcomes"].get("skipped")
    assert result["kernels"] == "numpy"
    assert result["outcomes"].get("passed", 0) > 100


def test_exports_are_written_on_the_browsers_32_bit_numpy(site_dir):
    # The page makes the TensorBoard log and the weights file in Pyodide, where numpy's
    # default integer is 32-bit: index arithmetic that passes on 64-bit CPython can fail.
    result = _run_in_pyodide(site_dir, "none", [], tests=["tests/unit/test_export_tensorboard.py"])
    assert not result["outcomes"].get("skipped")
    assert result["outcomes"].get("passed", 0) > 20
