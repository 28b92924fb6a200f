"""After training: the test set's confusion matrix, per-class accuracy and mistakes.

Computed in batches by a generator (:func:`evaluate_test_set`), so a page
without threads can update a progress bar and stay responsive between
batches; the batch size keeps the temporary arrays under a memory budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..activations import softmax
from .base import NothingToShow

__all__ = [
    "EVALUATION_MEMORY",
    "EvaluationProgress",
    "EvaluationResults",
    "Mistake",
    "evaluate_test_set",
    "evaluation_batch_size",
]

#: bytes of float32 temporaries one evaluation batch may use (inputs, every
#: layer output, the im2col matrices): small next to a browser tab's memory
EVALUATION_MEMORY = 16 * 2**20
MAX_BATCH = 512

NOT_TRAINED = NothingToShow(
    "not-trained",
    "Train the model first: the confusion matrix and the mistakes come from a trained model.",
)


@dataclass(frozen=True)
class Mistake:
    """One test image the model got wrong (or any test image, see :meth:`EvaluationResults.example`).

    ``probabilities``: float32 ``(classes,)``, the model's output for the image.
    """

    index: int
    true: int
    predicted: int
    probabilities: np.ndarray

    @property
    def confidence(self) -> float:
        """The probability given to the predicted class."""
        return float(self.probabilities[self.predicted])


@dataclass(frozen=True)
class EvaluationResults:
    """The model's answers on the whole test set.

    Attributes
    ----------
    class_names : tuple of str
        ``K`` names; label ``k`` is ``class_names[k]``.
    labels : ndarray, int64, shape (N,)
        True classes.
    predictions : ndarray, int64, shape (N,)
        ``argmax`` of the output (the class :meth:`pycnn.Sequential.evaluate` counts).
    probabilities : ndarray, float32, shape (N, K)
        Class probabilities (softmax of the output for a ``linear`` last layer).
    confusion : ndarray, int64, shape (K, K)
        ``confusion[t, p]`` counts test images of class ``t`` predicted as ``p``:
        rows are true classes, columns predictions.
    """

    class_names: tuple[str, ...]
    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    confusion: np.ndarray

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    @property
    def accuracy(self) -> float:
        """Fraction right: the diagonal's sum over ``n``."""
        return float(np.trace(self.confusion)) / self.n

    @property
    def class_counts(self) -> np.ndarray:
        """int64 ``(K,)``: test images per true class (the row sums)."""
        return self.confusion.sum(axis=1)

    @property
    def row_normalised(self) -> np.ndarray:
        """float64 ``(K, K)``: each row divided by its class count (rows of absent classes are 0)."""
        counts = self.class_counts[:, None]
        return self.confusion / np.maximum(counts, 1)

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """float64 ``(K,)``: fraction right per true class; NaN for a class with no test image."""
        counts = self.class_counts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, np.diag(self.confusion) / counts, np.nan)

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Test-set indices (ascending, int64) of the images in cell ``[true, predicted]``."""
        return np.flatnonzero((self.labels == true) & (self.predictions == predicted))

    def example(self, index: int) -> Mistake:
        """True class, prediction and probabilities of test image ``index``."""
        return Mistake(
            int(index),
            int(self.labels[index]),
            int(self.predictions[index]),
            self.probabilities[index],
        )

    def mistakes(self, limit: int | None = None) -> list[Mistake]:
        """The misclassified images, the most confidently wrong first (ties: lower index first)."""
        wrong = np.flatnonzero(self.labels != self.predictions)
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        order = wrong[np.argsort(-confidence, kind="stable")]
        return [self.example(i) for i in order[:limit]]


@dataclass(frozen=True)
class EvaluationProgress:
    """Yielded after each batch: ``done`` of ``total`` images; ``results`` on the last one."""

    done: int
    total: int
    results: EvaluationResults | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def _floats_per_example(model) -> int:
    """float32 values one example needs at once in a forward pass (outputs + im2col rows)."""
    total = int(np.prod(model.input_shape))
    in_shape = model.input_shape
    for layer, row in zip(model.layers, model.summary()):
        total += int(np.prod(row.output_shape))
        if layer.kind == "Conv2D":
            kh, kw = layer.kernel_size
            h_out, w_out, _ = row.output_shape
            total += h_out * w_out * (kh * kw * in_shape[-1] + 1)
        in_shape = row.output_shape
    return total


def evaluation_batch_size(model, memory_bytes: int = EVALUATION_MEMORY) -> int:
    """Images per batch so a forward pass's float32 temporaries stay under ``memory_bytes``.

    Between 1 and ``MAX_BATCH`` (512). For the Keras MNIST convnet that is 51
    images (about 330 kB each); for the starter model on 8×8 digits, 512.
    """
    per_example = 4 * _floats_per_example(model)
    return int(min(MAX_BATCH, max(1, memory_bytes // per_example)))


def evaluate_test_set(
    model,
    x,
    y,
    class_names: Sequence[str] | None = None,
    batch_size: int | None = None,
) -> Iterator[EvaluationProgress] | NothingToShow:
    """Run the model over the test set batch by batch.

    Parameters
    ----------
    model : pycnn.Sequential or None
        A trained model (None: nothing to show yet).
    x : array, float32, shape (N, H, W, C)
    y : array of int, shape (N,)
    class_names : sequence of str, optional
        Default: ``"0"``, ``"1"``, ... one per model output.
    batch_size : int, optional
        Default :func:`evaluation_batch_size`.

    Returns
    -------
    iterator of EvaluationProgress, or NothingToShow
        The arguments are checked now; the work happens while iterating. The
        last item carries the :class:`EvaluationResults`::

            for step in evaluate_test_set(model, x_test, y_test, names):
                show_progress(step.fraction)
            results = step.results
    """
    if model is None or not model.built:
        return NOT_TRAINED
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape[:1] == (0,) or x.ndim == 0:
        return NothingToShow("no-data", "There are no test images to evaluate.")
    if x.shape[1:] != tuple(model.input_shape):
        return NothingToShow(
            "bad-input",
            f"The test images have shape {x.shape[1:]} but the model expects "
            f"{tuple(model.input_shape)}.",
        )
    if not np.issubdtype(x.dtype, np.floating):
        return NothingToShow(
            "bad-input", f"The test images must hold floats in [0, 1], not {x.dtype}."
        )
    classes = model.output_shape[-1]
    if y.shape != (x.shape[0],) or y.min() < 0 or y.max() >= classes:
        return NothingToShow(
            "bad-input",
            f"The test labels must be {x.shape[0]} class numbers from 0 to {classes - 1}.",
        )
    names = tuple(class_names) if class_names is not None else tuple(map(str, range(classes)))
    if len(names) != classes:
        return NothingToShow(
            "bad-input",
            f"The model has {classes} outputs but the dataset has {len(names)} classes: "
            f"end the model with Dense({len(names)}, activation='softmax').",
        )
    size = batch_size or evaluation_batch_size(model)
    return _evaluate(model, x, y.astype(np.int64), names, size)


def _evaluate(model, x, y, names, batch_size) -> Iterator[EvaluationProgress]:
    n, k = x.shape[0], len(names)
    probabilities = np.empty((n, k), dtype=np.float32)
    softmax_output = getattr(model.layers[-1], "activation", None) == "softmax"
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        out = model.predict(x[start:stop], batch_size=batch_size)
        probabilities[start:stop] = out if softmax_output else softmax(out)
        if stop < n:
            yield EvaluationProgress(stop, n)
    predictions = probabilities.argmax(axis=1).astype(np.int64)
    # bincount takes platform integers only: int32 in the browser (wasm32), where int64 fails
    cells = (y * k + predictions).astype(np.intp)
    confusion = np.bincount(cells, minlength=k * k).reshape(k, k)
    yield EvaluationProgress(
        n, n, EvaluationResults(names, y, predictions, probabilities, confusion.astype(np.int64))
    )
