"""The training loop pinned down step by step, against gradients computed independently.

A model's loss is rebuilt here from pycnn.reference (loop-based conv and pool) and
plain NumPy (flatten in Keras's channels-last order, dense, log-softmax), in float64;
its gradient comes from central differences. One ``train_on_batch`` must then move
every parameter exactly as the optimizer's rule says for that gradient.
"""

import numpy as np
import pytest

from pycnn import (
    SGD,
    Adam,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    Sequential,
    reference,
)
from pycnn.layers.fused import ConvMaxPool

LEARNING_RATE = 0.05


def conv_pool_dense(optimizer) -> Sequential:
    """Conv2D + ReLU + 2x2 max pool (run fused), Flatten, Dense softmax: 77 parameters."""
    model = Sequential(
        [
            Conv2D(2, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        input_shape=(6, 6, 1),
        seed=3,
    )
    model.compile(optimizer)
    rng = np.random.default_rng(4)
    for layer in model.layers:  # non-zero biases, so their gradients are not all alike
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.normal(0, 0.3, layer.params["bias"].shape)
    assert isinstance(model._steps()[0], ConvMaxPool)  # the path training really takes
    return model


def batch(seed: int, n: int = 8):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6, 6, 1)).astype(np.float32), rng.integers(0, 3, n)


