"""Writing files atomically, with the permissions any new file of the user gets.

The one helper behind every file the tool writes (models, reports, predictions, caches):
write to a temporary file in the same folder, then rename, so a reader never sees a torn
file and an interrupted write leaves the old one. ``tempfile.mkstemp`` creates its file
with mode 0600 whatever the umask; the file is given ``0666 & ~umask`` before the
rename, as ``open()`` would have done.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask() -> int:
    # Reading the umask means setting it; put it straight back (nothing else runs between).
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary path next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # All the suffixes: Keras checks a weights file's name ends in ".weights.h5", numpy adds ".npy".
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)]
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: Path, payload: Any) -> Path:
    return write_atomically(path, lambda p: p.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8"))
