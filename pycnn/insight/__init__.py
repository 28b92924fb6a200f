"""Look inside a model: its filters, feature maps, test-set mistakes and the code that runs.

Numbers only: ``playground.insight`` turns them into pictures. Every function
takes the model (or ``None`` when there is none yet) and returns either its
answer or a :class:`NothingToShow` that says, in words for the learner, why
there is nothing to show. docs/INSIGHT.md says how a view calls each one.
"""

from .base import NothingToShow, find_layer, layers_of_kind
from .evaluation import (
    EvaluationProgress,
    EvaluationResults,
    Mistake,
    evaluate_test_set,
    evaluation_batch_size,
)
from .feature_maps import MAP_KINDS, FeatureMap, feature_maps, prepare_image
from .filters import FilterBank, conv_layers, filter_bank
from .source import CodeSection, LayerCode, ShapeNote, layer_code

__all__ = [
    "MAP_KINDS",
    "CodeSection",
    "EvaluationProgress",
    "EvaluationResults",
    "FeatureMap",
    "FilterBank",
    "LayerCode",
    "Mistake",
    "NothingToShow",
    "ShapeNote",
    "conv_layers",
    "evaluate_test_set",
    "evaluation_batch_size",
    "feature_maps",
    "filter_bank",
    "find_layer",
    "layer_code",
    "layers_of_kind",
    "prepare_image",
]
