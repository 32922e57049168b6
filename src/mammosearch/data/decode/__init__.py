"""The one decode path: a file (PNG, JPEG, PGM, TIFF, DICOM) -> pixels, under a pixel budget, many files in parallel, resized as the models see them."""

from mammosearch.data.decode._image import RECIPE, decode_file, is_dicom, is_image_file, read_image, resize_images, to_square
from mammosearch.data.decode._many import decode_all, decode_stacked, workers
from mammosearch.data.decode._resize import images_at

__all__ = [
    "RECIPE",
    "decode_all",
    "decode_file",
    "decode_stacked",
    "images_at",
    "is_dicom",
    "is_image_file",
    "read_image",
    "resize_images",
    "to_square",
    "workers",
]
