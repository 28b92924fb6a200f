"""The starting points a learner can load in one click, and the default model."""

from __future__ import annotations

from dataclasses import dataclass, field

from playground.spec import Block, parse_layers

__all__ = ["DEFAULT_DATASET", "DEFAULT_LAYERS", "PRESETS", "Preset", "default_blocks"]

# The first model a learner sees: small enough to train on digits in about a second.
DEFAULT_LAYERS = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"
DEFAULT_DATASET = "digits"


def default_blocks() -> list[Block]:
    return parse_layers(DEFAULT_LAYERS)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    layers: str
    blurb: str
    # The smallest input side this architecture works on; if the current dataset
    # is smaller, loading the preset switches to `dataset`.
    min_side: int = 1
    dataset: str = "mnist"
    settings: dict = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "starter",
            "Tiny starter",
            DEFAULT_LAYERS,
            "one convolution, one pooling, one Dense: trains in seconds",
        ),
        Preset(
            "lenet",
            "LeNet-style",
            "conv2d:6:5:padding=same:activation=tanh,avgpool:2,conv2d:16:5:activation=tanh,avgpool:2,"
            "flatten,dense:120:tanh,dense:84:tanh,dense:10:softmax",
            "LeCun's 1998 design: two convolution + average-pooling stages, then three Dense layers",
            min_side=16,
        ),
        Preset(
            "keras",
            "Keras “Simple MNIST convnet”",
            "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax",
            "the example from keras.io: 34,826 parameters, about 99 % on MNIST",
            min_side=22,
            settings={
                "optimizer": "adam",
                "batch_size": 128,
                "learning_rate": 0.001,
                "validation_split": 0.1,
            },
        ),
        Preset(
            "dense",
            "Dense only",
            "flatten,dense:128,dense:10:softmax",
            "no convolution at all: compare its parameter count with the CNN's",
        ),
    )
}
