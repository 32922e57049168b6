"""Many trials: the run dispatch, study set-up, the trial loop, recycled children, workers, KerasTuner."""

from mammosearch.search.joining import JoinRequest, LogListener, join_study
from mammosearch.search.loop import run_trials
from mammosearch.search.opened import open_prepared
from mammosearch.search.options import RunOptions
from mammosearch.search.run import run_kerastuner, run_study
from mammosearch.search.samplers import describe_pruner, make_pruner, make_sampler, wilcoxon_earliest_fold
from mammosearch.search.seeding import TrialSeededSampler
from mammosearch.search.study import finished_trials, setup_study

__all__ = [
    "JoinRequest",
    "LogListener",
    "RunOptions",
    "TrialSeededSampler",
    "describe_pruner",
    "finished_trials",
    "join_study",
    "make_pruner",
    "make_sampler",
    "open_prepared",
    "run_kerastuner",
    "run_study",
    "run_trials",
    "setup_study",
    "wilcoxon_earliest_fold",
]
