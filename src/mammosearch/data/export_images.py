"""An :class:`ImageSet` written out as PNG files and a manifest: ``mammosearch data export``.

The images are written exactly as a model sees them (decoded, cropped, resized, flipped
where ``photometry: auto`` flipped them; 8-bit PNG is lossless), one folder per split and
class, with ``manifest.csv`` (``path,label,patient_id,split,source``) that the ``csv``
source reads back and ``predict`` uses to line scores up with a study's stored ones (the
``source`` column is the id the study's predictions name).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import numpy as np
from PIL import Image

from mammosearch.data.arrays import chunks
from mammosearch.data.base import ImageSet
from mammosearch.files import write_atomically

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(index: int, source: str) -> str:
    """``00017_synthetic_seed0_17.png``: the index keeps names unique, the source keeps them readable."""
    stem = _UNSAFE.sub("_", Path(source.split("#")[0]).stem if "/" in source else source).strip("_")[-60:]
    return f"{index:05d}_{stem or 'image'}.png"


def _save_png(picture: Image.Image, path: Path) -> None:
    picture.save(path, format="PNG")


def export_image_set(images: ImageSet, out: Path) -> Path:
    """Write every image; returns the manifest's path. Existing files of the same name are replaced."""
    out = Path(out)
    names = (images.task.negative, images.task.positive)
    rows = []
    for start, chunk in chunks(images.images):  # a large set is a memory map: read it a chunk at a time
        for index, image in enumerate(chunk, start):
            label = int(images.labels[index])
            relative = Path(str(images.splits[index])) / _UNSAFE.sub("_", names[label]) / file_name(index, str(images.sources[index]))
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            pixels = np.ascontiguousarray(image)
            picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
            write_atomically(target, functools.partial(_save_png, picture))
            rows.append([relative.as_posix(), label, str(images.patient_ids[index]), str(images.splits[index]), str(images.sources[index])])

    def write(path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label", "patient_id", "split", "source"])
            writer.writerows(rows)

    return write_atomically(out / "manifest.csv", write)
