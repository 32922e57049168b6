"""One decoding budget for every format, checked from the header; large 16-bit images converted without float64 copies."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pydicom = pytest.importorskip("pydicom", reason="pydicom is the `dicom` extra: pip install -e '.[dicom]'")

from pydicom.uid import DeflatedExplicitVRLittleEndian  # noqa: E402

from conftest import decode_refusal  # noqa: E402
from dicom_files import write_deflate_bomb, write_dicom  # noqa: E402
from mammosearch.cli import app  # noqa: E402
from mammosearch.data import max_pixels  # noqa: E402
from mammosearch.data import pixels as pixels_module  # noqa: E402
from mammosearch.data.budget import DEFAULT_MAX_PIXELS  # noqa: E402
from mammosearch.data.decode import decode_file  # noqa: E402
from mammosearch.errors import MammosearchError  # noqa: E402

runner = CliRunner()
MB = 2**20


def _traced_peak(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _png_header_16bit(path: Path, width: int, height: int) -> Path:
    """A 16-bit grayscale PNG header declaring width x height, and one short IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def test_a_deflated_dicom_bomb_is_refused_from_its_header_without_inflating_it(tmp_path):
    bomb = write_deflate_bomb(tmp_path / "bomb.dcm", 20000, 20000)  # 800 MB of pixels in under 1 MB
    assert bomb.stat().st_size < MB
    messages: list[str] = []
    peak = _traced_peak(lambda: messages.append(decode_refusal(bomb)))
    assert "20000 x 20000" in messages[0] and "MAMMOSEARCH_MAX_PIXELS" in messages[0]
    assert peak < 32 * MB  # pydicom alone inflates all 800 MB before reading Rows


def test_a_deflated_stream_longer_than_its_declared_image_is_refused(tmp_path):
    long = write_deflate_bomb(tmp_path / "long.dcm", 64, 64, pixel_bytes=12 * MB)  # a small header, 12 MB inflated
    assert "inflates to more than" in decode_refusal(long)


def test_a_genuine_deflated_dicom_still_decodes_as_its_uncompressed_twin(tmp_path):
    ramp = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    deflated = write_dicom(tmp_path / "deflated.dcm", ramp, bits_stored=12, transfer_syntax=DeflatedExplicitVRLittleEndian)
    plain = write_dicom(tmp_path / "plain.dcm", ramp, bits_stored=12)
    np.testing.assert_array_equal(decode_file(deflated, "grayscale").pixels, decode_file(plain, "grayscale").pixels)


def test_a_16_bit_png_in_pillows_warn_only_band_is_refused_before_decoding(tmp_path):
    # 100 MP: above Pillow's MAX_IMAGE_PIXELS (89 MP), below its error at twice that, so Pillow only warns
    png = _png_header_16bit(tmp_path / "wide.png", 10000, 10000)
    with pytest.warns(Image.DecompressionBombWarning):
        message = decode_refusal(png)
    assert "decoding budget" in message and "10000 x 10000" in message


def test_the_budget_counts_bytes_per_sample_and_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_MAX_PIXELS", "1000")  # 2000 bytes: 1000 pixels of 16 bits
    fine = tmp_path / "gray8.png"
    Image.fromarray(np.full((40, 40), 9, np.uint8)).save(fine)  # 1600 bytes
    assert decode_file(fine, "grayscale").pixels.shape == (40, 40, 1)
    wide = tmp_path / "gray16.png"
    Image.fromarray(np.full((40, 40), 900, np.uint16)).save(wide)  # 3200 bytes
    colour = tmp_path / "rgb.png"
    Image.fromarray(np.full((30, 30, 3), 9, np.uint8)).save(colour)  # 2700 bytes
    dicom16 = write_dicom(tmp_path / "gray16.dcm", np.full((40, 40), 900, np.uint16), bits_stored=12)
    for path in (wide, colour, dicom16):
        assert "decoding budget" in decode_refusal(path)
    dicom8 = write_dicom(tmp_path / "gray8.dcm", np.full((40, 40), 9, np.uint8), bits_stored=8)
    assert decode_file(dicom8, "grayscale").pixels.shape == (40, 40, 1)


def test_the_budget_is_read_from_the_environment_when_used(monkeypatch):
    monkeypatch.delenv("MAMMOSEARCH_MAX_PIXELS", raising=False)
    assert max_pixels() == DEFAULT_MAX_PIXELS
    monkeypatch.setenv("MAMMOSEARCH_MAX_PIXELS", "100_000_000")
    assert max_pixels() == 100_000_000
    monkeypatch.setenv("MAMMOSEARCH_MAX_PIXELS", "many")
    with pytest.raises(MammosearchError, match="MAMMOSEARCH_MAX_PIXELS"):
        max_pixels()


@pytest.mark.parametrize("command", ["run", "predict"])
def test_a_malformed_budget_is_one_line_before_anything_is_decoded(tmp_path, monkeypatch, write_space, command):
    from conftest import TINY_SPACE

    monkeypatch.setenv("MAMMOSEARCH_MAX_PIXELS", "-5")
    space = write_space(TINY_SPACE)
    args = ["run", "--space", str(space), "--results-dir", str(tmp_path / "results")] if command == "run" else \
        ["predict", str(tmp_path / "no_model"), str(tmp_path / "x.png")]
    result = runner.invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "MAMMOSEARCH_MAX_PIXELS" in lines[0] and "'-5'" in lines[0], result.output
    assert not (tmp_path / "results" / "tiny").exists()


