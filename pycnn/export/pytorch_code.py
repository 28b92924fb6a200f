"""The model and its training as a PyTorch script: :func:`to_pytorch`.

The network is an ``nn.Module`` with one attribute per playground layer,
named like it, and a ``forward`` that takes PyTorch's NCHW images. Where
PyTorch and Keras differ, the script does what Keras (and pycnn) do:

* ``same`` padding: TensorFlow pads the odd extra row/column at the bottom
  and right, also with strides; PyTorch pads both sides equally. Symmetric
  cases use the layer's own ``padding``, the others an explicit ``F.pad``.
  Max pooling pads with -inf, average pooling averages real pixels only.
* Flatten: channels last, so a Dense layer sees the features in Keras's
  order and pycnn's Dense kernels load as they are (transposed).
* Initial weights: Glorot-uniform kernels and zero biases, Keras's defaults.
* Output: probabilities after a softmax output layer, like
  ``model.predict``; training uses the logits before it.
"""

from __future__ import annotations

from .. import optimizers
from .data_code import load_data_code
from .script import (
    PYTORCH_FILENAME,
    WEIGHTS_FILENAME,
    LayerStep,
    Settings,
    call,
    constants,
    header,
    imports,
    join_blocks,
    layer_steps,
    main_code,
    number,
    settings,
)

__all__ = ["to_pytorch"]

_ACTIVATIONS = {
    "relu": "torch.relu({})",
    "tanh": "torch.tanh({})",
    "sigmoid": "torch.sigmoid({})",
    "softmax": "torch.softmax({}, dim=1)",  # over the channels/units, as Keras's last axis
    "linear": "{}",
}


def to_pytorch(model, **training) -> str:
    """A runnable PyTorch script (source text) for ``model`` and its training settings.

    Same arguments as :func:`pycnn.export.to_keras`. The script defines the
    network class, ``build_model(weights=None)``, ``load_data()``,
    ``train()``, ``evaluate()`` and ``main()``; run as a program it trains
    on the full dataset and prints the test accuracy.
    """
    s = settings(model, **training)
    steps = layer_steps(model)
    data_imports, data_code = load_data_code(s, model, "pytorch")
    needs = "PyTorch and NumPy: `pip install torch numpy`"
    if s.dataset == "digits":
        needs = "PyTorch, NumPy and scikit-learn: `pip install torch numpy scikit-learn`"
    modules = [
        "import argparse",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
    ]
    helpers = []
    if any(_uneven_average_pooling(step) for step in steps):
        helpers.append(_AVG_POOL_SAME)
    return join_blocks(
        header(s, model, "PyTorch", PYTORCH_FILENAME, needs),
        imports(modules + data_imports),
        constants(s),
        helpers,
        _network(model, steps),
        _INIT_AND_WEIGHT_HELPERS,
        _build_model(steps),
        data_code,
        _train(s),
        main_code(
            "torch.manual_seed(SEED)",
            "print(model)",
            "evaluate(model, *to_tensors(x_test, y_test))",
        ),
    )


# --------------------------------------------------------------------------- the network


def _uneven_average_pooling(step: LayerStep) -> bool:
    return step.kind == "AveragePooling2D" and step.uneven_padding


def _pad_args(pads) -> str:
    """F.pad's order: (left, right, top, bottom)."""
    (top, bottom), (left, right) = pads
    return f"({left}, {right}, {top}, {bottom})"


