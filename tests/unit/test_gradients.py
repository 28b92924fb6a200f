"""Every backward pass checked against central differences (pycnn.gradcheck)."""

import numpy as np
import pytest

from pycnn import AveragePooling2D, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Sequential
from pycnn.activations import ACTIVATIONS
from pycnn.gradcheck import GradientMismatch, check_gradient, check_layer
from pycnn.losses import softmax_cross_entropy
from pycnn.training import forward_logits

ACTIVATION_NAMES = sorted(ACTIVATIONS)


def _built(layer, input_shape, seed=0):
    layer.build(input_shape, np.random.default_rng(seed))
    # non-zero biases so a bias bug cannot hide behind zeros
    for key in layer.params:
        if key == "bias":
            layer.params[key] = (
                np.random.default_rng(seed + 1)
                .standard_normal(layer.params[key].shape)
                .astype(np.float32)
            )
    return layer


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("size", [6, 7], ids=["even", "odd"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_conv2d_gradients(kernel, strides, padding, size):
    # non-square input and a non-square kernel in the second dimension
    layer = _built(
        Conv2D(3, (kernel, max(kernel - 1, 1)), strides=strides, padding=padding),
        (size, size - 1, 2),
    )
    check_layer(layer, _x((2, size, size - 1, 2)))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_conv2d_gradients_every_activation(activation):
    layer = _built(Conv2D(3, 3, strides=(1, 2), padding="same", activation=activation), (5, 6, 2))
    check_layer(layer, _x((2, 5, 6, 2), seed=3))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_dense_gradients_every_activation(activation):
    layer = _built(Dense(4, activation=activation), (7,))
    check_layer(layer, _x((3, 7), seed=5))


@pytest.mark.parametrize("size", [6, 7], ids=["even", "odd"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("pool", [1, 2, 3, 5])
@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_pooling_gradients(cls, pool, strides, padding, size):
    layer = _built(
        cls((pool, max(pool - 1, 1)), strides=strides, padding=padding), (size, size - 1, 2)
    )
    check_layer(layer, _x((2, size, size - 1, 2), seed=pool * 10 + strides))


def test_flatten_gradients():
    check_layer(_built(Flatten(), (3, 4, 2)), _x((2, 3, 4, 2)))


@pytest.mark.parametrize("training", [False, True])
def test_dropout_gradients(training):
    layer = _built(Dropout(0.4), (5, 3))

    def same_mask_every_pass():
        layer.rng = np.random.default_rng(7)

    check_layer(layer, _x((4, 5, 3)), training=training, reset=same_mask_every_pass)


def test_fused_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    _, grad = softmax_cross_entropy(logits, labels)
    check_gradient(lambda: softmax_cross_entropy(logits, labels)[0], logits, grad, name="logits")


def test_whole_model_gradients_through_every_layer_kind():
    """The model's backward chain (fused loss first) matches the numeric gradient."""
    model = Sequential(
        [
            Conv2D(3, 3, padding="same", activation="tanh"),
            MaxPooling2D(2),
            Conv2D(4, 2, strides=1, activation="sigmoid"),
            AveragePooling2D(2, padding="same"),
            Flatten(),
            Dropout(0.3),
            Dense(5, activation="relu"),
            Dense(3, activation="softmax"),
        ],
        input_shape=(8, 7, 2),
        seed=0,
    )
    x = _x((4, 8, 7, 2))
    y = np.array([0, 2, 1, 2])
    for layer in model.layers:
        for key in layer.params:
            layer.params[key] = layer.params[key].astype(np.float64)

    def loss_and_grad():
        model.layers[5].rng = np.random.default_rng(3)  # same dropout mask every pass
        logits, _ = forward_logits(model.layers, x, training=True)  # layer by layer, unfused
        return softmax_cross_entropy(logits, y)

    def loss():
        return loss_and_grad()[0]

    _, grad = loss_and_grad()
    grad = model.layers[-1].backward_pre_activation(grad)
    for layer in reversed(model.layers[:-1]):
        grad = layer.backward(grad)
    grads = {
        (i, k): np.array(layer.grads[k])
        for i, layer in enumerate(model.layers)
        for k in layer.trainable_keys
    }
    for (i, k), g in grads.items():
        check_gradient(loss, model.layers[i].params[k], g, name=f"layer {i} {k}")


def test_conv_skips_input_gradient_when_not_needed():
    layer = _built(Conv2D(2, 3), (5, 5, 1))
    layer.forward(_x((1, 5, 5, 1)).astype(np.float32), training=True)
    assert layer.backward(np.ones((1, 3, 3, 2), np.float32), need_input_grad=False) is None
    assert layer.grads["kernel"].shape == (3, 3, 1, 2)


def test_gradient_check_catches_a_wrong_gradient():
    x = _x((3, 4))
    with pytest.raises(GradientMismatch, match="analytic .* vs numeric"):
        check_gradient(lambda: float(np.sum(x**2)), x, 2 * x * 1.01, name="x")
    check_gradient(lambda: float(np.sum(x**2)), x, 2 * x, name="x")  # and accepts the right one


@pytest.mark.parametrize("cls", [Conv2D, MaxPooling2D, AveragePooling2D])
def test_gradients_when_window_exceeds_input_with_same_padding(cls):
    layer = cls(2, 4, strides=2, padding="same") if cls is Conv2D else cls(4, 2, padding="same")
    layer = _built(layer, (3, 2, 2))
    check_layer(layer, _x((2, 3, 2, 2), seed=11))


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_fused_conv_maxpool_gradients(activation, padding):
    """The fused training step (Conv2D + MaxPooling2D as one) against central differences."""
    from pycnn.layers.fused import ConvMaxPool

    conv = _built(Conv2D(3, 3, strides=1, padding=padding, activation=activation), (9, 8, 2))
    pool = MaxPooling2D(2)
    conv_out = conv.output_shape((9, 8, 2))  # odd rows: the pool leaves the last one out
    assert ConvMaxPool.can_fuse(conv, pool, conv_out)
    for key in conv.params:
        conv.params[key] = conv.params[key].astype(np.float64)
    step = ConvMaxPool(conv, pool)
    x = _x((2, 9, 8, 2), seed=4)
    weights = np.random.default_rng(5).standard_normal(pool.output_shape(conv_out))

    def loss():
        return float(np.sum(step.forward(x, training=True) * weights))

    loss()
    dx = step.backward(np.broadcast_to(weights, (2, *weights.shape)).copy())
    check_gradient(loss, x, dx, name="x")
    for key in conv.trainable_keys:
        check_gradient(loss, conv.params[key], conv.grads[key], name=key)
