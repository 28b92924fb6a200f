#!/usr/bin/env python3
"""Learning benchmark: does pycnn learn as well as PyTorch on the shipped data?

Two tasks, each trained with pycnn and with the same architecture, data,
initialisation scheme and settings in PyTorch (skipped with a message when
torch is not installed):

* ``mnist``  -- Keras's "Simple MNIST convnet":
  Conv2D(32,3,relu) - MaxPool(2) - Conv2D(64,3,relu) - MaxPool(2) - Flatten -
  Dropout(0.5) - Dense(10,softmax); Adam(1e-3), batch 128, 5 epochs,
  validation_split=0.1, on the shipped MNIST subset (20,000 train images, the
  full 10,000-image test set). Goals: pycnn >= 97 % test accuracy and within
  0.5 points of PyTorch.
* ``digits`` -- a small model Conv2D(8,3,relu) - MaxPool(2) - Flatten -
  Dense(10,softmax); Adam(1e-2), batch 32, 20 epochs, validation_split=0.1, on
  the 8x8 digits (1,497 train / 300 test). Goal: >= 95 %.

PyTorch side, matched to Keras/pycnn: glorot-uniform kernels and zero biases,
Adam epsilon 1e-7, the validation split is the *last* 10 % of the training
images (taken before shuffling, like Keras), the rest is reshuffled every epoch.

Usage::

    python3 benchmarks/bench_learning.py                    # both tasks, seed 0
    python3 benchmarks/bench_learning.py --seeds 0,1,2      # several seeds, means
    python3 benchmarks/bench_learning.py --only digits --no-torch

Prints figures; never run as a test. Wall times are only indicative (the speed
benchmark is ``benchmarks/bench_engine.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

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
)


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str
    epochs: int
    batch_size: int
    learning_rate: float
    validation_split: float
    goal: float  # minimum pycnn test accuracy
    max_gap: float | None  # maximum |pycnn - torch| in accuracy points, if checked
    build_pycnn: Callable[[tuple[int, int, int], int], Sequential]
    build_torch: Callable[[], object]  # returns a torch.nn.Module
    description: str


def keras_mnist_convnet(input_shape, seed):
    return Sequential(
        [
            Conv2D(32, 3, activation="relu"),
            MaxPooling2D(2),
            Conv2D(64, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dropout(0.5),
            Dense(10, activation="softmax"),
        ],
        input_shape=input_shape,
        seed=seed,
    )


def small_digits_model(input_shape, seed):
    return Sequential(
        [
            Conv2D(8, 3, activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(10, activation="softmax"),
        ],
        input_shape=input_shape,
        seed=seed,
    )


def torch_mnist_convnet():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(5 * 5 * 64, 10),
    )  # softmax is in the loss


def torch_small_digits():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 8, 10)
    )


TASKS = {
    "mnist": Task(
        "mnist",
        "mnist",
        epochs=5,
        batch_size=128,
        learning_rate=1e-3,
        validation_split=0.1,
        goal=0.97,
        max_gap=0.5,
        build_pycnn=keras_mnist_convnet,
        build_torch=torch_mnist_convnet,
        description="Keras 'Simple MNIST convnet' (34,826 params), Adam(1e-3), "
        "batch 128, 5 epochs, validation_split=0.1",
    ),
    "digits": Task(
        "digits",
        "digits",
        epochs=20,
        batch_size=32,
        learning_rate=1e-2,
        validation_split=0.1,
        goal=0.95,
        max_gap=None,
        build_pycnn=small_digits_model,
        build_torch=torch_small_digits,
        description="Conv2D(8,3)-MaxPool(2)-Flatten-Dense(10) (810 params), "
        "Adam(1e-2), batch 32, 20 epochs, validation_split=0.1",
    ),
}


def log(message: str) -> None:
    print(message, flush=True)


def run_pycnn(task: Task, data, seed: int) -> tuple[float, float]:
    (x_train, y_train), (x_test, y_test), _ = data
    model = task.build_pycnn(x_train.shape[1:], seed)
    model.compile(
        optimizer=Adam(task.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    for event in model.fit_iter(
        x_train,
        y_train,
        epochs=task.epochs,
        batch_size=task.batch_size,
        validation_split=task.validation_split,
    ):
        if event.kind == "epoch" and (
            event.epoch == task.epochs or task.epochs <= 5 or event.epoch % 5 == 0
        ):
            log(
                f"    pycnn epoch {event.epoch:2d}/{event.epochs}: loss {event.loss:.4f} "
                f"acc {event.accuracy:.4f} val_acc {event.val_accuracy:.4f} "
                f"({event.samples_per_sec:,.0f} img/s, {event.elapsed:.0f} s)"
            )
    elapsed = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test)
    return accuracy, elapsed


def run_torch(task: Task, data, seed: int) -> tuple[float, float]:
    import torch
    from torch import nn

    (x_train, y_train), (x_test, y_test), _ = data
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    split_at = int(len(x_train) * (1 - task.validation_split))  # Keras: last fraction is val

    def nchw(x):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    x_fit, y_fit = nchw(x_train[:split_at]), torch.from_numpy(y_train[:split_at])
    x_val, y_val = nchw(x_train[split_at:]), torch.from_numpy(y_train[split_at:])

    model = task.build_torch()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)  # = Keras glorot_uniform
            nn.init.zeros_(module.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=task.learning_rate, eps=1e-7)

    def accuracy(x, y):
        model.eval()
        with torch.no_grad():
            return float((model(x).argmax(1) == y).float().mean())

    start = time.perf_counter()
    for epoch in range(1, task.epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_fit)))
        loss_sum = correct = 0.0
        for i in range(0, len(order), task.batch_size):
            idx = order[i : i + task.batch_size]
            optimizer.zero_grad()
            logits = model(x_fit[idx])
            loss = nn.functional.cross_entropy(logits, y_fit[idx])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += float((logits.argmax(1) == y_fit[idx]).sum())
        if epoch == task.epochs or task.epochs <= 5 or epoch % 5 == 0:
            log(
                f"    torch epoch {epoch:2d}/{task.epochs}: loss {loss_sum / len(order):.4f} "
                f"acc {correct / len(order):.4f} val_acc {accuracy(x_val, y_val):.4f} "
                f"({time.perf_counter() - start:.0f} s)"
            )
    elapsed = time.perf_counter() - start
    return accuracy(nchw(x_test), torch.from_numpy(y_test)), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="mnist,digits", help="comma-separated: mnist, digits")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's own choice)",
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names:
        if name not in TASKS:
            parser.error(f"unknown task {name!r}; choose from {list(TASKS)}")

    torch_ok = False
    if args.no_torch:
        log("PyTorch side skipped (--no-torch).")
    else:
        try:
            import torch

            if args.threads:
                torch.set_num_threads(args.threads)
            torch_ok = True
            log(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)")
        except ImportError:
            log(
                "PyTorch is not installed: skipping the PyTorch side "
                "(pip install torch==2.13.0 into a scratch venv to compare)."
            )
    log(f"numpy {np.__version__}, python {sys.version.split()[0]}")

    results = []
    for name in names:
        task = TASKS[name]
        data = datasets.load(task.dataset)
        (x_train, _), (x_test, _), _ = data
        log(f"\n[{name}] {task.description}")
        log(
            f"  data: {len(x_train):,} train images (last {task.validation_split:.0%} held out "
            f"for validation), {len(x_test):,} test images, shape {x_train.shape[1:]}"
        )
        for seed in seeds:
            log(f"  seed {seed}")
            acc_p, t_p = run_pycnn(task, data, seed)
            log(f"    pycnn test accuracy {acc_p:.2%} ({t_p:.0f} s)")
            acc_t = t_t = None
            if torch_ok:
                acc_t, t_t = run_torch(task, data, seed)
                log(f"    torch test accuracy {acc_t:.2%} ({t_t:.0f} s)")
            results.append((task, seed, acc_p, acc_t))

    log("\nsummary (test accuracy)")
    log(f"  {'task':<7} {'seed':>4} {'pycnn':>8} {'torch':>8} {'diff':>7}  goal")
    ok = True
    for task in (TASKS[n] for n in names):
        rows = [r for r in results if r[0] is task]
        for _, seed, acc_p, acc_t in rows:
            torch_s = f"{acc_t:8.2%}" if acc_t is not None else f"{'-':>8}"
            diff_s = f"{(acc_p - acc_t) * 100:+6.2f}p" if acc_t is not None else f"{'-':>7}"
            log(f"  {task.name:<7} {seed:>4} {acc_p:8.2%} {torch_s} {diff_s}")
        mean_p = float(np.mean([r[2] for r in rows]))
        torch_accs = [r[3] for r in rows if r[3] is not None]
        mean_t = float(np.mean(torch_accs)) if torch_accs else None
        verdicts = [f"pycnn >= {task.goal:.0%}: {'yes' if mean_p >= task.goal else 'NO'}"]
        if task.max_gap is not None and mean_t is not None:
            gap = abs(mean_p - mean_t) * 100
            verdicts.append(
                f"|pycnn - torch| <= {task.max_gap} points: "
                f"{'yes' if gap <= task.max_gap else 'NO'} ({gap:.2f})"
            )
            ok &= gap <= task.max_gap
        ok &= mean_p >= task.goal
        mean_t_s = f"{mean_t:8.2%}" if mean_t is not None else f"{'-':>8}"
        diff_s = f"{(mean_p - mean_t) * 100:+6.2f}p" if mean_t is not None else f"{'-':>7}"
        log(
            f"  {task.name:<7} {'mean':>4} {mean_p:8.2%} {mean_t_s} {diff_s}  "
            + "; ".join(verdicts)
        )
    log("\nall goals met" if ok else "\nSOME GOALS NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
