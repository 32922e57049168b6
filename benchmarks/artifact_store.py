"""What the artifact store costs per kept trial: uploading its folder, removing it, fetching it on another node.

    python benchmarks/artifact_store.py                  # a 56 MB model (a full VGG16 at 224 px) + predictions, file store
    python benchmarks/artifact_store.py --mb 1 --s3      # also moto's S3 server on 127.0.0.1 (an emulator, not AWS)

A kept trial's folder (``model.keras`` of ``--mb`` MB of random bytes and a 20 kB
``predictions.json``) is uploaded with the code a training process runs
(``KeptArtifacts.upload_kept``: Optuna's ``upload_artifact`` per file, ids recorded in the
trial), removed as a trial pushed out of the top K is, and fetched into an empty folder as
``export-best`` does on another node. Storage: an SQLite file in a temporary folder. Prints
the median of ``--repeat`` rounds in seconds and MB/s, and the load average (other
processes share the machine: compare the parts, not the seconds).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from mammosearch.store import StudyDir
from mammosearch.store.artifact_store import KeptArtifacts, fetch_trial, parse_location
from mammosearch.store.record import trial_files


def _round(url: str, root: Path, mb: float) -> tuple[float, float, float]:
    study = optuna.create_study(storage=f"sqlite:///{root / 'study.db'}", direction="maximize")
    kept = KeptArtifacts(parse_location(url), writing=True)
    trial = study.ask()
    folder = root / "node_a" / "trials" / f"{trial.number:05d}"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(os.urandom(int(mb * 1e6)))
    (folder / "predictions.json").write_text("[" + ",".join(["0.5"] * 5000) + "]")
    started = time.perf_counter()
    kept.upload_kept(trial, study, trial.number, folder)
    upload = time.perf_counter() - started
    study.tell(trial, 0.5)
    files = trial_files(study.trials[0].user_attrs, study.user_attrs, trial.number)
    started = time.perf_counter()
    fetch_trial(kept, StudyDir(root / "node_c", study.study_name), None, trial.number, files)
    fetch = time.perf_counter() - started
    started = time.perf_counter()
    kept.remove_dropped(study, dropped={trial.number})
    remove = time.perf_counter() - started
    return upload, fetch, remove


def _moto_url() -> tuple[str, object]:
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    boto3.client("s3").create_bucket(Bucket="bench")
    return "s3://bench/runs", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=56.0, help="size of the kept model file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also time an S3 store on moto's local S3 server")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    stores = ["file"] + (["s3"] if args.s3 else [])
    server = None
    print(f"kept folder: model.keras {args.mb:g} MB + predictions.json; median of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'store':<6} {'upload s':>9} {'MB/s':>7} {'fetch s':>9} {'MB/s':>7} {'remove s':>9}")
    try:
        for kind in stores:
            rounds = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(tmp)
                    if kind == "file":
                        (root / "store").mkdir()
                        url = (root / "store").as_uri()
                    else:
                        if server is None:
                            url_s3, server = _moto_url()
                        url = url_s3
                    rounds.append(_round(url, root, args.mb))
            up, fetch, remove = (statistics.median(r[i] for r in rounds) for i in range(3))
            print(f"{kind:<6} {up:>9.3f} {args.mb / up:>7.0f} {fetch:>9.3f} {args.mb / fetch:>7.0f} {remove:>9.3f}")
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
