"""Patient ids from the image files themselves: the DICOM PatientID tag.

Used by the ``folder`` and ``csv`` sources when the data names no patient (no
``patient_regex``, no ``patient_id`` column): two views of one woman must never straddle
a split, and a DICOM file says whose it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from mammosearch.data.pixels import Decoded


def patients_from_files(decoded: Sequence[Decoded], fallback: Sequence[str]) -> tuple[list[str], str, list[str]]:
    """``(patient ids, patient source, notes)``: the files' PatientIDs when every file carries one.

    The tag is used only when it is on every file: mixing tag ids with one-patient-per-file
    ids would mean two different rules for one data set. Nor when every file has the same
    id (an anonymiser writing one constant): that would make the whole set one patient and
    no patient split possible. Otherwise ``fallback`` (each file its own patient), source "file".
    """
    ids = [d.patient_id or "" for d in decoded]
    carried = sum(1 for patient in ids if patient)
    if not carried:
        return list(fallback), "file", []
    if carried < len(ids):
        return list(fallback), "file", [
            f"{len(ids) - carried} of {len(ids)} files carry no DICOM PatientID, so the tag is not used: each image counts as its own patient"
        ]
    distinct = set(ids)
    if len(distinct) == 1 and len(ids) > 1:
        return list(fallback), "file", [
            f"all {len(ids)} files carry the same DICOM PatientID {ids[0]!r} (anonymised?), so the tag is not used: each image counts as its own patient"
        ]
    return ids, "dicom", [f"patient ids from the DICOM PatientID tag ({len(distinct)} patients)"]
