"""PNG figures for reports: ROC overlays, confusion matrices, optimisation history, parameter importances.

Figures are built with :class:`matplotlib.figure.Figure` directly instead of ``pyplot``:
such a figure renders through Agg whatever the process's backend is (so a headless worker
never needs a display and nothing here changes a global backend under a notebook), and it is
never registered in pyplot's figure manager, so thousands of calls leak nothing.

Titles, legends and tick labels come from user input (study names, data set names). They
are drawn as plain text: ``$`` is escaped so ``$x_1$`` is not parsed as mathtext, and
``text.usetex`` is forced off, so no user string can make a plot fail to render.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mammosearch.spec import Roc, SplitMetrics

__all__ = [
    "RocCurve",
    "plot_confusion_matrix",
    "plot_image_rows",
    "plot_optimization_history",
    "plot_param_importances",
    "plot_roc_curves",
]

DPI = 110
_RC: Any = {"text.usetex": False}


def _plain(text: object) -> str:
    """User text as literal matplotlib text: every ``$`` escaped so mathtext never starts."""
    return str(text).replace("$", r"\$")


def _save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (creating parent dirs) and release it."""
    from mammosearch.files import write_atomically

    # Atomic: a kill while a report is written leaves the old plot or the new one.
    write_atomically(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    fig.clear()
    return Path(path)


@dataclass(frozen=True)
class RocCurve:
    """One ROC curve to draw: as stored by :func:`mammosearch.metrics.roc_points`."""

    label: str
    fpr: Sequence[float]
    tpr: Sequence[float]
    auc: float | None = None

    def __post_init__(self) -> None:
        len_fpr, len_tpr = len(self.fpr), len(self.tpr)
        if len_fpr != len_tpr:
            raise ValueError(
                f"`fpr` and `tpr` must have the same length, but got ({len_fpr=}, {len_tpr=})."
            )

    @classmethod
    def from_evaluation(cls, label: str, evaluation: SplitMetrics) -> RocCurve:
        """Build from one split's metrics (:func:`mammosearch.metrics.score_split`); no points without a stored ROC."""
        roc = evaluation.roc or Roc()
        return cls(label=label, fpr=roc.fpr, tpr=roc.tpr, auc=evaluation.auc)


def plot_roc_curves(curves: list[RocCurve], path: Path, title: str) -> Path:
    """Overlay ROC curves with the chance diagonal; each legend entry carries its AUC.

    Curves with no points (a single-class set) still get a legend entry saying so, so a
    missing curve is explained rather than silently absent.
    """
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.add_subplot()
        handles, labels = [], []
        (chance,) = ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1)
        for curve in curves:
            auc = "n/a" if curve.auc is None else f"{curve.auc:.3f}"
            (line,) = ax.plot(list(curve.fpr), list(curve.tpr), linewidth=1.8)
            handles.append(line)
            # Explicit labels: legend() would otherwise drop labels starting with "_".
            labels.append(_plain(f"{curve.label} (AUC = {auc})"))
        handles.append(chance)
        labels.append("chance (AUC = 0.5)")
        ax.legend(handles, labels, loc="lower right", fontsize="small")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_aspect("equal")
        ax.set_xlabel("False positive rate (1 - specificity)")
        ax.set_ylabel("True positive rate (sensitivity)")
        ax.set_title(_plain(title))
        ax.grid(alpha=0.3)
        return _save(fig, path)


def plot_confusion_matrix(
    matrix: list[list[int]],
    path: Path,
    title: str,
    labels: tuple[str, str] = ("benign", "malignant"),
) -> Path:
    """Draw a 2x2 ``[[tn, fp], [fn, tp]]`` matrix (rows true, columns predicted) with counts."""
    cells = [[int(v) for v in row] for row in matrix]
    shape = (len(cells), *{len(row) for row in cells})
    if shape != (2, 2):
        raise ValueError(f"`matrix` must be 2x2 [[tn, fp], [fn, tp]], but got ({matrix=}).")
    if len(labels) != 2:
        raise ValueError(f"`labels` must name 2 classes, but got ({labels=}).")
    peak = max(max(row) for row in cells)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(4.5, 4.0))
        ax = fig.add_subplot()
        image = ax.imshow(cells, cmap="Blues", vmin=0, vmax=max(peak, 1))
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        for i in range(2):
            for j in range(2):
                dark = cells[i][j] > peak / 2
                ax.text(j, i, str(cells[i][j]), ha="center", va="center", fontsize=14,
                        color="white" if dark else "black")
        names = [_plain(name) for name in labels]
        ax.set_xticks([0, 1], names)
        ax.set_yticks([0, 1], names)
        ax.set_xlabel("Predicted")
        ax.set_ylabel("True")
        ax.set_title(_plain(title))
        return _save(fig, path)


def _state_name(state: object) -> str:
    """``"COMPLETE"`` from ``"complete"``, ``"TrialState.COMPLETE"`` or the enum itself."""
    name = getattr(state, "name", None)
    return str(name if name is not None else state).rsplit(".", 1)[-1].upper()


