"""The one decode path: a file (PNG, JPEG, PGM, TIFF, DICOM) -> pixels, under a pixel budget, many files in parallel, cropped to the breast and turned chest wall left when asked, resized as the models see them."""

from mammosearch.data.decode._breast import Box, breast_box, crop_box
from mammosearch.data.decode._framing import DEFAULT_MARGIN, Framed, Framing, fit, frame, framed_and_fitted, framing_for, refuse_on_crops
from mammosearch.data.decode._image import RECIPE, decode_file, is_dicom, is_image_file, letterboxed, read_image, resize_images, resized_to, to_square
from mammosearch.data.decode._many import NO_FRAMING, at_size, decode_all, decode_stacked, draft_for, workers
from mammosearch.data.decode._orientation import chest_wall_from_image, to_chest_wall_left
from mammosearch.data.decode._resize import images_at

__all__ = [
    "DEFAULT_MARGIN",
    "NO_FRAMING",
    "RECIPE",
    "Box",
    "Framed",
    "Framing",
    "at_size",
    "breast_box",
    "chest_wall_from_image",
    "crop_box",
    "fit",
    "frame",
    "framed_and_fitted",
    "framing_for",
    "refuse_on_crops",
    "to_chest_wall_left",
    "decode_all",
    "decode_file",
    "decode_stacked",
    "draft_for",
    "letterboxed",
    "resized_to",
    "images_at",
    "is_dicom",
    "is_image_file",
    "read_image",
    "resize_images",
    "to_square",
    "workers",
]
