"""Where the annotator is, in the URL: ``/annotate?dataset=NAME&receipt=ID``, so a reload or a shared link opens
the same dataset and receipt. The URL is read once per session (its first visit to Annotate) and written on every
run after that, so the sidebar and the receipt picker stay the one place the choice is made."""

from __future__ import annotations

import streamlit as st

from ui.shared import DATASET_KEY, select_dataset

READ_KEY = "annotate_url_read"
DATASET_PARAM, RECEIPT_PARAM = "dataset", "receipt"


def restore_from_url(datasets: list[str], next_doc_key: str) -> None:
    """On this session's first run of the page: take the URL's dataset (a rerun, so the sidebar shows it) and ask
    for its receipt. Names not in the workspace are ignored."""
    if st.session_state.get(READ_KEY):
        return
    st.session_state[READ_KEY] = True
    receipt = st.query_params.get(RECEIPT_PARAM)
    if receipt:
        st.session_state[next_doc_key] = receipt
    wanted = st.query_params.get(DATASET_PARAM)
    if wanted in datasets and st.session_state.get(DATASET_KEY) != wanted:
        select_dataset(wanted)
        st.rerun()


def write_to_url(dataset: str, doc_id: str) -> None:
    if st.query_params.get(DATASET_PARAM) != dataset or st.query_params.get(RECEIPT_PARAM) != doc_id:
        st.query_params.update({DATASET_PARAM: dataset, RECEIPT_PARAM: doc_id})
