"""A stored receipt's image as the browser gets it, made once per image and kept by Streamlit's cache.

Annotate redraws its receipt on every key press; each redraw decoded the stored photo, scaled it and encoded it
for the figure again (a probe's 4000×6000 photo: 1.7–2.8 s per press). The display copy (at most
``plots.figures.MAX_IMAGE_SIDE`` on a side, a JPEG data URI) depends only on the image's content hash, so it is
made once; the full image is still decoded where its pixels are read (OCR of a drawn region).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.images import load_image
from receipt_core.plots.figures import display_source
from receipt_core.workspace.images import DamagedImageError, read_stored_image
from receipt_core.workspace.store import Workspace

DISPLAY_COPIES = 32  # display copies kept (about 0.1–0.4 MB each), across sessions
NO_IMAGE_NOTE = "This receipt has no image (imported words and boxes only): drawn on a blank page."
MISSING_IMAGE_NOTE = ("This receipt's image file is missing from the workspace's images folder: drawn on a blank "
                      "page. Upload or import the image again to bring it back.")
CHANGED_IMAGE_NOTE = ("This receipt's image file was changed on disk (its bytes are not the image the receipt was "
                      "stored with): drawn on a blank page rather than under the wrong picture. Upload or import the "
                      "image again to repair it.")


@dataclass(frozen=True)
class ReceiptPicture:
    """What a receipt's figure is drawn over."""

    source: str | None  # the display copy as a data URI; None: a blank page
    note: str | None = None  # why there is no picture, for the user (a receipt with an image says nothing)


def receipt_picture(workspace: Workspace, doc: Document) -> ReceiptPicture:
    """The document's image for its figure, or a blank page and why: a receipt imported without pixels, or one
    whose file is gone or was changed on disk (a probe's replaced file drew the boxes over another photo, and a
    deleted one drew a blank page without a word)."""
    if doc.image_sha256 is None:
        return ReceiptPicture(None, NO_IMAGE_NOTE)
    path = workspace.image_path(doc.image_sha256)
    if path is None:
        return ReceiptPicture(None, MISSING_IMAGE_NOTE)
    try:
        stat = path.stat()
        return ReceiptPicture(_display_copy(str(path), stat.st_mtime_ns, stat.st_size))
    except FileNotFoundError:  # pruned or deleted between the two calls
        return ReceiptPicture(None, MISSING_IMAGE_NOTE)
    except DamagedImageError:
        return ReceiptPicture(None, CHANGED_IMAGE_NOTE)


def receipt_display_image(workspace: Workspace, doc: Document) -> str | None:
    """:func:`receipt_picture`'s data URI alone, where the figure is small and its note would be noise."""
    return receipt_picture(workspace, doc).source


@st.cache_data(max_entries=DISPLAY_COPIES, show_spinner=False)
def _display_copy(path: str, modified_ns: int, size: int) -> str:
    """The display copy of the stored image at ``path``, its bytes checked against the hash it is named by once
    per version of the file (``modified_ns`` and ``size`` are the cache's key, not read here)."""
    file = Path(path)
    return display_source(load_image(read_stored_image(file), file.name).image)
