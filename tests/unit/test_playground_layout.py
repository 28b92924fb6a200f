"""The page's regions and the accessible names of controls and pictures, without a browser.

In the browser, tests/e2e/test_layout.py and test_accessibility.py check the same page
with real screen sizes, axe-core and a keyboard.
"""

from __future__ import annotations

import re

import pytest

pn = pytest.importorskip("panel")

from playground.components.buttons import NamedButton
from playground.components.layout import PENDING_CLASS, Columns, Page, built_later, heading, section
from playground.components.shapeflow import shapeflow_svg
from playground.components.summary import summary_html
from playground.spec import parse_layers
from playground.state import PlaygroundState


def _label_html(button: NamedButton) -> str:
    return button.get_root().label.html


def test_a_symbol_is_shown_but_not_read_and_the_name_is_read():
    up = NamedButton(name="Move layer 2 up", symbol="↑", text="")
    html = _label_html(up)
    assert '<span aria-hidden="true">↑</span>' in html
    assert '<span class="cp-sr-only">Move layer 2 up</span>' in html
    assert up.description == "Move layer 2 up"  # the mouse user's tooltip says it too


def test_symbol_and_words_on_screen_the_words_read():
    train = NamedButton(name="Train", symbol="▶")
    assert _label_html(train) == (
        '<span aria-hidden="true">▶ Train</span><span class="cp-sr-only">Train</span>'
    )
    add = NamedButton(name="Add <Conv2D>", symbol="+", text="Conv2D")
    assert 'cp-sr-only">Add &lt;Conv2D&gt;<' in _label_html(add)  # names are escaped
    plain = NamedButton(name="Dense only")
    assert _label_html(plain) == "Dense only"


def test_renaming_a_button_renames_what_is_read():
    button = NamedButton(name="Move layer 1 up", symbol="↑", text="")
    model = button.get_root()
    button.name = "Move layer 3 up"
    assert "Move layer 3 up" in model.label.html


def test_the_page_has_header_main_and_an_aside_only_with_a_lesson():
    free = Page(
        header=heading("Title", 1), sections=[section("Train", pn.pane.HTML("x"), name="t")]
    )
    assert free.layout_class == "cp-page"
    for tag in ("<header", "<main", "<aside"):
        assert tag in Page._template
    lesson = Page(header=heading("Title", 1), lesson=pn.pane.HTML("step 1 / 8"), sections=[])
    assert "cp-with-aside" in lesson.layout_class


def test_a_section_has_an_h2_and_its_marker():
    part = section("See <inside>", pn.pane.HTML("x"), name="inside")
    assert "cp-section-inside" in part.css_classes
    assert part.objects[0].object.startswith("<h2>See &lt;inside&gt;</h2>")


def test_columns_wrap_each_argument_and_stack_lists():
    a, b, c = (pn.pane.HTML(t) for t in "abc")
    cols = Columns(a, [b, c], min_width=300)
    assert [len(col.objects) for col in cols.objects] == [1, 2]
    assert all("cp-column" in col.css_classes for col in cols.objects)
    assert "flex: 1 1 300px" in cols.stylesheets[0]


def test_a_view_built_later_is_a_labelled_placeholder_until_the_first_render_then_built_once():
    from bokeh.document import Document
    from bokeh.events import DocumentReady
    from panel.io.state import set_curdoc

    builds: list[pn.pane.HTML] = []

    def make():
        builds.append(pn.pane.HTML(f"view {len(builds)}"))
        return builds[-1]

    doc = Document()
    with set_curdoc(doc):
        later = built_later(make, height=250, label="the <plots>")
        assert builds == []
        (placeholder,) = later.objects
        html = placeholder.object
        assert PENDING_CLASS in html and 'role="status"' in html and "min-height: 250px" in html
        assert "Preparing the &lt;plots&gt;" in html  # read out, escaped
        doc.callbacks.trigger_event(DocumentReady())
        assert later.objects == builds and len(builds) == 1
        doc.callbacks.trigger_event(DocumentReady())  # a second render does not build again
        assert len(builds) == 1


def test_without_a_live_document_a_view_built_later_is_built_at_once():
    """No document (a script, these tests) never sends DocumentReady: build now."""
    later = built_later(lambda: pn.pane.HTML("plots"), height=100, label="plots")
    assert [o.object for o in later.objects] == ["plots"]


def test_a_layer_with_a_problem_says_so_in_words_and_the_table_scrolls_in_its_box():
    state = PlaygroundState()
    state.layers = parse_layers("conv2d:8:3,maxpool:2,conv2d:16:5,flatten,dense:10:softmax")
    html = summary_html(state.analysis)
    row = re.search(r'<tr class="cp-row cp-row-error"[^>]*>(.*?)</tr>', html).group(1)
    assert 'role="img" aria-label="has a problem"' in row
    assert html.startswith('<div class="cp-scroll" tabindex="0" role="region"')


def test_the_shape_flow_says_every_output_shape():
    state = PlaygroundState()
    svg = shapeflow_svg(state.analysis)
    label = re.search(r'<svg[^>]*aria-label="([^"]*)"', svg).group(1)
    assert label == (
        "Output shape of each layer: Input 8×8×1, then Conv2D 6×6×8, then MaxPooling2D "
        "3×3×8, then Flatten 72, then Dense 10"
    )
