"""Pinned hashes of a public data set's files, shipped with the package (hashes only, no data).

The default mini-MIAS source is served over plain HTTP and publishes no checksum of its
archive, so the archive cannot be pinned; its files can. ``mini-mias.sha256`` (in
``sha256sum`` format) holds the sha256 of each of the 322 original PGM files and of the
label file, and every unpacked file is checked against it before anything is moved where
the loader looks: a mirror, a proxy or a man in the middle can change nothing unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mammosearch.downloads import digest_of
from mammosearch.errors import DataError

_LINE = re.compile(r"^(?P<digest>[0-9a-f]{64}) [ *](?P<name>\S.*)$")


@dataclass(frozen=True)
class PinnedFiles:
    """File name -> sha256; ``images`` must all be present, and one of ``labels``."""

    hashes: dict[str, str]
    images: tuple[str, ...]
    labels: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, image_pattern: str, labels: tuple[str, ...]) -> PinnedFiles:
        hashes = {}
        for line in text.splitlines():
            match = _LINE.match(line.strip())
            if match:
                hashes[match["name"]] = match["digest"]
        images = tuple(sorted(name for name in hashes if re.fullmatch(image_pattern, name)))
        return cls(hashes, images, tuple(name for name in labels if name in hashes))

    def mismatch(self, path: Path) -> str | None:
        """Why ``path`` is not the pinned file of its name (None: it is; unpinned names are the caller's business)."""
        expected = self.hashes.get(path.name)
        if expected is None:
            return None
        found = digest_of(path, "sha256")
        return None if found == expected else f"sha256 {found[:16]}... is not the pinned {expected[:16]}..."

    def verify(self, folder: Path, source: str, complete: bool) -> tuple[list[Path], list[str]]:
        """Check every pinned file in ``folder``; returns ``(verified files, unpinned names)``.

        ``complete``: every pinned image and a label file must be there (an archive nobody
        else vouches for must be exactly the data set). Otherwise (an archive the user pinned)
        only the images are held to their hashes: mirrors edit the label file, never the
        pixels. A mismatch is refused, naming the file.
        """
        files = sorted(path for path in folder.iterdir() if path.is_file())
        checked = set(self.hashes) if complete else set(self.images)
        verified, unpinned = [], []
        for path in files:
            if path.name not in checked:
                unpinned.append(path.name)
                continue
            problem = self.mismatch(path)
            if problem is not None:
                raise DataError(f"{source}: {path.name} is not the original file ({problem}); nothing was moved into place")
            verified.append(path)
        unpinned += sorted(path.name + "/" for path in folder.iterdir() if path.is_dir())
        if complete:
            present = {path.name for path in verified}
            missing = [name for name in self.images if name not in present]
            if missing:
                raise DataError(f"{source}: {len(missing)} of the {len(self.images)} pinned images are missing (first: {missing[0]}); "
                                "nothing was moved into place")
            if not present & set(self.labels):
                raise DataError(f"{source}: no label file ({' or '.join(self.labels)}) matching its pinned hash; nothing was moved into place")
        return verified, unpinned


def mini_mias() -> PinnedFiles:
    text = resources.files("mammosearch.data.fetch").joinpath("mini-mias.sha256").read_text(encoding="utf-8")
    return PinnedFiles.parse(text, r"mdb\d{3}\.pgm", ("Info.txt", "README"))
