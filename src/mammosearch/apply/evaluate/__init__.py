"""``evaluate``: scores and metrics on a labelled set, with the files and the space it writes."""

from mammosearch.apply.evaluate._files import write_evaluation
from mammosearch.apply.evaluate._run import evaluate_model, refuse_other_framing, refuse_shared_patients
from mammosearch.apply.evaluate._space import evaluation_space

__all__ = ["evaluate_model", "evaluation_space", "refuse_other_framing", "refuse_shared_patients", "write_evaluation"]
