"""The analysis of a spec (summary rows, errors, fixes), the browser-tab guard, build_model."""

from __future__ import annotations

import re

import pytest

from playground.analysis import (
    MAX_PARAMS,
    MEMORY_BUDGET,
    WORK_BUDGET,
    analyze,
    build_model,
    evaluation_batch,
    size_problem,
    training_bytes,
    training_macs,
)
from playground.presets import DEFAULT_LAYERS, PRESETS
from playground.spec import format_layers, layer_config, parse_layers
from playground.state import PlaygroundState

# The model of the evaluation-memory report: passes the guard at batch 1 on MNIST, but
# each image's layer outputs take ~47 MB.
TALL = "conv2d:256:1," + ",".join(["maxpool:1"] * 60) + ",flatten,dense:10:softmax"


def test_default_model_is_valid_and_matches_pycnn():
    s = PlaygroundState()
    a = s.analysis
    assert a.valid and s.train_block_reason() is None
    model = build_model(DEFAULT_LAYERS, (8, 8, 1))
    assert [r.output_shape for r in a.rows] == [tuple(r.output_shape) for r in model.summary()]
    assert a.total_params == model.count_params() == 810


def test_the_model_is_built_from_the_same_layer_configs_the_analysis_checks():
    layers = (
        "conv2d:6:5:strides=2:padding=same:activation=tanh,maxpool:2:strides=1,avgpool:2,"
        "flatten,dropout:0.25,dense:12:sigmoid,dense:10:softmax"
    )
    blocks = parse_layers(layers)
    model = build_model(blocks, (28, 28, 1), seed=3)
    a = analyze(blocks, (28, 28, 1), 10)
    assert a.valid, a.error
    assert [layer.kind for layer in model.layers] == [b.info.keras for b in blocks]
    assert [(r.name, r.output_shape, r.params) for r in a.rows] == [
        (r.name, tuple(r.output_shape), r.params) for r in model.summary()
    ]
    for layer, block in zip(model.layers, blocks):
        config = layer.get_config()
        for name, value in layer_config(block)["config"].items():
            got = config[name]
            want = value if value is not None else block.args["pool_size"]
            assert got in (want, [want, want], (want, want)), (block.kind, name, got)


def test_invalid_layer_is_marked_and_the_rest_of_the_table_stays():
    blocks = parse_layers("conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax")
    a = analyze(blocks, (8, 8, 1), 10)
    assert not a.valid and a.error_index == 2
    assert [r.output_shape is not None for r in a.rows] == [True, True, False, True, True]
    assert a.rows[2].error.startswith("Layer 3 (conv2d_1, Conv2D)")  # numbered from 1 like the page
    assert "kernel_size" in a.error and "Received" in a.error
    labels = [f.label for f in a.fixes]
    assert any("padding='same'" in label for label in labels)
    for fix in a.fixes:  # every offered fix gives a valid model
        assert analyze(fix.layers, (8, 8, 1), 10).valid, fix.label


def test_dense_on_an_image_offers_flatten():
    s = PlaygroundState()
    s.layers = parse_layers("conv2d:8:3,dense:10:softmax")
    a = s.analysis
    assert a.error_index == 1 and "Flatten" in a.error
    assert s.train_block_reason().startswith("Fix the model first")
    s.apply_fix(a.fixes[0])
    assert format_layers(s.layers) == "conv2d:8:3,flatten,dense:10:softmax"
    assert s.analysis.valid


@pytest.mark.parametrize(
    "layers, fixed, label",
    [
        ("flatten,dense:5", "flatten,dense:10:softmax", "Make the last layer Dense(10"),
        ("flatten,dense:10", "flatten,dense:10:softmax", "Make the last layer Dense(10"),
        ("conv2d:8:3", "conv2d:8:3,flatten,dense:10:softmax", "Append Flatten + Dense(10"),
        ("flatten,dropout:0.5", "flatten,dropout:0.5,dense:10:softmax", "Append Dense(10"),
    ],
)
def test_output_must_match_the_classes_with_a_one_click_fix(layers, fixed, label):
    s = PlaygroundState()
    s.layers = parse_layers(layers)
    a = s.analysis
    assert not a.valid and a.error_index == len(s.layers) - 1
    assert "10 classes" in a.error
    [fix] = a.fixes
    assert fix.label.startswith(label), fix.label
    s.apply_fix(fix)
    assert format_layers(s.layers) == fixed and s.analysis.valid


def test_an_image_output_is_written_like_keras():
    a = analyze(parse_layers("conv2d:8:3"), (8, 8, 1), 10)
    assert "with output (None, 6, 6, 8)." in a.error


def test_shapes_dataset_needs_six_outputs():
    s = PlaygroundState(dataset="shapes")
    assert not s.analysis.valid and "6 classes" in s.analysis.error
    s.apply_fix(s.analysis.fixes[0])
    assert s.analysis.valid and s.layers[-1].args["units"] == 6


