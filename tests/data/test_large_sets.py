"""Sets larger than memory: decoded straight to disk, derived arrays kept on disk, training streamed.

``paged.IN_MEMORY_BYTES`` decides what counts as large; these tests set it to 0 so a tiny
set takes the large-set path, and check that it gives the same numbers as the in-memory
path (and, end to end, that predict still reproduces the stored scores within ``SCORE_TOLERANCE``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.conftest import TINY_TRANSFER_SPACE
from typer.testing import CliRunner

from mammosearch.apply import scores_agree
from mammosearch.cli import app
from mammosearch.data import CsvSpec, SplitSpec, load_image_set
from mammosearch.data.arrays import _paged as paged
from mammosearch.data.decode import images_at
from mammosearch.errors import DataError

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture
def everything_large(monkeypatch):
    monkeypatch.setattr(paged, "IN_MEMORY_BYTES", 0)
    monkeypatch.setenv("MAMMOSEARCH_IN_MEMORY_MB", "0")  # for any child process a run starts


def _manifest(folder: Path, n: int = 24, inverted: tuple[int, ...] = ()) -> Path:
    """PNGs of a dark-background breast-like blob (bright background for those in ``inverted``) and a manifest."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        image = np.zeros((48, 40), np.uint8)
        image[8:40, 4:30] = rng.integers(90, 230, (32, 26))
        if i in inverted:
            image = 255 - image
        Image.fromarray(image).save(folder / f"{i:02d}.png")
        rows.append((f"{i:02d}.png", i % 2, f"p{i // 2}"))
    path = folder / "manifest.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([("path", "label", "patient_id"), *rows])
    return path


def _rss_file_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads RssFile from /proc (Linux)")
def test_reading_through_chunks_leaves_no_pages_of_a_memory_map_resident(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((64, 1024, 1024), np.uint8))  # 64 MiB
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    before = _rss_file_kb()
    total = sum(int(chunk.sum()) for _, chunk in paged.chunks(mapped, 4))
    after_chunks = _rss_file_kb()
    assert total == 64 * 2**20
    assert int(mapped.sum()) == total  # the plain way, for comparison: every page stays mapped
    after_plain = _rss_file_kb()
    assert after_chunks - before < 16 * 1024, (before, after_chunks)
    assert after_plain - after_chunks > 48 * 1024, (after_chunks, after_plain)


def test_a_large_set_is_decoded_into_the_cache_file_with_the_same_pixels(tmp_path, everything_large):
    manifest = _manifest(tmp_path / "data")
    spec = CsvSpec(path=manifest, image_size=32)
    in_memory = load_image_set(spec, SplitSpec(), cache_dir=None)
    cached = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    assert isinstance(cached.images, np.memmap) and not cached.images.flags.writeable
    np.testing.assert_array_equal(cached.images, in_memory.images)
    assert not list((tmp_path / "cache").glob("*.filling"))  # the file being written was moved into place
    again = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.images, in_memory.images)


