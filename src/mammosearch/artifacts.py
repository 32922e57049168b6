"""Where a study's files live, and atomic writes of them.

```
results/<study>/trials/<number>/model.keras        kept for the top-K trials only
results/<study>/trials/<number>/head.weights.h5    a cached-activation head whose model.keras
                                                    is not assembled yet (kept_models.py)
results/<study>/trials/<number>/predictions.json   labels and scores per split
results/<study>/report/...                          written by `mammosearch report`
results/<study>/tb/<number>/                        TensorBoard logs (--tensorboard)
```
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

MODEL_FILE = "model.keras"
HEAD_WEIGHTS_FILE = "head.weights.h5"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A study name as a single, harmless path component."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "study"
    return cleaned[:120]


class StudyDir:
    def __init__(self, results_dir: Path, study_name: str) -> None:
        self.root = Path(results_dir) / safe_name(study_name)

    def trial_dir(self, number: int) -> Path:
        return self.root / "trials" / f"{number:05d}"

    def model_path(self, number: int) -> Path:
        return self.trial_dir(number) / MODEL_FILE

    def predictions_path(self, number: int) -> Path:
        return self.trial_dir(number) / "predictions.json"

    def report_dir(self) -> Path:
        return self.root / "report"

    def tensorboard_dir(self, number: int | None = None) -> Path:
        base = self.root / "tb"
        return base if number is None else base / f"trial_{number:05d}"

    def drop_model(self, number: int) -> None:
        shutil.rmtree(self.trial_dir(number), ignore_errors=True)


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Write via a temporary file in the same folder, then rename: never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # All the suffixes: Keras checks a weights file's name ends in ".weights.h5".
    suffix = "".join(path.suffixes)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[: len(path.name) - len(suffix)]}.", suffix=suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: Path, payload: Any) -> Path:
    return write_atomically(path, lambda p: p.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8"))
