"""The demo dataset: synthetic receipts rendered, OCR'd and stored in a workspace (Home's "Generate demo receipts")."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

from ..data.document import Document
from .synth import generate_dataset

if TYPE_CHECKING:
    from ..workspace.store import Workspace

DEMO_DATASET = "demo"


def add_demo_receipts(workspace: "Workspace", count: int, seed: int = 0, dataset: str = DEMO_DATASET,
                      progress: Callable[[int, int], None] | None = None) -> list[Document]:
    """Generate ``count`` receipts for ``seed`` (``synth.generate_dataset``) and store them as ``dataset``.

    Each image is stored first (by content hash), then every document in one transaction, so a stored document
    never points at a missing image. Returns the stored documents; ``progress(done, total)`` follows generation.
    """
    documents = []
    for receipt in generate_dataset(count, seed=seed, progress=progress):
        sha = workspace.put_image(receipt.image_bytes, "." + receipt.image_format.lower().replace("jpeg", "jpg"))
        doc = receipt.document
        documents.append(doc if doc.image_sha256 == sha else dataclasses.replace(doc, image_sha256=sha))
    workspace.save_documents(dataset, documents)
    return documents
