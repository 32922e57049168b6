"""Which worker this process is, on which host, since when, and which GPU it takes.

A cluster's scheduler says who a worker is: SLURM array tasks carry ``SLURM_ARRAY_JOB_ID``
and ``SLURM_ARRAY_TASK_ID``, a Kubernetes indexed Job's pods ``JOB_COMPLETION_INDEX``,
`run --workers N`'s processes ``MAMMOSEARCH_WORKER``; anything else is named by its pid.
A worker's label and start time travel to its recycled children in ``MAMMOSEARCH_WORKER_LABEL``
and ``MAMMOSEARCH_WORKER_STARTED``,
so the trials of one worker read as one worker in the report, however many processes
trained them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from mammosearch.search.options import WORKER_ENV
from mammosearch.store.record import WorkerStamp

STARTED_ENV = "MAMMOSEARCH_WORKER_STARTED"
LABEL_ENV = "MAMMOSEARCH_WORKER_LABEL"


def worker_label(env: Mapping[str, str] = os.environ) -> str:
    """``slurm <job>_<task>``, ``slurm <job>``, ``k8s <index>``, ``worker <i>`` or ``pid <pid>`` (of the worker's first process)."""
    if env.get(LABEL_ENV):
        return env[LABEL_ENV]
    if env.get("SLURM_ARRAY_TASK_ID"):
        return f"slurm {env.get('SLURM_ARRAY_JOB_ID', env.get('SLURM_JOB_ID', '?'))}_{env['SLURM_ARRAY_TASK_ID']}"
    if env.get("SLURM_JOB_ID"):
        return f"slurm {env['SLURM_JOB_ID']}"
    if env.get("JOB_COMPLETION_INDEX"):
        return f"k8s {env['JOB_COMPLETION_INDEX']}"
    if env.get(WORKER_ENV):
        return f"worker {env[WORKER_ENV]}"
    return f"pid {os.getpid()}"


@contextmanager
def worker_session(env: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """Within it, this process is the worker and now its start, for it and every process it starts
    (kept as they are when a parent noted them already); as they were afterwards."""
    noted = {key: env[key] for key in (LABEL_ENV, STARTED_ENV) if key in env}
    env.setdefault(LABEL_ENV, worker_label(env))
    env.setdefault(STARTED_ENV, f"{time.time():.3f}")
    try:
        yield
    finally:
        for key in (LABEL_ENV, STARTED_ENV):
            if key in noted:
                env[key] = noted[key]
            else:
                env.pop(key, None)


def forget_worker(env: MutableMapping[str, str]) -> None:
    """An environment for a new worker (one of `run --workers N`): not this process's label and start."""
    env.pop(LABEL_ENV, None)
    env.pop(STARTED_ENV, None)


def worker_started() -> float:
    """When this worker started: as its first process noted it, else when this process started."""
    noted = os.environ.get(STARTED_ENV, "")
    try:
        return float(noted)
    except ValueError:
        import psutil

        return float(psutil.Process().create_time())


def current_stamp() -> WorkerStamp:
    return WorkerStamp(socket.gethostname(), worker_label(), worker_started())


def visible_gpus() -> list[str]:
    """The GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` as the scheduler set it, else every GPU ``nvidia-smi`` lists."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip()]
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
            return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU")]
        except (OSError, subprocess.TimeoutExpired):
            return []
    return []


def take_one_gpu(env: MutableMapping[str, str] = os.environ) -> str | None:
    """Restrict this process (and its children) to one GPU before any backend is imported; returns it, or None on a CPU.

    A scheduler that allocates one GPU per task (SLURM ``--gpus-per-task=1``, a pod's
    ``nvidia.com/gpu: 1``) leaves exactly one visible. When several are visible (a worker
    started by hand on a multi-GPU node), the worker's slot picks one: SLURM's local task
    id, the `--workers` number or the Kubernetes index, modulo their count.
    """
    gpus = visible_gpus()
    if not gpus:
        return None
    slot = next((env[k] for k in ("SLURM_LOCALID", WORKER_ENV, "JOB_COMPLETION_INDEX") if env.get(k, "").isdigit()), "0")
    chosen = gpus[int(slot) % len(gpus)]
    env["CUDA_VISIBLE_DEVICES"] = chosen  # one trial per GPU per process
    return chosen
