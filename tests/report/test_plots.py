from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mammosearch.metrics import score_split
from mammosearch.report import RocCurve, plot_confusion_matrix, plot_roc_curves
from mammosearch.report.plots import plot_optimization_history

NASTY_TITLE = "study $x_1$ <b> 100% _private \\$"


def _assert_png(path: Path, min_side: int = 200, max_side: int = 2000) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert min_side <= width <= max_side and min_side <= height <= max_side
        # Not a blank canvas.
        assert len(set(image.convert("L").getdata())) > 2


def test_roc_curves(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    good = score_split(y, y * 0.5 + rng.random(100) * 0.7)
    curves = [
        RocCurve.from_evaluation("val $A$", good),
        RocCurve(label="_test", fpr=[0.0, 0.5, 1.0], tpr=[0.0, 0.7, 1.0], auc=0.6),
        RocCurve.from_evaluation("single class", score_split([1, 1], [0.2, 0.9])),
    ]
    out = plot_roc_curves(curves, tmp_path / "nested" / "dir" / "roc.png", NASTY_TITLE)
    assert out == tmp_path / "nested" / "dir" / "roc.png"
    _assert_png(out)
    with Image.open(out) as image:  # square axes give a roughly square figure
        width, height = image.size
        assert 0.8 < width / height < 1.25


def test_roc_curve_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        RocCurve(label="x", fpr=[0.0, 1.0], tpr=[0.0])


def test_confusion_matrix(tmp_path: Path) -> None:
    out = plot_confusion_matrix([[50, 3], [7, 40]], tmp_path / "cm.png", NASTY_TITLE)
    _assert_png(out)
    _assert_png(plot_confusion_matrix([[0, 0], [0, 0]], tmp_path / "zero.png", "empty",
                                      labels=("$ben$", "mal")))
    with pytest.raises(ValueError, match="2x2"):
        plot_confusion_matrix([[1, 2, 3], [4, 5, 6]], tmp_path / "bad.png", "bad")


def test_optimization_history(tmp_path: Path) -> None:
    numbers = [3, 0, 1, 2, 4, 5, 6]
    values = [0.71, 0.55, None, 0.62, 0.5, float("nan"), None]
    states = ["COMPLETE", "complete", "FAIL", "TrialState.PRUNED", "PRUNED", "COMPLETE", "RUNNING"]
    out = plot_optimization_history(numbers, values, states, tmp_path / "h.png", NASTY_TITLE)
    _assert_png(out)


def test_optimization_history_edge_cases(tmp_path: Path) -> None:
    _assert_png(plot_optimization_history([], [], [], tmp_path / "empty.png", "none"))
    _assert_png(plot_optimization_history([0, 1], [None, None], ["FAIL", "FAIL"],
                                          tmp_path / "fail.png", "all failed"))
    with pytest.raises(ValueError, match="same length"):
        plot_optimization_history([0, 1], [0.5], ["COMPLETE"], tmp_path / "x.png", "t")


@pytest.mark.slow
def test_no_figure_leak_and_no_pyplot_state(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for i in range(15):
        plot_confusion_matrix([[i, 1], [2, 3]], tmp_path / f"cm{i}.png", f"run {i}")
    assert plt.get_fignums() == before


@pytest.mark.parametrize("numbers", [[0, 1, 2], [0, 1], [7]])
def test_the_history_axis_counts_trials_in_whole_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numbers: list[int]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mammosearch.report import plots

    ticks: list[float] = []
    real_save = plots._save

    def save_after_reading_ticks(fig, path):  # the real save, after reading the ticks the PNG will show
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        low, high = ax.get_xlim()
        ticks.extend(t for t in ax.get_xticks() if low <= t <= high)
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", save_after_reading_ticks)
    _assert_png(plots.plot_optimization_history(numbers, [0.6] * len(numbers), ["COMPLETE"] * len(numbers), tmp_path / "h.png", "few"))
    assert ticks and all(float(t).is_integer() for t in ticks), ticks  # matplotlib's default puts 0.25, 0.5, ... on a few trials
