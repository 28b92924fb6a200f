"""The patches to Panel's and Bokeh's code (sitebuild/patches/): each applies exactly once to
the pinned upstream file, a changed upstream fails naming the patch, and the patched Bokeh
behaves as Bokeh's own."""

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sitebuild.patch import PATCH_DIR, Patch, all_patches, parse, patched_texts, patches_for
from sitebuild.report import StepError
from sitebuild.wheel import rewrite_wheel

PATCHES = all_patches()


def upstream_path(target: str) -> Path:
    """The installed (unpatched) file a patch changes: .venv holds the pinned Panel/Bokeh."""
    package, _, rest = target.partition("/")
    return Path(importlib.util.find_spec(package).submodule_search_locations[0]) / rest


def test_there_are_patches_for_panel_and_bokeh():
    assert {p.target.split("/")[0] for p in PATCHES} == {"panel", "bokeh"}
    assert [p.name for p in patches_for("panel")] == [
        "panel-cdn-root.patch",
        "panel-plain-descriptions.patch",
        "panel-plain-text-sanitizer.patch",
        "panel-synced-params.patch",
    ]


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_each_hunk_matches_the_pinned_upstream_file_exactly_once(patch):
    text = upstream_path(patch.target).read_text()
    for upstream, ours in patch.hunks:
        assert text.count(upstream) == 1, upstream
        text = text.replace(upstream, ours)
    assert patch.apply(upstream_path(patch.target).read_text()) == text
    compile(text, patch.target, "exec")  # still Python


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_a_changed_upstream_text_fails_naming_the_patch(patch):
    text = upstream_path(patch.target).read_text()
    upstream = patch.hunks[-1][0]
    middle = len(upstream) // 2
    changed = text.replace(upstream, upstream[:middle] + "\u00a0" + upstream[middle:])
    with pytest.raises(StepError) as err:
        patch.apply(changed)
    message = str(err.value)
    assert patch.name in message and patch.target in message
    assert f"hunk {len(patch.hunks)}" in message and "0 times" in message
    assert patch.name in err.value.fix


def test_an_upstream_text_found_twice_is_refused():
    patch = parse("twice.patch", "file: pkg/a.py\n@@ upstream\nx = 1\n@@ ours\nx = 2\n@@ end\n")
    assert patch.apply("y = 0\nx = 1\n") == "y = 0\nx = 2\n"
    with pytest.raises(StepError, match=r"twice\.patch: hunk 1 \('x = 1'\) occurs 2 times"):
        patch.apply("x = 1\nx = 1\n")


def test_the_format_keeps_text_exactly_blank_lines_included():
    text = (
        "# why\nfile: pkg/mod.py\n\n"
        "@@ upstream\n\ndef f(\n@@ ours\n\ndef _helper():\n    pass\n\n\ndef f(\n@@ end\n\n"
        "@@ upstream\n    a = 1\n\n@@ ours\n    a = 2\n\n@@ end\n"
    )
    patch = parse("p.patch", text)
    assert patch == Patch(
        "p.patch",
        "pkg/mod.py",
        (("\ndef f(", "\ndef _helper():\n    pass\n\n\ndef f("), ("    a = 1\n", "    a = 2\n")),
    )


@pytest.mark.parametrize(
    "text, where",
    [
        ("file: a.py\n@@ upstream\nx\n@@ end\n", "line 4: @@ end before @@ ours"),
        ("file: a.py\n@@ upstream\nx\n@@ ours\ny\n", "has no @@ end"),
        ("file: a.py\nstray text\n", "line 2: expected a comment"),
        ("# only a comment\n", "names no 'file:'"),
    ],
)
def test_a_malformed_patch_file_is_refused_with_its_line(text, where):
    with pytest.raises(StepError, match="bad.patch") as err:
        parse("bad.patch", text)
    assert where in str(err.value)


