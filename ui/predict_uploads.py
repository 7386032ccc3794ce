"""Predict's uploads read once per session: OCR'd and decoded when the files change, not on every rerun.

A slider, an overlay switch or a download reruns the page; before this, each rerun decoded every uploaded photo
again (a probe's twelve 36-megapixel photos: 2–8 s per click, and the server's memory climbing by gigabytes).
The session keeps the last upload's results only, replaced when the files change, and of each photo only its
display copy (``plots.figures.display_source``), not its decoded pixels. And what the workspace already knows of an
uploaded photo: its labels, if it is a stored receipt (``stored_labels_note``).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.ocr.engine import OcrCache, OcrResult, ocr_many
from receipt_core.plots.figures import display_source
from receipt_core.workspace.store import Workspace

READ_KEY = "predict_read_uploads"  # ((name, sha256) of each upload, [(OcrResult, display copy)]) of the last read


def read_uploads(workspace: Workspace, named: dict[str, bytes]) -> list[tuple[OcrResult, str | None]]:
    """``ocr_many`` over the uploads (name -> bytes), each result with its photo's display copy (None for a file
    that failed); reused while the same files, under the same names, stay uploaded."""
    key = tuple((name, hashlib.sha256(data).hexdigest()) for name, data in named.items())
    kept = st.session_state.get(READ_KEY)
    if kept is not None and kept[0] == key:
        return kept[1]
    st.session_state.pop(READ_KEY, None)  # the old photos go before the new ones are decoded
    # the workspace's OCR of a receipt it holds is read, but a photo uploaded only to be predicted leaves nothing
    # behind: a probe re-imported a Predict upload's words from the cache as a dataset anyone could browse
    cache = OcrCache(workspace.ocr_cache_dir, writes=False)
    results = ocr_many(list(named.items()), workers=min(len(named), 2), cache=cache)
    read = [(result, None if result.error is not None else display_source(load_image(named[result.name]).image))
            for result in results]  # one photo decoded at a time, and let go once its copy is made
    st.session_state[READ_KEY] = (key, read)
    return read


def stored_labels_note(workspace: Workspace, doc: Document) -> str | None:
    """A note when ``doc`` (a prediction's receipt: an upload is known by its image's hash) is a receipt of the
    workspace with words labelled by a person or an import: the items shown are the run's reading, not those labels.
    A walkthrough labelled a photo on Annotate, uploaded it to Predict and found header lines as items, with
    nothing to say the two pages answer different questions."""
    held = workspace.datasets_of([doc.id]) or (
        workspace.receipts_with_image(doc.image_sha256) if doc.image_sha256 else {})
    for doc_id, dataset in held.items():
        stored = workspace.get_document(doc_id)
        labelled = sum(1 for word in stored.words if word.label_source is not None)
        if labelled:
            return _labels_note(doc_id, dataset, labelled, len(stored.words), photo=doc.image_sha256 is not None)
    return None


def _labels_note(doc_id: str, dataset: str, labelled: int, words: int, photo: bool) -> str:
    # a receipt imported without pixels (CORD) is words and boxes: "this photo" named none (a walkthrough)
    what, where = ("This photo", "in the photo") if photo else ("This", "in the receipt's words")
    return (f"{what} is receipt {doc_id!r} of dataset {dataset!r}, where {labelled} of its {words} "
            "words have labels (from a person, an import or an accepted suggestion). The items here are what the run "
            f"reads {where}, not those labels: Annotate shows them, with the suggestions of this run beside "
            "them.")
