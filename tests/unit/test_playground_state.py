"""The state object without a browser: undo/redo, edits, presets, applying links."""

from __future__ import annotations

from playground.presets import DEFAULT_LAYERS, PRESETS
from playground.spec import KINDS, Block, format_layers, parse_layers
from playground.state import PlaygroundState

KERAS = PRESETS["keras"].layers


# --------------------------------------------------------------------------- undo / redo


def test_undo_redo_every_kind_of_edit():
    s = PlaygroundState()
    history = [list(s.layers)]
    s.add("dense", 3, units=32)
    s.update(0, filters=16)
    s.duplicate(0)
    s.move(1, +1)
    s.remove(2)
    s.dataset = "mnist"
    final = (list(s.layers), s.dataset)
    steps = 6
    for _ in range(steps):
        assert s.undo()
    assert s.layers == history[0] and s.dataset == "digits"
    assert not s.undo() and not s.can_undo
    for _ in range(steps):
        assert s.redo()
    assert (s.layers, s.dataset) == final
    assert not s.redo()


def test_deleting_the_wrong_block_is_one_undo_away():
    s = PlaygroundState()
    before = list(s.layers)
    s.remove(0)
    assert len(s.layers) == len(before) - 1
    s.undo()
    assert s.layers == before


def test_a_new_edit_clears_redo_and_opening_a_link_is_not_an_edit():
    s = PlaygroundState()
    s.apply_query(f"?layers={KERAS}&dataset=mnist")
    assert not s.can_undo
    s.remove(0)
    s.undo()
    assert s.can_redo
    s.update(0, filters=4)
    assert not s.can_redo


def test_edits_are_refused_while_training():
    s = PlaygroundState()
    before = list(s.layers)
    s.training = True
    s.add("dense")
    s.remove(0)
    s.load_preset("keras")
    assert s.layers == before and not s.undo()


def test_locked_blocks_cannot_be_added():
    s = PlaygroundState(unlocked_kinds=["conv2d", "flatten", "dense"])
    n = len(s.layers)
    s.add("dropout")
    assert len(s.layers) == n
    s.add("conv2d", 0)
    assert len(s.layers) == n + 1


def test_a_pasted_link_with_locked_blocks_is_refused_and_the_model_kept():
    s = PlaygroundState(unlocked_kinds=["conv2d", "flatten", "dense"])
    before = list(s.layers)
    problems = s.apply_query(
        "?layers=conv2d:8:3,maxpool:2,dropout:0.5,flatten,dense:10", record=True
    )
    assert s.layers == before
    assert len(problems) == 1 and problems[0].key == "layers"
    assert "MaxPooling2D, Dropout are not unlocked yet" in problems[0].message
    assert "Free play" in problems[0].message and "kept" in problems[0].message
    assert s.apply_query("?layers=conv2d:8:3,flatten,dense:10", record=True) == []
    assert [b.kind for b in s.layers] == ["conv2d", "flatten", "dense"]
    s.unlocked_kinds = list(KINDS)  # free play: every block opens
    assert s.apply_query("?layers=maxpool:2,flatten,dense:10", record=True) == []


# --------------------------------------------------------------------------- applying links


def test_an_unexpected_failure_while_reading_a_link_keeps_the_page_and_says_so(monkeypatch):
    from playground import state as state_module

    s = PlaygroundState(epochs=7)
    s.update(0, filters=4)
    before = (list(s.layers), s.dataset, s.epochs)

    def broken(query):
        raise RuntimeError("a bug in the reader")

    monkeypatch.setattr(state_module, "parse_query", broken)
    [problem] = s.apply_query("?dataset=mnist&epochs=3")
    assert problem.key == "link" and "could not be read" in problem.message
    assert "RuntimeError" in problem.message and "model on the page was kept" in problem.message
    assert (list(s.layers), s.dataset, s.epochs) == before
    assert s.link_problems == [problem]


