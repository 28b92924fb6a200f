"""What the lesson panel says: its style and the HTML of each of its parts.

Pure functions of the lesson's card, log and progress (no widgets, no state), so
:class:`playground.components.lesson.LessonPanel` only decides *when* each part changes
and the texts can be read, and tested, on their own. Every learner-facing text is
escaped here.
"""

from __future__ import annotations

from playground.components.text import esc
from playground.lesson import FAQ, GLOSSARY, STEPS, TOTAL
from playground.spec import KINDS

__all__ = [
    "BUTTON_CSS",
    "CSS",
    "LETTERS",
    "NOT_READ",
    "answer_label",
    "card_html",
    "feedback_html",
    "guess_label",
    "log_html",
    "messages_html",
    "mode_text_html",
    "nav_options",
    "question_html",
    "reference_html",
    "strip_status",
    "task_html",
    "unlocked_html",
]

LETTERS = "ABCD"
NOT_READ = (
    "The page could not read your saved progress, so the lesson starts at step 1 and this "
    "visit is not saved."
)

CSS = """
:host { font-size: 15px; line-height: 1.45; color: #1f2933; }
h2 { font-size: 1.2rem; margin: 0.2rem 0; }
h3 { font-size: 1rem; margin: 0.6rem 0 0.2rem; }
.cp-lesson-step { font-weight: 700; color: #1d5fbf; font-size: 0.95rem; }
.cp-lesson-message { background: #fff4e5; border: 1px solid #b86e00; border-radius: 6px;
                     padding: 6px 10px; margin: 4px 0; }
.cp-lesson-feedback { border-left: 4px solid #5b6770; padding: 4px 10px; margin: 4px 0; }
.cp-lesson-feedback.cp-right { border-color: #1b7a3d; background: #eef8f1; }
.cp-lesson-feedback.cp-wrong { border-color: #b42318; background: #fdf0ef; }
.cp-milestones { list-style: none; padding-left: 0; margin: 4px 0; }
.cp-milestones li { margin: 2px 0; }
.cp-locked-step { background: #f5f7fa; border: 1px dashed #5b6770; border-radius: 6px;
                  padding: 8px 10px; }
.cp-log { max-height: 12em; overflow-y: auto; display: flex; flex-direction: column-reverse;
          border: 1px solid #9aa5b1; border-radius: 6px; padding: 4px 8px; background: #fafbfc;
          font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.cp-log ol { list-style: none; margin: 0; padding: 0; }
.cp-log li { margin: 2px 0; overflow-wrap: anywhere; }
.cp-log:focus-visible, summary:focus-visible { outline: 3px solid #1d5fbf; outline-offset: 2px; }
details { margin: 4px 0; }
summary { min-height: 44px; padding: 10px 0; box-sizing: border-box; cursor: pointer;
          font-weight: 600; }
dt { font-weight: 700; margin-top: 6px; }
dd { margin-left: 0; }
.cp-still-locked { color: #3e4c59; }
"""

# Panel's buttons keep their label on one line; the answers are sentences. (How tall a
# control is to be tapped is the page's one rule: layout.TOUCH.) ":host" in front, as in
# layout.CONTROLS_CSS: Bokeh's button stylesheet, which can arrive after the page is drawn,
# would otherwise win then and make every wrapped label taller.
BUTTON_CSS = """
:host .bk-btn { white-space: normal; text-align: left; line-height: 1.3; }
"""


def reference_html() -> str:
    terms = "".join(f"<dt>{esc(t.name)}</dt><dd>{esc(t.text)}</dd>" for t in GLOSSARY)
    faq = "".join(f"<dt>{esc(f.question)}</dt><dd>{esc(f.answer)}</dd>" for f in FAQ)
    return (
        f'<details class="cp-glossary"><summary>Glossary</summary><dl>{terms}</dl></details>'
        f'<details class="cp-faq"><summary>Questions and answers</summary><dl>{faq}</dl></details>'
    )


def _unlock_steps() -> dict[str, int]:
    return {kind: step.number for step in STEPS for kind in step.unlocks}


