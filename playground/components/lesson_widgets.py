"""The lesson's three interactive pictures, drawn by small scripts in the page.

* :class:`PixelGrid` — an image as a grid of its values: hover, tap or move with
  the arrow keys to read a pixel; a click, Enter or Space picks it (``picked``).
* :class:`SlidingFilter` — one filter sliding over an image, position by
  position, filling in its output map (Play / Step / Start again; no motion
  unless asked for when the browser prefers reduced motion).
* :class:`MapPicker` — a row of pictures (feature maps), each a button (``picked``).
* :class:`StepStrip` — the step on screen in one line, kept in view in the playground's
  column where the lesson sits above it, with a button back to the full card.

Python sends plain numbers and colours (lists, never HTML); the scripts build
the elements with ``textContent``, so nothing from the model is parsed as markup.
A pick comes back as ``"index,count"``: the count changes every time, so picking
the same thing twice is reported twice.
"""

from __future__ import annotations

import param
from panel.reactive import ReactiveHTML

__all__ = ["MapPicker", "PixelGrid", "SlidingFilter", "StepStrip", "parse_pick"]

_BUTTON_CSS = """
button { min-height: 44px; min-width: 44px; padding: 6px 12px; font: inherit; border-radius: 6px;
         border: 1px solid #5b6770; background: #fff; color: #1f2933; cursor: pointer; }
button:focus-visible, [tabindex]:focus-visible { outline: 3px solid #1d5fbf; outline-offset: 2px; }
"""


def parse_pick(value: str) -> tuple[int, ...] | None:
    """``"3,5,7"`` → ``(3, 5)`` (the last number only makes each pick a change)."""
    try:
        numbers = tuple(int(v) for v in value.split(","))
    except ValueError:
        return None
    return numbers[:-1] if len(numbers) >= 2 else None


class PixelGrid(ReactiveHTML):
    """An image as a grid of its values (0 black … 1 white)."""

    values = param.List(default=[], doc="rows of pixel values in [0, 1]")
    label = param.String(default="Sample image", doc="the grid's accessible name")
    picked = param.String(default="", doc="From the page: 'row,column,count' (0-based)")

    _template = """
<div class="cp-pixels">
  <div id="grid" class="cp-pixel-grid" role="grid"></div>
  <p id="readout" class="cp-pixel-readout">Hover, tap or use the arrow keys to read a pixel.</p>
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": "self.build()",
        "values": "self.build()",
        "label": "grid.setAttribute('aria-label', data.label)",
        "build": """
const values = data.values || [];
const h = values.length, w = h ? values[0].length : 0;
grid.textContent = "";
grid.setAttribute("aria-label", data.label);
grid.style.setProperty("--cols", w);
grid.classList.toggle("cp-pixel-grid-small", w <= 12);
state.cells = [];
state.active = state.active && state.active[0] < h && state.active[1] < w ? state.active : [0, 0];
const say = (r, c) => `Row ${r + 1}, column ${c + 1}: ${values[r][c].toFixed(2)}`;
const focus = (r, c) => {
  const old = state.cells[state.active[0]][state.active[1]];
  old.tabIndex = -1;
  state.active = [r, c];
  const cell = state.cells[r][c];
  cell.tabIndex = 0;
  cell.focus();
  readout.textContent = say(r, c);
};
const pick = (r, c) => {
  state.count = (state.count || 0) + 1;
  for (const row of state.cells) for (const cell of row) cell.classList.remove("cp-picked");
  state.cells[r][c].classList.add("cp-picked");
  state.cells[r][c].setAttribute("aria-selected", "true");
  readout.textContent = say(r, c) + " (picked)";
  data.picked = `${r},${c},${state.count}`;
};
for (let r = 0; r < h; r++) {
  const row = document.createElement("div");
  row.setAttribute("role", "row");
  row.className = "cp-pixel-row";
  const cells = [];
  for (let c = 0; c < w; c++) {
    const v = Math.max(0, Math.min(1, values[r][c]));
    const cell = document.createElement("div");
    cell.setAttribute("role", "gridcell");
    cell.className = "cp-pixel";
    cell.tabIndex = r === state.active[0] && c === state.active[1] ? 0 : -1;
    cell.setAttribute("aria-label", say(r, c));
    cell.dataset.row = r;
    cell.dataset.col = c;
    const g = Math.round(v * 255);
    cell.style.background = `rgb(${g},${g},${g})`;
    cell.style.color = v < 0.5 ? "#fff" : "#000";
    if (w <= 12) cell.textContent = values[r][c].toFixed(2);
    cell.addEventListener("mouseenter", () => { readout.textContent = say(r, c); });
    cell.addEventListener("click", () => { focus(r, c); pick(r, c); });
    cells.push(cell);
    row.appendChild(cell);
  }
  state.cells.push(cells);
  grid.appendChild(row);
}
grid.onkeydown = (event) => {
  if (!h) return;
  let [r, c] = state.active;
  const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
  if (event.key in moves) {
    r = Math.max(0, Math.min(h - 1, r + moves[event.key][0]));
    c = Math.max(0, Math.min(w - 1, c + moves[event.key][1]));
    focus(r, c);
  } else if (event.key === "Home") { focus(r, 0); }
  else if (event.key === "End") { focus(r, w - 1); }
  else if (event.key === "Enter" || event.key === " ") { pick(r, c); }
  else { return; }
  event.preventDefault();
};
""",
    }
    _stylesheets = [  # noqa: RUF012
        _BUTTON_CSS
        + """
