#!/usr/bin/env python3
"""Take docs/insight.png: the "See inside the network" views of the real built page.

    .venv/bin/python scripts/screenshot_insight.py [--site site] [--out docs/insight.png]

Serves the built site locally (every other request refused, as in the tests),
trains the starter model on ``digits`` in headless Chromium, then photographs
four views — filters, feature maps of a test image, the confusion matrix with a
cell clicked and the mistakes, a digit drawn with the mouse — and puts the four
pictures side by side, two by two.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from tests.e2e import e2e_support as sup

ROOT = Path(__file__).resolve().parents[1]

STARTER = "conv2d:8:3,maxpool:2,flatten,dense:10:softmax"
WIDTH = 900  # viewport width: each view as a learner on a laptop sees it
HEIGHT = 640  # the part of each view that goes into the picture


def _choose(page, label: str) -> None:
    page.locator(".cp-inside-choice button", has_text=label).first.click()
    page.wait_for_timeout(2500)


def _shot(page):
    from PIL import Image

    section = page.locator(".cp-inside").first
    section.scroll_into_view_if_needed()
    image = Image.open(io.BytesIO(section.screenshot()))
    return image.crop((0, 0, image.width, min(image.height, HEIGHT)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "insight.png")
    args = ap.parse_args(argv)
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from playground.insight.glyphs import digit_drawing

    shots = []
    with sup.LocalServer(args.site.resolve(), "/") as server, sync_playwright() as pw:
        browser = sup.launch_chromium(pw)
        context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
        monitor = sup.Monitor(allowed_ports={server.port})
        sup.instrument_context(context, monitor)
        page = context.new_page()
        page.goto(server.url + f"?dataset=digits&layers={STARTER}&epochs=15")
        sup.wait_until_live(page, monitor)
        page.locator(".cp-train button").first.click()
        deadline = time.monotonic() + 300
        while not page.locator(".cp-status").first.inner_text().startswith("Finished"):
            assert time.monotonic() < deadline, "training did not finish"
            page.wait_for_timeout(200)

        _choose(page, "Filters")
        shots.append(_shot(page))
        _choose(page, "Feature maps")
        page.locator(".cp-featuremaps-strip button").nth(3).click()
        page.wait_for_timeout(2000)
        shots.append(_shot(page))
        _choose(page, "Test results")
        cells = page.locator(".cp-confusion button[data-pick]")
        cells.first.wait_for()
        wrong = [c for c in cells.all() if len(set(c.get_attribute("data-pick").split(","))) == 2]
        max(wrong, key=lambda c: int(c.inner_text())).click()  # the most common mistake
        page.wait_for_timeout(1500)
        shots.append(_shot(page))
        _choose(page, "Draw to predict")
        canvas = page.locator(".cp-draw canvas").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        for stroke in digit_drawing(3, box["width"], box["height"]).strokes:
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
            page.mouse.up()
        page.wait_for_timeout(2500)
        shots.append(_shot(page))
        problems = monitor.problems()
        browser.close()
    if problems:
        raise SystemExit("the page reported problems:\n" + "\n".join(problems))

    cell_w = max(s.width for s in shots)
    cell_h = max(s.height for s in shots)
    sheet = Image.new("RGB", (2 * cell_w + 12, 2 * cell_h + 12), "white")
    for i, shot in enumerate(shots):
        sheet.paste(shot, ((i % 2) * (cell_w + 12), (i // 2) * (cell_h + 12)))
    sheet = sheet.resize((sheet.width * 3 // 4, sheet.height * 3 // 4), Image.LANCZOS)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({sheet.width}×{sheet.height}, {args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
