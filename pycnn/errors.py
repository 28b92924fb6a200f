"""The one error type users can cause: :class:`ModelError` (a ``ValueError``).

Every message has the same four parts, in this order, so the UI and the
learner always find them in the same place::

    Layer 3 (conv2d_1, Conv2D): kernel_size (3, 3) is larger than its input
    (2, 2). Use a smaller kernel_size, or padding='same'. Received:
    input_shape=(2, 2, 64), kernel_size=(3, 3), padding='valid'.

* where: ``Layer <number> (<name>, <kind>)``, where ``<number>`` counts from 1
  as learners (and the playground) do, so the third layer is ``Layer 3``
  (index and name may be unknown when a layer is created outside a model;
  then only ``<kind>`` is shown),
* what is wrong (``problem``),
* how to fix it (``hint``),
* what was received (``received``), always last.

The parts are also attributes, so a UI can mark the offending layer
(``layer_index``) and show the hint on its own. ``layer_index`` is a Python
index into ``model.layers`` (0-based); only the text counts from 1:
``layer_index == 2`` reads ``Layer 3 (…)``.
"""

from __future__ import annotations

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model, layer or input that cannot work, with a structured explanation.

    Attributes
    ----------
    problem : str
        What is wrong, one sentence.
    hint : str
        A suggested fix, one sentence (may be empty).
    received : str
        The offending values, e.g. ``"input_shape=(2, 2, 64)"``.
    layer_index : int or None
        Position of the layer in the model, 0-based like ``model.layers[i]``,
        if known. The message shows it 1-based (``Layer {layer_index + 1}``).
    layer_name : str or None
        The layer's name (``conv2d_1``), if known.
    layer_kind : str or None
        The layer's class name (``Conv2D``), or ``"Input"``/``"Model"``.
    """

    def __init__(
        self,
        problem: str,
        hint: str = "",
        received: str = "",
        *,
        layer_index: int | None = None,
        layer_name: str | None = None,
        layer_kind: str | None = None,
    ) -> None:
        self.problem = problem
        self.hint = hint
        self.received = received
        self.layer_index = layer_index
        self.layer_name = layer_name
        self.layer_kind = layer_kind
        super().__init__(self._format())

    @property
    def where(self) -> str:
        """``Layer 3 (conv2d_1, Conv2D)`` (numbered from 1), ``Conv2D`` or ``""``."""
        if self.layer_index is not None:
            number = self.layer_index + 1  # people count layers from 1
            label = ", ".join(p for p in (self.layer_name, self.layer_kind) if p)
            return f"Layer {number} ({label})" if label else f"Layer {number}"
        if self.layer_name and self.layer_kind:
            return f"{self.layer_kind} '{self.layer_name}'"
        return self.layer_kind or self.layer_name or ""

    def _format(self) -> str:
        parts = [f"{self.where}:"] if self.where else []
        parts.append(_sentence(self.problem))
        if self.hint:
            parts.append(_sentence(self.hint))
        parts.append(f"Received: {self.received}." if self.received else "Received: nothing.")
        return " ".join(parts)

    def located(self, index: int, name: str | None, kind: str | None) -> ModelError:
        """A copy of this error that names the layer's position (0-based ``index``) in a model."""
        return ModelError(
            self.problem,
            self.hint,
            self.received,
            layer_index=index,
            layer_name=name or self.layer_name,
            layer_kind=kind or self.layer_kind,
        )

    def __reduce__(self):  # keep the attributes when pickled (e.g. across a worker)
        return (
            _rebuild,
            (
                self.problem,
                self.hint,
                self.received,
                self.layer_index,
                self.layer_name,
                self.layer_kind,
            ),
        )


def _rebuild(problem, hint, received, index, name, kind) -> ModelError:
    return ModelError(problem, hint, received, layer_index=index, layer_name=name, layer_kind=kind)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."
