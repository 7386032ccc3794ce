"""Measure OCR settings on the real WildReceipt dev receipts and write docs/OCR.md.

    .venv/bin/python benchmarks/ocr_quality.py [--limit N] [--workers W] [--no-write]

For every settings variant below, all dev images are OCR'd in parallel (one process per core) and scored
with :mod:`receipt_core.ocr.quality` (share of gold segments whose text the OCR reads). The first row is plain
``pytesseract.image_to_data`` with default settings; ``RECEIPT_OCR`` in ``receipt_core/ocr.py`` is the
chosen variant. Tune on dev only: train is for the model, and the held-out set is never looked at.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from receipt_core.ocr.engine import RECEIPT_OCR, TESSERACT_DEFAULT, OcrCache, OcrSettings, ocr_many  # noqa: E402
from receipt_core.datasets import load_dataset  # noqa: E402
from receipt_core.ocr.quality import gold_receipts, segments_read  # noqa: E402

SHARED_DATA = Path(os.environ.get("RECEIPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

VARIANTS: tuple[OcrSettings, ...] = (
    TESSERACT_DEFAULT,
    OcrSettings(name="default-geometric-order", order="geometric"),
    OcrSettings(name="psm4", psm=4),
    OcrSettings(name="psm6", psm=6),
    OcrSettings(name="psm11", psm=11),
    OcrSettings(name="psm3-nodict", psm=3, dictionaries=False),
    OcrSettings(name="psm4-nodict", psm=4, dictionaries=False),
    OcrSettings(name="psm3-up1500", psm=3, min_width=1500),
    OcrSettings(name="psm4-up1500", psm=4, min_width=1500),
    OcrSettings(name="psm4-nodict-up1500", psm=4, dictionaries=False, min_width=1500),
    OcrSettings(name="psm4-nodict-up1500-gray", psm=4, dictionaries=False, min_width=1500, grayscale=True),
    OcrSettings(name="psm4-nodict-up1000-gray", psm=4, dictionaries=False, min_width=1000, grayscale=True),
    OcrSettings(name="psm4-nodict-up2000-gray", psm=4, dictionaries=False, min_width=2000, grayscale=True),
    OcrSettings(name="psm4-nodict-up1500-sauvola", psm=4, dictionaries=False, min_width=1500, grayscale=True,
                thresholding=2),
    OcrSettings(name="psm4-nodict-up1500-autocontrast", psm=4, dictionaries=False, min_width=1500,
                grayscale=True, autocontrast=True),
    OcrSettings(name="psm6-nodict-up1500-gray", psm=6, dictionaries=False, min_width=1500, grayscale=True),
    OcrSettings(name="psm6-nodict-up1500-sauvola", psm=6, dictionaries=False, min_width=1500, grayscale=True,
                thresholding=2),
    OcrSettings(name="psm6-up1500-sauvola", psm=6, min_width=1500, grayscale=True, thresholding=2),
    OcrSettings(name="psm6-nodict-up1200-sauvola", psm=6, dictionaries=False, min_width=1200, grayscale=True,
                thresholding=2),
    OcrSettings(name="psm6-nodict-up2000-sauvola", psm=6, dictionaries=False, min_width=2000, grayscale=True,
                thresholding=2),
    OcrSettings(name="psm6-nodict-up1500-otsu", psm=6, dictionaries=False, min_width=1500, grayscale=True,
                thresholding=1),
    OcrSettings(name="psm6-nodict-up2000-gray", psm=6, dictionaries=False, min_width=2000, grayscale=True),
    OcrSettings(name="psm6-nodict-up1500-gray-tesseract-order", psm=6, dictionaries=False, min_width=1500,
                grayscale=True, order="tesseract"),
    OcrSettings(name="psm11-nodict-up1500-sauvola", psm=11, dictionaries=False, min_width=1500, grayscale=True,
                thresholding=2),
    OcrSettings(name="psm11-nodict-up1500-gray", psm=11, dictionaries=False, min_width=1500, grayscale=True),
    OcrSettings(name="psm3-nodict-up1500-gray", psm=3, dictionaries=False, min_width=1500, grayscale=True),
)


@dataclass(frozen=True)
class Score:
    settings: OcrSettings
    read: int
    total: int
    per_receipt_mean: float
    seconds: float

    @property
    def share(self) -> float:
        return self.read / self.total if self.total else 0.0


def measure(settings: OcrSettings, receipts, items, workers: int | None) -> Score:
    start = time.perf_counter()
    results = ocr_many(items, settings, workers=workers, keep_images=False)
    seconds = time.perf_counter() - start
    read = total = 0
    shares = []
    for receipt, result in zip(receipts, results):
        if result.document is None:
            raise RuntimeError(f"{result.name}: {result.error}")
        hit, count = segments_read(result.document, receipt.segments)
        read, total = read + hit, total + count
        shares.append(hit / count if count else 0.0)
    return Score(settings, read, total, sum(shares) / len(shares), seconds)


@dataclass(frozen=True)
class Speed:
    receipts: int
    workers: int
    one_process_s: float
    all_cores_s: float
    cached_ms_per_receipt: float

    @property
    def speedup(self) -> float:
        return self.one_process_s / self.all_cores_s


def measure_speed(items, settings: OcrSettings, workers: int) -> Speed:
    """The chosen settings on one process vs all cores, then a cached re-OCR (no image decoding)."""
    start = time.perf_counter()
    ocr_many(items, settings, workers=1, keep_images=False)
    one = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        cache = OcrCache(Path(folder))
        start = time.perf_counter()
        ocr_many(items, settings, workers=workers, keep_images=False, cache=cache)
        parallel = time.perf_counter() - start
        start = time.perf_counter()
        ocr_many(items, settings, workers=workers, keep_images=False, cache=cache)
        cached = time.perf_counter() - start
    return Speed(len(items), workers, one, parallel, cached / len(items) * 1000)


def settings_text(settings: OcrSettings) -> str:
    parts = [f"`{settings.tesseract_config()}`"]
    if settings.min_width:
        parts.append(f"upscale to ≥{settings.min_width}px wide (≤{settings.max_scale:g}×)")
    if settings.grayscale:
        parts.append("grayscale")
    if settings.autocontrast:
        parts.append("autocontrast")
    if settings.order == "tesseract":
        parts.append("Tesseract's word order")
    return ", ".join(parts)


def write_markdown(path: Path, scores: list[Score], receipts: int, workers: int, speed: Speed | None) -> None:
    load = os.getloadavg()
    default = next(s for s in scores if s.settings == TESSERACT_DEFAULT)
    chosen = next((s for s in scores if s.settings.key() == RECEIPT_OCR.key()), None)
    best = max(scores, key=lambda s: s.share)
    lines = [
        "# OCR settings, measured on real receipts",
        "",
        f"Generated by `.venv/bin/python benchmarks/ocr_quality.py` on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, {workers} worker processes), over the {receipts} WildReceipt `dev.txt` images "
        f"(`../shared/data/wildreceipt`). Tuned on dev only. Load average (1/5 min) at the end of the run: "
        f"{load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} cores; other jobs on the machine inflate wall times.",
        "",
        "**Metric.** The share of gold segments whose text the OCR reads: the OCR words whose box centre lies "
        "inside the segment's box, joined without spaces in reading order, are ≥ 0.8 similar "
        "(`difflib.SequenceMatcher` ratio, case-insensitive) to the segment text (which WildReceipt stores "
        "without spaces). Empty-text segments are skipped. Code: `receipt_core/ocr_eval.py`.",
        "",
        "| settings | Tesseract options and preprocessing | segments read | share | mean per receipt | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for score in scores:
        marker = " **(chosen: `RECEIPT_OCR`)**" if score.settings.key() == RECEIPT_OCR.key() else ""
        marker += " (plain `image_to_data`)" if score.settings == TESSERACT_DEFAULT else ""
        lines.append(f"| {score.settings.name}{marker} | {settings_text(score.settings)} | {score.read}/{score.total} "
                     f"| {score.share:.1%} | {score.per_receipt_mean:.1%} | {score.seconds:.1f} |")
    lines += ["", "## Result", ""]
    if chosen is not None:
        lines.append(f"`RECEIPT_OCR` ({chosen.settings.name}) reads **{chosen.share:.1%}** of gold segments vs "
                     f"**{default.share:.1%}** for plain `pytesseract.image_to_data` with default settings: "
                     f"+{(chosen.share - default.share) * 100:.1f} percentage points "
                     f"({chosen.read - default.read:+d} segments of {default.total}).")
    lines.append(f"Best variant in this run: {best.settings.name} ({best.share:.1%}).")
    lines += ["", "## What mattered", "", *NOTES, ""]
    if speed is not None:
        lines += [
            "## Parallel and cached OCR (`ocr_many`, chosen settings)", "",
            "| receipts | one process s | all cores s | speed-up | cached re-OCR ms/receipt |", "|---|---|---|---|---|",
            f"| {speed.receipts} | {speed.one_process_s:.1f} | {speed.all_cores_s:.1f} ({speed.workers} processes) "
            f"| {speed.speedup:.2f}× | {speed.cached_ms_per_receipt:.1f} |", "",
            "One process runs Tesseract with its default OpenMP threads; the pool runs one single-threaded "
            "Tesseract per core (`OMP_THREAD_LIMIT=1`), which wastes less time on thread contention. The cached "
            "run reads the OCR'd documents from an `OcrCache` folder keyed by image SHA-256 and settings "
            "(`keep_images=False`: no image decoding).", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


NOTES = (
    "- **Upscaling** small photos is the largest single gain: many WildReceipt images are ~338×450 pixels, "
    "where characters are ~6–8 px tall, below what Tesseract's LSTM reads well (it wants ~20–30 px). "
    "Images narrower than `min_width` are resized with Lanczos (at most 4×) and boxes are mapped back to the "
    "original pixels. With psm 6, 1200–1500 px wide is the sweet spot: 1000 reads less, 2000 reads less "
    "and is slower (1200 and 1500 differ by 10 segments, within noise; 1500 was kept).",
    "- **psm 6** (one uniform block of text) beats the default psm 3 (automatic page layout) and psm 4 "
    "(one column): receipt rows are short fragments far apart (name … price), which psm 3/4 split into "
    "separate blocks and partly drop; psm 11 (sparse text) finds fragments but misreads more.",
    "- **Grayscale** conversion before the Lanczos upscale helps (measured; we did not dig into why); "
    "**Sauvola** local thresholding (`thresholding_method=2`) helps a lot where "
    "psm 4 is used and a little with psm 6 (more receipts read better: higher per-receipt mean); "
    "Leptonica's global Otsu (`thresholding_method=1`) is disastrous on unevenly lit photos.",
    "- **Dictionaries** (`load_system_dawg=0 load_freq_dawg=0`) made no measurable difference with the "
    "LSTM engine (identical words on these images); they stay off because receipt text is codes, prices and "
    "abbreviations that word lists can only 'correct' into wrong words.",
    "- **Word order** (geometric `reading_order` vs Tesseract's own) changes this metric by a few segments "
    "only; geometric order is kept because dataset importers use it, so OCR'd and imported receipts reach "
    "the model in the same order.",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev images")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--only", nargs="*", default=None, help="variant names to run (default: all)")
    parser.add_argument("--no-speed", action="store_true", help="skip the one-process vs all-cores timing")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing docs/OCR.md")
    args = parser.parse_args(argv)

    report = load_dataset(SHARED_DATA / "wildreceipt" / "dev.txt", "wildreceipt")
    receipts = gold_receipts(report.documents, report.images)[: args.limit]
    items = [(r.image_path.name, r.image_path.read_bytes()) for r in receipts]
    variants = [v for v in VARIANTS if args.only is None or v.name in args.only or v == TESSERACT_DEFAULT]
    if all(v.key() != RECEIPT_OCR.key() for v in variants):
        variants.append(RECEIPT_OCR)
    workers = args.workers or os.cpu_count() or 1
    print(f"{len(receipts)} receipts, {sum(len(r.segments) for r in receipts)} gold segments, {workers} workers")
    print(f"{'settings':40s} {'read':>10s} {'share':>7s} {'mean':>7s} {'wall s':>7s}")
    scores = []
    for settings in variants:
        score = measure(settings, receipts, items, workers)
        scores.append(score)
        print(f"{settings.name:40s} {score.read:>5d}/{score.total:<4d} {score.share:7.1%} "
              f"{score.per_receipt_mean:7.1%} {score.seconds:7.1f}", flush=True)
    speed = None
    if not args.no_speed:
        speed = measure_speed(items, RECEIPT_OCR, workers)
        print(f"one process {speed.one_process_s:.1f}s, {workers} processes {speed.all_cores_s:.1f}s "
              f"({speed.speedup:.2f}x), cached re-OCR {speed.cached_ms_per_receipt:.1f} ms/receipt")
    if not args.no_write:
        out = REPO_ROOT / "docs" / "OCR.md"
        write_markdown(out, scores, len(receipts), workers, speed)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
