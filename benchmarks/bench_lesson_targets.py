"""Are the lesson's validation-loss targets reachable? Prints the measured figures.

For every step with a target, trains the models a learner typically has at that
step (``TARGET_MODELS`` in playground/lesson/content.py) on the lesson's dataset
with the page's default training settings — exactly what one press of Train
does, through the page's own ``TrainingController`` — for several seeds, and prints per model: the best
validation loss of the run (median and worst over the seeds), the target, the
margin (target / worst), how many seeds missed, and the median time of a run
natively (wall clock and CPU) with a browser estimate: CPU × 16
(docs/PERFORMANCE.md measured pycnn in Pyodide 6–16× slower than native).

    .venv/bin/python benchmarks/bench_lesson_targets.py [--seeds 20]

The figures go to docs/LESSON.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time

from playground.lesson.content import LESSON_DATASET, STEPS, TARGET_MODELS
from playground.spec import parse_layers
from playground.state import PlaygroundState
from playground.training import TrainingController

BROWSER_SLOWDOWN = 16  # worst native/Pyodide ratio in docs/PERFORMANCE.md


def _load(name: str):
    from pycnn.datasets import load

    return load(name)


def one_press(layers: str, seed: int) -> tuple[float, float, float]:
    """Best validation loss, wall-clock and CPU seconds of one Train press with the default
    settings (CPU time is what a busy shared machine distorts least)."""
    state = PlaygroundState(dataset=LESSON_DATASET, layers=parse_layers(layers), seed=seed)
    controller = TrainingController(state, dataset_loader=_load)
    losses: list[float] = []
    controller.listeners.append(
        lambda p: losses.append(p.val_loss) if p.kind == "epoch" and p.val_loss else None
    )
    started, cpu = time.perf_counter(), time.process_time()
    outcome = asyncio.run(controller.train())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if outcome != "done":
        raise RuntimeError(f"{layers} seed {seed}: training ended with {outcome}")
    return min(v for v in losses if math.isfinite(v)), seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per model")
    args = parser.parse_args()
    defaults = PlaygroundState()
    print(
        f"dataset {LESSON_DATASET}; defaults: {defaults.epochs} epochs, batch "
        f"{defaults.batch_size}, {defaults.optimizer} lr {defaults.learning_rate:g}, validation "
        f"split {defaults.validation_split:g}; seeds 0..{args.seeds - 1}"
    )
    header = (
        f"{'step':>4} {'target':>6}  {'median':>6} {'worst':>6} {'margin':>6} {'missed':>6}"
        f"  {'wall s':>6} {'cpu s':>5} {'browser':>8}  model"
    )
    print(header)
    for step in STEPS:
        if step.target is None:
            continue
        for layers in TARGET_MODELS[step.number]:
            runs = [one_press(layers, seed) for seed in range(args.seeds)]
            best = [b for b, _, _ in runs]
            wall = statistics.median(s for _, s, _ in runs)
            cpu = statistics.median(c for _, _, c in runs)
            worst = max(best)
            missed = sum(1 for b in best if b >= step.target)
            print(
                f"{step.number:>4} {step.target:>6.2f}  {statistics.median(best):>6.3f} "
                f"{worst:>6.3f} {step.target / worst:>5.2f}× {missed:>6}  "
                f"{wall:>6.2f} {cpu:>5.2f} {cpu * BROWSER_SLOWDOWN:>7.1f}s  {layers}",
                flush=True,
            )


if __name__ == "__main__":
    main()