.cp-pixel-grid { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr));
                 width: min(100%, calc(var(--cols) * 46px)); border: 1px solid #5b6770;
                 touch-action: manipulation; }
.cp-pixel-row { display: contents; }
.cp-pixel { aspect-ratio: 1; display: flex; align-items: center; justify-content: center;
            font-size: 11px; font-family: ui-monospace, Menlo, Consolas, monospace;
            cursor: pointer; user-select: none; }
.cp-pixel:hover { outline: 2px solid #e66101; outline-offset: -2px; }
.cp-pixel.cp-picked { outline: 3px solid #e66101; outline-offset: -3px; }
.cp-pixel-readout { min-height: 1.4em; margin: 6px 0 0; font-variant-numeric: tabular-nums; }
"""
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

    _template = """
<div class="cp-slide">
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
</div>
"""
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": """
play.onclick = () => (state.timer ? self.pause() : self.play());
step.onclick = () => { self.pause(); self.advance(); };
restart.onclick = () => { self.pause(); state.p = -1; self.advance(); };
self.build();
if (!window.matchMedia("(prefers-reduced-motion: reduce)").matches) self.play();
""",
        # Python sends the picture's lists together, but the page sees them one by one:
        # rebuild once, after the last.
        **{
            name: "clearTimeout(state.pending); "
            "state.pending = setTimeout(() => { self.pause(); self.build(); }, 0);"
            for name in ("image", "kernel", "kernel_colours", "output", "output_colours", "pad")
        },
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
    ]


class MapPicker(ReactiveHTML):
    """Pictures to pick from, each a button: ``items`` = [{src, alt, label}, …]."""

    items = param.List(default=[], doc="[{'src': data URI, 'alt': text, 'label': text}, …]")
    picked = param.String(default="", doc="From the page: 'index,count'")

    _template = '<div id="maps" class="cp-maps" role="group" aria-label="Feature maps"></div>'
    _scripts = {  # noqa: RUF012 - Panel's declaration style
        "render": "self.build()",
        "items": "self.build()",
        "build": """
maps.textContent = "";
(data.items || []).forEach((item, i) => {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cp-map";
  button.setAttribute("aria-label", `${item.label}: ${item.alt}`);
  const pictures = document.createElement("span");
  pictures.className = "cp-map-pictures";
  for (const src of item.src) {
    const img = document.createElement("img");
    img.src = src;
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
    ]


class StepStrip(ReactiveHTML):
    """The step in one strip: ``N / 8``, its title, what is left of its task, and a
    button that brings the full card (``.cp-lesson-step``, the step counter) into view
    and gives it the keyboard focus.

    The page keeps it at the top of the main column (layout.Page's ``strip``); it tells
    the document how tall it is (``scroll-padding-top``) so that whatever the page
    scrolls into view for the focus lands below it, not under it.
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
// Its height, for what the page scrolls to: 0 where it is not shown (beside the lesson).
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
