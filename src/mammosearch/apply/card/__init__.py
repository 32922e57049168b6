"""The model card: ``model_card.json`` (the facts) and ``MODEL_CARD.md`` (the same for a reviewer, every value escaped)."""

from mammosearch.apply.card._facts import model_card, patient_digest, predictive_values
from mammosearch.apply.card._markdown import model_card_markdown

__all__ = ["model_card", "model_card_markdown", "patient_digest", "predictive_values"]
