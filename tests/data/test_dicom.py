"""DICOM decoding on real files written with pydicom: the display pipeline, twins, compression, refusals, loaders, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

pydicom = pytest.importorskip("pydicom", reason="pydicom is the `dicom` extra: pip install -e '.[dicom]'")

from pydicom.pixels import convert_color_space, get_decoder  # noqa: E402
from pydicom.uid import MPEG2MPML, JPEG2000Lossless, JPEGLosslessSV1, RLELossless  # noqa: E402

from conftest import decode_refusal  # noqa: E402
from dicom_files import write_dicom, write_non_image  # noqa: E402
from mammosearch.cli import app  # noqa: E402
from mammosearch.data import (  # noqa: E402
    CsvSpec,
    FolderSpec,
    SplitSpec,
    load_image_set,
)
from mammosearch.data.decode import decode_file  # noqa: E402

RAMP12 = np.arange(4096, dtype=np.uint16).reshape(64, 64)  # every 12-bit value once
RNG = np.random.default_rng(7)
NOISE12 = RNG.integers(0, 4096, (48, 40)).astype(np.uint16)


def gray(path: Path) -> np.ndarray:
    return decode_file(path, "grayscale").pixels[:, :, 0]


@pytest.mark.parametrize(("window", "slope", "intercept", "signed"), [
    (None, 1.0, 0.0, False), ((1500.0, 1000.0), 1.0, 0.0, False), ((2047.5, 301.0), 1.0, 0.0, False),
    ((300.0, 2500.0), 0.5, -1024.0, False), (None, 2.0, -100.0, True), ((-700.0, 3000.0), 2.0, -100.0, True),
])
def test_monochrome1_and_its_monochrome2_twin_decode_to_identical_pixels(tmp_path, window, slope, intercept, signed):
    low, high = (-2048, 2047) if signed else (0, 4095)
    stored = NOISE12.astype(np.int32) + low
    # the twin: stored values mirrored within the stored range, the window centre mirrored the same way
    twin_window = None if window is None else ((low * slope + intercept) + (high * slope + intercept) - window[0], window[1])
    common = {"bits_stored": 12, "signed": signed, "slope": slope, "intercept": intercept}
    one = decode_file(write_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1", window=window, **common), "grayscale")
    two = decode_file(write_dicom(tmp_path / "m2.dcm", (low + high) - stored, window=twin_window, **common), "grayscale")
    assert one.inverted and not two.inverted
    np.testing.assert_array_equal(one.pixels, two.pixels)
    assert one.pixels[stored == stored.max()].max() <= one.pixels[stored == stored.min()].min()  # MONOCHROME1: high stored is dark


def test_12_and_16_bit_data_without_a_window_use_their_own_range(tmp_path):
    d12 = decode_file(write_dicom(tmp_path / "r12.dcm", RAMP12, bits_stored=12), "grayscale")
    assert d12.bits == 12 and d12.pixels.dtype == np.uint8 and d12.pixels.shape == (64, 64, 1)
    values = d12.pixels.ravel()
    assert values[0] == 0 and values[-1] == 255 and np.all(np.diff(values.astype(int)) >= 0) and len(np.unique(values)) == 256
    narrow = (RAMP12 % 900 + 100).astype(np.uint16)  # a 12-bit detector using 100..999: stretched from its own range
    assert gray(write_dicom(tmp_path / "n12.dcm", narrow, bits_stored=12)).max() == 255
    d16 = decode_file(write_dicom(tmp_path / "r16.dcm", (RAMP12.astype(np.int64) * 15 + 1000).astype(np.uint16)), "grayscale")
    assert d16.bits == 16 and d16.pixels.min() == 0 and d16.pixels.max() == 255
    np.testing.assert_array_equal(d16.pixels, d12.pixels)  # the same picture at another depth


def test_a_window_maps_centre_plus_minus_half_width_onto_0_255_and_clips_outside(tmp_path):
    centre, width = 2000.0, 1000.0
    windowed = gray(write_dicom(tmp_path / "w.dcm", RAMP12, bits_stored=12, window=(centre, width))).ravel()
    own = gray(write_dicom(tmp_path / "o.dcm", RAMP12, bits_stored=12)).ravel()
    assert np.all(windowed[: int(centre - width / 2) + 1] == 0) and np.all(windowed[int(centre + width / 2):] == 255)
    assert abs(int(windowed[int(centre)]) - 127.5) <= 1 and np.all(np.diff(windowed.astype(int)) >= 0)
    assert windowed[1000] == 0 and own[1000] == 62 and not np.array_equal(windowed, own)
    # the first of several windows is the one used
    path = write_dicom(tmp_path / "multi.dcm", RAMP12, bits_stored=12)
    ds = pydicom.dcmread(path)
    ds.WindowCenter, ds.WindowWidth = [centre, 600.0], [width, 100.0]
    ds.save_as(path)
    np.testing.assert_array_equal(gray(path).ravel(), windowed)
    ds.VOILUTFunction = "SIGMOID"  # PS3.3 C.11.2.1.3.1: its output range is the same
    ds.save_as(path)
    sigmoid = gray(path).ravel()
    assert sigmoid[0] <= 1 and sigmoid[-1] >= 254 and abs(int(sigmoid[int(centre)]) - 127.5) <= 1 and not np.array_equal(sigmoid, windowed)
    # 16-bit data goes to 8 bits only after windowing: a window 200 values wide keeps ~200 levels
    sixteen = (30000 + RNG.integers(-150, 150, (64, 64))).astype(np.uint16)
    assert len(np.unique(gray(write_dicom(tmp_path / "w16.dcm", sixteen, window=(30000.0, 200.0))))) > 150


def test_a_voi_lut_wins_over_the_window_and_its_entries_range_maps_onto_0_255(tmp_path):
    table = np.rint(np.sqrt(np.arange(4096) / 4095) * 4095).astype(np.uint16)  # a gamma curve using 12 of 16 bits per entry
    for photometric, shown in (("MONOCHROME2", table), ("MONOCHROME1", 4095 - table)):
        path = write_dicom(tmp_path / f"{photometric}.dcm", RAMP12, bits_stored=12, photometric=photometric, window=(100.0, 10.0))
        ds = pydicom.dcmread(path)
        item = pydicom.Dataset()
        item.add_new(0x00283002, "US", [4096, 0, 16])  # LUT Descriptor: entries, first value mapped, bits per entry
        item.add_new(0x00283006, "OW", table.tobytes())  # LUT Data
        ds.VOILUTSequence = [item]
        ds.save_as(path)
        np.testing.assert_array_equal(gray(path).ravel(), np.rint(shown / 4095 * 255))


def test_rescale_slope_and_intercept_apply_to_signed_pixels_before_the_window(tmp_path):
    stored = (RAMP12.astype(np.int32) - 2048).astype(np.int16)  # signed 12-bit: -2048..2047
    rescaled = stored * 2.0 - 100.0  # what the window centre and width are given in
    centre, width = 0.0, 2000.0
    decoded = gray(write_dicom(tmp_path / "s.dcm", stored, bits_stored=12, signed=True, slope=2.0, intercept=-100.0, window=(centre, width)))
    expected = np.clip((rescaled - (centre - 0.5)) / (width - 1) + 0.5, 0, 1) * 255  # PS3.3 C.11.2.1.2.1, LINEAR
    assert np.abs(decoded.astype(float) - expected).max() <= 1
    assert decoded[rescaled <= -1000].max() == 0 and decoded[rescaled >= 1000].min() == 255
    own = gray(write_dicom(tmp_path / "s_own.dcm", stored, bits_stored=12, signed=True, slope=2.0, intercept=-100.0)).ravel()
    assert own[0] == 0 and own[-1] == 255 and np.all(np.diff(own.astype(int)) >= 0)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEGLosslessSV1], ids=["rle", "jpeg2000-lossless", "jpeg-lossless-sv1"])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_compressed_files_decode_equal_to_the_uncompressed_file(tmp_path, syntax, photometric):
    if not get_decoder(syntax).is_available:
        pytest.skip(f"no decoder plugin for {syntax.name}: pip install -e '.[dicom]'")
    if syntax == JPEG2000Lossless and not pydicom.pixels.get_encoder(syntax).is_available:
        pytest.skip("writing JPEG 2000 needs pylibjpeg-openjpeg")
    common = {"bits_stored": 12, "photometric": photometric, "window": (2000.0, 3000.0), "patient_id": "P_1"}
    plain = decode_file(write_dicom(tmp_path / "plain.dcm", NOISE12, **common), "grayscale")
    packed = decode_file(write_dicom(tmp_path / "packed.dcm", NOISE12, transfer_syntax=syntax, **common), "grayscale")
    assert pydicom.dcmread(tmp_path / "packed.dcm").file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(packed.pixels, plain.pixels)
    assert (packed.bits, packed.patient_id, packed.inverted) == (12, "P_1", photometric == "MONOCHROME1")


def test_patient_id_and_bits_come_back_in_decoded(tmp_path):
    named = decode_file(write_dicom(tmp_path / "a.dcm", NOISE12, bits_stored=12, patient_id="  P_0042 "), "rgb")
    assert (named.patient_id, named.bits, named.pixels.shape) == ("P_0042", 12, (48, 40, 3))
    assert decode_file(write_dicom(tmp_path / "b.dcm", NOISE12, patient_id=" "), "grayscale").patient_id is None
    assert decode_file(write_dicom(tmp_path / "c.dcm", NOISE12 // 16, bits_stored=8), "grayscale").bits == 8


def test_rgb_dicom_becomes_its_luminance_and_unconverted_colour_is_refused(tmp_path):
    rgb = RNG.integers(0, 256, (30, 20, 3)).astype(np.uint8)
    path = write_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB", bits_stored=8)
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=int)
    assert np.abs(gray(path).astype(int) - expected).max() <= 1
    assert np.array_equal(*np.moveaxis(decode_file(path, "rgb").pixels, 2, 0)[:2])
    ybr = write_dicom(tmp_path / "ybr.dcm", convert_color_space(rgb, "RGB", "YBR_FULL"), photometric="YBR_FULL", bits_stored=8)
    assert np.abs(gray(ybr).astype(int) - gray(path)).max() <= 1  # pydicom's decoder converts YBR_FULL to RGB
    ds = pydicom.dcmread(path)
    ds.PhotometricInterpretation = "YBR_RCT"  # only meaningful inside JPEG 2000: pydicom leaves it as it is
    ds.save_as(path)
    assert "photometric interpretation YBR_RCT is not supported" in decode_refusal(path)


@pytest.mark.parametrize(("kind", "name"), [
    ("sr", "a Basic Text SR Storage"), ("pdf", "an Encapsulated PDF Storage"), ("pr", "a Grayscale Softcopy Presentation State Storage"),
])
def test_objects_without_pixel_data_are_refused_by_what_they_are(tmp_path, kind, name):
    path = write_non_image(tmp_path / f"{kind}.dcm", kind)
    assert decode_refusal(path) == f"{path} is {name} object, not an image; keep only image files in the data folder or manifest"


def test_multi_frame_images_are_refused(tmp_path):
    path = write_dicom(tmp_path / "tomo.dcm", NOISE12, bits_stored=12, frames=3)
    assert decode_refusal(path) == f"{path} has 3 frames; mammosearch reads single-frame images (split it, or export the frame you need)"


def test_damaged_files_and_undecodable_syntaxes_are_one_line(tmp_path):
    whole = write_dicom(tmp_path / "whole.dcm", NOISE12, bits_stored=12).read_bytes()
    (tmp_path / "short.dcm").write_bytes(whole[:-400])
    assert decode_refusal(tmp_path / "short.dcm").startswith(f"cannot read DICOM {tmp_path / 'short.dcm'}: The number of bytes of pixel data is less")
    (tmp_path / "header.dcm").write_bytes(whole[:300])
    assert "has no pixel data (truncated" in decode_refusal(tmp_path / "header.dcm")
    Image.fromarray(NOISE12.astype(np.uint8)).save(tmp_path / "png.png")
    (tmp_path / "renamed.dcm").write_bytes((tmp_path / "png.png").read_bytes())
    assert decode_refusal(tmp_path / "renamed.dcm").endswith("not a DICOM file (no 'DICM' header at byte 128)")
    path = write_dicom(tmp_path / "video.dcm", NOISE12, bits_stored=12, transfer_syntax=RLELossless)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = MPEG2MPML  # no pydicom decoder exists for video
    ds.save_as(path)
    assert "transfer syntax MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100) cannot be decoded by pydicom" in decode_refusal(path)


BLOCKER = "import sys\nfor name in ('pylibjpeg', 'libjpeg', 'openjpeg', 'rle'):\n    sys.modules[name] = None  # `import name` now raises ImportError\n"
CHILD = """
import sys
from pathlib import Path
from pydicom.pixels import get_decoder
from pydicom.uid import JPEGLosslessSV1
from mammosearch.data.decode import decode_file
from mammosearch.errors import DataError
assert not get_decoder(JPEGLosslessSV1).is_available, "the plugins are still importable"
print(decode_file(Path(sys.argv[2]), "grayscale").pixels.max())  # pydicom itself still works
try:
    decode_file(Path(sys.argv[1]), "grayscale")
