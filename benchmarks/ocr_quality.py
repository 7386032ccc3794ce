"""Measure OCR settings on the real WildReceipt dev receipts and write docs/OCR.md.

    .venv/bin/python benchmarks/ocr_quality.py [--limit N] [--workers W] [--only NAME[,NAME]] [--steps-only]
                                               [--no-speed] [--no-write]

For every settings variant below, all dev images are OCR'd in parallel (one process per core) and scored
with :mod:`receipt_core.ocr.quality` (share of gold segments whose text the OCR reads). The first row is plain
``pytesseract.image_to_data`` with default settings; ``RECEIPT_OCR`` in ``receipt_core/ocr/engine.py`` is the
chosen variant. ``VARIANTS`` led to the first choice; ``STEPS`` are the steps added after it, each on top of the
one before, timed against the first choice in the same run (measured before and after the steps, the mean is the
reference); ``EXTRAS`` were measured on top of the chosen settings and not kept. Tune on dev only: train is for
the model, and the held-out set is never looked at.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from receipt_core.data.images import load_image  # noqa: E402
from receipt_core.datasets import load_dataset  # noqa: E402
from receipt_core.ocr.engine import (RECEIPT_OCR, TESSERACT_DEFAULT, OcrCache, OcrSettings, ocr_image,  # noqa: E402
                                     ocr_many)
from receipt_core.ocr.quality import GoldSegment, gold_receipts, segments_read  # noqa: E402

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

# The settings chosen first (RECEIPT_OCR until the steps below): every later step is timed against it, in one run.
FIRST_CHOICE = OcrSettings(name="psm6-nodict-up1500-gray", psm=6, dictionaries=False, min_width=1500, grayscale=True)


def _steps() -> tuple[tuple[OcrSettings, str], ...]:
    """Issue #20's steps, each on top of the one before; the last is ``RECEIPT_OCR`` (checked below)."""
    steps: list[tuple[OcrSettings, str]] = []
    current = FIRST_CHOICE
    for name, what, changes in (
            ("step1-pnm", "page handed to Tesseract as one uncompressed PGM, not a PNG per call (same pixels)",
             dict(image_format="PNM")),
            ("step2-illumination", "divide by a blurred max-filter estimate of the paper's brightness",
             dict(illumination=True)),
            ("step3-deskew", "rotate so text rows are horizontal (projection profiles, ±6°)", dict(deskew=True)),
            ("step4-up1000", "upscale to ≥1000 px wide instead of 1500", dict(min_width=1000)),
            ("step5-psm11-add", "second pass psm 11; its words added where psm 6 found none",
             dict(more_psms=(11,), merge_margin=None)),
            ("step6-psm11-merge", "…and its reading of overlapping words kept when ≥20 points more confident",
             dict(merge_margin=20.0)),
            ("step7-dpi96", "Tesseract told 96 dpi (`--dpi 96`; it assumes 70 without)", dict(dpi=96)),
            ("step8-min-conf50", "second-pass words added only from confidence 50 (= `RECEIPT_OCR`)",
             dict(merge_min_confidence=50.0))):
        current = replace(current, name=name, **changes)
        steps.append((current, what))
    return tuple(steps)


STEPS = _steps()
assert replace(STEPS[-1][0], name=RECEIPT_OCR.name) == RECEIPT_OCR, "the last step must be RECEIPT_OCR"
# Measured on top of the chosen settings and not kept (docs/OCR.md says why).
EXTRAS: tuple[tuple[OcrSettings, str], ...] = (
    (replace(RECEIPT_OCR, name="extra-psm4-third-pass", more_psms=(11, 4)),
     "a third pass, psm 4, merged the same way"),
    (replace(RECEIPT_OCR, name="extra-reread-doubtful", reread_below=60.0),
     "crops of words under confidence 60 re-read (one stacked canvas, psm 6), kept when 10 points more confident"),
    (replace(RECEIPT_OCR, name="extra-reread-numbers", reread_numbers_below=90.0),
     "crops of number-like words under confidence 90 re-read with a digits/price whitelist"),
)


@dataclass(frozen=True)
class Score:
    settings: OcrSettings
    read: int
    total: int
    per_receipt_mean: float
    seconds: float
    cpu_seconds: float  # this process and its children (workers and their Tesseract runs): less load-sensitive

    @property
    def share(self) -> float:
        return self.read / self.total if self.total else 0.0


def _cpu_seconds() -> float:
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in used)


