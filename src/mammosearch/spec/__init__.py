"""The bottom of the package order: what every layer shares and no layer owns.

``fields`` (scalar validators for spaces and data sources) and ``params`` (the parameter
specs that own their bounds, validation and sampling, and the typed ``TrialParams``).
``config`` reads a YAML space into these, ``data`` and ``models`` take them as plain typed
values, so neither imports ``config``, and ``config`` can sit above both.
"""

from mammosearch.spec.fields import Fields, show
from mammosearch.spec.outcome import CACHED, CACHED_VIEWS, EPOCH, FOLD, FULL, Trained, TrialOutcome
from mammosearch.spec.params import (
    PARAM_SPECS,
    AugmentationParams,
    Categorical,
    CnnParams,
    Fixed,
    FloatRange,
    HeadParams,
    IntRange,
    ParamSpec,
    Scalar,
    Suggester,
    TrialParams,
    one_of,
)
from mammosearch.spec.rates import F1, RATES, SENSITIVITY, SPECIFICITY, Confusion, Rate, brief_rates, labels_text
from mammosearch.spec.size import ImageSize, Size, size_options, size_value, smallest_option, smallest_size
from mammosearch.spec.split_metrics import NEAR_COLLAPSE, Roc, SplitMetrics, ThresholdMetrics, near_collapsed

__all__ = [
    "AugmentationParams",
    "CACHED",
    "CACHED_VIEWS",
    "Categorical",
    "CnnParams",
    "Confusion",
    "EPOCH",
    "F1",
    "FOLD",
    "FULL",
    "Fields",
    "Fixed",
    "FloatRange",
    "HeadParams",
    "ImageSize",
    "IntRange",
    "NEAR_COLLAPSE",
    "PARAM_SPECS",
    "ParamSpec",
    "RATES",
    "Rate",
    "Roc",
    "SENSITIVITY",
    "SPECIFICITY",
    "Scalar",
    "Size",
    "SplitMetrics",
    "Suggester",
    "ThresholdMetrics",
    "Trained",
    "TrialOutcome",
    "TrialParams",
    "brief_rates",
    "labels_text",
    "near_collapsed",
    "one_of",
    "show",
    "size_options",
    "size_value",
    "smallest_option",
    "smallest_size",
]
