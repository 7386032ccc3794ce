"""A stored receipt's image as the browser gets it, made once per image and kept by Streamlit's cache.

Annotate redraws its receipt on every key press; each redraw decoded the stored photo, scaled it and encoded it
for the figure again (a probe's 4000×6000 photo: 1.7–2.8 s per press). The display copy (at most
``plots.figures.MAX_IMAGE_SIDE`` on a side, a JPEG data URI) depends only on the image's content hash, so it is
made once; the full image is still decoded where its pixels are read (OCR of a drawn region).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.plots.figures import display_source
from receipt_core.workspace.store import Workspace

DISPLAY_COPIES = 32  # display copies kept (about 0.1–0.4 MB each), across sessions


def receipt_display_image(workspace: Workspace, doc: Document) -> str | None:
    """The document's image as a data URI for its figure, or None for a document without pixels."""
    path = workspace.image_path(doc.image_sha256) if doc.image_sha256 is not None else None
    return _display_copy(str(path)) if path is not None else None


@st.cache_data(max_entries=DISPLAY_COPIES, show_spinner=False)
def _display_copy(path: str) -> str:
    """The display copy of the stored image at ``path`` (named by its content hash: one path, one content)."""
    file = Path(path)
    return display_source(load_image(file.read_bytes(), file.name).image)