def _wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_a_patch_whose_file_is_missing_from_the_wheel_is_refused(tmp_path):
    src = _wheel(
        tmp_path / "pkg-1.0-py3-none-any.whl",
        {"pkg/other.py": "", "pkg-1.0.dist-info/RECORD": ""},
    )
    patch = parse("moved.patch", "file: pkg/mod.py\n@@ upstream\na\n@@ ours\nb\n@@ end\n")
    with pytest.raises(StepError, match="moved.patch: pkg-1.0-py3-none-any.whl has no pkg/mod.py"):
        rewrite_wheel(src, tmp_path / "out", patches=[patch])


def test_every_patch_of_one_file_is_applied_in_order(tmp_path):
    """Two patches of the same file: the second changes what the first left (it used to
    replace the first silently)."""
    src = _wheel(
        tmp_path / "pkg-1.0-py3-none-any.whl",
        {"pkg/mod.py": "a = 1\nb = 2\n", "pkg-1.0.dist-info/RECORD": ""},
    )
    first = parse("1.patch", "file: pkg/mod.py\n@@ upstream\na = 1\n@@ ours\na = 10\n@@ end\n")
    second = parse(
        "2.patch", "file: pkg/mod.py\n@@ upstream\na = 10\nb = 2\n@@ ours\nb = 3\n@@ end\n"
    )
    out = rewrite_wheel(src, tmp_path / "out", patches=[first, second])
    with zipfile.ZipFile(out) as zf:
        assert zf.read("pkg/mod.py") == b"b = 3\n"
    with pytest.raises(StepError, match=r"2\.patch: hunk 1 \('a = 10'\) occurs 0 times"):
        rewrite_wheel(src, tmp_path / "out2", patches=[second, first])


# The patched Bokeh, imported like the wheel the site ships: argv[1] is a JSON file mapping
# module names to (path of the installed file, patched source), argv[2] what to run.
PATCHED_IMPORT = r"""
import importlib.abc, importlib.util, json, re, sys
patched = json.load(open(sys.argv[1]))

class Patched(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target_=None):
        if name not in patched:
            return None
        origin = patched[name][0]
        package = origin.endswith("__init__.py")  # a package's own module: its folder too
        spec = importlib.util.spec_from_loader(name, self, origin=origin, is_package=package)
        if package:
            spec.submodule_search_locations = [origin.rsplit("/", 1)[0]]
        return spec

    def exec_module(self, module):
        origin, source = patched[module.__name__]
        module.__file__ = origin
        exec(compile(source, origin, "exec"), module.__dict__)

sys.meta_path.insert(0, Patched())
"""

SIGNATURES_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import inspect
import bokeh.models
from bokeh.model import Model
lazy = type(bokeh.models.Button.__init__.__signature__).__name__
out = {}
for name in sorted(dir(bokeh.models)):
    cls = getattr(bokeh.models, name)
    if isinstance(cls, type) and issubclass(cls, Model):
        try:
            # defaults that are functions print their address: not part of the comparison
            out[name] = re.sub(" at 0x[0-9a-f]+", "", str(inspect.signature(cls.__init__)))
        except Exception as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"signature_type": lazy, "signatures": out}))
"""
)

STREAM_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import types
if sys.argv[2] == "stand-in":  # the worker's lazy pandas, not imported for real yet
    stub = types.ModuleType("pandas")
    stub.__cp_lazy__ = True
    def _used(name):
        raise AssertionError(f"pandas.{name} was used")
    stub.__getattr__ = _used
    sys.modules["pandas"] = stub
import numpy as np
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.models import ColumnDataSource

sent = []  # what a live page would be sent for each stream

def attempt(source, data, **kw):
    try:
        source.stream(data, **kw)
        return {k: [float(v) for v in vs] for k, vs in source.data.items()}
    except ValueError as exc:
        return str(exc)

out = []
src = ColumnDataSource(data={"index": [0.0], "x": [1.0], "y": [2.0]})
doc = Document()
doc.add_root(src)
doc.on_change(lambda event: sent.append(json.loads(json.dumps(
    Serializer(deferred=False).encode(event.to_serializable(Serializer(deferred=False))),
    default=str))))
out.append(attempt(src, {"index": [1.0], "x": [3.0], "y": [4.0]}))
out.append(attempt(src, {"index": np.array([2.0]), "x": np.array([5.0]), "y": np.array([6.0])},
                   rollover=2))
out.append(attempt(src, {"x": [1.0], "y": [2.0]}))
out.append(attempt(src, {"index": [3.0], "x": [1.0, 2.0], "y": [3.0]}))
out.append(attempt(src, {"index": [3.0], "x": np.zeros((1, 2)), "y": [3.0]}))
if sys.argv[2] == "pandas":
    import pandas as pd
    out.append(attempt(src, pd.DataFrame({"x": [7.0], "y": [8.0]})))
    out.append(attempt(src, pd.Series({"index": 4.0, "x": 9.0, "y": 10.0})))
    out.append(attempt(src, {"index": pd.Series([5.0]), "x": pd.Index([1.0]), "y": [2.0]}))
print(json.dumps(out + [len(sent)] + sent, default=str))
"""
)


