from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import REPO, skip_if_its_weights_are_absent
from mammosearch.config import Space, load_space, parse_space
from mammosearch.errors import SpaceError
from mammosearch.spec import Categorical, Fixed, FloatRange, IntRange

SHIPPED = sorted((REPO / "search_spaces").glob("*.yaml"))


def test_the_required_spaces_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"demo", "cnn", "transfer", "full"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_space_loads_and_validates(path: Path):
    skip_if_its_weights_are_absent(path)
    space = load_space(path)
    assert space.model.families
    assert space.study.n_trials or space.study.timeout


def test_demo_yaml_spells_out_the_built_in_defaults():
    from_file = load_space(REPO / "search_spaces" / "demo.yaml")
    assert dataclasses.replace(from_file, source="x") == dataclasses.replace(Space(), source="x")
    assert from_file.study_name == Space().study_name == "demo"


def test_transfer_space_covers_both_families_heads_and_fine_tuning():
    space = load_space(REPO / "search_spaces" / "transfer.yaml")
    assert set(space.model.families) == {"vgg16", "resnet50"}
    assert set(space.model.heads) == {"dense_bn_dropout", "gap_dropout"}
    assert isinstance(space.training.fine_tune, Categorical) and set(space.training.fine_tune.choices) == {False, True}


def test_scalar_list_and_mapping_become_fixed_categorical_and_ranges():
    space = parse_space(
        """
training:
  batch_size: 8
  optimizer: [adam, sgd]
  learning_rate: {low: 1e-4, high: 1e-2, log: true}
  epochs: {low: 2, high: 6, step: 2}
"""
    )
    t = space.training
    assert t.batch_size == Fixed(8)
    assert t.optimizer == Categorical(("adam", "sgd"))
    assert t.learning_rate == FloatRange(1e-4, 1e-2, log=True)  # "1e-4" is a string in YAML 1.1
    assert t.epochs == IntRange(2, 6, step=2)


def test_relative_paths_resolve_against_the_yaml_file(tmp_path: Path):
    (tmp_path / "imgs").mkdir()
    space = parse_space("data: {source: folder, root: imgs}", source="s.yaml", base_dir=tmp_path)
    assert space.data.root == (tmp_path / "imgs").resolve()


