"""Real DICOM files for tests, written with pydicom: images and objects without pixel data.

Not a test module: ``from dicom_files import write_dicom`` (pytest puts ``tests/`` on the path).
Every file is a valid Part 10 file (preamble, file meta, SOP Class/Instance UIDs) that
dcmread opens without ``force``, so the decoder meets what a PACS export looks like.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    BasicTextSRStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalMammographyXRayImageStorageForPresentation,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
    JPEGLosslessSV1,
    generate_uid,
)

__all__ = ["write_dicom", "write_non_image", "jpeg_lossless_sv1", "write_deflate_bomb"]


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 16,
    signed: bool = False,
    window: tuple[float, float] | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
    patient_id: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    sop_class: str = DigitalMammographyXRayImageStorageForPresentation,
    frames: int = 1,
    laterality: str | None = None,
) -> Path:
    """One mammogram-like DICOM image holding ``pixels`` as stored values.

    ``pixels``: ``(H, W)`` gray (repeated ``frames`` times), ``(frames, H, W)``, or ``(H, W, 3)``
    for ``photometric="RGB"`` or ``"YBR_FULL"``; values must fit ``bits_stored`` (signed or not). ``window`` is
    (centre, width) in rescaled units. The identity rescale is left out, as most MG exports do.
    Compressed ``transfer_syntax``: pydicom's own encoders (RLE Lossless; JPEG 2000 with
    pylibjpeg-openjpeg), and JPEG Lossless SV1 with the plugin-free encoder below.
    """
    stack = np.asarray(pixels)
    if frames > 1 and stack.ndim == 2:
        stack = np.repeat(stack[None], frames, axis=0)
    low, high = (-(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1) if signed else (0, 2**bits_stored - 1)
    if stack.min() < low or stack.max() > high:
        raise ValueError(f"pixel values {stack.min()}..{stack.max()} do not fit {bits_stored} bits stored ({low}..{high})")
    dtype = f"{'int' if signed else 'uint'}{8 if bits_stored <= 8 else 16}"

    ds = Dataset()
    ds.SOPClassUID = UID(sop_class)
    ds.Modality = "MG"
    ds.PatientName = "Test^Phantom"
    if patient_id is not None:
        ds.PatientID = patient_id
    if laterality is not None:
        ds.ImageLaterality = laterality  # (0020,0062): which breast
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    # pydicom's own setter: Rows/Columns, SamplesPerPixel, BitsAllocated/Stored, HighBit,
    # PixelRepresentation, NumberOfFrames, PlanarConfiguration and PixelData with its VR
    ds.set_pixel_data(stack.astype(dtype), photometric, bits_stored, generate_instance_uid=True)
    if slope != 1.0 or intercept != 0.0:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = slope, intercept, "US"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    _compress(ds, UID(transfer_syntax), stack)
    return _save(path, ds)


def write_non_image(path: Path, kind: Literal["sr", "pdf", "pr"] = "sr") -> Path:
    """A DICOM object without pixel data: a Basic Text SR, an Encapsulated PDF, or a GSPS ("pr")."""
    ds = Dataset()
    ds.PatientID, ds.PatientName = "P_NOIMAGE", "Test^Report"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
    if kind == "sr":
        ds.SOPClassUID, ds.Modality = BasicTextSRStorage, "SR"
        ds.ValueType, ds.ContinuityOfContent, ds.CompletionFlag, ds.VerificationFlag = "CONTAINER", "SEPARATE", "COMPLETE", "UNVERIFIED"
        ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic imaging report")])
        item = Dataset()
        item.RelationshipType, item.ValueType, item.TextValue = "CONTAINS", "TEXT", "BI-RADS 2: benign finding"
        item.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
        ds.ContentSequence = Sequence([item])
    elif kind == "pdf":
        ds.SOPClassUID, ds.Modality = EncapsulatedPDFStorage, "DOC"
        ds.MIMETypeOfEncapsulatedDocument, ds.BurnedInAnnotation = "application/pdf", "YES"
        ds.DocumentTitle = "Screening report"
        ds.EncapsulatedDocument = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    else:
        ds.SOPClassUID, ds.Modality = GrayscaleSoftcopyPresentationStateStorage, "PR"
        ds.PresentationLUTShape, ds.ContentLabel = "IDENTITY", "VIEW"
    ds.file_meta = _meta(ds, ExplicitVRLittleEndian)
    return _save(path, ds)


def write_deflate_bomb(path: Path, rows: int, columns: int, pixel_bytes: int | None = None) -> Path:
    """A Deflated Explicit VR Little Endian image declaring ``rows x columns`` 16-bit pixels, all zero.

    A 20000 x 20000 image (800 MB inflated) is a file of under 1 MB that never exists
    inflated here. ``pixel_bytes``:
    Pixel Data of another length than the declared image (a stream longer than its header says).
    """
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = UID(DigitalMammographyXRayImageStorageForPresentation), generate_uid()
    ds.Modality, ds.PatientID = "MG", "P_BOMB"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    meta = DicomBytesIO()
    write_file_meta_info(meta, _meta(ds, DeflatedExplicitVRLittleEndian))
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    length = rows * columns * 2 if pixel_bytes is None else pixel_bytes
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [deflater.compress(body.getvalue() + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)), deflater.flush(zlib.Z_FULL_FLUSH)]
    zeros = bytes(2**24)
    # A full flush resets the compressor's history, so every full block of zeros compresses
    # to the same bytes: compressed once and repeated (milliseconds, not seconds, for 800 MB).
    whole, rest = divmod(length, len(zeros))
    if whole:
        parts.append((deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)) * whole)
    parts += [deflater.compress(zeros[:rest]), deflater.flush()]
    path.write_bytes(b"\0" * 128 + b"DICM" + meta.getvalue() + b"".join(parts))
    return path


def jpeg_lossless_sv1(image: np.ndarray, precision: int) -> bytes:
    """One frame as a JPEG Lossless (ITU T.81 process 14, first-order prediction) codestream.

    A plain-Python encoder so the tests can write JPEG Lossless without any codec plugin: it
    is the syntax whose only decoder here is pylibjpeg-libjpeg. One Huffman table where every
    difference category 0..16 has a 5-bit code (valid, merely not optimal).
    """
    x = image.astype(np.int64)
    predicted = np.empty_like(x)
    predicted[0, 0] = 1 << (precision - 1)  # T.81 H.1.1: first sample of the scan
    predicted[0, 1:] = x[0, :-1]  # first row: the sample on the left
    predicted[1:, 0] = x[:-1, 0]  # first column: the sample above
    predicted[1:, 1:] = x[1:, :-1]  # selection value 1: the sample on the left
    differences = (x - predicted) % 65536  # T.81 H.1.2.1: differences are modulo 2**16
    differences = np.where(differences > 32768, differences - 65536, differences)
    bits: list[str] = []
    for difference in differences.ravel().tolist():
        category = abs(difference).bit_length()
        bits.append(format(category, "05b"))  # canonical code of symbol `category` (all length 5)
        if 0 < category < 16:  # category 16 (difference 32768) has no extra bits
            bits.append(format(difference if difference > 0 else difference + (1 << category) - 1, f"0{category}b"))
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)  # pad the last byte with 1-bits
    entropy = int(stream, 2).to_bytes(len(stream) // 8, "big").replace(b"\xff", b"\xff\x00")  # byte stuffing
    rows, columns = x.shape
    huffman = bytes([0x00]) + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17))
    frame = bytes([precision]) + rows.to_bytes(2, "big") + columns.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
    scan = bytes([1, 1, 0x00, 1, 0, 0])  # one component, table 0, predictor 1, no point transform
    return b"\xff\xd8" + _segment(0xC4, huffman) + _segment(0xC3, frame) + _segment(0xDA, scan) + entropy + b"\xff\xd9"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _compress(ds: Dataset, syntax: UID, stack: np.ndarray) -> None:
    if not syntax.is_compressed:
        ds.file_meta = _meta(ds, syntax)
        return
    if syntax == JPEGLosslessSV1:
        frames = stack if stack.ndim == 3 else stack[None]
        ds.PixelData = encapsulate([jpeg_lossless_sv1(frame, int(ds.BitsStored)) for frame in frames])
        ds["PixelData"].VR = "OB"
        ds.file_meta = _meta(ds, syntax)
        return
    ds.file_meta = _meta(ds, ExplicitVRLittleEndian)
    ds.compress(syntax)  # pydicom's encoders; sets the transfer syntax and encapsulates


def _meta(ds: Dataset, syntax: UID) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    return meta


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return code


def _save(path: Path, ds: Dataset) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.preamble = b"\0" * 128
    ds.save_as(path, enforce_file_format=True)
    return path
