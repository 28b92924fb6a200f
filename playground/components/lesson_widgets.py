"""The lesson's three interactive pictures, drawn by small scripts in the page.

* :class:`PixelGrid` — an image as a grid of its values: hover, tap or move with
  the arrow keys to read a pixel; a click, Enter or Space picks it (``picked``). An
  image too wide for finger-sized cells on a phone is drawn whole, with a movable
  close-up of finger-sized cells.
* :class:`SlidingFilter` — one filter sliding over an image, position by
  position, filling in its output map (Play / Step / Start again; no motion
  unless asked for when the browser prefers reduced motion).
* :class:`MapPicker` — a row of pictures (feature maps), each a button (``picked``).
* :class:`StepStrip` — the step on screen in one line, kept in view in the playground's
  column where the lesson sits above it, with a button back to the full card.

Python sends plain numbers and colours (lists, never HTML); the scripts build
the elements with ``textContent``, so nothing from the model is parsed as markup.
While the sample image is on its way, each picture is already laid out at its size:
it gets a blank image's numbers and a ``waiting`` text, drawn over it hidden
(WAITING_CSS), so the page below does not move.
A pick comes back as ``"index,count"``: the count changes every time, so picking
the same thing twice is reported twice.
"""

from __future__ import annotations

import param
from panel.reactive import ReactiveHTML

__all__ = ["WAITING_CSS", "MapPicker", "PixelGrid", "SlidingFilter", "StepStrip", "parse_pick"]

_BUTTON_CSS = """
button { min-height: 44px; min-width: 44px; padding: 6px 12px; font: inherit; border-radius: 6px;
         border: 1px solid #5b6770; background: #fff; color: #1f2933; cursor: pointer; }
button:focus-visible, [tabindex]:focus-visible { outline: 3px solid #1d5fbf; outline-offset: 2px; }
"""

#: A view laid out while its picture is on its way (``cp-waits``): while it waits
#: (``cp-waiting``) its content keeps its room but is not shown, focused or read, and the
#: status line ``cp-waiting-note`` lies over it.
WAITING_CSS = """
.cp-waits { position: relative; }
.cp-waiting > :not(.cp-waiting-note) { visibility: hidden; }
.cp-waiting-note { position: absolute; inset: 0; margin: 0; padding: 8px; box-sizing: border-box;
                   display: flex; align-items: center; justify-content: center; text-align: center;
                   background: #e4e7eb; color: #1f2933; border-radius: 4px; }
.cp-waiting-note:empty { display: none; }
"""


def parse_pick(value: str) -> tuple[int, ...] | None:
    """``"3,5,7"`` → ``(3, 5)`` (the last number only makes each pick a change)."""
    try:
        numbers = tuple(int(v) for v in value.split(","))
    except ValueError:
        return None
    return numbers[:-1] if len(numbers) >= 2 else None


class PixelGrid(ReactiveHTML):
    """An image as a grid of its values (0 black … 1 white).

    With ``close_up`` = 0 every pixel is a cell with its value written in it. An image
    too wide for that on a phone gets ``close_up`` cells across instead: the whole
    picture, where a tap or a click centres a close-up of ``close_up`` × ``close_up``
    pixels (each cell finger-sized, its value written in it) on the pixel under the
    finger; four buttons move the close-up and the arrow keys move through the whole
    image, the close-up following.
    """

    values = param.List(default=[], doc="rows of pixel values in [0, 1]")
    label = param.String(default="Sample image", doc="the grid's accessible name")
    close_up = param.Integer(default=0, bounds=(0, None), doc="cells across; 0: all")
    picked = param.String(default="", doc="From the page: 'row,column,count' (0-based)")
    waiting = param.String(default="", doc="what it waits for (its values are a stand-in's)")

    _template = """
<div id="pixels" class="cp-pixels cp-waits">
  <div id="overview" class="cp-pixel-overview">
    <canvas id="picture" class="cp-pixel-picture" role="img"></canvas>
    <div id="frame" class="cp-pixel-frame"></div>
  </div>
  <div class="cp-pixel-reader">
    <div id="grid" class="cp-pixel-grid" role="grid"></div>
    <div id="moves" class="cp-pixel-moves" role="group" aria-label="Move the close-up">
      <button id="up" type="button" aria-label="Move the close-up up">↑</button>
      <button id="down" type="button" aria-label="Move the close-up down">↓</button>
      <button id="left" type="button" aria-label="Move the close-up left">←</button>
      <button id="right" type="button" aria-label="Move the close-up right">→</button>
      <span id="where" class="cp-pixel-where" aria-live="polite"></span>
    </div>
    <p id="readout" class="cp-pixel-readout">Hover, tap or use the arrow keys to read a pixel.</p>
  </div>
  <p id="note" class="cp-waiting-note" role="status"></p>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": "self.build()",
        # Python sends these together, but the page sees them one by one: build once.
        **{
            name: "clearTimeout(state.pending); state.pending = setTimeout(() => self.build(), 0);"
            for name in ("values", "close_up", "label", "waiting")
        },
        "remove": "clearTimeout(state.pending);",
        "build": """
