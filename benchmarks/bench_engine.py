"""Training and inference throughput of pycnn vs PyTorch (CPU), side by side.

Model: Keras's "Simple MNIST convnet" -- Conv2D(32,3,relu) - MaxPool(2) -
Conv2D(64,3,relu) - MaxPool(2) - Flatten - Dropout(0.5) - Dense(10,softmax) on
28x28x1 inputs, float32, Adam(1e-3), sparse categorical cross-entropy.

A training step is forward + backward + optimizer update on one batch
(pycnn: ``Sequential.train_on_batch``; torch: zero_grad/forward/loss/backward/step).
The two libraries are timed *interleaved* (a few steps of one, then of the
other, round after round) so that load from other processes on a shared
machine hits both alike; the script prints medians and their ratio.
PyTorch gets the same number of threads as numpy's BLAS. If torch is not
installed its side is skipped with a message.

Peak memory of ``fit`` is measured with ``tracemalloc`` (numpy reports its
buffers to it): the peak of traced allocations during ``fit`` minus what was
allocated before it started (so the dataset itself is not counted).

Usage::

    python benchmarks/bench_engine.py                 # batch 128, all figures
    python benchmarks/bench_engine.py --profile       # + per-layer forward/backward times
    python benchmarks/bench_engine.py --batch 32 --rounds 5
    # + an older pycnn timed in the same rounds (before/after of a change):
    git archive <commit> pycnn | tar -x -C /tmp/before
    python benchmarks/bench_engine.py --baseline /tmp/before
    # 1 and 2 threads, each library in a process of its own (no shared thread pools),
    # processes interleaved round by round: each library's own 1 -> 2 thread scaling
    python benchmarks/bench_engine.py --separate-processes --rounds 5

This prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import pycnn
from pycnn import Sequential, products

INPUT_SHAPE = (28, 28, 1)
CLOCK = time.perf_counter  # --cpu-time switches to time.process_time
CLASSES = 10


# --------------------------------------------------------------------------- environment


def blas_info() -> tuple[list[dict], int]:
    """threadpoolctl's view of the BLAS numpy uses, and its thread count."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threads = int(
            os.environ.get("OPENBLAS_NUM_THREADS")
            or os.environ.get("OMP_NUM_THREADS")
            or os.cpu_count()
            or 1
        )
        return [], threads
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    threads = pools[0]["num_threads"] if pools else (os.cpu_count() or 1)
    return pools, threads


