"""Where a study's files live.

```
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
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mammosearch.models.saving import MODEL_FILE

PREDICTIONS_FILE = "predictions.json"

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
