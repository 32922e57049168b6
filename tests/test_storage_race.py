"""Processes that open the same new SQLite storage at once all get it (no schema race)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize

import mammosearch.store.storage  # noqa: F401  (imported before the fork: the processes start level)


def _open(url: str, results: multiprocessing.Queue, start: multiprocessing.synchronize.Barrier) -> None:
    from mammosearch.store.storage import open_storage

    start.wait(timeout=60)  # all at once: the collision is what is tested
    try:
        open_storage(url)
        results.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        results.put(repr(exc))


def test_several_processes_creating_one_new_database_all_open_it(tmp_path):
    context = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(10):  # the collision is timing-dependent: several rounds of 4 at once
        url = f"sqlite:///{tmp_path / f'round{round_}.db'}"
        queue, start = context.Queue(), context.Barrier(4)
        processes = [context.Process(target=_open, args=(url, queue, start)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        outcomes += [queue.get(timeout=10) for _ in processes]
    assert outcomes == ["ok"] * 40, [o for o in outcomes if o != "ok"]