const values = data.values || [];
const h = values.length, w = h ? values[0].length : 0, n = data.close_up;
const rows = n ? Math.min(n, h) : h, cols = n ? Math.min(n, w) : w;
const clamp = (v, low, high) => Math.max(low, Math.min(high, v));
const say = (r, c) => `Row ${r + 1}, column ${c + 1}: ${values[r][c].toFixed(2)}`;
pixels.classList.toggle("cp-pixels-close", n > 0);
pixels.classList.toggle("cp-waiting", !!data.waiting);
note.textContent = data.waiting;
pixels.style.setProperty("--cols", cols);
grid.textContent = "";
grid.setAttribute("aria-label", n
  ? `${data.label}, a close-up of ${rows}×${cols}; the arrow keys move through the whole image`
  : data.label);
picture.setAttribute("aria-label", `${data.label}: the whole picture; the orange frame marks the close-up`);
if (state.values !== values || state.n !== n) {  // another image: start in its middle
  state.values = values;
  state.n = n;
  state.active = n ? [Math.floor(h / 2), Math.floor(w / 2)] : [0, 0];
  state.picked = null;
  state.top = clamp(state.active[0] - Math.floor(rows / 2), 0, h - rows);
  state.left = clamp(state.active[1] - Math.floor(cols / 2), 0, w - cols);
}
// The close-up's cells stay; paint() gives each the pixel it shows now.
state.cells = [];
for (let i = 0; i < rows; i++) {
  const row = document.createElement("div");
  row.setAttribute("role", "row");
  row.className = "cp-pixel-row";
  for (let j = 0; j < cols; j++) {
    const cell = document.createElement("div");
    cell.setAttribute("role", "gridcell");
    cell.className = "cp-pixel";
    cell.addEventListener("mouseenter", () => {
      readout.textContent = say(+cell.dataset.row, +cell.dataset.col);
    });
    cell.addEventListener("click", () => {
      const r = +cell.dataset.row, c = +cell.dataset.col;
      state.focus(r, c);
      state.pick(r, c);
    });
    state.cells.push(cell);
    row.appendChild(cell);
  }
  grid.appendChild(row);
}
const paint = () => {
  const [ar, ac] = state.active;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    const r = state.top + i, c = state.left + j, cell = state.cells[i * cols + j];
    const v = clamp(values[r][c], 0, 1), g = Math.round(v * 255);
    cell.dataset.row = r;
    cell.dataset.col = c;
    cell.textContent = values[r][c].toFixed(2);
    cell.setAttribute("aria-label", say(r, c));
    cell.style.background = `rgb(${g},${g},${g})`;
    cell.style.color = v < 0.5 ? "#fff" : "#000";
    cell.tabIndex = r === ar && c === ac ? 0 : -1;
    const picked = !!state.picked && state.picked[0] === r && state.picked[1] === c;
    cell.classList.toggle("cp-picked", picked);
    cell.setAttribute("aria-selected", picked ? "true" : "false");
  }
  if (n) {
    frame.style.top = `${(100 * state.top) / h}%`;
    frame.style.left = `${(100 * state.left) / w}%`;
    frame.style.height = `${(100 * rows) / h}%`;
    frame.style.width = `${(100 * cols) / w}%`;
  }
};
const tell = () => {
  where.textContent = `Close-up: rows ${state.top + 1}–${state.top + rows}, ` +
    `columns ${state.left + 1}–${state.left + cols} of ${h}×${w}`;
};
const cellOf = (r, c) => state.cells[(r - state.top) * cols + (c - state.left)];
// Make (r, c) the active pixel; the close-up follows it (centred on it if asked).
state.show = (r, c, centre) => {
  r = clamp(r, 0, h - 1); c = clamp(c, 0, w - 1);
  if (centre) {
    state.top = clamp(r - Math.floor(rows / 2), 0, h - rows);
    state.left = clamp(c - Math.floor(cols / 2), 0, w - cols);
  } else {
    state.top = clamp(state.top, r - rows + 1, r);
    state.left = clamp(state.left, c - cols + 1, c);
  }
  state.active = [r, c];
  paint();
  readout.textContent = say(r, c);
  return cellOf(r, c);
};
state.focus = (r, c) => state.show(r, c, false).focus();
state.pick = (r, c) => {
  state.count = (state.count || 0) + 1;
  state.picked = [r, c];
  paint();
  readout.textContent = say(r, c) + " (picked)";
  data.picked = `${r},${c},${state.count}`;
};
// Move the close-up by half its size, the active pixel with it.
const shift = (dr, dc) => {
  const step = Math.max(1, Math.floor(rows / 2));
  state.top = clamp(state.top + dr * step, 0, h - rows);
  state.left = clamp(state.left + dc * step, 0, w - cols);
  const [r, c] = state.active;
  state.show(clamp(r + dr * step, state.top, state.top + rows - 1),
             clamp(c + dc * step, state.left, state.left + cols - 1), false);
  tell();
};
up.onclick = () => shift(-1, 0);
down.onclick = () => shift(1, 0);
left.onclick = () => shift(0, -1);
right.onclick = () => shift(0, 1);
if (n) {
  picture.width = w;
  picture.height = h;
  const context = picture.getContext("2d"), image = context.createImageData(w, h);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    const g = Math.round(clamp(values[r][c], 0, 1) * 255), k = 4 * (r * w + c);
    image.data[k] = image.data[k + 1] = image.data[k + 2] = g;
    image.data[k + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  const under = (event) => {
    const box = picture.getBoundingClientRect();
    return [clamp(Math.floor(((event.clientY - box.top) / box.height) * h), 0, h - 1),
            clamp(Math.floor(((event.clientX - box.left) / box.width) * w), 0, w - 1)];
  };
  // A click, not a touch's start: a finger that scrolls the page moves nothing.
  picture.onclick = (event) => { state.show(...under(event), true); tell(); };
  picture.onpointermove = (event) => {
    if (event.pointerType === "mouse") readout.textContent = say(...under(event));
  };
}
if (h) { paint(); if (n) tell(); }
grid.onkeydown = (event) => {
  const [r, c] = state.active;
  const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
                 PageUp: [-rows, 0], PageDown: [rows, 0]};
  if (event.key in moves) state.focus(r + moves[event.key][0], c + moves[event.key][1]);
  else if (event.key === "Home") state.focus(r, 0);
  else if (event.key === "End") state.focus(r, w - 1);
  else if (event.key === "Enter" || event.key === " ") state.pick(r, c);
  else return;
  event.preventDefault();
};
""",
    }
    _stylesheets = [  # noqa: RUF012
        _BUTTON_CSS
        + """
