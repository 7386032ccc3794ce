"""The Annotate page's key presses: those the keyboard listener sends for the receipt shown, applied through
``annotate_keys.apply_keys``, and those typed after ``n``, ``b`` or ``d`` held for the receipt drawn next. What a
press belongs to is kept per session here (the receipt being left, the presses waiting for the next, the last press
handled)."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.schema import DEFAULT_SCHEMA
from receipt_core.workspace.database import NotFoundError
from receipt_core.wording import counted
from ui.annotate_history import after_done_keeping_notice
from ui.annotate_keys import ACTION_KEYS, UNDO, KeysView, apply_keys, fresh_presses, typed_here
from ui.annotate_model import chosen_run_suggester
from ui.annotate_state import (CAME_FROM_KEY, GO_NEXT_KEY, LEFT_DONE_KEY, NOTICE_KEY, TAKE_BACK_KEY, TOAST_KEY,
                               bump, follow_selected_word, say, selected_word, take_back_instead, word_key)
from ui.literal import notice_markdown
from ui.shared import workspace

KEYS_KEY = "annotate_keys"  # the keyboard component's key
LEAVING_KEY = "annotate_keys_leaving"  # the receipt "n" left, until the next one is drawn
WAITING_KEYS_KEY = "annotate_keys_waiting"  # presses typed after "n", for the receipt drawn next
KEYS_ACK_KEY = "annotate_keys_ack"  # the last key press handled, sent back to the keyboard component
KEYS_VIEW_KEY = "annotate_keys_view"  # the receipt as the key presses know it (ui/annotate_keys.KeysView)
DONE_BY_KEY_KEY = "annotate_done_by_key"  # a key (d, or z/y putting the mark back) marked this receipt done


def on_keys(doc: Document, seen_action: int | None, on_done: Callable[[str], None]) -> None:
    """Key presses from the listener (a callback: runs before the fragment redraws) on ``doc`` as shown. Presses
    after ``n``, until the next receipt is drawn, wait for it (:func:`keys_for_the_next_receipt`): a probe typing
    "n 5 5 5" lost some of them, and saved others on the receipt it had left."""
    drawn = st.session_state.get(KEYS_VIEW_KEY)
    if isinstance(drawn, KeysView) and drawn.doc_id != doc.id:  # the callback of a run that n's rerun cut short:
        # the receipt last drawn is the one shown (probe 66's six quick n moved two to five receipts on)
        try:
            doc, seen_action = workspace().get_document(drawn.doc_id), drawn.action
        except NotFoundError:
            pass  # deleted meanwhile: the presses are judged on the receipt the callback knew, which says so
    value = st.session_state.get(KEYS_KEY) or {}
    presses, ack = fresh_presses(value.get("keys") if hasattr(value, "get") else None,
                                 st.session_state.get(KEYS_ACK_KEY))
    st.session_state[KEYS_ACK_KEY] = ack
    if not presses:
        return
    if st.session_state.get(LEAVING_KEY) == doc.id:  # this receipt is being left: the presses are the next one's
        st.session_state.setdefault(WAITING_KEYS_KEY, []).extend(press.key for press in presses)
        return
    keys, elsewhere = typed_here(presses, doc.id, st.session_state.get(CAME_FROM_KEY))
    if elsewhere:  # typed on a receipt replaced before this one reached the screen (a done mark under a filter,
        were = "was" if len(elsewhere) == 1 else "were"  # another session's change): not put on this one (a probe)
        say(f"{counted(len(elsewhere), 'key press', 'key presses')} typed on receipt {elsewhere[0].view!r}, which "
            f"was replaced before this one was shown, {were} not applied.")
    if keys:
        _apply_presses(doc, seen_action, keys, on_done)


def keys_for_the_next_receipt(doc: Document, seen_action: int | None, on_done: Callable[[str], None]) -> None:
    """Apply the presses typed after ``n`` to ``doc``, the receipt now drawn (or, when ``n`` had no receipt to go
    to, the same one)."""
    st.session_state.pop(LEAVING_KEY, None)
    waiting = st.session_state.pop(WAITING_KEYS_KEY, [])
    typed_on = st.session_state.pop(DONE_BY_KEY_KEY, None)
    if waiting and typed_on is not None and typed_on != doc.id:  # d under a filter: the receipt left the list
        if ACTION_KEYS.get(waiting[0]) == UNDO and LEFT_DONE_KEY in st.session_state:  # "d z": the mark taken
            _apply_presses(doc, seen_action, waiting, on_done)  # back, the rest for that receipt (a probe)
            return
        were = "was" if len(waiting) == 1 else "were"
        say(f"{counted(len(waiting), 'key press', 'key presses')} typed after the done mark {were} not applied: "
            "the receipt marked done left this list, so they would have landed on this one before you saw it.")
        return
    if waiting:
        _apply_presses(doc, seen_action, waiting, on_done)


def _apply_presses(doc: Document, seen_action: int | None, keys: list[str], on_done: Callable[[str], None]) -> None:
    doc_id, words = doc.id, len(doc.words)
    if keys and ACTION_KEYS.get(keys[0]) == UNDO and take_back_instead(doc_id):
        # z right after a receipt marked done left the list: its mark, not this receipt's older change (a probe);
        # the presses after it wait for that receipt, as after d
        st.session_state[LEAVING_KEY] = doc_id
        st.session_state[WAITING_KEYS_KEY] = list(keys[1:])
        st.session_state[DONE_BY_KEY_KEY] = st.session_state[TAKE_BACK_KEY][0]
        st.session_state[CAME_FROM_KEY] = doc_id
        return
    view = st.session_state.get(KEYS_VIEW_KEY)
    if not isinstance(view, KeysView) or view.doc_id != doc_id or len(view.labels) != words:
        view = KeysView(doc_id, doc.word_labels, seen_action)
    outcome = apply_keys(workspace(), doc_id, selected_word(doc_id, words), words, keys, DEFAULT_SCHEMA,
                         seen=doc.word_layout, seen_action=view.action, seen_labels=view.labels,
                         suggest=chosen_run_suggester(doc_id) if "s" in keys else None)
    st.session_state[KEYS_VIEW_KEY] = KeysView(doc_id, outcome.seen_labels or view.labels, outcome.seen_action)
    st.session_state[word_key(doc_id)] = outcome.index
    if outcome.changed or outcome.stale:  # a refused press redraws the receipt as it is
        bump(doc_id)
    if outcome.notice:
        st.session_state[NOTICE_KEY] = outcome.notice  # as the Undo button's
    # and in a toast, where a keyboard user sees it: the notice and warnings under Undo sat below the fold at 1366 x
    # 768, which the keys cannot scroll to (walkthrough 26)
    if feedback := outcome.notice or next(iter(outcome.messages), None):
        st.session_state[TOAST_KEY] = notice_markdown(feedback if len(feedback) <= 200 else feedback[:199] + "…")
    if outcome.marked_done:
        after_done_keeping_notice(doc_id, on_done)
        st.session_state[LEAVING_KEY] = doc_id  # the presses after d wait for the redraw, as after n
        st.session_state[WAITING_KEYS_KEY] = list(outcome.after_next)
        st.session_state[DONE_BY_KEY_KEY] = doc_id
    if outcome.receipt_step:
        st.session_state[GO_NEXT_KEY] = (doc_id, outcome.receipt_step, False)
        st.session_state[CAME_FROM_KEY] = doc_id  # keys typed ahead on it are the next receipt's
        st.session_state[LEAVING_KEY] = doc_id
        st.session_state[WAITING_KEYS_KEY] = list(outcome.after_next)
    say(*outcome.messages, *(follow_selected_word(doc) if outcome.stale else ()))
