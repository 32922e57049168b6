"""The typed metrics of one split (validation, pooled out-of-fold, test, an external set).

:class:`SplitMetrics` is what a trial stores per split and what every view reads; its
``to_record()`` is the plain JSON dict the studies have always held (``store/record.py``
writes it as an Optuna user attribute) and ``from_record()`` reads such a dict back,
leniently: a study written by an older version, or by hand, gives the metrics it has, the
keys this record does not know are kept as they were, and a threshold rate added to
``spec/rates.py`` after the study was written is computed from its stored confusion counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mammosearch.spec.rates import RATES, SENSITIVITY, SPECIFICITY, Confusion, Rate

# Below this sensitivity or specificity at the chosen (Youden) threshold a split is flagged
# near-collapsed: it calls (almost) every image one class, even if its scores are not all on
# one side of 0.5 (the exact single-class case, ``collapsed``).
NEAR_COLLAPSE = 0.1


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) is not None for v in value):
        return float(value[0]), float(value[1])
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class ThresholdMetrics:
    """The confusion counts at one threshold and every rate of :data:`~mammosearch.spec.rates.RATES`."""

    threshold: float | None
    confusion: Confusion | None
    values: Mapping[str, float | None]  # Rate.key -> value, for every rate of the table
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys no rate owns, kept as stored

    def __getitem__(self, rate: Rate) -> float | None:
        return self.values.get(rate.key)

    @classmethod
    def from_counts(cls, threshold: float, counts: Confusion) -> ThresholdMetrics:
        return cls(threshold, counts, {rate.key: rate.of(counts) for rate in RATES})

    @classmethod
    def from_record(cls, raw: Any) -> ThresholdMetrics | None:
        if not isinstance(raw, Mapping):
            return None
        owned = {"threshold", "confusion_matrix", *(key for rate in RATES for key in rate.keys)}
        return cls(
            threshold=_number(raw.get("threshold")),
            confusion=Confusion.from_matrix(raw.get("confusion_matrix")),
            values={rate.key: rate.read(raw) for rate in RATES},
            extra={k: v for k, v in raw.items() if k not in owned},
        )

    def to_record(self) -> dict[str, Any]:
        """``threshold``, each rate under each of its keys, ``confusion_matrix`` as ``[[tn, fp], [fn, tp]]``."""
        out: dict[str, Any] = {} if self.threshold is None else {"threshold": self.threshold}
        for rate in RATES:
            value = self[rate]
            if value is not None:
                out.update(dict.fromkeys(rate.keys, value))
        if self.confusion is not None:
            out["confusion_matrix"] = self.confusion.to_matrix()
        return {**out, **self.extra}


@dataclass(frozen=True)
class Roc:
    """ROC points as stored (at most a few hundred, :func:`mammosearch.metrics.roc_points`); empty with one class."""

    fpr: tuple[float, ...] = ()
    tpr: tuple[float, ...] = ()

    @classmethod
    def from_record(cls, raw: Any) -> Roc | None:
        if not isinstance(raw, Mapping):
            return None
        fpr, tpr = raw.get("fpr") or [], raw.get("tpr") or []
        return cls(tuple(float(v) for v in fpr), tuple(float(v) for v in tpr))

    def to_record(self) -> dict[str, list[float]]:
        return {"fpr": list(self.fpr), "tpr": list(self.tpr)}


# The keys SplitMetrics reads into its fields (anything else is kept in ``extra``).
_FIELDS = ("n", "n_positive", "auc", "average_precision", "roc", "at_0.5", "youden_threshold", "threshold_source",
           "at_youden", "collapsed", "auc_ci95", "fold_aucs", "mean_fold_auc", "pooled")


@dataclass(frozen=True)
class SplitMetrics:
    """Every metric of one split: AUC with its interval, AP, the ROC, the metrics at 0.5 and at the
    chosen (Youden) threshold, the collapse flags and, under cross-validation, the fold AUCs."""

    n: int | None = None
    n_positive: int | None = None
    auc: float | None = None  # None with a single class
    average_precision: float | None = None
    roc: Roc | None = None
    at_05: ThresholdMetrics | None = None
    youden_threshold: float | None = None  # the threshold of at_youden: chosen here, or given (validation's, on test)
    threshold_source: str | None = None  # "youden" or "given"
    at_youden: ThresholdMetrics | None = None
    collapsed: bool | None = None  # every score on one side of 0.5, or constant
    auc_ci95: tuple[float, float] | None = None  # patient bootstrap of ``auc``
    # Under cross-validation: the folds' AUCs and their mean (the objective); ``auc`` is then
    # the pooled out-of-fold predictions', and ``pooled`` says so.
    fold_aucs: tuple[float, ...] | None = None
    mean_fold_auc: float | None = None
    pooled: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this record does not know, kept as stored

    @property
    def is_cv(self) -> bool:
        """Whether these are cross-validation's pooled out-of-fold metrics (they carry fold AUCs)."""
        return bool(self.fold_aucs)

    @property
    def near_collapsed(self) -> bool:
        """Sensitivity or specificity below NEAR_COLLAPSE at the chosen (Youden) threshold."""
        at = self.at_youden
        rates = [] if at is None else [at[SENSITIVITY], at[SPECIFICITY]]
        return any(rate is not None and rate < NEAR_COLLAPSE for rate in rates)

    @classmethod
    def from_record(cls, raw: Any) -> SplitMetrics | None:
        """The metrics in a stored dict (None for anything that is not a dict)."""
        if not isinstance(raw, Mapping):
            return None
        folds = raw.get("fold_aucs")
        collapsed = raw.get("collapsed")
        return cls(
            n=_count(raw.get("n")),
            n_positive=_count(raw.get("n_positive")),
            auc=_number(raw.get("auc")),
            average_precision=_number(raw.get("average_precision")),
            roc=Roc.from_record(raw.get("roc")),
            at_05=ThresholdMetrics.from_record(raw.get("at_0.5")),
            youden_threshold=_number(raw.get("youden_threshold")),
            threshold_source=_text(raw.get("threshold_source")),
            at_youden=ThresholdMetrics.from_record(raw.get("at_youden")),
            collapsed=None if collapsed is None else bool(collapsed),
            auc_ci95=_pair(raw.get("auc_ci95")),
            fold_aucs=tuple(float(v) for v in folds) if isinstance(folds, (list, tuple)) else None,
            mean_fold_auc=_number(raw.get("mean_fold_auc")),
            pooled=_text(raw.get("pooled")),
            extra={k: v for k, v in raw.items() if k not in _FIELDS},
        )

    def to_record(self) -> dict[str, Any]:
        """The plain JSON dict studies store (and ``evaluate_predictions`` returns); unset optional keys left out."""
        out: dict[str, Any] = {
            "n": self.n,
            "n_positive": self.n_positive,
            "auc": self.auc,
            "average_precision": self.average_precision,
            "roc": None if self.roc is None else self.roc.to_record(),
            "at_0.5": None if self.at_05 is None else self.at_05.to_record(),
            "youden_threshold": self.youden_threshold,
            "threshold_source": self.threshold_source,
            "at_youden": None if self.at_youden is None else self.at_youden.to_record(),
            "collapsed": self.collapsed,
        }
        optional = {
            "auc_ci95": None if self.auc_ci95 is None else list(self.auc_ci95),
            "fold_aucs": None if self.fold_aucs is None else list(self.fold_aucs),
            "mean_fold_auc": self.mean_fold_auc,
            "pooled": self.pooled,
        }
        return {**out, **{k: v for k, v in optional.items() if v is not None}, **self.extra}


def near_collapsed(metrics: SplitMetrics | None) -> bool | None:
    """Whether ``metrics`` are near-collapsed (:attr:`SplitMetrics.near_collapsed`); None without metrics."""
    return None if metrics is None else metrics.near_collapsed


__all__ = ["NEAR_COLLAPSE", "Roc", "SplitMetrics", "ThresholdMetrics", "near_collapsed"]
