"""After training: the confusion matrix, per-class accuracy and the misclassified images.

The trained model runs over the test images (those the test accuracy is
measured on) batch by batch, yielding to the page between batches, so clicks
get through while it works. A cell of the matrix is a button: clicking it
shows the test images in it. The results belong to one trained model: they
are measured again after the next run and cleared when the model changes.
"""

from __future__ import annotations

import asyncio

import numpy as np
import panel as pn

from playground.components.figures import (
    INSIGHT_CSS,
    bars_html,
    message_html,
    picture_html,
)
from playground.components.htmlwidgets import PickableHTML
from playground.components.inside import InsightView
from playground.components.text import esc
from playground.insight.feature_maps import image_picture
from playground.insight.results import (
    confusion_table,
    mistake_caption,
    percent,
    probability_bars,
)
from pycnn.insight import EvaluationResults, Mistake, NothingToShow, evaluate_test_set

__all__ = ["CELL_LIMIT", "MISTAKES", "ResultsView", "confusion_html"]

MISTAKES = 24  # images in the gallery of mistakes
CELL_LIMIT = 60  # images shown for one cell of the matrix

_TABLE_CSS = """
.cp-confusion-scroll { overflow-x: auto; max-width: 100%; }
.cp-confusion-table { border-collapse: collapse; font-size: 12px; }
.cp-confusion-table th { font-weight: 600; padding: 2px 4px; color: #222; }
.cp-confusion-table thead th { vertical-align: bottom; max-width: 5.5em; }
.cp-confusion-table th.cp-corner { font-weight: 400; font-size: 11px; white-space: nowrap;
  text-align: right; }
.cp-confusion-table tbody th { text-align: right; white-space: nowrap; }
.cp-confusion-table td { padding: 1px; }
.cp-confusion-table td.cp-class-accuracy { padding: 0 6px; text-align: right;
  font-variant-numeric: tabular-nums; }
.cp-confusion-table button { min-width: 30px; min-height: 32px; padding: 0 2px; border: 1px solid #fff;
  font: inherit; font-variant-numeric: tabular-nums; cursor: pointer; border-radius: 2px; }
.cp-confusion-table button.cp-diagonal { border: 2px solid #222; }
.cp-confusion-table button[aria-pressed="true"] { outline: 3px solid #d1006a; outline-offset: -1px; }
.cp-confusion-table button:focus-visible { outline: 3px solid #1f4e8c; outline-offset: 1px; }
"""
_GALLERY_CSS = """
.cp-gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.cp-gallery figure { margin: 0; width: 150px; }
.cp-gallery img { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid #999; }
.cp-gallery .cp-bars { grid-template-columns: minmax(2em, max-content) minmax(30px, 1fr) 3em; }
"""


def _column_head(k: int, name: str) -> str:
    """A column's header: the class name, or for a long one its number (the name is
    still what a screen reader reads), so ten columns fit a phone."""
    if len(name) <= 3:
        return f'<th scope="col">{esc(name)}</th>'
    return (
        f'<th scope="col" title="{esc(name)}"><span aria-hidden="true">{k}</span>'
        f'<span class="cp-sr">{esc(name)}</span></th>'
    )


