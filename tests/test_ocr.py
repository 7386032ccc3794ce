"""Real Tesseract on generated and real receipts: word rows, boxes, tuned settings, cache, batches, errors."""

from __future__ import annotations

import dataclasses
import io
import json
import time

import pytesseract
import pytest
from PIL import Image, ImageDraw, ImageFont

from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.ocr.engine import (RECEIPT_OCR, TESSERACT_DEFAULT, OcrCache, TesseractNotFoundError, ocr_image,
                              ocr_many)
from receipt_core.ocr.quality import gold_receipts, segments_read
from receipt_core.datasets.synth import available_fonts


pytestmark = pytest.mark.ocr


def _intersects(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _small_receipt_png(lines=("COFFEE 2 7.00", "BAGEL 1 3.50", "TOTAL 10.50"), font_size=13) -> bytes:
    """A deliberately small image (text ~10 px tall) that needs upscaling to be read."""
    font = ImageFont.truetype(str(available_fonts()[0]), font_size)
    image = Image.new("L", (180, 30 + 22 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((10, 15 + 22 * row), text, font=font, fill=0)
    return _png(image)


@pytest.fixture(scope="module")
def synthetic(synth_receipts):
    """Two of the session's generated receipts (conftest.generated), OCR'd when they were generated."""
    return synth_receipts[:2]


def test_generated_receipts_are_read_back_with_overlapping_boxes(synthetic):
    recovered = total = 0
    for receipt in synthetic:
        for token in receipt.rendered:
            total += 1
            recovered += any(w.text == token.text and _intersects(w.box, token.box) for w in receipt.document.words)
    assert total > 20
    assert recovered / total >= 0.9, f"only {recovered}/{total} rendered words read back with overlapping boxes"


def test_word_rows_only_in_reading_order_within_the_page(synthetic):
    document = synthetic[0].document
    assert document.words and document.image_sha256 == load_image(synthetic[0].image_bytes).sha256
    for word in document.words:
        assert word.text.strip() == word.text and word.text
        assert 0 <= word.confidence <= 100
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 <= x1 <= document.width and 0 <= y0 <= y1 <= document.height
    line_ids = [w.line_id for w in document.words]
    assert line_ids == sorted(line_ids) and line_ids[-1] > 10


def test_small_image_is_upscaled_and_boxes_map_back_to_original_pixels():
    loaded = load_image(_small_receipt_png(), "small.png")
    document = ocr_image(loaded)
    assert document.meta["ocr_scale"] > 2
    texts = [w.text for w in document.words]
    assert {"COFFEE", "BAGEL", "TOTAL", "10.50"} <= set(texts), texts
    total_word = next(w for w in document.words if w.text == "TOTAL")
    # drawn at x=10, row 2 starts at y=59; boxes are in the 180-pixel-wide original, not the upscaled copy
    assert 8 <= total_word.box[0] <= 14 and 55 <= total_word.box[1] <= 66 and total_word.box[2] < 70


def test_blank_white_image_gives_zero_words():
    document = ocr_image(load_image(_png(Image.new("RGB", (600, 800), "white")), "blank.png"))
    assert document.words == () and (document.width, document.height) == (600, 800)


@pytest.mark.slow
def test_tuned_settings_read_at_least_as_many_wildreceipt_segments_as_default(wildreceipt_dev_report):
    receipts = gold_receipts(wildreceipt_dev_report.documents, wildreceipt_dev_report.images)[:6]
    items = [(r.image_path.name, r.image_path.read_bytes()) for r in receipts]
    scores = {}
    for settings in (TESSERACT_DEFAULT, RECEIPT_OCR):
        results = ocr_many(items, settings, keep_images=False)
        counts = [segments_read(result.document, r.segments) for result, r in zip(results, receipts)]
        scores[settings.name] = sum(c[0] for c in counts) / sum(c[1] for c in counts)
    assert scores[RECEIPT_OCR.name] >= scores[TESSERACT_DEFAULT.name], scores


def test_cache_hit_returns_the_identical_document_without_running_tesseract(tmp_path, monkeypatch):
    from receipt_core.ocr import engine

    cache = OcrCache(tmp_path / "ocr-cache")
    items = [("a.png", _small_receipt_png()), ("b.png", _small_receipt_png(("TEA 3 4.50", "TOTAL 4.50")))]
    first = ocr_many(items, workers=1, cache=cache)

    def no_tesseract(*args, **kwargs):  # a cache hit never reads the image (a timing bound flaked under load)
        raise AssertionError("Tesseract ran on a cached image")

    with monkeypatch.context() as patched:
        patched.setattr(engine, "_read", no_tesseract)
        second = ocr_many(items, workers=1, cache=cache, keep_images=False)
    assert [r.document.to_json() for r in first] == [r.document.to_json() for r in second]
    assert sorted(p.suffix for p in cache.folder.iterdir()) == [".json", ".json"]  # no temp files left
    from receipt_core.data.files import new_file_mode

    # the user's umask, as every file the app writes (a probe found mkstemp's 0600 on the entries)
    assert {p.stat().st_mode & 0o777 for p in cache.folder.iterdir()} == {new_file_mode()}
    assert cache.foreign_files() == []  # its own entries are recognised: an --ocr-cache folder can be reused
    (cache.folder / "notes.txt").write_text("mine")
    assert cache.foreign_files() == ["notes.txt"]
    (cache.folder / next(iter(sorted(p.name for p in cache.folder.iterdir())))).write_text("{broken")
    assert len([r for r in ocr_many(items, workers=1, cache=cache) if r.document]) == 2  # bad entry = miss
    # an entry of another page size is not this image's reading (a probe's hand-edited 10x10 page): a miss too
    entry = next(p for p in cache.folder.iterdir() if p.name.endswith(".json"))
    forged = Document.from_json(json.loads(entry.read_text()))
    entry.write_text(json.dumps(dataclasses.replace(forged, width=10, height=10, words=()).to_json()))
    again = ocr_many(items, workers=1, cache=cache)
    assert all(r.document.words and r.document.width > 10 for r in again)


def test_a_read_only_cache_reads_the_workspaces_ocr_and_keeps_none_of_its_own(tmp_path):
    """Predict's cache: a photo the workspace already read comes from the cache, and a photo uploaded only to be
    predicted is read by Tesseract and leaves no entry (a probe re-imported such a photo's words from the cache)."""
    kept, other = _small_receipt_png(), _small_receipt_png(("TEA 3 4.50", "TOTAL 4.50"))
    ocr_many([("kept.png", kept)], workers=1, cache=OcrCache(tmp_path / "ocr-cache"))
    entries = sorted(p.name for p in (tmp_path / "ocr-cache").iterdir())
    reading = OcrCache(tmp_path / "ocr-cache", writes=False)
    results = ocr_many([("kept.png", kept), ("other.png", other)], workers=1, cache=reading)
    assert all(r.error is None and r.document.words for r in results)
    assert sorted(p.name for p in (tmp_path / "ocr-cache").iterdir()) == entries
    assert [OcrCache.image_sha256_of(name) for name in entries] == [results[0].document.image_sha256]
    assert OcrCache.image_sha256_of(".tmp-abc.json") is None and OcrCache.image_sha256_of("notes.json") is None


def test_a_cache_or_image_folder_that_cannot_be_written_is_said_or_skipped(tmp_path, monkeypatch):
    """A probe made the OCR cache folder immutable: the upload failed after its OCR had finished, with a raw errno
    line. The cache only saves a later re-OCR, so its write is skipped; an images folder that cannot be written
    is named with what to do."""
    import receipt_core.workspace.images
    from receipt_core.workspace.store import Workspace, WorkspaceError

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(OcrCache, "put", refuse)
    results = ocr_many([("a.png", _small_receipt_png())], workers=1, cache=OcrCache(tmp_path / "ocr-cache"))
    assert results[0].error is None and results[0].document.words
    monkeypatch.setattr(receipt_core.workspace.images, "atomic_write", refuse)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match=r"cannot store the image in .*images: Operation not permitted; check "
                                             "that the workspace folder can be written"):
        ws.put_image(_small_receipt_png(), ".png")

def test_a_bad_image_in_a_parallel_batch_gets_its_own_error():
    items = [("good.png", _small_receipt_png()), ("empty.jpg", b""), ("notes.png", b"just text"),
             ("tiny.png", _png(Image.new("L", (1, 1), 0)))]
    seen, handed = [], []
    results = ocr_many(items, workers=2, progress=lambda done, total: seen.append((done, total)), keep_images=True,
                       on_result=handed.append)
    assert [r.name for r in results] == [name for name, _ in items]
    assert handed == results  # each result handed over once, in input order, whatever order the workers finished in
    assert results[0].error is None and "TOTAL" in [w.text for w in results[0].document.words]
    assert results[0].image is not None and results[0].image.width == 180
    assert (results[0].format, results[1].format) == ("PNG", "")  # a failed file has none
    assert [r.image for r in ocr_many(items[:1], workers=1)] == [None]  # decoded only when asked for
    assert "empty file" in results[1].error and results[1].document is None
    assert "not an image" in results[2].error
    assert "too small" in results[3].error
    assert seen[-1] == (4, 4) and len(seen) == 4


def test_a_narrow_strip_in_a_batch_is_read_and_the_other_images_with_it():
    """A probe: a word Tesseract found past the bottom of an 8×20000 strip came back as a box with y0 > y1, and
    the batch's other images (read fine) were all lost with it. Each box is now clipped on both sides."""
    strip = Image.new("L", (8, 20000), 255)
    draw = ImageDraw.Draw(strip)
    for y in range(0, 20000, 40):
        draw.text((0, y), "1x", fill=0)
    items = [("good.png", _small_receipt_png()), ("strip.png", _png(strip))]
    results = ocr_many(items, workers=1)
    assert [r.error for r in results] == [None, None]
    assert "TOTAL" in [w.text for w in results[0].document.words]
    for word in results[1].document.words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 <= 8 and 0 <= y0 < y1 <= 20000, word


def test_missing_tesseract_binary_says_how_to_install(monkeypatch, tmp_path):
    loaded = load_image(_small_receipt_png())
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-such-tesseract"))
    with pytest.raises(TesseractNotFoundError, match=r"apt-get install tesseract-ocr"):
        ocr_image(loaded)
    with pytest.raises(TesseractNotFoundError, match=r"apt-get install tesseract-ocr"):
        ocr_many([("a.png", _small_receipt_png())], workers=1)


def test_exif_rotated_phone_photo_is_read_upright():
    upright = Image.open(io.BytesIO(_small_receipt_png()))
    stored = upright.rotate(90, expand=True)  # the sensor's orientation; EXIF says "rotate 90° clockwise"
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.convert("RGB").save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    document = ocr_image(load_image(buffer.getvalue(), "phone.jpg"))
    assert (document.width, document.height) == upright.size
    assert {"COFFEE", "TOTAL"} <= {w.text for w in document.words}


def test_a_hanging_tesseract_is_stopped_with_a_clear_error(monkeypatch):
    import receipt_core.ocr.engine as ocr_module

    loaded = load_image(_small_receipt_png())
    monkeypatch.setattr(ocr_module, "IMAGE_OCR_LIMIT_S", 0.001)
    with pytest.raises(ocr_module.OcrError, match=r"reading this image took longer than 0.001 s and was stopped"):
        ocr_image(loaded)
    results = ocr_many([("slow.png", _small_receipt_png())], workers=1)
    assert results[0].document is None and "took longer than" in results[0].error


def test_one_time_limit_covers_every_pass_of_an_image(monkeypatch):
    """A probe's image ran two Tesseract passes of 300 s each: the limit is now the image's, passes share it."""
    import receipt_core.ocr.engine as ocr_module

    limits = []
    real = ocr_module.run_tesseract

    def timed(image, lang, config, timeout):
        limits.append(timeout)
        return real(image, lang, config, timeout)

    monkeypatch.setattr(ocr_module, "run_tesseract", timed)
    ocr_image(load_image(_small_receipt_png()))
    assert len(limits) == 2  # psm 6, then psm 11
    assert limits[0] <= ocr_module.IMAGE_OCR_LIMIT_S and limits[1] < limits[0]


def test_a_tilted_photos_rows_stay_apart(shared_data):
    """A walkthrough labelled ICE with a key and the next key landed two printed rows down: the line grouping let a
    tilted row's extent grow with each word and swallow the rows below it (on WildReceipt's photos 28 % of the
    dev set's OCR words sat in lines taller than 2.5 words). Real Tesseract on that photo (WildReceipt train)."""
    photo = shared_data / "wildreceipt" / "image_files" / "Image_36" / "16" / \
        "03dd7bee9110ab404811a8a9a151023677998706.jpeg"
    doc = ocr_image(load_image(photo.read_bytes()))
    lines: dict[int, list] = {}
    for word in doc.words:
        lines.setdefault(word.line_id, []).append(word)
    texts = [[w.text for w in line] for line in lines.values()]
    rows = [row for row in texts if "ICE" in row and "TEA" in row]  # the printed row "325112 ICE TEA 10OZ"
    assert rows and not {"CAFE", "PUDDING", "HOM", "LACTAID"} & set(rows[0]), texts
    heights = sorted(w.box[3] - w.box[1] for w in doc.words)
    tall = [w for line in lines.values() if max(w.box[3] for w in line) - min(w.box[1] for w in line)
            > 2.5 * heights[len(heights) // 2] for w in line]
    assert len(tall) <= 0.15 * len(doc.words), [[w.text for w in lines[i]] for i in {w.line_id for w in tall}]


def test_a_cache_entry_reads_back_in_todays_reading_order(tmp_path):
    """An OCR cache written before the reading order changed gives the order a fresh OCR would (no re-OCR)."""
    from receipt_core.data.document import Document, Word

    cache = OcrCache(tmp_path / "ocr-cache")
    words = (Word("9.00", (200, 52, 240, 64), line_id=0), Word("TOTAL", (10, 50, 60, 62), line_id=0),
             Word("TEA", (10, 10, 40, 22), line_id=3))
    cache.put(Document(id="d", width=300, height=100, words=words, image_sha256="a" * 64), RECEIPT_OCR)
    read = cache.get("a" * 64, RECEIPT_OCR)
    assert [(w.text, w.line_id) for w in read.words] == [("TEA", 0), ("TOTAL", 1), ("9.00", 1)]



def test_a_planted_cache_entry_is_a_miss_and_never_read_whole(tmp_path, monkeypatch):
    """A probe planted a 2 GB entry and ``evaluate --ocr-cache`` read it whole into memory. An entry that is a
    link, a FIFO, over the size bound or over the word limit is a miss (the image is OCR'd again), read no further."""
    import os

    from receipt_core.data.document import Document, Word
    from receipt_core.ocr import cache as cache_module

    cache = OcrCache(tmp_path / "ocr-cache")
    words = (Word("TEA", (10, 10, 40, 22), line_id=0),)
    cache.put(Document(id="d", width=300, height=100, words=words, image_sha256="a" * 64), RECEIPT_OCR)
    entry = cache.path("a" * 64, RECEIPT_OCR)
    assert cache.get("a" * 64, RECEIPT_OCR).words[0].text == "TEA"
    secret = tmp_path / "elsewhere.json"
    secret.write_bytes(entry.read_bytes())
    entry.unlink()
    entry.symlink_to(secret)
    assert cache.get("a" * 64, RECEIPT_OCR) is None  # a link, even to a valid entry
    entry.unlink()
    os.mkfifo(entry)
    assert cache.get("a" * 64, RECEIPT_OCR) is None  # returns at once: never blocks on a FIFO
    entry.unlink()
    entry.write_bytes(secret.read_bytes())
    monkeypatch.setattr(cache_module, "MAX_ENTRY_BYTES", entry.stat().st_size - 1)
    assert cache.get("a" * 64, RECEIPT_OCR) is None
    monkeypatch.undo()
    many = tuple(Word("X", (1, 1, 2, 2), line_id=0) for _ in range(cache_module.MAX_DOCUMENT_WORDS + 1))
    cache.put(Document(id="d", width=300, height=100, words=many, image_sha256="b" * 64), RECEIPT_OCR)
    assert cache.get("b" * 64, RECEIPT_OCR) is None

@pytest.mark.slow
@pytest.mark.parametrize("signal_name, whom", [("SIGINT", "group"), ("SIGTERM", "process")])
def test_ctrl_c_or_kill_stops_an_ocr_batch_within_seconds(shared_data, tmp_path, signal_name, whom):
    """A probe: Ctrl-C went on reading the rest of a 321-image batch (its workers took the interrupt image by image,
    150 s later Tesseract still ran), and `kill PID` left the workers running with the output pipe open."""
    import os
    import signal
    import subprocess
    import sys

    import psutil

    log = tmp_path / "out.txt"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "receipt_core", "import", "--format", "wildreceipt",
             str(shared_data / "wildreceipt" / "dev.txt"), "--from-images", "--dataset", "x"],
            env=dict(os.environ, RECEIPT_STUDIO_HOME=str(tmp_path / "ws")), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    deadline = time.monotonic() + 120
    while "ocr: " not in log.read_text() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    children = psutil.Process(process.pid).children(recursive=True)
    assert children, "no OCR workers to stop"
    number = getattr(signal, signal_name)
    os.killpg(process.pid, number) if whom == "group" else os.kill(process.pid, number)
    started = time.monotonic()
    assert process.wait(timeout=60) == 130
    assert time.monotonic() - started < 20, log.read_text()[-500:]
    # said as what stopped it (probe 59's `kill -TERM` read "interrupted")
    assert ("error: terminated (SIGTERM)" if signal_name == "SIGTERM" else "error: interrupted") in log.read_text()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_an_upload_left_midway_keeps_the_receipts_read_before_it(tmp_path, monkeypatch):
    """Found by a probe: leaving the Data page at "OCR 3/6" (Streamlit ends the page's script then) stored nothing,
    and an upload of up to 100 images takes minutes; a walkthrough then left it during three photos, one batch of
    eight, and lost all three. Each receipt is stored once it and those before it are read, by the real Tesseract
    here (one worker, so the order is fixed); a repeated image is stored once."""
    import functools

    import ui.actions
    from receipt_core.ocr.engine import ocr_many
    from receipt_core.workspace.store import Workspace
    from ui.actions import ocr_and_store

    class Left(Exception):  # Streamlit's StopException, raised at the page's next progress call
        pass

    monkeypatch.setattr(ui.actions, "ocr_many", functools.partial(ocr_many, workers=1))
    workspace = Workspace(tmp_path)
    images = [_small_receipt_png((f"ITEM{i} 1 {i}.50", f"TOTAL {i}.50")) for i in range(5)]
    uploads = {f"r{i}.png": data for i, data in enumerate(images)}

    def leave_at_the_third(done: int, total: int) -> None:
        assert total == len(uploads)
        if done == 3:
            raise Left

    with pytest.raises(Left):
        ocr_and_store(workspace, "photos", uploads, progress=leave_at_the_third)
    assert sorted(d.source for d in workspace.load_documents("photos")) == ["r0.png", "r1.png", "r2.png"]
    # and the files never read are kept, for the Data page to name on the next visit (a probe closed the tab at
    # "OCR 6/25", and 19 photos were never read, unsaid)
    from receipt_core.workspace.upload_journal import dismiss_upload, stopped_uploads

    [stopped] = stopped_uploads(workspace.home)
    assert (stopped.dataset, stopped.names, stopped.unread) == ("photos", tuple(uploads), ("r3.png", "r4.png"))

    report = ocr_and_store(workspace, "photos", {"r3.png": uploads["r3.png"]})  # one of the two never read
    assert [s.unread for s in stopped_uploads(workspace.home)] == [("r4.png",)]  # taken off the list (walkthrough 45)
    report = ocr_and_store(workspace, "photos", uploads)  # again: the rest is read and stored
    assert len(report.saved) == 1 and len(workspace.load_documents("photos")) == 5
    assert stopped_uploads(workspace.home) == []  # nothing left unread: the warning goes by itself
    # a dataset deleted in another tab while the upload stores into it: its receipts gone are said, not counted as
    # stored (probe 51 read "Stored 30 receipts" of which 10 were gone)
    more = {f"t{i}.png": _small_receipt_png((f"TEA{i} 1 {i}.75", f"TOTAL {i}.75")) for i in range(3)}

    def delete_at_the_second(done: int, total: int) -> None:
        if done == 2:
            workspace.delete_dataset("deleted")

    deleted = ocr_and_store(workspace, "deleted", more, progress=delete_at_the_second)
    assert len(deleted.saved) == 1 and deleted.notes[-1].startswith("2 receipts of this upload were deleted meanwhile")
    with pytest.raises(Left):  # and Dismiss forgets one
        ocr_and_store(workspace, "again", uploads, progress=leave_at_the_third)
    dismiss_upload(workspace.home, stopped_uploads(workspace.home)[0].key)
    assert stopped_uploads(workspace.home) == []
    assert sum("already in the dataset" in note for note in report.notes) == 4

    fresh = {f"s{i}.png": _small_receipt_png((f"SOUP{i} 2 {i}.25", f"TOTAL {i}.25")) for i in range(3)}
    report = ocr_and_store(workspace, "more", {**fresh, "copy of s0.png": fresh["s0.png"]})
    assert len(report.saved) == 3
    assert report.notes == ("copy of s0.png: the same image as s0.png in this upload; stored once",)
