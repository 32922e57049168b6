"""Downloading data sets: the fetch, safe unpacking of archives, and the pinned file hashes it verifies."""

from mammosearch.data.fetch._archives import ArchiveLimits, unpack
from mammosearch.data.fetch._download import MINI_MIAS_URL, fetch_archive, fetch_mini_mias
from mammosearch.data.fetch._pinned import PinnedFiles

__all__ = ["ArchiveLimits", "MINI_MIAS_URL", "PinnedFiles", "fetch_archive", "fetch_mini_mias", "unpack"]
