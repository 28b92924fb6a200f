"""Our changes to Panel's and Bokeh's Python code in the browser, kept as files in patches/.

A patch file names the file it changes (its path inside the wheel) and holds one or more
hunks: the exact upstream text, and the text that replaces it.

    # Why this patch exists (any number of comment lines).
    file: bokeh/models/sources.py

    @@ upstream
            import pandas as pd
    @@ ours
            Series, DataFrame, Index = _cnn_playground_pandas_types()
    @@ end

The text between two markers is taken exactly as it stands, blank lines included; the
line break before a marker is not part of it (so a blank line there means the text ends
with a line break). Each hunk's upstream text must occur
exactly once in the file (as the hunks before it left it), or the build stops and names
the patch: a new Panel or Bokeh changed the code, so the patch needs a look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sitebuild.report import StepError

PATCH_DIR = Path(__file__).with_name("patches")

UPSTREAM, OURS, END = "@@ upstream", "@@ ours", "@@ end"


@dataclass(frozen=True)
class Patch:
    name: str  # its file name in patches/
    target: str  # the file it changes, as a path inside the wheel
    hunks: tuple[tuple[str, str], ...]  # (upstream text, our text)

    def apply(self, text: str) -> str:
        for number, (upstream, ours) in enumerate(self.hunks, 1):
            found = text.count(upstream)
            if found != 1:
                first_line = upstream.strip().splitlines()[0]
                raise StepError(
                    "patch",
                    f"{self.name}: hunk {number} ({first_line!r}) occurs {found} times in "
                    f"{self.target}; it must occur exactly once",
                    f"the upstream code changed: update sitebuild/patches/{self.name} to the "
                    "new code, or delete it if the new version no longer needs it",
                )
            text = text.replace(upstream, ours)
        return text


def parse(name: str, text: str) -> Patch:
    """Read a patch file's text (format in the module docstring)."""

    def fail(number: int, why: str) -> StepError:
        return StepError("patch", f"{name} line {number}: {why}", "fix the patch file")

    target = None
    hunks: list[tuple[str, str]] = []
    upstream: list[str] | None = None
    ours: list[str] | None = None
    for number, line in enumerate(text.split("\n"), 1):
        if ours is not None:  # inside our text
            if line == END:
                hunks.append(("\n".join(upstream), "\n".join(ours)))
                upstream = ours = None
            else:
                ours.append(line)
        elif upstream is not None:  # inside the upstream text
            if line == OURS:
                ours = []
            elif line == END:
                raise fail(number, f"{END} before {OURS}")
            else:
                upstream.append(line)
        elif line == UPSTREAM:
            upstream = []
        elif line.startswith("file:"):
            target = line[len("file:") :].strip()
        elif line.strip() and not line.startswith("#"):
            raise fail(number, f"expected a comment, 'file: PATH' or {UPSTREAM!r}")
    if upstream is not None:
        raise fail(number, f"the last hunk has no {END}")
    if not target or not hunks:
        raise StepError("patch", f"{name} names no 'file:' or has no hunk", "fix the patch file")
    return Patch(name, target, tuple(hunks))


def all_patches(directory: Path = PATCH_DIR) -> list[Patch]:
    """The patch files of `directory`, by name: the order they are applied in."""
    return [parse(p.name, p.read_text()) for p in sorted(directory.glob("*.patch"))]


def patched_texts(patches: Iterable[Patch], read: Callable[[str], str]) -> dict[str, str]:
    """Each target file's text with its patches applied: several patches of one file in the
    order given, each to the text the ones before it left. ``read(target)`` gives the
    upstream text of a file."""
    texts: dict[str, str] = {}
    for patch in patches:
        text = texts[patch.target] if patch.target in texts else read(patch.target)
        texts[patch.target] = patch.apply(text)
    return texts


def patches_for(package: str) -> list[Patch]:
    """The patches of one wheel: those whose file lies in its top-level package."""
    return [p for p in all_patches() if p.target.startswith(package + "/")]
