"""``explain``: Grad-CAM overlays for image files, a grid of them, and the mini-MIAS pointing check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.apply.bundle import ModelBundle
from mammosearch.apply.chunks import prepared_chunks
from mammosearch.apply.gradcam import cam_parts, gradcam
from mammosearch.apply.inputs import InputItem
from mammosearch.apply.overlays import cam_at_original, overlay, write_overlay
from mammosearch.apply.pointing import MiasCircles, point, summarise
from mammosearch.apply.training_range import InputFacts, RangeCheck, TrainingRange, check_range, share_outside
from mammosearch.data.export_images import file_name
from mammosearch.data.file_names import shown as printable
from mammosearch.files import write_json
from mammosearch.report.plots import plot_image_rows

GRID_COLUMNS = 6
GRID_IMAGES = 24
CHUNK = 64


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


def explain_inputs(bundle: ModelBundle, items: list[InputItem], out: Path, layer: str | None = None,
                   target: str = "predicted", progress: Callable[[int], None] | None = None) -> Explained:
    parts = cam_parts(bundle.model, layer)
    result = Explained([p.layer for p in parts], [(int(p.features.output.shape[1]), int(p.features.output.shape[2])) for p in parts])
    circles = MiasCircles()
    points: list[dict[str, Any]] = []
    shown: list[tuple[np.ndarray, str]] = []
    facts: list[InputFacts] = []
    from mammosearch.trial.training import predict_scores

    for chunk in prepared_chunks(bundle, items, CHUNK):
        result.failures += [(item.path, reason) for _, item, reason in chunk.failed]
        if chunk.ready:
            pixels = np.stack([ready.pixels for _, _, ready in chunk.ready])
            maps = gradcam(parts, pixels, target, bundle.threshold)
            scores = predict_scores(bundle.model, pixels, bundle.batch_size)
            for (index, item, ready), cam, score in zip(chunk.ready, maps, scores):
                if ready.decoded is not None:
                    facts.append(InputFacts.of_decoded(printable(item.path), ready.decoded))
                original = 255 - ready.original if ready.flipped else ready.original  # as the model saw it
                picture = overlay(original, cam)
                result.overlays.append(write_overlay(picture, out / "overlays" / file_name(index, str(item.path))))
                if len(shown) < GRID_IMAGES:
                    shown.append((picture, f"{printable(item.path.stem)[-12:]} p={score:.2f}"))  # a name not UTF-8 cannot be drawn
                located = circles.of(item.path, original.shape[0])
                if located:
                    points.append({"file": printable(item.path), "score": float(score), **point(cam_at_original(cam, original), original, located)})
        if progress is not None:
            progress(chunk.size)
    if shown:
        rows = [("", [p for p, _ in shown[i : i + GRID_COLUMNS]], [c for _, c in shown[i : i + GRID_COLUMNS]]) for i in range(0, len(shown), GRID_COLUMNS)]
        result.grid = plot_image_rows(rows, out / "grid.png", f"Grad-CAM at {', '.join(sorted(set(result.layers)))} ({target} class), {bundle.origin}")
    result.checked = check_range(TrainingRange.from_card(bundle.card, bundle.photometry), facts)
    result.pointing_outside = share_outside(result.checked, [p["file"] for p in points])
    result.pointing = summarise(points)
    if result.pointing is not None:
        result.pointing_file = write_json(out / "pointing.json", {**result.pointing, "per_image": points})
    return result
