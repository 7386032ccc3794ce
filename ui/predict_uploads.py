"""Predict's uploads read once per session: each photo OCR'd and decoded when first uploaded, not on every rerun.

A slider, an overlay switch or a download reruns the page; before this, each rerun decoded every uploaded photo
again (a probe's twelve 36-megapixel photos: 2–8 s per click, and the server's memory climbing by gigabytes).
The session keeps the results of the photos uploaded now only, and of each photo only its display copy
(``plots.figures.display_source``), not its decoded pixels. And what the workspace already knows of an uploaded
photo: its labels, if it is a stored receipt (``stored_labels_note``).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any, Mapping, Sequence

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.files import distinct_names
from receipt_core.data.images import load_image
from receipt_core.ocr.engine import OcrCache, OcrResult, ocr_many
from receipt_core.plots.figures import display_source
from receipt_core.training.run_documents import train_ids
from receipt_core.wording import counted
from receipt_core.workspace.store import Workspace
from ui.literal import literal

READ_KEY = "predict_read_uploads"  # sha256 -> (OcrResult, display copy) of each photo uploaded now
UPLOAD_KEY = "predict_upload"  # the file uploader
KEPT_KEY = "predict_kept_uploads"  # name -> bytes of the photos uploaded, kept across a visit to another page
MAX_KEPT_BYTES = 64 * 1024 * 1024  # photos larger in all are not kept past the page: a session holds them


def uploads_shown(uploads) -> tuple[dict[str, bytes], bool]:
    """The photos Predict reads (name -> bytes), and whether they are the ones kept from before a visit to another
    page: Streamlit empties the upload field when the page is left, and a presenter who looked at Runs mid-demo had
    to upload and wait again (a walkthrough). Those uploaded now replace the kept ones; uploads of more than
    :data:`MAX_KEPT_BYTES` in all are not kept."""
    if uploads:
        named = dict(zip(distinct_names(u.name for u in uploads), (u.getvalue() for u in uploads)))
        if _total_bytes(named) <= MAX_KEPT_BYTES:
            st.session_state[KEPT_KEY] = named
        else:  # twenty 40 MB photos held for the session after the page is left: not kept
            st.session_state.pop(KEPT_KEY, None)
        return named, False
    kept = st.session_state.get(KEPT_KEY)
    return (dict(kept), True) if isinstance(kept, dict) and kept else ({}, False)


def not_kept_note(named: dict[str, bytes]) -> str | None:
    """What to say when the photos uploaded now are too large in all to be kept past the page: without it, a
    presenter who went to Runs came back to an empty page, unwarned."""
    size = _total_bytes(named)
    if size <= MAX_KEPT_BYTES:
        return None
    return (f"These photos ({size / 2**20:.0f} MB in all) are more than Predict keeps when you go to another page "
            f"({MAX_KEPT_BYTES // 2**20} MB): after a visit to another page, upload them again.")


def _total_bytes(named: dict[str, bytes]) -> int:
    return sum(len(data) for data in named.values())


def forget_kept_uploads() -> None:
    """The upload field's on_change and the Clear button: photos removed from the field (its x) are not brought
    back."""
    if not st.session_state.get(UPLOAD_KEY):
        st.session_state.pop(KEPT_KEY, None)


def read_uploads(workspace: Workspace, named: dict[str, bytes]) -> list[tuple[OcrResult, str | None]]:
    """``ocr_many`` over the uploads (name -> bytes), each result with its photo's display copy (None for a file
    that failed). A photo already read in this session is not read again, and the same photo uploaded twice is read
    once: adding one photo to six re-read all seven (13 s), and three copies of one photo were read three times (a
    walkthrough). The session keeps the photos uploaded now, and lets the others go."""
    shas = {name: hashlib.sha256(data).hexdigest() for name, data in named.items()}
    held = st.session_state.get(READ_KEY)
    kept = {sha: held[sha] for sha in set(shas.values()) if isinstance(held, dict) and sha in held}
    to_read: dict[str, str] = {}  # sha256 -> the first upload's name with those bytes
    for name, sha in shas.items():
        if sha not in kept:
            to_read.setdefault(sha, name)
    st.session_state[READ_KEY] = kept  # the photos no longer uploaded go before new ones are decoded
    if to_read:
        # the workspace's OCR of a receipt it holds is read, but a photo uploaded only to be predicted leaves nothing
        # behind: a probe re-imported a Predict upload's words from the cache as a dataset anyone could browse
        cache = OcrCache(workspace.ocr_cache_dir, writes=False)
        with st.spinner(f"Reading {counted(len(to_read), 'receipt')} with Tesseract…"):
            results = ocr_many([(name, named[name]) for name in to_read.values()], workers=min(len(to_read), 2),
                               cache=cache)
        for sha, result in zip(to_read, results):  # one photo decoded at a time, let go once its copy is made
            copy = None if result.error is not None else display_source(load_image(named[result.name]).image)
            kept[sha] = (result, copy)
        st.session_state[READ_KEY] = kept
    firsts: dict[str, str] = {}  # sha256 -> the first upload's name with those bytes: a copy is shown once
    for name, sha in shas.items():
        firsts.setdefault(sha, name)
    return [_named(*kept[sha], name) for sha, name in firsts.items()]


def same_image_note(named: dict[str, bytes]) -> str | None:
    """Which uploads are the same image as one before them (read and shown once, under the first name), else None: a
    probe's four copies of one photo were listed four times, each item four times in the CSV, unsaid."""
    firsts: dict[str, str] = {}
    copies = []
    for name, data in named.items():
        first = firsts.setdefault(hashlib.sha256(data).hexdigest(), name)
        if first != name:
            copies.append(f"{literal(name)} (as {literal(first)})")
    if not copies:
        return None
    return (f"{counted(len(copies), 'upload')} {'is the same image' if len(copies) == 1 else 'are the same images'} "
            f"as one uploaded before, shown once under its first name: {', '.join(copies)}.")