def _run_patched(tmp_path: Path, script: str, patch_names: list[str], *args: str):
    """Run `script` with the named patches applied to the installed Bokeh ([] = plain)."""
    chosen = [patch for patch in PATCHES if patch.name in patch_names]
    assert len(chosen) == len(patch_names)
    texts = patched_texts(chosen, lambda target: upstream_path(target).read_text())  # build's order
    patched = {
        target.removesuffix(".py").removesuffix("/__init__").replace("/", "."): (
            str(upstream_path(target)),
            text,
        )
        for target, text in texts.items()
    }
    spec = tmp_path / f"patched-{len(patch_names)}-{'-'.join(args)}.json"
    spec.write_text(json.dumps(patched))
    res = subprocess.run(
        [sys.executable, "-c", script, str(spec), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def test_lazy_bokeh_signatures_equal_bokehs_own(tmp_path):
    """The start-up patch of bokeh/model/model.py changes when signatures are built, not what
    they are: inspect.signature of every bokeh.models class is unchanged."""
    plain = _run_patched(tmp_path, SIGNATURES_SCRIPT, [])
    patched = _run_patched(tmp_path, SIGNATURES_SCRIPT, ["bokeh-lazy-signatures.patch"])
    assert patched["signature_type"] == "_CnnPlaygroundLazySignature"
    assert plain["signature_type"] == "Signature"
    assert len(plain["signatures"]) > 300
    assert patched["signatures"] == plain["signatures"]


def test_streaming_to_a_plot_needs_no_pandas_and_behaves_as_bokehs_own(tmp_path):
    """ColumnDataSource.stream (the training plots) does not touch the lazy pandas stand-in,
    and gives Bokeh's results and errors, for dicts, arrays and real pandas objects."""
    patch = ["bokeh-stream.patch", "bokeh-stream-event.patch"]
    with_stand_in = _run_patched(tmp_path, STREAM_SCRIPT, patch, "stand-in")
    assert _run_patched(tmp_path, STREAM_SCRIPT, [], "dicts") == with_stand_in
    assert with_stand_in[1] == {"index": [1.0, 2.0], "x": [3.0, 5.0], "y": [4.0, 6.0]}
    assert "missing: index" in with_stand_in[2]
    with_pandas = _run_patched(tmp_path, STREAM_SCRIPT, patch, "pandas")
    assert with_pandas == _run_patched(tmp_path, STREAM_SCRIPT, [], "pandas")
    assert with_pandas[:5] == with_stand_in[:5]
    assert with_stand_in[5] == 2 and len(with_stand_in) == 8  # two events sent, both encoded


# The first page's text through Panel: what the sanitizer and the tooltips make of it, and
# whether bleach or markdown-it had to be imported for it.
FIRST_PAGE_TEXT_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import random
import panel as pn
from bokeh.document import Document
from panel.util import HTML_SANITIZER

rng = random.Random(0)
pools = ["abcxyzABZ0129 ,.;:?!'\"()/-–—’éü_+=%*#[]<>&\\`~|\n\t\r\x00\x0c\u00a0",
         "12 .)a", "ab .:/wcom", "a 1.)-+=:", "Move layer 2 up: 'x' (3×3) — ok.",
         "?mode=learn&step=1&amp&lt&copy;&#65=%2C;"]
texts = ["Move layer 2 up", "?mode=learn&step=1", "1. a", "x.com",
         "a *b* c", "a\nb", "a <b>", "It's 5% (of 100)", ""]
for pool in pools:
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 24))) for _ in range(300)]
imported = {}
if sys.argv[2] == "plain":  # only the playground's kind of text: nothing is imported
    texts = texts[:2] + [t for t in texts if t.isalpha()]
