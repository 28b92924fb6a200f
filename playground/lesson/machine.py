"""The lesson's state machine: where the learner is, what they have done, what is unlocked.

:class:`Progress` is the data that is saved (see :mod:`playground.lesson.storage`);
everything else — the reached steps, the unlocked blocks, completion, the
score — is derived from it, so a saved record cannot contradict itself.

:class:`Lesson` wraps a Progress with the transitions the page calls:

* ``observe(snapshot)`` after every edit of the model or dataset (and once at
  start), ``training_finished(run)`` after every run;
* ``answer(i)``, ``pick_pixel(grid, r, c)``, ``guess(n)``, ``pick_map(i, kernel)``
  for what the learner does on a card;
* ``go(n)``, ``start_over()``, ``set_mode("learn" | "free")``; the page link's
  decision (:mod:`playground.lesson.links`) is applied with ``start.apply_to(lesson)``.

A step is *complete* when every milestone of its task is met and its check
question has been answered right; completing the current step moves on. A
step's task, once done, unlocks its block kinds. Only the step on screen
(``progress.step``) collects milestones. Every transition bumps ``revision``
(watch it to re-render and to save).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playground.lesson import live, narration
from playground.lesson.content import (
    LESSON_DATASET,
    START_KINDS,
    START_MODEL,
    STEPS,
    TOTAL,
    Step,
)
from playground.lesson.inputs import Evidence, PixelPick, Run, Snapshot
from playground.lesson.tasks import PREDICATES, run_problem
from playground.spec import KINDS

__all__ = ["MAX_LOG", "MODES", "Card", "Feedback", "Lesson", "Progress"]

MODES = ("learn", "free")
MAX_LOG = 200  # lines kept; older ones are dropped first


def _full(step: Step) -> int:
    return (1 << len(step.milestones)) - 1


@dataclass
class Progress:
    """What the learner has done (the saved part of the lesson).

    ``done[n]``: bit ``i`` set when milestone ``i`` of step ``n`` is met;
    ``answers[n]``: the answer indices tried, in order, up to the right one;
    ``guesses[n]``: the learner's last guessed number on a step with a guess;
    ``best[n]``: the lowest validation loss of a run that counted on step ``n``;
    ``model``: the learner's lesson model as a share-link query (None only in a
    record that had to leave it out to fit); ``log``: the log lines, oldest first.
    """

    step: int = 1
    done: dict[int, int] = field(default_factory=dict)
    answers: dict[int, list[int]] = field(default_factory=dict)
    guesses: dict[int, int] = field(default_factory=dict)
    best: dict[int, float] = field(default_factory=dict)
    model: str | None = START_MODEL
    log: list[str] = field(default_factory=list)

    def task_done(self, n: int) -> bool:
        return self.done.get(n, 0) == _full(STEPS[n - 1])

    def answered_right(self, n: int) -> bool:
        return STEPS[n - 1].question.right_index in self.answers.get(n, ())

    def step_done(self, n: int) -> bool:
        return self.task_done(n) and self.answered_right(n)

    @property
    def reached(self) -> int:
        """The furthest open step: every step before it is complete."""
        n = 1
        while n < TOTAL and self.step_done(n):
            n += 1
        return n

    @property
    def completed(self) -> bool:
        return all(self.step_done(n) for n in range(1, TOTAL + 1))

    @property
    def unlocked_kinds(self) -> tuple[str, ...]:
        """Block kinds the lesson offers, in the palette's order."""
        kinds = set(START_KINDS)
        for step in STEPS:
            if self.task_done(step.number):
                kinds.update(step.unlocks)
        return tuple(k for k in KINDS if k in kinds)

    @property
    def score(self) -> int:
        """0–100: the share of check questions answered right on the first try."""
        first = sum(
            1
            for step in STEPS
            if self.answers.get(step.number)
            and self.answers[step.number][0] == step.question.right_index
        )
        return round(100 * first / TOTAL)


