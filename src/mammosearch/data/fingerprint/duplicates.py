"""Near-duplicate images across splits, by perceptual hash (imagehash's pHash).

Byte-identical files are reported by the loaders; a pHash also finds the same scan saved
twice in another format, resized, or re-windowed, which leaks just as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DISTANCE = 4  # of 64 hash bits: re-encodings and small edits, not different breasts
_CHUNK = 256  # rows of the pairwise distance matrix computed at once (memory: 8 bytes x rows x images)
_BITS_SET = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class NearDuplicate:
    a: str
    b: str
    split_a: str
    split_b: str
    distance: int


def phashes(images: np.ndarray) -> np.ndarray:
    """One 64-bit perceptual hash per image, as uint64."""
    import imagehash
    from PIL import Image

    out = np.empty(len(images), dtype=np.uint64)
    for i, image in enumerate(images):
        gray = image[:, :, 0] if image.shape[2] == 1 else image.mean(axis=2).astype(np.uint8)
        bits = imagehash.phash(Image.fromarray(np.ascontiguousarray(gray))).hash.flatten()
        out[i] = np.packbits(bits).view(">u8")[0]
    return out


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64, by a byte look-up table."""
    return _BITS_SET[values.view(np.uint8)].reshape(*values.shape, 8).sum(axis=-1, dtype=np.uint8)


def near_duplicates_across_splits(images: np.ndarray, sources: np.ndarray, splits: np.ndarray, max_distance: int = MAX_DISTANCE) -> list[NearDuplicate]:
    hashes = phashes(images)
    found: list[NearDuplicate] = []
    for start in range(0, len(hashes), _CHUNK):
        block = hashes[start : start + _CHUNK]
        distances = _popcount(block[:, None] ^ hashes[None, :])
        rows, cols = np.nonzero(distances <= max_distance)
        for row, col in zip(rows, cols):
            i, j = start + int(row), int(col)
            if j > i and splits[i] != splits[j]:
                found.append(NearDuplicate(str(sources[i]), str(sources[j]), str(splits[i]), str(splits[j]), int(distances[row, col])))
    return found


def warnings_for(pairs: list[NearDuplicate]) -> list[str]:
    if not pairs:
        return []
    shown = "; ".join(f"{p.a} ({p.split_a}) ~ {p.b} ({p.split_b})" for p in pairs[:3])
    return [f"{len(pairs)} near-duplicate pair(s) cross splits (pHash distance <= {MAX_DISTANCE}), possible leakage: {shown}"]
