"""``load_data()`` for the exported scripts: the playground's dataset in full.

Each dataset is read the way its users usually do: Keras scripts load MNIST
and Fashion-MNIST with ``keras.datasets``, PyTorch scripts download the same
files; digits come from scikit-learn, and the synthetic (colour) shapes from
pycnn's own generator, copied into the script from :mod:`pycnn.datasets.shapes`. A
model no dataset fits gets a ``load_data()`` for the learner to write.
Nothing in a script needs pycnn.
"""

from __future__ import annotations

import itertools

from ..datasets import DATASETS
from ..datasets import shapes as shapes_dataset
from ..datasets.loading import GENERATORS
from .script import Settings

__all__ = ["load_data_code"]


def load_data_code(s: Settings, model, library: str) -> tuple[list[str], list[str]]:
    """``(imports, code blocks)`` of ``load_data()`` for the script's dataset.

    Every version returns ``(x_train, y_train), (x_test, y_test)`` with
    float32 images ``(N, H, W, C)`` in [0, 1], as the playground trains on:
    the full dataset, read the usual way for ``library``.
    """
    if s.dataset is None:
        h, w, c = model.input_shape
        classes = model.output_shape[0] - 1
        return [], [_BRING_YOUR_OWN.format(h=h, w=w, c=c, classes=classes)]
    if s.dataset == "digits":
        return [
            "from sklearn.datasets import load_digits",
            "from sklearn.model_selection import train_test_split",
        ], [_DIGITS]
    if s.dataset in _DRAW_FUNCTIONS:
        info = DATASETS[s.dataset]
        draw = _DRAW_FUNCTIONS[s.dataset]
        drawing_imports, drawing = _shapes_drawing(draw)
        h, w, c = info.input_shape
        loop = _SHAPES.format(
            draw=draw,
            title=info.title,
            classes=info.num_classes,
            n_train=info.n_train,
            n_test=info.n_test,
            size=h,
            channels=c,
            noise=GENERATORS[s.dataset].__kwdefaults__["noise"],
        )
        return drawing_imports, [drawing, loop]
    if library == "keras":
        title = DATASETS[s.dataset].title
        module = {"mnist": "mnist", "fashion": "fashion_mnist"}[s.dataset]
        return [], [_KERAS_DATASET.format(title=title, module=module), _SCALE]
    if s.dataset == "mnist":
        return _DOWNLOAD_IMPORTS, [_DOWNLOAD, _TORCH_MNIST, _SCALE]
    return [*_DOWNLOAD_IMPORTS, "import gzip"], [_DOWNLOAD, _READ_IDX, _TORCH_FASHION, _SCALE]


_BRING_YOUR_OWN = '''
def load_data():
    """Your images: return (x_train, y_train), (x_test, y_test).

    x: float32 arrays of shape (N, {h}, {w}, {c}) with values in [0, 1], channels last;
    y: integer class labels 0 to {classes}. None of the playground's datasets has
    images of this shape, so this part is yours to write.
    """
    raise NotImplementedError("write load_data() to return your own images")
'''

_SCALE = '''
def scale(images):
    """uint8 images (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], as in the playground."""
    return (images.astype("float32") / 255)[..., None]
'''

_KERAS_DATASET = '''
def load_data():
    """{title}: all training and test images, as Keras downloads them."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.{module}.load_data()
    return (scale(x_train), y_train), (scale(x_test), y_test)
'''

_DIGITS = '''
def load_data():
    """scikit-learn's 1,797 handwritten digits (8x8 pixels, values 0-16).

    300 of them are kept for testing, the same number of each digit, as the playground does.
    """
    digits = load_digits()
    x = (digits.images.astype("float32") / 16)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=300, stratify=digits.target, random_state=0
    )
    return (x_train, y_train), (x_test, y_test)
'''

# The generated datasets' draw function, by dataset (each a function of pycnn.datasets.shapes).
_DRAW_FUNCTIONS = {"shapes": "_draw", "colour-shapes": "_draw_colour"}

