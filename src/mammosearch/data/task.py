"""What a data set's labels mean: the classification task and its class names.

A model card's intended use and every output that names a class come from here, as the
source says, never from a fixed sentence: a mini-MIAS whole-image model tells normal from
abnormal, not benign from malignant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    name: str  # e.g. benign_vs_malignant, normal_vs_abnormal
    negative: str  # the class of label 0
    positive: str  # the class of label 1 (the model outputs its probability)
    unit: str  # what one image is: a lesion crop, a whole mammogram, a phantom

    @property
    def intended_use(self) -> str:
        return (
            f"research on telling {self.positive} from {self.negative} in {self.unit}s "
            f"(output: the probability of {self.positive}); not a medical device, not validated for clinical use"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "intended_use": self.intended_use, "classes": {"0": self.negative, "1": self.positive}}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Task:
        if not raw:
            return LESION
        return cls(str(raw.get("name", LESION.name)), str(raw.get("negative", LESION.negative)),
                   str(raw.get("positive", LESION.positive)), str(raw.get("unit", LESION.unit)))


LESION = Task("benign_vs_malignant", "benign", "malignant", "lesion image")
