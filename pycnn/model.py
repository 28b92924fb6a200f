"""The :class:`Sequential` model: a stack of layers, trained like Keras.

Shapes, names and parameter counts are settled when the model is created
(or a layer is added), before any data. Training is a generator of
:class:`~pycnn.events.TrainEvent` (:meth:`Sequential.fit_iter`) so a UI can
stream progress and stop by simply no longer iterating; :meth:`Sequential.fit`
runs it to the end and returns a Keras-like history dict.

Randomness comes only from ``seed``: one stream initialises the weights
(in layer order) and one drives shuffling and dropout. The same seed, data
and calls give the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import inputs, losses, optimizers, serialization, shapes, training
from .arguments import normalize_input_shape, normalize_positive_int, normalize_seed
from .check import LayerCheck, check_layers
from .errors import ModelError
from .events import TrainEvent
from .layers import ActivatedLayer, Dropout, Layer
from .layers.base import assign_default_names
from .layers.fused import plan_steps

__all__ = ["Sequential"]

#: Memory that predict, evaluate and fit's validation pass may use for one batch
#: when no batch size is given (see :meth:`Sequential.inference_batch_size`).
INFERENCE_MEMORY_BUDGET = 128 * 1024**2
#: The largest batch they run (small models fit hundreds in the budget).
MAX_INFERENCE_BATCH = 256


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer, optional
    input_shape : tuple of int, optional
        One example's shape without the batch size, e.g. ``(28, 28, 1)``.
        Without it the model is built on the first ``fit``/``predict``.
    seed : int or None, default 0
        Makes initial weights, shuffling and dropout reproducible.
        ``None`` draws fresh randomness from the OS.
    name : str, default "sequential"
    """

    def __init__(
        self,
        layers: list[Layer] | None = None,
        input_shape: tuple[int, ...] | None = None,
        seed: int | None = 0,
        name: str = "sequential",
    ) -> None:
        self.seed = normalize_seed(seed, "Model")
        self.name = name
        seed_seq = np.random.SeedSequence(self.seed)
        init_seq, train_seq = seed_seq.spawn(2)
        self._init_rng = np.random.default_rng(init_seq)
        self._train_seq = train_seq
        self._train_rng = np.random.default_rng(train_seq.spawn(1)[0])
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self._output_shapes: list[tuple[int, ...]] = []
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: str | None = None
        self.metrics: list[str] = []
        self._planned: tuple | None = None  # (layers, number built, their steps)
        if input_shape is not None:
            self.input_shape = normalize_input_shape(input_shape)
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building

    def add(self, layer: Layer) -> None:
        """Append a layer; with a known input shape it is checked and built now."""
        index = len(self.layers)
        if not isinstance(layer, Layer):
            raise ModelError(
                "only pycnn layers can be added to a Sequential model",
                "Use Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense or Dropout",
                f"{type(layer).__name__}: {layer!r}",
                layer_index=index,
            )
        if any(layer is other for other in self.layers):
            raise ModelError(
                "the same layer object is already in this model",
                "Create a new layer instead of reusing one",
                repr(layer),
                layer_index=index,
                layer_name=layer.name,
                layer_kind=layer.kind,
            )
        if layer.name and any(layer.name == other.name for other in self.layers):
            raise ModelError(
                "all layers in a model need unique names",
                "Give the layer another name, or leave name out for an automatic one",
                f"name={layer.name!r}",
                layer_index=index,
                layer_name=layer.name,
                layer_kind=layer.kind,
            )
        self.layers.append(layer)
        assign_default_names(self.layers)
        if isinstance(layer, Dropout) and layer.seed is None:
            layer.rng = np.random.default_rng(self._train_seq.spawn(1)[0])
        if self.input_shape is not None:
            try:
                self._build_layer(index)
            except ModelError:
                self.layers.pop()
                raise

    def _build_layer(self, index: int) -> None:
        layer = self.layers[index]
        in_shape = self._output_shapes[index - 1] if index else self.input_shape
        try:
            out_shape = layer.output_shape(in_shape)
            layer.build(in_shape, self._init_rng)
        except ModelError as err:
            raise err.located(index, layer.name, layer.kind) from None
        self._output_shapes.append(tuple(out_shape))

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Fix the input shape and build every layer (done for you when possible)."""
        if self.input_shape is not None:
            return
        self.input_shape = normalize_input_shape(input_shape)
        for index in range(len(self.layers)):
            self._build_layer(index)

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def _require_built(self, what: str) -> None:
        if self.input_shape is None:
            raise ModelError(
                f"{what} needs the input shape, which is not known yet",
                "Pass input_shape=(height, width, channels) to Sequential",
                "input_shape=None",
                layer_kind="Model",
            )
        if not self.layers:
            raise ModelError(
                f"{what} needs at least one layer",
                "Add layers, e.g. Flatten() and Dense(10)",
                "layers=[]",
                layer_kind="Model",
            )

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_built("output_shape")
        return self._output_shapes[-1]

    # ------------------------------------------------------------------ resources

    def summary(self) -> list[LayerCheck]:
        """Rows like Keras's ``model.summary()``: :func:`check_layers` of this built model."""
        self._require_built("summary()")
        return check_layers(self.layers, self.input_shape)

    def summary_text(self) -> str:
        """The summary as a plain-text table (for notebooks and logs)."""
        rows = self.summary()
        lines = [
            f'Model: "{self.name}"',
            f"{'Layer (type)':<32}{'Output Shape':<22}{'Param #':>10}",
        ]
        for r in rows:
            shape = shapes.batch_shape_text(r.output_shape)
            lines.append(f"{f'{r.name} ({r.kind})':<32}{shape:<22}{r.params:>10,}")
        lines.append(f"Total params: {self.count_params():,}")
        return "\n".join(lines)

    def count_params(self) -> int:
        return sum(row.params for row in self.summary())

    def count_macs(self) -> int:
        """Multiply-adds for one example's forward pass (backward is about 2x more)."""
        return sum(row.macs for row in self.summary())

    def activation_memory(self, batch_size: int) -> int:
        """Bytes of float32 activations plus their gradients for one training batch.

        Counts the input and every layer output, each twice (value and
        gradient). Temporary buffers of the kernels (e.g. im2col patches)
        and the parameters are not included. Without building a model:
        :func:`pycnn.shapes.activation_memory`.
        """
        batch_size = normalize_positive_int(batch_size, "batch_size", "Model")
        self._require_built("activation_memory()")
        return shapes.activation_memory(self.input_shape, self._output_shapes, batch_size)

    def inference_memory(self, batch_size: int) -> int:
        """Bytes of float32 arrays alive at once while one batch runs without training.

        Inference keeps nothing for a backward pass, so this is the largest
        layer's need (its input, output and kernel scratch, see
        :meth:`Layer.inference_floats`), not the sum over layers that
        :meth:`activation_memory` counts for training.
        """
        batch_size = normalize_positive_int(batch_size, "batch_size", "Model")
        self._require_built("inference_memory()")
        in_shapes = [self.input_shape, *self._output_shapes[:-1]]
        floats = max(layer.inference_floats(s) for layer, s in zip(self.layers, in_shapes))
        return shapes.FLOAT_BYTES * batch_size * floats

    def inference_batch_size(self, budget_bytes: int = INFERENCE_MEMORY_BUDGET) -> int:
        """The batch size ``predict``/``evaluate``/validation use when none is given.

        The most examples whose :meth:`inference_memory` fits ``budget_bytes``,
        at most :data:`MAX_INFERENCE_BATCH` and at least 1 (a model that needs
        more than the budget for one example runs one at a time).
        """
        budget_bytes = normalize_positive_int(budget_bytes, "budget_bytes", "Model")
        fits = budget_bytes // self.inference_memory(1)
        return int(min(MAX_INFERENCE_BATCH, max(1, fits)))

    # ------------------------------------------------------------------ compile

    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=None):
        """Choose the optimizer, the loss and the metrics (``["accuracy"]``)."""
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.normalize_name(loss)
        metrics = list(metrics or [])
        for m in metrics:
            if m not in ("accuracy", "acc"):
                raise ModelError(
                    "unknown metric",
                    "Use metrics=['accuracy']",
                    f"metrics={metrics!r}",
                    layer_kind="Model",
                )
        self.metrics = ["accuracy" for _ in metrics[:1]]
        if self.layers:
            self._check_output_layer()

    def _check_output_layer(self) -> None:
        index = len(self.layers) - 1
        last = self.layers[index]
        if not isinstance(last, ActivatedLayer) or last.activation not in ("softmax", "linear"):
            activation = getattr(last, "activation", None)
            raise ModelError(
                "the last layer must output class scores for sparse_categorical_crossentropy",
                "End the model with Dense(number_of_classes, activation='softmax')",
                f"last layer {last.kind}"
                + (f" with activation='{activation}'" if activation else ""),
                layer_index=index,
                layer_name=last.name,
                layer_kind=last.kind,
            )
        if self.built and len(self._output_shapes[-1]) != 1:
            raise ModelError(
                "the last layer must output one score per class, a flat vector",
                "Add Flatten() and Dense(number_of_classes, activation='softmax') at the end",
                f"output_shape={self._output_shapes[-1]}",
                layer_index=index,
                layer_name=last.name,
                layer_kind=last.kind,
            )

    # ------------------------------------------------------------------ data checks

    def _prepare_x(self, x: Any, arg: str = "x") -> np.ndarray:
        if not self.layers:
            raise ModelError(
                "the model has no layers",
                "Add layers, e.g. Flatten() and Dense(10, activation='softmax')",
                "layers=[]",
                layer_kind="Model",
            )
        x = inputs.float_array(x, arg)
        if not self.built:
            if x.ndim < 2:
                raise ModelError(
                    f"{arg} must be a batch of examples (N, ...)",
                    "Pass input_shape to Sequential, or a batch such as (N, 28, 28, 1)",
                    f"{arg}.shape={x.shape}",
                    layer_kind="Input",
                )
            self.build(x.shape[1:])
        return inputs.images(x, self.input_shape, arg)

    def _prepare_y(self, y: Any, n: int, arg: str = "y") -> np.ndarray:
        self._require_built("training")
        y = inputs.class_labels(y, n, arg)
        index = len(self.layers) - 1
        inputs.check_label_range(y, self._output_shapes[-1][-1], index, self.layers[index])
        return y

    # ------------------------------------------------------------------ training

    def _steps(self) -> list:
        """The layers as training and prediction run them (see :func:`plan_steps`).

        Planned again only when the layers change: a step keeps buffers from one batch
        to the next (:class:`pycnn.ops.Scratch`).
        """
        layers, built = tuple(self.layers), len(self._output_shapes)
        if self._planned is None or self._planned[:2] != (layers, built):
            self._planned = (layers, built, plan_steps(self.layers, self._output_shapes))
        return self._planned[2]

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """One optimizer step on prepared arrays; returns (loss, accuracy) of the batch."""
        return training.train_step(self._steps(), self.layers, self.optimizer, x, y)

    def fit_iter(
        self,
        x,
        y,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        validation_batch_size: int | None = None,
    ) -> Iterator[TrainEvent]:
        """Train, yielding a :class:`TrainEvent` after each batch and each epoch.

        With validation data, each epoch's validation pass also yields a
        ``"validation"`` progress event before each of its batches (see
        :class:`TrainEvent`), so stopping never waits for a whole pass. It
        runs in batches of ``validation_batch_size`` examples, by default
        :meth:`inference_batch_size`, so ``val_loss`` equals
        ``evaluate(x_val, y_val)``.

        Arguments are checked immediately (not on the first ``next``). Like
        Keras, ``validation_split`` holds out the *last* fraction of ``x``
        before shuffling. To stop early, stop iterating (``break``); the
        weights keep the updates done so far.
        """
        if self.optimizer is None:
            raise ModelError(
                "the model must be compiled before training",
                "Call model.compile(optimizer=Adam(1e-3), "
                "loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
                "optimizer=None",
                layer_kind="Model",
            )
        epochs = normalize_positive_int(epochs, "epochs", "Model")
        batch_size = normalize_positive_int(batch_size, "batch_size", "Model")
        x = self._prepare_x(x)
        self._check_output_layer()
        y = self._prepare_y(y, x.shape[0])
        validation = None
        if validation_data is not None:
            vx, vy = inputs.validation_pair(validation_data)
            vx = self._prepare_x(vx, "x_val")
            validation = (vx, self._prepare_y(vy, vx.shape[0], "y_val"))
        elif validation_split:
            x, y, validation = inputs.split_validation(x, y, validation_split)
        return training.fit_events(
            self.train_on_batch,
            self._steps(),
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            validation=validation,
            validation_batch_size=self._inference_batch(
                validation_batch_size, "validation_batch_size"
            ),
            shuffle=bool(shuffle),
            rng=self._train_rng,
        )

    def fit(
        self,
        x,
        y,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        verbose: int = 0,
        validation_batch_size: int | None = None,
    ) -> dict[str, list[float]]:
        """Train to the end; returns ``{"loss": [...], "accuracy": [...], "val_loss": ...}``.

        ``accuracy`` keys appear when compiled with ``metrics=["accuracy"]``,
        ``val_*`` keys with validation data. ``verbose`` is accepted for
        Keras compatibility and ignored (the library never prints).
        """
        events = self.fit_iter(
            x,
            y,
            epochs,
            batch_size,
            validation_split,
            validation_data,
            shuffle,
            validation_batch_size,
        )
        return training.history(events, with_accuracy=bool(self.metrics))

    # ------------------------------------------------------------------ inference

    def _inference_batch(self, batch_size: int | None, arg: str = "batch_size") -> int:
        if batch_size is None:
            return self.inference_batch_size()
        return normalize_positive_int(batch_size, arg, "Model")

    def predict(self, x, batch_size: int | None = None) -> np.ndarray:
        """Outputs of the last layer (class probabilities for softmax), float32.

        Runs in batches of ``batch_size`` examples, by default
        :meth:`inference_batch_size`.
        """
        x = self._prepare_x(x)
        batch_size = self._inference_batch(batch_size)
        return training.predict_batches(self._steps(), x, batch_size)

    def evaluate(self, x, y, batch_size: int | None = None) -> tuple[float, float]:
        """``(loss, accuracy)`` over the whole set (batch-size weighted means).

        Runs in batches of ``batch_size`` examples, by default
        :meth:`inference_batch_size`.
        """
        x = self._prepare_x(x)
        self._check_output_layer()
        y = self._prepare_y(y, x.shape[0])
        batch_size = self._inference_batch(batch_size)
        *_, (n, loss_sum, correct) = training.evaluate_batches(self._steps(), x, y, batch_size)
        return loss_sum / n, correct / n

    def activations(self, x) -> dict[str, np.ndarray]:
        """Every layer's output for ``x`` (inference mode), keyed by layer name, in order."""
        x = self._prepare_x(x)
        outputs = {}
        for layer in self.layers:
            x = layer.forward(x, training=False)
            outputs[layer.name] = x
        return outputs

    # ------------------------------------------------------------------ weights and config

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all parameters in layer order (kernel, bias per layer)."""
        return [layer.params[k].copy() for layer in self.layers for k in layer.trainable_keys]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        serialization.set_model_weights(self, weights)

    def to_config(self) -> dict:
        return serialization.model_to_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        return serialization.model_from_config(config, cls)

    def save_weights(self, file) -> None:
        serialization.save_weights(self, file)

    def load_weights(self, file) -> None:
        serialization.load_weights(self, file)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], input_shape={self.input_shape}, seed={self.seed})"