def measure(settings: OcrSettings, receipts, items, workers: int | None) -> Score:
    start, cpu = time.perf_counter(), _cpu_seconds()
    results = ocr_many(items, settings, workers=workers, keep_images=False)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    read = total = 0
    shares = []
    for receipt, result in zip(receipts, results):
        if result.document is None:
            raise RuntimeError(f"{result.name}: {result.error}")
        hit, count = segments_read(result.document, receipt.segments)
        read, total = read + hit, total + count
        shares.append(hit / count if count else 0.0)
    return Score(settings, read, total, sum(shares) / len(shares), seconds, cpu)


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
    if settings.illumination:
        parts.append("illumination normalised")
    if settings.deskew:
        parts.append("deskewed")
    for psm in settings.more_psms:
        merge = "added where nothing was found" if settings.merge_margin is None else \
            f"merged (≥{settings.merge_margin:g} points more confident wins)"
        parts.append(f"+ psm {psm} {merge}")
    if settings.more_psms and settings.merge_min_confidence:
        parts.append(f"added words ≥ {settings.merge_min_confidence:g} confidence")
    if settings.reread_below is not None:
        parts.append(f"re-read words < {settings.reread_below:g}")
    if settings.reread_numbers_below is not None:
        parts.append(f"re-read number-like words < {settings.reread_numbers_below:g}")
    if settings.image_format != "PNG":
        parts.append(f"{settings.image_format} to Tesseract")
    if settings.order == "tesseract":
        parts.append("Tesseract's word order")
    return ", ".join(parts)


@dataclass(frozen=True)
class CordCheck:
    """The one CORD photo with an image (textured paper): its gold words read by a setting, and words produced."""

    settings: OcrSettings
    read: int
    total: int
    words: int


def cord_check(settings: OcrSettings) -> CordCheck | None:
    """Gold words of CORD ``receipt_00001`` read (same metric, one word = one segment); None without the file."""
    folder = SHARED_DATA / "cord" / "train"
    image_path, json_path = folder / "image" / "receipt_00001.png", folder / "json" / "receipt_00001.json"
    if not image_path.exists() or not json_path.exists():
        return None
    segments = []
    for line in json.loads(json_path.read_text(encoding="utf-8"))["valid_line"]:
        for word in line["words"]:
            q = word["quad"]
            box = (min(q["x1"], q["x4"]), min(q["y1"], q["y2"]), max(q["x2"], q["x3"]), max(q["y3"], q["y4"]))
            if word["text"].replace(" ", ""):
                segments.append(GoldSegment(text=word["text"].replace(" ", ""), box=box))
    document = ocr_image(load_image(image_path.read_bytes(), image_path.name), settings)
    read, total = segments_read(document, segments)
    return CordCheck(settings, read, total, len(document.words))


@dataclass(frozen=True)
class StepRun:
    """The steps block of one run: the first choice measured before and after the steps, the steps, the extras."""

    first_before: Score
    first_after: Score
    steps: list[tuple[Score, str]]
    extras: list[tuple[Score, str]]

    @property
    def reference_seconds(self) -> float:
        return (self.first_before.seconds + self.first_after.seconds) / 2

    @property
    def reference_cpu(self) -> float:
        return (self.first_before.cpu_seconds + self.first_after.cpu_seconds) / 2


def _step_rows(run: StepRun, receipts: int) -> list[str]:
    ref_s, ref_cpu = run.reference_seconds, run.reference_cpu
    first = run.first_before
    rows = [
        "| step | what it adds | segments read | share | Δ segments | wall s | s per receipt | CPU s "
        "| time vs first choice (wall / CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| first choice ({FIRST_CHOICE.name}, `RECEIPT_OCR` before) | {settings_text(FIRST_CHOICE)} "
        f"| {first.read}/{first.total} | {first.share:.1%} | | {ref_s:.1f} "
        f"({run.first_before.seconds:.1f} before, {run.first_after.seconds:.1f} after the steps) "
        f"| {ref_s / receipts:.2f} | {ref_cpu:.1f} | 1.00× / 1.00× |",
    ]
    previous = first
    for score, what in run.steps:
        marker = " **(chosen: `RECEIPT_OCR`)**" if score.settings.key() == RECEIPT_OCR.key() or replace(
            score.settings, name=RECEIPT_OCR.name) == RECEIPT_OCR else ""
        rows.append(f"| {score.settings.name}{marker} | {what} | {score.read}/{score.total} | {score.share:.1%} "
                    f"| {score.read - previous.read:+d} | {score.seconds:.1f} | {score.seconds / receipts:.2f} "
                    f"| {score.cpu_seconds:.1f} | {score.seconds / ref_s:.2f}× / {score.cpu_seconds / ref_cpu:.2f}× |")
        previous = score
    chosen = previous
    for score, what in run.extras:
        rows.append(f"| {score.settings.name} (not kept) | chosen settings + {what} | {score.read}/{score.total} "
                    f"| {score.share:.1%} | {score.read - chosen.read:+d} vs chosen | {score.seconds:.1f} "
                    f"| {score.seconds / receipts:.2f} | {score.cpu_seconds:.1f} "
                    f"| {score.seconds / ref_s:.2f}× / {score.cpu_seconds / ref_cpu:.2f}× |")
    return rows


