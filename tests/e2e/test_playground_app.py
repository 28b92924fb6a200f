"""The playground as a new learner meets it, in real Chromium on the static Pyodide site.

Each test opens the page once (each load costs ~5-60 s of Pyodide start-up):
build and edit a model; open a shared link with an invalid model, try Reset, and
fix it; train and stop; a diverging run; a model too big for a tab; links that
are malformed, absurd or repeat keys, and text that is not a link; a model whose
evaluation must be split into small batches; a keyboard-only learner; MNIST
fetched on demand and trained on. Expected shapes and parameter counts are
computed here with pycnn, not copied from the page.
"""

from __future__ import annotations

import re
import time

import e2e_support as sup
import pytest

pytestmark = pytest.mark.e2e

KERAS = "conv2d:32:3,maxpool:2,conv2d:64:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"


# --------------------------------------------------------------------------- helpers


def _expected(layers: str, dataset: str) -> list[tuple[tuple[int, ...], int]]:
    """(output shape, params) per layer from a real pycnn model built in this process."""
    from playground.analysis import build_model
    from pycnn.datasets import info

    model = build_model(layers, info(dataset).input_shape)
    return [(tuple(r.output_shape), int(r.params)) for r in model.summary()]


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def _table(page) -> list[tuple[tuple[int, ...], int | None]] | None:
    """The summary rows, or None if the table was being redrawn while read."""
    rows = []
    for row in page.locator(".cp-summary tr.cp-row").all():
        try:
            cells = row.locator("td").all_inner_texts()
        except Exception:  # noqa: BLE001 - the row was replaced meanwhile
            return None
        if len(cells) < 4 or not cells[3].strip():  # a row drawn but not yet filled
            return None
        shape = tuple(int(d) for d in re.findall(r"\d+", cells[2]))
        params = None if cells[3].strip() == "—" else _int(cells[3])
        rows.append((shape, params))
    return rows


