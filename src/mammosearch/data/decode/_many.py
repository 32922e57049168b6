"""Decoding many files on every core, in order, with the same pixels as one at a time.

Each file goes through :func:`~mammosearch.data.decode._image.decode_file` (and, with ``size``,
:func:`~mammosearch.data.decode._image.to_square`) in a worker; results come back in input order,
so the arrays equal a serial loop's bit for bit (a test checks it). Threads, not processes:
Pillow's decoders and resampling release the GIL, and threads share no copies of the
pixels (``benchmarks/decode_speed.py`` measures both). With ``size`` only the resized copy
is kept, so a set of large scans is never held at full resolution. The decode reports its
progress as a stage (``mammosearch.progress``): a bar at a terminal, lines in a log.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from mammosearch.data.arrays import release
from mammosearch.data.decode._framing import Framing, framed_and_fitted
from mammosearch.data.decode._image import decode_file, to_square
from mammosearch.data.pixels import ColorMode, Decoded
from mammosearch.progress import stage
from mammosearch.spec import ImageSize, Size

Pool = Literal["threads", "processes", "serial"]
NO_FRAMING = Framing()
RELEASE_EVERY = 256  # decoded images between flushes of the cache file being written
AHEAD = 8  # files in flight per worker: keeps every core busy without holding the whole set


def workers() -> int:
    """Cores this process may use (the affinity mask, not the machine's count), or ``MAMMOSEARCH_DECODE_WORKERS``."""
    wanted = os.environ.get("MAMMOSEARCH_DECODE_WORKERS")
    if wanted and wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def decode_one(path: Path, color: ColorMode, size: Size | None, framing: Framing = NO_FRAMING) -> Decoded:
    decoded = decode_file(path, color, draft_size=draft_for(size, framing))
    return at_size(decoded, size, framing)


def draft_for(size: Size | None, framing: Framing) -> int | None:
    """The JPEG draft size a decode at ``size`` may use: its longer side (never smaller than the fit
    needs); none with a crop (a JPEG drafted to the size could be too small once cropped)."""
    return None if framing.crop or size is None else max(ImageSize.of(size).shape)


def at_size(decoded: Decoded, size: Size | None, framing: Framing = NO_FRAMING) -> Decoded:
    """A decoded file framed (crop, orientation) and fitted to ``size``; as it is without a size.

    A square without crop is stretched, as always; a rectangle, or a cropped breast, keeps
    its aspect ratio and is padded (``_framing.fit``).

    Loaders (through :func:`decode_one`) and ``prepare.prepare_file`` both call it: one path.
    """
    if size is None:
        return decoded
    target = ImageSize.of(size)
    if framing.active or not target.is_square:
        return framed_and_fitted(decoded, framing, target.shape)
    return replace(decoded, pixels=to_square(decoded.pixels, target.height), stored_size=(decoded.height, decoded.width))


def decode_all(paths: Sequence[Path], color: ColorMode, size: Size | None = None, pool: Pool = "threads",
               on_error: Callable[[int, Exception], Exception] | None = None, label: str = "decode",
               keep: Callable[[int, Decoded], Decoded] | None = None, framing: Framing = NO_FRAMING) -> list[Decoded]:
    """``decode_one`` for every path, in order. ``on_error(i, exc)`` may turn a failure into the error to raise;
    ``keep(i, decoded)``, when given, is what the list holds of each result (e.g. without its pixels)."""
    n_workers = 1 if pool == "serial" else min(workers(), max(1, len(paths)))
    if n_workers == 1:
        return _collect((_safe(decode_one, p, color, size, framing) for p in paths), len(paths), on_error, label, keep)
    executor: Executor = ThreadPoolExecutor(n_workers) if pool == "threads" else ProcessPoolExecutor(n_workers)
    with executor:
        return _collect(_in_order(executor, paths, color, size, AHEAD * n_workers, framing), len(paths), on_error, label, keep)


def _in_order(executor: Executor, paths: Sequence[Path], color: ColorMode, size: Size | None, ahead: int,
              framing: Framing = NO_FRAMING) -> Iterator[Decoded | Exception]:
    """Results in input order, with at most ``ahead`` files submitted and not yet handed on.

    A bounded window, not one future per file: a future holds its result until it is
    dropped, so submitting every file at once would keep every decoded image alive.
    """
    pending: deque[Future[Decoded | Exception]] = deque()
    for path in paths:
        pending.append(executor.submit(_safe, decode_one, path, color, size, framing))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def decode_stacked(paths: Sequence[Path], color: ColorMode, size: Size,
                   on_error: Callable[[int, Exception], Exception] | None = None, label: str = "decode",
                   framing: Framing = NO_FRAMING) -> tuple[np.ndarray, list[Decoded]]:
    """Every file decoded at ``size`` into one ``(N, height, width, C)`` uint8 array, and each file's record without its pixels.

    The array is ``cache.images_array``: while the decoded-image cache fills an entry, the
    entry's own file, so the images go to disk as they are decoded and a large set is
    never in memory whole.
    """
    from mammosearch.data.arrays import images_array

    target: list[np.ndarray] = []

    def keep(index: int, decoded: Decoded) -> Decoded:
        if not target:
            target.append(images_array((len(paths), *decoded.pixels.shape)))
        target[0][index] = decoded.pixels
        if index % RELEASE_EVERY == RELEASE_EVERY - 1:
            release(target[0])  # written pages go to the file, not into this process's resident set
        return replace(decoded, pixels=np.empty((0, 0, decoded.pixels.shape[2]), dtype=np.uint8))

    records = decode_all(paths, color, size, on_error=on_error, label=label, keep=keep, framing=framing)
    return (target[0] if target else np.empty((0, *ImageSize.of(size).shape, 1), dtype=np.uint8)), records


def _safe(function: Callable[..., Decoded], *args: object) -> Decoded | Exception:
    try:
        return function(*args)
    except Exception as exc:  # handed back in order, raised by the caller's thread
        return exc


def _collect(results: Iterable[Decoded | Exception], total: int, on_error: Callable[[int, Exception], Exception] | None, label: str,
             keep: Callable[[int, Decoded], Decoded] | None = None) -> list[Decoded]:
    out: list[Decoded] = []
    with stage(label, total, "files") as progress:  # shown by whatever display the command installed
        for index, result in enumerate(results):
            if isinstance(result, Exception):
                raise (on_error(index, result) if on_error is not None else result)
            out.append(result if keep is None else keep(index, result))
            progress.advance()
    return out
