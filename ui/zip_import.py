"""Data → Import: a dataset uploaded as a zip (the checks, extraction and importers live in
receipt_core.datasets.zip_import); this renders the uploader, the format choice and the import report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receipt_core.datasets import FORMATS
from receipt_core.datasets.detect import AUTO
from receipt_core.datasets.zip_import import DEFAULT_ZIP_LIMITS, ZipImportError, ZipImportResult, import_zip
from receipt_core.workspace.store import Workspace
from receipt_core.wording import as_sentence, counted
from ui.dataset_choice import show_dataset_now
from ui.literal import literal, notice_markdown, plain_lines
from ui.name_fields import dataset_name_input
from ui.shared import NO_VALUE, user_errors

MAX_PROBLEMS_SHOWN = 200
AS_COPIES = "Import receipts another dataset holds as copies (new ids)"
AS_COPIES_HELP = ("A receipt belongs to one dataset: without this, an import naming a receipt another dataset holds "
                  "stores nothing. With it, each such receipt is stored here as a copy, its id ending in -copy, and "
                  "the one there is left as it is: an export imported into a new dataset, as a new Label Studio "
                  "project would take it (`import --copies`).")
FORMAT_HELP = ("auto: recognised from the files. cord: CORD v1 JSON (receipt_XXXXX.json, in json/ or "
               "<split>/json/). wildreceipt: class_list.txt with train.txt/dev.txt/test.txt and the image files "
               "they name. native: a zip made by Export. label-studio: a Label Studio JSON export (tasks.json and "
               "its images/).")


def upload_limit_mb() -> int:
    """The server's upload limit in MB (``server.maxUploadSize``): a walkthrough read "2 GiB uncompressed" here
    and tried the 42 MB WildReceipt zip, which the uploader refused at 40 MB."""
    return int(st.get_option("server.maxUploadSize"))


def zip_import_section(workspace: Workspace) -> None:
    """The uploader, the format (auto or given), the dataset name, the Import button and the last import's report."""
    st.subheader("Upload a zip")
    st.write(f"A zipped dataset: CORD JSON, WildReceipt with its images, a native export, or a Label Studio "
             f"export, of at most {upload_limit_mb()} MB (the server's upload limit; a larger dataset imports from a "
             f"server folder, beside this). Links, paths leading outside the zip and zips over "
             f"{DEFAULT_ZIP_LIMITS.max_files:,} files or {DEFAULT_ZIP_LIMITS.max_total_bytes / 1024 ** 3:g} GiB "
             "uncompressed are refused.")
    upload = st.file_uploader("Dataset zip", type=["zip"], key="zip_import_file")
    format_col, name_col = st.columns(2)
    fmt = format_col.selectbox("Format of the zip", [AUTO, *FORMATS], key="zip_import_format", help=FORMAT_HELP)
    with name_col:
        name, name_ok = dataset_name_input("Dataset name (empty: the zip's name)", key="zip_import_name",
                                           allow_empty=True)
    copies = st.checkbox(AS_COPIES, key="zip_import_copies", help=AS_COPIES_HELP)
    if st.button("Import zip", type="primary", disabled=upload is None or not name_ok, key="zip_import_button"):
        st.session_state.pop("zip_import_result", None)
        refused_records: tuple[str, ...] = ()
        with st.container(), user_errors("Import of the zip"), st.spinner("Checking and importing the zip…"):
            try:
                result = import_zip(workspace, upload, upload.name, fmt, name, copies=copies)
            except ZipImportError as refused:
                refused_records = refused.problems
                raise
            st.session_state["zip_import_result"] = result  # the report below stays until the next import
            show_dataset_now(result.dataset)  # the sidebar shows the new dataset at once
        if refused_records:  # under the error, each of them, not only the message's first three (a probe)
            with st.expander(f"All {counted(len(refused_records), 'problem')} of the zip's records"):
                st.code(plain_lines(refused_records[:MAX_PROBLEMS_SHOWN]), language=None, wrap_lines=True)
    result = st.session_state.get("zip_import_result")
    if result is not None:
        _report(result)


def _report(result: ZipImportResult) -> None:
    how = "recognised" if result.format_detected else "as chosen"
    if result.nothing_changed:  # a round trip: not "Imported 50 documents" beside "left as they were" (a walkthrough)
        st.info(f"Nothing changed: the {counted(result.documents, 'document')} of the zip ({result.format}, {how}) "
                f"were already in dataset {literal(result.dataset)} as they are, undo history included.")
    else:
        st.success(f"Imported {counted(result.documents, 'document')} ({result.images} with images, from "
                   f"{counted(result.files, 'file')}) "
                   f"as {result.format} ({how}) into dataset {literal(result.dataset)}.")
    if result.replaced_note and not result.nothing_changed:  # a receipt imported again loses its labels (a probe)
        st.warning(notice_markdown(result.replaced_note))
    if result.copied_note and not result.nothing_changed:  # as asked: in view, not among the records' problems
        st.info(notice_markdown(as_sentence(result.copied_note) + "."))
    if result.twins_note and not result.nothing_changed:  # the CORD sample again under CORD's own ids (walkthrough 51)
        st.warning(notice_markdown(as_sentence(result.twins_note) + "."))
    if result.name_note:  # another name than the zip's, or receipts joined to a dataset's (a probe)
        st.info(notice_markdown(result.name_note))
    if result.label_counts:
        st.dataframe(pd.DataFrame({"label": list(result.label_counts), "words": list(result.label_counts.values())}),
                     hide_index=True, key="zip_import_labels", placeholder=NO_VALUE)
    if result.problems:
        with st.expander(f"{counted(len(result.problems), 'warning')}: records skipped or changed"):
            st.code(plain_lines(result.problems[:MAX_PROBLEMS_SHOWN]), language=None, wrap_lines=True)
