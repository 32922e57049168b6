"""DICOM files: reading pixels (and refusing what is not an image), the header checks, patient ids."""

from mammosearch.data.dicom._laterality import laterality_from_dataset, laterality_of_file
from mammosearch.data.dicom._patients import patients_from_files
from mammosearch.data.dicom._read import decode_dicom

__all__ = ["decode_dicom", "laterality_from_dataset", "laterality_of_file", "patients_from_files"]
