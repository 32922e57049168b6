"""Many trials: the run dispatch, study set-up, the trial loop, recycled children, workers, KerasTuner."""
