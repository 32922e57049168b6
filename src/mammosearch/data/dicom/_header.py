"""A DICOM file's image header, read without its pixels, and checked against the decoding budget.

``pydicom.dcmread(..., stop_before_pixels=True)`` reads the elements before Pixel Data and
no pixel byte, for every transfer syntax but one: a Deflated Explicit VR Little Endian file
is one zlib stream, and pydicom inflates all of it before reading the first element, so a
few hundred KB can become gigabytes before Rows and Columns are seen. For that syntax the
header is read from a bounded inflated prefix, and the whole stream is measured (inflated
a megabyte at a time and discarded) before pydicom may inflate it.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from mammosearch.data import budget
from mammosearch.data.file_names import shown
from mammosearch.errors import DataError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

HEADER_BYTES = 8 * 2**20  # inflated bytes a deflated file's header may take (real ones: tens of KB)
STEP = 2**20  # inflated bytes held at once while a deflated stream is measured


def check_header(path: Path) -> None:
    """Refuse (one line naming the file) a DICOM whose declared image passes :mod:`budget`, before any pixel is read."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    deflated = _meta(path).get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    header = _deflated_header(path) if deflated else _header(path)
    rows, columns = header.get("Rows"), header.get("Columns")
    if rows is None or columns is None:
        if deflated:  # nothing says how large it is: refuse rather than inflate an unknown amount
            raise DataError(f"cannot read DICOM {shown(path)}: no Rows/Columns in the first {HEADER_BYTES // 2**20} MB of its deflated data")
        return  # no image size: the decoder's own checks say what the file is
    samples = int(header.get("SamplesPerPixel") or 1)
    bytes_per_sample = max(1, (int(header.get("BitsAllocated") or 8) + 7) // 8)
    frames = int(header.get("NumberOfFrames") or 1)
    budget.check(path, int(columns), int(rows), samples, bytes_per_sample, frames)
    if deflated:
        _refuse_long_stream(path, int(rows) * int(columns) * samples * bytes_per_sample * frames + HEADER_BYTES)


def _meta(path: Path) -> Dataset:
    from pydicom.filereader import read_file_meta_info

    return read_file_meta_info(path)


def _header(path: Path) -> Dataset:
    import pydicom

    return pydicom.dcmread(path, stop_before_pixels=True)


def _deflated_start(handle: object) -> None:
    """Move past the preamble and the (never deflated) file meta group."""
    from pydicom.filereader import read_dataset, read_preamble

    read_preamble(handle, False)  # type: ignore[arg-type]
    # stop_when rewinds to the start of the first element outside group 0002
    read_dataset(handle, False, True, stop_when=lambda tag, vr, length: tag.group != 2)  # type: ignore[arg-type]


def _deflated_header(path: Path) -> Dataset:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import read_dataset

    with path.open("rb") as handle:
        _deflated_start(handle)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        head = b""
        while len(head) < HEADER_BYTES and (data := handle.read(STEP)):
            head += inflater.decompress(data, HEADER_BYTES - len(head))
    # only the image module's group is needed; a prefix cut short later is never reached
    return read_dataset(DicomBytesIO(head), False, True, stop_when=lambda tag, vr, length: tag.group > 0x0028)  # type: ignore[arg-type]


def _refuse_long_stream(path: Path, allowed: int) -> None:
    """The deflated stream may not inflate to more than its declared image and a header: that is a bomb."""
    total = 0
    with path.open("rb") as handle:
        _deflated_start(handle)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        while data := handle.read(STEP):
            while data:
                total += len(inflater.decompress(data, STEP))
                if total > allowed:
                    raise DataError(f"cannot read DICOM {shown(path)}: its deflated data inflates to more than "
                                    f"{allowed / 1e6:,.0f} MB, far more than its declared image (a decompression bomb?)")
                data = inflater.unconsumed_tail
