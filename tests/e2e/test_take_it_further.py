"""Take it further, as a learner does it in real Chromium on the static site: download
every file (made in the page, no request leaves localhost) and check its content against
pycnn in this process; open a model by the file chooser and a corrupt file by drag and
drop; copy the link (and see the fallback when the clipboard is refused); the embed code.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import e2e_support as sup
import numpy as np
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

STARTER = "conv2d:4:3,maxpool:2,flatten,dense:10:softmax"
QUERY = f"?dataset=digits&layers={STARTER}&epochs=2&batch=32&lr=0.01&optimizer=adam&seed=3"
MODEL_FILES = ("keras", "pytorch", "json", "weights")
WAIT = 30_000  # ms for the page to show what Python did (the machine may be busy)


def _model(layers: str, dataset: str = "digits", seed: int = 0):
    from playground.analysis import build_model
    from pycnn.datasets import info

    return build_model(layers, info(dataset).input_shape, seed=seed)


def _button(page, key: str):
    return page.locator(f".cp-export-{key} button").first


def _download(page, key: str, tmp_path: Path, keyboard: bool = False) -> tuple[str, bytes]:
    with page.expect_download(timeout=60_000) as info:
        if keyboard:
            _button(page, key).focus()
            page.keyboard.press("Enter")
        else:
            _button(page, key).click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return download.suggested_filename, target.read_bytes()


def _weights(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _shapes(model) -> dict[str, tuple]:
    return {
        f"{layer.name}/{key}": layer.params[key].shape
        for layer in model.layers
        for key in layer.trainable_keys
    }


def test_every_download_is_made_in_the_page_from_the_model_and_its_run(open_app, tmp_path):
    page = open_app(QUERY)
    link = page.url
    expect(_button(page, "log")).to_be_disabled(timeout=WAIT)  # no run yet
    expect(page.locator(".cp-export-weights-note")).to_contain_text(
        "freshly initialised", timeout=WAIT
    )

    files = {key: _download(page, key, tmp_path, keyboard=key == "json") for key in MODEL_FILES}
    assert {k: name for k, (name, _) in files.items()} == {
        "keras": "cnn_keras.py",
        "pytorch": "cnn_pytorch.py",
        "json": "cnn_model.json",
        "weights": "cnn_weights.npz",
    }
    for key in ("keras", "pytorch"):
        code = files[key][1].decode()
        compile(code, files[key][0], "exec")
        assert f"# From: {link}" in code.splitlines()[:3]  # the header names this page's link
        assert "EPOCHS = 2" in code and "def build_model(weights=None)" in code

    import pycnn

    rebuilt = pycnn.Sequential.from_config(json.loads(files["json"][1]))
    expected = _model(STARTER, seed=3)
    assert [layer.get_config() for layer in rebuilt.layers] == [
        layer.get_config() for layer in expected.layers
    ]
    assert tuple(rebuilt.input_shape) == (8, 8, 1)
    fresh = _weights(files["weights"][1])
    assert {k: v.shape for k, v in fresh.items()} == _shapes(expected)
    assert all(v.dtype == np.float32 for v in fresh.values())

    page.locator(".cp-train button").first.click()
    expect(page.locator(".cp-status")).to_contain_text("Finished", timeout=120_000)
    expect(_button(page, "log")).to_be_enabled(timeout=WAIT)
    expect(page.locator(".cp-export-weights-note")).to_contain_text(
        "trained: 2 epochs", timeout=WAIT
    )

    trained = _weights(_download(page, "weights", tmp_path)[1])
    assert {k: v.shape for k, v in trained.items()} == _shapes(expected)
    assert not np.array_equal(trained["conv2d/kernel"], fresh["conv2d/kernel"])

    name, data = _download(page, "log", tmp_path)
    assert name == "cnn_logs.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        in_zip = archive.read("logs.csv").decode()
    assert any(n.startswith("logs/train/events.out.tfevents.") for n in names), names
    assert any(n.startswith("logs/validation/events.out.tfevents.") for n in names), names
    name, csv = _download(page, "csv", tmp_path)
    assert name == "cnn_logs.csv" and csv.decode() == in_zip
    rows = [line.split(",") for line in in_zip.splitlines()[1:]]
    epochs = {(run, tag): [] for run, tag, _, _ in rows}
    for run, tag, step, _value in rows:
        epochs[run, tag].append(int(step))
    assert epochs["train", "epoch_loss"] == [0, 1]
    assert epochs["validation", "epoch_accuracy"] == [0, 1]


def _summary_total(page) -> str:
    return page.locator(".cp-total-params").first.inner_text()


def test_open_a_model_by_file_chooser_and_a_corrupt_file_by_drag_and_drop(open_app, tmp_path):
    page = open_app(QUERY)
    other = "conv2d:6:3:padding=same,avgpool:2,flatten,dropout:0.25,dense:10:softmax"
    source = _model(other, seed=7)
    source.layers[-1].params["bias"][...] = np.arange(10, dtype=np.float32) / 10  # recognisable
    from pycnn import export

    (tmp_path / "cnn_model.json").write_text(export.model_json(source))
    source.save_weights(str(tmp_path / "cnn_weights.npz"))
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Open a model JSON and/or its weights (.npz)").click()
    chooser.value.set_files([tmp_path / "cnn_model.json", tmp_path / "cnn_weights.npz"])

    total = f"{sum(v.size for v in source.get_weights()):,}"
    expect(page.locator(".cp-total-params").first).to_have_text(total, timeout=30_000)
    expect(page.locator(".cp-import-done")).to_contain_text("with the weights from", timeout=WAIT)
    expect(page).to_have_url(re.compile(r"avgpool:2.*seed=7"), timeout=WAIT)
    expect(page.locator(".cp-export-weights-note")).to_contain_text(
        "opened from a file", timeout=WAIT
    )
    # The imported weights are the model's now: they come back bit for bit.
    got = _weights(_download(page, "weights", tmp_path)[1])
    for layer in source.layers:
        for key in layer.trainable_keys:
            np.testing.assert_array_equal(got[f"{layer.name}/{key}"], layer.params[key])

    # A weights file cut in half, dropped onto the box: refused, nothing changes.
    url = page.url
    half = (tmp_path / "cnn_weights.npz").read_bytes()[:300]
    drop = page.evaluate_handle(
        """(bytes) => {
            const data = new DataTransfer()
            data.items.add(new File([new Uint8Array(bytes)], 'broken.npz'))
            return data
        }""",
        list(half),
    )
    page.locator(".cp-import .cp-drop").first.dispatch_event("drop", {"dataTransfer": drop})
    error = page.locator(".cp-import-error")
    expect(error).to_contain_text("'broken.npz' cannot be used", timeout=WAIT)
    expect(error).to_contain_text("damaged, truncated", timeout=WAIT)
    expect(error).to_contain_text("were kept", timeout=WAIT)
    assert _summary_total(page) == total and page.url == url
    again = _weights(_download(page, "weights", tmp_path)[1])
    assert all(np.array_equal(again[k], got[k]) for k in got)


def test_copy_link_embed_code_and_the_refused_clipboard(
    new_context, open_app, start_server, monitor, tmp_path
):
    context = new_context(
        permissions=["clipboard-read", "clipboard-write"], viewport={"width": 390, "height": 800}
    )
    page = open_app(QUERY, page=context.new_page())
    copy = page.get_by_role("button", name="Copy link")
    copy.focus()
    page.keyboard.press("Enter")  # keyboard only
    expect(page.locator(".cp-copy-link .cp-copy-note")).to_contain_text("Link copied", timeout=WAIT)
    assert page.evaluate("navigator.clipboard.readText()") == page.url

    page.get_by_role("button", name="Embed in a web page…").click()
    code = page.get_by_label("HTML code that embeds this model in a web page")
    expect(code).to_be_visible(timeout=WAIT)
    snippet = code.input_value()
    assert snippet.startswith("<iframe src=") and 'loading="lazy"' in snippet
    assert 'title="CNN Playground"' in snippet
    assert page.url.replace("&", "&amp;") in snippet
    page.get_by_role("button", name="Copy embed code").click()
    expect(page.locator(".cp-embed-code .cp-copy-note")).to_contain_text(
        "Embed code copied", timeout=WAIT
    )
    assert page.evaluate("navigator.clipboard.readText()") == snippet

    # Where the clipboard is refused (e.g. a course page's iframe without permission), the
    # link is shown selected, with what to press.
    page.evaluate(
        """() => {
            navigator.clipboard.writeText = () =>
                Promise.reject(new DOMException('refused', 'NotAllowedError'))
            document.execCommand = () => false
        }"""
    )
    copy.click()
    note = page.locator(".cp-copy-link .cp-copy-note")
    expect(note).to_contain_text("press Ctrl+C", timeout=WAIT)
    field = page.get_by_label("Link to this model")
    expect(field).to_be_visible(timeout=WAIT)
    assert field.input_value() == page.url
    assert field.evaluate("f => f.value.substring(f.selectionStart, f.selectionEnd)") == page.url

    # Every control of the panel has a name and fits a 390-px phone.
    for name in (
        "Keras code (.py)",
        "PyTorch code (.py)",
        "Model JSON",
        "Weights (.npz)",
        "Training log for TensorBoard (.zip)",
        "Training log (.csv)",
    ):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None and box["width"] <= 390, name
    for control in (page.get_by_label("Open a model JSON and/or its weights (.npz)"), copy):
        assert control.bounding_box()["width"] <= 390

    # The embed code, pasted into a course page on another origin (like an LMS), shows this
    # model, and its Copy link works inside the frame (the code allows clipboard-write).
    link = page.url
    (tmp_path / "course.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Course</title></head>"
        f"<body><h1>Week 3</h1>{snippet}</body></html>",
        encoding="utf-8",
    )
    course = context.new_page()
    course.goto(f"http://localhost:{start_server(tmp_path).port}/course.html")
    frame = course.frame_locator("iframe").first
    sup.wait_until_live(frame, monitor)
    total = f"{sum(w.size for w in _model(STARTER, seed=3).get_weights()):,}"
    expect(frame.locator(".cp-total-params").first).to_have_text(total, timeout=WAIT)
    frame.get_by_role("button", name="Copy link").click()
    expect(frame.locator(".cp-copy-link .cp-copy-note")).to_contain_text(
        "Link copied", timeout=WAIT
    )
    assert course.evaluate("navigator.clipboard.readText()") == link