cleaned = [HTML_SANITIZER.clean(t) for t in texts]
doc = Document()
tips = []
for t in texts if sys.argv[2] == "all" else [t for t in texts if "&" not in t]:
    model = pn.widgets.Select(name="s", options=["a"], description=t).get_root(doc)
    tip = model.description
    html = tip if tip is None or isinstance(tip, str) else tip.content.html
    tips.append("".join(html) if isinstance(html, list) else html)
print(json.dumps({"cleaned": cleaned, "tips": tips,
                  "bleach": "bleach" in sys.modules, "markdown_it": "markdown_it" in sys.modules}))
"""
)


def test_plain_text_needs_neither_bleach_nor_markdown_it_and_everything_is_as_before(tmp_path):
    """Panel's sanitizer and widget tooltips give exactly what bleach and markdown-it give, for
    plain text without importing either, and anything else still goes through them."""
    names = ["panel-plain-text-sanitizer.patch", "panel-plain-descriptions.patch"]
    plain = _run_patched(tmp_path, FIRST_PAGE_TEXT_SCRIPT, [], "all")
    patched = _run_patched(tmp_path, FIRST_PAGE_TEXT_SCRIPT, names, "all")
    assert patched["cleaned"] == plain["cleaned"]
    assert patched["tips"] == plain["tips"]
    assert "<ol>" in plain["tips"][2] and "<a href" in plain["tips"][3]  # Markdown is kept
    only_plain = _run_patched(tmp_path, FIRST_PAGE_TEXT_SCRIPT, names, "plain")
    assert not only_plain["bleach"] and not only_plain["markdown_it"]
    assert only_plain["tips"][0] == "<p>Move layer 2 up</p>\n"
    assert only_plain["cleaned"][1] == "?mode=learn&amp;step=1"


CLASS_DEFAULTS_SCRIPT = (
    PATCHED_IMPORT
    + r"""
import warnings
import bokeh.models
from bokeh.core.properties import Override
from bokeh.document import Document
from bokeh.model import Model
from bokeh.models import Button, Div
from bokeh.themes import Theme
warnings.simplefilter("ignore")

def shown(value):  # without addresses and the ids of models made for defaults
    return re.sub(" at 0x[0-9a-f]+|id='p[0-9]+'", "", repr(value))

out = {}
for name in sorted(dir(bokeh.models)):
    cls = getattr(bokeh.models, name)
    if isinstance(cls, type) and issubclass(cls, Model):
        for _ in range(2):  # the second call is the kept merge
            out[name] = shown(sorted(cls._overridden_defaults().items()))
        try:  # the second instance gets what was kept for the first
            values = [cls().properties_with_values(include_defaults=True) for _ in range(2)]
        except Exception as exc:  # abstract, or a property without a default
            out[name + " default"] = type(exc).__name__
            continue
        out[name + " default"] = [shown(v) for v in values]
        # a mutable default is each instance's own
        out[name + " shared"] = sorted(
            p for p, v in values[0].items()
            if isinstance(v, list | dict | set) and v is values[1][p]
        )

class Mine(Div):  # a subclass's override, after its parent's default was kept
    text = Override(default="mine")

themes = []
doc = Document()
plain, in_doc = Div(), Div()
doc.add_root(in_doc)
doc.theme = Theme(json={"attrs": {"Div": {"text": "themed", "margin": 7},
                                  "Button": {"label": "go"}}})
later = Div()
doc.add_root(later)
button = Button()
doc.add_root(button)
themes.append([plain.text, in_doc.text, later.text, in_doc.margin, button.label,
               Mine().text, Div().text, Button().label])
