"""The ``evaluation`` section, and the study options that only mean something under cross-validation."""

from __future__ import annotations

from typing import Any

from mammosearch.config.schema import TTA, EvaluationSpec, StudySpec
from mammosearch.spec import Fields


def read_evaluation(fields: Fields, node: Any) -> EvaluationSpec:
    raw = fields.mapping(node, "evaluation", ("cv_folds", "seed", "tta"))
    folds = raw.get("cv_folds")
    return EvaluationSpec(
        cv_folds=None if folds is None else fields.integer(folds, "evaluation.cv_folds", 2, 20),
        seed=fields.integer(raw.get("seed", 0), "evaluation.seed", 0),
        tta=fields.choice(raw.get("tta", "none"), "evaluation.tta", TTA),
    )


def check_cv_options(fields: Fields, study: StudySpec, evaluation: EvaluationSpec) -> None:
    """Refuse, in one line, an option that needs folds in a study without them (it would do nothing, silently)."""
    if evaluation.cv_folds is not None:
        return
    if study.pruner.name == "wilcoxon":
        raise fields.fail("study.pruner", "wilcoxon pairs fold k of a trial with fold k of the best trial, so it needs "
                                          "cross-validation: set evaluation.cv_folds (e.g. 5), or use the median pruner")
    if study.keep_fold_models:
        raise fields.fail("study.keep_fold_models", "there are fold models only under cross-validation: set evaluation.cv_folds, or drop this key")