def _module(step: LayerStep) -> str:
    """The ``nn`` module for one layer (constructor call)."""
    c, pads = step.config, step.pads()
    padding = []
    if pads is not None and not step.uneven_padding and any(before for before, _ in pads):
        padding = [f"padding={(pads[0][0], pads[1][0])}"]
    if step.kind == "Conv2D":
        args = [
            str(step.input_shape[-1]),
            str(c["filters"]),
            f"kernel_size={tuple(c['kernel_size'])}",
        ]
        if tuple(c["strides"]) != (1, 1):
            args.append(f"stride={tuple(c['strides'])}")
        return call(8, f"self.{step.var} = nn.Conv2d", args + padding)
    if step.kind in ("MaxPooling2D", "AveragePooling2D"):
        if _uneven_average_pooling(step):
            window = [f"{tuple(c['pool_size'])}", f"stride={tuple(c['strides'])}"]
            return call(
                8, f"self.{step.var} = AvgPool2dSame", [*window, f"padding={_pad_args(pads)}"]
            )
        args = [f"{tuple(c['pool_size'])}"]
        if tuple(c["strides"]) != tuple(c["pool_size"]):
            args.append(f"stride={tuple(c['strides'])}")
        cls = "nn.MaxPool2d" if step.kind == "MaxPooling2D" else "nn.AvgPool2d"
        if step.kind == "AveragePooling2D" and padding:
            padding.append("count_include_pad=False")  # average the real pixels only
        return call(8, f"self.{step.var} = {cls}", args + padding)
    if step.kind == "Flatten":
        return f"        self.{step.var} = nn.Flatten()"
    if step.kind == "Dropout":
        return f"        self.{step.var} = nn.Dropout({number(c['rate'])})"
    return call(8, f"self.{step.var} = nn.Linear", [str(step.input_shape[0]), str(c["units"])])


def _shape_comment(step: LayerStep) -> str:
    """The output shape as PyTorch holds it: (N, C, H, W) or (N, features)."""
    shape = step.output_shape
    nchw = (shape[-1], *shape[:-1]) if len(shape) == 3 else shape
    return "  # (N, " + ", ".join(str(d) for d in nchw) + ")"


def _forward_lines(step: LayerStep, last: bool) -> list[str]:
    """The lines of ``logits`` for one layer (the output layer's softmax is left to forward)."""
    pads, lines = step.pads(), []
    if step.kind in ("Conv2D", "MaxPooling2D") and step.uneven_padding:
        fill = ', value=float("-inf")' if step.kind == "MaxPooling2D" else ""
        lines.append(
            f'x = F.pad(x, {_pad_args(pads)}{fill})  # "same": the extra goes right/bottom'
        )
    if step.kind == "Flatten":
        # Keras flattens (H, W, C); do the same so the Dense weights line up
        lines.append(f"x = self.{step.var}(x.permute(0, 2, 3, 1)){_shape_comment(step)}")
        return lines
    expression = f"self.{step.var}(x)"
    activation = step.activation or "linear"
    if last and activation == "softmax":
        activation = "linear"
    lines.append(f"x = {_ACTIVATIONS[activation].format(expression)}{_shape_comment(step)}")
    return lines


def _network(model, steps: list[LayerStep]) -> str:
    modules = "\n".join(_module(step) for step in steps)
    body = "\n".join(
        "        " + line
        for i, step in enumerate(steps)
        for line in _forward_lines(step, last=i == len(steps) - 1)
    )
    h, w, c = model.input_shape
    if steps[-1].activation == "softmax":
        output = '''
    def forward(self, x):
        """Class probabilities, as the playground's model.predict gives them."""
        return torch.softmax(self.logits(x), dim=1)
'''
    else:
        output = '''
    def forward(self, x):
        """The output layer's values, as the playground's model.predict gives them."""
        return self.logits(x)
'''
    return f'''
class PlaygroundNet(nn.Module):
    """The playground's network, layer for layer; takes images as (N, {c}, {h}, {w})."""

    def __init__(self):
        super().__init__()
{modules}

    def logits(self, x):
        """The class scores before the softmax: what the loss takes."""
{body}
        return x
{output}'''


_AVG_POOL_SAME = '''
class AvgPool2dSame(nn.Module):
    """Average pooling with Keras's padding="same" where the padding is uneven.

    The image is padded with zeros (`padding` as in F.pad: left, right, top,
    bottom) and each average is taken over the real pixels only.
    """

    def __init__(self, kernel_size, stride, padding):
        super().__init__()
        self.padding = padding
        self.pool = nn.AvgPool2d(kernel_size, stride)

    def forward(self, x):
        sums = self.pool(F.pad(x, self.padding))
        real = self.pool(F.pad(torch.ones_like(x[:1, :1]), self.padding))
        return sums / real
'''

