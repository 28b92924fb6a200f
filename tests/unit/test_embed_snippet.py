"""The `<iframe>` snippet teachers copy is written twice, for two readers: in README.md and
on the example course page (site-src/embed-example.html). They must stay the same."""

from __future__ import annotations

import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _words(snippet: str) -> list[str]:
    return snippet.split()  # the same code, whatever the line breaks and indentation


def test_readme_and_embed_example_give_the_same_snippet():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [in_readme] = re.findall(
        r"```html\n(\s*<iframe class=\"cnn-playground\".*?)```", readme, re.DOTALL
    )
    page = (ROOT / "site-src" / "embed-example.html").read_text(encoding="utf-8")
    [in_page] = re.findall(r"<pre>(&lt;iframe.*?)</pre>", page, re.DOTALL)
    assert _words(html.unescape(in_page)) == _words(in_readme)
