"""Inference (predict, evaluate, fit's validation) keeps no activations and sizes its batches
from a memory budget, so a model that trains at batch 1 cannot exhaust memory when evaluated."""

import tracemalloc

import numpy as np
import pytest

from pycnn import SGD, Conv2D, Dense, Flatten, MaxPooling2D, ModelError, Sequential
from pycnn.model import INFERENCE_MEMORY_BUDGET, MAX_INFERENCE_BATCH

MB = 1024**2


def wide_deep_model() -> Sequential:
    """256 feature maps of 28x28 through 60 size-1 pools: ~0.8 MB per layer per image.

    Keeping every layer's output for a batch of 256 would take over 12 GB.
    """
    layers = [Conv2D(256, 1, activation="relu")]
    layers += [MaxPooling2D(1) for _ in range(60)]
    layers += [Flatten(), Dense(10, activation="softmax")]
    model = Sequential(layers, input_shape=(28, 28, 1), seed=0)
    model.compile(SGD(0.01))
    return model


def mnist_shaped(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def reference_loss_and_accuracy(model: Sequential, x: np.ndarray, y: np.ndarray):
    """One image at a time in float64, written out by hand: 1x1 conv, ReLU, identity pools,
    flatten, dense, log-softmax."""
    conv, dense = model.layers[0], model.layers[-1]
    k = conv.params["kernel"][0, 0, 0].astype(np.float64)  # (256,)
    b = conv.params["bias"].astype(np.float64)
    w = dense.params["kernel"].astype(np.float64)  # (28*28*256, 10)
    c = dense.params["bias"].astype(np.float64)
    losses, hits = [], []
    for image, label in zip(x, y):
        maps = np.maximum(image.astype(np.float64) * k + b, 0)  # (28, 28, 256)
        scores = maps.reshape(-1) @ w + c
        log_p = scores - scores.max() - np.log(np.exp(scores - scores.max()).sum())
        losses.append(-log_p[label])
        hits.append(scores.argmax() == label)
    return float(np.mean(losses)), float(np.mean(hits))


def test_a_model_that_trains_at_batch_1_evaluates_within_the_budget():
    model = wide_deep_model()
    assert model.activation_memory(1) < 100 * MB  # what a size guard at batch 1 sees
    batch = model.inference_batch_size()
    assert 1 < batch < MAX_INFERENCE_BATCH
    assert model.inference_memory(batch) <= INFERENCE_MEMORY_BUDGET
    assert model.inference_memory(batch + 1) > INFERENCE_MEMORY_BUDGET

    x, y = mnist_shaped(260)  # more than one batch of the old fixed 256
    tracemalloc.start()
    try:
        loss, accuracy = model.evaluate(x, y)
        probabilities = model.predict(x[:10])
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # keeping activations for 256 images would be >12 GB; the budget bounds one batch
    assert peak <= INFERENCE_MEMORY_BUDGET, f"peak {peak / MB:.0f} MB"
    assert after - probabilities.nbytes < 1 * MB  # no layer holds on to an array afterwards

    expected_loss, expected_accuracy = reference_loss_and_accuracy(model, x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == expected_accuracy
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_validation_inside_fit_uses_the_budgeted_batch_and_keeps_nothing():
    model = wide_deep_model()
    x, y = mnist_shaped(2)
    x_val, y_val = mnist_shaped(60, seed=1)
    batch = model.inference_batch_size()
    tracemalloc.start()
    try:
        events = list(model.fit_iter(x, y, batch_size=1, validation_data=(x_val, y_val)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    validation = [e for e in events if e.kind == "validation"]
    assert [e.val_seen for e in validation] == list(range(0, 60, batch))
    # one training step's activations and caches plus one budgeted validation batch
    assert peak <= 2 * model.activation_memory(1) + INFERENCE_MEMORY_BUDGET
    assert events[-1].val_loss == pytest.approx(model.evaluate(x_val, y_val)[0], rel=1e-6)


def test_small_models_keep_batches_of_256_and_an_explicit_batch_size_wins():
    model = Sequential([Flatten(), Dense(4, activation="softmax")], input_shape=(8, 8, 1))
    model.compile()
    assert model.inference_batch_size() == MAX_INFERENCE_BATCH
    assert model.inference_batch_size(budget_bytes=1) == 1  # never below one example
    per_example = model.inference_memory(1)
    assert model.inference_batch_size(budget_bytes=10 * per_example) == 10
    assert model.inference_memory(7) == 7 * per_example
    x = np.random.default_rng(0).random((30, 8, 8, 1), dtype=np.float32)
    y = np.arange(30) % 4
    events = list(model.fit_iter(x, y, validation_data=(x, y), validation_batch_size=8))
    assert [e.val_seen for e in events if e.kind == "validation"] == [0, 8, 16, 24]
    assert model.evaluate(x, y, batch_size=7) == pytest.approx(model.evaluate(x, y))
    for bad in (0, -5, 2.5, "big"):
        with pytest.raises(ModelError, match="budget_bytes must be a positive integer"):
            model.inference_batch_size(budget_bytes=bad)
    with pytest.raises(ModelError, match="validation_batch_size"):
        model.fit_iter(x, y, validation_data=(x, y), validation_batch_size=0)


def test_inference_memory_counts_the_largest_layer_not_the_sum():
    model = wide_deep_model()
    per_layer = [
        layer.inference_floats(shape)
        for layer, shape in zip(model.layers, [model.input_shape, *model._output_shapes])
    ]
    assert model.inference_memory(3) == 4 * 3 * max(per_layer)
    assert model.inference_memory(1) * 10 < model.activation_memory(1)
    conv = model.layers[0]
    # the im2col matrix (one row of 1*1*1 + 1 values per output pixel) is counted
    assert per_layer[0] >= 28 * 28 + 3 * 28 * 28 * 256 + 28 * 28 * 2
    assert conv.inference_floats((28, 28, 1)) == per_layer[0]
