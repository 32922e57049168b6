"""The all-pairs near-duplicate distances: 64-bit popcounts against the byte look-up table.

    python benchmarks/near_duplicates.py --n 50000

Random 256-bit hashes (the 16x16 pHash the data checks use); every row against every row,
in the check's chunks. The byte table is timed on the first rows only and scaled up (it
takes minutes at 50k), and both must give the same distances.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mammosearch.data.checks._duplicates as duplicates


def byte_table(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return duplicates._BITS_SET[a[:, None, :] ^ b[None, :, :]].sum(axis=-1, dtype=np.uint16)


def seconds(distance, hashes: np.ndarray, rows: int) -> float:
    started = time.perf_counter()
    for start in range(0, rows, duplicates._CHUNK):
        distance(hashes[start : start + duplicates._CHUNK], hashes)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--sample-rows", type=int, default=3200, help="rows timed for the byte table, scaled to all")
    args = parser.parse_args()
    hashes = np.random.default_rng(0).integers(0, 256, (args.n, duplicates.HASH_SIZE**2 // 8), dtype=np.uint8)
    assert np.array_equal(duplicates.hamming(hashes[:64], hashes), byte_table(hashes[:64], hashes))
    popcount = seconds(duplicates.hamming, hashes, args.n)
    table = seconds(byte_table, hashes, args.sample_rows) * args.n / args.sample_rows
    print(f"{args.n:,} hashes, all pairs: popcount {popcount:.1f} s, byte table {table:.1f} s (from {args.sample_rows} rows), {table / popcount:.1f}x")


if __name__ == "__main__":
    main()