def test_empty_model_says_what_to_do():
    s = PlaygroundState()
    s.layers = []
    assert "no layers" in s.analysis.error.lower()


@pytest.mark.parametrize(
    "key, dataset, params",
    [
        ("starter", "digits", 810),
        ("keras", "mnist", 34_826),  # Keras's published "Simple MNIST convnet" total
        ("lenet", "mnist", 61_706),  # LeNet-5's classic count
        ("dense", "mnist", 101_770),  # 785·128 + 129·10
    ],
)
def test_preset_parameter_counts(key, dataset, params):
    s = PlaygroundState(dataset=dataset)
    s.load_preset(key)
    assert s.analysis.valid, s.analysis.error
    assert s.analysis.total_params == params
    assert build_model(s.layers, s.info.input_shape).count_params() == params


# --------------------------------------------------------------------------- browser-tab guard


def test_too_many_parameters_are_refused_with_a_reason():
    s = PlaygroundState(dataset="mnist")
    s.layers = parse_layers("flatten,dense:4096,dense:4096,dense:10:softmax")
    assert s.analysis.valid
    reason = s.train_block_reason()
    assert reason and f"{MAX_PARAMS:,}" in reason and "parameters" in reason
    assert s.build_block_reason() == reason  # not even the weights are made


def test_layer_outputs_are_checked_at_the_training_batch_size():
    s = PlaygroundState(dataset="mnist", batch_size=1024)
    # big layer outputs for little arithmetic: memory is the limit, not work
    s.layers = parse_layers("conv2d:256:1,dropout:0.5,dropout:0.5,flatten,dense:10:softmax")
    assert s.analysis.total_params < MAX_PARAMS
    reason = size_problem(s.analysis, s.batch_size)
    assert reason and "batch size 1024" in reason and "MB" in reason
    assert size_problem(s.analysis, 1) is None
    # The guard turns on exactly where the estimate crosses the budget.
    per_image = training_bytes(s.analysis, 1)
    fits = MEMORY_BUDGET // per_image
    assert size_problem(s.analysis, fits) is None
    assert size_problem(s.analysis, fits + 1) is not None
    assert s.build_block_reason() is None  # the weights fit: Reset may make them


def test_a_training_batch_is_bounded_by_the_work_stop_can_wait_for():
    """Stop is heard between batches only: a batch whose multiply-adds exceed the budget is
    refused at that batch size, with the largest power of two that fits."""
    deep = "conv2d:64:3,conv2d:64:3,conv2d:64:3,conv2d:64:3,flatten,dense:9:softmax"
    a = analyze(parse_layers(deep), (32, 32, 3), 9)
    assert a.valid and training_bytes(a, 64) <= MEMORY_BUDGET  # memory alone would allow 64
    fits = WORK_BUDGET // training_macs(a, 1)
    assert 4 <= fits < 64
    assert size_problem(a, fits) is None
    reason = size_problem(a, fits + 1)
    assert reason and "multiply-adds" in reason and "Stop" in reason
    suggested = int(re.search(r"Use batch size (\d+) or smaller", reason).group(1))
    assert suggested <= fits < 2 * suggested and size_problem(a, suggested) is None
    # Evaluation, a forward pass (a third of the work), takes chunks within the same budget.
    chunk = evaluation_batch(a)
    assert chunk * a.total_macs <= WORK_BUDGET < (chunk + 1) * a.total_macs
    # A model too heavy even for one image names no batch size.
    huge = analyze(parse_layers(",".join(["conv2d:256:3"] * 3) + ",flatten,dense:9:softmax"),
                   (32, 32, 3), 9)  # fmt: skip
    assert huge.total_params < MAX_PARAMS and training_macs(huge, 1) > WORK_BUDGET
    text = size_problem(huge, 1)
    assert text and "Use fewer filters" in text and "batch size" not in text


def test_evaluation_takes_as_many_images_at_once_as_the_budget_allows():
    default = analyze(parse_layers(DEFAULT_LAYERS), (8, 8, 1), 10)
    assert evaluation_batch(default) == 256
    tall = analyze(parse_layers(TALL), (28, 28, 1), 10)
    assert tall.valid and size_problem(tall, 1) is None and size_problem(tall, 256) is not None
    chunk = evaluation_batch(tall)
    per_image = training_bytes(tall, 1) // 2  # no gradients in inference
    assert chunk * per_image <= MEMORY_BUDGET < (chunk + 1) * per_image
    assert chunk == 4


def test_every_preset_evaluates_in_full_batches():
    for key, preset in PRESETS.items():
        a = analyze(parse_layers(preset.layers), (28, 28, 1), 10)
        assert evaluation_batch(a) == 256, key
