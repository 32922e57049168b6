"""Decode speed: one core against every core (threads and processes), same pixels.

    python benchmarks/decode_speed.py [--n 200]

Writes N 640 px JPEGs and N 1024 px PNGs of synthetic phantoms into a temporary folder,
then decodes and resizes them to 224 px: one at a time at full size (the loop before
parallel decoding), and with `data.decode_many.decode_all` serially (JPEG draft mode), with
a thread pool and with a process pool; prints images per second and whether every pool gave
the serial arrays. A script, not a test: the figures belong to the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mammosearch.data import SyntheticSpec, generate_synthetic
from mammosearch.data.decode import decode_all, decode_file, to_square, workers


def write_files(folder: Path, n: int) -> dict[str, list[Path]]:
    """Phantoms rendered at 256 px and upscaled: mammogram-like content that compresses like a scan."""
    images, _, _ = generate_synthetic(SyntheticSpec(n_images=n, image_size=256, seed=0))
    files: dict[str, list[Path]] = {"640 px JPEG": [], "1024 px PNG": []}
    for i, image in enumerate(images[:, :, :, 0]):
        picture = Image.fromarray(image)
        jpeg, png = folder / f"{i:05d}.jpg", folder / f"{i:05d}.png"
        picture.resize((640, 640), Image.Resampling.BICUBIC).save(jpeg, quality=92)
        picture.resize((1024, 1024), Image.Resampling.BICUBIC).save(png)
        files["640 px JPEG"].append(jpeg)
        files["1024 px PNG"].append(png)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="images of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), args.n)
        print(f"{workers()} worker(s); {args.n} images of each kind, decoded and resized to 224 px")
        print(f"{'files':<14}{'full decode':>13}{'serial':>12}{'threads':>12}{'processes':>12}   same pixels")
        for kind, paths in files.items():
            rates, arrays = {}, {}
            started = time.perf_counter()
            for path in paths:  # the loop before this change: one core, every JPEG decoded at full size
                to_square(decode_file(path, "grayscale").pixels, 224)
            rates["full"] = len(paths) / (time.perf_counter() - started)
            for pool in ("serial", "threads", "processes"):
                started = time.perf_counter()
                decoded = decode_all(paths, "grayscale", 224, pool=pool)  # type: ignore[arg-type]
                rates[pool] = len(paths) / (time.perf_counter() - started)
                arrays[pool] = np.stack([d.pixels for d in decoded])
            same = all(np.array_equal(arrays["serial"], arrays[p]) for p in ("threads", "processes"))
            print(f"{kind:<14}{rates['full']:>11.0f}/s" + "".join(f"{rates[p]:>10.0f}/s" for p in ("serial", "threads", "processes")) + f"   {same}")


if __name__ == "__main__":
    main()
