"""Which receipts a workspace run reads: the ids its config records when it starts, and the live runs that read a
dataset's receipts (the Data page warns before such a dataset is deleted). Light: no model code is imported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..data.document import Document
from ..workspace.runs import LIVE_STATUSES

DOCUMENT_ID_KEYS = ("train_ids", "eval_ids")  # keys of a run's config: its training and evaluation receipts


def document_ids(train_docs: Sequence[Document], eval_docs: Sequence[Document]) -> dict[str, Any]:
    """What a run's config records of its receipts: their counts and ids (a resume reads them back by id)."""
    return {"train_documents": len(train_docs), "eval_documents": len(eval_docs),
            DOCUMENT_ID_KEYS[0]: [doc.id for doc in train_docs], DOCUMENT_ID_KEYS[1]: [doc.id for doc in eval_docs]}


def missing_run_documents(workspace, config) -> list[str]:
    """The ids a run's config records (:data:`DOCUMENT_ID_KEYS`) that the workspace no longer holds: deleted since
    the run started, so a resume on its own receipts cannot find them."""
    ids = [doc_id for key in DOCUMENT_ID_KEYS for doc_id in config.get(key) or ()]
    held = workspace.datasets_of(ids)
    return [doc_id for doc_id in ids if doc_id not in held]


def trained_on_photos(workspace, config) -> bool | None:
    """Whether any of a run's training receipts came with an image (an OCR'd upload or photo dataset) rather than
    words typed by annotators (CORD's); None when the run does not record its receipts or none is left."""
    ids = set(config.get(DOCUMENT_ID_KEYS[0]) or ())
    held = [summary for summary in workspace.list_documents() if summary.id in ids] if ids else []
    return any(summary.image_sha256 for summary in held) if held else None


@dataclass(frozen=True)
class RunReadingDataset:
    """A live run (training or paused) whose training or evaluation receipts include some of a dataset's."""
    run_id: str
    name: str
    receipts: int  # how many of the dataset's receipts it reads


def live_runs_reading(workspace, dataset: str) -> list[RunReadingDataset]:
    """The live runs that read receipts of ``dataset``: deleting it leaves them training on the receipts they
    loaded, but they can no longer be resumed, and Runs no longer finds those receipts."""
    ids = {summary.id for summary in workspace.list_documents(dataset)}
    readers = []
    for run in workspace.list_runs():
        if run.status in LIVE_STATUSES:
            used = ids.intersection(doc_id for key in DOCUMENT_ID_KEYS for doc_id in run.config.get(key) or ())
            if used:
                readers.append(RunReadingDataset(run.id, run.name, len(used)))
    return readers