except DataError as exc:
    print(exc)
"""


def test_a_missing_decoder_plugin_is_named_with_the_install_command(tmp_path):
    """A real interpreter without the plugins: pylibjpeg and its codecs cannot be imported there."""
    if not get_decoder(JPEGLosslessSV1).is_available:
        pytest.skip("pylibjpeg-libjpeg is needed here to check the file itself is good")
    lossless = write_dicom(tmp_path / "lossless.dcm", NOISE12, bits_stored=12, transfer_syntax=JPEGLosslessSV1)
    plain = write_dicom(tmp_path / "plain.dcm", NOISE12, bits_stored=12)
    np.testing.assert_array_equal(gray(lossless), gray(plain))  # decodable where the plugin is installed
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")]))}
    child = subprocess.run([sys.executable, "-c", CHILD, str(lossless), str(plain)], env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == ["255", (
        f"{lossless}: transfer syntax JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1]) "
        f"(1.2.840.10008.1.2.4.70) needs a decoder plugin that is not installed: pip install 'mammosearch[dicom]'"
    )]


def _dicom_folder(root: Path, patients: list[str | None]) -> Path:
    """benign/ and malignant/, one 12-bit DICOM per entry of ``patients`` in each; every third MONOCHROME1."""
    for label, name in enumerate(("benign", "malignant")):
        for i, patient in enumerate(patients):
            image = (NOISE12 // 2 + 1000 * label).astype(np.uint16)
            inverted = i % 3 == 0
            write_dicom(root / name / f"img{i}.dcm", 4095 - image if inverted else image, bits_stored=12,
                        photometric="MONOCHROME1" if inverted else "MONOCHROME2", patient_id=None if patient is None else f"{patient}{label}")
    return root


def test_a_folder_of_dicoms_takes_its_patient_ids_from_the_tag(tmp_path):
    root = _dicom_folder(tmp_path / "data", [f"P{i // 2}" for i in range(8)])  # two views per woman
    images = load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25))
    assert images.patient_source == "dicom" and len(set(images.patient_ids)) == 8 and images.patient_ids[0] == "P00"
    assert "patient ids from the DICOM PatientID tag (8 patients)" in images.notes
    assert images.provenance.inverted.sum() == 6 and set(images.provenance.bits) == {12}
    for patient in set(images.patient_ids):  # a woman's two views stay in one split
        assert len(set(images.splits[images.patient_ids == patient])) == 1
    regex = load_image_set(FolderSpec(root=root, image_size=32, patient_regex=r"img(\d)"), SplitSpec(validation=0.25))
    assert regex.patient_source == "regex" and not any("PatientID" in note for note in regex.notes)


def test_a_folder_where_some_files_lack_a_patient_id_keeps_one_patient_per_file(tmp_path):
    root = _dicom_folder(tmp_path / "data", ["P0", "P0", None, "P1", "P1", "P2"])
    images = load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25))
    assert images.patient_source == "file" and len(set(images.patient_ids)) == 12
    assert "2 of 12 files carry no DICOM PatientID, so the tag is not used: each image counts as its own patient" in images.notes


def test_a_manifest_naming_dicom_files_uses_the_tag_only_without_a_patient_id_column(tmp_path):
    root = _dicom_folder(tmp_path, [f"P{i // 2}" for i in range(6)])
    rows = [f"{name}/img{i}.dcm,{label}" for label, name in enumerate(("benign", "malignant")) for i in range(6)]
    (tmp_path / "m.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    images = load_image_set(CsvSpec(path=tmp_path / "m.csv", image_size=32), SplitSpec(validation=0.25))
    assert images.patient_source == "dicom" and images.notes == ("patient ids from the DICOM PatientID tag (6 patients)",)
    assert images.provenance.inverted.sum() == 4 and images.images.shape == (12, 32, 32, 1)
    Image.fromarray(NOISE12.astype(np.uint8)).save(root / "extra.png")  # no PatientID to carry
    (tmp_path / "mixed.csv").write_text("path,label\n" + "\n".join([*rows, "extra.png,0"]) + "\n")
    mixed = load_image_set(CsvSpec(path=tmp_path / "mixed.csv", image_size=32), SplitSpec(validation=0.25))
    assert mixed.patient_source == "file" and "no patient_id column" in mixed.notes[0] and mixed.notes[1].startswith("1 of 13 files carry no")
    (tmp_path / "given.csv").write_text("path,label,patient_id\n" + "\n".join(f"{row},w{i}" for i, row in enumerate(rows)) + "\n")
    given = load_image_set(CsvSpec(path=tmp_path / "given.csv", image_size=32), SplitSpec(validation=0.25))
    assert given.patient_source == "column" and given.patient_ids[0] == "w0" and given.notes == ()


@pytest.mark.parametrize("command", ["data inspect", "run"])
def test_a_bad_dicom_stops_the_cli_with_one_error_line(tmp_path, command):
    root = _dicom_folder(tmp_path / "data", [f"P{i}" for i in range(4)])
    report = write_non_image(root / "benign" / "report.dcm", "sr")
    space = tmp_path / "space.yaml"
    space.write_text(
        "study: {name: d, n_trials: 1, sampler: random}\nmodel: {families: [cnn], cnn: {filters: 4, dense_units: 8}}\n"
        f"training: {{epochs: 1}}\ndata: {{source: folder, root: {root}, image_size: 32}}\n"
    )
    extra = ["--storage", f"sqlite:///{tmp_path / 's.db'}"] if command == "run" else []
    result = CliRunner().invoke(app, [*command.split(), "--space", str(space), "--results-dir", str(tmp_path / "r"), *extra], env={"COLUMNS": "250"})
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 3 and "Traceback" not in result.output, result.output
    assert lines == [f"error: {report} is a Basic Text SR Storage object, not an image; keep only image files in the data folder or manifest"]
