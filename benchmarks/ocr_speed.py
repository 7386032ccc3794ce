"""Parallel and cached OCR: ``ocr_many`` over generated receipt images on all cores vs one process, and a
re-OCR of the same images from an ``OcrCache``.

"One process" is ``ocr_many(workers=1)``: the receipts one after another in this process, what a plain loop over
``ocr_image`` gives. "All cores" is the default pool (one spawned process per core). Every Tesseract call is
single-threaded on both sides (``receipt_core/ocr/tesseract.py``). The cached figure is the cost a page pays
that shows the images (``keep_images=True``: each image decoded again, as Predict does for its display copies);
the cost without decoding (``keep_images=False``, what Data → Upload & OCR and the CLI ask for) is given beside it.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from common import Figure, Sizes, median


def _receipts(count: int) -> list[tuple[str, bytes]]:
    from receipt_core.datasets.synth import generate_dataset

    receipts = generate_dataset(count, seed=7)
    return [(f"receipt-{i:03d}.{r.image_format.lower()}", r.image_bytes) for i, r in enumerate(receipts)]


def ocr_figures(sizes: Sizes, repeats: int) -> list[Figure]:
    from receipt_core.ocr.engine import OcrCache, ocr_many

    items = _receipts(sizes.ocr_receipts)
    cores = os.cpu_count() or 1
    serial, parallel = [], []
    for _ in range(repeats):
        for workers, into in ((1, serial), (None, parallel)):
            start = time.perf_counter()
            results = ocr_many(items, workers=workers, keep_images=False)
            into.append(time.perf_counter() - start)
            failed = [r.error for r in results if r.error]
            if failed:
                raise RuntimeError(f"OCR failed during the benchmark: {failed[:3]}")
    slow, fast = median(serial), median(parallel)
    speedup = slow / fast
    figures = [Figure(f"OCR of {len(items)} receipts: all cores vs one process", f"{speedup:.2f}×",
                      "≥ 1.7× on 2 cores", speedup >= 1.7 if cores >= 2 else None,
                      f"generated receipt images (seed 7), {cores} logical CPUs; median {slow:.1f} s one process vs "
                      f"{fast:.1f} s all cores over {repeats} run(s) each. One process = the receipts one after another "
                      "(what a plain loop gives); the pool = one process per core; Tesseract single-threaded in both")]
    with tempfile.TemporaryDirectory(prefix="bench-ocr-cache-") as folder:
        cache = OcrCache(Path(folder))
        ocr_many(items, cache=cache, keep_images=False)  # fills the cache
        shown, bare = [], []
        for _ in range(max(3, repeats)):
            for keep, into in ((True, shown), (False, bare)):
                start = time.perf_counter()
                ocr_many(items, cache=cache, keep_images=keep)
                into.append((time.perf_counter() - start) / len(items) * 1000)
    per_receipt = median(shown)
    figures.append(Figure("Cached re-OCR per receipt", f"{per_receipt:.1f} ms", "< 20 ms", per_receipt < 20,
                          f"{len(items)} receipts from an OcrCache, images decoded for display as the Predict page "
                          f"does; {median(bare):.1f} ms without decoding (keep_images=False); median of "
                          f"{len(shown)} runs"))
    return figures
