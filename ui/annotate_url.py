"""Where the annotator is, in the URL: ``/annotate?dataset=NAME&receipt=ID``, so a reload or a shared link opens
the same dataset and receipt. The dataset is the sidebar's choice, which the router binds to ``?dataset=`` on every
page; this module keeps the receipt. The page writes it on every run and reads it only when the URL says something
the page did not write there (a fresh session, a link opened or typed), or when the page's widgets have lost their
values (a reload: Streamlit may keep the session, but the new page sends no widget values). A URL the page wrote
before its last write is the browser's from before that write reached it (a key typed right after n), not a
request, unless Back or Forward brought it. Otherwise the receipt picker is the one place the choice is made."""

from __future__ import annotations

import streamlit as st

WRITTEN_KEY = "annotate_url_written"  # the receipt this session last put in the URL
EARLIER_KEY = "annotate_url_earlier"  # the receipts it put there before (the last few)
MAX_EARLIER = 20
RECEIPT_PARAM = "receipt"


FIRST_RECEIPT = ""  # asked for by a URL without a receipt reached with Back: the list's first (no id is empty)


def restore_from_url(next_doc_key: str, widget_key: str) -> None:
    """When the URL names a receipt the page did not write, or the page's widget ``widget_key`` (drawn on every run
    of the page) has no value yet: ask for the URL's receipt (ignored if the dataset has no such receipt). Back to
    the URL the page opened with, which names no receipt (the first is implied), asks for :data:`FIRST_RECEIPT`: the
    page rewrote the URL to the receipt it still showed, and that Back press was lost (a walkthrough)."""
    asked = st.query_params.get(RECEIPT_PARAM)
    if asked is None:
        if _history_navigation() and st.session_state.get(WRITTEN_KEY) is not None:
            st.session_state[WRITTEN_KEY] = None
            st.session_state[next_doc_key] = FIRST_RECEIPT
        return
    if asked == st.session_state.get(WRITTEN_KEY) and widget_key in st.session_state:
        return
    if (asked in st.session_state.get(EARLIER_KEY, ()) and widget_key in st.session_state
            and not _history_navigation()):  # a message the browser sent before the page's last URL reached it: a
        # key typed right after n carried the old receipt's URL, and the page went back there (walkthrough 53)
        return
    st.session_state[WRITTEN_KEY] = asked
    st.session_state[next_doc_key] = asked


def write_to_url(doc_id: str, implied: bool = False) -> None:
    """Put ``doc_id`` in the URL. ``implied``: it is the receipt a fresh page opens anyway (the dataset's first,
    no filter); a URL without a receipt is left so, since Streamlit pushes a history entry for every query parameter
    a page sets, and the browser's Back then took two presses to leave Annotate (found by a walkthrough)."""
    if (written := st.session_state.get(WRITTEN_KEY)) not in (None, doc_id):
        earlier = [i for i in st.session_state.get(EARLIER_KEY, ()) if i != doc_id] + [written]
        st.session_state[EARLIER_KEY] = tuple(earlier[-MAX_EARLIER:])
    st.session_state[WRITTEN_KEY] = doc_id
    current = st.query_params.get(RECEIPT_PARAM)
    if current == doc_id or (implied and current is None):
        return
    st.query_params[RECEIPT_PARAM] = doc_id


def _history_navigation() -> bool:
    """Whether this run came from the browser's Back or Forward (Streamlit's script run context says so)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))