def test_weights_accept_a_local_file_and_per_family_values(tmp_path: Path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"x")
    space = parse_space(f"model: {{families: [vgg16, resnet50], weights: {{vgg16: {weights}, resnet50: imagenet}}}}")
    assert space.model.weights == {"vgg16": str(weights), "resnet50": "imagenet"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("study: {n_trials: 3\n", "malformed YAML"),
        ("trainig: {epochs: 2}", "trainig: unknown key; did you mean 'training'?"),
        ("training: {learning_rat: 0.1}", "training.learning_rat: unknown key; did you mean 'learning_rate'?"),
        ("training: {epochs: many}", "training.epochs: expected an integer, got 'many'"),
        ("training: {batch_size: 3.5}", "training.batch_size: expected an integer, got 3.5"),
        ("training: {learning_rate: {low: 0.1, high: 0.01}}", "training.learning_rate: `low <= high` must hold, but got low=0.1, high=0.01"),
        ("training: {learning_rate: {low: 0, high: 0.01, log: true}}", "training.learning_rate.low: must be > 0"),
        ("training: {learning_rate: .nan}", "training.learning_rate: expected a finite number"),
        ("training: {learning_rate: {high: 0.1}}", "`low` is missing"),
        ("model: {families: [cnn, alexnet]}", "model.families[1]: unknown value 'alexnet' (allowed: cnn, vgg16, resnet50, efficientnetv2-b0, convnext_tiny)"),
        ("model: {families: []}", "model.families: must name at least one"),
        ("model: {heads: [gap]}", "model.heads[0]: unknown value 'gap'"),
        ("model: {families: [vgg16], input_size: 16}", "model.input_size: VGG16 needs inputs of at least 32 px"),
        ("model: {families: [vgg16], weights: /no/such/file.h5}", "model.weights: expected imagenet, none or an existing weights file"),
        ("study: {sampler: bayes}", "study.sampler: unknown value 'bayes'"),
        ("study: {pruner: {name: median, patience: 2}}", "study.pruner.patience: unknown key"),
        ("study: {n_trials: null}", "set `n_trials`, `timeout` or both"),
        ("data: {source: folder}", "data.root: source 'folder' needs `root`"),
        ("data: {source: synthetic, root: x}", "data.root: not an option of source 'synthetic'"),
        ("data: {source: kaggle}", "data.source: unknown value 'kaggle'"),
        ("data: {split: {validation: 0.6, test: 0.4}}", "validation + test must leave data to train on"),
        ("data: {source: mias, margin: 0}", "data.margin: must be >= 0.5, got 0"),
        ("data: {source: mias, task: normal_vs_benign}", "data.task: unknown value 'normal_vs_benign'"),
        ("data: {source: mias, missing_coordinates: drop}", "data.missing_coordinates: unknown value 'drop' (allowed: skip, center)"),
        ("data: {source: mias, radius: 3}", "data.radius: unknown key"),
        ("data: {source: mias, path: x.csv}", "data.path: not an option of source 'mias'"),
        ("data: {source: csv}", "data.path: source 'csv' needs `path`"),
        ("data: {source: csv, path: m.csv, labels: [B, M]}", "data.labels: expected a mapping of label values to 0 or 1"),
        ("data: {source: csv, path: m.csv, labels: {B: 2}}", "data.labels.B: must be <= 1, got 2"),
        ("data: {source: cbis_ddsm}", "data.root: source 'cbis_ddsm' needs `root`"),
        ("data: {source: cbis_ddsm, root: x, abnormality: masses}", "data.abnormality: unknown value 'masses'; did you mean 'mass'?"),
        ("data: {source: cbis_ddsm, root: x, keep_official_split: yes please}", "data.keep_official_split: expected true or false"),
        ("- just\n- a list", "<top level>: expected a mapping of keys"),
        ("!!python/object/apply:os.system ['echo hacked']", "refused YAML tag at line 1"),
        ("study: {n_trials: 100000000}", "study.n_trials: must be <= 100000"),
        ("model: {input_size: 100000}", "model.input_size: must be <= 1024"),
        ("training: {batch_size: {low: 1, high: 1000000000}}", "training.batch_size.high: must be <= 4096"),
        ("training: {learning_rate: .inf}", "training.learning_rate: expected a finite number"),
    ],
)
def test_bad_input_names_the_key_and_what_is_allowed(text: str, expected: str):
    with pytest.raises(SpaceError) as info:
        parse_space(text, source="bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml")
    assert expected in message
    assert "\n" not in message


def test_missing_space_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SpaceError, match="search space file not found"):
        load_space(tmp_path / "nope.yaml")


def test_set_overrides_replace_keys_and_are_validated():
    space = load_space(REPO / "search_spaces" / "mias_transfer.yaml", ["model.weights=none", "study.n_trials=2", "evaluation.cv_folds=3"])
    assert space.model.weights == {"vgg16": None, "resnet50": None}
    assert space.study.n_trials == 2 and space.evaluation.cv_folds == 3
    with pytest.raises(SpaceError, match="evaluation.cv_folds: must be >= 2, got 1"):
        load_space(REPO / "search_spaces" / "mias_transfer.yaml", ["evaluation.cv_folds=1"])
    with pytest.raises(SpaceError, match="expected KEY.PATH=VALUE"):
        load_space(None, ["model.weights"])
    with pytest.raises(SpaceError, match="model.familes: unknown key; did you mean 'families'"):
        load_space(None, ["model.familes=[cnn]"])


def test_mias_spaces_use_five_fold_cross_validation():
    for name in ("mias_cnn", "mias_transfer"):
        space = load_space(REPO / "search_spaces" / f"{name}.yaml")
        assert space.evaluation.cv_folds == 5 and space.data.source == "mias"


def test_new_data_sources_become_their_specs(tmp_path: Path):
    from mammosearch.data import CbisDdsmSpec, CsvSpec, MiasSpec

    mias = parse_space("data: {source: mias, margin: 2, min_crop: 96, missing_coordinates: center}", base_dir=tmp_path).data
    assert mias == MiasSpec(root=None, margin=2.0, min_crop=96, missing_coordinates="center")
    csv = parse_space("data: {source: csv, path: m.csv, labels: {B: 0, M: 1}}", base_dir=tmp_path).data
    assert csv == CsvSpec(path=(tmp_path / "m.csv").resolve(), labels=(("b", 0), ("m", 1)))
    cbis = parse_space("data: {source: cbis_ddsm, root: cbis, abnormality: both, image: full, keep_official_split: false}", base_dir=tmp_path).data
    assert isinstance(cbis, CbisDdsmSpec) and cbis.root == (tmp_path / "cbis").resolve() and not cbis.keep_official_split