def test_a_failure_half_way_through_applying_a_link_rolls_it_back(monkeypatch):
    from playground import state as state_module

    s = PlaygroundState()
    s.update(0, filters=4)
    before = (list(s.layers), s.dataset, s.epochs, s.can_undo, len(s._undo))
    analyze = state_module.analyze

    def fails_on_the_links_model(blocks, *args):
        if blocks[0].kind == "flatten":
            raise MemoryError  # e.g. while the new model is being analysed
        return analyze(blocks, *args)

    monkeypatch.setattr(state_module, "analyze", fails_on_the_links_model)
    [problem] = s.apply_query(
        "?dataset=mnist&epochs=3&layers=flatten,dense:10:softmax", record=True
    )
    assert "MemoryError" in problem.message and "kept" in problem.message
    assert (list(s.layers), s.dataset, s.epochs, s.can_undo, len(s._undo)) == before
    assert s.analysis.valid and s.analysis.rows[0].kind == "Conv2D"


def test_a_link_is_refused_while_training_runs():
    s = PlaygroundState()
    before = list(s.layers)
    s.training = True
    [problem] = s.apply_query("?layers=flatten,dense:10:softmax")
    assert problem.key == "link" and "while training runs" in problem.message
    assert s.layers == before and s.link_problems == [problem]


def test_a_link_without_layers_means_the_default_model():
    s = PlaygroundState()
    s.layers = parse_layers(KERAS)
    assert s.apply_query("?epochs=3") == []
    assert format_layers(s.layers) == DEFAULT_LAYERS and s.epochs == 3


def test_a_link_of_the_model_on_the_page_wakes_no_watcher():
    s = PlaygroundState(epochs=7)
    s.update(0, filters=4)
    woken = []
    s.param.watch(lambda *events: woken.extend(e.name for e in events), ["layers", "dataset"])
    s.param.watch(lambda *events: woken.extend(e.name for e in events), ["epochs"])
    link = s.query()
    assert "epochs=7" in link and "layers=conv2d:4" in link
    assert s.apply_query(link) == [] and s.apply_query(link, record=True) == []
    assert woken == []
    # A link that differs in one value changes that one.
    assert s.apply_query(link.replace("epochs=7", "epochs=8")) == []
    assert woken == ["epochs"] and s.epochs == 8


def test_the_model_on_the_page_opens_while_training_runs_and_keeps_its_weights():
    """A reload or a saved lesson with the page's own model, during and after a run."""
    import asyncio

    from playground.training import TrainingController
    from pycnn.datasets import load

    s = PlaygroundState(epochs=1)
    controller = TrainingController(s, dataset_loader=load)
    link = s.query()
    s.training = True
    assert s.apply_query(link) == [] and s.link_problems == []
    s.training = False
    asyncio.run(controller.train())

    def results():
        c = controller
        return c.current_model(), c.trained_epochs, c.test_accuracy, c.status

    trained = results()
    assert trained[0] is not None and trained[2] is not None
    for record in (False, True):
        assert s.apply_query(link, record=record) == []
    assert results() == trained  # the same model object: its learnt weights
    assert not s.can_undo


# --------------------------------------------------------------------------- presets


def test_keras_preset_on_digits_switches_to_mnist_in_one_undo_step():
    s = PlaygroundState()
    s.load_preset("keras")
    assert s.dataset == "mnist" and s.analysis.total_params == 34_826
    assert (s.batch_size, s.optimizer) == (128, "adam")
    s.undo()
    assert s.dataset == "digits" and format_layers(s.layers) == DEFAULT_LAYERS


def test_every_preset_is_valid_on_every_dataset_it_loads_on():
    for dataset in ("digits", "mnist", "fashion"):
        for key in PRESETS:
            s = PlaygroundState(dataset=dataset)
            s.load_preset(key)
            assert s.analysis.valid, (dataset, key, s.analysis.error)


def test_blocks_are_values():
    a = Block.make("conv2d", filters=8, kernel_size=3)
    assert a == parse_layers("conv2d:8:3")[0]
    assert a.replace(filters=16) != a and a.args["filters"] == 8


def test_a_view_failing_on_a_link_does_not_stop_the_page():
    s = PlaygroundState()

    def broken_view(*_events):
        raise TypeError("a view with a bug")

    s.param.watch(broken_view, ["dataset", "layers"])
    [problem] = s.apply_query("?dataset=mnist&layers=flatten,dense:10:softmax")
    assert "TypeError: a view with a bug" in problem.message
    assert format_layers(s.layers) == DEFAULT_LAYERS and s.dataset == "digits"
