"""Weights files per family, `weights fetch` against a real loopback HTTP server, `weights check` offline."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SHARED
from mammosearch.cli import app
from mammosearch.models import registry

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()
VGG16_FILE = SHARED / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
needs_weights = pytest.mark.skipif(not VGG16_FILE.is_file(), reason=f"the shared ImageNet VGG16 weights are not at {VGG16_FILE} (../shared/weights)")


def _run(tmp_path: Path, space_text: str, *extra: str):
    space = tmp_path / "space.yaml"
    space.write_text(space_text, encoding="utf-8")
    return runner.invoke(app, ["run", "--space", str(space), "--storage", f"sqlite:///{tmp_path / 's.db'}", "--results-dir", str(tmp_path / "r"), *extra])


def _one_error_line(result, *needles: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert all(needle in lines[0] for needle in needles), lines[0]
    assert "Traceback" not in result.output


@needs_weights
def test_the_shared_imagenet_vgg16_file_runs_fine_tunes_exports_and_reloads(tmp_path):
    import keras
    import optuna

    result = _run(tmp_path, f"""
study: {{name: vgg, sampler: random, pruner: none, n_trials: 3, seed: 2, keep_top_k: 3}}
data: {{source: synthetic, n_images: 48, image_size: 32, split: {{validation: 0.25}}}}
model: {{families: [vgg16], heads: [gap_dropout], input_size: 32, weights: {{vgg16: {VGG16_FILE}}}}}
training: {{epochs: 1, batch_size: 16, fine_tune: [false, true], unfrozen_layers: 2, fine_tune_epochs: 1}}
""")
    assert result.exit_code == 0, result.output
    trials = optuna.load_study(study_name="vgg", storage=f"sqlite:///{tmp_path / 's.db'}").trials
    assert {t.user_attrs["training_path"] for t in trials} == {"cached activations"}
    assert {t.user_attrs["params"]["fine_tune"] for t in trials} == {False, True}
    assert all(t.user_attrs["params"]["weights"] == str(VGG16_FILE) for t in trials)
    exported = runner.invoke(app, ["export-best", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--study", "vgg", "--out", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    model = keras.saving.load_model(tmp_path / "out" / "model.keras", safe_mode=True)
    # The exported backbone carries the file's ImageNet kernels, not a random initialisation.
    with h5py.File(VGG16_FILE, "r") as handle:
        kernel = handle["block1_conv1"]["block1_conv1/kernel"][()]
    backbone = [layer for layer in model.layers if isinstance(layer, keras.Model)][0]
    assert np.allclose(backbone.get_layer("block1_conv1").get_weights()[0], kernel)
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    assert card["model"]["backbone_weights"] == str(VGG16_FILE)
    # The linear probe on the pretrained backbone is computed once and shown beside the best trial.
    probes = optuna.load_study(study_name="vgg", storage=f"sqlite:///{tmp_path / 's.db'}").user_attrs["linear_probes"]
    assert [p["family"] for p in probes] == ["vgg16"] and 0.0 <= probes[0]["auc"] <= 1.0
    report = runner.invoke(app, ["report", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--study", "vgg", "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert report.exit_code == 0 and "linear probe on vgg16" in report.output and "trivial baseline" in report.output


@needs_weights
def test_a_vgg16_file_given_to_resnet50_is_refused_before_any_trial(tmp_path):
    import optuna

    result = _run(tmp_path, f"model: {{families: [resnet50], weights: {{resnet50: {VGG16_FILE}}}}}\n")
    assert result.exit_code == 2
    _one_error_line(result, "model.weights.resnet50", str(VGG16_FILE), "not ResNet50 no-top weights")
    assert optuna.study.get_all_study_names(f"sqlite:///{tmp_path / 's.db'}") == []


@needs_weights
def test_a_truncated_weights_file_is_refused(tmp_path):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(VGG16_FILE.read_bytes()[: 20_000_000])
    result = _run(tmp_path, f"model: {{families: [vgg16], weights: {{vgg16: {cut}}}}}\n")
    assert result.exit_code == 2
    _one_error_line(result, "model.weights.vgg16", str(cut), "is the file complete?")


def test_a_weights_file_of_the_wrong_shape_is_refused(tmp_path):
    odd = tmp_path / "odd.h5"
    with h5py.File(odd, "w") as handle:
        handle.attrs["layer_names"] = [b"block1_conv1", b"block5_conv3"]
        for layer, shape in (("block1_conv1", (3, 3, 1, 64)), ("block5_conv3", (3, 3, 512, 512))):
            group = handle.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/kernel".encode()]
            group.create_dataset(f"{layer}/kernel", data=np.zeros(shape, dtype=np.float32))
    result = _run(tmp_path, f"model: {{families: [vgg16], weights: {{vgg16: {odd}}}}}\n")
    assert result.exit_code == 2
    _one_error_line(result, "model.weights.vgg16", "block1_conv1 has kernel shape (3, 3, 1, 64)", "(3, 3, 3, 64)")


def _serve(monkeypatch, www: Path, url: str, payload: bytes, md5: str | None = None, family: str = "vgg16") -> None:
    """Serve ``payload`` as ``family``'s ImageNet file, pinned with a hash of the family's own algorithm."""
    entry = registry.FAMILIES[family]
    (www / f"{family}_notop.h5").write_bytes(payload)
    digest = md5 or hashlib.new(entry.imagenet.algorithm, payload).hexdigest()
    served = dataclasses.replace(entry.imagenet, url=f"{url}/{family}_notop.h5", hash=digest)
    monkeypatch.setitem(registry.FAMILIES, family, dataclasses.replace(entry, imagenet=served))


WITH_IMAGENET = [name for name, entry in registry.FAMILIES.items() if entry.imagenet is not None]


@pytest.mark.parametrize("family", WITH_IMAGENET)
def test_weights_fetch_puts_a_hash_checked_file_where_keras_looks_and_check_sees_it(tmp_path, server, monkeypatch, family):
    www, url = server
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    _serve(monkeypatch, www, url, b"pretend weights " * 1000, family=family)
    before = runner.invoke(app, ["weights", "check"], env={"COLUMNS": "250"})
    assert before.exit_code == 0 and "missing" in before.output
    fetched = runner.invoke(app, ["weights", "fetch", "--family", family], env={"COLUMNS": "250"})
    assert fetched.exit_code == 0, fetched.output
    target = tmp_path / "keras" / "models" / registry.FAMILIES[family].imagenet.name
    assert target.read_bytes() == b"pretend weights " * 1000
    after = runner.invoke(app, ["weights", "check"], env={"COLUMNS": "250"})
    row = next(line for line in after.output.splitlines() if f" {family} " in line)
    assert "ready" in row, after.output
    # The check before a run (`weights: imagenet`) accepts it offline under the same pinned hash.
    from mammosearch.models import ensure_imagenet_weights

    assert ensure_imagenet_weights(family) == target


def _keras_pinned(application: str) -> tuple[str, str]:
    """(no-top file URL, hash) as the installed keras.applications module pins them."""
    from keras.src.applications import convnext, efficientnet_v2, resnet, vgg16

    if application == "VGG16":
        return vgg16.WEIGHTS_PATH_NO_TOP, "6d6bbae143d832006294945121d1f1fc"  # vgg16.py passes it inline to get_file
    if application == "ResNet50":
        name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return resnet.BASE_WEIGHTS_PATH + name, resnet.WEIGHTS_HASHES["resnet50"][1]
    if application == "EfficientNetV2B0":
        return efficientnet_v2.BASE_WEIGHTS_PATH + "efficientnetv2-b0_notop.h5", efficientnet_v2.WEIGHTS_HASHES["b0"][1]
    assert application == "ConvNeXtTiny"
    return convnext.BASE_WEIGHTS_PATH + "convnext_tiny_notop.h5", convnext.WEIGHTS_HASHES["convnext_tiny"][1]


@pytest.mark.parametrize("family", WITH_IMAGENET)
def test_each_family_pins_the_no_top_file_and_hash_keras_applications_pins(family):
    entry = registry.FAMILIES[family]
    url, digest = _keras_pinned(entry.application)
    assert (entry.imagenet.url, entry.imagenet.hash) == (url, digest)
    assert url.endswith("/" + entry.imagenet.name)
    assert entry.imagenet.algorithm == ("sha256" if family == "convnext_tiny" else "md5")


def test_weights_fetch_refuses_a_file_whose_hash_differs_and_removes_it(tmp_path, server, monkeypatch):
    www, url = server
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    _serve(monkeypatch, www, url, b"not the weights", md5="0" * 32)
    result = runner.invoke(app, ["weights", "fetch", "--family", "vgg16"], env={"COLUMNS": "250"})
    assert result.exit_code != 0
    assert "is not the expected 00000000000000000000000000000000" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").exists()


def test_weights_fetch_without_a_network_says_which_url_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    vgg16 = registry.FAMILIES["vgg16"]
    monkeypatch.setitem(registry.FAMILIES, "vgg16", dataclasses.replace(vgg16, imagenet=dataclasses.replace(vgg16.imagenet, url="http://127.0.0.1:9/x.h5")))
    result = runner.invoke(app, ["weights", "fetch", "--family", "vgg16"])
    assert result.exit_code == 6 and "cannot download http://127.0.0.1:9/x.h5" in result.output


def _cached_imagenet_file(tmp_path: Path, monkeypatch, truncated: bool) -> Path:
    """A small real HDF5 file where Keras caches VGG16's ImageNet weights, cut short when asked."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    target = tmp_path / "keras" / "models" / registry.FAMILIES["vgg16"].imagenet.name
    target.parent.mkdir(parents=True)
    with h5py.File(target, "w") as handle:
        handle.create_dataset("block1_conv1/kernel", data=np.arange(20_000, dtype=np.float32))
    if truncated:
        target.write_bytes(target.read_bytes()[:30_000])
    return target


