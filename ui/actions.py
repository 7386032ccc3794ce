"""What the pages do with the workspace, as plain functions (no Streamlit, so tests can call them directly)."""

from __future__ import annotations

import dataclasses
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from receipt_core.datasets.native import save_native
from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.ocr.engine import OcrResult
from receipt_core.workspace.store import Workspace

_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


@dataclass(frozen=True)
class IngestReport:
    saved: tuple[str, ...]  # document ids
    problems: tuple[str, ...]  # one line per file that was not stored, saying why
    notes: tuple[str, ...]  # stored, but worth knowing (no words found, first GIF frame, …)


def store_ocr_results(workspace: Workspace, dataset: str, results: list[OcrResult],
                      uploads: dict[str, bytes]) -> IngestReport:
    """Store OCR'd uploads: image by content hash first, then all documents in one transaction.

    A file that failed (not an image, too big, …) is reported and nothing of it is stored. ``uploads`` maps
    each result's name to its bytes (the names are only shown, never used as file names).
    """
    docs: list[Document] = []
    problems: list[str] = []
    notes: list[str] = []
    for result in results:
        if result.error is not None or result.document is None:
            problems.append(f"{result.name}: {result.error or 'no document was produced'}")
            continue
        fmt = result.image.format if result.image is not None else "PNG"
        sha = workspace.put_image(uploads[result.name], _SUFFIXES.get(fmt, ".img"))
        doc = result.document
        if doc.image_sha256 != sha:
            doc = dataclasses.replace(doc, image_sha256=sha)
        docs.append(doc)
        if not doc.words:
            notes.append(f"{result.name}: Tesseract found no words (a blank or unreadable image); stored with "
                         "zero words")
        if result.image is not None and result.image.note:
            notes.append(f"{result.name}: {result.image.note}")
    if docs:
        workspace.save_documents(dataset, docs)
    return IngestReport(saved=tuple(d.id for d in docs), problems=tuple(problems), notes=tuple(notes))


def document_image(workspace: Workspace, doc: Document) -> Image.Image | None:
    """The document's stored image (EXIF-rotated, RGB or L), or None for a document without pixels."""
    if doc.image_sha256 is None:
        return None
    path = workspace.image_path(doc.image_sha256)
    if path is None:
        return None
    return load_image(path.read_bytes(), path.name).image


def export_zip(workspace: Workspace, dataset: str | None) -> bytes:
    """A dataset (or every document) as a zipped native folder: ``<id>.json`` files plus ``images/``."""
    docs = workspace.load_documents(dataset)
    images = {}
    for doc in docs:
        if doc.image_sha256 is not None:
            path = workspace.image_path(doc.image_sha256)
            if path is not None:
                images[doc.id] = path
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / (dataset or "workspace")
        save_native(docs, folder, images=images)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folder.parent))
    return buffer.getvalue()


def least_confident(predictions: dict[str, dict], exclude: set[str] = frozenset()) -> str | None:
    """The document id whose prediction has the lowest mean field score (ties: the first)."""
    best, best_score = None, float("inf")
    for doc_id, prediction in predictions.items():
        if doc_id in exclude:
            continue
        scores = [w.get("field_score", 1.0) for w in prediction.get("words", ())]
        score = sum(scores) / len(scores) if scores else 1.0
        if score < best_score:
            best, best_score = doc_id, score
    return best


def prefill_from_prediction(doc: Document, prediction: dict) -> Document:
    """The document relabelled from a prediction (``DocumentPrediction.to_json()``, same words in the same order)."""
    words = prediction.get("words", [])
    if len(words) != len(doc.words):
        raise ValueError(f"the prediction has {len(words)} words but document {doc.id!r} has {len(doc.words)}")
    labelled = []
    for word, predicted in zip(doc.words, words):
        if predicted.get("quantity"):
            labelled.append(word.with_annotation("QUANTITY", predicted.get("quantity_value")))
        else:
            labelled.append(word.with_annotation(str(predicted.get("field", "OTHER"))))
    return doc.with_words(labelled)


# --- runs ----------------------------------------------------------------------------------------------

SUMMARY_METRICS = ("fields.micro_f1", "quantity.word_f1", "quantity.item_accuracy", "quantity.item_accuracy_not_one")


