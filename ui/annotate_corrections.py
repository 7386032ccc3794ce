"""Corrections on the Annotate page: the selected word's text, split, merge with the next, delete; a word the OCR
missed, with its box drawn on the receipt (Box select) or typed. The rules live in receipt_core.data.corrections
and the workspace keeps each one undoable; this only wires the widgets."""

from __future__ import annotations

import streamlit as st

from receipt_core.data.document import Document
from ui.annotate_state import act, version_key


def corrections(doc: Document, index: int | None) -> None:
    """Fix what the OCR read: the selected word's text, delete, split, merge with the next; add a missed word."""
    with st.expander("Corrections (text, delete, split, merge, add a word)"):
        version = st.session_state.get(version_key(doc.id), 0)
        if index is not None:
            word = doc.words[index]
            text_key = f"annotate_text_{doc.id}_{index}_{version}"
            st.text_input("Text of the selected word", value=word.text, key=text_key)
            a, b, c, d = st.columns(4)
            a.button("Save text", key="annotate_save_text", width="stretch", on_click=act,
                     args=(doc, lambda ws: ws.edit_word_text(doc.id, index, st.session_state[text_key])))
            b.button("Split at spaces", key="annotate_split", width="stretch", on_click=act,
                     args=(doc, lambda ws: ws.split_word(doc.id, index, st.session_state[text_key].split())),
                     help="Type the parts separated by spaces in the text box first")
            c.button("Merge with next", key="annotate_merge", width="stretch", disabled=index + 1 >= len(doc.words),
                     on_click=act, args=(doc, lambda ws: ws.merge_with_next(doc.id, index)))
            d.button("Delete word", key="annotate_delete", width="stretch", on_click=act,
                     args=(doc, lambda ws: ws.delete_word(doc.id, index)))
        st.markdown("**Add a word the OCR missed**")
        drawn = st.session_state.get("annotate_drawn_box") or (0.0, 0.0, 0.0, 0.0)
        new_text_key = f"annotate_new_text_{doc.id}_{version}"
        st.text_input("Its text", key=new_text_key)
        cols = st.columns(4)
        box_keys = [f"annotate_new_{name}_{doc.id}_{version}_{drawn}" for name in ("x0", "y0", "x1", "y1")]
        for i, name in enumerate(("x0", "y0", "x1", "y1")):
            cols[i].number_input(name, value=float(round(drawn[i])), min_value=0.0, step=1.0, key=box_keys[i],
                                 help="Page pixels, from the top-left corner")
        st.button("Add word", key="annotate_add_word", on_click=_add, args=(doc, new_text_key, box_keys))


def _add(doc: Document, text_key: str, box_keys: list[str]) -> None:
    st.session_state.pop("annotate_drawn_box", None)
    act(doc, lambda ws: ws.add_word(doc.id, st.session_state.get(text_key, ""),
                                     [st.session_state[k] for k in box_keys]))
