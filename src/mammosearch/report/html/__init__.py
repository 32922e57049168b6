"""The HTML report: one self-contained page, its facts and its parts."""

from mammosearch.report.html._page import CV_AUC_COLUMNS, LEADERBOARD, page_columns, render_html, write_html

__all__ = ["CV_AUC_COLUMNS", "LEADERBOARD", "page_columns", "render_html", "write_html"]
