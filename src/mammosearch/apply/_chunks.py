"""The inputs of ``predict`` and ``explain``, read a chunk at a time through the training decode path.

A chunk bounds memory on a large folder; a file that cannot be decoded is handed back with
its reason, in its place, and the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mammosearch.apply.bundle import ModelBundle
from mammosearch.apply.inputs import InputItem
from mammosearch.data import Prepared, prepare_file
from mammosearch.errors import DataError


@dataclass(frozen=True)
class Chunk:
    ready: list[tuple[int, InputItem, Prepared]]  # (position in the inputs, item, its pixels)
    failed: list[tuple[int, InputItem, str]]  # (position, item, why it could not be read)
    size: int  # inputs in this chunk, read or not


def prepared_chunks(bundle: ModelBundle, items: list[InputItem], size: int) -> Iterator[Chunk]:
    for start in range(0, len(items), size):
        ready: list[tuple[int, InputItem, Prepared]] = []
        failed: list[tuple[int, InputItem, str]] = []
        for index, item in enumerate(items[start : start + size], start=start):
            try:
                ready.append((index, item, prepare_file(item.path, bundle.channels, bundle.data_image_size, bundle.input_size, bundle.photometry, bundle.framing)))
            except DataError as exc:
                failed.append((index, item, str(exc)))
        yield Chunk(ready, failed, min(size, len(items) - start))