def plot_optimization_history(
    numbers: list[int],
    values: list[float | None],
    states: list[str],
    path: Path,
    title: str,
    *,
    maximize: bool = True,
    value_name: str = "validation AUC",
) -> Path:
    """Objective value per trial with the best-so-far line, for a maximised AUC by default.

    Complete trials are points and feed the best-so-far step line; pruned trials with a value
    (their last reported intermediate AUC) are hollow grey markers and do not count towards the
    best; failed trials are red crosses on the x axis, so a run where everything failed is
    visibly so. Other states (running, waiting) are not drawn.
    """
    len_numbers, len_values, len_states = len(numbers), len(values), len(states)
    if not len_numbers == len_values == len_states:
        raise ValueError(
            "`numbers`, `values` and `states` must have the same length, but got "
            f"({len_numbers=}, {len_values=}, {len_states=})."
        )

    def has_value(v: float | None) -> bool:
        return v is not None and math.isfinite(float(v))

    rows = sorted(zip(numbers, values, [_state_name(s) for s in states]), key=lambda r: r[0])
    complete = [(n, float(v)) for n, v, s in rows if s == "COMPLETE" and v is not None and has_value(v)]
    pruned = [(n, float(v)) for n, v, s in rows if s == "PRUNED" and v is not None and has_value(v)]
    failed = [n for n, _, s in rows if s == "FAIL"]

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 4.0))
        ax = fig.add_subplot()
        if complete:
            xs, ys = zip(*complete)
            best, running = [], None
            for y in ys:
                running = y if running is None else (max if maximize else min)(running, y)
                best.append(running)
            ax.scatter(xs, ys, color="tab:blue", s=22, zorder=3, label="complete")
            ax.step(xs, best, where="post", color="tab:red", linewidth=1.5, label="best so far")
        if pruned:
            xs, ys = zip(*pruned)
            ax.scatter(xs, ys, facecolors="none", edgecolors="0.5", s=22, zorder=2,
                       label="pruned (last value)")
        if failed:
            # Blended transform: x in trial numbers, y in axes fraction (0 = bottom edge).
            ax.plot(failed, [0.0] * len(failed), linestyle="none", marker="x", color="crimson",
                    markersize=7, clip_on=False, transform=ax.get_xaxis_transform(),
                    zorder=4, label="failed")
        if not (complete or pruned or failed):
            ax.text(0.5, 0.5, "no finished trials", ha="center", va="center",
                    transform=ax.transAxes, color="0.4")
        else:
            ax.legend(loc="best", fontsize="small")
        # Trials are counted: ticks at whole numbers only (matplotlib would put 0.5, 1.5 on a few trials).
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("Trial number")
        # Named by the caller: under cross-validation the objective is the mean fold AUC.
        ax.set_ylabel(_plain(f"Objective value ({value_name})"))
        ax.set_title(_plain(title))
        ax.grid(alpha=0.3)
        return _save(fig, path)


def plot_image_rows(rows: list[tuple[str, list[np.ndarray], list[str]]], path: Path, title: str, colour_bar: str | None = None) -> Path:
    """One row per (label, images, captions): uint8 HxWx1 or HxWx3 images shown as they are.

    Captions may hold several lines (a long file name wrapped, never cut); the rows are as tall
    as the longest needs. ``colour_bar``: the label of a jet 0..1 colour bar beside the grid,
    for images that are heat-map overlays.
    """
    n_cols = max([len(images) for _, images, _ in rows] + [1])
    lines = max([caption.count("\n") + 1 for _, _, captions in rows for caption in captions] + [1])
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(1.6 * n_cols + (0.8 if colour_bar else 0.0), (1.75 + 0.13 * lines) * len(rows) + 0.5), layout="constrained")
        axes = figure.subplots(len(rows), n_cols, squeeze=False)
        for r, (label, images, captions) in enumerate(rows):
            for c in range(n_cols):
                ax = axes[r][c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c < len(images):
                    image = images[c]
                    if image.shape[-1] == 1:
                        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
                    else:
                        ax.imshow(image)
                    ax.set_xlabel(_plain(captions[c]), fontsize=7)
                else:
                    ax.axis("off")
            axes[r][0].set_ylabel(_plain(label), fontsize=9)
        if colour_bar:
            from matplotlib.cm import ScalarMappable
            from matplotlib.colors import Normalize

            bar = figure.colorbar(ScalarMappable(norm=Normalize(0.0, 1.0), cmap="jet"), ax=axes.ravel().tolist(), fraction=0.03, pad=0.02)
            bar.set_label(_plain(colour_bar), fontsize=8)
        figure.suptitle(_plain(title), fontsize=9)
        return _save(figure, path)


def plot_param_importances(importances: dict[str, float], path: Path, title: str, value_name: str = "validation AUC") -> Path:
    """Horizontal bars, most important parameter on top, each labelled with its share."""
    if not importances:
        raise ValueError(f"`importances` must name at least one parameter, but got ({importances=}).")
    ranked = sorted(importances.items(), key=lambda item: item[1])  # barh draws bottom-up
    names = [_plain(name) for name, _ in ranked]
    values = [float(value) for _, value in ranked]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.5, 1.2 + 0.45 * len(ranked)))
        ax = fig.add_subplot()
        ax.barh(range(len(values)), values, color="tab:blue")
        ax.set_yticks(range(len(names)), names)
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:.2f}", va="center", fontsize=9)
        ax.set_xlim(0.0, max(1.0, max(values) * 1.15))
        ax.set_xlabel(_plain(f"Importance for the {value_name} (normalised to sum to 1)"))
        ax.set_title(_plain(title))
        ax.grid(axis="x", alpha=0.3)
        return _save(fig, path)
