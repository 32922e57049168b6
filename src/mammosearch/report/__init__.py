"""What people read: leaderboard, terminal view, plots, data summary, progress display, export and model card.

No TensorFlow at import: a report is read without loading a backend.
"""
