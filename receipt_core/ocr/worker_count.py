"""How many OCR worker processes a batch may start: one per core, fewer when the machine's free memory would not
hold that many workers reading the batch's largest image at once.

A probe measured a worker's peak memory on images just under the pixel limit: 0.8–1.2 GB for 40 megapixels, from
files of 53 KB to 1.8 MB (a white PNG compresses to nearly nothing). Sixteen such uploads on a 16-core server asked
for about 19 GB. The figures below put a worker at its interpreter plus 32 bytes a pixel, a little over the worst
measured (1.2 GB for 39.7 megapixels of a transparent RGBA PNG).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

WORKER_BASE_BYTES = 256 * 2**20  # a spawned worker's interpreter, Pillow, NumPy and pytesseract
BYTES_PER_PIXEL = 32  # decoded, converted, preprocessed and handed to Tesseract: several copies of the page at once
MEMINFO = Path("/proc/meminfo")


def worker_bytes(pixels: int) -> int:
    """The memory one worker may need at its peak while it reads an image of ``pixels`` pixels."""
    return WORKER_BASE_BYTES + BYTES_PER_PIXEL * max(pixels, 0)


def available_memory_bytes() -> int | None:
    """The memory the machine can give new processes now (Linux's MemAvailable, else the free pages), or None when
    the platform does not say."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def ocr_worker_count(wanted: int, pixel_counts: Iterable[int], available: int | None = None) -> int:
    """``wanted`` workers (at least 1), fewer when ``available`` bytes (default: :func:`available_memory_bytes`)
    would not hold that many reading the largest of ``pixel_counts`` at once."""
    wanted = max(wanted, 1)
    largest = max(pixel_counts, default=0)
    if available is None:
        available = available_memory_bytes()
    if available is None:
        return wanted
    return max(1, min(wanted, available // worker_bytes(largest)))
