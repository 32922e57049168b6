"""How closely a score computed again must equal the score the study stored: one tolerance.

Not bit for bit: float32 sums are not associative, and CPU kernels order them by the
instruction set (SSE, AVX2, AVX-512), the library (oneDNN or Eigen in TensorFlow, XLA in
JAX) and the batch shape (one image alone takes another kernel than a batch of 16; on some
machines a row's position in the batch matters too). So the same model on the same pixels
gives probabilities a few float32 steps apart on another machine, or even on this one when
an image is batched with other images; padding batches to one shape does not remove that.

``SCORE_TOLERANCE`` is an absolute bound on the probability. Measured here between oneDNN
and Eigen kernels, oneDNN limited to SSE4.1, JAX's XLA, and batch size 1 against 16: a
3-layer CNN moved by at most 1.2e-7 (two float32 steps at 0.5), VGG16 with ImageNet weights
at 96 px by 1.1e-6, ResNet50 at 160 px by 8.8e-6 (its 2048 features agree to 4e-7 relative,
and a head that spreads nearly equal features over logits of +-4 magnifies that). 1e-4
leaves ten times the worst of these for deeper sums on larger images, and is no larger
than the last of the 4 decimals a threshold is printed with. Differences above it mean another model, other
weights or other preprocessing, not rounding. A score closer than this to a threshold can
take the other label on another machine. It holds for ``precision: float32`` (the default);
a mixed-precision model computes in 16-bit floats and agrees only to their precision
(bfloat16 keeps 8 bits of mantissa).
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
