"""The terminal view of a study: leaderboard tables, the per-family summary and the estimates."""

from mammosearch.report.terminal._fit import fitting_columns, rates_to_drop
from mammosearch.report.terminal._view import print_data_summary, print_report

__all__ = ["fitting_columns", "print_data_summary", "print_report", "rates_to_drop"]