in_doc.text = "set"
doc.theme = None
themes.append([in_doc.text, later.text, later.margin, button.label, Div().margin])
out["themes"] = themes
print(json.dumps(out))
"""
)

CALLBACKS_SCRIPT = (
    PATCHED_IMPORT
    + r"""
from functools import partial
from bokeh.models import Div

def three(attr, old, new): pass
def two(attr, old): pass
def more(attr, old, new, extra=1): pass

class Owner:
    def method(self, doc, attr, old, new): pass
    def short(self, doc, attr): pass

owner = Owner()
callbacks = [
    three, two, three, more, partial(owner.method, "doc"), partial(owner.method, "d", "x"),
    partial(Owner().method, "doc"), partial(owner.short, "doc"), partial(owner.method, doc=1),
    partial(three, "a"), partial(three, new=1), lambda attr, old, new: None, lambda a: None,
    owner.method, Owner.method, partial(partial(Owner.method, owner), "doc"),
]
out = []
for _ in range(2):  # the second round meets the shapes that passed
    for callback in callbacks:
        try:
            Div().on_change("text", callback)
            out.append("ok")
        except ValueError as exc:
            out.append(re.sub(" at 0x[0-9a-f]+", "", str(exc)))
three.__defaults__ = (None,)  # now it takes two arguments: refused
for callback in (three, partial(three, "a")):
    try:
        Div().on_change("text", callback)
        out.append("ok")
    except ValueError as exc:
        out.append(str(exc))
print(json.dumps(out))
"""
)


def test_class_and_kept_defaults_equal_bokehs_own(tmp_path):
    """Each class's merged overridden defaults, every model's default values (for a first
    and a second instance), which mutable defaults instances share (none), a subclass's
    override and a document theme's values are the same with the defaults kept per class."""
    plain = _run_patched(tmp_path, CLASS_DEFAULTS_SCRIPT, [])
    patched = _run_patched(
        tmp_path,
        CLASS_DEFAULTS_SCRIPT,
        ["bokeh-class-defaults.patch", "bokeh-kept-defaults.patch"],
    )
    assert len(plain) > 900
    assert patched == plain
    assert not any(v for k, v in patched.items() if k.endswith(" shared"))
    assert patched["themes"] == [
        ["", "themed", "themed", 7, "go", "mine", "", "Button"],
        ["set", "", 5, "Button", 5],
    ]


def test_callbacks_are_checked_as_by_bokeh(tmp_path):
    """on_change accepts and refuses the same callbacks, with the same messages, when a
    shape that passed is not checked again; a function whose defaults changed is checked
    anew."""
    plain = _run_patched(tmp_path, CALLBACKS_SCRIPT, [])
    patched = _run_patched(tmp_path, CALLBACKS_SCRIPT, ["bokeh-checked-callbacks.patch"])
    assert patched == plain
    assert (
        plain[1]
        == "Callback functions must have signature func(attr, old, new), got func(attr, old)"
    )
    assert plain.count("ok") == 16 and len(plain) == 34
    assert plain[-2:] == [
        "Callback functions must have signature func(attr, old, new), got func(attr, old, new=None)",
        "Callback functions must have signature func(attr, old, new), got func(old, new=None)",
    ]


def _bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_first_document.py"
    spec = importlib.util.spec_from_file_location("bench_first_document", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalised(built: dict) -> str:
    """The first document's JSON and render items, each uuid replaced by its order."""
    ids: dict[str, str] = {}
    text = built["docs_json"] + built["render_items"]
    return re.sub(
        r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
        lambda m: ids.setdefault(m.group(0), f"id{len(ids)}"),
        text,
    )


def test_the_first_document_is_the_same_with_and_without_the_patches(tmp_path):
    """The app's first document as the page's worker builds it (benchmarks/
    bench_first_document.py), serialised by Bokeh: the same with every patch as with none."""
    bench = _bench()
    plain = bench.run(bench.patched_packages(None, tmp_path / "plain"), "json")
    patched = bench.run(bench.patched_packages(PATCH_DIR, tmp_path / "patched"), "json")
    assert len(plain["docs_json"]) > 100_000
    assert _normalised(patched) == _normalised(plain)
