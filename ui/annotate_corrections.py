"""Corrections on the Annotate page: the selected word's text, split, merge with the next, delete; in a box drawn
on the receipt (Box select) or typed, a word the OCR missed, or the region read again with OCR
(ui/annotate_region.py). The rules live in receipt_core.data.corrections and the workspace keeps each one undoable;
this only wires the widgets."""

from __future__ import annotations

import streamlit as st

from receipt_core.data.document import Document
from ui.annotate_region import DRAWN_BOX_KEY, drawn_box, no_box_reason, reread_button, typed_box
from ui.annotate_state import act, say, view_version
from ui.shared import field_row

TITLE = "Corrections (text, delete, split, merge, add a word) · read a region again with OCR"


def corrections(doc: Document, index: int | None) -> None:
    """Fix what the OCR read: the selected word's text, delete, split, merge with the next; in a box, add a missed
    word or read the region again."""
    with st.expander(TITLE):
        version = view_version(doc)
        if index is not None:
            word = doc.words[index]
            text_key = f"annotate_text_{doc.id}_{index}_{version}"
            # a form, whose first button Enter presses: typed and Enter read as saved, and was not (walkthrough 38)
            with st.form(f"annotate_text_form_{doc.id}_{index}_{version}", border=False):
                st.text_input("Text of the selected word", value=word.text, key=text_key,
                              help="Enter saves it, as Save text does")
                # a row that wraps, each button as wide as its label: in columns the editor's narrow column cut
                # them ("Split at s…", "Merge wit…" at 1024 px, a walkthrough)
                row = st.container(horizontal=True, gap="small")
                seen = doc.word_layout  # the words as shown: after another session's change refused, not misplaced
                row.form_submit_button("Save text", key="annotate_save_text", on_click=act, args=(
                    doc, lambda ws: ws.edit_word_text(doc.id, index, st.session_state[text_key], seen=seen)))
                row.form_submit_button("Split at spaces", key="annotate_split", on_click=act,
                                       args=(doc, lambda ws: ws.split_word(doc.id, index,
                                                                           st.session_state[text_key].split(),
                                                                           seen=seen)),
                                       help="Type the parts separated by spaces in the text box first")
                ends_line = index + 1 >= len(doc.words) or doc.words[index + 1].line_id != word.line_id
                row.form_submit_button("Merge with next", key="annotate_merge", disabled=ends_line,
                                       on_click=act, args=(doc, lambda ws: ws.merge_with_next(doc.id, index,
                                                                                             seen=seen)),
                                       help="The last word of its line: only words of one line merge" if ends_line
                                       else "This word and the next one on its line, as one word")
                row.form_submit_button("Delete word", key="annotate_delete", on_click=act,
                                       args=(doc, lambda ws: ws.delete_word(doc.id, index, seen=seen)))
        # the page's size beside the corners: walkthrough 47 typed a box past its edge with nothing to go by
        st.markdown(f"**A box on the receipt**: drag over it with *Box select* (the chart's toolbar), or type it "
                    f"(the page is {doc.width}×{doc.height} pixels)")
        drawn = drawn_box(doc.id) or (0.0, 0.0, 0.0, 0.0)
        cols = field_row(4, width=110)  # two by two in the editor's column, four across where there is room
        box_keys = [f"annotate_new_{name}_{doc.id}_{version}_{drawn}" for name in ("x0", "y0", "x1", "y1")]
        for i, name in enumerate(("x0", "y0", "x1", "y1")):
            cols[i].number_input(name, value=float(round(drawn[i])), min_value=0.0, step=1.0, key=box_keys[i],
                                 help=f"Page pixels, from the top-left corner (0 to {doc.width} across, 0 to "
                                      f"{doc.height} down)")
        st.markdown("**Add a word the OCR missed** in the box")
        new_text_key = f"annotate_new_text_{doc.id}_{version}"
        # after a region's re-read the box is 0,0,0,0: a press was refused (a walkthrough)
        reason = no_box_reason(box_keys, "the missed word")
        # a form, so the text typed and the press are one action, and Enter presses it: the button was greyed out
        # until the text was applied, so the first click after typing did nothing (walkthrough 44)
        with st.form(f"annotate_add_form_{doc.id}_{version}", border=False):
            st.text_input("Its text", key=new_text_key, help="Enter adds it, as Add word does")
            st.form_submit_button("Add word", key="annotate_add_word", on_click=_add,
                                  args=(doc, new_text_key, box_keys), disabled=reason is not None,
                                  help=reason or "Adds the text as a word in the box")
        if reason:
            st.caption(reason)
        st.markdown("**Or read the box again with OCR**: the words whose centre lies in it are replaced by what "
                    "Tesseract reads there alone")
        reread_button(doc, box_keys)


def _add(doc: Document, text_key: str, box_keys: list[str]) -> None:
    typed = st.session_state.get(text_key, "")
    if not (isinstance(typed, str) and typed.strip()):
        say("Type the word's text first, then press Add word (or Enter).")
        return  # the box stays drawn
    st.session_state.pop(DRAWN_BOX_KEY, None)
    act(doc, lambda ws: ws.add_word(doc.id, typed, typed_box(box_keys)))