def write_markdown(path: Path, scores: list[Score], receipts: int, workers: int, speed: Speed | None,
                   step_run: StepRun | None, cord: list[CordCheck]) -> None:
    load = os.getloadavg()
    lines = [
        "# OCR settings, measured on real receipts",
        "",
        f"Generated by `.venv/bin/python benchmarks/ocr_quality.py` on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, {workers} worker processes), over the {receipts} WildReceipt `dev.txt` images "
        f"(`../shared/data/wildreceipt`). Tuned on dev only. Load average (1/5 min) at the end of the run: "
        f"{load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} cores; other jobs on the machine inflate wall times, "
        "so CPU seconds (this process, its workers and their Tesseract runs) are given too.",
        "",
        "**Metric.** The share of gold segments whose text the OCR reads: the OCR words whose box centre lies "
        "inside the segment's box, joined without spaces in reading order, are ≥ 0.8 similar "
        "(`difflib.SequenceMatcher` ratio, case-insensitive) to the segment text (which WildReceipt stores "
        "without spaces). Empty-text segments are skipped. Code: `receipt_core/ocr/quality.py`.",
        "",
    ]
    if step_run is not None:
        chosen = step_run.steps[-1][0]
        lines += [
            "## Steps after the first choice (issue #20: OCR that reads receipts)", "",
            "Each step is added on top of the one before; the time reference is the first choice measured in the "
            "same run, once before and once after the steps (their mean).", "",
            *_step_rows(step_run, receipts), "",
            f"`RECEIPT_OCR` now reads **{chosen.share:.1%}** of gold segments ({chosen.read}/{chosen.total}) vs "
            f"**{step_run.first_before.share:.1%}** for the first choice ({chosen.read - step_run.first_before.read:+d} "
            f"segments), in {chosen.seconds / step_run.reference_seconds:.2f}× its wall time per receipt "
            f"({chosen.cpu_seconds / step_run.reference_cpu:.2f}× its CPU time).", "",
            "### What mattered", "", *STEP_NOTES, "",
        ]
    if cord:
        lines += ["### The textured CORD photo (`cord/train/image/receipt_00001.png`)", "",
                  "Its CORD gold words (one word = one segment, same metric), as a check that a setting does not "
                  "turn this dot-matrix print on textured paper into noise:", "",
                  "| settings | gold words read | OCR words |", "|---|---|---|",
                  *[f"| {c.settings.name} | {c.read}/{c.total} | {c.words} |" for c in cord], ""]
    if scores:
        default = next((s for s in scores if s.settings == TESSERACT_DEFAULT), None)
        best = max(scores, key=lambda s: s.share)
        lines += [
            "## The first choice: variants measured", "",
            "| settings | Tesseract options and preprocessing | segments read | share | mean per receipt | wall s |",
            "|---|---|---|---|---|---|",
        ]
        for score in scores:
            marker = " **(first choice)**" if score.settings == FIRST_CHOICE else ""
            marker += " (plain `image_to_data`)" if score.settings == TESSERACT_DEFAULT else ""
            lines.append(f"| {score.settings.name}{marker} | {settings_text(score.settings)} "
                         f"| {score.read}/{score.total} | {score.share:.1%} | {score.per_receipt_mean:.1%} "
                         f"| {score.seconds:.1f} |")
        lines.append("")
        if default is not None:
            first = next((s for s in scores if s.settings == FIRST_CHOICE), None)
            if first is not None:
                lines.append(f"The first choice ({first.settings.name}) read **{first.share:.1%}** vs "
                             f"**{default.share:.1%}** for plain `pytesseract.image_to_data` with default settings "
                             f"({first.read - default.read:+d} segments of {default.total}).")
        lines += [f"Best variant of this table: {best.settings.name} ({best.share:.1%}).", "",
                  "### What mattered for the first choice", "", *NOTES, "", *FIRST_CHANGE, ""]
    if speed is not None:
        lines += [
            "## Parallel and cached OCR (`ocr_many`, chosen settings)", "",
            "| receipts | one process s | all cores s | speed-up | cached re-OCR ms/receipt |", "|---|---|---|---|---|",
            f"| {speed.receipts} | {speed.one_process_s:.1f} | {speed.all_cores_s:.1f} ({speed.workers} processes) "
            f"| {speed.speedup:.2f}× | {speed.cached_ms_per_receipt:.1f} |", "",
            "Every Tesseract call runs single-threaded (`OMP_THREAD_LIMIT=1`, `receipt_core/ocr/tesseract.py`); "
            "one process OCRs the receipts one after another, the pool one receipt per core. The cached "
            "run reads the OCR'd documents from an `OcrCache` folder keyed by image SHA-256 and settings "
            "(`keep_images=False`: no image decoding).", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


STEP_NOTES = (
    "Figures marked *(exploration)* come from an exploration script run while tuning: the same 50 dev receipts "
    "and metric, Tesseract outputs cached per pass and merged offline; they are not rows of the table above.",
    "",
    "- **Illumination normalisation** is the largest gain of these steps (+110 segments): phone photos of "
    "receipts are lit unevenly (shadows of the hand and phone, curled paper, a dark table around the slip), and "
    "Tesseract's global Otsu threshold then loses faint or shaded print. Dividing by a blurred local maximum (the "
    "paper's brightness: a max filter about 1/24 of the shorter side wide, on a ≤256 px copy, a few ms) makes the "
    "paper evenly white. *(exploration)* a 1/48 window read 12 fewer segments, a 512 px copy (1/48 window) 58 "
    "fewer, a 1/12 window the same, no blur after the max filter 18 fewer.",
    "- **Deskew** by projection profiles (±6° in 0.5° steps; rotated only when an angle sharpens the row "
    "profile by more than 2%) helps psm 6, which assumes horizontal rows (+22); boxes are mapped back through "
    "the rotation.",
    "- **Resolution** matters much less once the paper is even: 1000 px wide read as much as 1500 (+16, "
    "noise) in less time. *(exploration)* With both passes, 800, 1000, 1200 and 1500 px read 1674, 1681, 1675 "
    "and 1670 segments. Without normalisation 1500 px stays best (first-choice table).",
    "- **A second page segmentation**, psm 11 (sparse text), finds fragments psm 6 drops or misreads. Added only "
    "where no psm 6 word overlaps (so no text is doubled) it pays +10; also taking psm 11's reading of a group of "
    "overlapping words when it is ≥ 20 points more confident (character-weighted mean) pays +63 more. "
    "*(exploration)* margins 10, 15 and 25 read 1–8 fewer; replacing whole psm 6 lines whose mean confidence "
    "was under 50–85 by psm 11's words read 21–93 fewer than adding alone; requiring psm 11's group to span 70–85% of the words it "
    "replaces (so a confident fragment cannot replace a whole word) changed −4 to +5. Together the two passes read "
    "88.2% of segments in at least one of them *(exploration)*, so choosing better between them has headroom.",
    "- **`--dpi 96`** (+12): pytesseract's PNG carries no resolution, so Tesseract assumes 70 dpi, which changes "
    "how psm 11 finds sparse text. *(exploration)* told 96, 120, 150 or 300 dpi, psm 11 alone read 1540, 1539, "
    "1526 and 1516 segments instead of 1454; psm 6 reads the same words at any dpi.",
    "- **Uncompressed page file** (step 1): pytesseract writes a PNG per call, and compressing a 1000×2000 page "
    "is about a third of a psm 6 pass on this machine; one PGM written once and read by every pass gives the same "
    "words (same pixels, no resolution) in 0.78× the time. This is what pays for the second pass within the 2× "
    "time budget. (A BMP is not the same: Pillow writes 96 dpi into it, which changes psm 11's words.)",
    "- **Added words from confidence 50** changed no segment on WildReceipt and drops psm 11's noise on "
    "textured paper (CORD photo below: 77 → 72 words, the same gold words read).",
    "- **Not kept:** a third pass (psm 4, merged the same way) reads +13 but costs a whole pass: over the 2× time "
    "budget. Re-reading crops of doubtful words (one stacked canvas per receipt) read 9 fewer, and of "
    "number-like words with a digits/price whitelist 3 more, each for 18–57% more time (CPU / wall). *(exploration)* "
    "Dropping low-confidence punctuation-only words changed ≤ 4 segments; Sauvola thresholding on the normalised "
    "page read 74 fewer with psm 6 alone; psm 4 instead of psm 11 as the second pass read 20 fewer.",
    "- **What is left:** most unread segments are misreads, not misses: a quantity `1` read as `|`, `i` or `\\`, "
    "prices with `,` for `.`, a tax flag glued to a price (`4.29T` where the gold has `4.29` and `T`).",
)

FIRST_CHANGE = (
    "### Change after the first choice",
    "",
    "Sauvola thresholding was first chosen (1451 vs 1450 segments, +1) but on the one CORD photo "
    "(`cord/train/image/receipt_00001.png`, textured background) it produced 415 garbage words and none of the "
    "prices; without it the same photo reads `SPGTHY BOLOGNASE … 58,000 … 165,000`. The first choice was therefore "
    "`psm6-nodict-up1500-gray`.",
)


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


def _run(settings: OcrSettings, receipts, items, workers: int) -> Score:
    score = measure(settings, receipts, items, workers)
    print(f"{settings.name:40s} {score.read:>5d}/{score.total:<4d} {score.share:7.1%} "
          f"{score.per_receipt_mean:7.1%} {score.seconds:7.1f} {score.cpu_seconds:7.1f}", flush=True)
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev images")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="variant, step or extra names to run, comma- or space-separated (default: all)")
    parser.add_argument("--steps-only", action="store_true",
                        help="only the steps after the first choice (and the extras), not the first-choice variants")
    parser.add_argument("--no-speed", action="store_true", help="skip the one-process vs all-cores timing")
    parser.add_argument("--no-write", action="store_true", help="print the table without writing docs/OCR.md")
    args = parser.parse_args(argv)

    report = load_dataset(SHARED_DATA / "wildreceipt" / "dev.txt", "wildreceipt")
    receipts = gold_receipts(report.documents, report.images)[: args.limit]
    items = [(r.image_path.name, r.image_path.read_bytes()) for r in receipts]
    only = None if args.only is None else {name for names in args.only for name in names.split(",")}

    def wanted(settings: OcrSettings) -> bool:
        return only is None or settings.name in only

    workers = args.workers or os.cpu_count() or 1
    print(f"{len(receipts)} receipts, {sum(len(r.segments) for r in receipts)} gold segments, {workers} workers")
    print(f"{'settings':40s} {'read':>10s} {'share':>7s} {'mean':>7s} {'wall s':>7s} {'cpu s':>7s}")
    scores = []
    if not args.steps_only:
        scores = [_run(v, receipts, items, workers) for v in VARIANTS
                  if wanted(v) or v in (TESSERACT_DEFAULT, FIRST_CHOICE)]
    step_run = None
    steps = [(s, what) for s, what in STEPS if wanted(s)]
    extras = [(s, what) for s, what in EXTRAS if wanted(s)]
    if steps or extras:
        before = _run(FIRST_CHOICE, receipts, items, workers)
        step_scores = [(_run(s, receipts, items, workers), what) for s, what in steps]
        extra_scores = [(_run(s, receipts, items, workers), what) for s, what in extras]
        after = _run(FIRST_CHOICE, receipts, items, workers)
        step_run = StepRun(before, after, step_scores, extra_scores)
        ref_s, ref_cpu = step_run.reference_seconds, step_run.reference_cpu
        for score, _ in step_scores + extra_scores:
            print(f"{score.settings.name:40s} {score.seconds / ref_s:.2f}x wall, {score.cpu_seconds / ref_cpu:.2f}x "
                  f"CPU of the first choice")
    cord = [c for c in (cord_check(FIRST_CHOICE), cord_check(RECEIPT_OCR)) if c is not None]
    for check in cord:
        print(f"CORD receipt_00001 {check.settings.name}: {check.read}/{check.total} gold words, {check.words} words")
    speed = None
    if not args.no_speed:
        speed = measure_speed(items, RECEIPT_OCR, workers)
        print(f"one process {speed.one_process_s:.1f}s, {workers} processes {speed.all_cores_s:.1f}s "
              f"({speed.speedup:.2f}x), cached re-OCR {speed.cached_ms_per_receipt:.1f} ms/receipt")
    if not args.no_write:
        out = REPO_ROOT / "docs" / "OCR.md"
        write_markdown(out, scores, len(receipts), workers, speed, step_run, cord)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