# The loop of pycnn.datasets.shapes._generate, without its argument checks: the same random
# stream, drawn in the same chunks of 512, gives the same images (a unit test compares them).
_SHAPES = '''
def make_images(n, seed, size={size}, noise={noise}):
    """n images with balanced classes, (n, {size}, {size}, {channels}) in [0, 1], and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % {classes}).astype(np.int64)  # {classes} classes
    chunks = [{draw}(labels[i : i + 512], size, rng, noise) for i in range(0, n, 512)]
    return np.concatenate(chunks), labels


def load_data():
    """{title}: the playground's {n_train:,} training and {n_test:,} test images, redrawn."""
    train_seed, test_seed = np.random.SeedSequence(0).spawn(2)
    return make_images({n_train}, train_seed), make_images({n_test}, test_seed)
'''

_DOWNLOAD_IMPORTS = ["import urllib.request", "from pathlib import Path"]

# The copies of MNIST and Fashion-MNIST that keras.datasets downloads (keras/src/datasets/).
_DOWNLOAD = '''
DATA_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DATA_DIR = Path.home() / ".cache" / "cnn-playground-data"


def download(name):
    """DATA_DIR/name, downloaded from DATA_URL the first time."""
    path = DATA_DIR / name
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {DATA_URL + name} to {DATA_DIR}")
        partial = path.with_name(name + ".part")
        urllib.request.urlretrieve(DATA_URL + name, partial)
        partial.replace(path)
    return path
'''

_TORCH_MNIST = '''

def load_data():
    """MNIST: all 60,000 training and 10,000 test images."""
    with np.load(download("mnist.npz"), allow_pickle=False) as data:
        train = scale(data["x_train"]), data["y_train"]
        test = scale(data["x_test"]), data["y_test"]
    return train, test
'''

_READ_IDX = '''
def read_idx(path):
    """A gzipped IDX file (the MNIST file format): a header giving the shape, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)
'''

_TORCH_FASHION = '''
def load_data():
    """Fashion-MNIST: all 60,000 training and 10,000 test images."""
    x_train = read_idx(download("train-images-idx3-ubyte.gz"))
    y_train = read_idx(download("train-labels-idx1-ubyte.gz"))
    x_test = read_idx(download("t10k-images-idx3-ubyte.gz"))
    y_test = read_idx(download("t10k-labels-idx1-ubyte.gz"))
    return (scale(x_train), y_train), (scale(x_test), y_test)
'''


def _shapes_drawing(draw: str) -> tuple[list[str], str]:
    """``(imports, code)``: how a generated dataset draws its images, for the script.

    Taken from :mod:`pycnn.datasets.shapes` itself, so the script draws
    exactly the playground's images: the function ``draw`` and every
    module-level name it needs, in the module's order; the names it imports
    from pycnn (tuples of class names) are written out, the modules it imports
    go to the script's imports.
    """
    import ast  # here, not at the top: `import pycnn` stays quick in the browser
    import inspect

    source = inspect.getsource(shapes_dataset)
    lines = source.splitlines()
    tree = ast.parse(source)
    defined: dict[str, ast.stmt] = {}
    imported: dict[str, str] = {}
    constants: set[str] = set()  # imported from pycnn: written out as values
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            constants.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = ast.unparse(ast.Import([alias]))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = node
    needed, todo = set(), [draw]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in defined:
            used = {n.id for n in ast.walk(defined[name]) if isinstance(n, ast.Name)}
            todo += sorted(used & (set(defined) | set(imported) | constants))
    blocks = []
    for name in sorted(needed & constants):
        values = ", ".join(f'"{value}"' for value in getattr(shapes_dataset, name))
        blocks.append((False, f"{name} = ({values})"))
    for node in tree.body:
        if node in {defined[name] for name in needed if name in defined}:
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            is_def = isinstance(node, (ast.FunctionDef, ast.ClassDef))
            blocks.append((is_def, "\n".join(lines[first - 1 : node.end_lineno])))
    code = "# How the playground draws its shapes (pycnn/datasets/shapes.py)\n" + blocks[0][1]
    for (before_def, _), (is_def, text) in itertools.pairwise(blocks):
        code += ("\n\n\n" if before_def or is_def else "\n") + text
    return sorted(imported[name] for name in needed if name in imported), code + "\n"