def confusion_html(results: EvaluationResults, normalised: bool) -> str:
    """The matrix as a table whose cells are buttons named by a full sentence."""
    table = confusion_table(results, normalised)
    names = table.class_names
    numbered = any(len(n) > 3 for n in names)
    head = "".join(_column_head(k, n) for k, n in enumerate(names))
    rows = []
    for t, name in enumerate(names):
        cells = []
        for cell in table.cells[t]:
            diagonal = ' class="cp-diagonal"' if cell.true == cell.predicted else ""
            cells.append(
                f'<td><button type="button"{diagonal} data-pick="{cell.true},{cell.predicted}" '
                f'aria-pressed="false" aria-label="{esc(cell.description)}" '
                f'style="background:{cell.background};color:{cell.text_colour}">'
                f"{esc(cell.label)}</button></td>"
            )
        row_name = f"{t}: {name}" if numbered else name
        rows.append(
            f'<tr><th scope="row">{esc(row_name)}</th>{"".join(cells)}'
            f'<td class="cp-class-accuracy">{esc(table.class_accuracy[t])}</td></tr>'
        )
    return (
        f'<p class="cp-note" id="cp-confusion-caption">{esc(table.caption)} Click a cell to '
        "see its images.</p>"
        '<div class="cp-confusion-scroll" role="region" tabindex="0" '
        'aria-labelledby="cp-confusion-caption"><table class="cp-confusion-table" '
        'aria-labelledby="cp-confusion-caption">'
        '<thead><tr><th scope="col" class="cp-corner">true ↓<br>predicted →</th>'
        f'{head}<th scope="col">class accuracy</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


class ResultsView(InsightView):
    """Confusion matrix (counts or shares of each row), per-class accuracy, mistakes."""

    def __init__(self, **params):
        super().__init__(**params)
        self.results: EvaluationResults | None = None
        self._key: tuple | None = None  # which model and run the results are of
        self._x: np.ndarray | None = None  # the test images they were measured on
        self._status = pn.pane.HTML("", stylesheets=[INSIGHT_CSS], sizing_mode="stretch_width")
        self._numbers = pn.widgets.RadioButtonGroup(
            name="Numbers in the cells",
            options={"Counts": False, "Share of the row": True},
            value=False,
            button_type="primary",
            button_style="outline",
            css_classes=["cp-confusion-numbers"],
            visible=False,
        )
        self._numbers.param.watch(lambda _e: self._show_table(), "value")
        self.table = PickableHTML(
            stylesheets=[INSIGHT_CSS + _TABLE_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-confusion"],
        )
        self.table.param.watch(self._on_pick, "pick")
        self._cell = pn.pane.HTML(
            "",
            stylesheets=[INSIGHT_CSS + _GALLERY_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-confusion-cell"],
        )
        self._mistakes = pn.pane.HTML(
            "",
            stylesheets=[INSIGHT_CSS + _GALLERY_CSS],
            sizing_mode="stretch_width",
            css_classes=["cp-misclassified"],
        )
        self.selected: np.ndarray | None = None  # test indices of the clicked cell

    # ---- measuring
    def _current_key(self, model) -> tuple:
        c = self.controller
        return (id(model), c.run_id, c.session, self.context.dataset)

    def _clear(self, text: str) -> None:
        self.results, self._key, self.selected = None, None, None
        self._status.object = message_html(text)
        self._numbers.visible = False
        self.table.show("")
        self._cell.object = self._mistakes.object = ""

    async def refresh(self) -> None:
        model = self.context.trained_model()
        if self.controller.running:
            self._clear("Training is running: the results are measured when it ends.")
            return
        if model is None:
            self._clear(evaluate_test_set(None, None, None).message)
            return
        key = self._current_key(model)
        if key == self._key:
            return
        self._clear("Measuring the test images…")
        try:
            x, y = await self.context.test_set()
        except Exception as exc:  # noqa: BLE001 - say why, keep the page
            self._clear(f"Could not load the test images: {exc}")
            return
        steps = evaluate_test_set(model, x, y, self.context.class_names)
        if isinstance(steps, NothingToShow):
            self._clear(steps.message)
            return
        step = None
        for step in steps:
            self._status.object = (
                f'<p class="cp-note" role="status">Measuring the test images… '
                f"{step.done:,}/{step.total:,}</p>"
            )
            await asyncio.sleep(0)  # let clicks (Train, another view) through
            if (
                not self.active
                or self.controller.running
                or self._current_key(self.context.trained_model()) != key
            ):
                steps.close()  # hidden, or no longer the model on the page: stop here
                self._stale = True  # measured again when it is shown next
                return
        self.results, self._key, self._x = step.results, key, x
        self._show()

    # ---- showing
    def _show(self) -> None:
        r = self.results
        epochs = self.controller.trained_epochs
        trained = f"after {epochs} epoch{'s' * (epochs != 1)} of training" if epochs else ""
        self._status.object = (
            f'<p class="cp-note cp-results-summary">{r.n:,} test images, {percent(r.accuracy)} '
            f"right {trained}: the same images as the test accuracy above.</p>"
        )
        self._numbers.visible = True
        self._show_table()
        self._cell.object = ""
        self._mistakes.object = self._mistakes_html()

    def _show_table(self) -> None:
        if self.results is not None:
            self.table.show(confusion_html(self.results, self._numbers.value))

    def _on_pick(self, _event) -> None:
        if self.results is None or not self.table.picked:
            return
        true, predicted = (int(v) for v in self.table.picked.split(","))
        self.show_cell(true, predicted)

    def show_cell(self, true: int, predicted: int) -> None:
        """Show the test images of cell ``[true, predicted]`` (what a click on it does)."""
        r = self.results
        names = r.class_names
        self.selected = r.cell(true, predicted)
        n = len(self.selected)
        what = (
            f"{names[true]} correctly predicted"
            if true == predicted
            else f"{names[true]} predicted as {names[predicted]}"
        )
        head = f"{n} test image{'s' * (n != 1)} of {what}"
        if n == 0:
            self._cell.object = f'<p class="cp-note" role="status">{esc(head)}.</p>'
            return
        figures = []
        for i in self.selected[:CELL_LIMIT]:
            example = r.example(int(i))
            caption = f"#{i}: predicted {names[predicted]} ({percent(example.confidence)})"
            figures.append(self._thumb(example, caption))
        more = f" (the first {CELL_LIMIT} shown)" if n > CELL_LIMIT else ""
        self._cell.object = (
            f'<h3 role="status">{esc(head)}{esc(more)}</h3>'
            f'<div class="cp-gallery cp-cell-images">{"".join(figures)}</div>'
        )

    def _thumb(self, example: Mistake, caption: str, bars: str = "") -> str:
        names = self.results.class_names
        words = f"Test image {example.index}, true class {names[example.true]}"
        picture = image_picture(self._x[example.index], fit=56, what=words)
        return (
            f'<figure data-index="{example.index}">{picture_html(picture)}'
            f"<figcaption>{esc(caption)}</figcaption>{bars}</figure>"
        )

    def _mistakes_html(self) -> str:
        r = self.results
        mistakes = r.mistakes(limit=MISTAKES)
        if not mistakes:
            return '<h3>Mistakes</h3><p class="cp-note">No test image was misclassified.</p>'
        figures = []
        for m in mistakes:
            bars = probability_bars(m.probabilities, r.class_names, sort=True)
            shown = bars[:3] + [b for b in bars[3:] if b.index == m.true]
            label = f"Probabilities for test image {m.index}"
            figures.append(
                self._thumb(m, mistake_caption(m, r.class_names), bars_html(shown, label))
            )
        wrong = int((r.labels != r.predictions).sum())
        return (
            f"<h3>Mistakes: {wrong:,} of {r.n:,} test images, the most confident first</h3>"
            f'<div class="cp-gallery">{"".join(figures)}</div>'
        )

    def __panel__(self):
        return pn.Column(
            self.notice,
            self._status,
            self._numbers,
            self.table,
            self._cell,
            self._mistakes,
            sizing_mode="stretch_width",
            css_classes=["cp-results"],
        )
