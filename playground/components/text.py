"""Small helpers to show numbers and user-controlled text safely in HTML panes.

Everything that can come from a link, a layer name or an error message goes
through :func:`esc` before it is put into HTML: a link's content is shown as
text, never interpreted as markup.
"""

from __future__ import annotations

import html

__all__ = ["esc", "fmt_bytes", "fmt_int"]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def fmt_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n} B"
