"""Undo and Redo on the Annotate page: the buttons under the receipt's suggestions and what a press does (the
``z``/``y`` keys go through :mod:`ui.annotate_keys`). The history itself is the workspace's, per receipt."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from receipt_core.data.document import Document
from ui.annotate_state import (NOTICE_KEY, TOAST_KEY, bump, done_mark_to_take_back, say, take_back_instead,
                               word_key)
from ui.literal import notice_markdown
from ui.shared import friendly, workspace


def undo_redo_row(doc: Document, seen_action: int | None, on_done: Callable[[str], None]) -> None:
    """The Undo and Redo buttons of receipt ``doc`` as the page drew it (``seen_action``: its latest change then);
    ``on_done`` follows a step that puts a done mark back."""
    row = st.container(horizontal=True)
    nothing = seen_action is None and not done_mark_to_take_back(doc.id)  # greyed out as Redo is (probe 39)
    row.button("Undo last change", key="annotate_undo", icon=":material/undo:", on_click=_history_step,
               args=(doc, seen_action, False, on_done), width="content", disabled=nothing,
               help="Nothing on this receipt to undo" if nothing else None)
    row.button("Redo", key="annotate_redo", icon=":material/redo:", on_click=_history_step,
               args=(doc, seen_action, True, on_done), width="content", disabled=not workspace().can_redo(doc.id),
               help="Do again the change Undo took back (until a new change is made)")


def _history_step(doc: Document, seen_action: int | None, redo: bool, on_done: Callable[[str], None]) -> None:
    """Undo the receipt's latest change, or redo what Undo took back, only when the latest change is the one the
    page showed (``seen_action``). One that puts the done mark back is followed by ``on_done``, as Mark done is (a
    probe's Redo re-marked a receipt done with no warning and no retraining). Undo right after a receipt marked done
    left the filtered list takes that mark back instead (:func:`take_back_instead`)."""
    if not redo and take_back_instead(doc.id):
        return
    try:
        step = workspace().redo if redo else workspace().undo
        done = step(doc.id, seen_action=seen_action)
    except Exception as error:  # noqa: BLE001 - shown on the page
        say(friendly(error))
        bump(doc.id)  # redraw from the receipt as it is now
        return
    nothing = "Nothing to redo on this receipt." if redo else "Nothing to undo on this receipt."
    st.session_state[NOTICE_KEY] = notice = nothing if done is None else done.describe()
    st.session_state[TOAST_KEY] = notice_markdown(notice)  # as z's: the line above sat below the fold (probe 35)
    if done is not None and (shown := done.word_to_show(len(doc.words))) is not None:
        st.session_state[word_key(doc.id)] = shown  # the word put back is the one shown
    if done is not None and done.marked_done:
        after_done_keeping_notice(doc.id, on_done)
    bump(doc.id)


def after_done_keeping_notice(doc_id: str, on_done: Callable[[str], None]) -> None:
    """``on_done(doc_id)``, with the notice already set (an undo's or redo's description) kept before the one
    ``on_done`` sets (the retraining's, or why it did not start): a probe saw only one of the two, the other
    overwritten."""
    before = st.session_state.pop(NOTICE_KEY, None)
    on_done(doc_id)
    after = st.session_state.get(NOTICE_KEY)
    if before:
        st.session_state[NOTICE_KEY] = f"{before} {after}" if after else before