@pytest.mark.parametrize("truncated", [True, False], ids=["truncated", "another-file"])
def test_a_bad_imagenet_file_in_keras_cache_stops_run_before_any_trial(tmp_path, monkeypatch, truncated):
    import optuna

    target = _cached_imagenet_file(tmp_path, monkeypatch, truncated)
    result = _run(tmp_path, "model: {families: [vgg16], weights: imagenet}\n")
    assert result.exit_code == 2
    reason = "truncated or damaged" if truncated else "not the file Keras publishes"
    _one_error_line(result, str(target), reason, "weights fetch --family vgg16")
    assert target.is_file()  # the user's file is named, not silently replaced
    assert optuna.study.get_all_study_names(f"sqlite:///{tmp_path / 's.db'}") == []


def test_weights_check_says_a_cached_imagenet_file_is_truncated(tmp_path, monkeypatch):
    _cached_imagenet_file(tmp_path, monkeypatch, truncated=True)
    result = runner.invoke(app, ["weights", "check"], env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "truncated or damaged" in result.output


def _marker_file(path: Path, family: str) -> Path:
    """A small HDF5 file laid out as Keras saves no-top weights, holding ``family``'s marker layers."""
    markers = registry.FAMILIES[family].weight_markers
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [layer.encode() for layer, _ in markers]
        for layer, shape in markers:
            group = handle.create_group(layer)
            group.attrs["weight_names"] = [f"{layer}/kernel:0".encode()]
            group.create_dataset(f"{layer}/kernel:0", data=np.zeros(shape, dtype=np.float32))
    return path


@pytest.mark.parametrize("family, other", [("efficientnetv2-b0", "convnext_tiny"), ("convnext_tiny", "efficientnetv2-b0")])
def test_a_new_familys_weights_file_is_checked_by_its_markers(tmp_path, family, other):
    from mammosearch.errors import SpaceError
    from mammosearch.models import check_weights_file

    own = _marker_file(tmp_path / f"{family}.h5", family)
    check_weights_file(own, family, "model.weights")  # its own markers: accepted
    application = registry.FAMILIES[other].application
    with pytest.raises(SpaceError, match=f"so it is not {application} no-top weights"):
        check_weights_file(own, other, f"model.weights.{other}")