_INIT_AND_WEIGHT_HELPERS = '''
def init_like_keras(model):
    """Glorot-uniform kernels and zero biases, as Keras and the playground start."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


def conv_kernel(kernel):
    """A Keras/playground Conv2D kernel (height, width, in, out) as PyTorch's (out, in, h, w)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def dense_kernel(kernel):
    """A Keras/playground Dense kernel (in, out) as PyTorch's Linear weight (out, in)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.T))
'''


def _build_model(steps: list[LayerStep]) -> str:
    entries = []
    for step in steps:
        if not step.has_weights:
            continue
        kernel = "conv_kernel" if step.kind == "Conv2D" else "dense_kernel"
        entries.append(f'            "{step.var}.weight": {kernel}(saved["{step.name}/kernel"]),')
        entries.append(
            f'            "{step.var}.bias": torch.from_numpy(saved["{step.name}/bias"]),'
        )
    state = "\n".join(entries)
    return f'''
def load_pycnn_weights(model, path):
    """Copy the weights the playground exported ({WEIGHTS_FILENAME}) into the network.

    The .npz holds one float32 array per parameter, named "<layer>/kernel" and
    "<layer>/bias", in Keras's layouts; load_state_dict checks every shape.
    """
    with np.load(path, allow_pickle=False) as saved:
        state = {{
{state}
        }}
    model.load_state_dict(state)


def build_model(weights=None):
    """The network; `weights`: the path of a .npz exported by the playground, or None."""
    model = PlaygroundNet()
    init_like_keras(model)
    if weights is not None:
        load_pycnn_weights(model, weights)
    return model
'''


def _optimizer_code(opt: optimizers.Optimizer) -> str:
    if isinstance(opt, optimizers.Adam):
        # Keras adds epsilon to sqrt(v) before the bias correction, PyTorch after it;
        # with the same small value the two runs differ only in the first steps' rounding.
        betas = f"({number(opt.beta_1)}, {number(opt.beta_2)})"
        return (
            f"torch.optim.Adam(\n        model.parameters(), lr=LEARNING_RATE, "
            f"betas={betas}, eps={number(opt.epsilon)}\n    )"
        )
    extra = f", momentum={number(opt.momentum)}" if opt.momentum else ""
    extra += ", nesterov=True" if opt.nesterov else ""
    return f"torch.optim.SGD(model.parameters(), lr=LEARNING_RATE{extra})"


def _train(s: Settings) -> str:
    return f'''
def to_tensors(x, y):
    """Images (N, H, W, C) in [0, 1] and labels as PyTorch tensors: (N, C, H, W), int64."""
    images = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return images.permute(0, 3, 1, 2).contiguous(), torch.from_numpy(np.asarray(y, dtype=np.int64))


def evaluate(model, images, labels, batch_size=256):
    """Mean loss and accuracy over a whole set, in inference mode (no dropout)."""
    model.eval()
    loss_sum = correct = 0.0
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            x, y = images[start : start + batch_size], labels[start : start + batch_size]
            scores = model.logits(x)
            loss_sum += F.cross_entropy(scores, y, reduction="sum").item()
            correct += (scores.argmax(dim=1) == y).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def train(model, x_train, y_train, epochs=EPOCHS):
    """Train as the playground does: the last VALIDATION_SPLIT of the images is held out."""
    split = int(len(x_train) * (1 - VALIDATION_SPLIT))
    images, labels = to_tensors(x_train, y_train)
    batches = DataLoader(
        TensorDataset(images[:split], labels[:split]),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
    )
    optimizer = {_optimizer_code(s.optimizer)}
    for epoch in range(1, epochs + 1):
        model.train()
        seen = loss_sum = correct = 0
        for x, y in batches:
            optimizer.zero_grad()
            scores = model.logits(x)
            loss = F.cross_entropy(scores, y)
            loss.backward()
            optimizer.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += (scores.argmax(dim=1) == y).sum().item()
        loss, accuracy = loss_sum / seen, correct / seen
        report = f"Epoch {{epoch}}/{{epochs}}: loss {{loss:.4f}}, accuracy {{accuracy:.4f}}"
        if split < len(labels):
            val_loss, val_accuracy = evaluate(model, images[split:], labels[split:])
            report += f", val_loss {{val_loss:.4f}}, val_accuracy {{val_accuracy:.4f}}"
        print(report)
'''
