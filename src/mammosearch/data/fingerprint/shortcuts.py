"""Can the label be predicted from how the images were acquired, without looking at the lesion?

A logistic regression on acquisition statistics only (intensity histogram, corner
brightness, the inverted flag, stored size and aspect ratio and bit depth where they
vary) is fitted on the training split and scored on validation and test, with a 95%
bootstrap interval over patients. An interval above 0.5 means the labels can be told
apart by something other than the lesion (site, scanner, export), or, for tight lesion
crops, by the lesion's own brightness: the statistic that carries most of it is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mammosearch.metrics import bootstrap_auc_ci, evaluate_predictions

HISTOGRAM_BINS = 16
CORNER = 0.08  # side of a corner patch, as a share of the image side


@dataclass(frozen=True)
class SplitScore:
    auc: float
    ci95: tuple[float, float] | None


@dataclass(frozen=True)
class ShortcutCheck:
    statistics: tuple[str, ...]  # the groups of statistics the model saw
    scores: dict[str, SplitScore] = field(default_factory=dict)  # split -> AUC with CI
    strongest: str | None = None  # the group that alone predicts best on the scored split
    strongest_auc: float | None = None

    @property
    def scored_split(self) -> str | None:
        return "val" if "val" in self.scores else next(iter(self.scores), None)

    @property
    def predicts_label(self) -> bool:
        split = self.scored_split
        ci = None if split is None else self.scores[split].ci95
        return ci is not None and ci[0] > 0.5


def statistics(images: np.ndarray, looks_inverted: np.ndarray, heights: np.ndarray, widths: np.ndarray, bits: np.ndarray) -> dict[str, np.ndarray]:
    """Groups of per-image acquisition statistics (rows: images)."""
    gray = images.mean(axis=3) if images.shape[3] > 1 else images[:, :, :, 0].astype(np.float64)
    n, size = len(gray), gray.shape[1]
    histogram = np.stack([np.histogram(g, bins=HISTOGRAM_BINS, range=(0, 256))[0] for g in gray]).astype(np.float64) / (size * size)
    k = max(1, int(size * CORNER))
    corners = np.stack([gray[:, :k, :k].mean((1, 2)), gray[:, :k, -k:].mean((1, 2)), gray[:, -k:, :k].mean((1, 2)), gray[:, -k:, -k:].mean((1, 2))], axis=1)
    groups = {
        "intensity histogram": histogram,
        "corner brightness": np.sort(corners, axis=1),
        "inverted flag": looks_inverted.astype(np.float64).reshape(n, 1),
    }
    if len(np.unique(heights)) > 1 or len(np.unique(widths)) > 1:
        groups["stored size and aspect ratio"] = np.stack([np.log(heights), np.log(widths), np.log(heights / widths)], axis=1)
    if len(np.unique(bits)) > 1:
        groups["bit depth"] = bits.astype(np.float64).reshape(n, 1)
    # A group that does not vary tells nothing and only upsets the scaler.
    return {name: values for name, values in groups.items() if np.ptp(values, axis=0).max() > 0}


def _fit_score(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
    model.fit(train_x, train_y)
    return np.asarray(model.predict_proba(x)[:, 1])


def check_shortcuts(groups: dict[str, np.ndarray], labels: np.ndarray, patient_ids: np.ndarray, splits: np.ndarray) -> ShortcutCheck | None:
    """None when there is nothing to fit (no statistic varies, or a split lacks a class)."""
    train = splits == "train"
    if not groups or len(np.unique(labels[train])) < 2:
        return None
    everything = np.concatenate(list(groups.values()), axis=1)
    scores: dict[str, SplitScore] = {}
    for split in ("val", "test"):
        mask = splits == split
        if len(np.unique(labels[mask])) < 2:
            continue
        predicted = _fit_score(everything[train], labels[train], everything[mask])
        auc = evaluate_predictions(labels[mask], predicted)["auc"]
        ci = bootstrap_auc_ci(labels[mask], predicted, groups=patient_ids[mask], n_boot=1000, seed=0)
        scores[split] = SplitScore(float(auc), None if ci is None else (float(ci[0]), float(ci[1])))
    check = ShortcutCheck(tuple(groups), scores)
    scored = check.scored_split
    if scored is None:
        return check
    mask = splits == scored
    alone = {name: float(evaluate_predictions(labels[mask], _fit_score(values[train], labels[train], values[mask]))["auc"]) for name, values in groups.items()}
    strongest = max(alone, key=lambda name: abs(alone[name] - 0.5))
    return ShortcutCheck(check.statistics, scores, strongest, alone[strongest])


def warnings_for(check: ShortcutCheck | None) -> list[str]:
    if check is None or not check.predicts_label:
        return []
    split = check.scored_split
    assert split is not None
    score = check.scores[split]
    assert score.ci95 is not None
    return [
        f"the labels can be predicted without looking at the lesion: acquisition statistics alone give {split} AUC "
        f"{score.auc:.3f} (95% CI {score.ci95[0]:.3f}-{score.ci95[1]:.3f}); most of it from the {check.strongest} "
        f"(AUC {check.strongest_auc:.3f} alone)"
    ]
