"""A small Python syntax highlighter on the standard library's :mod:`tokenize`.

The browser runtime has no Pygments; reading pycnn's code only needs
keywords, names being defined, strings, numbers, comments and builtins told
apart. :func:`tokens` splits a source into ``(kind, text)`` pieces whose texts
join back to the source exactly; :func:`highlight_html` wraps them in
``<span class="tok-…">`` for a ``<pre>``; :data:`CODE_CSS` colours them with a
contrast of at least 4.5:1 on its white background.
"""

from __future__ import annotations

import builtins
import functools
import html
import io
import keyword
import tokenize

__all__ = ["CODE_CSS", "TOKEN_COLOURS", "highlight_html", "tokens"]

#: token kind -> text colour on the white code background (each ≥ 4.5:1, tested)
TOKEN_COLOURS = {
    "kw": "#8a2b9c",  # keywords: def, return, for, if, ...
    "def": "#1f5fae",  # the name a def/class introduces
    "bi": "#1f6f5c",  # builtins: range, len, ...
    "str": "#a3400b",  # strings, f-strings, docstrings
    "num": "#22609b",  # numbers
    "com": "#5f6368",  # comments
    "deco": "#7a5200",  # decorators
    "op": "#202124",  # operators and punctuation
}

CODE_CSS = "\n".join(
    [".tok-code { background: #ffffff; color: #202124; }"]
    + [f".tok-{kind} {{ color: {colour}; }}" for kind, colour in TOKEN_COLOURS.items()]
    + [".tok-com, .tok-str { font-style: italic; }", ".tok-kw, .tok-def { font-weight: 600; }"]
)

_STRING_TYPES = {tokenize.STRING} | {
    getattr(tokenize, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, name)
}
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def _kind(tok: tokenize.TokenInfo, previous: tokenize.TokenInfo | None, decorator: bool) -> str:
    """The highlight class of one token (``decorator``: inside ``@name.attr`` at a line start)."""
    if tok.type in _STRING_TYPES:
        return "str"
    if tok.type == tokenize.NUMBER:
        return "num"
    if tok.type == tokenize.COMMENT:
        return "com"
    if decorator and (tok.type == tokenize.NAME or tok.string in ("@", ".")):
        return "deco"
    if tok.type == tokenize.OP:
        return "op"
    if tok.type == tokenize.NAME:
        if previous is not None and previous.string in ("def", "class"):
            return "def"
        if keyword.iskeyword(tok.string):
            return "kw"
        if tok.string in _BUILTINS:
            return "bi"
    return ""


_LAYOUT = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def tokens(source: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pieces of ``source``; kind ``""`` is plain text.

    ``"".join(text for _, text in tokens(s)) == s`` for any string: the texts
    are cut from ``source`` by token positions, and source that does not
    tokenize comes back as plain text from where tokenizing stopped.
    """
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(row: int, col: int) -> int:
        return line_starts[min(row - 1, len(line_starts) - 1)] + col

    out: list[tuple[str, str]] = []
    pos = 0
    previous = None
    decorator = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _LAYOUT:
                decorator = False
                continue
            start, end = offset(*tok.start), offset(*tok.end)
            if tok.string == "@" and not source[line_starts[tok.start[0] - 1] : start].strip():
                decorator = True  # "@" first on its line: a decorator, not matrix product
            elif tok.string == "(":
                decorator = False
            if end > pos:
                if start > pos:
                    out.append(("", source[pos:start]))
                out.append((_kind(tok, previous, decorator), source[max(start, pos) : end]))
                pos = end
            previous = tok
    except (tokenize.TokenError, SyntaxError):
        pass
    if pos < len(source):
        out.append(("", source[pos:]))
    return out


@functools.lru_cache(maxsize=256)  # the same functions' sources are shown again and again
def highlight_html(source: str) -> str:
    """``source`` as escaped HTML with ``<span class="tok-KIND">`` around highlighted pieces.

    Put it in ``<pre class="tok-code">`` and add :data:`CODE_CSS` to the page.
    """
    parts = []
    for kind, text in tokens(source):
        escaped = html.escape(text, quote=False)
        parts.append(f'<span class="tok-{kind}">{escaped}</span>' if kind else escaped)
    return "".join(parts)
