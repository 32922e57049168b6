"""``explain``: Grad-CAM and gradient maps, their overlays, and how well they point at the lesion."""

from mammosearch.apply.explain._gradcam import cam_parts, finer_layer, gradcam, peak_of
from mammosearch.apply.explain._grid_sample import CAPTION_WIDTH, GridSample, caption
from mammosearch.apply.explain._overlays import BAR_MARGIN, DISPLAY, mark_circles, overlay, with_colour_bar
from mammosearch.apply.explain._pointing import Circle
from mammosearch.apply.explain._run import explain_inputs

__all__ = [
    "BAR_MARGIN",
    "CAPTION_WIDTH",
    "Circle",
    "DISPLAY",
    "GridSample",
    "cam_parts",
    "caption",
    "explain_inputs",
    "finer_layer",
    "gradcam",
    "mark_circles",
    "overlay",
    "peak_of",
    "with_colour_bar",
]
