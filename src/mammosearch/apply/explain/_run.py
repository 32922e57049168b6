"""``explain``: Grad-CAM overlays for image files, a grid of them, and the mini-MIAS pointing check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.apply._chunks import prepared_chunks
from mammosearch.apply.bundle import ModelBundle
from mammosearch.apply.explain._gradcam import cam_parts, finer_layer, gradcam
from mammosearch.apply.explain._grid_sample import GRID_IMAGES, GridSample, caption
from mammosearch.apply.explain._overlays import cam_at_original, content_of, mark_circles, overlay, with_colour_bar, write_overlay
from mammosearch.apply.explain._pointing import MiasCircles, point, summarise
from mammosearch.apply.inputs import InputItem
from mammosearch.apply.training_range import InputFacts, RangeCheck, TrainingRange, check_range, share_outside
from mammosearch.data import file_name
from mammosearch.data import shown as printable
from mammosearch.files import write_json
from mammosearch.report import plot_image_rows

GRID_COLUMNS = 6
CHUNK = 64
COARSE = 3  # a map with a side below this can hardly say where: suggest an earlier layer


@dataclass
class Explained:
    layers: list[str]
    map_sizes: list[tuple[int, int]]  # each target layer's spatial size: what the maps can resolve
    overlays: list[Path] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    grid: Path | None = None
    pointing: dict[str, Any] | None = None
    pointing_file: Path | None = None
    checked: RangeCheck | None = None  # the inputs against the training data's fingerprint
    pointing_outside: int = 0  # images of the pointing check outside the training data (their hits mean little)
    finer: tuple[str, int] | None = None  # when a map is coarser than COARSE: an earlier layer and its map side


def _group(item: InputItem, score: float, bundle: ModelBundle) -> str:
    """The grid's class of one image: its true class where the inputs say it, else the predicted one."""
    task = bundle.task
    if item.label is not None:
        return task.positive if item.label == 1 else task.negative
    return f"predicted {task.positive if score >= bundle.threshold else task.negative}"


def explain_inputs(bundle: ModelBundle, items: list[InputItem], out: Path, layer: str | None = None,
                   target: str = "predicted", progress: Callable[[int], None] | None = None) -> Explained:
    parts = cam_parts(bundle.model, layer)
    result = Explained([p.layer for p in parts], [(int(p.features.output.shape[1]), int(p.features.output.shape[2])) for p in parts])
    circles = MiasCircles()
    points: list[dict[str, Any]] = []
    facts: list[InputFacts] = []
    grid = GridSample(GRID_IMAGES)
    from mammosearch.trial.fit import predict_scores

    for chunk in prepared_chunks(bundle, items, CHUNK):
        result.failures += [(item.path, reason) for _, item, reason in chunk.failed]
        if chunk.ready:
            pixels = np.stack([ready.pixels for _, _, ready in chunk.ready])
            maps = gradcam(parts, pixels, target, bundle.threshold)
            scores = predict_scores(bundle.model, pixels, bundle.batch_size)
            for (index, item, ready), whole_cam, score in zip(chunk.ready, maps, scores):
                cam = content_of(whole_cam, ready.content)
                if ready.decoded is not None:
                    facts.append(InputFacts.of_decoded(printable(item.path), ready.decoded))
                original = 255 - ready.original if ready.flipped else ready.original  # as the model saw it
                # mini-MIAS circles are in the file's coordinates: not drawn on a cropped or mirrored image.
                located = None if ready.framed else circles.of(item.path, original.shape[0])
                picture = mark_circles(overlay(original, cam), located or [], original.shape)
                result.overlays.append(write_overlay(with_colour_bar(picture), out / "overlays" / file_name(index, str(item.path))))
                grid.offer(_group(item, float(score), bundle), index, picture, caption(printable(item.path.stem), float(score)))
                if located:
                    points.append({"file": printable(item.path), "score": float(score), **point(cam_at_original(cam, original), original, located)})
        if progress is not None:
            progress(chunk.size)
    rows = grid.rows(GRID_COLUMNS)
    if rows:
        title = f"Grad-CAM at {', '.join(sorted(set(result.layers)))} ({target} class), {bundle.origin}"
        result.grid = plot_image_rows(rows, out / "grid.png", title, colour_bar="Grad-CAM evidence (0 = none, 1 = the image's peak)")
    if min(min(side) for side in result.map_sizes) < COARSE:
        result.finer = finer_layer(bundle.model)
    result.checked = check_range(TrainingRange.from_card(bundle.card, bundle.photometry), facts)
    result.pointing_outside = share_outside(result.checked, [p["file"] for p in points])
    result.pointing = summarise(points)
    if result.pointing is not None:
        result.pointing_file = write_json(out / "pointing.json", {**result.pointing, "per_image": points})
    return result
