"""The terminal view of a study: leaderboard tables, the per-family summary and the estimates."""

from mammosearch.report.terminal._view import print_data_summary, print_report

__all__ = ["print_data_summary", "print_report"]
