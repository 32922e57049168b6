"""Peak memory of decoding one large 16-bit image: a PNG and a DICOM of a full-field detector's size.

    python benchmarks/decode_memory.py [--size 4096x5632] [--before OLD_SRC]

Writes a 16-bit PNG and a 16-bit DICOM (12 bits stored, a window and a rescale, as a
mammography export has) of the given size, then decodes each with ``decode_file`` in a
fresh child process and prints the peak traced by ``tracemalloc`` (numpy's arrays and
Python's objects; not Pillow's own buffers) and the child's peak resident set
(``ru_maxrss``, everything), both minus what the child held before decoding.
``--before`` repeats it with another source tree first on the path (e.g. the code before a
change, extracted with ``git archive <commit> src | tar -x -C /tmp/old``). A script, not
a test: the figures belong to the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, tracemalloc
from pathlib import Path
from mammosearch.data.decode import decode_file
import pydicom, PIL.Image  # imported before the baseline so only the decode counts
path = Path(sys.argv[1])
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
decoded = decode_file(path, "grayscale")
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"traced_peak": peak, "rss_growth": (rss_after - rss_before) * 1024, "shape": list(decoded.pixels.shape),
                  "checksum": int(decoded.pixels.astype("int64").sum())}))
"""


def write_files(folder: Path, width: int, height: int) -> dict[str, Path]:
    from PIL import Image

    sys.path.insert(0, str(REPO / "tests"))
    from dicom_files import write_dicom

    rng = np.random.default_rng(0)
    # a smooth 12-bit ramp with noise: compresses like a scan, every value range used
    ramp = (np.linspace(0, 3000, width)[None, :] + np.linspace(0, 1000, height)[:, None]).astype(np.uint16)
    pixels = np.minimum(ramp + rng.integers(0, 64, (height, width), dtype=np.uint16), 4095).astype(np.uint16)
    png = folder / "large16.png"
    Image.fromarray(pixels).save(png)
    dcm = write_dicom(folder / "large16.dcm", pixels, bits_stored=12, window=(1500.0, 3000.0), slope=1.0, intercept=-10.0)
    return {"16-bit PNG": png, "16-bit DICOM": dcm}


def measure(src: Path, path: Path) -> dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(src), "MAMMOSEARCH_MAX_PIXELS": str(10**9)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4096x5632", help="WIDTHxHEIGHT (default: the largest full-field detectors)")
    parser.add_argument("--before", type=Path, help="another source tree to measure first (the code before a change)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    trees = ([("before", args.before)] if args.before else []) + [("now", REPO / "src")]
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), width, height)
        print(f"{width} x {height} = {width * height / 1e6:.1f} MP; the 16-bit image itself is {width * height * 2 / 2**20:.0f} MiB")
        for kind, path in files.items():
            checksums = set()
            for label, src in trees:
                got = measure(src, path)
                checksums.add(got["checksum"])
                print(f"{kind:13s} {label:6s}: traced peak {got['traced_peak'] / 2**20:7.0f} MiB, "
                      f"resident growth {got['rss_growth'] / 2**20:7.0f} MiB")
            if len(trees) > 1:
                print(f"{kind:13s} same pixels before and now: {len(checksums) == 1}")


if __name__ == "__main__":
    main()
