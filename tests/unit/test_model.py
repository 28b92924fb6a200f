"""Sequential: training, events, inference, data checks, reproducibility."""

import numpy as np
import pytest

from pycnn import (
    SGD,
    Adam,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    ModelError,
    Sequential,
    TrainEvent,
)


def quadrant_data(n=240, seed=0, blank=False):
    """4 classes: which quadrant of an 8x8 image is bright (learnable in seconds).

    ``blank=True`` adds a fifth class of all-zero images. Every layer maps zeros
    to its bias, so only a model whose biases train can tell that class apart.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 1), dtype=np.float32) * 0.3
    y = rng.integers(0, 5 if blank else 4, n)
    for i, label in enumerate(y):
        if label == 4:
            x[i] = 0
            continue
        r, c = divmod(int(label), 2)
        x[i, r * 4 : r * 4 + 4, c * 4 : c * 4 + 4, 0] += 0.7
    return x, y


def small_model(seed=0, optimizer=None, classes=4):
    model = Sequential(
        [
            Conv2D(4, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dropout(0.2),
            Dense(classes, activation="softmax"),
        ],
        input_shape=(8, 8, 1),
        seed=seed,
    )
    model.compile(optimizer=optimizer or Adam(1e-2), metrics=["accuracy"])
    return model


def test_small_model_learns():
    # Untrained biases would leave the blank fifth of the images at chance (accuracy <= 0.8).
    x, y = quadrant_data(blank=True)
    model = small_model(classes=5)
    loss_before, acc_before = model.evaluate(x, y)
    history = model.fit(x, y, epochs=6, batch_size=32, validation_split=0.25)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 for v in history.values())
    assert history["loss"][-1] < history["loss"][0] < loss_before + 0.5
    loss_after, acc_after = model.evaluate(x, y)
    assert loss_after < loss_before / 3
    assert acc_after > 0.95 and acc_before < 0.5
    blank = y == 4
    assert np.mean(model.predict(x[blank]).argmax(axis=1) == 4) > 0.95


def test_sgd_momentum_also_learns():
    x, y = quadrant_data(blank=True)
    model = small_model(optimizer=SGD(0.1, momentum=0.9, nesterov=True), classes=5)
    loss_before, _ = model.evaluate(x, y)
    model.fit(x, y, epochs=3, batch_size=16)
    loss_after, acc_after = model.evaluate(x, y)
    assert loss_after < min(0.1, loss_before / 10)
    assert acc_after > 0.95


def test_training_is_reproducible_for_a_seed():
    x, y = quadrant_data()
    a, b, c = small_model(seed=3), small_model(seed=3), small_model(seed=4)
    for layer_a, layer_c in zip(a.layers, c.layers):
        for key in layer_a.params:
            if key == "kernel":
                assert not np.array_equal(layer_a.params[key], layer_c.params[key])
    ha = a.fit(x, y, epochs=2, batch_size=16, validation_split=0.1)
    hb = b.fit(x, y, epochs=2, batch_size=16, validation_split=0.1)
    assert ha == hb
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
        assert wa.dtype == np.float32


def test_fit_iter_events_and_stopping_by_break():
    x, y = quadrant_data(100)
    model = small_model()
    before = model.get_weights()
    events = []
    for event in model.fit_iter(x, y, epochs=3, batch_size=32, validation_split=0.2):
        events.append(event)
        if event.kind == "epoch" and event.epoch == 2:
            break
    # 80 training examples / 32 -> 3 batches per epoch; the 20 validation examples are
    # one validation batch (announced by a validation event); then the epoch event
    assert [e.kind for e in events] == (["batch"] * 3 + ["validation", "epoch"]) * 2
    first, last = events[0], events[-1]
    assert isinstance(first, TrainEvent)
    assert (first.epoch, first.step, first.steps, first.global_step, first.total_steps) == (
        1,
        1,
        3,
        1,
        9,
    )
    assert first.val_loss is None and first.samples_seen == 32
    assert last.val_loss is not None and 0 <= last.val_accuracy <= 1
    assert last.samples_seen == 80 and last.global_step == 6 and last.progress == 6 / 9
    assert all(e.samples_per_sec > 0 and np.isfinite(e.loss) for e in events)
    assert events[2].loss == pytest.approx(
        (events[0].batch_loss * 32 + events[1].batch_loss * 32 + events[2].batch_loss * 16) / 80
    )
    assert not np.array_equal(before[0], model.get_weights()[0])  # updates were kept
    assert set(last.to_dict()) >= {"loss", "accuracy", "val_loss", "val_accuracy", "epoch"}


def test_validation_runs_in_batches_between_the_last_batch_and_the_epoch_event():
    x, y = quadrant_data(800)
    model = small_model()
    events = list(model.fit_iter(x, y, epochs=2, batch_size=100, validation_split=0.75))
    # 200 training examples -> 2 batches; 600 validation examples -> batches of 256, 256, 88
    kinds = [e.kind for e in events]
    assert kinds == (["batch"] * 2 + ["validation"] * 3 + ["epoch"]) * 2
    validation = [e for e in events if e.kind == "validation" and e.epoch == 1]
    assert [(e.val_seen, e.val_samples) for e in validation] == [(0, 600), (256, 600), (512, 600)]
    assert [e.val_progress for e in validation] == pytest.approx([0, 256 / 600, 512 / 600])
    last_batch, epoch = events[1], events[5]
    for e in validation:  # progress only: the epoch's training figures, no validation figures yet
        assert (e.step, e.steps, e.global_step) == (2, 2, 2)
        assert e.loss == last_batch.loss and e.accuracy == last_batch.accuracy
        assert e.val_loss is None and e.val_accuracy is None and e.batch_loss is None
    assert (epoch.val_seen, epoch.val_samples) == (600, 600) and epoch.val_progress == 1
    assert (last_batch.val_seen, last_batch.val_samples) == (0, 600)
    # the epoch's figures are evaluate()'s on the held-out last 75 %
    final = events[-1]
    assert (final.val_loss, final.val_accuracy) == pytest.approx(model.evaluate(x[200:], y[200:]))
    assert model.fit(x, y, epochs=1, batch_size=100).keys() == {"loss", "accuracy"}
    plain = list(small_model().fit_iter(x, y, epochs=1, batch_size=100))
    # no validation data, no validation events
    assert [e.kind for e in plain] == ["batch"] * 8 + ["epoch"]
    assert all(e.val_samples == 0 and e.val_progress == 1 for e in plain)


def test_stopping_during_validation_keeps_the_last_batch_weights():
    x, y = quadrant_data(800)
    model = small_model()
    after_last_batch = None
    events = model.fit_iter(x, y, epochs=3, batch_size=100, validation_split=0.75)
    for event in events:
        if event.kind == "batch":
            after_last_batch = model.get_weights()
        elif event.kind == "validation" and event.val_seen > 0:  # half-way through the pass
            break
    assert event.epoch == 1 and event.val_seen == 256
    for now, then in zip(model.get_weights(), after_last_batch):
        np.testing.assert_array_equal(now, then)
    events.close()
    model.fit(x, y, epochs=1, batch_size=100)  # the model trains on normally afterwards


def test_fit_history_is_unchanged_by_validation_events():
    x, y = quadrant_data(800)
    history = small_model().fit(x, y, epochs=2, batch_size=100, validation_split=0.75)
    model = small_model()
    events = model.fit_iter(x, y, epochs=2, batch_size=100, validation_split=0.75)
    epochs = [e for e in events if e.kind == "epoch"]
    assert history == {
        "loss": [e.loss for e in epochs],
        "accuracy": [e.accuracy for e in epochs],
        "val_loss": [e.val_loss for e in epochs],
        "val_accuracy": [e.val_accuracy for e in epochs],
    }


def test_fit_iter_checks_arguments_before_the_first_event():
    model = small_model()
    x, y = quadrant_data(20)
    with pytest.raises(ModelError, match="batch_size"):
        model.fit_iter(x, y, batch_size=0)  # no next() needed
    with pytest.raises(ModelError, match="validation_split"):
        model.fit_iter(x, y, validation_split=1.5)


def test_predict_evaluate_activations():
    x, y = quadrant_data(50)
    model = small_model()
    probs = model.predict(x, batch_size=16)
    assert probs.shape == (50, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(probs, model.predict(x, batch_size=16))  # no dropout at inference
    np.testing.assert_allclose(probs, model.predict(x, batch_size=7), rtol=1e-5)
    loss, acc = model.evaluate(x, y, batch_size=16)
    expected = -np.mean(np.log(probs[np.arange(50), y]))
    assert loss == pytest.approx(expected, rel=1e-4)
    assert acc == pytest.approx(np.mean(probs.argmax(1) == y))
    acts = model.activations(x[:3])
    assert list(acts) == ["conv2d", "max_pooling2d", "flatten", "dropout", "dense"]
    assert [a.shape for a in acts.values()] == [
        (3, 8, 8, 4),
        (3, 4, 4, 4),
        (3, 64),
        (3, 64),
        (3, 4),
    ]
    np.testing.assert_array_equal(acts["dropout"], acts["flatten"])


def test_dropout_is_inverted_and_identity_at_inference():
    layer = Dropout(0.25, seed=1)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    out = layer.forward(x, training=True)
    kept = out != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, out)  # same mask and scale


def test_model_builds_lazily_from_data():
    model = Sequential([Flatten(), Dense(3, activation="softmax")], seed=0)
    with pytest.raises(ModelError, match="input_shape"):
        model.summary()
    model.compile("adam")
    x = np.zeros((4, 2, 2, 1), np.float32)
    model.fit(x, np.array([0, 1, 2, 0]), epochs=1)
    assert model.input_shape == (2, 2, 1) and model.count_params() == 15


def test_layer_added_later_gets_next_default_name():
    model = Sequential([Conv2D(2, 3)], input_shape=(6, 6, 1))
    model.add(Conv2D(2, 3))
    model.add(Flatten())
    assert [layer.name for layer in model.layers] == ["conv2d", "conv2d_1", "flatten"]
    with pytest.raises(ModelError, match="unique names"):
        model.add(Dense(2, name="flatten"))
    with pytest.raises(ModelError, match=r"^Layer 4 \(conv2d_2, Conv2D\)") as info:
        model.add(Conv2D(2, 3))  # after Flatten: not an image
    assert info.value.layer_index == 3 and "Flatten" in str(info.value)
    assert len(model.layers) == 3  # the failed layer was not kept


# --------------------------------------------------------------------------- data errors


@pytest.mark.parametrize(
    "x, fragment, hint",
    [
        (np.zeros((4, 8, 8), np.float32), "must have shape (N, 8, 8, 1)", "x[..., None]"),
        (np.zeros((8, 8, 1), np.float32), "must have shape (N, 8, 8, 1)", "x[None]"),
        (np.zeros((4, 8, 8, 3), np.float32), "must have shape (N, 8, 8, 1)", "channel"),
        (np.zeros((4, 8, 8, 1), np.uint8), "floating-point", "astype('float32') / 255"),
        (np.zeros((0, 8, 8, 1), np.float32), "no examples", ""),
    ],
)
def test_wrong_input_rank_or_dtype(x, fragment, hint):
    model = small_model()
    with pytest.raises(ModelError) as info:
        model.fit(x, np.zeros(len(x), int))
    assert fragment in str(info.value) and hint in info.value.hint
    assert "Received: x." in str(info.value)
    with pytest.raises(ValueError, match="Received"):
        model.predict(x)


@pytest.mark.parametrize("labels", [[0, 1, 2, 4], [0, -1, 2, 3]])
def test_labels_out_of_range_name_the_last_layer(labels):
    model = small_model()
    with pytest.raises(ModelError) as info:
        model.fit(np.zeros((4, 8, 8, 1), np.float32), np.array(labels))
    err = info.value
    assert (err.layer_index, err.layer_name) == (4, "dense")
    assert "labels must be class indices in [0, 3]" in str(err)
    assert str(err).endswith(f"Received: labels from {min(labels)} to {max(labels)}.")


@pytest.mark.parametrize(
    "labels, fragment",
    [
        (np.array([0.5, 1, 2, 3]), "whole-number"),
        (np.eye(4), "one integer class label per example"),
        (np.array([0, 1, 2]), "one integer class label per example"),
        (np.array(["a", "b", "c", "d"]), "integer class labels"),
    ],
)
def test_bad_labels(labels, fragment):
    with pytest.raises(ModelError, match=fragment):
        small_model().fit(np.zeros((4, 8, 8, 1), np.float32), labels)


def test_compile_and_fit_errors():
    x, y = quadrant_data(8)
    with pytest.raises(ModelError, match="compiled before training"):
        Sequential([Flatten(), Dense(4, activation="softmax")], input_shape=(8, 8, 1)).fit(x, y)
    with pytest.raises(ModelError, match="unknown loss"):
        small_model().compile(loss="mse")
    with pytest.raises(ModelError, match="unknown optimizer"):
        small_model().compile(optimizer="rmsprop")
    with pytest.raises(ModelError) as info:
        Sequential([Flatten(), Dense(4, activation="relu")], input_shape=(8, 8, 1)).compile()
    assert info.value.layer_index == 1 and "softmax" in info.value.hint
    with pytest.raises(ModelError, match="one score per class"):
        Sequential([Conv2D(4, 3, activation="softmax")], input_shape=(8, 8, 1)).compile()
    with pytest.raises(ModelError, match="seed"):
        Sequential(seed=-1)
    empty = Sequential(input_shape=(8, 8, 1))
    empty.compile()
    for call in (lambda: empty.fit(x, y), lambda: empty.predict(x), lambda: empty.evaluate(x, y)):
        with pytest.raises(ModelError, match="no layers"):
            call()
    with pytest.raises(ModelError, match="cannot be turned into an array"):
        small_model().predict([[1.0, 2.0], [3.0]])


def test_linear_output_is_treated_as_logits():
    x, y = quadrant_data(60)
    model = Sequential([Flatten(), Dense(4)], input_shape=(8, 8, 1), seed=0)
    model.compile(Adam(1e-2))
    before = model.evaluate(x, y)[0]
    model.fit(x, y, epochs=5, batch_size=10)
    assert model.evaluate(x, y)[0] < before


def keras_convnet(seed=0, activation="relu", pool_padding="valid"):
    model = Sequential(
        [
            Conv2D(6, 3, activation=activation),
            MaxPooling2D(2, padding=pool_padding),
            Conv2D(8, 3, activation=activation),
            MaxPooling2D(2, padding=pool_padding),
            Flatten(),
            Dropout(0.5),
            Dense(4, activation="softmax"),
        ],
        input_shape=(16, 16, 1),  # conv 14x14, pool 7x7, conv 5x5 (odd), pool 2x2
        seed=seed,
    )
    model.compile(optimizer=Adam(1e-2), metrics=["accuracy"])
    return model


def test_conv_relu_then_tiling_max_pool_runs_as_one_step():
    from pycnn.layers.fused import ConvMaxPool

    kinds = [type(s).__name__ for s in keras_convnet()._steps()]
    assert kinds == ["ConvMaxPool", "ConvMaxPool", "Flatten", "Dropout", "Dense"]
    # tanh would change which tied maximum gets the gradient; "same" here would pad
    assert not any(isinstance(s, ConvMaxPool) for s in keras_convnet(activation="tanh")._steps())
    steps = keras_convnet(pool_padding="same")._steps()  # 14x14 tiles, 5x5 would need padding
    assert [type(s).__name__ for s in steps][:3] == ["ConvMaxPool", "Conv2D", "MaxPooling2D"]


def test_fused_training_and_prediction_equal_the_layer_by_layer_ones(monkeypatch):
    from pycnn.layers.fused import ConvMaxPool

    # Both sum the same products in other orders (last-bit differences), never enough
    # to change which pool candidate is the maximum for this data.
    rng = np.random.default_rng(0)
    x = rng.random((48, 16, 16, 1), dtype=np.float32)
    y = rng.integers(0, 4, 48)
    fused, plain = keras_convnet(seed=5), keras_convnet(seed=5)
    history_fused = fused.fit(x, y, epochs=2, batch_size=16)
    with monkeypatch.context() as patch:
        patch.setattr(ConvMaxPool, "can_fuse", staticmethod(lambda *args: False))
        assert all(not isinstance(s, ConvMaxPool) for s in plain._steps())
        history_plain = plain.fit(x, y, epochs=2, batch_size=16)
        probs_plain = plain.predict(x)
    for key in history_plain:
        np.testing.assert_allclose(history_fused[key], history_plain[key], rtol=1e-4)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fused.predict(x), probs_plain, rtol=1e-4, atol=1e-6)
    # activations() runs layer by layer: the conv's own (unpooled) feature maps
    acts = fused.activations(x[:2])
    assert acts["conv2d"].shape == (2, 14, 14, 6) and acts["conv2d"].min() == 0
