"""The lesson panel: the "Intro to CNNs" path beside the playground.

:class:`LessonPanel` drives a :class:`playground.lesson.Lesson` from the page:

* at start it opens the lesson from the saved progress the page's loader
  passed and the page's link (``decide_start``), loads the lesson model into
  the playground and marks itself ``ready`` (the app shows ``cp-ready`` only
  then), all in the first document; without that record it opens as for a
  first visit and opens again once :class:`LessonStore` has read the record
  in the page;
* every edit of the model or its settings is ``observe``\\ d, every finished
  training run is reported (``training_finished``), the learner's picks,
  guesses and answers go to the lesson;
* after every transition it re-renders, sets the blocks the builder offers
  (``state.unlocked_kinds``), the numbers the views keep hidden
  (``state.hidden_numbers``) and the page address (``?mode=learn&step=N``),
  and saves the progress (:meth:`LessonStore.save`, the one place).

What the learner sees: the step counter ``N / 8``, the card with its live
view, the task with its milestones, the check question with feedback, the
log, the glossary and FAQ, the learn / free-play switch, the unlocked blocks
and Start over (asking first). docs/LESSON.md describes the rules.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

from playground.components.lesson_html import (
    BUTTON_CSS,
    CSS,
    LETTERS,
    NOT_READ,
    answer_label,
    card_html,
    feedback_html,
    guess_label,
    log_html,
    messages_html,
    mode_text_html,
    nav_options,
    question_html,
    reference_html,
    strip_status,
    task_html,
    unlocked_html,
)
from playground.components.lesson_store import LessonStore
from playground.components.lesson_views import StepView, ViewInputs
from playground.components.lesson_widgets import StepStrip
from playground.components.share import ShareLink
from playground.lesson import (
    STEPS,
    TOTAL,
    Lesson,
    Run,
    Snapshot,
    decide_start,
    live,
    loads,
    storage_key,
)
from playground.links import LINK_PARAMS
from playground.runtime import after_first_render, is_live
from playground.state import PlaygroundState
from playground.training import TrainingController

__all__ = ["READ_FALLBACK_SECONDS", "SAMPLE_INDEX", "LessonPanel", "lesson_address"]

SAMPLE_INDEX = 0  # the test image every view shows
MODEL_VIEWS = ("sliding-filter", "feature-maps", "softmax-output")  # they need weights
READ_FALLBACK_SECONDS = 6.0  # start without the saved progress if the page never sends it


def lesson_address(lesson: Lesson) -> str:
    """The page address in the lesson: its step (the model lives in the saved progress)."""
    query = {"mode": "learn", "step": str(lesson.step)}
    if lesson.unlock_all:
        query["unlock"] = "all"
    return "?" + urlencode(query)


class LessonPanel(Viewer):
    """The lesson path's panel (see the module docstring)."""

    state = param.ClassSelector(class_=PlaygroundState)
    controller = param.ClassSelector(class_=TrainingController)
    share = param.ClassSelector(class_=ShareLink)
    ready = param.Boolean(default=False, doc="True once the saved progress has been applied")

    def __init__(self, **params):
        super().__init__(**params)
        self.lesson: Lesson | None = None
        self.store = LessonStore()
        self._was_drawn = False
        self._messages: list[str] = []
        self._locked: int | None = None  # a step shown locked (from a link or the menu)
        self._shown_step: int | None = None
        self._saved_revision: int | None = None  # None: saving is off (progress not read)
        self._loading = False  # the panel itself is loading a model: not the learner's edit
        self._sample: np.ndarray | None = None
        self._sample_label: int | None = None
        self._sample_for: str | None = None
        self._val_losses: list[float] = []
        self._samples_per_sec: float | None = None
        self._lms_checked = False  # the LMS's copy of the progress was considered
        self._build_widgets()
        self.store.param.watch(self._on_stored, "stored")
        self.store.param.watch(self._show_messages, "problem")
        self.share.param.watch(self._set_key, "ready")
        self._set_key()
        self.state.param.watch(self._on_model, list(LINK_PARAMS))
        self.state.param.watch(self._on_training_lock, "training")
        self.controller.param.watch(self._on_running, "running")
        self.controller.listeners.append(self._on_train_event)
        early = self.store.record_from_loader()
        if early is None:  # until the page answers: a first visit's start, for the first document
            self._open(None, [], can_save=False)
        else:
            self._open(early, [], can_save=True)
            self._ready()
        after_first_render(self._drawn)

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self) -> None:
        html = {"sizing_mode": "stretch_width", "stylesheets": [CSS], "margin": (2, 5)}
        self._message_pane = pn.pane.HTML("", **html)
        self._mode_text = pn.pane.HTML("", **html)
        self._mode = pn.widgets.Button(
            name="Free play", css_classes=["cp-mode"], sizing_mode="stretch_width"
        )
        self._mode.on_click(self._toggle_mode)
        self._step_label = pn.pane.HTML("", **html)
        self._nav = pn.widgets.Select(
            name="Go to step",
            options={},
            css_classes=["cp-lesson-nav"],
            sizing_mode="stretch_width",
            max_width=420,
        )
        self._syncing_nav = False
        self._nav.param.watch(self._on_nav, "value")
        self._card = pn.pane.HTML("", **html)
        self._view = StepView(on_pixel=self._pick_pixel, on_map=self._pick_map)
        self._task = pn.pane.HTML("", **html)
        self._guess = pn.widgets.IntInput(
            name="Your guess",
            value=None,
            width=300,
            css_classes=["cp-lesson-guess"],
        )
        self._guess_button = pn.widgets.Button(
            name="Check my guess", css_classes=["cp-lesson-guess-check"]
        )
        self._guess_button.on_click(self._on_guess)
        self._guess_row = pn.FlexBox(
            self._guess, self._guess_button, visible=False, align_items="flex-end"
        )
        self._question = pn.pane.HTML("", **html)
        self._answers = pn.Column(sizing_mode="stretch_width", margin=0)
        self._answers_for: int | None = None  # the step whose answers the buttons are
        self._check = pn.Column(
            self._question,
            self._answers,
            css_classes=["cp-lesson-check"],
            sizing_mode="stretch_width",
        )
        self._feedback = pn.pane.HTML("", **html)
        self._back = pn.widgets.Button(name="Back to your step", css_classes=["cp-lesson-back"])
        self._back.on_click(self._leave_locked)
        self._unlocked = pn.pane.HTML("", **html)
        self._reference = pn.pane.HTML(reference_html(), **html)
        self._log = pn.pane.HTML("", **html)
        self._start_over = pn.widgets.Button(name="Start over…", css_classes=["cp-start-over"])
        self._start_over.on_click(lambda _e: self._confirming(True))
        self._confirm_yes = pn.widgets.Button(
            name="Yes, forget my progress", button_type="danger", css_classes=["cp-start-over-yes"]
        )
        self._confirm_no = pn.widgets.Button(name="No, keep it", css_classes=["cp-start-over-no"])
        self._confirm_yes.on_click(self._on_start_over)
        self._confirm_no.on_click(lambda _e: self._confirming(False))
        self._confirm = pn.Column(
            pn.pane.HTML(
                "<p role='alert'>Start over forgets your steps, answers, log and lesson model "
                "in this browser. This cannot be undone.</p>",
                **html,
            ),
            pn.Row(self._confirm_yes, self._confirm_no),
            visible=False,
            css_classes=["cp-start-over-confirm"],
            sizing_mode="stretch_width",
        )
        for button in (
            self._mode,
            self._guess_button,
            self._back,
            self._start_over,
            self._confirm_yes,
            self._confirm_no,
        ):
            button.stylesheets = [BUTTON_CSS]
        self._learning = pn.Column(
            self._nav,
            self._card,
            self._view,
            self._task,
            self._guess_row,
            self._check,
            sizing_mode="stretch_width",
            margin=0,
        )
        self._layout = pn.Column(
            pn.pane.HTML("<h2>Learn: Intro to CNNs</h2>", **html),
            self._message_pane,
            self._step_label,
            self._mode_text,
            self._learning,
            self._back,
            self._feedback,
            self._unlocked,
            self._mode,
            self._reference,
            pn.pane.HTML("<h3>Log</h3>", **html),
            self._log,
            self._start_over,
            self._confirm,
            css_classes=["cp-lesson"],
            sizing_mode="stretch_width",
        )
        self._mode.visible = self._learning.visible = self._back.visible = False
        self._start_over.visible = False
        # The step in one line, for the page to keep in view where this panel scrolls away.
        self.strip = StepStrip(sizing_mode="stretch_width", visible=False, margin=0)

    # ------------------------------------------------------------------ start
    def _set_key(self, *_events) -> None:
        loc = self.share.location
        if loc is not None and loc.pathname and not self.store.key:
            self.store.key = storage_key(loc.pathname)
            if self._was_drawn:
                self.store.ask()

    def _drawn(self) -> None:
        """The page has drawn the document: ask it for the saved progress (again: what it
        sent while it was drawing may not have reached the worker) and load the image."""
        self._was_drawn = True
        if self.store.key:
            self.store.ask()
        pn.state.execute(self._load_sample)
        if is_live():
            pn.state.execute(self._read_fallback)

    def start_without_saved_progress(self) -> None:
        """Start fresh when the page never sent the saved progress (its script failed)."""
        if not self.ready:
            self._open(None, [NOT_READ], can_save=False)
            self._ready()

    async def _read_fallback(self) -> None:
        await asyncio.sleep(READ_FALLBACK_SECONDS)
        self.start_without_saved_progress()

    def _on_stored(self, _event) -> None:
        record = self.store.record
        if record is None:
            return
        if not self.ready:
            self._open(record, [], can_save=True)
            self._ready()
        elif self.store.in_lms and not self._lms_checked:
            # Opened early from this browser's record: the LMS's copy (a later save on
            # another computer) comes only with the page's answer. Nothing done here yet.
            self._lms_checked = True
            untouched = self._saved_revision == self.lesson.revision
            if untouched and record != (self.store.record_from_loader() or ""):
                self._open(record, [], can_save=True)

    def _ready(self) -> None:
        self.ready = True
        self.store.revealed = True

    def _open(self, record: str | None, messages: list[str], can_save: bool) -> None:
        """Open the lesson from a saved ``record`` and the page's link.

        Called when the panel is made, with the record the loader passed, or else as if
        nothing were saved (the likely start: a first visit then changes nothing when the
        page's answer comes), and then again with what the page has read.
        """
        loaded = loads(record)
        lesson = Lesson(loaded.progress)
        start = decide_start(self.share.opened, lesson.progress)
        start.apply_to(lesson)
        self.lesson = lesson
        self._messages = [*messages, *loaded.messages, *start.messages]
        self._locked = start.locked_step
        if start.model == "lesson":
            self._load(lesson.model)
        lesson.observe(Snapshot.from_state(self.state))
        self._saved_revision = lesson.revision if can_save else None
        self._after(view=True)

    # ------------------------------------------------------------------ the playground
    def _load(self, query: str) -> None:
        """Load a model of the lesson's own (not an edit of the learner's); nothing
        happens when the page shows it already (a first visit: the same first model)."""
        self._sync_address()  # first, so the address never shows the model on its way in
        self._loading = True
        try:
            self.state.apply_query(query)
        finally:
            self._loading = False
        self._sync_blocks()

    def _sync_blocks(self) -> None:
        kinds = list(self.lesson.unlocked_kinds)
        if list(self.state.unlocked_kinds) != kinds:
            self.state.unlocked_kinds = kinds

    def _on_model(self, *events) -> None:
        if self.lesson is None or self._loading:
            return
        self.lesson.observe(Snapshot.from_state(self.state))
        if any(e.name == "dataset" for e in events):
            pn.state.execute(self._load_sample)
        self._after(view=True)

    def _on_train_event(self, event) -> None:
        if event.kind == "epoch" and event.val_loss is not None:
            self._val_losses.append(float(event.val_loss))
        self._samples_per_sec = event.samples_per_sec or self._samples_per_sec

    def _on_running(self, event) -> None:
        if event.new:
            self._val_losses, self._samples_per_sec = [], None
            return
        if self.lesson is None:
            return
        c = self.controller
        self.lesson.training_finished(
            Run.from_state(self.state, self._val_losses, c.test_accuracy, self._samples_per_sec)
        )
        self._after(view=True)

    def _on_training_lock(self, *_events) -> None:
        training = self.state.training
        for button in (self._start_over, self._confirm_yes, self._mode):
            button.disabled = training

    async def _load_sample(self) -> None:
        """One test image of the dataset, for the views (the browser may download it)."""
        from playground.data import get_dataset

        name = self.state.dataset
        if self._sample_for == name:
            return
        try:
            _train, (x_test, y_test), _names = await get_dataset(name)
        except Exception:  # noqa: BLE001 - the views say the image is not there; Train says why
            return
        if name != self.state.dataset:
            return  # another dataset was picked meanwhile
        self._sample = np.asarray(x_test[SAMPLE_INDEX], dtype=np.float32)
        self._sample_label = int(y_test[SAMPLE_INDEX])
        self._sample_for = name
        self._render_view()

    # ------------------------------------------------------------------ the learner's actions
    def _pick_pixel(self, grid, row: int, col: int) -> None:
        self._feedback_text(self.lesson.pick_pixel(grid, row, col), None)
        self._after()

    def _pick_map(self, index: int, kernel) -> None:
        self._feedback_text(self.lesson.pick_map(index, kernel), None)
        self._after()

    def _on_guess(self, _event) -> None:
        if self._guess.value is None:
            self._feedback_text("Type a whole number first, then check it.", None)
            return
        self._feedback_text(self.lesson.guess(int(self._guess.value)), None)
        self._after(view=True)

    def _answer(self, index: int) -> None:
        before = self.lesson.step
        feedback = self.lesson.answer(index)
        text = f"{LETTERS[index]}: {feedback.text}"
        if feedback.right and not self.lesson.progress.task_done(before):
            text += " Finish the task to complete this step."
        elif self.lesson.step != before:
            text += f" Step {before} complete: on to step {self.lesson.step} / {TOTAL}."
        self._feedback_text(text, feedback.right)
        self._after()

    def _on_nav(self, event) -> None:
        if self._syncing_nav or self.lesson is None or event.new in (None, self._nav_value()):
            return
        n = int(event.new)
        if self.lesson.go(n):
            self._locked = None
            self._feedback.object = ""
        else:
            self._locked = n
        self._after(view=True)

    def _leave_locked(self, _event=None) -> None:
        self._locked = None
        self._after(view=True)

    def _toggle_mode(self, _event) -> None:
        lesson = self.lesson
        if lesson is None or self.state.training:
            return
        if lesson.mode == "learn":
            lesson.set_mode("free")
        else:
            lesson.set_mode("learn")
            self._load(lesson.model)
            lesson.observe(Snapshot.from_state(self.state))
        self._locked = None
        self._feedback.object = ""
        self._after(view=True)

    def _confirming(self, on: bool) -> None:
        self._confirm.visible = on
        self._start_over.visible = not on

    def _on_start_over(self, _event) -> None:
        if self.lesson is None or self.state.training:
            return
        self.lesson.start_over()
        self._load(self.lesson.model)
        self.controller.reset_weights()
        self.lesson.observe(Snapshot.from_state(self.state))
        self._locked = None
        self._feedback.object = ""
        self._confirming(False)
        self._after(view=True)

    # ------------------------------------------------------------------ after every transition
    def _after(self, view: bool = False) -> None:
        """Bring the page in line with the lesson: blocks, hidden numbers, address, save."""
        lesson = self.lesson
        self._sync_blocks()
        self.state.hidden_numbers = self._hidden() if lesson.mode == "learn" else {}
        self._sync_address()
        if self._saved_revision is not None and lesson.revision != self._saved_revision:
            self.store.save(lesson)
            self._saved_revision = lesson.revision
        self._render(view=view)

    def _sync_address(self) -> None:
        lesson = self.lesson
        self.share.address = lesson_address(lesson) if lesson.mode == "learn" else None

    def _hidden(self) -> dict[int, str]:
        what = self.lesson.hidden_number()
        index = None if what is None else live.guessed_layer(Snapshot.from_state(self.state), what)
        if index is None:
            return {}
        return {index: "params" if what == "conv_params" else "output_shape"}

    def _feedback_text(self, text: str, right: bool | None) -> None:
        self._feedback.object = feedback_html(text, right)

    def _nav_value(self) -> int:
        return self._locked or self.lesson.step

    # ------------------------------------------------------------------ rendering
    def _render(self, view: bool = False) -> None:
        lesson = self.lesson
        learning = lesson.mode == "learn"
        shown = self._nav_value()
        card = lesson.card(shown)
        self._show_messages()
        self._step_label.object = (
            # tabindex: the step strip's button brings the focus here
            f'<div class="cp-lesson-step" tabindex="-1">Step {card.label}</div>' if learning else ""
        )
        self._mode_text.object = mode_text_html(learning, lesson.step)
        self._mode.name = "Free play: unlock every block" if learning else "Back to the lesson"
        self._mode.visible = True
        self._start_over.visible = not self._confirm.visible
        self._learning.visible = learning
        self._back.visible = learning and not card.open
        self.strip.visible = learning
        if learning:
            self._render_nav(shown)
            self._render_card(card, view or shown != self._shown_step)
            done, status = strip_status(card)
            self.strip.param.update(label=card.label, title=card.title, status=status, done=done)
        self._shown_step = shown if learning else None
        self._render_unlocked()
        self._log.object = log_html(lesson.log_lines())

    def _render_nav(self, shown: int) -> None:
        options = nav_options(self.lesson)
        self._syncing_nav = True  # the menu follows the lesson: not the learner's choice
        try:
            if self._nav.options != options:
                self._nav.options = options
            if self._nav.value != shown:
                self._nav.value = shown
        finally:
            self._syncing_nav = False

    def _render_card(self, card, view: bool) -> None:
        self._card.object = card_html(card)
        if not card.open:
            for part in (self._view, self._task, self._guess_row, self._check):
                part.visible = False
            return
        self._view.visible = self._task.visible = self._check.visible = True
        if view or card.view != self._view.view:
            self._render_view()
        self._render_task(card)
        self._render_check(card)

    def _render_task(self, card) -> None:
        self._task.object = task_html(card)
        self._guess_row.visible = card.predict is not None
        if card.predict is not None:
            self._guess.name = guess_label(card.predict)

    def _render_check(self, card) -> None:
        lesson = self.lesson
        tried = lesson.progress.answers.get(card.number, [])
        self._question.object = question_html(card)
        if self._answers_for != card.number:
            buttons = []
            for i in range(len(card.answers)):
                button = pn.widgets.Button(
                    css_classes=["cp-lesson-answer", f"cp-lesson-answer-{i}"],
                    sizing_mode="stretch_width",
                    stylesheets=[BUTTON_CSS],
                )
                button.on_click(lambda _e, i=i: self._answer(i))
                buttons.append(button)
            self._answers.objects = buttons
            self._answers_for = card.number
        right = STEPS[card.number - 1].question.right_index
        for i, (button, text) in enumerate(zip(self._answers.objects, card.answers)):
            name = answer_label(i, text, tried, right)
            if button.name != name:
                button.name = name
            button.button_type = "success" if i in tried and i == right else "default"

    def _render_view(self) -> None:
        if self.lesson is None or self.lesson.mode != "learn":
            return
        card = self.lesson.card(self._nav_value())
        if not card.open:
            return
        model, trained = self._model() if card.view in MODEL_VIEWS else (None, False)
        here = self._sample_for == self.state.dataset
        self._view.show(
            card.view,
            ViewInputs(
                snapshot=Snapshot.from_state(self.state),
                sample=self._sample if here else None,
                label=self._sample_label if here else None,
                class_names=tuple(self.state.info.class_names),
                model=model,
                trained=trained,
                hidden=self.lesson.hidden_number(),
            ),
        )

    def _model(self):
        """The pycnn model of the current spec (None if it cannot be built) and whether
        it has been trained."""
        if self.state.build_block_reason() is not None:
            return None, False
        try:
            model = self.controller.ensure_model()
        except Exception:  # noqa: BLE001 - the view shows nothing; Train says why
            return None, False
        return model, self.controller.trained_epochs > 0

    def _render_unlocked(self) -> None:
        self._unlocked.object = unlocked_html(self.lesson.unlocked_kinds)

    def _show_messages(self, *_events) -> None:
        messages = list(self._messages)
        refusal = self.store.refusal
        if refusal:
            messages.append(refusal)
        self._message_pane.object = messages_html(messages)

    def __panel__(self):
        return pn.Column(self._layout, self.store, sizing_mode="stretch_width", margin=0)
