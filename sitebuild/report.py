"""What the build tells its user: progress lines, and the error that ends a step."""

from __future__ import annotations


class StepError(Exception):
    """A build step failed: which step, why, and what the user can do about it."""

    def __init__(self, step: str, why: str, fix: str = "") -> None:
        super().__init__(f"{step}: {why}")
        self.step, self.why, self.fix = step, why, fix


def log(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def detail(msg: str) -> None:
    print(f"    {msg}", flush=True)
