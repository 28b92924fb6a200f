"""Every Conv/Pool layer's output for one image, before and after its activation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops, shapes
from ..errors import ModelError
from .base import NO_MODEL, NothingToShow

__all__ = ["MAP_KINDS", "FeatureMap", "feature_maps", "prepare_image"]

#: the layers whose outputs are images (one channel per feature map)
MAP_KINDS = ("Conv2D", "MaxPooling2D", "AveragePooling2D")


@dataclass(frozen=True)
class FeatureMap:
    """One layer's output for one image.

    Attributes
    ----------
    layer_index : int
    layer_name : str
    kind : str
        ``"Conv2D"``, ``"MaxPooling2D"`` or ``"AveragePooling2D"``.
    output_shape : tuple of int
        ``(H_out, W_out, C)``, the numbers of the summary table's row.
    activation : str or None
        The Conv2D's activation (``"relu"``, ...); None for pooling layers.
    after : ndarray, float32, shape (H_out, W_out, C)
        The layer's output: channel ``c`` is ``after[:, :, c]``.
    before : ndarray, float32, shape (H_out, W_out, C), or None
        The Conv2D's output before its activation (``z`` in ``y = activation(z)``);
        None for pooling layers and for ``activation="linear"`` (nothing changes).
    """

    layer_index: int
    layer_name: str
    kind: str
    output_shape: tuple[int, ...]
    activation: str | None
    after: np.ndarray
    before: np.ndarray | None = None

    @property
    def shape_text(self) -> str:
        """The summary table's way of writing the output shape: ``(None, 26, 26, 32)``."""
        return shapes.batch_shape_text(self.output_shape)

    def describe(self) -> str:
        """Text alternative: layer, shape and value range of each picture."""
        text = (
            f"{self.layer_name} ({self.kind}), output {self.shape_text}: "
            f"{self.output_shape[-1]} feature maps of {self.output_shape[0]}×{self.output_shape[1]}"
        )
        if self.before is not None:
            text += (
                f"; before {self.activation}: values from {float(self.before.min()):.3g} to "
                f"{float(self.before.max()):.3g}; after"
            )
        else:
            text += "; values"
        return text + f" from {float(self.after.min()):.3g} to {float(self.after.max()):.3g}."


def prepare_image(model, image) -> np.ndarray | NothingToShow:
    """``image`` as a batch of one ``(1, H, W, C)`` float32 array for ``model``.

    Accepts ``(H, W, C)``, ``(1, H, W, C)`` or, for one-channel models, ``(H, W)``.
    """
    if model is None or not model.built:
        return NO_MODEL
    x = np.asarray(image, dtype=np.float32)
    want = tuple(model.input_shape)
    if x.shape == want[:-1] and want[-1] == 1:
        x = x[..., None]
    if x.shape == want:
        x = x[None]
    if x.shape != (1, *want):
        return NothingToShow(
            "bad-input",
            f"The model expects one image of shape {want}; this one has shape {np.shape(image)}.",
        )
    return x


def feature_maps(model, image) -> list[FeatureMap] | NothingToShow:
    """What every Conv2D and pooling layer makes of one image, in layer order.

    ``image``: ``(H, W, C)`` (or ``(H, W)`` for one channel) in the model's input
    shape. The outputs are the model's own (:meth:`pycnn.Sequential.activations`,
    inference mode); a Conv2D's pre-activation is recomputed from its input with
    the same kernel, :func:`pycnn.ops.conv2d_forward`.

    Returns :class:`NothingToShow` when there is no model, the image does not fit
    it, or the model has no Conv/Pool layer.
    """
    x = prepare_image(model, image)
    if isinstance(x, NothingToShow):
        return x
    if not any(layer.kind in MAP_KINDS for layer in model.layers):
        return NothingToShow(
            "no-maps",
            "This model has no Conv2D or pooling layer, so there are no feature maps to "
            "show: its Dense layers see the image as one long row of numbers.",
        )
    try:
        outputs = model.activations(x)
    except ModelError as err:
        return NothingToShow("bad-input", str(err))
    maps = []
    layer_input = x
    for index, layer in enumerate(model.layers):
        out = outputs[layer.name]
        if layer.kind in MAP_KINDS:
            activation = getattr(layer, "activation", None)
            before = None
            if layer.kind == "Conv2D" and activation != "linear":
                z, _ = ops.conv2d_forward(
                    layer_input,
                    layer.params["kernel"],
                    layer.params["bias"],
                    layer.strides,
                    layer.padding,
                )
                before = np.asarray(z[0], dtype=np.float32)
            maps.append(
                FeatureMap(
                    index,
                    layer.name,
                    layer.kind,
                    tuple(out.shape[1:]),
                    activation,
                    np.asarray(out[0], dtype=np.float32),
                    before,
                )
            )
        layer_input = out
    return maps
