"""Read a region of the receipt again with OCR, on the Annotate page: the box drawn with Box select (or typed) is
cropped from the receipt's image and read by Tesseract alone (:func:`receipt_core.ocr.region.read_region`), and the
words read replace the words whose centre lies in the box, as one undoable correction
(:meth:`~receipt_core.workspace.annotations.AnnotationStore.replace_region`). Tesseract runs in the button's
callback, before the write, in the script's own thread.
"""

from __future__ import annotations

import statistics

import streamlit as st

from receipt_core.data.corrections import region_text
from receipt_core.data.document import Document, Word
from receipt_core.ocr.region import read_region
from receipt_core.wording import as_sentence
from ui.actions import document_image
from ui.annotate_state import NOTICE_KEY, TOAST_KEY, act, say, word_key
from ui.literal import notice_markdown
from ui.shared import friendly, workspace

DRAWN_BOX_KEY = "annotate_drawn_box"  # (receipt id, box drawn with Box select, page pixels): ui/annotate_editor.py


def drawn_box(doc_id: str) -> tuple[float, float, float, float] | None:
    """The box drawn with Box select on receipt ``doc_id``, else None: a box drawn on another receipt is not this
    one's (probe 32 drew a box on one receipt, pressed Next, and was offered to label the next receipt's words)."""
    stored = st.session_state.get(DRAWN_BOX_KEY)
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == doc_id):
        return None
    return stored[1]


def keep_drawn_box(doc_id: str, box: tuple[float, float, float, float]) -> None:
    """Remember ``box`` as drawn on receipt ``doc_id`` (one box at a time, for the receipt it was drawn on)."""
    st.session_state[DRAWN_BOX_KEY] = (doc_id, box)


REREAD_KEY = "annotate_reread"


def typed_box(box_keys: list[str]) -> list[float]:
    """The box of ``box_keys`` (the x0, y0, x1, y1 number inputs) in page pixels, 0 for a corner not set; corners
    typed the other way round are taken as the same box (probe 41 typed 300, 300, 100, 100 and was told to draw
    one)."""
    x0, y0, x1, y1 = (float(st.session_state.get(key) or 0.0) for key in box_keys)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def no_box_reason(box_keys: list[str], what: str) -> str | None:
    """Why a button needing the box of ``box_keys`` is off: none drawn or typed yet (0,0,0,0 after a re-read), or
    one without area; ``what`` says what to draw it over. None when the box has an area."""
    x0, y0, x1, y1 = typed_box(box_keys)
    if not any((x0, y0, x1, y1)):
        return (f"Draw a box over {what} first: switch Draw boxes on and drag over it (or type its corners "
                "above).")
    if x1 <= x0 or y1 <= y0:
        return f"The box typed above has no area ({'x0 and x1' if x1 <= x0 else 'y0 and y1'} are equal): widen it."
    return None


def unreadable_reason(doc: Document) -> str | None:
    """Why ``doc`` has no region to read again (no image, or its image is gone), or None."""
    if not doc.has_image:
        return "This receipt has no image (imported words and boxes only): there are no pixels to read again."
    if workspace().image_path(doc.image_sha256) is None:
        return "This receipt's image is no longer in the workspace: upload the photo again to read it."
    return None


def reread_button(doc: Document, box_keys: list[str]) -> None:
    """The button that reads the box of ``box_keys`` (x0, y0, x1, y1 number inputs) again; disabled, with the
    reason said, when the receipt has no image or no box is drawn yet."""
    # without a box a press read "the region (x 0–0, y 0–0)" (a browser check)
    reason = unreadable_reason(doc) or no_box_reason(box_keys, "the words")
    st.button("Read this region again with OCR", key=REREAD_KEY, disabled=reason is not None, on_click=_reread,
              args=(doc, box_keys), help=reason or "Tesseract reads the box alone (upscaled, as one line or one "
                                                  "block); its words replace those whose centre lies in the box. "
                                                  "Undo last change puts them back.")
    if reason:
        st.caption(reason)


def read_box(doc: Document, box: list[float]) -> tuple[Word, ...]:
    """The words Tesseract reads in ``box`` (page pixels) of ``doc``'s image; the receipt's typical word height
    tells one line from a block."""
    image = document_image(workspace(), doc)
    if image is None:
        raise ValueError(unreadable_reason(doc) or "this receipt has no image to read")
    heights = [w.box[3] - w.box[1] for w in doc.words if w.box[3] > w.box[1]]
    return read_region(image, box, page_size=(doc.width, doc.height),
                       line_height=statistics.median(heights) if heights else None)


def reread_drawn_button(doc: Document, box: tuple[float, float, float, float]) -> None:
    """Under the receipt, beside the box just drawn: read that box again with OCR (walkthrough 38 scrolled past
    the key list into Corrections, 950 px down, for the button there). The caller draws it only on a receipt with
    pixels (walkthrough 42 met it greyed out, unexplained)."""
    st.button("Read this box again with OCR", key="annotate_reread_drawn", on_click=_reread_region,
              args=(doc, list(box)), help="Its words are replaced by what Tesseract reads in the box alone; Undo "
                                          "last change puts them back")


def _reread(doc: Document, box_keys: list[str]) -> None:
    _reread_region(doc, typed_box(box_keys))


def _reread_region(doc: Document, box: list[float]) -> None:
    shown = f"({region_text(box)})"
    try:
        words = read_box(doc, box)
    except Exception as error:  # noqa: BLE001 - shown on the page, the editor stays usable
        say(f"Could not read the region {shown} again: {friendly(error)}")
        return
    if not words:
        st.session_state[NOTICE_KEY] = (f"Tesseract read nothing in the region {shown}: nothing changed. Draw the "
                                        "box a little larger around the words, or add them one by one.")
        return

    selected = st.session_state.get(word_key(doc.id))

    def replace(ws):
        correction = ws.replace_region(doc.id, box, words)
        summary = as_sentence(correction.summary)
        st.session_state[NOTICE_KEY] = f"{summary}. Undo last change puts the old words back."
        st.session_state[TOAST_KEY] = notice_markdown(st.session_state[NOTICE_KEY])  # said where the eye is
        st.session_state.pop(DRAWN_BOX_KEY, None)
        if isinstance(selected, int) and 0 <= selected < len(doc.words):  # the same word stays selected: its index
            kept = correction.document.words  # moved with the words read before it (a walkthrough then edited
            was = doc.words[selected]  # the word after the one it had selected)
            st.session_state[word_key(doc.id)] = next((i for i, w in enumerate(kept) if w == was),
                                                      min(selected, len(kept) - 1))
        return correction

    act(doc, replace)
