"""HTML for the insight views: pictures with their text alternative, colour legends,
probability bars.

The pictures and words come from :mod:`playground.insight`; here they only
become markup. Every text is escaped with :func:`~playground.components.text.esc`.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.components.text import esc
from playground.insight.picture import Picture
from playground.insight.results import Bar

__all__ = [
    "INSIGHT_CSS",
    "bars_html",
    "legend_html",
    "message_html",
    "picture_html",
]

#: One stylesheet for every insight pane (each Panel pane has its own shadow root).
INSIGHT_CSS = """
h3 { font-size: 1em; margin: 10px 0 4px; }  /* under the section's h2 */
.cp-pic { image-rendering: pixelated; max-width: 100%; height: auto; display: block; }
.cp-note { color: #4d4d4d; font-size: 13px; margin: 4px 0; }
.cp-nothing { color: #5c4400; background: #fff8e1; border: 1px solid #e0c36b; border-radius: 4px;
  padding: 6px 10px; margin: 4px 0; }
.cp-legend { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #333;
  margin: 4px 0; flex-wrap: wrap; }
.cp-legend img { width: 160px; height: 12px; border: 1px solid #888; }
.cp-figures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.cp-figures figure { margin: 0; max-width: 100%; }
.cp-figures figcaption, figure figcaption { font-size: 12px; color: #333; margin-top: 2px; }
.cp-bars { display: grid; grid-template-columns: minmax(3em, max-content) minmax(60px, 1fr) 3.5em;
  gap: 2px 6px; align-items: center; font-size: 12px; max-width: 360px; }
.cp-bar-track { background: #eceff3; height: 12px; border-radius: 2px; overflow: hidden; }
.cp-bar-fill { display: block; height: 100%; background: #5f6b7a; }
.cp-bar-top .cp-bar-fill { background: #1f4e8c; }
.cp-bar-top { font-weight: 700; }
.cp-bar-value { text-align: right; font-variant-numeric: tabular-nums; }
.cp-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
"""


def picture_html(picture: Picture, cls: str = "", title: str | None = None) -> str:
    """``<img>`` of a picture at its own pixel size (shrunk to fit narrow screens), with
    its text alternative as ``alt``."""
    return (
        f'<img class="cp-pic {esc(cls)}" src="{picture.data_uri()}" alt="{esc(picture.alt)}" '
        f'width="{picture.width}" height="{picture.height}"'
        + (f' title="{esc(title)}"' if title else "")
        + ">"
    )


def legend_html(bar: Picture, low_words: str, high_words: str) -> str:
    """A colour bar between the words for its two ends, e.g. ``−0.41`` and ``+0.41``."""
    return (
        f'<div class="cp-legend"><span>{esc(low_words)}</span>'
        f'<img src="{bar.data_uri()}" alt="{esc(bar.alt)}"><span>{esc(high_words)}</span></div>'
    )


def message_html(text: str, cls: str = "") -> str:
    """A plain notice: "Train the model first: …", "This layer has no filters: …"."""
    return f'<div class="cp-nothing {esc(cls)}" role="status">{esc(text)}</div>'


def bars_html(bars: Sequence[Bar], label: str) -> str:
    """Probability bars, one row per class: name, bar, percentage (the top class in bold)."""
    rows = []
    for bar in bars:
        top = " cp-bar-top" if bar.top else ""
        width = f"{100 * bar.probability:.1f}"
        rows.append(
            f'<span class="cp-bar-name{top}">{esc(bar.name)}</span>'
            f'<span class="cp-bar-track{top}" aria-hidden="true">'
            f'<span class="cp-bar-fill" style="width:{width}%"></span></span>'
            f'<span class="cp-bar-value{top}">{esc(bar.text)}</span>'
        )
    return f'<div class="cp-bars" role="group" aria-label="{esc(label)}">{"".join(rows)}</div>'