def test_data_inspect_refuses_a_dicom_bomb_in_one_line_naming_it(tmp_path):
    root = tmp_path / "data"
    for label, cls in enumerate(("benign", "malignant")):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((24, 24), 30 * i + 100 * label + 1, dtype=np.uint8)).save(root / cls / f"{cls}{i}.png")
    write_deflate_bomb(root / "malignant" / "bomb.dcm", 20000, 20000)
    space = tmp_path / "space.yaml"
    space.write_text(f"study: {{name: bomb}}\ndata: {{source: folder, root: {root}, image_size: 16}}\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 3 and len(lines) == 1 and "bomb.dcm" in lines[0] and "decoding budget" in lines[0], result.output


def _large_16bit(size: tuple[int, int]) -> np.ndarray:
    height, width = size
    ramp = np.linspace(0, 4000, width)[None, :] + np.linspace(0, 95, height)[:, None]
    return ramp.astype(np.uint16)


def test_a_large_16_bit_png_is_converted_without_a_float64_copy_of_the_whole_image(tmp_path):
    image = _large_16bit((2048, 2048))  # 4 MP: a float64 copy is 32 MB, the 16-bit pixels 8 MB
    path = tmp_path / "large.png"
    Image.fromarray(image).save(path, compress_level=1)
    decoded: list[np.ndarray] = []
    peak = _traced_peak(lambda: decoded.append(decode_file(path, "grayscale").pixels))
    # the 16-bit array, the 8-bit result and small blocks; the old path held 3 float64 copies (96+ MB)
    assert peak < 24 * MB, peak / MB
    expected = np.rint((image.astype(np.float64) - image.min()) * (255.0 / (float(image.max()) - image.min()))).astype(np.uint8)
    np.testing.assert_array_equal(decoded[0][:, :, 0], expected)


@pytest.mark.parametrize(("photometric", "window", "slope", "intercept", "voi_lut"), [
    ("MONOCHROME2", None, 1.0, 0.0, False),
    ("MONOCHROME2", (1500.0, 1800.0), 1.0, 0.0, False),
    ("MONOCHROME2", None, 2.0, -100.0, False),
    ("MONOCHROME1", (1000.0, 2500.0), 0.5, -1024.0, False),
    ("MONOCHROME1", None, 1.0, 0.0, False),
    ("MONOCHROME2", None, 1.0, 0.0, True),
    ("MONOCHROME1", None, 1.0, 0.0, True),
])
def test_dicom_conversion_a_block_of_rows_at_a_time_equals_the_whole_image_at_once(tmp_path, monkeypatch, photometric, window, slope, intercept, voi_lut):
    stored = np.random.default_rng(3).integers(0, 4096, (37, 29)).astype(np.uint16)
    path = write_dicom(tmp_path / "f.dcm", stored, photometric=photometric, bits_stored=12, window=window, slope=slope, intercept=intercept)
    if voi_lut:
        _add_voi_lut(path)
    whole = decode_file(path, "grayscale").pixels
    monkeypatch.setattr(pixels_module, "BLOCK_VALUES", 60)  # blocks of 2 rows
    np.testing.assert_array_equal(decode_file(path, "grayscale").pixels, whole)
    assert len(np.unique(whole)) > 20  # a real range of grays, not a constant both ways


def _add_voi_lut(path: Path) -> None:
    ds = pydicom.dcmread(path)
    item = pydicom.Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 16])  # LUT Descriptor: entries, first value mapped, bits per entry
    item.add_new(0x00283006, "OW", np.rint(np.sqrt(np.arange(4096) / 4095) * 4000).astype(np.uint16).tobytes())  # LUT Data
    ds.VOILUTSequence = [item]
    ds.save_as(path)


def test_a_large_16_bit_dicom_is_converted_without_a_float64_copy_of_the_whole_image(tmp_path):
    stored = _large_16bit((2048, 2048)) % 4096
    path = write_dicom(tmp_path / "large.dcm", stored, bits_stored=12, window=(2000.0, 3000.0), slope=1.0, intercept=-10.0)
    peak = _traced_peak(lambda: decode_file(path, "grayscale"))
    # the file's bytes and the decoded 16-bit array (8 MB each), the result and small blocks;
    # the old path held several float64 copies of the whole image (32 MB each)
    assert peak < 32 * MB, peak / MB


def test_a_budget_raised_past_pillows_own_guard_reaches_pillow_formats(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    png = _png_header_16bit(tmp_path / "huge.png", 15000, 15000)  # 225 MP: past Pillow's refusal at 179 MP
    assert "decompression bomb" in decode_refusal(png)  # default budget: refused, naming the file
    monkeypatch.setenv("MAMMOSEARCH_MAX_PIXELS", "300_000_000")
    assert "truncated" in decode_refusal(png)  # allowed now: Pillow reads on, and finds the pixel data missing
