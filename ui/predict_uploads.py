"""Predict's uploads read once per session: OCR'd and decoded when the files change, not on every rerun.

A slider, an overlay switch or a download reruns the page; before this, each rerun decoded every uploaded photo
again (a probe's twelve 36-megapixel photos: 2–8 s per click, and the server's memory climbing by gigabytes).
The session keeps the last upload's results only, replaced when the files change, and of each photo only its
display copy (``plots.figures.display_source``), not its decoded pixels.
"""

from __future__ import annotations

import hashlib

import streamlit as st

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
    results = ocr_many(list(named.items()), workers=min(len(named), 2), cache=OcrCache(workspace.ocr_cache_dir))
    read = [(result, None if result.error is not None else display_source(load_image(named[result.name]).image))
            for result in results]  # one photo decoded at a time, and let go once its copy is made
    st.session_state[READ_KEY] = (key, read)
    return read
