"""Keep a side task (redrawing the filters while training runs) under a share of the time.

A fixed refresh interval is too often on a slow phone and needlessly rare on a
fast laptop. :class:`Throttle` measures each refresh instead: one that took
``t`` seconds makes the next one due ``t / share`` seconds later, so refreshes
take at most ``share`` of the wall time on any device. A picture redrawn more
often than a few times a second is not seen any better, so ``interval`` also
sets the shortest time between two runs: with short training steps that, not
the share, is what keeps the cost down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["Throttle"]


class Throttle:
    """Run a task at most ``share`` of the time (0.10: 10 %), measured as it goes, and
    at most once every ``interval`` seconds.

    ::

        throttle = Throttle(0.10, interval=0.25)
        for event in model.fit_iter(...):
            if throttle.due():
                throttle.run(redraw_filters)

    ``clock`` returns seconds (``time.perf_counter`` by default; tests pass a fake).
    """

    def __init__(
        self,
        share: float = 0.10,
        interval: float = 0.0,
        clock: Callable[[], float] = time.perf_counter,
    ):
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1]. Received: share={share!r}")
        if interval < 0:
            raise ValueError(f"interval must be >= 0. Received: interval={interval!r}")
        self.share = share
        self.interval = interval
        self.clock = clock
        self.next_time = float("-inf")
        self.spent = 0.0  # seconds the task has taken so far

    def due(self) -> bool:
        """Whether running the task now keeps it within its share."""
        return self.clock() >= self.next_time

    def run(self, task: Callable[[], Any]) -> Any:
        """Run ``task`` now, time it, and schedule the next run; returns its result."""
        start = self.clock()
        try:
            return task()
        finally:
            end = self.clock()
            self.spent += end - start
            rest = (end - start) * (1 - self.share) / self.share
            self.next_time = max(end + rest, start + self.interval)

    def reset(self) -> None:
        """Make the task due again at once (e.g. a new model, another layer picked)."""
        self.next_time = float("-inf")
