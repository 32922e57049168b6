"""PNG figures of an external evaluation: precision-recall and reliability (calibration) curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mammosearch.report.plots import _RC, _plain, _save


def _unit_axes(ax: Axes, xlabel: str, ylabel: str, title: str, legend: Literal["lower left", "upper left"], top: float = 1.0) -> None:
    """Both axes 0..1 (probabilities and rates), labelled, with a grid and a legend."""
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, top)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(_plain(title))
    ax.legend(loc=legend, fontsize="small")
    ax.grid(alpha=0.3)


def plot_precision_recall(pr: dict[str, list[float]], prevalence: float, average_precision: float | None, path: Path, title: str) -> Path:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.add_subplot()
        ap = "n/a" if average_precision is None else f"{average_precision:.3f}"
        ax.plot(pr["recall"], pr["precision"], linewidth=1.8, label=f"model (AP = {ap})")
        ax.axhline(prevalence, linestyle="--", color="0.6", linewidth=1, label=f"chance (prevalence {prevalence:.2f})")
        _unit_axes(ax, "Recall (sensitivity)", "Precision (positive predictive value)", title, "lower left", top=1.02)
        return _save(fig, path)


def plot_reliability(calibration: dict[str, Any], path: Path, title: str) -> Path:
    """Observed share of positives against the mean predicted probability per bin; marker area ~ images."""
    bins = calibration["bins"]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, label="perfectly calibrated")
        if bins:
            largest = max(b["n"] for b in bins)
            predicted, observed = [b["mean_predicted"] for b in bins], [b["observed"] for b in bins]
            ax.plot(predicted, observed, linewidth=1.5, color="C0")
            ax.scatter(predicted, observed, s=[20 + 180 * b["n"] / largest for b in bins], color="C0",
                       label=f"model (Brier {calibration['brier']:.3f})", zorder=3)
        ax.set_aspect("equal")
        _unit_axes(ax, "Mean predicted probability", "Observed share positive", title, "upper left")
        return _save(fig, path)
