"""The lesson's words: the eight steps — data, not logic.

Everything a learner reads on a step card lives here, as frozen dataclasses, so
a teacher or translator edits one file and a test can read every text. Texts
are ``str.format`` templates: ``{name}`` fields are live numbers that
:func:`playground.lesson.live.card_facts` computes from the current dataset
(input shape, classes), plus ``{target}``, the step's validation-loss target.
Numbers that depend on the learner's own model (a layer's parameter count, the
Flatten length) are never written here: the log and the views compute them.

A Python module rather than a TOML/JSON file: it needs no package-data setup
to reach the browser (the project wheel ships ``*.py``), mistakes fail at
import, and the tests import it like any code.

Tasks are lists of :class:`Milestone`\\ s; each milestone's ``key`` names a
predicate in :data:`playground.lesson.tasks.PREDICATES` (a name → function
registry), so this file stays free of code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LESSON_DATASET",
    "START_KINDS",
    "START_MODEL",
    "STEPS",
    "TARGET_MODELS",
    "TOTAL",
    "VIEWS",
    "Answer",
    "Milestone",
    "Question",
    "Step",
]

# The targets below were measured on this dataset (docs/LESSON.md,
# benchmarks/bench_lesson_targets.py); runs on another dataset unlock nothing.
LESSON_DATASET = "digits"
# Blocks a new learner can use: enough for a working Dense-only classifier.
START_KINDS = ("flatten", "dense")
# The learner's first model, in the share-link format (the playground fills in
# the default training settings).
START_MODEL = "?dataset=digits&layers=flatten,dense:10:softmax"

# The models each validation-loss target was measured on: what a learner following the
# cards has when training at that step (the palette adds Conv2D(8, 3×3) and Dense(32);
# on digits the stride-and-padding step asks for padding 'same'). The benchmark
# benchmarks/bench_lesson_targets.py trains them; a unit test checks one press of Train
# reaches each target with the default settings.
TARGET_MODELS: dict[int, tuple[str, ...]] = {
    2: (
        "flatten,dense:10:softmax",  # the first model, trained before adding a layer
        "flatten,dense:32,dense:10:softmax",  # with the hidden Dense the task asks for
    ),
    5: (
        "conv2d:8:3:padding=same,flatten,dense:10:softmax",
        "conv2d:8:3,flatten,dense:10:softmax",
        "conv2d:8:3,flatten,dense:32,dense:10:softmax",
    ),
    6: (
        "conv2d:8:3:padding=same,maxpool:2,flatten,dense:10:softmax",
        "conv2d:8:3,maxpool:2,flatten,dense:10:softmax",
    ),
    8: (
        "conv2d:8:3:padding=same,maxpool:2,flatten,dense:10:softmax",
        "conv2d:8:3,maxpool:2,flatten,dense:10:softmax",
        "conv2d:8:3,maxpool:2,flatten,dense:32,dense:10:softmax",
        "conv2d:8:3:padding=same,avgpool:2,flatten,dense:10:softmax",
    ),
}


@dataclass(frozen=True)
class Answer:
    """One choice of a check question, and what the learner reads after picking it."""

    text: str
    right: bool
    feedback: str


@dataclass(frozen=True)
class Question:
    prompt: str
    answers: tuple[Answer, ...]

    @property
    def right_index(self) -> int:
        return next(i for i, a in enumerate(self.answers) if a.right)


@dataclass(frozen=True)
class Milestone:
    """One part of a step's task, checked by the predicate named ``key``.

    ``target``/``needs`` are for ``key == "loss"``: a training run on
    :data:`LESSON_DATASET` whose validation loss goes below ``target``, with a
    model containing every block kind in ``needs``.
    """

    key: str
    text: str
    target: float | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    card: str  # 2–5 sentences
    view: str  # key of VIEWS: the live picture or number the card shows
    task: str
    milestones: tuple[Milestone, ...]
    question: Question
    unlocks: tuple[str, ...] = ()  # block kinds unlocked when the task is done
    # The number the learner guesses in this step: the key of the milestone that
    # checks the guess ("conv_params" or "flatten_length"). The page hides that
    # number until the learner has typed a guess.
    predict: str | None = None

    @property
    def target(self) -> float | None:
        return next((m.target for m in self.milestones if m.target is not None), None)


# What each card's view shows; the page draws it from the real model and data.
VIEWS = {
    "pixel-grid": "One sample image of the dataset as a grid with every pixel's value; "
    "hovering or tapping a pixel reads it out and picks it. An image too big for that on a "
    "phone is drawn whole, with a movable close-up of finger-sized cells.",
    "dense-count": "The weights a Dense layer of 1,000 neurons needs on the raw image of the "
    "current dataset, next to the learner's Conv2D parameters, and the same sum for a "
    "200×200×3 photo.",
    "sliding-filter": "One 3×3 filter of the learner's first Conv2D sliding over the sample "
    "image, position by position, filling in the output map.",
    "shape-table": "The output height × width of a Conv2D on the current input for padding "
    "'valid'/'same' × stride 1/2, with the learner's choice marked.",
    "feature-maps": "The first Conv2D's feature maps (after ReLU) for the sample image, one "
    "small picture per filter, next to the filter's weights; a map can be picked.",
    "pool-shift": "The sample image and the same image moved one pixel to the right, both "
    "after a 2×2 max pooling, with how many pooled values stayed the same.",
    "flatten-length": "The output shape of the layer before Flatten and the length of "
    "Flatten's vector (hidden until the learner has guessed it).",
    "softmax-output": "The trained network's probabilities for each class on the sample "
    "image, as bars that add up to 1.",
}


def _loss(target: float, needs: tuple[str, ...] = ()) -> Milestone:
    return Milestone("loss", "Validation loss below {target}", target, needs)


STEPS: tuple[Step, ...] = (
    Step(
        number=1,
        title="An image is a grid of numbers",
        card=(
            "A computer never sees a picture, only numbers. Each image here is a grid of "
            "{h}×{w} pixels, and every pixel holds one brightness value from 0 (black) to "
            "1 (white). A colour photo carries three such grids: red, green and blue. "
            "Whatever a network learns, it learns from these numbers alone."
        ),
        view="pixel-grid",
        task="Find the brightest pixel of the sample image and click or tap it.",
        milestones=(Milestone("brightest", "Picked a pixel with the highest value"),),
        question=Question(
            "What does the network actually receive when it is shown this digit?",
            (
                Answer(
                    "The outline of the digit, traced as lines and curves.",
                    False,
                    "Nobody traces outlines for the network. Lines and curves are patterns it "
                    "has to discover in the numbers by itself.",
                ),
                Answer(
                    "A grid of brightness values, one number per pixel.",
                    True,
                    "Right. The first layer gets {h}×{w}×{c} = {values} numbers and nothing else.",
                ),
                Answer(
                    "The name of the digit, so it knows what it is looking at.",
                    False,
                    "The name is the label: the answer the network must learn to give. It is "
                    "used only to score the network's guesses while training.",
                ),
                Answer(
                    "An image file, which it opens the way a photo viewer does.",
                    False,
                    "The file is decoded before training starts. What reaches the first layer "
                    "is a plain array of numbers.",
                ),
            ),
        ),
    ),
    Step(
        number=2,
        title="Why not only Dense?",
        card=(
            "A Dense layer links every input value to every one of its neurons, with one "
            "weight per link. Your images have {h}×{w}×{c} = {values} values, so 1,000 "
            "neurons on them need {values}×1,000 = {dense_1000} weights. For a 200×200 "
            "colour photo that becomes 200×200×3×1,000 = {photo_weights}. A Dense layer also "
            "reads the pixels as a plain list: which pixels are neighbours is lost."
        ),
        view="dense-count",
        task=(
            "Add a Dense layer right after Flatten, so that it sees the raw pixels, and read "
            "its parameter count in the table. Then train: a validation loss below {target} "
            "unlocks Conv2D."
        ),
        milestones=(
            Milestone("dense_on_pixels", "A hidden Dense layer right after Flatten"),
            _loss(0.50),
        ),
        unlocks=("conv2d",),
        question=Question(
            "Why is a Dense layer a poor first layer for large photos?",
            (
                Answer(
                    "It cannot learn anything from pixels.",
                    False,
                    "It can: you have just trained one. The trouble is its cost and the "
                    "structure it wastes, not that it fails.",
                ),
                Answer(
                    "It only accepts grey images, not colour ones.",
                    False,
                    "Colour just triples the number of inputs. That makes the weight count "
                    "worse, but a Dense layer accepts it.",
                ),
                Answer(
                    "It needs a weight for every pixel and every neuron, and it ignores which "
                    "pixels sit next to each other.",
                    True,
                    "Right. The count grows with the image size times the neurons, and the "
                    "layout of the picture is thrown away.",
                ),
                Answer(
                    "Its activation function is slow to compute.",
                    False,
                    "Activations are cheap. The cost is in the weights: one per input for "
                    "every neuron.",
                ),
            ),
        ),
    ),
    Step(
        number=3,
        title="Conv2D: a filter slides",
        card=(
            "A Conv2D layer learns small filters, grids of weights such as 3×3. Each filter "
            "slides over the image; at every position it multiplies the pixels beneath it "
            "by its weights and adds them up, which gives one value of its output map. The "
            "same weights serve every position, so a pattern learned in one corner is "
            "spotted anywhere, and each output value only looks at a small patch of the "
            "input. That is why the count does not grow with the image: 4 filters of 5×5 "
            "on {c}-channel images always have 4 × (5×5×{c} + 1) = {conv_example} "
            "parameters."
        ),
        view="sliding-filter",
        task=(
            "Replace your hidden Dense layer with a Conv2D before Flatten. Before the table "
            "shows its parameter count, type your guess."
        ),
        milestones=(
            Milestone("conv_replaces_dense", "A Conv2D before Flatten, no Dense on raw pixels"),
            Milestone("conv_params", "Guessed the first Conv2D's parameter count"),
        ),
        predict="conv_params",
        question=Question(
            "Why does a Conv2D layer use the same filter weights at every position?",
            (
                Answer(
                    "So that a pattern learned in one place is recognised everywhere, with few "
                    "weights to learn.",
                    True,
                    "Right. One small set of weights serves the whole image, and an edge looks "
                    "the same wherever it appears.",
                ),
                Answer(
                    "Because the whole image has to be handled in a single step.",
                    False,
                    "Sharing is about what the filter looks for, not about timing: the filter "
                    "visits the positions one by one.",
                ),
                Answer(
                    "So that every pixel gets a filter of its own.",
                    False,
                    "That is the opposite. A filter per pixel would cost almost as much as a "
                    "Dense layer; sharing means one filter for all positions.",
                ),
                Answer(
                    "To make the output map larger than the input.",
                    False,
                    "Sharing does not change the map's size. Kernel size, stride and padding "
                    "do: that is the next step.",
                ),
            ),
        ),
    ),
    Step(
        number=4,
        title="Stride and padding",
        card=(
            "Stride is how far the filter jumps between two positions: stride 2 visits every "
            "second one and about halves height and width. Padding decides what happens at "
            "the border. With 'valid' the filter stays inside the image, so a 3×3 filter on "
            "{h}×{w} gives {valid1}. With 'same', zeros are added around the edge: stride 1 "
            "keeps {same1}, and stride 2 gives {same2}."
        ),
        view="shape-table",
        task=(
            "Make your first Conv2D output exactly {target_shape} (height × width) by choosing "
            "its padding and stride."
        ),
        milestones=(Milestone("target_shape", "First Conv2D outputs {target_shape}"),),
        question=Question(
            "A 3×3 filter with padding 'valid' and stride 1 slides over a {h}×{w} image. How "
            "large is its output?",
            (
                Answer(
                    "{same1}",
                    False,
                    "That is what padding 'same' gives: its zeros let the window sit on the "
                    "border pixels too. 'valid' adds no zeros.",
                ),
                Answer(
                    "{valid2}",
                    False,
                    "That would be stride 2, which skips every other position. Here the stride "
                    "is 1.",
                ),
                Answer(
                    "{valid1}",
                    True,
                    "Right. Without padding the window must stay inside the image, so each "
                    "side loses 3 − 1 = 2 positions.",
                ),
                Answer(
                    "{bigger}",
                    False,
                    "A convolution with stride 1 never makes the map larger than its input; "
                    "at most 'same' padding keeps the size.",
                ),
            ),
        ),
    ),
    Step(
        number=5,
        title="Activation and feature maps",
        card=(
            "After a filter's sum, ReLU keeps positive values and turns negative ones into "
            "0. What comes out for one filter is a feature map: a picture of where that "
            "filter found its pattern. In a trained network some filters answer to strokes, "
            "some to edges in one direction, some to corners. Before training they are "
            "random; training shapes them."
        ),
        view="feature-maps",
        task=(
            "Train until the validation loss is below {target} to unlock MaxPooling2D. Then "
            "look at the feature maps and pick one that lights up along the edges of the "
            "strokes."
        ),
        milestones=(
            _loss(0.40, ("conv2d",)),
            Milestone("edge_map", "Picked a feature map that answers to edges"),
        ),
        unlocks=("maxpool",),
        question=Question(
            "What does ReLU do to the values of a feature map?",
            (
                Answer(
                    "It scales every value into the range from 0 to 1.",
                    False,
                    "Positive values pass through unchanged, however large. Squeezing into "
                    "0 to 1 is what a sigmoid does.",
                ),
                Answer(
                    "It halves the width and height of the map.",
                    False,
                    "ReLU works value by value and keeps the shape. Shrinking the map is "
                    "pooling's job: the next step.",
                ),
                Answer(
                    "It turns the map into class probabilities.",
                    False,
                    "That is softmax, at the very end of the network.",
                ),
                Answer(
                    "Negative values become 0; positive values pass unchanged.",
                    True,
                    "Right. The map then shows only where its pattern was found, and the "
                    "network can build curved decisions instead of straight ones.",
                ),
            ),
        ),
    ),
    Step(
        number=6,
        title="MaxPooling: smaller and robust",
        card=(
            "A 2×2 MaxPooling2D layer looks at each 2×2 window of a feature map and keeps "
            "only its largest value, so height and width halve. It has no weights to learn, "
            "and every layer after it gets four times fewer values to work on. Because only "
            "the strongest answer in each window survives, a pattern that moves by one pixel "
            "often leaves the pooled output exactly as it was."
        ),
        view="pool-shift",
        task=(
            "Add a MaxPooling2D after your Conv2D and compare its parameter count and images "
            "per second with your last run in the log. Then train until the validation loss "
            "is below {target} to unlock AveragePooling2D. Pooling drops some detail of tiny "
            "images, so this target is a little looser than the last one."
        ),
        milestones=(
            Milestone("pool_after_conv", "A MaxPooling2D after a Conv2D"),
            _loss(0.45, ("maxpool",)),
        ),
        unlocks=("avgpool",),
        question=Question(
            "A feature moves one pixel to the left. Why does MaxPooling2D often give the same "
            "output as before?",
            (
                Answer(
                    "Pooling layers learn during training to ignore movement.",
                    False,
                    "Pooling has no weights and learns nothing. The robustness comes from "
                    "keeping a single value per window.",
                ),
                Answer(
                    "The largest value usually stays inside the same 2×2 window, and only that "
                    "value is kept.",
                    True,
                    "Right. A small move inside a window changes nothing after pooling, so the "
                    "next layers see the same thing.",
                ),
                Answer(
                    "Pooling blurs the picture so that small details vanish.",
                    False,
                    "That is closer to average pooling. Max pooling keeps the sharpest answer "
                    "in each window; it does not blur.",
                ),
                Answer(
                    "The Conv2D before it stops looking at that part of the image.",
                    False,
                    "The Conv2D still looks everywhere: its filters are shared. Its map moves "
                    "by a pixel, and pooling is what hides the move.",
                ),
            ),
        ),
    ),
    Step(
        number=7,
        title="Flatten: from a 3-D block to a vector",
        card=(
            "Conv2D and pooling layers output a block of numbers: height × width × channels. "
            "Dense layers need one row of numbers instead. Flatten lays the block out as a "
            "single long vector without changing, adding or dropping any value, and it has "
            "no parameters. Its length is therefore height × width × channels: a 5×5×16 "
            "block becomes {flatten_example} values."
        ),
        view="flatten-length",
        task=(
            "Read the output shape of the layer before Flatten and type how long Flatten's "
            "vector will be, before you look it up in the table."
        ),
        milestones=(Milestone("flatten_length", "Guessed Flatten's length"),),
        predict="flatten_length",
        question=Question(
            "What does Flatten do to the values it receives?",
            (
                Answer(
                    "It puts them in one long row; every value stays the same.",
                    True,
                    "Right. Flatten only changes the shape: nothing is lost and nothing is "
                    "computed.",
                ),
                Answer(
                    "It keeps the largest value of each channel.",
                    False,
                    "That would be a kind of pooling over the whole map. Flatten keeps every "
                    "single value.",
                ),
                Answer(
                    "It learns which values matter and drops the rest.",
                    False,
                    "Flatten has no weights, so it cannot learn. The Dense layer after it does "
                    "the weighing.",
                ),
                Answer(
                    "It averages the channels into one grey picture.",
                    False,
                    "Nothing is mixed: the length is exactly height × width × channels.",
                ),
            ),
        ),
    ),
    Step(
        number=8,
        title="Dense + softmax: the classifier",
        card=(
            "At the end, Dense layers weigh all the features together and decide. The last "
            "one has one neuron per class, {classes} here, and softmax turns their outputs "
            "into probabilities that add up to 1. The loss compares those probabilities with "
            "the true class: it is small when the network is confident and right. The "
            "validation loss is measured on images kept out of training, so it tells how the "
            "network does on pictures it has never seen."
        ),
        view="softmax-output",
        task=(
            "Train your whole network, with Conv2D, Flatten and Dense (pooling as you like), "
            "until the validation loss is below {target}. That unlocks Dropout and completes "
            "the path."
        ),
        milestones=(_loss(0.45, ("conv2d", "flatten", "dense")),),
        unlocks=("dropout",),
        question=Question(
            "Your last layer is Dense({classes}, softmax). What do its {classes} outputs mean?",
            (
                Answer(
                    "The {classes} most important pixels of the image.",
                    False,
                    "By this layer the values are far from pixels: they are the network's "
                    "scores for each class.",
                ),
                Answer(
                    "{classes} feature maps, one per filter.",
                    False,
                    "Feature maps come out of Conv2D layers. After Flatten and Dense there are "
                    "no maps, only one number per class.",
                ),
                Answer(
                    "The loss of each class.",
                    False,
                    "The loss is one number, computed from these probabilities and the true "
                    "class. The outputs themselves are probabilities.",
                ),
                Answer(
                    "One probability per class; together they add up to 1.",
                    True,
                    "Right. The network's answer is the class with the highest probability.",
                ),
            ),
        ),
    ),
)

TOTAL = len(STEPS)