.cp-pixels-close { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.cp-pixels:not(.cp-pixels-close) .cp-pixel-overview,
.cp-pixels:not(.cp-pixels-close) .cp-pixel-moves { display: none; }
.cp-pixel-overview { position: relative; flex: 1 1 200px; max-width: 336px; line-height: 0; }
.cp-pixel-picture { width: 100%; image-rendering: pixelated; border: 1px solid #5b6770;
                    box-sizing: border-box; cursor: crosshair; touch-action: manipulation; }
.cp-pixel-frame { position: absolute; box-sizing: border-box; pointer-events: none;
                  border: 3px solid #e66101; box-shadow: 0 0 0 1px #fff, inset 0 0 0 1px #fff; }
.cp-pixel-reader { flex: 1 1 280px; min-width: 0; }
.cp-pixel-grid { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr));
                 width: min(100%, calc(var(--cols) * 48px)); border: 1px solid #5b6770;
                 box-sizing: border-box; touch-action: manipulation; }
.cp-pixel-row { display: contents; }
.cp-pixel { aspect-ratio: 1; display: flex; align-items: center; justify-content: center;
            font-size: 11px; font-family: ui-monospace, Menlo, Consolas, monospace;
            cursor: pointer; user-select: none; }
.cp-pixel:hover { outline: 2px solid #e66101; outline-offset: -2px; }
.cp-pixel.cp-picked { outline: 3px solid #e66101; outline-offset: -3px; }
.cp-pixel-moves { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: 6px; }
.cp-pixel-where { font-size: 13px; color: #3e4c59; }
.cp-pixel-readout { min-height: 1.4em; margin: 6px 0 0; font-variant-numeric: tabular-nums; }
"""
        + WAITING_CSS
    ]


class SlidingFilter(ReactiveHTML):
    """One filter sliding over an image and filling its output map (see live.Slide)."""

    image = param.List(default=[], doc="rows of the input's first channel, in [0, 1]")
    kernel = param.List(default=[], doc="k rows of k weights")
    kernel_colours = param.List(default=[], doc="a colour per weight ('#rrggbb'), row by row")
    output = param.List(default=[], doc="rows of the output map (sums before the activation)")
    output_colours = param.List(default=[], doc="a colour per output value, row by row")
    bias = param.Number(default=0.0)
    stride = param.Integer(default=1)
    pad = param.List(default=[0, 0], doc="zeros added above and on the left")
    channels = param.Integer(default=1)
    waiting = param.String(default="", doc="what it waits for (its numbers are a stand-in's)")

    _template = """
<div id="slide" class="cp-slide cp-waits">
  <div class="cp-slide-pictures">
    <figure><div id="input" class="cp-slide-grid" role="img"></div>
      <figcaption>Input (the orange frame is the filter)</figcaption></figure>
    <figure><div id="weights" class="cp-slide-grid cp-slide-kernel" role="img"></div>
      <figcaption>Filter weights</figcaption></figure>
    <figure><div id="output" class="cp-slide-grid" role="img"></div>
      <figcaption>Output map</figcaption></figure>
  </div>
  <div class="cp-slide-controls">
    <button id="play" type="button">Play</button>
    <button id="step" type="button">Step</button>
    <button id="restart" type="button">Start again</button>
  </div>
  <p id="sum" class="cp-slide-sum" aria-live="polite"></p>
  <p id="note" class="cp-waiting-note" role="status"></p>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
play.onclick = () => (state.timer ? self.pause() : self.play());
step.onclick = () => { self.pause(); self.advance(); };
restart.onclick = () => { self.pause(); state.p = -1; self.advance(); };
self.build();
self.wait();
""",
        # Python sends the picture's lists together, but the page sees them one by one:
        # rebuild once, after the last.
        **{
            name: "clearTimeout(state.pending); "
            "state.pending = setTimeout(() => { self.pause(); self.build(); self.wait(); }, 0);"
            for name in (
                "image",
                "kernel",
                "kernel_colours",
                "output",
                "output_colours",
                "pad",
                "waiting",
            )
        },
        # Hidden under the note while it waits; it plays once, when first shown (unless the
        # browser prefers reduced motion), and after that only when asked.
        "wait": """
slide.classList.toggle("cp-waiting", !!data.waiting);
note.textContent = data.waiting;
if (data.waiting) self.pause();
else if (state.shown === undefined && !window.matchMedia("(prefers-reduced-motion: reduce)").matches) self.play();
if (!data.waiting) state.shown = true;
""",
        "remove": "self.pause(); clearTimeout(state.pending);",
        "build": """
const img = data.image || [], out = data.output || [], ker = data.kernel || [];
const h = img.length, w = h ? img[0].length : 0, k = ker.length;
const ho = out.length, wo = ho ? out[0].length : 0, s = data.stride;
const [pt, pl] = data.pad;
state.top = -pt; state.left = -pl;
state.rows = Math.max(h + pt, (ho - 1) * s + k);
state.cols = Math.max(w + pl, (wo - 1) * s + k);
// Black or white text, whichever reads better on a '#rrggbb' colour (WCAG luminance; the
// two contrasts are equal at 0.179, where both are 4.58:1).
state.ink = (hex) => {
  const lin = (i) => { const v = parseInt(hex.slice(i, i + 2), 16) / 255;
                       return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5) > 0.179 ? "#000" : "#fff";
};
const cell = (text, colour, extra) => {
  const d = document.createElement("div");
  d.className = "cp-slide-cell" + (extra || "");
  if (colour) d.style.background = colour;
  if (colour && text !== null && colour.startsWith("#")) d.style.color = state.ink(colour);
  if (text !== null) d.textContent = text;
  return d;
};
input.textContent = "";
input.style.setProperty("--cols", state.cols);
state.inputCells = [];
for (let r = 0; r < state.rows; r++) {
  const line = [];
  for (let c = 0; c < state.cols; c++) {
    const y = r + state.top, x = c + state.left;
    const inside = y >= 0 && y < h && x >= 0 && x < w;
    const v = inside ? Math.max(0, Math.min(1, img[y][x])) : 0;
    const g = Math.round(v * 255);
    const d = cell(null, inside ? `rgb(${g},${g},${g})` : "", inside ? "" : " cp-slide-pad");
    line.push(d);
    input.appendChild(d);
  }
  state.inputCells.push(line);
}
weights.textContent = "";
weights.style.setProperty("--cols", k);
for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) {
  const colour = data.kernel_colours[r * k + c];
  weights.appendChild(cell(ker[r][c].toFixed(2), colour, ""));
}
output.textContent = "";
output.style.setProperty("--cols", wo);
state.outputCells = [];
for (let r = 0; r < ho; r++) for (let c = 0; c < wo; c++) {
  const d = cell(wo <= 10 ? out[r][c].toFixed(1) : null, "", " cp-slide-empty");
  d.dataset.colour = data.output_colours[r * wo + c];
  state.outputCells.push(d);
  output.appendChild(d);
}
input.setAttribute("aria-label", `Input image, ${h}×${w} pixels` + (pt || pl ? ", with a border of zeros ('same' padding)" : ""));
weights.setAttribute("aria-label", `Filter of ${k}×${k} weights: ` + ker.map((row) => row.map((v) => v.toFixed(2)).join(", ")).join("; "));
output.setAttribute("aria-label", `Output map, ${ho}×${wo} values`);
state.p = -1;
self.advance();
""",
        "advance": """
const out = data.output || [], wo = out.length ? out[0].length : 0, n = out.length * wo;
if (!n) return;
state.p = state.p + 1 >= n ? 0 : state.p + 1;
if (state.p === 0) for (const d of state.outputCells) { d.classList.add("cp-slide-empty"); d.style.background = ""; d.style.color = ""; }
const r = Math.floor(state.p / wo), c = state.p % wo, k = data.kernel.length, s = data.stride;
for (const line of state.inputCells) for (const d of line) d.classList.remove("cp-slide-on");
for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
  const line = state.inputCells[r * s + i];
  if (line && line[c * s + j]) line[c * s + j].classList.add("cp-slide-on");
}
for (const d of state.outputCells) d.classList.remove("cp-slide-now");
const d = state.outputCells[state.p];
d.classList.remove("cp-slide-empty");
d.classList.add("cp-slide-now");
d.style.background = d.dataset.colour;
d.style.color = state.ink(d.dataset.colour);
const inputs = data.channels > 1 ? ` in each of the ${data.channels} channels` : "";
sum.textContent = `Output row ${r + 1}, column ${c + 1}: the ${k * k} pixels under the filter${inputs}, ` +
  `each times its weight, added up, plus the bias ${data.bias.toFixed(2)}, give ${out[r][c].toFixed(2)}.`;
if (state.timer && state.p === n - 1) self.pause();
""",
        "play": """
self.pause();
const n = (data.output || []).length * ((data.output || [[]])[0] || []).length;
if (!n) return;
if (state.p >= n - 1) state.p = -1;
state.timer = setInterval(() => self.advance(), Math.max(40, Math.min(400, 12000 / n)));
play.textContent = "Pause";
""",
        "pause": """
if (state.timer) clearInterval(state.timer);
state.timer = null;
play.textContent = "Play";
""",
    }
    _stylesheets = [  # noqa: RUF012
        _BUTTON_CSS
        + """
.cp-slide-pictures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.cp-slide-pictures figure { margin: 0; flex: 1 1 120px; max-width: 260px; }
.cp-slide-pictures figure:nth-child(2) { flex: 0 1 120px; }
figcaption { font-size: 12px; color: #3e4c59; margin-top: 4px; }
.cp-slide-grid { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr));
                 border: 1px solid #5b6770; }
.cp-slide-cell { aspect-ratio: 1; display: flex; align-items: center; justify-content: center;
                 font-size: 10px; font-family: ui-monospace, Menlo, Consolas, monospace;
                 overflow: hidden; }
.cp-slide-pad { background: repeating-linear-gradient(45deg, #f5f7fa 0 3px, #d9e2ec 3px 5px); }
.cp-slide-on { box-shadow: inset 0 0 0 2px #e66101; }
.cp-slide-empty { background: #fff; color: transparent; }
.cp-slide-now { outline: 3px solid #e66101; outline-offset: -3px; }
.cp-slide-controls { display: flex; gap: 8px; margin: 8px 0; flex-wrap: wrap; }
.cp-slide-sum { margin: 4px 0; min-height: 2.6em; }
"""
        + WAITING_CSS
    ]


class MapPicker(ReactiveHTML):
    """Pictures to pick from, each a button: ``items`` = [{pictures, alt, label}, …], each
    picture ``{src, width, height}``."""

    items = param.List(default=[], doc="[{'pictures': [...], 'alt': text, 'label': text}, …]")
    picked = param.String(default="", doc="From the page: 'index,count'")
    waiting = param.String(default="", doc="what it waits for (its pictures are a stand-in's)")

    _template = """
<div id="picker" class="cp-waits">
  <div id="maps" class="cp-maps" role="group" aria-label="Feature maps"></div>
  <p id="note" class="cp-waiting-note" role="status"></p>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": "self.build(); self.wait();",
        "items": "self.build()",
        "waiting": "self.wait()",
        "wait": """
picker.classList.toggle("cp-waiting", !!data.waiting);
note.textContent = data.waiting;
""",
        "build": """
maps.textContent = "";
(data.items || []).forEach((item, i) => {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cp-map";
  button.setAttribute("aria-label", `${item.label}: ${item.alt}`);
  const pictures = document.createElement("span");
  pictures.className = "cp-map-pictures";
  for (const picture of item.pictures) {
    const img = document.createElement("img");
    img.src = picture.src;
    img.width = picture.width;
    img.height = picture.height;
    img.alt = "";
    pictures.appendChild(img);
  }
  const caption = document.createElement("span");
  caption.textContent = item.label;
  button.append(pictures, caption);
  button.onclick = () => {
    state.count = (state.count || 0) + 1;
    for (const b of maps.children) b.classList.remove("cp-picked");
    button.classList.add("cp-picked");
    data.picked = `${i},${state.count}`;
  };
  maps.appendChild(button);
});
""",
    }
    _stylesheets = [  # noqa: RUF012
        _BUTTON_CSS
        + """
.cp-maps { display: flex; flex-wrap: wrap; gap: 8px; }
.cp-map { display: flex; flex-direction: column; align-items: center; gap: 4px; padding: 6px; }
.cp-map-pictures { display: flex; gap: 4px; align-items: center; }
.cp-map img { image-rendering: pixelated; display: block; }
.cp-map.cp-picked { outline: 3px solid #e66101; }
"""
        + WAITING_CSS
    ]


class StepStrip(ReactiveHTML):
    """The step in one strip: ``N / 8``, its title, what is left of its task, and a
    button that brings the full card (``.cp-lesson-step``, the step counter) into view
    and gives it the keyboard focus.

    The page shows it at the top of the main column once the lesson has scrolled out of
    the window (layout.Page's ``strip``); it tells the document how tall it is
    (``scroll-padding-top``, hidden or not, so that nothing changes when it shows) so that
    whatever the page scrolls into view for the focus lands below it, not under it.
    """

    label = param.String(default="", doc="'3 / 8'")
    title = param.String(default="")
    status = param.String(default="", doc="what is left of the task (lesson_html.strip_status)")
    done = param.Boolean(default=False, doc="the task is done")

    _template = """
<div id="strip" class="cp-lesson-strip">
  <p id="text" class="cp-lesson-strip-text"><span id="where" class="cp-lesson-strip-where"></span>
    <span id="task" class="cp-lesson-strip-task"></span></p>
  <button id="back" type="button" class="cp-lesson-strip-back">Back to the card</button>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
self.text();
back.onclick = () => self.back();
// Its height, for what the page scrolls to: 0 where the page has no strip (the lesson beside).
state.resized = new ResizeObserver(() => {
  const height = strip.offsetHeight;
  document.documentElement.style.scrollPaddingTop = height ? `${height + 8}px` : "";
});
state.resized.observe(strip);
""",
        "remove": """
if (state.resized) state.resized.disconnect();
document.documentElement.style.scrollPaddingTop = "";
""",
        **{name: "self.text()" for name in ("label", "title", "status", "done")},
        "text": """
where.textContent = "";
const step = document.createElement("b");
step.textContent = `Step ${data.label}`;
where.append(step, `: ${data.title}`);
task.textContent = data.status;
task.classList.toggle("cp-done", data.done);
""",
        "back": """
// The step counter is in the lesson panel, in other shadow roots than this strip.
const find = (root) => {
  const hit = root.querySelector(".cp-lesson-step");
  if (hit) return hit;
  for (const el of root.querySelectorAll("*")) {
    const found = el.shadowRoot ? find(el.shadowRoot) : null;
    if (found) return found;
  }
  return null;
};
const target = find(document);
if (!target) return;
const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
target.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
target.focus({ preventScroll: true });
""",
    }
    _stylesheets = [  # noqa: RUF012
        _BUTTON_CSS
        + """
.cp-lesson-strip { display: flex; align-items: center; gap: 8px; padding: 4px 8px;
                   background: #eef4fc; border: 1px solid #1d5fbf; border-radius: 6px;
                   box-shadow: 0 2px 6px rgb(0 0 0 / 0.15); font-size: 14px; line-height: 1.3;
                   color: #1f2933; }
.cp-lesson-strip-text { flex: 1 1 auto; min-width: 0; margin: 0; }
.cp-lesson-strip-where { display: block; overflow: hidden; text-overflow: ellipsis;
                         white-space: nowrap; }
.cp-lesson-strip-task { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2;
                        overflow: hidden; overflow-wrap: anywhere; }
.cp-lesson-strip-where b { color: #1d5fbf; }
.cp-lesson-strip-task { color: #3e4c59; }
.cp-lesson-strip-task.cp-done { color: #1b7a3d; font-weight: 600; }
.cp-lesson-strip-back { flex: 0 0 auto; }
"""
    ]
