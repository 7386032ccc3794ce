"""OCR workers are capped by free memory as well as by cores (``ocr/worker_count.py``): a probe measured 1.2 GB in
one worker for a 170 KB PNG of 40 megapixels, and a 16-core server would have started 16 of them."""

from __future__ import annotations

import io

from PIL import Image

from receipt_core.ocr import engine
from receipt_core.ocr.worker_count import available_memory_bytes, ocr_worker_count, worker_bytes

GIB = 2**30


def test_a_worker_is_counted_at_its_measured_peak_for_the_largest_image():
    assert 1.2 * GIB < worker_bytes(39_700_000) < 1.6 * GIB  # the probe's worst: 1.2 GB for 39.7 MP
    assert worker_bytes(0) < worker_bytes(1_000_000) < 0.3 * GIB  # a phone photo's share is small


def test_free_memory_caps_the_workers_and_one_always_runs():
    forty = [40_000_000] * 16
    assert ocr_worker_count(16, forty, available=8 * GIB) == 5
    assert ocr_worker_count(16, [1_000_000] * 16, available=8 * GIB) == 16  # phone photos: every core
    assert ocr_worker_count(16, forty, available=GIB // 2) == 1
    assert ocr_worker_count(2, forty, available=64 * GIB) == 2  # never more than asked
    assert ocr_worker_count(0, [], available=None) >= 1


def test_this_machine_says_its_free_memory():
    available = available_memory_bytes()
    assert available is not None and available > 100 * 2**20


def test_the_batch_starts_the_workers_its_largest_image_leaves_room_for(monkeypatch):
    """``ocr_many`` asks for the cap with the pixels of the images it will read (from their headers, at most the
    pixel limit), and reads them in one process when the cap is one."""
    asked = {}

    def capped(wanted, pixel_counts):
        asked.update(wanted=wanted, pixels=sorted(pixel_counts))
        return 1

    monkeypatch.setattr(engine, "ocr_worker_count", capped)
    monkeypatch.setattr(engine, "_ocr_job", lambda name, data, settings: (None, f"{name}: not read in this test", False))
    items = []
    for name, size in (("small.png", (60, 40)), ("wide.png", (300, 100))):
        data = io.BytesIO()
        Image.new("L", size, 255).save(data, "PNG")
        items.append((name, data.getvalue()))
    results = engine.ocr_many(items, workers=4)
    assert asked == {"wanted": 2, "pixels": [2_400, 30_000]}
    assert [r.error for r in results] == ["small.png: not read in this test", "wide.png: not read in this test"]
