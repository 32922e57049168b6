"""One trial: sampling, training (full network or cached activations), pruning, and its TrialOutcome."""
