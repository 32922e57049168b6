"""An image size: a height and a width, written ``256`` (a square) or ``"1024x512"`` (height x width).

Whole mammograms are tall and narrow (the field trains at 1152 x 896 to 2048 x 1024 after
the crop), so ``data.image_size`` and ``model.input_size`` may name a rectangle. In a YAML
space a list already means a choice of sizes, so a rectangle is a string, never ``[h, w]``,
and a list of them (or of ints) is a choice.

A size's *param value* (what a study stores as the trial's ``input_size``, what a data
spec keeps as its cache key) is the int for a square, as every study written before
rectangles stored it, and ``"HxW"`` for a rectangle: square studies open, resume and hit
their caches unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ImageSize", "Size", "SizeError", "size_options", "size_value", "smallest_option", "smallest_size"]

_TEXT = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


class SizeError(ValueError):
    """A value that is not a size; its message says what a size looks like."""


@dataclass(frozen=True)
class ImageSize:
    """``height`` x ``width`` pixels, both >= 1."""

    height: int
    width: int

    def __post_init__(self) -> None:
        if self.height < 1 or self.width < 1:
            raise SizeError(f"a size needs a height and a width of at least 1 px, got {self.height}x{self.width}")

    @classmethod
    def square(cls, side: int) -> ImageSize:
        return cls(side, side)

    @classmethod
    def of(cls, value: Size) -> ImageSize:
        """``256``, ``"256"``, ``"1024x512"`` (height x width) or an :class:`ImageSize` -> an :class:`ImageSize`."""
        if isinstance(value, ImageSize):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise SizeError(f"a size is a whole number (256) or a 'HEIGHTxWIDTH' string ('1024x512'), got {value!r}")
        if isinstance(value, int):
            return cls.square(value)
        text = value.strip()
        if text.isdigit():
            return cls.square(int(text))
        match = _TEXT.match(text)
        if match is None:
            raise SizeError(f"a size is a whole number (256) or a 'HEIGHTxWIDTH' string ('1024x512'), got {value!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def is_square(self) -> bool:
        return self.height == self.width

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, as numpy and Keras order an image's axes."""
        return (self.height, self.width)

    @property
    def shortest_side(self) -> int:
        return min(self.height, self.width)

    @property
    def pixels(self) -> int:
        return self.height * self.width

    def param(self) -> int | str:
        """What a study stores: the int for a square (as before rectangles), else ``"HxW"``."""
        return self.height if self.is_square else f"{self.height}x{self.width}"

    def __str__(self) -> str:
        return f"{self.height}x{self.width}"


Size = int | str | ImageSize  # what functions taking a size accept; ImageSize.of makes it one


def size_value(value: int | float | str | bool) -> int | str:
    """A sampled size as a trial stores it: an int (a square, as always), or the ``"HxW"`` string it was."""
    return value if isinstance(value, str) and not value.strip().isdigit() else int(value)


class _Options(Protocol):
    def options(self) -> tuple[int | float | str | bool, ...] | None: ...
    def smallest(self) -> float: ...


def size_options(spec: _Options) -> tuple[ImageSize, ...] | None:
    """Every size a size parameter can take, or None for a range of squares."""
    options = spec.options()
    return None if options is None else tuple(ImageSize.of(value) for value in options)  # type: ignore[arg-type]


def smallest_option(spec: _Options) -> int | str:
    """The value, as a trial would store it, of the size with the fewest pixels a size parameter can take (a range: its lowest square)."""
    options = spec.options()
    if options is None:
        return int(spec.smallest())
    return min(options, key=lambda value: (ImageSize.of(value).pixels, ImageSize.of(value).shape))  # type: ignore[arg-type,return-value]


def smallest_size(spec: _Options) -> ImageSize:
    """The size with the fewest pixels a size parameter can take (a range: its lowest square)."""
    return ImageSize.of(smallest_option(spec))
