"""One trial: sampling, the memory plan, the runner (full network or cached activations), linear probes, and its TrialOutcome.

This face loads no backend; the Keras part of a trial (fitting, augmented views, callbacks,
scoring) is the sub-package ``trial.fit``, its own face.
"""

from mammosearch.trial.activations import ActivationCache, ActivationKey, extract
from mammosearch.trial.memory_plan import BatchCaps, batch_caps
from mammosearch.trial.param_names import choose_names, first_distributions, plain_name
from mammosearch.trial.probe import linear_probes, pretrained_families
from mammosearch.trial.runner import TrialRunner
from mammosearch.trial.sampling import sample_params, space_distributions

__all__ = [
    "ActivationCache",
    "ActivationKey",
    "BatchCaps",
    "TrialRunner",
    "batch_caps",
    "choose_names",
    "extract",
    "first_distributions",
    "linear_probes",
    "plain_name",
    "pretrained_families",
    "sample_params",
    "space_distributions",
]
