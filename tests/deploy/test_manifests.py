"""deploy/: the Kubernetes manifests against the Kubernetes schemas, and the SLURM script's shell.

The manifests are validated offline by kubernetes-validate (the API's OpenAPI schemas, strict:
an unknown field is an error); no cluster runs them here. The SLURM script runs for real in
tests/test_slurm.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is in the test extra: pip install -e '.[test]'")
K8S = REPO / "deploy" / "k8s"
# The oldest Kubernetes the manifests are meant for: Indexed Jobs with backoffLimitPerIndex (beta, on by default, in 1.29).
KUBERNETES = "1.30.0"


def _resources(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_every_manifest_is_valid_kubernetes():
    manifests = sorted(K8S.glob("*.yaml"))
    assert {p.name for p in manifests} >= {"postgres.yaml", "results-volume.yaml", "setup-job.yaml", "workers-job.yaml"}
    for path in manifests:
        for resource in _resources(path):
            kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def test_the_validator_refuses_a_mistyped_field():
    workers = _resources(K8S / "workers-job.yaml")[0]
    workers["spec"]["template"]["spec"]["containers"][0]["resource"] = workers["spec"]["template"]["spec"]["containers"][0].pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(workers, KUBERNETES, strict=True)


def test_the_workers_take_one_gpu_each_and_keep_the_password_out_of_the_url():
    workers = _resources(K8S / "workers-job.yaml")[0]
    assert workers["spec"]["completionMode"] == "Indexed"
    container = workers["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["command"][:2] == ["mammosearch", "worker"]
    env = {item["name"]: item for item in container["env"]}
    assert ":" not in env["MAMMOSEARCH_STORAGE"]["value"].split("//", 1)[1].split("@")[0]  # user only, no user:password
    assert "secretKeyRef" in env["PGPASSWORD"]["valueFrom"]


def test_a_stopped_worker_is_replaced_without_using_up_its_retries():
    """SIGTERM's exit code (what errors.Terminated exits with) and disruptions do not count; bad input fails the Job."""
    from mammosearch.errors import DataError, SpaceError, Terminated

    workers = _resources(K8S / "workers-job.yaml")[0]
    assert workers["spec"]["template"]["spec"]["restartPolicy"] == "Never"  # podFailurePolicy needs it
    rules = workers["spec"]["podFailurePolicy"]["rules"]
    by_action: dict[str, list[int]] = {}
    for rule in rules:
        if "onExitCodes" in rule:
            assert rule["onExitCodes"]["containerName"] == "worker" and rule["onExitCodes"]["operator"] == "In"
            by_action.setdefault(rule["action"], []).extend(rule["onExitCodes"]["values"])
    assert by_action["Ignore"] == [Terminated.exit_code]
    assert sorted(by_action["FailJob"]) == sorted([SpaceError.exit_code, DataError.exit_code])
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]} in rules


def test_the_slurm_script_is_valid_bash_with_one_gpu_per_array_task():
    script = REPO / "deploy" / "slurm" / "worker.sbatch"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    directives = [line.split(None, 1)[1] for line in script.read_text().splitlines() if line.startswith("#SBATCH")]
    assert "--gres=gpu:1" in directives and "--requeue" in directives and any(d.startswith("--array=") for d in directives)
