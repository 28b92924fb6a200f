"""How long the insight views' logic takes, natively and in Pyodide, beside a training step.

The filter view refreshes while the model trains; issue 11 allows it at most
10 % of the training time. This prints what one refresh costs (filter
snapshot → picture → PNG data URI) for the Keras "Simple MNIST convnet"'s
first layer (32 filters, 3×3×1) and its 64-filter second layer, next to one
training step of the same model, and from those how often a view may refresh:
every ``refresh / (0.10 × step)`` steps. It also times the other views
(feature maps, the test-set pass against ``model.evaluate``, drawing to
predict, reading the code).

The same :func:`inner` runs natively and inside Pyodide 0.27.7 under
Node.js (numpy 2.0.2 without BLAS, single thread), set up as
``benchmarks/bench_pyodide.py`` does it; ``playground/insight`` is copied
into Pyodide's file system next to pycnn.

Usage::

    python benchmarks/bench_insight.py               # native, then Pyodide
    python benchmarks/bench_insight.py --native-only
    python benchmarks/bench_insight.py --repeats 9

Figures are medians of ``--repeats`` runs in CPU milliseconds of this
process (so other jobs on the machine do not count); this prints, it is not
a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu_clock():
    """This process's CPU seconds (Node's ``process.cpuUsage()`` inside Pyodide).

    CPU time, not wall time: on a machine shared with other jobs it still
    measures the work, and every figure (training step included) uses it.
    """
    if sys.platform == "emscripten":
        import js

        def clock():
            usage = js.process.cpuUsage()
            return (usage.user + usage.system) / 1e6

        return clock
    return time.process_time


def _median_ms(fn, repeats: int) -> float:
    clock = _cpu_clock()
    fn()  # warm up: first calls import and allocate
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return 1e3 * statistics.median(times)


def _copy_playground_into_pyodide(repo: str) -> None:
    """Inside Pyodide under Node: copy playground/ from the host into the virtual FS."""
    import os

    import js  # only exists inside Pyodide

    fs = js.process.getBuiltinModule("fs")
    for folder in ("playground", "playground/insight"):
        os.makedirs(f"/home/pyodide/{folder}", exist_ok=True)
        for name in fs.readdirSync(f"{repo}/{folder}"):
            if name.endswith(".py"):
                text = fs.readFileSync(f"{repo}/{folder}/{name}", "utf8")
                Path(f"/home/pyodide/{folder}/{name}").write_text(text)


def inner(args: dict) -> None:
    """Time every view's logic; print one line ``RESULT {json}``."""
    if sys.platform == "emscripten":
        _copy_playground_into_pyodide(args["repo"])
    import numpy as np

    from playground.insight.draw import predict_drawing, prepare_drawing
    from playground.insight.feature_maps import feature_map_pictures
    from playground.insight.filters import filter_picture
    from playground.insight.glyphs import digit_drawing
    from playground.insight.highlight import highlight_html
    from pycnn import Adam, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Sequential, products
    from pycnn.insight import evaluate_test_set, feature_maps, filter_bank, layer_code

    repeats = int(args.get("repeats", 5))
    rng = np.random.default_rng(0)
    keras = Sequential(
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
    keras.compile(Adam(1e-3))
    starter = Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        input_shape=(8, 8, 1),
        seed=0,
    )
    starter.compile(Adam(1e-2))
    x128 = rng.random((128, 28, 28, 1), dtype=np.float32)
    x32 = rng.random((32, 8, 8, 1), dtype=np.float32)
    y128, y32 = rng.integers(0, 10, 128), rng.integers(0, 10, 32)

    figures = {"numpy": np.__version__, "platform": sys.platform, "have_blas": products.HAVE_BLAS}
    figures["step keras b128"] = _median_ms(lambda: keras.train_on_batch(x128, y128), repeats)
    figures["step starter b32"] = _median_ms(lambda: starter.train_on_batch(x32, y32), repeats)

    def refresh(model, layer, view):
        return lambda: filter_picture(filter_bank(model, layer), view).data_uri()

    figures["filters keras conv2d (32)"] = _median_ms(refresh(keras, "conv2d", "auto"), repeats)
    figures["filters keras conv2d_1 (64, mean)"] = _median_ms(
        refresh(keras, "conv2d_1", "mean"), repeats
    )
    figures["filters keras conv2d_1 (64x32 channels)"] = _median_ms(
        refresh(keras, "conv2d_1", "channels"), repeats
    )
    figures["filters starter conv2d (8)"] = _median_ms(refresh(starter, "conv2d", "auto"), repeats)

    image = x128[0]

    def maps():
        for pics in feature_map_pictures(feature_maps(keras, image)):
            pics.after.data_uri()
            if pics.before is not None:
                pics.before.data_uri()

    figures["feature maps keras, 1 image"] = _median_ms(maps, repeats)

    x_test = rng.random((1024, 28, 28, 1), dtype=np.float32)
    y_test = rng.integers(0, 10, 1024)

    def test_pass():
        for step in evaluate_test_set(keras, x_test, y_test):
            pass
        return step.results

    figures["test pass keras, 1024 images"] = _median_ms(test_pass, max(3, repeats // 2))
    figures["evaluate() keras, 1024 images"] = _median_ms(
        lambda: keras.evaluate(x_test, y_test), max(3, repeats // 2)
    )

    drawing = digit_drawing(7)
    for dataset, shape, pen in (
        ("mnist", (28, 28, 1), None),
        ("digits", (8, 8, 1), None),
        ("shapes", (28, 28, 1), None),
        ("colour-shapes", (32, 32, 3), "blue"),
    ):
        figures[f"prepare drawing {dataset}"] = _median_ms(
            lambda d=dataset, s=shape, p=pen: prepare_drawing(drawing, d, s, pen=p), repeats
        )
    figures["predict drawing keras"] = _median_ms(
        lambda: predict_drawing(keras, drawing, "mnist"), repeats
    )

    def read_code():
        code = layer_code(keras, "conv2d")
        return [highlight_html(s.source) for s in code.forward + code.backward]

    figures["read the code conv2d"] = _median_ms(read_code, repeats)
    print("RESULT " + json.dumps(figures), flush=True)


# --------------------------------------------------------------------------- host side


def _native(args: dict) -> dict:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        inner(args)
    return json.loads(buf.getvalue().split("RESULT ", 1)[1])


def _pyodide(args: dict) -> dict:
    import shutil
    import subprocess

    from benchmarks.bench_pyodide import prepare_pyodide  # the verified runtime + numpy wheel

    pkg = prepare_pyodide(args["pyodide_dir"])
    node = shutil.which("node")
    if node is None:
        sys.exit("node (Node.js) is needed to run Pyodide outside a browser")
    proc = subprocess.run(
        [
            node,
            str(ROOT / "benchmarks" / "pyodide_run.mjs"),
            str(pkg),
            str(ROOT),
            str(Path(__file__).resolve()),
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.exit(
        f"Pyodide run failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}"
    )


def _table(runs: dict[str, dict]) -> None:
    names = list(runs)
    print(f"\n{'CPU milliseconds (median)':42s}" + "".join(f"{n:>12s}" for n in names))
    keys = [k for k in next(iter(runs.values())) if k not in ("numpy", "platform", "have_blas")]
    for key in keys:
        print(f"{key:42s}" + "".join(f"{runs[n][key]:12.2f}" for n in names))
    for name, r in runs.items():
        print(f"\n{name}: numpy {r['numpy']} ({'BLAS' if r['have_blas'] else 'no BLAS'})")
        for step_key, refresh_keys in (
            (
                "step keras b128",
                [
                    "filters keras conv2d (32)",
                    "filters keras conv2d_1 (64, mean)",
                    "filters keras conv2d_1 (64x32 channels)",
                ],
            ),
            ("step starter b32", ["filters starter conv2d (8)"]),
        ):
            step = r[step_key]
            for key in refresh_keys:
                every = max(1, -(-r[key] // (0.10 * step)))
                print(
                    f"  {key}: {r[key]:.1f} ms = {100 * r[key] / step:.1f} % of a {step_key} "
                    f"({step:.1f} ms): refreshing every {every:.0f} step(s) costs <= 10 %"
                )
        print(
            f"  test pass / evaluate(): "
            f"{r['test pass keras, 1024 images'] / r['evaluate() keras, 1024 images']:.2f}x"
        )


def main() -> None:
    # One thread natively too, like the browser: a multi-threaded BLAS would also bill
    # the CPU time its idle threads spin for.
    import os

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--native-only", action="store_true")
    parser.add_argument("--pyodide-dir", default="/tmp/pyodide-bench")
    opts = parser.parse_args()
    args = {"repeats": opts.repeats, "repo": str(ROOT), "pyodide_dir": opts.pyodide_dir}
    runs = {"native": _native(args)}
    if not opts.native_only:
        runs["pyodide"] = _pyodide(args)
    _table(runs)


if __name__ == "__main__":
    main()