def run_summary(workspace: Workspace, run) -> dict:
    """One row of the Runs table: settings, trainable parameters, wall time and best metric per task."""
    config = run.config
    row = {"run": run.id, "name": run.name, "status": run.status, "backbone": config.get("backbone"),
           "scenario": config.get("scenario"), "trainable parameters": None, "total parameters": None,
           "wall time (s)": None, "steps": None}
    best: dict[str, float] = {}
    for event in workspace.run_events(run.id, kinds=["phase", "eval", "progress", "finished"]):
        payload = event.payload
        if event.kind == "phase":
            trainable = payload.get("trainable_parameters")
            row["trainable parameters"] = max(row["trainable parameters"] or 0, trainable or 0)
            row["total parameters"] = payload.get("total_parameters")
        elif event.kind == "eval":
            for name in SUMMARY_METRICS:
                value = (payload.get("metrics") or {}).get(name)
                if isinstance(value, (int, float)):
                    best[name] = max(best.get(name, float("-inf")), float(value))
        elif event.kind in ("progress", "finished"):
            row["wall time (s)"] = payload.get("elapsed_s")
            row["steps"] = payload.get("step")
    row.update({f"best {name}": best.get(name) for name in SUMMARY_METRICS})
    return row


def run_metrics_rows(workspace: Workspace, run_id: str) -> list[dict]:
    """Every step and evaluation of a run as flat rows (the metrics CSV)."""
    rows = []
    for event in workspace.run_events(run_id, kinds=["step", "eval"]):
        payload = event.payload
        row = {"kind": event.kind, "step": payload.get("step"), "epoch": payload.get("epoch"),
               "phase": payload.get("phase")}
        if event.kind == "step":
            row["loss"] = payload.get("loss")
            row.update({f"{task}.loss": value for task, value in (payload.get("task_losses") or {}).items()})
            row["lr"] = payload.get("lr")
        else:
            row["val_loss"] = payload.get("val_loss")
            row.update({k: v for k, v in (payload.get("metrics") or {}).items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)})
        rows.append(row)
    return rows


def zip_folder(folder: Path) -> bytes:
    """A folder (a run's checkpoint) as zip bytes, paths relative to the folder's parent."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(Path(folder).rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                archive.write(file, file.relative_to(Path(folder).parent))
    return buffer.getvalue()


def split_documents(docs: list[Document], eval_docs: list[Document] | None, hold_out: float
                    ) -> tuple[list[Document], list[Document]]:
    """Training and evaluation documents: ``eval_docs`` when given, else the last ``hold_out`` share of ``docs``.

    The held-out part is always the same for the same dataset and share, so a resumed run evaluates on the
    receipts it evaluated on before.
    """
    if eval_docs is not None:
        if not docs:
            raise ValueError("the training dataset is empty")
        return docs, eval_docs
    if len(docs) < 2:
        raise ValueError(f"the training dataset has {len(docs)} receipt(s); holding some out for evaluation needs "
                         "at least 2 (or choose an evaluation dataset)")
    n_eval = min(max(1, round(len(docs) * hold_out)), len(docs) - 1)
    return docs[:-n_eval], docs[-n_eval:]


# --- studies -------------------------------------------------------------------------------------------

VERDICT_COLOURS = {"held": "green", "did not hold": "red", "mixed": "orange", "not measured": "gray"}


def study_table_rows(study) -> list[dict]:
    """The study report's table (a ``study_view.OpenedStudy``) as rows for a dataframe: the report's cells
    (metrics as "mean ± std" with repeats) under its column names, plus ``best`` (★ on the best multi-task row)."""
    from receipt_core.study.runner import TABLE_COLUMNS

    return [{**dict(zip(TABLE_COLUMNS, row.cells())), "best": "★" if row.best else ""} for row in study.rows]


def claim_lines(study) -> list[str]:
    """The study's reading, one Markdown line per claim: claim, verdict (coloured, Streamlit Markdown) and its
    numbers, as in report.md."""
    return [f"**{c.claim}** :{VERDICT_COLOURS.get(c.verdict, 'gray')}[**{c.verdict.capitalize()}**]: {c.evidence}"
            for c in study.claims]
