"""Tesseract OCR of a receipt image into a :class:`Document`: words, pixel boxes, confidences and line ids.

``RECEIPT_OCR`` was chosen by measuring on the real WildReceipt ``dev.txt`` photos (``benchmarks/ocr_quality.py``
writes the figures to ``docs/OCR.md``); ``TESSERACT_DEFAULT`` is plain ``pytesseract.image_to_data`` for comparison.

Words come out in geometric reading order (:func:`receipt_core.data.reading_order.reading_order`), the order every
dataset importer uses: a model trained on imported receipts then sees OCR'd receipts in the same order.
Tesseract's own order follows its block segmentation, which on receipts often reads a whole column of
names before the column of prices, splitting a printed row across the sequence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, fields, replace
from multiprocessing import get_context
from typing import Callable, Sequence

from PIL import Image

from ..data.document import Document, Word
from ..data.reading_order import reading_order
from ..data.images import DEFAULT_MAX_PIXELS, ImageLoadError, LoadedImage, image_header, load_image, upright_size
from .cache import OcrCache
from .merge import MergeOptions, OcrWord, merge_passes
from .orientation import LOOKS_TURNED, reads_badly, reads_better, turn_to_try
from .preprocess import prepare
from .second_pass import RereadOptions, reread_doubtful
from .tesseract import (INSTALL_HINT, OcrError, OcrTimeoutError, TesseractNotFoundError, run_tesseract, tesseract_input,
                        words_from_data)
from .worker_count import ocr_worker_count

__all__ = ["INSTALL_HINT", "OcrCache", "OcrError", "OcrResult", "OcrSettings", "RECEIPT_OCR", "TESSERACT_DEFAULT",
           "TesseractNotFoundError", "ocr_image", "ocr_many"]

OCR_ID_PREFIX = "ocr-"  # an uploaded photo's receipt: ocr-<first 12 hex digits of its SHA-256>

# Every Tesseract pass of one image together: a receipt photo takes 1–3 s on 2 cores (docs/OCR.md), a
# pathological image must not hold an upload for long (a probe's image took two passes of the old 300 s limit each).
IMAGE_OCR_LIMIT_S = 120


@dataclass(frozen=True)
class OcrSettings:
    """How an image is prepared for Tesseract and which Tesseract options are used.

    ``min_width``: images narrower than this are upscaled (at most ``max_scale``×) before OCR; boxes are
    mapped back to the original pixels. Receipt text height scales with the receipt's width, so the width
    is the right thing to normalise. ``thresholding``: Tesseract's ``thresholding_method`` (0 legacy Otsu,
    1 Leptonica Otsu, 2 Sauvola); None leaves Tesseract's default.

    Options added after the first choice (docs/OCR.md, "Steps after the first choice"; each is off by default and
    left out of :meth:`key` while off, so settings that do not use it keep their cache keys):

    * ``illumination``: divide by a blurred estimate of the paper's brightness (shadows, uneven light);
    * ``deskew``: rotate the photo so text rows are horizontal (projection profiles);
    * ``dpi``: the resolution Tesseract is told (``--dpi``); without it Tesseract assumes 70, which changes
      how psm 11 finds sparse text (psm 6 reads the same words either way);
    * ``more_psms``: further page segmentations of the same prepared image, each merged into the words so far
      (:mod:`receipt_core.ocr.merge`): its words where nothing was found, and its reading of overlapping words
      when it is ``merge_margin`` points more confident; added words need ``merge_min_confidence``;
    * ``reread_below`` / ``reread_numbers_below``: crops of words under that confidence (of number-like words
      only, digits whitelisted) re-read in one extra call each (:mod:`receipt_core.ocr.second_pass`);
    * ``image_format``: how the prepared page reaches Tesseract: ``PNG`` (pytesseract compresses one per
      call) or ``PNM`` (written once, uncompressed, read by every pass; the same pixels, so the same words);
    * ``check_orientation``: a page that read badly is asked whether its text is turned (upside down or on its
      side), and the document's ``meta["ocr_looks_turned"]`` gives the degrees clockwise that would make it
      upright (:mod:`receipt_core.ocr.orientation`); the words stay as read.
    """

    name: str
    psm: int = 3
    oem: int = 3
    lang: str = "eng"
    dictionaries: bool = True
    min_width: int = 0
    max_scale: float = 4.0
    grayscale: bool = False
    autocontrast: bool = False
    thresholding: int | None = None
    preserve_interword_spaces: bool = False
    order: str = "geometric"  # "geometric": reading_order(); "tesseract": Tesseract's own order and line ids
    illumination: bool = False
    deskew: bool = False
    dpi: int | None = None
    more_psms: tuple[int, ...] = ()
    merge_margin: float | None = 20.0  # None: only add words where the passes so far found nothing
    merge_min_confidence: float = 0.0
    reread_below: float | None = None
    reread_numbers_below: float | None = None
    image_format: str = "PNG"
    check_orientation: bool = False

    def __post_init__(self) -> None:
        if self.order not in ("geometric", "tesseract"):
            raise ValueError(f"OcrSettings.order must be 'geometric' or 'tesseract', got {self.order!r}")
        for psm in (self.psm, *self.more_psms):
            if psm not in range(14):
                raise ValueError(f"OcrSettings.psm must be a Tesseract page segmentation mode 0-13, got {psm}")
        if self.image_format not in ("PNG", "PNM"):
            raise ValueError(f"OcrSettings.image_format must be 'PNG' or 'PNM', got {self.image_format!r}")

    def key(self) -> str:
        """A short hash of every setting (the name excluded), for cache keys. Options added after the first
        choice are left out while at their default, so settings that do not use them keep their old keys."""
        values = asdict(self)
        values.pop("name")
        for field in fields(self):
            if field.name in _LATER_OPTIONS and values[field.name] == field.default:
                values.pop(field.name)
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]

    def one_plain_pass(self, **changes) -> "OcrSettings":
        """These settings with every whole-page step off (illumination, deskew, further page segmentations,
        crop re-reads), plus ``changes``: how a crop the user drew is read. A whole-page step added later is
        switched off here, next to its field."""
        return replace(self, illumination=False, deskew=False, more_psms=(), reread_below=None,
                       reread_numbers_below=None, **changes)

    def tesseract_config(self) -> str:
        """The Tesseract options of the first pass."""
        return self.pass_config(self.psm)

    def pass_config(self, psm: int) -> str:
        parts = [f"--psm {psm}", f"--oem {self.oem}"]
        if self.dpi is not None:
            parts.append(f"--dpi {self.dpi}")
        if not self.dictionaries:
            parts += ["-c load_system_dawg=0", "-c load_freq_dawg=0"]
        if self.thresholding is not None:
            parts.append(f"-c thresholding_method={self.thresholding}")
        if self.preserve_interword_spaces:
            parts.append("-c preserve_interword_spaces=1")
        return " ".join(parts)


_LATER_OPTIONS = frozenset({"illumination", "deskew", "dpi", "more_psms", "merge_margin",
                            "merge_min_confidence", "reread_below", "reread_numbers_below", "image_format",
                            "check_orientation"})


# Plain `pytesseract.image_to_data(image)`: no preprocessing, Tesseract's defaults and its own word order.
TESSERACT_DEFAULT = OcrSettings(name="tesseract-default", order="tesseract")
# Chosen on WildReceipt dev (docs/OCR.md): see benchmarks/ocr_quality.py for every variant measured.
# First choice: psm 6, no dictionaries, upscale to >=1500 px, grayscale (1450/1990 segments). Sauvola thresholding
# (thresholding_method=2) read 1451 but turned the textured CORD receipt_00001 photo into noise, so Tesseract's
# default thresholding is kept. Steps since (issue #20), each measured in one run against the first choice:
# illumination normalisation and deskew, 1000 px (enough once the paper is even), a psm 11 pass merged in by
# geometry and confidence and told 96 dpi, and the page written once uncompressed (PNM) instead of a PNG per pass:
# 1683/1990 = 84.6% of segments, in 1.48x the first choice's time per receipt (docs/OCR.md). Not kept: a third pass
# (psm 4: +13 segments at 2.7x the time) and crop re-reads of doubtful or number-like words (-9 / +3). A page that
# reads badly is asked whether it is turned (docs/OCR.md "Turned photos": +11% time on dev): the words stay the same.
RECEIPT_OCR = OcrSettings(name="receipt", psm=6, dictionaries=False, min_width=1000, grayscale=True,
                          illumination=True, deskew=True, dpi=96, more_psms=(11,), merge_margin=20.0,
                          merge_min_confidence=50.0, image_format="PNM", check_orientation=True)


def ocr_image(image: LoadedImage, settings: OcrSettings = RECEIPT_OCR, doc_id: str | None = None,
              source: str = "") -> Document:
    """OCR one loaded image: words (no empty or −1-confidence rows) in reading order, boxes in original pixels."""
    prepared = prepare(image.image, grayscale=settings.grayscale, autocontrast=settings.autocontrast,
                       illumination=settings.illumination, deskew=settings.deskew, min_width=settings.min_width,
                       max_scale=settings.max_scale)
    merge = MergeOptions(word_margin=settings.merge_margin, min_confidence=settings.merge_min_confidence)
    deadline = time.monotonic() + IMAGE_OCR_LIMIT_S
    try:
        with tesseract_input(prepared.image, settings.image_format) as page:
            found = first = _read(page, settings, settings.psm, deadline=deadline)
            for psm in settings.more_psms:
                found = merge_passes(found, _read(page, settings, psm, deadline=deadline), merge)
            turned = (turn_to_try(page, settings.dpi, _time_left(deadline))
                      if settings.check_orientation and reads_badly(found) else None)
        if turned is not None and not reads_better(  # said only when the turned page reads better
                first, _read(prepared.image.rotate(-turned, expand=True), settings, settings.psm, deadline=deadline)):
            turned = None
        for below, numbers in ((settings.reread_below, False), (settings.reread_numbers_below, True)):
            if below is not None:
                found = reread_doubtful(prepared.image, found,
                                        lambda crops, psm, extra: _read(crops, settings, psm, extra, deadline),
                                        RereadOptions(below=below, numbers=numbers))
    except OcrTimeoutError:
        raise OcrError(f"reading this image took longer than {IMAGE_OCR_LIMIT_S:g} s and was stopped (a receipt "
                       "photo takes a few seconds: crop this one to the receipt or scale it down)") from None
    words = [word for word in (_to_word(w, prepared.geometry.to_original) for w in found)
             if word.box[2] > word.box[0] and word.box[3] > word.box[1]]  # none wholly off the page
    if settings.order == "geometric":
        words = reading_order(words)
    meta = {"ocr_settings": settings.name, "ocr_settings_key": settings.key(),
            "ocr_scale": round(prepared.geometry.scale, 4)}
    if prepared.geometry.angle:
        meta["ocr_deskew_degrees"] = prepared.geometry.angle
    if turned is not None:
        meta[LOOKS_TURNED] = turned
    if image.note:
        meta["image_note"] = image.note
    return Document(id=doc_id or f"{OCR_ID_PREFIX}{image.sha256[:12]}", width=image.width, height=image.height,
                    words=tuple(words), image_sha256=image.sha256, source=source, meta=meta)


def _read(image: Image.Image | str, settings: OcrSettings, psm: int, extra: str = "",
          deadline: float | None = None) -> list[OcrWord]:
    """One Tesseract page segmentation: its words in Tesseract's order, boxes in the pixels of ``image``; stopped
    at ``deadline`` (``time.monotonic()``) with :class:`OcrTimeoutError`."""
    config = settings.pass_config(psm) + (f" {extra}" if extra else "")
    return words_from_data(run_tesseract(image, settings.lang, config, _time_left(deadline)))


def _time_left(deadline: float | None) -> float:
    """The seconds a Tesseract call may take before ``deadline``; :class:`OcrTimeoutError` when none are left."""
    left = IMAGE_OCR_LIMIT_S if deadline is None else deadline - time.monotonic()
    if left <= 0:
        raise OcrTimeoutError("no time left for this pass")
    return left


def _to_word(word: OcrWord, to_original: Callable) -> Word:
    # Rounded as the native JSON stores them, so an OCR'd document equals its own round trip.
    box = tuple(round(v, 2) for v in to_original(word.box))
    return Word(text=word.text, box=box, confidence=word.confidence, line_id=word.line)


@dataclass(frozen=True)
class OcrResult:
    name: str
    document: Document | None
    image: LoadedImage | None  # decoded only when asked for (``keep_images``)
    error: str | None  # one line that names the file itself ("'x.png' is an empty file …", "x.png: tesseract …")
    format: str = ""  # Pillow's name of the file's format (JPEG, PNG, …); "" for a file that failed
    note: str = ""  # how the file was read, when the user should know (only the first frame of an animated GIF)


def _pixels(data: bytes) -> int:
    """The pixels of an image file from its header, at most the limit above which it is refused unread."""
    size = upright_size(data)
    return min(size[0] * size[1], DEFAULT_MAX_PIXELS) if size else 0


def ocr_many(items: Sequence[tuple[str, bytes]], settings: OcrSettings = RECEIPT_OCR, workers: int | None = None,
             progress: Callable[[int, int], None] | None = None, cache: OcrCache | None = None,
             keep_images: bool = False, on_result: Callable[[OcrResult], None] | None = None) -> list[OcrResult]:
    """OCR many uploads in parallel processes (all cores by default), in input order.

    A file that is not a usable image gives an :class:`OcrResult` with ``error`` set and never stops the
    batch; a missing Tesseract binary raises :class:`TesseractNotFoundError`. Cached results skip OCR.
    The pixels are decoded in this process only with ``keep_images=True`` (for a page that shows them): without
    it, each result's format and note come from the file's header, so a cached re-OCR costs a hash and a JSON
    read, and a hundred 36-megapixel uploads are not held decoded at once (a probe saw 2.4 GB for twelve).
    ``progress(done, total)`` is called in this process after each item. ``on_result(result)`` is called in this
    process with each result in input order, as soon as it and every item before it are read: a caller that stores
    each one there keeps what was read when it is stopped half-way (a page its visitor left).

    Worker processes are *spawned* (safe next to Streamlit's and torch's threads, unlike fork), so a plain
    script calling this with ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.
    """
    total = len(items)
    results: list[OcrResult | None] = [None] * total
    documents: list[Document | None] = [None] * total
    errors: list[str | None] = [None] * total

    def result(index: int) -> OcrResult:
        name, data = items[index]
        image, header = None, ("", "")
        if errors[index] is None:
            image = load_image(data, name) if keep_images else None
            header = (image.format, image.note) if image is not None else image_header(data)
        return OcrResult(name=name, document=documents[index], image=image, error=errors[index], format=header[0],
                         note=header[1])

    finished = _InOrder(total, result, results, on_result)
    done = 0
    pending: list[int] = []
    for index, (name, data) in enumerate(items):
        sha = hashlib.sha256(data).hexdigest()
        cached = cache.get(sha, settings) if cache is not None else None
        if cached is not None and (cached.width, cached.height) != upright_size(data):
            # not this image's reading (an entry edited by hand: a probe's 10x10 page for a 500x120 photo): OCR again
            cached = None
        if cached is None:
            pending.append(index)
            continue
        documents[index] = replace(cached, id=_doc_id(sha), source=name)
        finished(index)  # before progress: a page left mid-upload stops at its progress bar's next call
        done += 1
        if progress:
            progress(done, total)

    workers = max(1, min(workers or os.cpu_count() or 1, len(pending) or 1))
    if workers > 1:  # each worker may hold the largest image several times over (a probe: 1.2 GB for 40 MP)
        workers = ocr_worker_count(workers, (_pixels(items[i][1]) for i in pending))
    if workers == 1:
        outcomes = ((i, _ocr_job(items[i][0], items[i][1], settings)) for i in pending)
        _collect(outcomes, documents, errors, cache, settings, progress, done, total, finished)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_leave_interrupts_to_the_caller) as pool:
            futures = {pool.submit(_ocr_job, items[i][0], items[i][1], settings): i for i in pending}
            outcomes = ((futures[f], _outcome(f, items[futures[f]][0])) for f in as_completed(futures))
            try:
                _collect(outcomes, documents, errors, cache, settings, progress, done, total, finished)
            except BaseException:  # Ctrl-C, SIGTERM, a missing Tesseract: the queued images are not read
                pool.shutdown(cancel_futures=True)  # waits for the images being read (a second call would not)
                raise

    return [r for r in results if r is not None]


class _InOrder:
    """Builds each item's result into ``results`` (and hands it to ``on_result``) in input order, as soon as that
    item and every one before it are finished."""

    def __init__(self, total: int, build: Callable[[int], OcrResult], results: list,
                 on_result: Callable[[OcrResult], None] | None):
        self.ready, self.next = [False] * total, 0
        self.build, self.results, self.on_result = build, results, on_result

    def __call__(self, index: int) -> None:
        self.ready[index] = True
        while self.next < len(self.ready) and self.ready[self.next]:
            self.results[self.next] = self.build(self.next)
            if self.on_result is not None:
                self.on_result(self.results[self.next])
            self.next += 1


def _collect(outcomes, documents, errors, cache, settings, progress, done, total, finished) -> None:
    for index, (doc_json, error, missing_binary) in outcomes:
        if missing_binary:
            raise TesseractNotFoundError(error)
        if error is None:
            document = Document.from_json(doc_json)
            documents[index] = document
            if cache is not None:
                try:
                    cache.put(document, settings)
                except OSError as cache_error:  # the cache only saves a later re-OCR: a probe's read-only cache
                    # folder failed a whole upload after its OCR had finished, with a raw errno line
                    logging.getLogger(__name__).warning("OCR cache not written (%s); the result is used anyway",
                                                        cache_error)
        errors[index] = error
        finished(index)  # before progress: a page left mid-upload stops at its progress bar's next call
        done += 1
        if progress:
            progress(done, total)


def _outcome(future, name: str) -> tuple[dict | None, str | None, bool]:
    """A worker's result, or an error for this item when its worker process died (e.g. killed for memory)."""
    try:
        return future.result()
    except BrokenProcessPool as error:
        return None, f"{name}: the OCR worker process stopped unexpectedly ({error}); try this image again", False


def _leave_interrupts_to_the_caller() -> None:
    """Worker side: Ctrl-C reaches the whole process group, and a worker that took it ended its image with an error
    and went on to the next, so a batch ran to its end after Ctrl-C (a probe waited 150 s). The caller cancels the
    batch instead; the image a worker is reading finishes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _doc_id(sha: str) -> str:
    return f"{OCR_ID_PREFIX}{sha[:12]}"


def _ocr_job(name: str, data: bytes, settings: OcrSettings) -> tuple[dict | None, str | None, bool]:
    """Worker side: (document JSON, None, False) or (None, message, is_missing_binary)."""
    try:
        image = load_image(data, name)
        document = ocr_image(image, settings, doc_id=_doc_id(image.sha256), source=name).to_json()
        Document.from_json(document)  # checked here, where a bad one fails this file only, not the whole batch
        return document, None, False
    except ImageLoadError as error:
        return None, str(error), False
    except TesseractNotFoundError as error:
        return None, str(error), True
    except OcrError as error:
        return None, f"{name}: {error}", False
    except Exception as error:  # noqa: BLE001 - one odd file must not stop the batch; the message names it
        return None, f"{name}: could not be OCR'd ({type(error).__name__}: {error})", False