def test_a_failed_decode_leaves_no_partial_file_and_no_entry(tmp_path, everything_large):
    manifest = _manifest(tmp_path / "data")
    (tmp_path / "data" / "05.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="05.png"):
        load_image_set(CsvSpec(path=manifest, image_size=32), SplitSpec(), cache_dir=tmp_path / "cache")
    left = sorted((tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else []
    # The entry's lock file (shared caches, data/arrays) may stay: empty, it holds nothing anyone reads.
    assert [p.name for p in left if p.suffix != ".lock"] == []
    assert all(p.stat().st_size == 0 for p in left)


def test_a_large_set_is_flipped_into_its_own_file_and_the_cache_entry_is_untouched(tmp_path, everything_large):
    manifest = _manifest(tmp_path / "data", inverted=(3, 10))
    spec = CsvSpec(path=manifest, image_size=32)
    in_memory = load_image_set(spec, SplitSpec(), cache_dir=None)
    assert in_memory.flipped is not None and in_memory.flipped.sum() == 2
    cached = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(cached.images, in_memory.images)
    assert isinstance(cached.images, np.memmap) and "-flipped-" in str(cached.images.filename)
    entry = next(p for p in (tmp_path / "cache").glob("*.images.npy") if "-flipped-" not in p.name)
    stored = np.load(entry)
    assert (stored[3] != cached.images[3]).any()  # the entry keeps the image as decoded


def test_a_large_set_is_resized_into_a_file_that_a_later_call_reuses(tmp_path, everything_large):
    images = np.random.default_rng(1).integers(0, 256, (20, 40, 40, 1), dtype=np.uint8)
    from mammosearch.data.decode import resize_images

    keys = []
    first = images_at(images, 24, tmp_path, lambda: keys.append(1) or "pixels")
    assert isinstance(first, np.memmap)
    np.testing.assert_array_equal(first, resize_images(images, 24))
    stored = tmp_path / "pixels-24px.images.npy"
    written = stored.stat().st_mtime_ns
    second = images_at(images, 24, tmp_path, lambda: "pixels")
    np.testing.assert_array_equal(second, first)
    assert stored.stat().st_mtime_ns == written  # read back, not made again
    assert images_at(images, 24, None, lambda: "pixels").__class__ is np.ndarray  # no folder: in memory


def test_training_rows_stream_from_where_they_lie_above_the_threshold(monkeypatch):
    from mammosearch.spec import AugmentationParams, HeadParams, TrialParams
    from mammosearch.trial.fit import Arrays, ViewBatches, training_data

    x = np.arange(10 * 4, dtype=np.float32).reshape(10, 4)
    labels = np.array([0, 1] * 5)
    rows = np.array([0, 2, 3, 5, 8, 9])
    params = TrialParams(family="vgg16", input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=4, epochs=1,
                         augmentation=AugmentationParams(), weights=None, head=HeadParams("gap_dropout", 0.0))
    small = training_data(x, rows, labels, params)
    assert isinstance(small, Arrays) and small.rows is None and small.x.shape == (6, 4)
    monkeypatch.setattr(paged, "IN_MEMORY_BYTES", 6 * 4 * 4 - 1)  # one byte less than the rows as float32
    streamed = training_data(x, rows, labels, params)
    assert isinstance(streamed, ViewBatches)
    seen = np.concatenate([streamed[b][0] for b in range(len(streamed))])
    np.testing.assert_array_equal(np.sort(seen[:, 0]), x[rows, 0])  # every training row once per epoch, no other
    np.testing.assert_array_equal(np.concatenate([streamed[b][1] for b in range(len(streamed))]), labels[rows][streamed.order])


def test_activations_of_a_large_set_go_to_their_file_as_they_are_computed(tmp_path, everything_large):
    import keras

    from mammosearch.trial import ActivationCache, ActivationKey, extract

    inputs = keras.Input((8, 8, 1))
    extractor = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs))
    images = np.random.default_rng(2).integers(0, 256, (70, 8, 8, 1), dtype=np.uint8)
    expected = np.asarray(extractor.predict(images.astype("float32"), batch_size=64, verbose=0))
    cache = ActivationCache(tmp_path)
    key = ActivationKey("cnn", "none@0", 8, 1, "conv", "pixels")
    got = cache.get(key, lambda path: extract(extractor, images, path))
    assert isinstance(got, np.memmap) and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert (tmp_path / f"{key.digest()}.npy").is_file() and not list(tmp_path.glob("*.filling"))


def test_a_search_streamed_from_disk_still_predicts_its_stored_scores(tmp_path, everything_large):
    space = tmp_path / "space.yaml"
    space.write_text(TINY_TRANSFER_SPACE, encoding="utf-8")
    results = tmp_path / "results"
    invoke = lambda *args: runner.invoke(app, [str(a) for a in args])  # noqa: E731
    result = invoke("run", "--space", space, "--results-dir", results)
    assert result.exit_code == 0, result.output
    assert list((results / "cache" / "activations").glob("*.npy"))  # activations went to disk
    assert invoke("export-best", "--results-dir", results, "--out", tmp_path / "exported").exit_code == 0
    assert invoke("data", "export", "--space", space, "--out", tmp_path / "images", "--results-dir", results).exit_code == 0
    out = tmp_path / "p.csv"
    result = invoke("predict", tmp_path / "exported", tmp_path / "images" / "val", "--out", out)
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        pairs = [(float(r["probability_malignant"]), float(r["stored_score"])) for r in csv.DictReader(handle) if r["stored_score"]]
    stored = json.loads((tmp_path / "exported" / "predictions.json").read_text())["val"]
    assert len(pairs) == len(stored["scores"]) == 16
    assert all(scores_agree(a, b) for a, b in pairs), max(abs(a - b) for a, b in pairs)


def test_the_word_wise_hamming_distance_equals_the_byte_table():
    from mammosearch.data.checks import _duplicates as duplicates

    hashes = np.random.default_rng(3).integers(0, 256, (300, duplicates.HASH_SIZE**2 // 8), dtype=np.uint8)
    table = duplicates._BITS_SET[hashes[:40, None, :] ^ hashes[None, :, :]].sum(axis=-1, dtype=np.uint16)
    np.testing.assert_array_equal(duplicates.hamming(hashes[:40], hashes), table)
    assert (np.diag(duplicates.hamming(hashes[:40], hashes[:40])) == 0).all()


def test_the_cache_file_is_handed_to_one_array_per_entry(tmp_path):
    from mammosearch.data.arrays import images_array, images_written_to

    with images_written_to(tmp_path / "entry.npy"):
        first = images_array((2, 4, 4, 1))
        second = images_array((3, 4, 4, 1))
    assert isinstance(first, np.memmap) and Path(first.filename) == tmp_path / "entry.npy"
    assert not isinstance(second, np.memmap)  # not a second writer of the same file
    assert not isinstance(images_array((1, 4, 4, 1)), np.memmap)  # outside a cache fill: memory


@pytest.mark.parametrize("value", ["lots", "-5", "nan", "inf"])
def test_a_malformed_threshold_is_one_line_before_any_trial(tmp_path, monkeypatch, value):
    monkeypatch.setenv("MAMMOSEARCH_IN_MEMORY_MB", value)
    space = tmp_path / "space.yaml"
    space.write_text(TINY_TRANSFER_SPACE, encoding="utf-8")
    result = runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "MAMMOSEARCH_IN_MEMORY_MB" in lines[0] and repr(value) in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "results" / "tiny_transfer").exists()  # a run makes it; none started


def test_the_threshold_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_IN_MEMORY_MB", "0.5")
    assert paged.in_memory_bytes() == 2**19
    monkeypatch.delenv("MAMMOSEARCH_IN_MEMORY_MB")
    assert paged.in_memory_bytes() == 256 * 2**20


@pytest.mark.parametrize("channels", [1, 3])
def test_the_statistics_from_one_bincount_equal_numpy_histogram_and_float_means(channels):
    from mammosearch.data.checks import _shortcuts as shortcuts

    images = np.random.default_rng(4).integers(0, 256, (7, 20, 20, channels), dtype=np.uint8)
    images[0] = 255  # the top edge: the last bin, as np.histogram puts it
    images[1] = 0
    gray = images.mean(axis=3) if channels > 1 else images[:, :, :, 0].astype(np.float64)  # as the statistics were defined
    expected = np.stack([np.histogram(g, bins=shortcuts.HISTOGRAM_BINS, range=(0, 256))[0] for g in gray])
    np.testing.assert_array_equal(shortcuts._histograms(shortcuts._gray(images)), expected)
    groups = shortcuts.statistics(images, np.zeros(7, bool), np.full(7, 20), np.full(7, 20), np.full(7, 8))
    np.testing.assert_array_equal(groups["intensity histogram"], expected / 400)
    k = max(1, int(20 * shortcuts.CORNER))
    corners = np.stack([gray[:, :k, :k].mean((1, 2)), gray[:, :k, -k:].mean((1, 2)), gray[:, -k:, :k].mean((1, 2)), gray[:, -k:, -k:].mean((1, 2))], axis=1)
    np.testing.assert_array_equal(groups["corner brightness"], np.sort(corners, axis=1))