def test_set_paths_resolve_against_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A path typed after --set in a shell means the shell's directory; one in the file, the file's.
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    space_file = spaces / "s.yaml"
    space_file.write_text("data: {source: folder, root: imgs}\nmodel: {families: [cnn]}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_space(space_file).data.root == (spaces / "imgs").resolve()
    assert load_space(space_file, ["data.root=imgs"]).data.root == (tmp_path / "imgs").resolve()
    assert load_space(space_file, ["data={source: folder, root: other}"]).data.root == (tmp_path / "other").resolve()
    # Overriding another key leaves the file's own relative path relative to the file.
    assert load_space(space_file, ["data.image_size=48"]).data.root == (spaces / "imgs").resolve()
    (tmp_path / "w.h5").write_bytes(b"")
    space = load_space(REPO / "search_spaces" / "tiny.yaml", ["model.families=[vgg16]", "model.weights=w.h5"])
    assert space.model.weights == {"vgg16": str((tmp_path / "w.h5").resolve())}


def test_every_shipped_space_is_in_the_shipped_spaces_table():
    text = (REPO / "search_spaces" / "README.md").read_text(encoding="utf-8")
    table = text.split("## The shipped spaces", 1)[1]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert listed == {path.name for path in SHIPPED}


def test_the_quick_mias_space_is_a_small_budget_of_the_full_one():
    quick = load_space(REPO / "search_spaces" / "mias_quick.yaml")
    full = load_space(REPO / "search_spaces" / "mias_cnn.yaml")
    assert quick.data == full.data and quick.split == full.split
    assert quick.evaluation.cv_folds is not None and quick.study.timeout is not None
    assert quick.study.n_trials is not None and full.study.n_trials is not None and quick.study.n_trials < full.study.n_trials
    assert quick.study.timeout <= 300


def test_the_shipped_tiny_space_is_the_tests_tiny_space():
    from conftest import TINY_SPACE

    shipped = load_space(REPO / "search_spaces" / "tiny.yaml")
    assert dataclasses.replace(shipped, source="x") == dataclasses.replace(parse_space(TINY_SPACE), source="x")


@pytest.mark.slow
def test_the_backbone_layer_counts_the_spaces_readme_states_are_true():
    # The one place the counts are written; unfrozen_layers counts every layer but the input.
    import re

    import keras

    from mammosearch.models import family
    from mammosearch.models.build import countable_layers

    text = (REPO / "search_spaces" / "README.md").read_text(encoding="utf-8")
    from mammosearch.models import transfer_families

    by_application = {family(name).application: name for name in transfer_families()}
    stated = {by_application[app]: int(count) for app, count in re.findall(r"(\w+): (\d+) layers", text) if app in by_application}
    assert set(stated) == set(transfer_families())
    for name, count in stated.items():
        build = getattr(keras.applications, family(name).application)
        backbone = build(include_top=False, weights=None, input_shape=(32, 32, 3))
        assert len(countable_layers(backbone)) == count, name
    for path in SHIPPED:
        assert not re.search(r"(VGG16|ResNet50) has \d+", path.read_text(encoding="utf-8")), f"{path.name} states a layer count of its own"


def test_the_family_table_of_the_spaces_readme_names_every_family_with_its_weights_file():
    from mammosearch.models import FAMILIES

    text = (REPO / "search_spaces" / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `") and line.count("|") == 7}
    assert set(rows) == set(FAMILIES)
    for name, entry in FAMILIES.items():
        if entry.imagenet is not None:
            assert f"`{entry.imagenet.name}` ({entry.imagenet.algorithm})" in rows[name]
            assert f"| {entry.min_input_size} |" in rows[name]


@pytest.mark.parametrize("family", ["efficientnetv2-b0", "convnext_tiny"])
def test_the_new_families_are_allowed_with_their_own_weights_key_and_minimum(family: str):
    space = parse_space(f"model: {{families: [{family}], weights: {{{family}: imagenet}}}}\n")
    assert space.model.families == (family,) and space.model.weights == {family: "imagenet"}
    with pytest.raises(SpaceError, match=f"model.input_size: .* needs inputs of at least 32 px, got 24"):
        parse_space(f"model: {{families: [{family}], input_size: 24}}\n")
