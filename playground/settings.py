"""Every value a share link carries besides the layers, each described once.

One row of ``SETTINGS`` per value: its URL key, type, bounds or choices,
default, the :class:`PlaygroundState` parameter it sets and what it means.
The rest is derived from this table: the parameters themselves
(:class:`Settings`, which ``PlaygroundState`` extends), reading a link
(:meth:`Setting.check`, the same checks as a layer argument), writing one
(``links.format_query``) and what the share link watches (``links.LINK_PARAMS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import param

from playground.presets import DEFAULT_DATASET
from playground.spec import Arg
from pycnn.datasets import available as available_datasets

__all__ = ["BY_KEY", "DATASETS", "SETTINGS", "Setting", "Settings"]

# What each dataset is (title, input shape, classes, sizes, credit) comes from pycnn's
# registry, without loading any data; DATASETS is its display order.
DATASETS = tuple(available_datasets())


@dataclass(frozen=True)
class Setting(Arg):
    """A link value: an :class:`~playground.spec.Arg` named by its URL key, plus its parameter."""

    param: str = ""  # the PlaygroundState parameter it sets
    doc: str = ""
    step: float | None = None  # of the parameter (widgets step by it)
    omit_default: bool = False  # written into a link only when it is not the default

    def make_param(self) -> param.Parameter:
        if self.choices:
            return param.Selector(objects=list(self.choices), default=self.default, doc=self.doc)
        bounds = (self.low, self.high)
        if self.type is int:
            return param.Integer(default=self.default, bounds=bounds, doc=self.doc)
        return param.Number(default=self.default, bounds=bounds, step=self.step, doc=self.doc)

    def text(self, value: Any) -> str:
        """``value`` as written in a link."""
        return f"{value:g}" if isinstance(value, float) else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "dataset", str, DEFAULT_DATASET, choices=DATASETS, param="dataset", doc="Training images"
    ),
    Setting("epochs", int, 5, 1, 100, param="epochs", doc="Passes over the training images"),
    Setting("batch", int, 32, 1, 1024, param="batch_size", doc="Images per weight update"),
    Setting("lr", float, 0.01, 1e-6, 1.0, param="learning_rate", doc="Step size of each update"),
    Setting(
        "optimizer",
        str,
        "adam",
        choices=("adam", "sgd"),
        param="optimizer",
        doc="adam, or sgd with momentum 0.9",
    ),
    Setting("seed", int, 0, 0, 2**31 - 1, param="seed", doc="Random seed: same seed, same result"),
    Setting(
        "val",
        float,
        0.1,
        0.0,
        0.5,
        param="validation_split",
        doc="Share of training images held out",
        step=0.05,
        omit_default=True,  # DESIGN.md's link format has no 'val'
    ),
)
BY_KEY = {s.name: s for s in SETTINGS}


class Settings(param.Parameterized):
    """One parameter per row of ``SETTINGS`` (added below, from the table)."""


for _setting in SETTINGS:
    Settings.param.add_parameter(_setting.param, _setting.make_param())
