"""Image sizes: ``256`` or ``"1024x512"`` (height x width); a YAML list stays a choice of sizes."""

from __future__ import annotations

import optuna
import pytest

from mammosearch.config import load_space
from mammosearch.errors import SpaceError
from mammosearch.spec import Categorical, Fixed, ImageSize, smallest_option, smallest_size
from mammosearch.spec.size import SizeError
from mammosearch.trial import sample_params


@pytest.mark.parametrize(("value", "expected"), [
    (256, ImageSize(256, 256)), ("256", ImageSize(256, 256)), ("1024x512", ImageSize(1024, 512)),
    (" 64 X 32 ", ImageSize(64, 32)), ("64x64", ImageSize(64, 64)),
])
def test_a_size_is_a_square_side_or_height_x_width(value, expected):
    size = ImageSize.of(value)
    assert size == expected
    assert size.param() == (expected.height if expected.is_square else f"{expected.height}x{expected.width}")


@pytest.mark.parametrize("value", ["1024by512", "x512", "64x", [64, 32], 1.5, True, "0x32"])
def test_anything_else_is_not_a_size(value):
    with pytest.raises(SizeError):
        ImageSize.of(value)


@pytest.mark.parametrize(("node", "expected"), [
    ("64", Fixed(64)), ("'64x64'", Fixed(64)), ("'64x32'", Fixed("64x32")),
    ("[32, 48]", Categorical((32, 48))),  # square studies keep int values: they resume unchanged
    ("['64x32', 48]", Categorical(("64x32", "48x48"))),  # one type per choice (KerasTuner's Choice)
    ("{low: 32, high: 64, step: 16}", None),  # a range of squares, as before
])
def test_model_input_size_reads_sizes_and_choices_of_them(write_space, node, expected):
    spec = load_space(write_space(f"model: {{families: [cnn], input_size: {node}}}\n"), []).model.input_size
    if expected is not None:
        assert spec == expected
    else:
        assert smallest_size(spec) == ImageSize(32, 32)


def test_the_smallest_choice_is_the_one_with_fewest_pixels(write_space):
    spec = load_space(write_space("model: {families: [cnn], input_size: ['64x32', '48x48', '96x64']}\n"), []).model.input_size
    assert smallest_option(spec) == "64x32" and smallest_size(spec) == ImageSize(64, 32)


@pytest.mark.parametrize(("node", "message"), [
    ("'64by32'", r"model\.input_size: a size is a whole number \(256\) or a 'HEIGHTxWIDTH' string \('1024x512'\), got '64by32'"),
    ("'64x8'", r"model\.input_size: each side must be >= 16 and <= 1024, got 64x8"),
    ("[32, '2048x512']", r"model\.input_size\[1\]: each side must be >= 16 and <= 1024, got 2048x512"),
])
def test_a_bad_size_is_one_line_naming_the_key(write_space, node, message):
    with pytest.raises(SpaceError, match=message):
        load_space(write_space(f"model: {{families: [cnn], input_size: {node}}}\n"), [])


def test_a_rectangle_below_a_familys_minimum_is_refused_naming_the_side(write_space):
    space = write_space("model: {families: [cnn, vgg16], input_size: ['64x32', '64x24']}\n")
    with pytest.raises(SpaceError, match=r"model\.input_size: VGG16 needs inputs of at least 32 px on each side, got 64x24 \(height x width\)"):
        load_space(space, [])
    assert load_space(write_space("model: {families: [vgg16], input_size: '64x32'}\n"), []).model.input_size == Fixed("64x32")


def test_data_image_size_takes_a_rectangle_and_keeps_square_keys(write_space, tmp_path):
    space = load_space(write_space(f"data: {{source: folder, root: {tmp_path}, image_size: '1024x512'}}\n"), [])
    assert space.data.image_size == "1024x512"
    assert load_space(write_space(f"data: {{source: folder, root: {tmp_path}, image_size: 256}}\n"), []).data.image_size == 256
    with pytest.raises(SpaceError, match=r"data\.image_size: each side must be >= 16 and <= 2048, got 4096x512"):
        load_space(write_space(f"data: {{source: folder, root: {tmp_path}, image_size: '4096x512'}}\n"), [])


def test_a_sampled_rectangle_becomes_the_trials_size(write_space):
    space = load_space(write_space("model: {families: [cnn], input_size: ['64x32', '96x48']}\n"), [])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = {sample_params(study.ask(), space).input_size for _ in range(12)}
    assert sampled == {"64x32", "96x48"}
    params = sample_params(study.ask(), space)
    assert params.size.shape in ((64, 32), (96, 48))
    assert type(params).from_json(params.to_json()).size == params.size