def reference_loss(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the conv_pool_dense model, computed without pycnn's layers."""
    kernel, bias, dense_kernel, dense_bias = params
    maps = np.maximum(reference.conv2d_naive(x, kernel, bias, (1, 1), "same"), 0)
    pooled = reference.max_pool2d_naive(maps, (2, 2), (2, 2), "valid")  # (N, 3, 3, 2)
    flat = pooled.reshape(len(x), -1)  # channels-last: index (i * 3 + j) * 2 + c
    scores = flat @ dense_kernel + dense_bias
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def reference_gradient(model: Sequential, x, y, eps: float = 1e-6) -> list[np.ndarray]:
    """d loss / d parameter for every entry, by central differences in float64."""
    params = [w.astype(np.float64) for w in model.get_weights()]
    x = x.astype(np.float64)
    grads = []
    for p in params:
        g = np.empty_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + eps
            up = reference_loss(params, x, y)
            p[i] = keep - eps
            down = reference_loss(params, x, y)
            p[i] = keep
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def assert_step(before, after, expected_update):
    for w0, w1, update in zip(before, after, expected_update):
        np.testing.assert_allclose(w1 - w0, update, rtol=2e-3, atol=2e-6)


def test_sgd_with_momentum_steps_follow_the_reference_gradient():
    model = conv_pool_dense(SGD(LEARNING_RATE, momentum=0.9))
    (x1, y1), (x2, y2) = batch(1), batch(2)
    w0 = model.get_weights()
    g1 = reference_gradient(model, x1, y1)
    loss, _ = model.train_on_batch(x1, y1)
    assert loss == pytest.approx(reference_loss(w0, x1, y1), rel=1e-5)
    w1 = model.get_weights()
    velocity = [-LEARNING_RATE * g for g in g1]  # m = 0.9 * 0 - lr * g
    assert_step(w0, w1, velocity)

    g2 = reference_gradient(model, x2, y2)
    model.train_on_batch(x2, y2)
    velocity = [0.9 * m - LEARNING_RATE * g for m, g in zip(velocity, g2)]
    assert_step(w1, model.get_weights(), velocity)


def test_adam_steps_follow_the_reference_gradient():
    beta_1, beta_2, eps = 0.9, 0.999, 1e-7
    model = conv_pool_dense(Adam(LEARNING_RATE, beta_1=beta_1, beta_2=beta_2, epsilon=eps))
    m = [np.zeros(w.shape) for w in model.get_weights()]  # first and second moments
    v = [np.zeros(w.shape) for w in model.get_weights()]
    for t, seed in enumerate((1, 2), start=1):
        x, y = batch(seed)
        g = reference_gradient(model, x, y)
        before = model.get_weights()
        model.train_on_batch(x, y)
        m = [beta_1 * mi + (1 - beta_1) * gi for mi, gi in zip(m, g)]
        v = [beta_2 * vi + (1 - beta_2) * gi**2 for vi, gi in zip(v, g)]
        alpha = LEARNING_RATE * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        expected = [-alpha * mi / (np.sqrt(vi) + eps) for mi, vi in zip(m, v)]
        assert_step(before, model.get_weights(), expected)


@pytest.mark.parametrize(
    "optimizer",
    [lambda: SGD(0.01), lambda: SGD(0.01, momentum=0.9), lambda: Adam(1e-3)],
    ids=["sgd", "momentum", "adam"],
)
def test_every_trainable_parameter_changes_after_one_step(optimizer):
    model = Sequential(
        [
            Conv2D(3, 3, activation="tanh"),
            AveragePooling2D(2),
            Conv2D(4, 2, padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dropout(0.25),
            Dense(6, activation="sigmoid"),
            Dense(3, activation="softmax"),
        ],
        input_shape=(9, 9, 2),
        seed=0,
    )
    model.compile(optimizer())
    params = {f"{layer.name}/{k}": v for layer in model.layers for k, v in layer.params.items()}
    assert len(params) == 8  # kernel and bias of four layers
    before = {name: value.copy() for name, value in params.items()}
    x = np.random.default_rng(0).random((16, 9, 9, 2), dtype=np.float32)
    model.train_on_batch(x, np.arange(16) % 3)
    assert [name for name, value in params.items() if np.array_equal(value, before[name])] == []


def test_shuffle_draws_a_new_order_every_epoch_and_shuffle_false_keeps_the_data_order():
    n = 23
    x = np.zeros((n, 2, 2, 1), np.float32)
    x[:, 0, 0, 0] = np.arange(n)  # each image carries its index
    y = np.arange(n) % 2

    def epoch_orders(shuffle: bool, seed: int = 0) -> list[list[int]]:
        model = Sequential(
            [Flatten(), Dense(2, activation="softmax")], input_shape=(2, 2, 1), seed=seed
        )
        model.compile(SGD(1e-9))
        seen = []
        train_on_batch = model.train_on_batch

        def recording(xb, yb):
            seen.extend(int(v) for v in xb[:, 0, 0, 0])
            return train_on_batch(xb, yb)

        model.train_on_batch = recording
        model.fit(x, y, epochs=3, batch_size=5, shuffle=shuffle)
        return [seen[i : i + n] for i in range(0, 3 * n, n)]

    shuffled = epoch_orders(shuffle=True)
    assert all(sorted(order) == list(range(n)) for order in shuffled)  # each example once
    assert all(order != list(range(n)) for order in shuffled)
    assert shuffled[0] != shuffled[1] != shuffled[2] != shuffled[0]
    assert epoch_orders(shuffle=True) == shuffled  # the seed fixes the orders
    assert epoch_orders(shuffle=True, seed=1) != shuffled
    assert epoch_orders(shuffle=False) == [list(range(n))] * 3


def test_flatten_is_channels_last_like_keras():
    """Element (i, j, c) of an (H, W, C) image goes to (i * W + j) * C + c."""
    h, w, c = 3, 4, 5
    x = np.random.default_rng(0).standard_normal((2, h, w, c)).astype(np.float32)
    layer = Flatten()
    out = layer.forward(x, training=True)
    assert out.shape == (2, h * w * c)
    for i, j, k in np.ndindex(h, w, c):
        assert (out[:, (i * w + j) * c + k] == x[:, i, j, k]).all()
    grad = np.arange(out.size, dtype=np.float32).reshape(out.shape)
    back = layer.backward(grad)
    assert back[1, 2, 3, 4] == grad[1, (2 * w + 3) * c + 4]  # backward undoes the same order
