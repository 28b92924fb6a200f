"""The lesson's reference texts: the glossary and the FAQ, one click away from every step.

Plain data like :mod:`playground.lesson.content`; no live numbers here, so the
texts read the same whatever the learner's model.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAQ", "GLOSSARY", "Faq", "Term"]


@dataclass(frozen=True)
class Term:
    name: str
    text: str


@dataclass(frozen=True)
class Faq:
    question: str
    answer: str


GLOSSARY: tuple[Term, ...] = (
    Term(
        "Conv2D",
        "A layer of small learnable filters. Each filter slides over its input and records "
        "how strongly it matches at every position, which gives one feature map per filter. "
        "Parameters: (kernel height × kernel width × input channels + 1) × filters.",
    ),
    Term(
        "MaxPooling2D",
        "Keeps the largest value of each window (2×2 unless set otherwise) in every feature "
        "map, so height and width shrink. It has no parameters.",
    ),
    Term(
        "AveragePooling2D",
        "Like MaxPooling2D, but keeps the mean of each window instead of its largest value. "
        "The result is smoother; it has no parameters either.",
    ),
    Term(
        "Flatten",
        "Turns a height × width × channels block into one vector of that many values, in a "
        "fixed order and unchanged. It has no parameters.",
    ),
    Term(
        "Dense",
        "Connects every input to every neuron, each link with its own weight, plus one bias "
        "per neuron: (inputs + 1) × neurons parameters. A classifier ends with a Dense layer "
        "of one neuron per class and softmax.",
    ),
    Term(
        "Dropout",
        "While training, sets a random share of its inputs (the rate) to 0 at every step, so "
        "the network cannot lean on any single feature. When predicting it lets everything "
        "through. It has no parameters.",
    ),
    Term(
        "stride",
        "How many pixels a filter or pooling window moves between two positions. Stride 2 "
        "roughly halves height and width.",
    ),
    Term(
        "padding",
        "What a layer does at the border. 'valid' adds nothing, so with stride 1 a k×k window "
        "makes each side k − 1 shorter. 'same' adds zeros around the input so that, with "
        "stride 1, the output keeps the input's height and width.",
    ),
    Term(
        "parameter",
        "A number the network learns in training: a weight or a bias. The summary table "
        "counts them for every layer.",
    ),
    Term(
        "feature map",
        "The output of one filter: a grid showing where in its input the filter found its pattern.",
    ),
    Term(
        "loss",
        "One number saying how far the network's probabilities are from the true classes "
        "(here cross-entropy). Training adjusts the parameters to make it smaller.",
    ),
    Term(
        "validation split",
        "The share of the training images (0.1 means 10 %) set aside and never trained on. "
        "The loss on them, the validation loss, shows how the network copes with new images; "
        "the lesson's targets use it.",
    ),
)

FAQ: tuple[Faq, ...] = (
    Faq(
        "What makes a network convolutional (a CNN)?",
        "A network built for grid-shaped data such as images. Its first layers are filters "
        "that slide over the picture and learn to spot small local patterns (edges, strokes, "
        "corners); later layers combine them into larger shapes, and the last layer names a "
        "class.",
    ),
    Faq(
        "How do stride and padding differ?",
        "Stride is the step size of the sliding window; padding is a border of zeros around "
        "the input. Stride decides how many positions the window visits, padding whether it "
        "may sit on the edge pixels.",
    ),
    Faq(
        "Why is my validation loss higher than my training loss?",
        "The network has seen the training images many times and partly remembers them; the "
        "validation images are new to it. A small gap is normal. If the validation loss "
        "rises while the training loss keeps falling, the network is over-fitting: train "
        "fewer epochs, use a smaller model, or add Dropout.",
    ),
    Faq(
        "How were the targets chosen?",
        "Each one was measured on the Digits images with the page's default training "
        "settings. The network a learner typically has at that step gets below it, with room "
        "to spare, in one press of Train: a matter of seconds. Pressing Train again continues "
        "from the weights learnt so far.",
    ),
    Faq(
        "Where is my progress kept?",
        "In this browser only (its local storage), separately for each copy of the site. "
        "Nothing is sent anywhere. Start over clears it; inside a course (LMS) the course "
        "keeps a copy as well.",
    ),
    Faq(
        "Can I skip ahead?",
        "Free play opens every block at once and leaves your lesson progress where it is. A "
        "teacher's link with unlock=all opens every step of the path.",
    ),
)