def print_environment(pools: list[dict], threads: int) -> None:
    print(
        f"python {platform.python_version()}  numpy {np.__version__}  "
        f"machine {platform.machine()}  cpus {os.cpu_count()}"
    )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    if pools:
        for p in pools:
            print(
                f"  BLAS: {p.get('internal_api')} {p.get('version')} "
                f"kernel={p.get('architecture')} threads={p.get('num_threads')} "
                f"({Path(p.get('filepath', '')).name})"
            )
    else:
        print("  BLAS: threadpoolctl not installed; numpy.show_config() says:")
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            print(f"    {blas.get('name')} {blas.get('version')}")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            print(f"    (unavailable: {exc})")
    print(
        f"  pycnn.products.HAVE_BLAS={products.HAVE_BLAS}; BLAS threads used for both sides: {threads}"
    )
    if hasattr(os, "getloadavg"):  # other processes distort wall-clock figures: say so
        print("  load average (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))


# --------------------------------------------------------------------------- models


def pycnn_model(seed: int = 0, package=None) -> Sequential:
    """The Keras convnet in pycnn, or in another copy of it (``package``, see --baseline)."""
    p = package or pycnn
    model = p.Sequential(
        [
            p.Conv2D(32, 3, activation="relu"),
            p.MaxPooling2D(2),
            p.Conv2D(64, 3, activation="relu"),
            p.MaxPooling2D(2),
            p.Flatten(),
            p.Dropout(0.5),
            p.Dense(CLASSES, activation="softmax"),
        ],
        input_shape=INPUT_SHAPE,
        seed=seed,
    )
    model.compile(
        optimizer=p.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def load_baseline(folder: str):
    """Import ``folder/pycnn`` as the package ``pycnn_baseline`` (its imports are relative)."""
    import importlib.util

    init = Path(folder) / "pycnn" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "pycnn_baseline", init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["pycnn_baseline"] = module
    spec.loader.exec_module(module)
    return module


def torch_side(threads: int, batch: int, x: np.ndarray, y: np.ndarray):
    """(train_step, infer, description) for the same network in PyTorch, or None."""
    try:
        import torch
        from torch import nn
    except ImportError:
        print(
            "\nPyTorch is not installed: skipping the PyTorch side "
            "(pip install torch==2.13.0 to compare)."
        )
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(64 * 5 * 5, CLASSES),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW, torch's own
    yt = torch.from_numpy(y.astype(np.int64))

    def train_step():
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()

    def infer():
        net.eval()
        with torch.inference_mode():
            net(xt)

    desc = (
        f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
        f"mkldnn={torch.backends.mkldnn.is_available()}"
    )
    return train_step, infer, desc


# --------------------------------------------------------------------------- timing


def interleaved(fns: dict, rounds: int, steps: int) -> dict[str, list[float]]:
    """Per-call seconds of each function, alternating ``steps`` calls each per round."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(steps):
                t0 = CLOCK()
                fn()
                times[name].append(CLOCK() - t0)
    return times


def report(title: str, times: dict[str, list[float]], batch: int, steps: int) -> None:
    print(f"\n{title} (batch {batch}; median of {len(next(iter(times.values())))} calls each)")
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, m in med.items():
        print(f"  {name:6s} {1e3 * m:8.2f} ms/batch  {batch / m:9.0f} samples/s")
    if "torch" in med and "pycnn" in med:
        ratio = med["torch"] / med["pycnn"]
        # the same ratio round by round (each round is a pair run back to back)
        per_round = [
            statistics.median(tp) / statistics.median(tq)
            for tp, tq in zip(_chunks(times["torch"], steps), _chunks(times["pycnn"], steps))
        ]
        print(
            f"  pycnn / torch throughput: {ratio:.2f}x   "
            f"(per-round ratios: min {min(per_round):.2f}, median "
            f"{statistics.median(per_round):.2f}, max {max(per_round):.2f})"
        )
    if "before" in med and "torch" in med:
        print(f"  before / torch throughput: {med['torch'] / med['before']:.2f}x")
    if "before" in med:
        print(f"  pycnn speed-up over before: {med['before'] / med['pycnn']:.2f}x")


def _chunks(seq, n):
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def profile_layers(model: Sequential, x: np.ndarray, y: np.ndarray, repeats: int = 10) -> None:
    """Median forward and backward time of every step of a training step.

    A step is a layer, or a Conv2D + MaxPooling2D pair that the model runs
    fused (``Sequential._steps``), as ``train_on_batch`` runs them.
    """
    from pycnn import losses

    steps = model._steps()
    fwd = {i: [] for i in range(len(steps))}
    bwd = {i: [] for i in range(len(steps))}
    first = next(i for i, step in enumerate(steps) if step.trainable_keys)
    last = len(steps) - 1
    for _ in range(repeats):
        h = x
        for i, step in enumerate(steps):
            t0 = CLOCK()
            if i == last:
                logits, h = step.forward_logits(h, training=True)
            else:
                h = step.forward(h, training=True)
            fwd[i].append(CLOCK() - t0)
        t0 = CLOCK()
        _, grad = losses.softmax_cross_entropy(logits, y)
        bwd.setdefault("loss", []).append(CLOCK() - t0)
        t0 = CLOCK()
        grad = steps[last].backward_pre_activation(grad, need_input_grad=True)
        bwd[last].append(CLOCK() - t0)
        for i in range(last - 1, first - 1, -1):
            t0 = CLOCK()
            grad = steps[i].backward(grad, need_input_grad=i > first)
            bwd[i].append(CLOCK() - t0)
        t0 = CLOCK()
        model.optimizer.apply_gradients(
            (layer.grads[k], layer.params[k])
            for layer in model.layers
            for k in layer.trainable_keys
        )
        bwd.setdefault("update", []).append(CLOCK() - t0)
    print("\npycnn per-step time inside a training step (median ms)")
    print(f"  {'step':52s} {'forward':>8s} {'backward':>9s}")
    for i, step in enumerate(steps):
        f = 1e3 * statistics.median(fwd[i])
        b = 1e3 * statistics.median(bwd[i]) if bwd[i] else 0.0
        layers = [step.conv, step.pool] if hasattr(step, "conv") else [step]
        label = " + ".join(f"{layer.kind} {layer.name}" for layer in layers)
        print(f"  {i} {label:50s} {f:8.2f} {b:9.2f}")
    print(
        f"  {'loss (softmax cross-entropy)':52s} {'':8s} {1e3 * statistics.median(bwd['loss']):9.2f}"
    )
    print(f"  {'optimizer update':52s} {'':8s} {1e3 * statistics.median(bwd['update']):9.2f}")


def fit_peak_memory(batch: int, n_samples: int) -> tuple[float, float]:
    """(peak MiB traced during fit, MiB held before) for one epoch on ``n_samples``."""
    rng = np.random.default_rng(1)
    x = rng.random((n_samples, *INPUT_SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, n_samples)
    model = pycnn_model()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    model.fit(x, y, epochs=1, batch_size=batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / 2**20, before / 2**20


# --------------------------------------------------------------------------- main


def separate_processes(rounds: int, steps: int, batch: int) -> None:
    """Training step wall time of each library with 1 and 2 threads, one process each.

    In one process, numpy's OpenBLAS and PyTorch's OpenMP each keep their own thread pool
    and the pools compete; here every (library, threads) pair runs in a fresh process,
    and the four kinds of process take turns round by round.
    """
    configs = [(lib, t) for t in (1, 2) for lib in ("pycnn", "torch")]
    times: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    loads = [os.getloadavg()[0]]
    for r in range(rounds):
        for lib, t in configs if r % 2 == 0 else configs[::-1]:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
            cmd = [sys.executable, __file__, "--library", lib, "--rounds", "1"]
            cmd += ["--steps", str(steps), "--batch", str(batch), "--no-memory", "--json"]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            times[(lib, t)].append(json.loads(out.stdout.splitlines()[-1])["train_ms"])
        loads.append(os.getloadavg()[0])
    print(
        f"\nTraining step (batch {batch}), wall clock, each library in its own process, "
        f"{rounds} rounds (load average {min(loads):.1f}-{max(loads):.1f}); median ms:"
    )
    med = {c: statistics.median(v) for c, v in times.items()}
    for lib in ("pycnn", "torch"):
        scaling = [a / b for a, b in zip(times[(lib, 1)], times[(lib, 2)], strict=True)]
        print(
            f"  {lib:6s} 1 thread {med[(lib, 1)]:7.1f}   2 threads {med[(lib, 2)]:7.1f}   "
            f"1 -> 2 threads: {statistics.median(scaling):.2f}x faster "
            f"(rounds {min(scaling):.2f}-{max(scaling):.2f})"
        )
    for t in (1, 2):
        per_round = [a / b for a, b in zip(times[("torch", t)], times[("pycnn", t)], strict=True)]
        print(
            f"  pycnn / torch throughput, {t} thread(s): {med[('torch', t)] / med[('pycnn', t)]:.2f}x "
            f"(rounds {min(per_round):.2f}-{max(per_round):.2f})"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=8, help="interleaved rounds")
    ap.add_argument("--steps", type=int, default=4, help="calls of each side per round")
    ap.add_argument("--no-torch", action="store_true", help="time pycnn only")
    ap.add_argument(
        "--library",
        choices=["both", "pycnn", "torch"],
        default="both",
        help="time one library only (--separate-processes runs each on its own)",
    )
    ap.add_argument(
        "--separate-processes",
        action="store_true",
        help="training with 1 and 2 threads, each library in its own process, interleaved",
    )
    ap.add_argument("--json", action="store_true", help="last line: the medians as JSON")
    ap.add_argument("--profile", action="store_true", help="also print per-layer times")
    ap.add_argument("--no-memory", action="store_true", help="skip the fit peak-memory figure")
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="also time DIR/pycnn (e.g. an older commit, via git archive) in the "
        "same interleaved rounds, as 'before'",
    )
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall time: steadier on a busy "
        "machine, meaningful with one thread (OPENBLAS_NUM_THREADS=1)",
    )
    args = ap.parse_args(argv)
    if args.separate_processes:
        separate_processes(args.rounds, args.steps, args.batch)
        return
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time
        print("timing with process CPU time (time.process_time), not wall time")

    pools, threads = blas_info()
    print_environment(pools, threads)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, *INPUT_SHAPE), dtype=np.float32)
    y = rng.integers(0, CLASSES, args.batch).astype(np.intp)

    model = pycnn_model()
    want_torch = not args.no_torch and args.library != "pycnn"
    torch_fns = torch_side(threads, args.batch, x, y) if want_torch else None
    if torch_fns:
        print(f"  {torch_fns[2]}")

    train, infer = {}, {}
    if args.library != "torch":
        train["pycnn"] = lambda: model.train_on_batch(x, y)
        infer["pycnn"] = lambda: model.predict(x, batch_size=args.batch)
    if args.baseline:
        before = pycnn_model(package=load_baseline(args.baseline))
        print(f"  before: {args.baseline}/pycnn")
        train["before"] = lambda: before.train_on_batch(x, y)
        infer["before"] = lambda: before.predict(x, batch_size=args.batch)
    if torch_fns:
        train["torch"], infer["torch"] = torch_fns[0], torch_fns[1]
    for fn in (*train.values(), *infer.values()):  # warm up (allocator, BLAS threads)
        for _ in range(3):
            fn()

    train_times = interleaved(train, args.rounds, args.steps)
    report("Training step: forward + backward + Adam update", train_times, args.batch, args.steps)
    infer_times = interleaved(infer, args.rounds, args.steps)
    report("Inference: forward only", infer_times, args.batch, args.steps)
    if args.json:
        print(
            json.dumps(
                {
                    "train_ms": 1e3 * statistics.median(next(iter(train_times.values()))),
                    "infer_ms": 1e3 * statistics.median(next(iter(infer_times.values()))),
                }
            )
        )
        return

    if args.profile:
        profile_layers(model, x, y)
    if not args.no_memory:
        n = 10 * args.batch
        peak, before = fit_peak_memory(args.batch, n)
        print(
            f"\nPeak memory of fit (batch {args.batch}, {n} samples, 1 epoch): "
            f"{peak:.1f} MiB above the {before:.1f} MiB held before "
            "(tracemalloc: numpy buffers + Python objects)"
        )


if __name__ == "__main__":
    main()
