"""Can the label be predicted from how the images were acquired, without looking at the lesion?

A logistic regression on image and acquisition statistics only (intensity histogram,
corner brightness, the inverted flag, stored size and aspect ratio and bit depth where
they vary) is fitted on the training split and scored on validation and test, with a
95% bootstrap interval over patients. It is a quick check, untuned and on the training split
only; the baseline a search must beat is the study's trivial baseline (data/baselines.py:
the same statistics, tuned, on the study's own folds), so the two figures differ. A second
fit leaves the histogram out: the histogram also sees the lesion when it fills the image
(tight crops, small images), the other statistics never do. When that second interval is
above 0.5, the labels can be told apart by the acquisition (site, scanner, export) alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mammosearch.data.arrays import chunks, rows_within
from mammosearch.data.baselines import fit_predict
from mammosearch.metrics import evaluate_predictions, patient_auc_ci
from mammosearch.progress import stage

HISTOGRAM_BINS = 16
CORNER = 0.08  # side of a corner patch, as a share of the image side
HISTOGRAM = "intensity histogram"  # the one statistic that can see the lesion itself


@dataclass(frozen=True)
class SplitScore:
    auc: float
    ci95: tuple[float, float] | None


@dataclass(frozen=True)
class ShortcutCheck:
    statistics: tuple[str, ...]  # the groups of statistics the model saw
    scores: dict[str, SplitScore] = field(default_factory=dict)  # split -> AUC with CI, every statistic
    acquisition: dict[str, SplitScore] = field(default_factory=dict)  # the same without the histogram
    strongest: str | None = None  # the group that alone predicts best on the scored split
    strongest_auc: float | None = None

    @property
    def scored_split(self) -> str | None:
        return "val" if "val" in self.scores else next(iter(self.scores), None)

    def _above_chance(self, scores: dict[str, SplitScore]) -> bool:
        split = self.scored_split
        ci = None if split is None or split not in scores else scores[split].ci95
        return ci is not None and ci[0] > 0.5

    @property
    def predicts_label(self) -> bool:
        """Image statistics alone (the histogram included) tell the classes apart."""
        return self._above_chance(self.scores)

    @property
    def acquisition_predicts_label(self) -> bool:
        """Statistics that never see the lesion tell the classes apart: a shortcut."""
        return self._above_chance(self.acquisition)


def _gray(pixels: np.ndarray) -> np.ndarray:
    """The gray value each statistic reads: the pixel itself (uint8) for grayscale, the channels' float64 mean for colour."""
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels.mean(axis=-1)


