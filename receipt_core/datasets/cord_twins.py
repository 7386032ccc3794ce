"""The CORD receipts under their two namings: CORD's own import names a receipt ``cord-receipt_00003``, the CORD
sample that Home loads ``cord-sample-receipt_00003`` (so an import of the full CORD stays a dataset of its own).
Both name one receipt: a split that trains on one and evaluates on the other is told (``splits``), and an import
that stores a receipt the workspace holds under the other name says so (:func:`twins_note`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..workspace.store import Workspace

CORD_SAMPLE_ID_PREFIX = "cord-sample-"  # not CORD's own "cord-": an import of the full CORD keeps its documents
CORD_ID_PREFIX = "cord-"  # CORD's own ids, as the CORD importer names them


def twin_id(doc_id: str) -> str | None:
    """The id the same CORD receipt has in the other of the two namings (the sample's ``cord-sample-receipt_00003``,
    CORD's own ``cord-receipt_00003``), else None."""
    if doc_id.startswith(CORD_SAMPLE_ID_PREFIX):
        return CORD_ID_PREFIX + doc_id.removeprefix(CORD_SAMPLE_ID_PREFIX)
    if doc_id.startswith(CORD_ID_PREFIX):
        return CORD_SAMPLE_ID_PREFIX + doc_id.removeprefix(CORD_ID_PREFIX)
    return None


def same_receipt(doc_id: str) -> str:
    """One name per receipt whatever dataset holds it: CORD's own id for a receipt of the sample."""
    return twin_id(doc_id) or doc_id if doc_id.startswith(CORD_SAMPLE_ID_PREFIX) else doc_id


def twins_note(workspace: "Workspace", dataset: str, doc_ids: Sequence[str]) -> str | None:
    """What an import into ``dataset`` of ``doc_ids`` stored twice, else None: CORD receipts the workspace holds in
    another dataset under the other naming (walkthrough 51 loaded the sample on Home, then imported its folder on
    the command line, as the README shows: 200 receipts stored twice, unsaid)."""
    twins = {twin: doc_id for doc_id in doc_ids if (twin := twin_id(doc_id)) is not None}
    held = Counter(other for other in workspace.datasets_of(twins).values() if other != dataset)
    if not held:
        return None
    where = ", ".join(f"{count} in {name!r}" for name, count in held.most_common())
    total = sum(held.values())
    one = total == 1
    return (f"{total} of these receipts {'is' if one else 'are'} already in the workspace under "
            f"{'another id' if one else 'other ids'} ({where}): the CORD sample names a receipt cord-sample-…, CORD's "
            f"own import cord-…, so {'it is' if one else 'they are'} stored twice, and training on one dataset while "
            "evaluating on the other scores the model on receipts it trained on. Delete one of the two datasets to "
            "keep one copy")