def mode_text_html(learning: bool, step: int) -> str:
    if learning:
        return ""
    return (
        "<p><b>Free play:</b> every block is unlocked. Your lesson and its model wait "
        f"for you at step {step} / {TOTAL}.</p>"
    )


def log_html(lines) -> str:
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return (
        '<div class="cp-log" tabindex="0" role="region" aria-label="Lesson log">'
        f"<ol>{items or '<li>Nothing yet.</li>'}</ol></div>"
    )


def nav_options(lesson) -> dict[str, int]:
    """The step menu: every step, marked done or locked."""
    options = {}
    for step in STEPS:
        n = step.number
        state = (
            " (done)"
            if lesson.progress.step_done(n)
            else ("" if lesson.is_open(n) else " (locked)")
        )
        options[f"{n} / {TOTAL}: {step.title}{state}"] = n
    return options


def card_html(card) -> str:
    if not card.open:
        return (
            f"<h2>{esc(card.title)}</h2><div class='cp-locked-step'><p><b>This step is "
            f"locked.</b> {esc(card.how_to_reach)}</p></div>"
        )
    return f"<h2>{esc(card.title)}</h2><p>{esc(card.text)}</p>"


def task_html(card) -> str:
    items = "".join(
        f"<li>{'✓ Done' if met else '○ To do'}: {esc(text)}</li>" for text, met in card.milestones
    )
    extra = []
    if card.target is not None:
        best = "none yet" if card.best is None else f"{card.best:.3f}"
        extra.append(f"Target: validation loss below {card.target:.2f}; your best here: {best}.")
    if card.unlocks:
        extra.append("Finishing the task unlocks " + ", ".join(card.unlocks) + ".")
    more = "".join(f"<p>{esc(t)}</p>" for t in extra)
    return f"<h3>Your task</h3><p>{esc(card.task)}</p><ul class='cp-milestones'>{items}</ul>{more}"


def strip_status(card) -> tuple[bool, str]:
    """The step strip's line about the task: (done, text), short enough for a phone.

    The first milestone still to do names what to do next; the check question itself
    stays in the card.
    """
    if not card.open:
        return False, "Locked: the card says how to reach it."
    to_do = [text for text, met in card.milestones if not met]
    if to_do:
        more = f" and {len(to_do) - 1} more" if len(to_do) > 1 else ""
        return False, f"○ To do: {to_do[0]}{more}"
    if card.answered_right:
        return True, "✓ Step complete."
    return True, "✓ Task done: answer the check in the card."


def guess_label(predict: str) -> str:
    if predict == "conv_params":
        return "Your guess: parameters of your first Conv2D"
    return "Your guess: length of Flatten's vector"


def question_html(card) -> str:
    return f"<h3>Check</h3><p>{esc(card.question)}</p>"


def answer_label(index: int, text: str, tried, right: int) -> str:
    """An answer's button label, marked once the learner has tried it."""
    mark = ""
    if index in tried:
        mark = "Right: " if index == right else "Not it: "
    return f"{LETTERS[index]}. {mark}{text}"


def unlocked_html(unlocked) -> str:
    names = ", ".join(KINDS[k].keras for k in unlocked)
    steps = _unlock_steps()
    locked = [
        f"{KINDS[k].keras} (step {steps[k]})" for k in KINDS if k not in unlocked and k in steps
    ]
    still = (
        f'<p class="cp-still-locked">Still locked: {esc(", ".join(locked))}: finishing that '
        "step's task unlocks it.</p>"
        if locked
        else ""
    )
    return f'<p><b>Blocks you can use:</b> <span class="cp-unlocked">{esc(names)}</span></p>{still}'


def feedback_html(text: str, right: bool | None) -> str:
    kind = {True: " cp-right", False: " cp-wrong", None: ""}[right]
    return f'<div class="cp-lesson-feedback{kind}" role="status">{esc(text)}</div>'


def messages_html(messages) -> str:
    return "".join(f'<div class="cp-lesson-message" role="status">{esc(m)}</div>' for m in messages)