@dataclass(frozen=True)
class Card:
    """A step as the page shows it, texts filled in with the live numbers."""

    number: int
    label: str  # "3 / 8"
    title: str
    text: str
    view: str  # a key of content.VIEWS
    task: str
    milestones: tuple[tuple[str, bool], ...]  # (text, met)
    target: float | None  # validation-loss target, if the task has one
    best: float | None  # the learner's best counting validation loss on this step
    question: str
    answers: tuple[str, ...]
    answered_right: bool
    predict: str | None  # the number the page hides until guessed ("conv_params", …)
    unlocks: tuple[str, ...]  # Keras names of the blocks the task unlocks
    open: bool
    how_to_reach: str | None  # for a step that is not open yet


@dataclass(frozen=True)
class Feedback:
    right: bool
    text: str
    first_try: bool = False


class Lesson:
    """The lesson for one learner. ``progress`` is the saved part; ``mode`` and
    ``unlock_all`` come from the page's link and are not saved."""

    def __init__(
        self, progress: Progress | None = None, *, mode: str = "learn", unlock_all: bool = False
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}. Received: {mode!r}.")
        self.progress = progress if progress is not None else Progress()
        self.mode = mode
        self.unlock_all = unlock_all
        self.revision = 0
        self._snapshot: Snapshot | None = None
        if not self.is_open(self.progress.step):
            self.progress.step = self.progress.reached

    # ------------------------------------------------------------------ reading
    @property
    def step(self) -> int:
        return self.progress.step

    @property
    def reached(self) -> int:
        return self.progress.reached

    @property
    def completed(self) -> bool:
        return self.progress.completed

    @property
    def score(self) -> int:
        return self.progress.score

    @property
    def lesson_status(self) -> str:
        """SCORM 1.2 ``cmi.core.lesson_status``: completed, browsed (free play) or incomplete."""
        if self.completed:
            return "completed"
        return "browsed" if self.mode == "free" else "incomplete"

    @property
    def unlocked_kinds(self) -> tuple[str, ...]:
        if self.mode == "free" or self.unlock_all:
            return tuple(KINDS)
        return self.progress.unlocked_kinds

    @property
    def model(self) -> str:
        """The learner's lesson model (share-link query) for the page to load."""
        return self.progress.model or START_MODEL

    @property
    def log(self) -> tuple[str, ...]:
        return tuple(self.progress.log)

    def log_lines(self) -> list[str]:
        """The log as shown: ``LOG: …`` lines, newest last."""
        return [narration.LOG_PREFIX + line for line in self.progress.log]

    def is_open(self, n: int) -> bool:
        return 1 <= n <= TOTAL and (self.unlock_all or n <= self.progress.reached)

    def facts(self) -> dict[str, str]:
        s = self._snapshot
        if s is not None:
            return live.card_facts(s.input_shape, s.num_classes)
        from pycnn.datasets import info

        data = info(LESSON_DATASET)
        return live.card_facts(data.input_shape, data.num_classes)

    def _fill(self, text: str, step: Step) -> str:
        target = "" if step.target is None else f"{step.target:.2f}"
        return text.format(target=target, **self.facts())

    def how_to_reach(self, n: int) -> str | None:
        if self.is_open(n):
            return None
        now = STEPS[self.progress.reached - 1]
        return (
            f"Step {n} opens once every step before it is complete. Your next one is step "
            f"{now.number}, {now.title}: {self._fill(now.task, now)} Then answer its check "
            "question."
        )

    def card(self, n: int | None = None) -> Card:
        """Step ``n`` (default: the current one), ready to show."""
        n = self.progress.step if n is None else n
        step = STEPS[n - 1]
        mask = self.progress.done.get(n, 0)
        return Card(
            number=n,
            label=f"{n} / {TOTAL}",
            title=step.title,
            text=self._fill(step.card, step),
            view=step.view,
            task=self._fill(step.task, step),
            milestones=tuple(
                (self._fill(m.text, step), bool(mask >> i & 1))
                for i, m in enumerate(step.milestones)
            ),
            target=step.target,
            best=self.progress.best.get(n),
            question=self._fill(step.question.prompt, step),
            answers=tuple(self._fill(a.text, step) for a in step.question.answers),
            answered_right=self.progress.answered_right(n),
            predict=step.predict,
            unlocks=tuple(KINDS[k].keras for k in step.unlocks),
            open=self.is_open(n),
            how_to_reach=self.how_to_reach(n),
        )

    def hidden_number(self) -> str | None:
        """The number the page keeps hidden on the current step until the learner has
        guessed it (``"conv_params"`` or ``"flatten_length"``), else None."""
        n = self.progress.step
        step = STEPS[n - 1]
        if step.predict is None or n in self.progress.guesses or self.progress.task_done(n):
            return None
        return step.predict

    # ------------------------------------------------------------------ transitions
    def _write(self, *lines: str) -> None:
        log = self.progress.log
        log.extend(narration.clip(line) for line in lines)
        del log[:-MAX_LOG]
        self.revision += 1

    def _learning(self) -> bool:
        return self.mode == "learn"

    def observe(self, snapshot: Snapshot) -> None:
        """The playground's model or dataset changed (call once at start, too)."""
        old, self._snapshot = self._snapshot, snapshot
        if not self._learning():
            return
        lines = narration.model_changes(old, snapshot, self.hidden_number())
        if snapshot.query and snapshot.query != self.progress.model:
            self.progress.model = snapshot.query
            self.revision += 1
        if lines:
            self._write(*lines)
        self._evaluate(Evidence(snapshot=snapshot))

    def training_finished(self, run: Run) -> None:
        """A training run ended (done, stopped or diverged) with these results."""
        if not self._learning():
            return
        self._write(narration.training(run))
        step = STEPS[self.progress.step - 1]
        for i, m in enumerate(step.milestones):
            if m.key != "loss" or self.progress.done.get(step.number, 0) >> i & 1:
                continue
            problem = run_problem(m, run)
            if problem:
                self._write(problem)
            elif run.best is not None:
                best = self.progress.best.get(step.number)
                if best is None or run.best < best:
                    self.progress.best[step.number] = round(run.best, 4)  # as saved
                if run.best >= m.target:
                    self._write(narration.not_below(run.best, m.target))
        self._evaluate(Evidence(snapshot=self._snapshot, run=run))

    def answer(self, index: int) -> Feedback:
        """The learner picked answer ``index`` of the current step's check question."""
        n = self.progress.step
        step = STEPS[n - 1]
        answers = step.question.answers
        if not 0 <= index < len(answers):
            raise IndexError(f"step {n} has answers 0–{len(answers) - 1}. Received: {index}.")
        tried = self.progress.answers.setdefault(n, [])
        settled = self.progress.answered_right(n)  # later answers change nothing
        was_done = self.progress.step_done(n)
        if not settled and index not in tried:
            tried.append(index)
        chosen = answers[index]
        first = tried[:1] == [index]
        if not settled:
            self._write(narration.answer(step, index, chosen.right, first))
            self._moved_on(n, was_done)
        return Feedback(chosen.right, self._fill(chosen.feedback, step), first)

    def pick_pixel(self, grid: Any, row: int, col: int) -> str:
        """The learner picked pixel (``row``, ``col``), 0-based, of the sample image ``grid``."""
        g = live.as_grid(grid)
        top, _ = live.brightest(g)
        pick = PixelPick(row, col, g[row][col], top)
        text = narration.pixel(pick)
        if self._learning():
            self._write(text)
            self._evaluate(Evidence(snapshot=self._snapshot, pixel=pick))
        return text

    def guess(self, value: int) -> str:
        """The learner's guess of the current step's hidden number."""
        n = self.progress.step
        step = STEPS[n - 1]
        s = self._snapshot
        if step.predict is None:
            return "This step has no number to guess."
        index = None if s is None else live.guessed_layer(s, step.predict)
        if index is None or s.rows[index].params is None:
            need = (
                "a Conv2D"
                if step.predict == "conv_params"
                else "a Flatten after a Conv2D or pooling layer"
            )
            return f"Add {need} to your model first, then guess."
        value = int(value)
        if self._learning():
            self.progress.guesses[n] = value
        ev = Evidence(snapshot=s, guess=value)
        milestone = next(m for m in step.milestones if m.key == step.predict)
        right = PREDICATES[milestone.key](milestone, ev)
        text = narration.guess(step, value, right, s, index)
        if self._learning():
            self._write(text)
            self._evaluate(ev)
        return text

    def pick_map(self, index: int, kernel: Any) -> str:
        """The learner picked feature map ``index``; ``kernel`` is its filter's weights."""
        score = live.edge_score(kernel)
        text = narration.edge_pick(index, score, score >= live.EDGE_THRESHOLD)
        if self._learning():
            self._write(text)
            self._evaluate(Evidence(snapshot=self._snapshot, edge=score))
        return text

    def go(self, n: int) -> bool:
        """Show step ``n`` if it is open; False (nothing changes) if it is not."""
        if not self.is_open(n):
            return False
        if n != self.progress.step:
            self.progress.step = n
            self._write(narration.step_opened(STEPS[n - 1]))
            self._evaluate(Evidence(snapshot=self._snapshot))
        return True

    def start_over(self) -> None:
        """Forget all progress and the lesson model (the page asks first, then loads
        ``lesson.model`` and calls ``observe``)."""
        self.progress = Progress()
        self.mode = "learn"
        self._snapshot = None  # the page's reload of the first model is not an edit
        self._write(narration.started_over())

    def set_mode(self, mode: str) -> None:
        """Switch between the lesson and free play. Back in the lesson, the page loads
        ``lesson.model`` again and then calls ``observe``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}. Received: {mode!r}.")
        if mode != self.mode:
            self.mode = mode
            if mode == "learn":
                # the page now loads the lesson model: not an edit to narrate
                self._snapshot = None
            self._write(narration.mode(mode, self.progress.step))

    # ------------------------------------------------------------------ rules
    def _evaluate(self, ev: Evidence) -> None:
        """Check the current step's open milestones against ``ev``."""
        n = self.progress.step
        step = STEPS[n - 1]
        was_done = self.progress.step_done(n)
        mask = before = self.progress.done.get(n, 0)
        for i, m in enumerate(step.milestones):
            if not mask >> i & 1 and PREDICATES[m.key](m, ev):
                mask |= 1 << i
                self.progress.done[n] = mask
                self._write(narration.milestone_met(self._fill(m.text, step)))
        if mask != before and mask == _full(step) and step.unlocks:
            self._write(narration.unlocked(step.unlocks, self.progress.best.get(n), step.target))
        self._moved_on(n, was_done)

    def _moved_on(self, n: int, was_done: bool) -> None:
        """If step ``n`` has just become complete: say so and open the next step."""
        if was_done or not self.progress.step_done(n):
            return
        following = self._next_open(n)
        if following is not None:
            self.progress.step = following
            self._write(narration.step_complete(STEPS[n - 1], STEPS[following - 1]))
            # the model may already do what the new step asks
            self._evaluate(Evidence(snapshot=self._snapshot))
            return
        self._write(narration.step_complete(STEPS[n - 1], None))
        if self.progress.completed:
            self._write(narration.path_complete(self.score))

    def _next_open(self, n: int) -> int | None:
        """The first open, unfinished step after ``n`` (then from the start), if any."""
        for m in [*range(n + 1, TOTAL + 1), *range(1, n)]:
            if self.is_open(m) and not self.progress.step_done(m):
                return m
        return None