def _wait_table(page, expected, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        got = _table(page)
        if got == expected:
            return
        assert time.monotonic() < deadline, f"summary table {got} != pycnn {expected}"
        page.wait_for_timeout(100)


def _total(page) -> int:
    return _int(page.locator(".cp-total-params").first.inner_text())


def _wait_enabled(locator, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while locator.is_disabled():
        assert time.monotonic() < deadline, f"{locator} stayed disabled"
        time.sleep(0.1)


def _train_button(page):
    return page.locator(".cp-train button").first


# --------------------------------------------------------------------------- build


def test_add_edit_undo_and_keras_preset(open_app):
    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    page = open_app(sup.free_play())

    _wait_table(page, _expected(DEFAULT_LAYERS, DEFAULT_DATASET))
    history = page.evaluate("() => history.length")

    # Add a Dropout: it goes before the output layer and passes the shape through.
    page.locator(".cp-add-dropout button").first.click()
    with_dropout = "conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    _wait_table(page, _expected(with_dropout, "digits"))

    # Edit the first Conv2D: 16 filters of 5x5.
    page.locator(".cp-block-conv2d .cp-arg-filters select").first.select_option("16")
    _wait_table(
        page, _expected("conv2d:16:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax", "digits")
    )
    page.locator(".cp-block-conv2d .cp-arg-kernel_size select").first.select_option("5")
    edited = "conv2d:16:5,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    _wait_table(page, _expected(edited, "digits"))
    assert _total(page) == sum(p for _, p in _expected(edited, "digits"))
    assert "conv2d:16:5" in page.url  # the address follows every edit, without a reload

    # Remove the Dropout by mistake, then get it back.
    page.locator(".cp-block-dropout .cp-remove button").first.click()
    _wait_table(page, _expected("conv2d:16:5,maxpool:2,flatten,dense:10:softmax", "digits"))
    page.locator(".cp-undo button").first.click()
    _wait_table(page, _expected(edited, "digits"))

    # The Keras preset needs 28x28 images: it switches to MNIST and shows Keras's total.
    page.locator(".cp-preset-keras button").first.click()
    _wait_table(page, _expected(KERAS, "mnist"))
    assert _total(page) == 34_826
    assert "dataset=mnist" in page.url and KERAS in page.url
    # The address is replaced, not pushed: Back leaves the page instead of walking
    # through edits the page would not follow.
    assert page.evaluate("() => history.length") == history


# --------------------------------------------------------------------------- shared link, invalid model


def test_shared_link_with_an_invalid_model_shows_the_problem_and_the_fix(open_app):
    layers = "conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax"
    page = open_app(f"?dataset=digits&layers={layers}&epochs=3")

    bad = page.locator(".cp-summary tr.cp-row-error").first
    bad.wait_for(state="visible")
    assert bad.get_attribute("data-index") == "2"  # the third layer, and only it
    assert page.locator(".cp-summary tr.cp-row-error").count() == 1
    assert "conv2d_1 (Conv2D)" in bad.inner_text()
    error = page.locator(".cp-error").first.inner_text()
    assert "kernel_size" in error and "larger than its input" in error and "padding='same'" in error
    # The rest of the table still shows: the layers before and after have shapes.
    rows = _table(page)
    assert rows[0] == ((6, 6, 8), 80) and rows[1][0] == (3, 3, 8) and rows[4][0] == (10,)
    assert _train_button(page).is_disabled()
    assert "Fix the model first" in page.locator(".cp-train-reason").first.inner_text()

    # Reset weights cannot make weights for this model either: it says why, nothing breaks.
    page.locator(".cp-reset button").first.click()
    status = sup.wait_text(page.locator(".cp-status"), r"^Weights not reset", timeout_s=15)
    assert "Fix the model first" in status and "kernel_size" in status
    message = page.locator(".cp-train-message").first.inner_text()
    assert "kernel_size" in message and "larger than its input" in message
    assert _table(page)[0] == ((6, 6, 8), 80)  # the model is untouched

    page.locator(".cp-fix button", has_text="padding='same'").first.click()
    fixed = "conv2d:8:3,maxpool:2,conv2d:16:5:padding=same,flatten,dense:10:softmax"
    _wait_table(page, _expected(fixed, "digits"))
    assert page.locator(".cp-summary tr.cp-row-error").count() == 0
    _wait_enabled(_train_button(page))
    assert "padding=same" in page.url


# --------------------------------------------------------------------------- train and stop


def test_train_on_digits_then_stop_a_longer_run(app_page):
    page = app_page
    status = page.locator(".cp-status")
    epochs = page.locator(".cp-epochs input").first
    epochs.fill("6")
    epochs.press("Enter")
    page.wait_for_timeout(300)
    _train_button(page).click()
    sup.wait_text(status, r"^Finished", timeout_s=120)
    accuracy_text = sup.wait_text(page.locator(".cp-test-accuracy"), r"\d+\.\d %")

    train = sup.bokeh_data(page, "cp-train-source")
    val = sup.bokeh_data(page, "cp-val-source")
    assert train and len(train["loss"]) >= 6, train
    assert len(val["loss"]) == 6, val
    assert val["loss"][-1] < val["loss"][0], f"validation loss did not fall: {val['loss']}"
    assert val["accuracy"][-1] > val["accuracy"][0], f"accuracy did not rise: {val['accuracy']}"
    assert train["loss"][-1] < train["loss"][0]
    assert float(re.search(r"(\d+\.\d) %", accuracy_text).group(1)) > 80

    # A much longer run, stopped mid-way: the page answers and the run ends promptly.
    epochs.fill("100")
    epochs.press("Enter")
    page.wait_for_timeout(300)
    _train_button(page).click()
    sup.wait_text(status, r"^Epoch ([2-9]|\d\d)/100", timeout_s=60)
    assert epochs.is_disabled()  # settings are locked while training...
    assert "locked while training" in page.locator(".cp-train-reason").first.inner_text()
    clicked = time.monotonic()
    page.locator(".cp-stop button").first.click(timeout=5_000)
    text = sup.wait_text(status, r"^Stopped", timeout_s=30)
    elapsed = time.monotonic() - clicked
    assert elapsed < 5, f"Stop took {elapsed:.1f} s (test accuracy included)"
    assert "test accuracy" in text
    _wait_enabled(epochs)  # ...and unlocked after
    _wait_enabled(_train_button(page))
    train = sup.bokeh_data(page, "cp-train-source")
    assert max(train["x"]) < 6 + 100  # it did not run to the end


def test_stop_ends_a_long_run_of_the_heaviest_model_the_page_accepts(open_app):
    """Six 64-filter convolutions on 32x32 colour images. At batch 64 one batch would hold
    the worker for seconds (Stop is heard only between batches), so the page refuses it
    and names the batch size that fits; at that size, Stop early in a 100-epoch run ends
    the run and the test accuracy follows. The timings are benchmarks/bench_stop.py's."""
    from playground.analysis import analyze, size_problem
    from playground.spec import parse_layers
    from pycnn.datasets import info

    deep = ",".join(["conv2d:64:3"] * 6) + ",flatten,dense:9:softmax"
    colour = info("colour-shapes")
    analysis = analyze(parse_layers(deep), colour.input_shape, colour.num_classes)
    # (at Adam's default 0.01 the loss of this model explodes at small batches)
    page = open_app(f"?dataset=colour-shapes&layers={deep}&batch=64&epochs=100&lr=0.001")
    reason = sup.wait_text(page.locator(".cp-train-reason"), r"multiply-adds", timeout_s=30)
    assert _train_button(page).is_disabled()
    batch = int(re.search(r"Use batch size (\d+) or smaller", reason).group(1))
    assert size_problem(analysis, batch) is None and size_problem(analysis, 2 * batch)

    page.locator(".cp-batch select").first.select_option(str(batch))
    _wait_enabled(_train_button(page), timeout_s=30)
    _train_button(page).click()
    status = page.locator(".cp-status")
    sup.wait_text(status, r"^Epoch 1/100, batch ([3-9]|\d\d+)/", timeout_s=180)
    clicked = time.monotonic()
    page.locator(".cp-stop button").first.click(timeout=5_000)
    sup.wait_text(status, r"^Stopped", timeout_s=60)
    assert time.monotonic() - clicked < 30, "Stop was not heard for 30 s"  # sanity bound only
    text = sup.wait_text(status, r"^Stopped: loss", timeout_s=300)
    assert re.search(r"test accuracy \d+\.\d %", text), text
    _wait_enabled(_train_button(page))
    train = sup.bokeh_data(page, "cp-train-source")
    assert train["x"] and max(train["x"]) < 1, train["x"]  # not even the first epoch ended


def test_a_diverging_run_stops_with_advice_and_the_learner_keeps_everything(open_app):
    """Adam at learning rate 1 blows the loss up on the first batches (seeded, so always):
    the page says so and what to try, the model and settings stay, and Reset works."""
    page = open_app(sup.free_play("&epochs=3&lr=1&optimizer=adam"))
    before = _table(page)
    assert _total(page) == 810
    _train_button(page).click()
    status = sup.wait_text(page.locator(".cp-status"), r"loss exploded", timeout_s=60)
    message = page.locator(".cp-train-message").first.inner_text()
    assert "diverged" in message and "try 0.1" in message, message
    assert "last good weights were kept" in message, (status, message)
    assert _table(page) == before and _total(page) == 810  # the model is untouched
    lr = page.locator(".cp-lr select").first.evaluate("s => s.options[s.selectedIndex].text")
    assert float(lr) == 1.0, lr  # so are the settings
    assert "lr=1" in page.evaluate("location.search")  # and the shared link
    _wait_enabled(_train_button(page))

    page.locator(".cp-reset button").first.click()
    sup.wait_text(page.locator(".cp-status"), r"Weights reset", timeout_s=15)
    assert (
        not page.locator(".cp-train-message").count()
        or not page.locator(".cp-train-message").first.inner_text().strip()
    )


def test_a_model_too_big_for_a_browser_tab_cannot_train_and_says_why(open_app):
    huge = "flatten,dense:4096,dense:4096,dense:10:softmax"  # 17.1 million parameters
    page = open_app(f"?dataset=digits&layers={huge}")
    _wait_table(page, _expected(huge, "digits"))
    assert _total(page) > 3_000_000
    assert _train_button(page).is_disabled()
    reason = sup.wait_text(page.locator(".cp-train-reason"), r"parameters", timeout_s=15)
    assert "3,000,000" in reason and "fewer" in reason, reason

    # Removing one of the big Dense layers brings it under the limit: Train is offered again.
    page.locator(".cp-block-dense .cp-remove button").first.click()
    smaller = "flatten,dense:4096,dense:10:softmax"
    _wait_table(page, _expected(smaller, "digits"))
    _wait_enabled(_train_button(page))


# --------------------------------------------------------------------------- malformed link


def test_malformed_link_with_markup_is_shown_as_text(open_app):
    evil_layers = "conv2d:8:3,<script>window.__pwned=1</script>,dense:10:softmax"
    evil_dataset = '<img src=x onerror="window.__pwned=2">'
    page = open_app(f"?layers={evil_layers}&dataset={evil_dataset}&epochs=2")

    message = page.locator(".cp-link-error").first
    message.wait_for(state="visible")
    text = message.inner_text()
    assert "token 2" in text and "unknown layer kind" in text  # which token, and why
    assert "<script>" in text  # shown as text...
    assert "dataset must be one of" in text and "<img" in text
    assert message.locator("script, img").count() == 0  # ...never as markup
    assert page.evaluate("() => window.__pwned === undefined")

    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    _wait_table(page, _expected(DEFAULT_LAYERS, DEFAULT_DATASET))  # the default model instead
    assert page.locator(".cp-epochs input").first.input_value() == "2"  # the valid parts are kept


# --------------------------------------------------------------------------- keyboard only


def test_keyboard_only_learner_adds_edits_and_undoes(open_app):
    """Everything a mouse does in the builder, a keyboard does too: focus, Enter/Space, arrows."""
    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    page = open_app(sup.free_play())

    _wait_table(page, _expected(DEFAULT_LAYERS, DEFAULT_DATASET))

    page.locator(".cp-add-dropout button").first.focus()
    page.keyboard.press("Enter")
    with_dropout = "conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    _wait_table(page, _expected(with_dropout, DEFAULT_DATASET))

    # A focused menu changes with the arrow keys; the table follows whatever was chosen.
    filters = page.locator(".cp-block-conv2d .cp-arg-filters select").first
    filters.focus()
    before = filters.input_value()
    page.keyboard.press("ArrowDown")
    chosen = filters.input_value()
    assert chosen != before, "ArrowDown on the focused Filters menu chose nothing"
    edited = with_dropout.replace("conv2d:8:3", f"conv2d:{chosen}:3")
    _wait_table(page, _expected(edited, DEFAULT_DATASET))

    # Undo from the keyboard brings the previous model back.
    page.locator(".cp-undo button").first.focus()
    page.keyboard.press("Space")
    _wait_table(page, _expected(with_dropout, DEFAULT_DATASET))


# --------------------------------------------------------------------------- a large dataset


def test_mnist_is_fetched_on_demand_and_trains(open_app, monitor, site_url):
    """MNIST is not in the start-up download: choosing it fetches data/mnist.npz from the
    site (no other origin), the preview shows its classes, and training on it learns."""
    from pycnn.datasets import info

    page = open_app(
        "?dataset=mnist&layers=conv2d:8:3,maxpool:2,flatten,dense:10:softmax&epochs=30&batch=128"
    )
    figures = page.locator(".cp-preview figure img")
    deadline = time.monotonic() + 60
    while figures.count() < 10:  # one sample row per class, from the downloaded file
        assert time.monotonic() < deadline, "the MNIST preview never showed its 10 classes"
        page.wait_for_timeout(200)
    fetched = [u for u in monitor.requests if u.split("?")[0] == site_url + "data/mnist.npz"]
    assert fetched, f"data/mnist.npz was not fetched: {monitor.requests[-20:]}"
    _train_button(page).click()
    status = page.locator(".cp-status")
    # 20,000 MNIST training images less the 10 % validation split, in batches of 128; 30
    # epochs so that the run is still going when Stop comes (an epoch of this model takes
    # about a second in the page): stop once 20+ batches are done, in epoch 1 or later.
    sup.wait_text(
        status,
        r"^Epoch (1/30.*\b([2-9]\d|1\d\d)\s*/\s*141\b|([2-9]|[12]\d)/30)",
        timeout_s=120,
    )
    page.locator(".cp-stop button").first.click(timeout=5_000)
    text = sup.wait_text(status, r"^Stopped: loss", timeout_s=60)
    found = re.search(
        r"loss (\d+\.\d+); test accuracy (\d+\.\d) % on 2,000 of ([\d,]+) test images", text
    )
    assert found, text
    loss, accuracy = float(found.group(1)), float(found.group(2))
    assert _int(found.group(3)) == info("mnist").n_test
    # 20+ batches of 128 images: far from guessing (loss ln 10 = 2.30, accuracy 10 %).
    assert loss < 1.5 and accuracy > 50, text
    train = sup.bokeh_data(page, "cp-train-source")
    assert train["loss"][-1] < train["loss"][0], train["loss"]


# --------------------------------------------------------------------------- absurd links


def test_absurd_numbers_in_a_link_leave_a_live_page_that_says_what_is_wrong(open_app):
    """Hundreds of digits in a setting, a superscript in a layer: the page starts, names
    each problem in words (no Python internals), and keeps working."""
    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    digits = "9" * 400
    page = open_app(f"?epochs={digits}&seed={digits}&batch={digits}&layers=conv2d:²:3")
    message = page.locator(".cp-link-error").first
    message.wait_for(state="visible")
    text = message.inner_text()
    for limit in ("epochs must be at most 100", "seed must be at most", "batch must be at most"):
        assert limit in text, text
    assert "filters must be a whole number" in text and "default model" in text
    for internal in ("invalid literal", "Exceeds the limit", "OverflowError", "int()"):
        assert internal not in text
    _wait_table(page, _expected(DEFAULT_LAYERS, DEFAULT_DATASET))
    assert page.locator(".cp-epochs input").first.input_value() == "5"  # the default

    # Text that is not a link, entered in the link box: refused, the model stays.
    box = page.locator(".cp-share-link input").first
    box.fill("hello world")
    box.press("Enter")
    refused = sup.wait_text(page.locator(".cp-link-error"), r"not a link to a model", timeout_s=15)
    assert "hello world" in refused and "was kept" in refused
    deadline = time.monotonic() + 10
    while "hello world" in box.input_value():
        assert time.monotonic() < deadline, "the link box kept the refused text"
        page.wait_for_timeout(100)
    assert "layers=conv2d:8:3" in box.input_value()
    assert _table(page) == _expected(DEFAULT_LAYERS, DEFAULT_DATASET)

    page.locator(".cp-add-dropout button").first.click()  # and the page still works
    with_dropout = "conv2d:8:3,maxpool:2,flatten,dropout:0.5,dense:10:softmax"
    _wait_table(page, _expected(with_dropout, DEFAULT_DATASET))


def test_a_link_that_repeats_keys_reads_the_first_values_and_says_so(open_app):
    from playground.presets import DEFAULT_DATASET, DEFAULT_LAYERS

    page = open_app(
        "?layers=bogus&layers=flatten,dense:10:softmax&dataset=cifar&dataset=mnist"
        "&epochs=3&epochs=4"
    )
    message = page.locator(".cp-link-error").first
    message.wait_for(state="visible")
    text = message.inner_text()
    assert "'layers' is given 2 times: the first value ('bogus') was read" in text, text
    assert "unknown layer kind 'bogus'" in text and "default model" in text
    assert "'dataset' is given 2 times: the first value ('cifar') was read" in text
    assert "dataset must be one of" in text
    # What the page did is what it said: the default model and dataset, the first epochs.
    _wait_table(page, _expected(DEFAULT_LAYERS, DEFAULT_DATASET))
    assert page.locator(".cp-epochs input").first.input_value() == "3"
    _wait_enabled(_train_button(page))


# --------------------------------------------------------------------------- evaluation memory


def test_a_model_with_huge_layer_outputs_is_evaluated_in_small_batches(open_app):
    """Eleven 28x28x64 outputs per image: trainable at batch 32, but 256 test images at
    once would hold over half a gigabyte of layer outputs. The test accuracy is measured
    a few dozen images at a time, with progress, and the run ends."""
    from playground.analysis import analyze, evaluation_batch, size_problem
    from playground.spec import parse_layers

    wide = "conv2d:64:1," + ",".join(["dropout:0.1"] * 10) + ",flatten,dense:10:softmax"
    analysis = analyze(parse_layers(wide), (28, 28, 1), 10)
    chunk = evaluation_batch(analysis)
    assert size_problem(analysis, 32) is None and size_problem(analysis, 256) is not None
    assert 1 < chunk < 256

    page = open_app(f"?dataset=mnist&layers={wide}&batch=32&epochs=1&val=0")
    _wait_enabled(_train_button(page), timeout_s=30)
    _train_button(page).click()
    status = page.locator(".cp-status")
    sup.wait_text(status, r"^Epoch 1/1, batch", timeout_s=120)
    page.locator(".cp-stop button").first.click(timeout=5_000)
    shown: set[int] = set()
    deadline = time.monotonic() + 180
    while True:
        text = status.first.inner_text()
        if text.startswith("Stopped:"):
            break
        found = re.search(r"Measuring test accuracy… ([\d,]+)/2,000 images", text)
        if found:
            shown.add(_int(found.group(1)))
        assert time.monotonic() < deadline, f"evaluation did not end; last status {text!r}"
        page.wait_for_timeout(50)
    assert shown, "no evaluation progress was shown"
    assert all(n % chunk == 0 or n == 2000 for n in shown), (chunk, shown)
    # Progress steps by the small chunk, which whole batches of 256 could never show
    # (polling may miss the first steps, so don't ask for one in particular).
    partial = {n for n in shown if n != 2000}
    assert partial and all(n % 256 for n in partial), (chunk, shown)
    assert re.search(r"test accuracy \d+\.\d % on 2,000 of", text), text
    _wait_enabled(_train_button(page))
