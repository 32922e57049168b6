"""What `explain` draws: overlays at a readable size with a colour bar and the lesion circle, a grid of every class
with whole captions, and an earlier layer named when the default one is too coarse."""

from __future__ import annotations

import numpy as np
import pytest

from mammosearch.apply.explain import BAR_MARGIN, CAPTION_WIDTH, DISPLAY, Circle, GridSample, caption, mark_circles, overlay, with_colour_bar

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("height", "width"), [(32, 32), (48, 24), (1024, 1024)])
def test_an_overlay_is_drawn_at_display_size_whatever_the_input_size(height, width):
    original = np.random.default_rng(0).integers(0, 256, (height, width, 1), dtype=np.uint8)
    cam = np.zeros((8, 8), np.float32)
    cam[2, 5] = 1.0
    picture = overlay(original, cam)
    assert max(picture.shape[:2]) == DISPLAY and picture.shape[2] == 3
    assert picture.shape[0] / picture.shape[1] == pytest.approx(height / width, rel=0.01)  # aspect kept
    if height == 32:  # enlarged as pixels: each input pixel a 16 x 16 block where the map is cold
        block = picture[DISPLAY - 16 :, :16]
        assert (block == block[0, 0]).all()


def test_the_colour_bar_and_the_lesion_circle_are_on_the_written_overlay():
    original = np.full((32, 32, 1), 100, np.uint8)
    picture = overlay(original, np.zeros((4, 4), np.float32))
    circled = mark_circles(picture, [Circle(row=16.0, col=8.0, radius=4.0)], original.shape)
    white = np.argwhere((circled == 255).all(axis=-1))
    assert len(white) > 50 and (picture != 255).any(axis=-1).all()  # the plain overlay has no white at all
    centre = np.array([16.5, 8.5]) * DISPLAY / 32
    distance = np.hypot(*(white - centre).T)
    assert np.median(distance) == pytest.approx(4 * DISPLAY / 32, abs=4)  # where the file's circle is, scaled with it
    barred = with_colour_bar(circled)
    assert barred.shape == (DISPLAY, DISPLAY + BAR_MARGIN, 3) and (barred[:, :DISPLAY] == circled).all()
    strip = barred[20 : DISPLAY - 20, DISPLAY + 16].astype(int)
    assert strip[0, 0] > strip[0, 2] + 50 and np.abs(strip[-1] - 128).max() <= 4  # hot red on top, plain grey at 0


def test_the_grid_samples_every_class_not_the_first_files_by_name():
    sample = GridSample(capacity=24, seed=0)
    tile = np.zeros((4, 4, 3), np.uint8)
    for i in range(300):  # sorted by name: every benign file before the first malignant one
        sample.offer("benign" if i < 290 else "malignant", i, tile, f"b{i}" if i < 290 else f"m{i}")
    rows = sample.rows(columns=6)
    captions = [c for _, _, row in rows for c in row]
    assert len(captions) == 24 and sum(c.startswith("m") for c in captions) == 10  # all 10 malignant, 14 benign
    benign = [int(c[1:]) for c in captions if c.startswith("b")]
    assert max(benign) > 100 and benign == sorted(benign)  # drawn from the whole set, shown in input order
    assert rows[0][0] == "benign (290)" and any(label == "malignant (10)" for label, _, _ in rows)
    again = GridSample(capacity=24, seed=0)
    for i in range(300):
        again.offer("benign" if i < 290 else "malignant", i, tile, f"b{i}" if i < 290 else f"m{i}")
    assert [c for _, _, row in again.rows(6) for c in row] == captions  # the same grid on every run


def test_captions_carry_the_whole_name():
    name = "Calc-Training_P_00005_RIGHT_CC_crop_1"
    text = caption(name, 0.8312)
    lines = text.split("\n")
    assert "".join(lines[:-1]) == name and all(len(line) <= CAPTION_WIDTH for line in lines) and lines[-1] == "p=0.83"


def test_a_coarse_target_layer_comes_with_an_earlier_one_to_use():
    import keras

    from mammosearch.apply.explain import finer_layer
    from mammosearch.models import build_model
    from mammosearch.spec import AugmentationParams, CnnParams, HeadParams, TrialParams

    def params(family: str, size: int) -> TrialParams:
        return TrialParams(family=family, input_size=size, optimizer="adam", learning_rate=1e-3, batch_size=4, epochs=1,
                           augmentation=AugmentationParams(), cnn=CnnParams(4, 3, 8, 0.2) if family == "cnn" else None,
                           head=None if family == "cnn" else HeadParams("gap_dropout", 0.2))

    keras.backend.clear_session()
    assert finer_layer(build_model(params("cnn", 8), channels=1)) == ("conv1", 8)  # conv3 is 2 x 2 at 8 px
    assert finer_layer(build_model(params("cnn", 48), channels=1)) == ("conv3", 12)
    assert finer_layer(build_model(params("vgg16", 32), channels=1)) == ("block3_conv3", 8)  # block5_conv3 is 2 x 2 at 32 px


def test_explain_names_the_earlier_layer_when_the_default_map_is_2x2(tmp_path):
    import json

    import keras
    from PIL import Image
    from typer.testing import CliRunner

    from mammosearch.cli import app
    from mammosearch.models import build_model
    from mammosearch.spec import AugmentationParams, CnnParams, TrialParams

    keras.backend.clear_session()
    params = TrialParams(family="cnn", input_size=8, optimizer="adam", learning_rate=1e-3, batch_size=4, epochs=1,
                         augmentation=AugmentationParams(), cnn=CnnParams(4, 3, 8, 0.2))
    exported = tmp_path / "exported"
    exported.mkdir()
    build_model(params, channels=1).save(exported / "model.keras")  # untrained: only the layer sizes matter here
    (exported / "model_card.json").write_text(json.dumps({"input": {"photometry": "as_is", "data_image_size": 8}}), encoding="utf-8")
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    result = CliRunner().invoke(app, ["explain", str(exported), str(tmp_path / "img0.png"), str(tmp_path / "img1.png"), "--out", str(tmp_path / "out")],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "the target layer is 2x2" in text and "try --layer conv1 (its map is 8 px a side)" in text
    with Image.open(next((tmp_path / "out" / "overlays").glob("*.png"))) as picture:
        assert picture.size == (DISPLAY + BAR_MARGIN, DISPLAY)  # an 8 px input, drawn readable