def _named(result: OcrResult, copy: str | None, name: str) -> tuple[OcrResult, str | None]:
    """A photo's reading under the name it is uploaded as now (its bytes were read under another)."""
    if result.name == name:
        return result, copy
    if result.error is not None:  # the error quotes the name as repr() writes it: escapes and all (a probe's
        # "y.png" was reported as "'x\u202e.png' is not an image …")
        error = result.error.replace(repr(result.name), repr(name), 1)
        return replace(result, name=name, error=error if error != result.error else error.replace(
            result.name, name, 1)), copy
    return replace(result, name=name, document=replace(result.document, source=name)), copy


def held_receipts(workspace: Workspace, doc: Document) -> dict[str, str]:
    """The workspace's receipts ``doc`` is (its id, or for an upload the image it was read from), each with its
    dataset."""
    return workspace.datasets_of([doc.id]) or (
        workspace.receipts_with_image(doc.image_sha256) if doc.image_sha256 else {})


def trained_on_note(workspace: Workspace, doc: Document, config: Mapping[str, Any], scored_ids: Sequence[str],
                    dataset: str | None = None, upload: bool = False) -> str | None:
    """A note when the run of ``config`` trained on ``doc`` (picked from the workspace, or an upload of a stored
    receipt's photo): its answers there show what it learned, not how it does on receipts it has not seen, and
    where receipts it was scored on (``scored_ids``) are, beside the sidebar's ``dataset``. A walkthrough read
    0.99 confidences off a receipt it had trained on; walkthrough 65 uploaded the photo it had corrected and
    trained on and took the clean items for proof that retraining worked."""
    if not set(held_receipts(workspace, doc)) & set(train_ids(config)):
        return None
    scored_in = sorted(set(workspace.datasets_of(scored_ids).values()) - {dataset})
    where = (f"choose {' or '.join(literal(name) for name in scored_in[:3])} under Dataset in the sidebar for "
             "receipts it was scored on" if scored_in else "pick a receipt it was scored on")
    what = "the receipt stored from this photo" if upload else "this receipt"
    return (f"The run trained on {what}: what it predicts here shows what it learned, not how it does on receipts "
            f"it has not seen ({where}).")


def stored_labels_note(workspace: Workspace, doc: Document) -> str | None:
    """A note when ``doc`` (a prediction's receipt: an upload is known by its image's hash) is a receipt of the
    workspace with words labelled by a person or an import: the items shown are the run's reading, not those labels.
    A walkthrough labelled a photo on Annotate, uploaded it to Predict and found header lines as items, with
    nothing to say the two pages answer different questions."""
    for doc_id, dataset in held_receipts(workspace, doc).items():
        stored = workspace.get_document(doc_id)
        labelled = sum(1 for word in stored.words if word.label_source is not None)
        if labelled:
            return _labels_note(doc_id, dataset, labelled, len(stored.words), photo=doc.image_sha256 is not None)
    return None


def _labels_note(doc_id: str, dataset: str, labelled: int, words: int, photo: bool) -> str:
    # a receipt imported without pixels (CORD) is words and boxes: "this photo" named none (a walkthrough)
    what, where = ("This photo", "in the photo") if photo else ("This", "in the receipt's words")
    have = "has a label" if labelled == 1 else "have labels"  # "1 of its 258 words have labels" (walkthrough 63)
    return (f"{what} is receipt {doc_id!r} of dataset {dataset!r}, where {labelled} of its {words} "
            f"words {have} (from a person, an import or an accepted suggestion). The items here are what the run "
            f"reads {where}, not those labels: Annotate shows them, with the suggestions of this run beside "
            "them.")
