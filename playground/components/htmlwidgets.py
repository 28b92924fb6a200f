"""Two small custom elements of the insight views, each a Panel ``ReactiveHTML``.

* :class:`PickableHTML` — HTML whose ``<button data-pick>`` elements report clicks
  (confusion-matrix cells, the strip of test images);
* :class:`DrawingCanvas` — a ``<canvas>`` that records strokes with pointer events
  (mouse, pen and touch alike; ``touch-action: none`` keeps a tablet from
  scrolling while a finger draws) and sends them to Python as compact lists,
  every 150 ms while drawing and at each pen-up; ``ink`` and ``paper`` are the
  colours it draws them in.

Imported when the app starts, before the first document is made, although the
views that use them are built later: Panel defines a Bokeh data model per
``ReactiveHTML`` class when the class is created, and the page learns such
types only from the first document it receives (``Document.to_json``'s
``defs``); a class created later is unknown to the pyodide-worker page. This
module therefore imports nothing heavy.
"""

from __future__ import annotations

import param
from panel.reactive import ReactiveHTML

__all__ = ["CANVAS_CSS", "CANVAS_SIZE", "DrawingCanvas", "PickableHTML"]

CANVAS_SIZE = 280  # canvas pixels (square); on a narrow screen it is shown smaller

CANVAS_CSS = """
.cp-canvas-wrap { display: inline-flex; flex-direction: column; gap: 6px; max-width: 100%; }
canvas { width: 280px; max-width: 100%; height: auto; aspect-ratio: 1 / 1; background: #fff;
  border: 2px solid #5f6b7a; border-radius: 4px; touch-action: none; cursor: crosshair;
  display: block; }
.cp-canvas-buttons { display: flex; gap: 6px; }
.cp-canvas-buttons button { font: inherit; font-size: 14px; padding: 6px 14px; min-height: 40px;
  border: 1px solid #5f6b7a; border-radius: 4px; background: #fff; color: #1a1a1a; cursor: pointer; }
.cp-canvas-buttons button:focus-visible { outline: 3px solid #1f4e8c; outline-offset: 1px; }
"""


class DrawingCanvas(ReactiveHTML):
    """A square canvas; ``strokes`` holds what was drawn (and can be set from Python)."""

    strokes = param.List(
        default=[], doc="One flat [x0, y0, x1, y1, ...] list per stroke, canvas pixels, y down"
    )
    size = param.Integer(default=CANVAS_SIZE, doc="Canvas pixels per side")
    ink = param.String(default="#111111", doc="CSS colour of the strokes")
    paper = param.String(default="#ffffff", doc="CSS colour of the background")

    _template = """
<div class="cp-canvas-wrap">
  <canvas id="canvas" width="${size}" height="${size}" role="img"
    aria-label="Drawing area: draw with the mouse, a pen or a finger"></canvas>
  <div class="cp-canvas-buttons">
    <button id="undo" type="button" class="cp-draw-undo">Undo stroke</button>
    <button id="clear" type="button" class="cp-draw-clear">Clear</button>
  </div>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
            const ctx = canvas.getContext('2d')
            state.strokes = data.strokes.map((s) => s.slice())
            state.current = null
            state.sent = 0
            state.paint = () => {
              ctx.fillStyle = data.paper
              ctx.fillRect(0, 0, canvas.width, canvas.height)
              ctx.lineWidth = canvas.width / 18
              ctx.lineCap = 'round'
              ctx.lineJoin = 'round'
              ctx.strokeStyle = data.ink
              ctx.fillStyle = data.ink
              for (const s of state.strokes) {
                if (s.length === 2) {
                  ctx.beginPath()
                  ctx.arc(s[0], s[1], ctx.lineWidth / 2, 0, 2 * Math.PI)
                  ctx.fill()
                  continue
                }
                ctx.beginPath()
                ctx.moveTo(s[0], s[1])
                for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1])
                ctx.stroke()
              }
            }
            const send = () => {
              data.strokes = state.strokes.map((s) => s.slice())
              state.sent = performance.now()
            }
            const at = (e) => {
              const box = canvas.getBoundingClientRect()
              const x = (e.clientX - box.left) * canvas.width / box.width
              const y = (e.clientY - box.top) * canvas.height / box.height
              return [Math.round(x * 10) / 10, Math.round(y * 10) / 10]
            }
            canvas.addEventListener('pointerdown', (e) => {
              if (e.pointerType === 'mouse' && e.button !== 0) return
              e.preventDefault()
              try { canvas.setPointerCapture(e.pointerId) } catch (err) { /* synthetic event */ }
              state.current = at(e)
              state.strokes.push(state.current)
              state.paint()
            })
            canvas.addEventListener('pointermove', (e) => {
              if (state.current === null) return
              e.preventDefault()
              const moves = e.getCoalescedEvents ? e.getCoalescedEvents() : []
              for (const m of (moves.length ? moves : [e])) state.current.push(...at(m))
              state.paint()
              if (performance.now() - state.sent > 150) send()
            })
            const end = () => {
              if (state.current === null) return
              state.current = null
              send()
            }
            canvas.addEventListener('pointerup', end)
            canvas.addEventListener('pointercancel', end)
            undo.addEventListener('click', () => { state.strokes.pop(); state.paint(); send() })
            clear.addEventListener('click', () => { state.strokes = []; state.paint(); send() })
            state.paint()
        """,
        # Set from Python (an example drawing): show it, unless a stroke is under way.
        "strokes": """
            if (state.current === null || state.current === undefined) {
              state.strokes = data.strokes.map((s) => s.slice())
              state.paint()
            }
        """,
        "ink": "state.paint()",
        "paper": "state.paint()",
    }

    @property
    def drawing(self) -> dict:
        """The JSON form :func:`playground.insight.draw.Drawing.from_json` reads."""
        return {"width": self.size, "height": self.size, "strokes": self.strokes}

    def put(self, drawing) -> None:
        """Show a :class:`~playground.insight.draw.Drawing` (scaled to this canvas)."""
        scale = self.size / max(drawing.width, drawing.height)
        self.strokes = [
            [round(float(v) * scale, 1) for v in stroke.ravel()] for stroke in drawing.strokes
        ]


class PickableHTML(ReactiveHTML):
    """HTML in which every ``<button data-pick="…">`` reports its clicks to Python.

    A click (or Enter / Space on the focused button) sets ``pick`` to
    ``[value, n]`` (n counts clicks, so the same button twice is two events),
    and marks that button ``aria-pressed="true"`` in the page without
    re-rendering, so keyboard focus stays where it was.

    ``content`` holds the HTML as a one-item list: Panel passes lists to the
    page as they are, while it would sanitise a string parameter (dropping
    ``<button>`` and ``<img>``). Whoever fills it escapes every text in it.
    """

    content = param.List(default=[], doc="[html]: the markup to show")
    pick = param.List(default=[], doc="[value, n]: the last button clicked")

    _template = '<div id="box" class="cp-pick-box"></div>'
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
            box.innerHTML = data.content.join('')
            box.addEventListener('click', (event) => {
              const button = event.target.closest('button[data-pick]')
              if (!button) return
              for (const other of box.querySelectorAll('button[aria-pressed]'))
                other.setAttribute('aria-pressed', 'false')
              button.setAttribute('aria-pressed', 'true')
              data.pick = [button.dataset.pick, (data.pick.length ? data.pick[1] : 0) + 1]
            })
        """,
        "content": "box.innerHTML = data.content.join('')",
    }

    def show(self, html: str) -> None:
        self.content = [html]

    @property
    def picked(self) -> str | None:
        return str(self.pick[0]) if self.pick else None
