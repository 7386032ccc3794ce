"""Data a new user can start from, stored in a workspace with one call (Home's two buttons).

* the demo dataset: synthetic receipts rendered, OCR'd and stored (``add_demo_receipts``, "Generate demo receipts";
  receipts already there are kept, not generated again);
* the CORD sample: 250 real CORD v1 receipts (CC BY 4.0) that ship with the app in ``assets/cord-sample/``,
  stored as a train and a dev dataset (``add_cord_sample``, "Real receipts (CORD sample)").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..data.document import Document
from ..workspace.database import WorkspaceError
from ..workspace.documents import DocumentsInAnotherDatasetError
from . import import_into_workspace, load_dataset
from .cord_twins import CORD_ID_PREFIX, CORD_SAMPLE_ID_PREFIX
from .report import ImportReport, make_report
from .synth import check_count, generate_receipts, synth_id

if TYPE_CHECKING:
    from ..workspace.store import Workspace

DEMO_DATASET = "demo"
CORD_SAMPLE_TRAIN = "cord-sample-train"
CORD_SAMPLE_DEV = "cord-sample-dev"
CORD_SAMPLE_SPLITS = (("train", CORD_SAMPLE_TRAIN), ("dev", CORD_SAMPLE_DEV))  # folder of the sample -> dataset


@dataclass(frozen=True)
class DemoReceipts:
    """What :func:`add_demo_receipts` did: every asked-for document as the workspace now holds it, in index order,
    and how many of them it generated (the rest were stored already and kept)."""

    documents: tuple[Document, ...]
    generated: int

    @property
    def kept(self) -> int:
        return len(self.documents) - self.generated


def add_demo_receipts(workspace: "Workspace", count: int, seed: int = 0, dataset: str = DEMO_DATASET,
                      progress: Callable[[int, int], None] | None = None) -> DemoReceipts:
    """Receipts 0 … ``count`` − 1 of ``seed`` (``synth.generate_receipts``) in ``dataset``.

    Loses nothing and repeats no work: a receipt already stored in ``dataset`` (the same seed and index give the
    same id) is kept as it is, with any label changes made since, and only the missing ones are generated.
    Each new receipt is stored as soon as it is made, its image first (by content hash), so a stored document
    never points at a missing image, and an interrupted call (a reload of the page) keeps the receipts it made:
    the next call makes only the rest. ``progress(done, total)`` follows the generation. Raises the
    workspace's ``DocumentsInAnotherDatasetError``, before generating anything, when one of the ids belongs to
    another dataset.
    """
    check_count(count)
    ids = [synth_id(seed, index) for index in range(count)]
    held = workspace.datasets_of(ids)
    elsewhere = {doc_id: name for doc_id, name in held.items() if name != dataset}
    if elsewhere:
        raise DocumentsInAnotherDatasetError(dataset, elsewhere)
    missing = [index for index, doc_id in enumerate(ids) if doc_id not in held]
    new = []
    for receipt in generate_receipts(seed, missing, progress=progress):
        sha = workspace.put_image(receipt.image_bytes, "." + receipt.image_format.lower().replace("jpeg", "jpg"))
        doc = receipt.document
        doc = doc if doc.image_sha256 == sha else dataclasses.replace(doc, image_sha256=sha)
        # stored only if still missing, in the same transaction: a second tab generating the same receipts at once
        # stored this one first, and a person may have labelled it since (a probe's label was overwritten)
        taken = workspace.add_new_documents(dataset, [doc])
        if doc.id not in taken:
            new.append(doc)
        elif taken[doc.id] != dataset:
            raise DocumentsInAnotherDatasetError(dataset, taken)
    stored = {doc.id: doc for doc in workspace.load_documents(dataset)} if len(new) < len(ids) else {}
    stored.update((doc.id, doc) for doc in new)
    documents = tuple(stored[doc_id] for doc_id in ids)
    return DemoReceipts(documents=documents, generated=len(new))


class CordSampleError(WorkspaceError):
    """The CORD sample cannot be stored: its files are missing; the message says which and what to do."""


@dataclass(frozen=True)
class SampleDataset:
    """One dataset of the CORD sample after :func:`add_cord_sample`."""

    name: str
    documents: int  # documents in the workspace's dataset after the call
    added: bool  # True: stored by this call; False: the dataset was there already and was left as it was
    problems: tuple[str, ...] = ()  # import problems of the sample's files (none for the sample that ships)
    twins_note: str | None = None  # its receipts the workspace held already under CORD's own ids (cord_twins)


def cord_sample_path() -> Path:
    """``assets/cord-sample`` of this checkout, found from this file (not the working directory)."""
    return Path(__file__).resolve().parents[2] / "assets" / "cord-sample"


def add_cord_sample(workspace: "Workspace", root: Path | None = None) -> tuple[SampleDataset, ...]:
    """Store the CORD sample (``root``, default :func:`cord_sample_path`) as ``cord-sample-train`` and
    ``cord-sample-dev``; returns one :class:`SampleDataset` per split, train first.

    Idempotent and loses nothing: a sample dataset that is already in the workspace is left exactly as it is
    (with any label corrections made since), and only a missing one is stored. Document ids carry the prefix
    ``cord-sample-``, so the same receipts imported from the full CORD (ids ``cord-…``) stay in their dataset.
    Raises :class:`CordSampleError` when the sample's folder is missing, and the workspace's
    ``DocumentsInAnotherDatasetError`` when one of a split's ids belongs to another dataset (that split is not
    stored: its receipts would be moved out).
    """
    root = cord_sample_path() if root is None else Path(root)
    missing = [root / folder / "json" for folder, _ in CORD_SAMPLE_SPLITS if not (root / folder / "json").is_dir()]
    if missing:
        raise CordSampleError(f"the CORD sample is not in this installation: {', '.join(map(str, missing))} is "
                              "missing; restore assets/cord-sample/ from the repository")
    existing = {d.name: d.documents for d in workspace.datasets()}
    results = []
    for folder, name in CORD_SAMPLE_SPLITS:
        if name in existing:
            results.append(SampleDataset(name=name, documents=existing[name], added=False))
            continue
        report = _with_sample_ids(load_dataset(root / folder, "cord"))
        stored = import_into_workspace(workspace, name, report)
        results.append(SampleDataset(name=name, documents=len(stored.documents), added=True,
                                     problems=stored.problems, twins_note=stored.twins_note))
    return tuple(results)


def _with_sample_ids(report: ImportReport) -> ImportReport:
    """The report with each ``cord-<file>`` id renamed ``cord-sample-<file>`` (its image, if any, follows)."""
    def sample_id(doc_id: str) -> str:
        return CORD_SAMPLE_ID_PREFIX + doc_id.removeprefix(CORD_ID_PREFIX)

    return make_report([dataclasses.replace(doc, id=sample_id(doc.id)) for doc in report.documents],
                       {sample_id(doc_id): image for doc_id, image in report.images.items()}, report.problems)
