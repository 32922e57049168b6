"""Decoding on every core gives the very pixels of a serial loop, in order, and fails the same way."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tests.dicom_files import write_dicom

from mammosearch.data.decode import decode_all
from mammosearch.errors import DataError


@pytest.fixture
def mixed_files(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(24):
        kind = i % 4
        path = tmp_path / f"f{i:02d}.{'jpg' if kind == 1 else 'png' if kind != 3 else 'dcm'}"
        if kind == 0:
            Image.fromarray(rng.integers(0, 256, (90 + i, 70), dtype=np.uint8)).save(path)
        elif kind == 1:
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path, quality=90)
        elif kind == 2:
            Image.fromarray(rng.integers(0, 4096, (50, 80), dtype=np.uint16)).save(path)
        else:
            write_dicom(path, rng.integers(0, 4096, (40, 60)).astype(np.uint16), bits_stored=12, patient_id=f"P{i}")
        paths.append(path)
    return paths


@pytest.mark.parametrize("pool", ["threads", "processes"])
@pytest.mark.parametrize("size", [None, 32])
def test_parallel_decoding_gives_the_serial_pixels_in_order(mixed_files, pool, size, monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_DECODE_WORKERS", "3")
    serial = decode_all(mixed_files, "grayscale", size, pool="serial")
    parallel = decode_all(mixed_files, "grayscale", size, pool=pool)
    assert len(parallel) == len(serial) == 24
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.pixels, b.pixels) and a.pixels.dtype == np.uint8
        assert (a.height, a.width, a.bits, a.patient_id, a.photometry) == (b.height, b.width, b.bits, b.patient_id, b.photometry)
    if size is not None:  # only the resized copy is kept, the file's own size is remembered
        assert serial[0].pixels.shape == (32, 32, 1) and (serial[0].height, serial[0].width) == (90, 70)


def test_a_broken_file_fails_as_in_a_serial_loop_and_is_named(mixed_files, monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_DECODE_WORKERS", "2")
    mixed_files[5].write_bytes(b"not an image")
    mixed_files[17].write_bytes(b"")
    with pytest.raises(DataError, match="f05"):  # the first one in input order
        decode_all(mixed_files, "grayscale", 32)
    with pytest.raises(DataError, match=r"row 6: .*f05"):
        decode_all(mixed_files, "grayscale", 32, on_error=lambda i, exc: DataError(f"row {i + 1}: {exc}"))
