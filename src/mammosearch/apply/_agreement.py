"""How closely a score computed again must equal the score the study stored: one tolerance.

Not bit for bit: float32 sums are not associative, and CPU kernels order them by the
instruction set (SSE, AVX2, AVX-512), the library (oneDNN or Eigen in TensorFlow, XLA in
JAX) and the batch shape (one image alone takes another kernel than a batch of 16). So the
same model on the same pixels gives probabilities a few float32 steps apart on another
machine, or on this one when an image is scored alone. A fixed, padded batch shape would
not make it exact either: on the machine that reported this, the two differing scores
(0.49561527 and 0.49561524 for one image as DICOM and as PNG) were two rows of one batch.

``SCORE_TOLERANCE`` is an absolute bound on the probability. ``benchmarks/score_drift.py``
scores the same images with oneDNN kernels, Eigen kernels, oneDNN limited to SSE4.1, JAX's
XLA, and one image a batch, each model with a head that spreads the logits over about +-4:
the largest difference was 5.2e-6 for the search's CNN shape at 64 px, 3.4e-6 for VGG16
with ImageNet weights at 96 px and 1.3e-5 for ResNet50 at 160 px (a float32 step at 0.5 is
6e-8). 1e-4 leaves about eight times the worst of these for deeper sums on larger images,
and is no larger than the last of the 4 decimals a threshold is printed with. Differences
above it mean another model, other weights or other preprocessing, not rounding. A score
closer than this to a threshold can take the other label on another machine. It holds for
``precision: float32`` (the default); a mixed-precision model computes in 16-bit floats and
agrees only to their precision (bfloat16 keeps 8 bits of mantissa).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SCORE_TOLERANCE = 1e-4  # absolute, on probabilities in 0..1 (see the module docstring for its size)


def scores_agree(a: float, b: float) -> bool:
    return abs(a - b) <= SCORE_TOLERANCE


@dataclass(frozen=True)
class Agreement:
    """How the scores computed now compare with those the study stored for the same images."""

    compared: int
    within: int  # within SCORE_TOLERANCE
    identical: int  # equal bit for bit (usual on the machine and batch layout that stored them)
    largest: float

    @property
    def all_within(self) -> bool:
        return self.within == self.compared

    def summary(self) -> str:
        return (f"{self.compared} image(s) the study scored: {self.within} within {SCORE_TOLERANCE:g} of the stored score "
                f"({self.identical} identical), largest difference {self.largest:.2e}")


def agreement(pairs: Iterable[tuple[float, float]]) -> Agreement | None:
    """``(new, stored)`` score pairs compared; None when there are none."""
    pairs = list(pairs)
    if not pairs:
        return None
    return Agreement(len(pairs), sum(1 for a, b in pairs if scores_agree(a, b)), sum(1 for a, b in pairs if a == b),
                     max(abs(a - b) for a, b in pairs))
