"""What people read: leaderboard, terminal view, HTML page, plots, data summary, progress display, workers. (Export and the model card are in apply/.)

No TensorFlow at import: a report is read without loading a backend.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what mypy and a reader see; at run time each name loads on first use (mammosearch/lazy.py)
    from mammosearch.report._time_summary import time_summary
    from mammosearch.report.data_summary import sample_grid, summarize
    from mammosearch.report.ensemble import ensemble_scores, members, selection_mean
    from mammosearch.report.estimates import bbc_estimate, honest_test
    from mammosearch.report.evaluation_plots import plot_precision_recall, plot_reliability
    from mammosearch.report.fingerprint_view import print_fingerprint
    from mammosearch.report.leaderboard import build_report, report_json_text
    from mammosearch.report.plots import RocCurve, plot_confusion_matrix, plot_image_rows, plot_roc_curves
    from mammosearch.report.predictors import NOT_OUT_OF_FOLD
    from mammosearch.report.progress import RichStudyListener
    from mammosearch.report.stage_display import StageDisplay
    from mammosearch.report.subgroups import read_predictions, subgroup_aucs
else:
    from mammosearch.lazy import lazy_attributes

    __getattr__, __dir__ = lazy_attributes(
        __name__,
        {
            "_time_summary": ("time_summary",),
            "data_summary": ("sample_grid", "summarize"),
            "ensemble": ("ensemble_scores", "members", "selection_mean"),
            "estimates": ("bbc_estimate", "honest_test"),
            "evaluation_plots": ("plot_precision_recall", "plot_reliability"),
            "fingerprint_view": ("print_fingerprint",),
            "leaderboard": ("build_report", "report_json_text"),
            "plots": ("RocCurve", "plot_confusion_matrix", "plot_image_rows", "plot_roc_curves"),
            "predictors": ("NOT_OUT_OF_FOLD",),
            "progress": ("RichStudyListener",),
            "stage_display": ("StageDisplay",),
            "subgroups": ("read_predictions", "subgroup_aucs"),
        },
    )

__all__ = [
    "NOT_OUT_OF_FOLD",
    "RichStudyListener",
    "RocCurve",
    "StageDisplay",
    "bbc_estimate",
    "build_report",
    "ensemble_scores",
    "honest_test",
    "members",
    "plot_confusion_matrix",
    "plot_image_rows",
    "plot_precision_recall",
    "plot_reliability",
    "plot_roc_curves",
    "print_fingerprint",
    "read_predictions",
    "report_json_text",
    "sample_grid",
    "selection_mean",
    "subgroup_aucs",
    "summarize",
    "time_summary",
]
