"""Data → Upload & OCR: the uploads that stopped part-way (the page left or its tab closed while Tesseract read
them, or the server stopped), each with the files never read, until dismissed (``workspace/upload_journal``)."""

from __future__ import annotations

import datetime as _dt

import streamlit as st

from receipt_core.wording import counted, readable_time
from receipt_core.workspace.store import Workspace
from receipt_core.workspace.upload_journal import dismiss_upload, journalled_uploads
from ui.literal import literal, plain_lines


def show_stopped_uploads(ws: Workspace) -> None:
    for upload in journalled_uploads(ws.home):
        when = readable_time(_dt.datetime.fromtimestamp(upload.started_at, _dt.timezone.utc).isoformat())
        if not upload.stopped:  # another tab's, or one just left that stops at its next photo (probe 51 saw nothing)
            st.info(f"An upload into dataset {literal(upload.dataset)} (started {when}) is being read now: "
                    f"{len(upload.read)} of its {counted(len(upload.names), 'file')} so far, in another tab, or in "
                    "one left a moment ago (which stops at its next photo). Open Data again in a few seconds to "
                    "see how it ended.")
            continue
        stored = len(upload.read) - len(upload.refused)
        st.warning(f"An upload into dataset {literal(upload.dataset)} (started {when}) stopped after reading "
                   f"{len(upload.read)} of its {counted(len(upload.names), 'file')}: the page was left or its tab "
                   f"closed while Tesseract read them, or the server stopped. {stored} of those read "
                   f"{'is' if stored == 1 else 'are'} stored"
                   + (f", {len(upload.refused)} refused (below)" if upload.refused else "")
                   + f"; {counted(len(upload.unread), 'file was', 'files were')} never read, so upload "
                   f"{'it' if len(upload.unread) == 1 else 'them'} again:")
        st.code(plain_lines(upload.unread), language=None)
        if upload.refused:  # probe 51: two refused files read as stored ("What was read is stored")
            st.code(plain_lines(upload.refused.values()), language=None, wrap_lines=True)
        if st.button("Dismiss", key=f"upload_stopped_{upload.key}", help="Forget this stopped upload"):
            dismiss_upload(ws.home, upload.key)
            st.rerun()
