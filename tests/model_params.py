"""Small, fast trial parameters for one family (shared by the model, pruning, activation and engine tests)."""

from __future__ import annotations

from mammosearch.spec import AugmentationParams, CnnParams, HeadParams, TrialParams

AUG = AugmentationParams(flip=True, rotation=0.05, zoom=0.1, contrast=0.1)


def params_for(family: str, head: str = "gap_dropout", **extra) -> TrialParams:
    """Small, fast params for one family; keyword arguments override any field."""
    fields = dict(
        family=family, input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=4, epochs=1,
        augmentation=AUG,
        cnn=CnnParams(4, 3, 8, 0.2) if family == "cnn" else None,
        head=None if family == "cnn" else HeadParams(head, 0.2, 8 if head == "dense_bn_dropout" else None),
    )
    return TrialParams(**{**fields, **extra})
