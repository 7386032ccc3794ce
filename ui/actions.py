"""What the pages do with the workspace, as plain functions (no Streamlit, so tests can call them directly)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from receipt_core.data.document import Document
from receipt_core.data.images import FORMAT_SUFFIXES, load_image
from receipt_core.datasets.report import ImportReport
from receipt_core.ocr.engine import OcrCache, OcrResult, ocr_many
from receipt_core.ocr.orientation import turned_note_of
from receipt_core.workspace.images import read_stored_image
from receipt_core.workspace.store import Workspace
from receipt_core.wording import counted
from receipt_core.workspace.upload_journal import UploadJournal, settle_stopped_uploads


@dataclass(frozen=True)
class IngestReport:
    saved: tuple[str, ...]  # document ids
    words: int  # the words OCR read in the stored receipts
    problems: tuple[str, ...]  # one line per file that was not stored, saying why
    notes: tuple[str, ...]  # stored, but worth knowing (no words found, first GIF frame, …)


def store_ocr_results(workspace: Workspace, dataset: str, results: list[OcrResult],
                      uploads: dict[str, bytes], batch: dict[str, str] | None = None) -> IngestReport:
    """Store OCR'd uploads: image by content hash first, then all documents in one transaction.

    A file that failed (not an image, too big, …) is reported and nothing of it is stored. An image already in
    the workspace is never stored again: in ``dataset`` its receipt is kept with its labels (a note), in another
    dataset it stays there (a problem). ``uploads`` maps each result's name to its bytes (the names are only
    shown and searched, never used as file names): each document keeps its upload's name as its ``source`` and
    ``meta["file_name"]``, which exports keep too. A dataset name the workspace refuses (``check_dataset_name``)
    stores nothing at all, not even the images. ``batch`` (document id -> the upload's name that stored it) carries
    the receipts stored earlier in the same upload, when it is stored in parts; it is filled in.
    """
    workspace.check_dataset_name(dataset)
    docs: list[Document] = []
    problems: list[str] = []
    notes: list[str] = []
    stored = workspace.datasets_of(r.document.id for r in results if r.document is not None)
    batch = {} if batch is None else batch  # document id -> the upload's name that stored it
    for result in results:
        if result.error is not None or result.document is None:
            problems.append(result.error or f"{result.name}: no document was produced")  # the error names it
            continue
        held = stored.get(result.document.id)
        if result.document.id in batch:
            notes.append(f"{result.name}: the same image as {batch[result.document.id]} in this upload; stored once")
            continue
        if held == dataset:
            notes.append(f"{result.name}: this image is already in the dataset {dataset!r} as {result.document.id}; "
                         "kept as it was, with its labels")
            continue
        if held is not None:
            problems.append(f"{result.name}: this image is already in dataset {held!r} as {result.document.id}; a "
                            "receipt belongs to one dataset, so it was not stored again (delete it there first to "
                            "move it)")
            continue
        sha = workspace.put_image(uploads[result.name], FORMAT_SUFFIXES.get(result.format, ".img"))
        doc = dataclasses.replace(result.document, image_sha256=sha, source=result.name,
                                  meta={**result.document.meta, "file_name": result.name})
        docs.append(doc)
        batch[doc.id] = result.name
        if not doc.words:
            notes.append(f"{result.name}: Tesseract found no words (a blank or unreadable image); stored with "
                         "zero words")
        if result.note:
            notes.append(f"{result.name}: {result.note}")
        # a probe's receipt turned 180° was stored as nonsense, unsaid; and walkthrough 45 was left with two copies
        if turned := turned_note_of(doc.meta, then="upload it again, then delete this reading of it (Receipts tab → "
                                                   "Delete this receipt)"):
            notes.append(f"{result.name}: {turned}")
    if docs and (meanwhile := workspace.add_new_documents(dataset, docs)):
        for doc in [doc for doc in docs if doc.id in meanwhile]:
            notes.append(f"{doc.source}: stored meanwhile (another upload of the same image) in dataset "
                         f"{meanwhile[doc.id]!r} as {doc.id}; kept as it is there")
            del batch[doc.id]
        docs = [doc for doc in docs if doc.id not in meanwhile]
    return IngestReport(saved=tuple(d.id for d in docs), words=sum(len(d.words) for d in docs),
                        problems=tuple(problems), notes=tuple(notes))


def ocr_and_store(workspace: Workspace, dataset: str, uploads: dict[str, bytes],
                  progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """OCR the uploads (name -> bytes) and store each receipt in ``dataset`` as soon as it and the uploads before it
    are read (``ocr_many``'s ``on_result``): Streamlit ends a page's script when its visitor goes to another page or
    closes the tab, and walkthroughs that left Data during "Reading receipts…" found nothing stored (first of the
    whole upload, then of each batch of eight).

    The dataset name is checked first, so a name the workspace refuses costs no OCR and stores nothing.
    """
    workspace.check_dataset_name(dataset)
    batch: dict[str, str] = {}  # document id -> the upload's name that stored it
    parts: list[IngestReport] = []
    # the files of the upload and those read: one left part-way is said on the next visit (upload_journal)
    journal = UploadJournal.begin(workspace.home, dataset, list(uploads))

    def store(result: OcrResult) -> None:
        parts.append(store_ocr_results(workspace, dataset, [result], {result.name: uploads[result.name]}, batch))
        journal.read(result.name, refused=parts[-1].problems[0] if parts[-1].problems else None)

    try:
        ocr_many(list(uploads.items()), cache=OcrCache(workspace.ocr_cache_dir), progress=progress,
                 on_result=store)
    except BaseException:  # Streamlit's stop of a page left (its control exceptions are BaseExceptions), or a failure
        journal.stop()
        raise
    finally:  # an earlier stopped upload's files read now are off its list (its own, stopped here, read them all)
        settle_stopped_uploads(workspace.home, dataset, journal.read_names)
    journal.finish()
    stored = workspace.datasets_of(i for p in parts for i in p.saved)  # probe 51 deleted the dataset in another tab
    notes = tuple(m for p in parts for m in p.notes)  # meanwhile, and read "Stored 30 receipts" of which 10 were gone
    if gone := sum(1 for p in parts for i in p.saved if i not in stored):
        notes += (f"{counted(gone, 'receipt')} of this upload {'was' if gone == 1 else 'were'} deleted meanwhile "
                  f"(the dataset {dataset!r} deleted in another tab or session): upload "
                  f"{'it' if gone == 1 else 'them'} again to keep {'it' if gone == 1 else 'them'}",)
    return IngestReport(saved=tuple(i for p in parts for i in p.saved if i in stored),
                        words=sum(p.words for p in parts if all(i in stored for i in p.saved)),
                        problems=tuple(m for p in parts for m in p.problems),
                        notes=notes)


def store_for_correction(workspace: Workspace, dataset: str, results: Sequence[OcrResult],
                         uploads: Mapping[str, bytes], predictions: Mapping[str, Mapping], run_id: str) -> IngestReport:
    """Predict's uploads (their OCR ``results`` and bytes by name) stored in ``dataset`` as Data's upload stores
    them, each new receipt with the run's prediction of it (``predictions`` by upload name, the JSON of
    ``DocumentPrediction``) kept as suggestions, for Annotate to accept or correct. A receipt stored already is left
    as it is (a note says so). A walkthrough found no way from a wrong prediction on Predict to a correction."""
    report = store_ocr_results(workspace, dataset, list(results), dict(uploads))
    names = {result.document.id: result.name for result in results if result.document is not None}
    for doc_id in report.saved:
        if (prediction := predictions.get(names.get(doc_id, ""))) is not None:
            workspace.store_suggestions(doc_id, prediction, run_id)
    return report


def ocr_projected_import(workspace: Workspace, report: ImportReport,
                         progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """An imported dataset read again from its images (``import --from-images``): Tesseract's words, each labelled
    by the gold box it falls in, with the workspace's OCR cache; ValueError when the dataset has no images."""
    from receipt_core.datasets.from_images import ocr_projected_report

    if not report.images:
        raise ValueError("these receipts have no images to read (CORD's annotations come without them); import "
                         "them without \"Read the images with OCR\", or choose a dataset with images, such as "
                         "WildReceipt")
    return ocr_projected_report(report, progress=progress, cache_folder=workspace.ocr_cache_dir)


def document_image(workspace: Workspace, doc: Document) -> Image.Image | None:
    """The document's stored image (EXIF-rotated, RGB or L), or None for a document without pixels."""
    if doc.image_sha256 is None:
        return None
    path = workspace.image_path(doc.image_sha256)
    if path is None:
        return None
    return load_image(read_stored_image(path), path.name).image  # not a file changed on disk (a probe)
