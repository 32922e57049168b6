from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mammosearch.data import MiasSpec, SplitSpec, load_image_set
from mammosearch.data.decode import _many as decode_many
from mias_files import _fixture

ROWS = [f"mdb{i:03d} G CIRC {'B' if i % 4 < 2 else 'M'} 100 100 20" for i in range(1, 17)]


@pytest.fixture
def counted_reads(monkeypatch):
    calls = []
    real = decode_many.decode_file  # every loader decodes through decode_many (threads: list.append is atomic)

    def counting(path, color, draft_size=None):
        calls.append(Path(path).name)
        return real(path, color, draft_size)

    monkeypatch.setattr(decode_many, "decode_file", counting)
    return calls


def test_a_second_load_is_served_from_the_cache(tmp_path, counted_reads):
    spec = MiasSpec(root=_fixture(tmp_path / "m", ROWS), image_size=32)
    first = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    assert len(counted_reads) == 16
    second = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    assert len(counted_reads) == 16  # nothing decoded again
    np.testing.assert_array_equal(first.images, second.images)
    assert first.notes == second.notes and (first.splits == second.splits).all()
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_a_changed_image_or_preprocessing_gives_a_new_entry(tmp_path, counted_reads):
    root = _fixture(tmp_path / "m", ROWS)
    cache = tmp_path / "cache"
    load_image_set(MiasSpec(root=root, image_size=32), SplitSpec(), cache_dir=cache)
    Image.fromarray(np.full((256, 256), 200, dtype=np.uint8)).save(root / "mdb003.pgm")
    os.utime(root / "mdb003.pgm", ns=(1, 1))  # even with an old mtime the size/mtime pair differs
    changed = load_image_set(MiasSpec(root=root, image_size=32), SplitSpec(), cache_dir=cache)
    assert len(counted_reads) == 32 and changed.images[2].min() == 200
    load_image_set(MiasSpec(root=root, image_size=32, margin=2.0), SplitSpec(), cache_dir=cache)
    assert len(counted_reads) == 48
    assert len(list(cache.glob("*.npz"))) == 3


def test_a_damaged_cache_entry_is_recomputed(tmp_path, counted_reads):
    spec = MiasSpec(root=_fixture(tmp_path / "m", ROWS), image_size=32)
    load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("*.npz")
    entry.write_bytes(b"torn")
    again = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    assert len(counted_reads) == 32 and again.images.shape == (16, 32, 32, 1)


def test_the_cached_images_are_memory_mapped_and_a_short_images_file_is_recomputed(tmp_path, counted_reads):
    spec = MiasSpec(root=_fixture(tmp_path / "m", ROWS), image_size=32)
    first = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    second = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    # Paged in from disk as used, not read whole; the same pixels as the decode that wrote them.
    assert isinstance(first.images, np.memmap) and isinstance(second.images, np.memmap) and not second.images.flags.writeable
    np.testing.assert_array_equal(first.images, second.images)
    (images_file,) = (tmp_path / "cache").glob("*.images.npy")
    images_file.write_bytes(images_file.read_bytes()[:-100])  # torn: shorter than its header says
    again = load_image_set(spec, SplitSpec(), cache_dir=tmp_path / "cache")
    assert len(counted_reads) == 32  # decoded again, not trusted
    np.testing.assert_array_equal(again.images, first.images)
