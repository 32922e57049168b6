"""Where a study lives: the Optuna storage, trial records, result files and the kept models."""
