"""Optimizers against Keras's update rules, computed by hand with Python floats."""

import math

import numpy as np
import pytest

from pycnn import SGD, Adam, ModelError
from pycnn.optimizers import get

GRADS = [0.5, -1.5, 2.0, 0.25]  # gradient at successive steps (same for every element)


def run(optimizer, w0=(1.0, -2.0), grads=GRADS):
    w = np.array(w0, np.float32)
    for g in grads:
        optimizer.apply_gradients([(np.full_like(w, g), w)])
    return w


def test_sgd_plain():
    w = run(SGD(0.1))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, [1.0 - 0.1 * sum(GRADS), -2.0 - 0.1 * sum(GRADS)], rtol=1e-6)


def test_sgd_momentum_first_steps_by_hand():
    w = run(SGD(0.1, momentum=0.9), w0=(1.0,), grads=[0.5, 0.5])
    # m1 = -0.05, w1 = 0.95; m2 = 0.9 * -0.05 - 0.05 = -0.095, w2 = 0.855
    np.testing.assert_allclose(w, [0.855], rtol=1e-6)
    w = run(SGD(0.1, momentum=0.9, nesterov=True), w0=(1.0,), grads=[0.5, 0.5])
    # w1 = 1 + 0.9 * -0.05 - 0.05 = 0.905; w2 = 0.905 + 0.9 * -0.095 - 0.05 = 0.7695
    np.testing.assert_allclose(w, [0.7695], rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_rule(nesterov):
    lr, mu = 0.05, 0.8
    w, m = 1.0, 0.0
    for g in GRADS:
        m = mu * m - lr * g
        w = w + (mu * m - lr * g if nesterov else m)
    out = run(SGD(lr, momentum=mu, nesterov=nesterov), w0=(1.0,))
    np.testing.assert_allclose(out, [w], rtol=1e-6)


def test_adam_rule():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate(GRADS, start=1):
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - alpha * m / (math.sqrt(v) + eps)
    opt = Adam(lr)
    out = run(opt, w0=(1.0,))
    np.testing.assert_allclose(out, [w], rtol=1e-6)
    assert opt.iterations == len(GRADS)


def test_adam_first_step_is_about_learning_rate():
    # with bias correction the first step has size ~lr whatever the gradient scale
    for g in (0.1, 1.0, 1e3):  # (much smaller gradients feel epsilon)
        out = run(Adam(0.1), w0=(1.0,), grads=[g])
        np.testing.assert_allclose(out, [0.9], rtol=1e-4)


def test_adam_defaults_match_keras():
    assert Adam().get_config() == {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
    }
    assert SGD().get_config() == {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}


def test_state_is_per_variable_and_updates_in_place():
    opt = SGD(0.1, momentum=0.5)
    a, b = np.ones(3, np.float32), np.ones((2, 2), np.float32)
    ids = (id(a), id(b))
    opt.apply_gradients([(np.ones(3, np.float32), a), (np.zeros((2, 2), np.float32), b)])
    opt.apply_gradients([(np.ones(3, np.float32), a), (np.zeros((2, 2), np.float32), b)])
    np.testing.assert_allclose(a, 1 - 0.1 - (0.05 + 0.1))
    np.testing.assert_array_equal(b, 1)
    assert (id(a), id(b)) == ids


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0),
        lambda: SGD(-1),
        lambda: SGD(0.1, momentum=1.0),
        lambda: Adam("fast"),
        lambda: Adam(beta_1=1.5),
        lambda: get("rmsprop"),
    ],
)
def test_invalid_settings(make):
    with pytest.raises(ModelError, match="Received: "):
        make()


def test_get_by_name_and_config():
    assert isinstance(get("adam"), Adam) and isinstance(get("SGD"), SGD)
    opt = get({"class_name": "SGD", "config": {"learning_rate": 0.2, "momentum": 0.9}})
    assert opt.learning_rate == 0.2 and opt.momentum == 0.9
