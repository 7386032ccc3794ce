"""Data → Export: a dataset as a zip in a chosen format (built by receipt_core.datasets.export_zip), prepared on a
press and offered for download while the dataset stays as it was when the zip was built."""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from receipt_core.datasets import EXPORT_FORMATS, EXPORT_LOSSES
from receipt_core.datasets.export_zip import empty_receipts_note, export_zip_bytes, export_zip_name
from receipt_core.wording import as_sentence
from ui.literal import literal, notice_markdown
from ui.shared import user_errors

EXPORT_HELP = {"native": "this tool's own format: every label with who gave it, suggestions, items",
               "cord": "CORD v1 style JSON (valid_line groups by item), for tools that read CORD",
               "label-studio": "Label Studio tasks (OCR template: rectangles, transcriptions, labels) with "
                               "label_config.xml; suggestions become predictions"}


@dataclass(frozen=True)
class PreparedExport:
    """A zip built by Prepare, kept for the download button with the dataset's state it was built from."""

    dataset: str
    format: str
    state: tuple  # Workspace.dataset_state when it was built
    prepared_at: str  # the server's clock, for the page
    data: bytes


def export_section(ws, dataset: str) -> None:
    """Export the dataset as a zip in the chosen format (built by receipt_core.datasets.export_zip)."""
    with user_errors("Export"):
        fmt = st.radio("Export format", EXPORT_FORMATS, key="export_format", horizontal=True,
                       captions=[EXPORT_HELP[f] for f in EXPORT_FORMATS])
        if fmt in EXPORT_LOSSES:
            st.warning(EXPORT_LOSSES[fmt] + ".")
        if empty := empty_receipts_note([s.id for s in ws.list_documents(dataset) if not s.words], fmt):
            st.warning(notice_markdown(as_sentence(empty) + "."))  # receipt ids quoted as code
        if st.button(f"Prepare the {fmt} export (zip)", key="export_prepare"):  # which format: a walkthrough
            # clicked a format's description (which selects nothing) and downloaded the native zip unawares
            st.session_state["export_zip"] = PreparedExport(dataset, fmt, ws.dataset_state(dataset),
                                                            time.strftime("%H:%M:%S"),
                                                            export_zip_bytes(ws, dataset, fmt))
        prepared = st.session_state.get("export_zip")
        if prepared is None or (prepared.dataset, prepared.format) != (dataset, fmt):
            return
        if prepared.state != ws.dataset_state(dataset):  # a probe downloaded a receipt deleted after Prepare
            del st.session_state["export_zip"]
            st.info(f"The dataset changed after the zip was prepared at {prepared.prepared_at}: prepare it again to "
                    "download its receipts as they are now.")
            return
        st.download_button(f"Download the {fmt} zip", prepared.data, file_name=export_zip_name(dataset, fmt),
                           mime="application/zip", key="export_download")
        st.caption(f"{literal(export_zip_name(dataset, fmt))}, prepared at {prepared.prepared_at}; the dataset has "
                   "not changed since.")
