"""Where the annotator is, in the URL: ``/annotate?dataset=NAME&receipt=ID``, so a reload or a shared link opens
the same dataset and receipt. The page writes the URL on every run; it reads it only when the URL says something
the page did not write there (a fresh session, a link opened or typed), or when the page's widgets have lost
their values (a reload: Streamlit may keep the session but the new page sends no widget values, so the sidebar's
dataset falls back to the first). Otherwise the sidebar and the receipt picker are the one place the choice is made."""

from __future__ import annotations

import streamlit as st

from ui.shared import DATASET_KEY, select_dataset

WRITTEN_KEY = "annotate_url_written"  # (dataset, receipt) this session last put in the URL
DATASET_PARAM, RECEIPT_PARAM = "dataset", "receipt"


def restore_from_url(datasets: list[str], next_doc_key: str, widget_key: str) -> None:
    """When the URL names a place the page did not write, or the page's widget ``widget_key`` (drawn on every run
    of the page) has no value yet: take the URL's dataset (a rerun, so the sidebar shows it) and ask for its
    receipt. Names not in the workspace are ignored."""
    asked = (st.query_params.get(DATASET_PARAM), st.query_params.get(RECEIPT_PARAM))
    if asked == (None, None) or (asked == st.session_state.get(WRITTEN_KEY) and widget_key in st.session_state):
        return
    st.session_state[WRITTEN_KEY] = asked
    receipt = asked[1]
    if receipt:
        st.session_state[next_doc_key] = receipt
    wanted = asked[0]
    if wanted in datasets and st.session_state.get(DATASET_KEY) != wanted:
        select_dataset(wanted)
        st.rerun()


def write_to_url(dataset: str, doc_id: str) -> None:
    st.session_state[WRITTEN_KEY] = (dataset, doc_id)
    if st.query_params.get(DATASET_PARAM) != dataset or st.query_params.get(RECEIPT_PARAM) != doc_id:
        st.query_params.update({DATASET_PARAM: dataset, RECEIPT_PARAM: doc_id})
