"""Dataset picker: which images the model trains on, with a preview and the class names."""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

from playground.components.text import esc
from playground.insight.picture import png_data_uri, tile_grid
from playground.runtime import after_first_render
from playground.settings import DATASETS
from playground.state import PlaygroundState
from pycnn.datasets import DatasetInfo
from pycnn.datasets import info as dataset_info

__all__ = ["DatasetPicker", "preview_html", "strip_size"]

PER_CLASS = 3


def _sample_strip(images: np.ndarray) -> np.ndarray:
    """uint8 RGBA of ``(n, H, W, C)`` images in a row, 1-px white gaps.

    Grey images are shown as ink on paper (inverted: dark strokes on white, as
    people draw digits); colour images as they are, their colour being the point.
    """
    rgb = np.repeat(1.0 - images, 3, axis=3) if images.shape[3] == 1 else images
    rgba = np.full((*rgb.shape[:3], 4), 255, dtype=np.uint8)
    rgba[..., :3] = np.rint(np.clip(rgb, 0.0, 1.0) * 255)
    return tile_grid(rgba, len(rgba), gap_colour=(255, 255, 255, 255))


def strip_size(input_shape) -> tuple[int, int]:
    """CSS ``(width, height)`` of one class's strip of ``PER_CLASS`` samples on the page.

    Known before the images are: the preview is laid out at its final size at once,
    so nothing below it moves when they arrive. 8×8 digits are shown as big as 28×28.
    """
    h, w = int(input_shape[0]), int(input_shape[1])
    scale = max(1, 28 // w)
    return (PER_CLASS * (w + 1) + 1) * scale, (h + 2) * scale


def preview_html(info: DatasetInfo, strips: dict[int, str] | None = None) -> str:
    """The preview grid: per class, its samples' strip (a PNG data URI in ``strips``) or,
    while they load (``strips=None``), a grey box of the same size; each captioned with
    the class."""
    width, height = strip_size(info.input_shape)
    box = f"display:block;margin:0 auto;width:{width}px;height:{height}px"
    cells = []
    for k, cname in enumerate(info.class_names):
        if strips is not None and k not in strips:
            continue  # no image of this class to show
        if strips is None:
            picture = (
                f'<span role="img" aria-label="Loading sample images of {esc(cname)}" '
                f'style="{box};background:#e8e8e8"></span>'
            )
        else:
            picture = (
                f'<img src="{strips[k]}" alt="{PER_CLASS} sample images of {esc(cname)}" '
                f'width="{width}" height="{height}" style="{box};image-rendering:pixelated">'
            )
        cells.append(
            f'<figure style="margin:2px;text-align:center">{picture}'
            f'<figcaption style="font-size:11px">{k}: {esc(cname)}</figcaption></figure>'
        )
    return f'<div style="display:flex;flex-wrap:wrap">{"".join(cells)}</div>'


class DatasetPicker(Viewer):
    """A Select for the dataset, its description and a grid of sample images per class."""

    state = param.ClassSelector(class_=PlaygroundState)

    def __init__(self, **params):
        super().__init__(**params)
        s = self.state
        self._select = pn.widgets.Select.from_param(
            s.param.dataset,
            name="Dataset",
            options={dataset_info(n).title: n for n in DATASETS},
            width=240,
            css_classes=["cp-dataset"],
        )
        self._about = pn.pane.HTML(
            "", sizing_mode="stretch_width", css_classes=["cp-dataset-about"]
        )
        self._preview = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cp-preview"])
        s.param.watch(self._on_dataset, "dataset")
        s.param.watch(lambda e: setattr(self._select, "disabled", e.new), "training")
        self._strips: dict[str, dict[int, str]] = {}  # per dataset: class -> PNG data URI
        self._describe()

    def _describe(self) -> None:
        info = dataset_info(self.state.dataset)
        self._preview.object = preview_html(info, self._strips.get(info.name))
        h, w, c = info.input_shape
        detail = f"{info.n_train:,} training and {info.n_test:,} test images. {info.description}"
        self._about.object = (
            f"<div><b>Input shape:</b> {h}×{w}×{c} · <b>{info.num_classes} classes:</b> "
            f"{esc(', '.join(info.class_names))}</div><div>{esc(detail)}</div>"
            + (
                f'<div style="color:#595959;font-size:12px">{esc(info.attribution)}</div>'
                if info.attribution
                else ""
            )
        )

    def _on_dataset(self, _event) -> None:
        # The words follow the dataset in the same change, so a document never shows
        # another dataset's (a returning learner's lesson model is loaded while the page
        # is being made); the images come once the page is drawn.
        self._describe()
        after_first_render(self.load_preview)

    async def load_preview(self) -> None:
        """Show a few samples of each class (downloads the dataset in the browser if needed)."""
        name = self.state.dataset
        if name in self._strips:
            return
        try:
            from playground.data import get_dataset

            await get_dataset(name)
            from pycnn.datasets import preview

            x, y, _class_names = preview(name, per_class=PER_CLASS)
        except Exception as exc:  # noqa: BLE001 - show why, keep the page
            self._preview.object = f"<i>Could not load the images: {esc(exc)}</i>"
            return
        if name != self.state.dataset:
            return  # the learner picked another dataset meanwhile
        self._strips[name] = {
            k: png_data_uri(_sample_strip(x[y == k][:PER_CLASS])) for k in np.unique(y).tolist()
        }
        self._describe()

    def __panel__(self):
        return pn.Column(
            self._select,
            self._about,
            self._preview,
            sizing_mode="stretch_width",
        )
