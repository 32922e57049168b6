"""`mammosearch run --workers N`: N worker processes on one study, on one machine.

Each worker is the same `mammosearch run` command with `--workers 1`; they share the
study through the storage (SQLite with a 30 s lock timeout here; PostgreSQL across
machines), so trial numbers stay unique and the budget is shared: a worker stops once the
study holds ``n_trials`` finished trials (a few trials already in flight may finish past
it). On a GPU machine each worker sees one GPU (``CUDA_VISIBLE_DEVICES``); on a CPU the
cores are split between the workers. Each worker's output goes to
``results/<study>/workers/worker-<i>.log``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class WorkerPlan:
    index: int
    env: dict[str, str]
    log: Path


def visible_gpus() -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g for g in listed.split(",") if g.strip()]
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
            return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU")]
        except (OSError, subprocess.TimeoutExpired):
            return []
    return []


def plan_workers(n: int, log_dir: Path) -> list[WorkerPlan]:
    gpus = visible_gpus()
    threads = max(1, (os.cpu_count() or 1) // n)
    plans = []
    for i in range(n):
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]  # one trial per GPU per process
        else:
            env["MAMMOSEARCH_THREADS"] = str(threads)
        plans.append(WorkerPlan(i, env, log_dir / f"worker-{i}.log"))
    return plans


def run_workers(command: list[str], plans: list[WorkerPlan], poll: Callable[[], None] | None = None) -> list[int]:
    """Start every worker, call ``poll`` every second while they run, return their exit codes."""
    processes = []
    for plan in plans:
        plan.log.parent.mkdir(parents=True, exist_ok=True)
        handle = plan.log.open("w")
        processes.append((subprocess.Popen([sys.executable, "-m", "mammosearch.cli", *command], env=plan.env, stdout=handle, stderr=subprocess.STDOUT), handle))
    try:
        while any(p.poll() is None for p, _ in processes):
            if poll is not None:
                poll()
            time.sleep(1.0)
    except KeyboardInterrupt:
        for process, _ in processes:
            process.terminate()
        raise
    finally:
        for _, handle in processes:
            handle.close()
    if poll is not None:
        poll()
    return [p.returncode for p, _ in processes]
