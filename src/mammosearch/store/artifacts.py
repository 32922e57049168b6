"""Where a study's files live.

```
results/<folder>/study.json                         which study owns the folder (ownership.py)
results/<study>/trials/<number>/model.keras        kept for the top-K trials only
results/<study>/trials/<number>/head.weights.h5    a cached-activation head whose model.keras
                                                    is not assembled yet (kept_models.py)
results/<study>/trials/<number>/predictions.json   labels and scores per split
results/<study>/report/...                          written by `mammosearch report`
results/<study>/tb/<number>/                        TensorBoard logs (--tensorboard)
results/<study>/workers/worker-<i>.log              output of `run --workers N`
results/<study>/data/fingerprint.json               the data fingerprint (photometry, patients, duplicates, shortcuts)
```
Files are written with ``mammosearch.files.write_atomically``.

``<folder>`` is the study name when it is already a harmless path component, else the
cleaned name plus a short hash of the raw name (:func:`folder_name`): "my study",
"my_study", "runs/my_study" and two long names sharing their first 120 characters each
get their own folder. Before that rule the cleaned name alone was used
(:attr:`StudyDir.legacy_root`); a study's recorded model paths still point there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from mammosearch.models import MODEL_FILE

PREDICTIONS_FILE = "predictions.json"
OWNER_FILE = "study.json"
FOLDER_CHARS = 120
_HASH_CHARS = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A study name as a single, harmless path component."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "study"
    return cleaned[:FOLDER_CHARS]


def folder_name(name: str) -> str:
    """The study's own folder: the name itself when cleaning changes nothing, else cleaned + ``-`` + a hash of the raw name."""
    cleaned = safe_name(name)
    if cleaned == name:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return f"{cleaned[:FOLDER_CHARS - _HASH_CHARS - 1]}-{digest}"


class StudyDir:
    """The paths of one study's folder. Only a path: which study may write there is ownership.py's business."""

    def __init__(self, results_dir: Path, study_name: str) -> None:
        self.study_name = study_name
        self.root = Path(results_dir) / folder_name(study_name)
        # Where releases before per-study folders put it (several studies could share it).
        self.legacy_root = Path(results_dir) / safe_name(study_name)

    @property
    def owner_file(self) -> Path:
        return self.root / OWNER_FILE

    def fingerprint_to_read(self) -> Path:
        """The data fingerprint: in this folder, else (a study from before per-study folders) in its unclaimed legacy folder."""
        own = self.data_dir() / "fingerprint.json"
        legacy = self.legacy_root / "data" / "fingerprint.json"
        if own.is_file() or self.legacy_root == self.root or (self.legacy_root / OWNER_FILE).exists():
            return own
        return legacy

    def trial_dir(self, number: int) -> Path:
        return self.root / "trials" / f"{number:05d}"

    def model_path(self, number: int) -> Path:
        return self.trial_dir(number) / MODEL_FILE

    def predictions_path(self, number: int) -> Path:
        return self.trial_dir(number) / PREDICTIONS_FILE

    def report_dir(self) -> Path:
        return self.root / "report"

    def data_dir(self) -> Path:
        """The data fingerprint and `data inspect`'s sample grid."""
        return self.root / "data"

    def workers_dir(self) -> Path:
        return self.root / "workers"

    def tensorboard_dir(self, number: int | None = None) -> Path:
        base = self.root / "tb"
        return base if number is None else base / f"trial_{number:05d}"

    def drop_model(self, number: int) -> None:
        shutil.rmtree(self.trial_dir(number), ignore_errors=True)
