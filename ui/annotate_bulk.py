"""Label every word inside a box drawn with Box select at once, as Label Studio labels a multi-selection
(walkthrough 29 dragged over six words and could only add a word or read the box again with OCR)."""

from __future__ import annotations

from typing import Sequence

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.schema import DEFAULT_SCHEMA
from receipt_core.wording import counted
from ui.annotate_region import DRAWN_BOX_KEY
from ui.annotate_state import TOAST_KEY, act
from ui.literal import literal

BULK_LABEL_KEY = "annotate_bulk_label"


def words_inside(doc: Document, box: Sequence[float]) -> list[int]:
    """The indices of ``doc``'s words whose centre lies inside ``box`` (x0, y0, x1, y1, page pixels)."""
    x0, y0, x1, y1 = box
    return [i for i, word in enumerate(doc.words) if x0 <= word.center[0] <= x1 and y0 <= word.center[1] <= y1]


def box_drawn_news(doc: Document, box: Sequence[float], replaced: bool = False) -> str:
    """A toast for a box just drawn: its controls sit under the receipt, off screen at 1366 px (walkthrough 30).
    ``replaced``: it took the place of a box drawn before, which is said (one box at a time: walkthrough 39 drew a
    second and lost the first unsaid)."""
    inside = len(words_inside(doc, box))
    # a receipt without pixels cannot be read again (walkthrough 48 was offered it); Corrections is in the word panel
    empty = ("Box drawn: read it again with OCR under the receipt, or add a word in it under Corrections (the word "
             "panel)" if doc.image_sha256 else "Box drawn: add a word in it under Corrections (the word panel)")
    news = f"Box drawn over {counted(inside, 'word')}: label them at once under the receipt" if inside else empty
    return news + (" (it replaces the box drawn before: one box at a time)" if replaced else "")


def bulk_label(doc: Document, box: Sequence[float]) -> None:
    """The label picker and button for the words inside ``box``; draws nothing when the box holds none."""
    inside = words_inside(doc, box)
    if not inside:
        return
    shown = ", ".join(doc.words[i].text for i in inside[:6]) + (", …" if len(inside) > 6 else "")
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    label = left.selectbox(f"Label the {counted(len(inside), 'word')} inside it as", DEFAULT_SCHEMA.annotation_labels,
                           index=None, placeholder="choose a label", key=f"{BULK_LABEL_KEY}_{doc.id}",
                           help=f"Every word whose centre is inside the box: {literal(shown, limit=120)}. One change: "
                                "Undo last change takes it back")
    right.button(f"Label {counted(len(inside), 'word')}", key="annotate_bulk_apply", disabled=label is None,
                 on_click=_apply, args=(doc, inside, label),  # greyed with no word why read as broken (walk 41)
                 help="Choose the label beside it first" if label is None else None)


def _apply(doc: Document, indices: list[int], label: str | None) -> None:
    if label is None:
        return
    labelled = []

    def change(ws):
        result = ws.update_words(doc.id, indices, label, seen=doc.word_layout, seen_labels=doc.word_labels)
        labelled.append(len(result.changes))
        return result

    act(doc, change)
    if labelled:  # saved: the box has done its work
        st.session_state.pop(DRAWN_BOX_KEY, None)
        st.session_state[TOAST_KEY] = (f"{counted(labelled[0], 'word')} labelled {label}"
                                       + (" (Undo last change takes them back)" if labelled[0] else ""))