def _histograms(gray: np.ndarray) -> np.ndarray:
    """Per image, the counts ``np.histogram(g, HISTOGRAM_BINS, range=(0, 256))`` gives, from one ``bincount``.

    The bins are 256 / HISTOGRAM_BINS wide, a power of two, so ``floor(g / width)`` is
    exactly the bin ``np.histogram`` assigns (integer division for uint8 gray values); a
    loop of ``np.histogram`` costs about a minute at 50,000 images of 256 px.
    """
    rows, width = len(gray), 256 // HISTOGRAM_BINS
    flat = gray.reshape(rows, -1)
    bins = (flat // width if flat.dtype == np.uint8 else np.minimum(np.floor(flat * (1 / width)), HISTOGRAM_BINS - 1)).astype(np.intp)
    bins += (np.arange(rows) * HISTOGRAM_BINS)[:, None]  # each image its own block of bins
    return np.bincount(bins.ravel(), minlength=rows * HISTOGRAM_BINS).reshape(rows, HISTOGRAM_BINS)


def statistics(images: np.ndarray, looks_inverted: np.ndarray, heights: np.ndarray, widths: np.ndarray, bits: np.ndarray) -> dict[str, np.ndarray]:
    """Groups of per-image acquisition statistics (rows: images)."""
    n, size = len(images), images.shape[1]
    histogram = np.empty((n, HISTOGRAM_BINS))
    corners = np.empty((n, 4))
    k = max(1, int(size * CORNER))
    # A chunk at a time: a float64 or index copy of a whole large set would be 8 times its pixels
    # (two arrays of the chunk's size are alive at once: the gray values and the bins).
    with stage("image statistics", n, "images") as progress:
        for start, chunk in chunks(images, rows_within(images, item_bytes=2 * 8)):
            gray = _gray(chunk)
            histogram[start : start + len(gray)] = _histograms(gray) / (size * size)
            # Means of uint8 values accumulate in float64 exactly (integer sums), as a float64 copy would.
            corners[start : start + len(gray)] = np.stack(
                [gray[:, :k, :k].mean((1, 2)), gray[:, :k, -k:].mean((1, 2)), gray[:, -k:, :k].mean((1, 2)), gray[:, -k:, -k:].mean((1, 2))], axis=1)
            progress.advance(len(gray))
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


def check_shortcuts(groups: dict[str, np.ndarray], labels: np.ndarray, patient_ids: np.ndarray, splits: np.ndarray) -> ShortcutCheck | None:
    """None when there is nothing to fit (no statistic varies, or a split lacks a class)."""
    train = splits == "train"
    if not groups or len(np.unique(labels[train])) < 2:
        return None
    everything = np.concatenate(list(groups.values()), axis=1)
    acquisition_groups = [values for name, values in groups.items() if name != HISTOGRAM]
    acquisition = np.concatenate(acquisition_groups, axis=1) if acquisition_groups else None

    def scored(features: np.ndarray) -> dict[str, SplitScore]:
        result: dict[str, SplitScore] = {}
        for split in ("val", "test"):
            mask = splits == split
            if len(np.unique(labels[mask])) < 2:
                continue
            predicted = fit_predict(features[train], labels[train], features[mask], tune=False)
            auc = evaluate_predictions(labels[mask], predicted)["auc"]
            ci = patient_auc_ci(labels[mask], predicted, patient_ids[mask])
            result[split] = SplitScore(float(auc), None if ci is None else (ci[0], ci[1]))
        return result

    check = ShortcutCheck(tuple(groups), scored(everything), {} if acquisition is None else scored(acquisition))
    chosen = check.scored_split
    if chosen is None:
        return check
    mask = splits == chosen
    alone = {name: float(evaluate_predictions(labels[mask], fit_predict(values[train], labels[train], values[mask], tune=False))["auc"]) for name, values in groups.items()}
    # Under a shortcut, the statistic to name is the strongest of those that cannot see the lesion.
    candidates = [name for name in alone if name != HISTOGRAM] if check.acquisition_predicts_label else list(alone)
    strongest = max(candidates, key=lambda name: abs(alone[name] - 0.5))
    return ShortcutCheck(check.statistics, check.scores, check.acquisition, strongest, alone[strongest])


def warnings_for(check: ShortcutCheck | None) -> list[str]:
    if check is None or not (check.predicts_label or check.acquisition_predicts_label):
        return []
    split = check.scored_split
    assert split is not None
    if check.acquisition_predicts_label:
        score = check.acquisition[split]
        assert score.ci95 is not None
        return [
            f"the labels can be predicted without looking at the lesion: acquisition statistics alone give {split} AUC "
            f"{score.auc:.3f} (95% CI {score.ci95[0]:.3f}-{score.ci95[1]:.3f}); most of it from the {check.strongest} "
            f"(AUC {check.strongest_auc:.3f} alone)"
        ]
    score = check.scores[split]
    assert score.ci95 is not None
    return [
        f"image statistics alone (mostly the {check.strongest}) give {split} AUC {score.auc:.3f} "
        f"(95% CI {score.ci95[0]:.3f}-{score.ci95[1]:.3f}): expected when the lesion fills the image (crops, small "
        f"images); otherwise compare the windowing and exports of the two classes. A search must beat the trivial "
        f"baseline `report` shows (the same statistics, on the study's own folds)"
    ]
