"""Data: upload and OCR receipt images, view them with their word boxes, import, export, delete, label counts."""

from __future__ import annotations

import contextlib
import dataclasses

import pandas as pd
import streamlit as st

from receipt_core.data.markup import visible_text
from receipt_core.data.document import NOT_LABELLED
from receipt_core.data.files import distinct_names, renamed_notes
from receipt_core.data.images import MAX_IMAGES_PER_UPLOAD
from receipt_core.data.review import STATUSES
from receipt_core.datasets import FORMATS, default_dataset_name, import_into_workspace, load_dataset
from receipt_core.datasets.detect import AUTO, resolve_format
from receipt_core.datasets.photo_zip import open_zips
from receipt_core.plots.figures import document_figure
from receipt_core.training.run_documents import live_runs_reading_receipts, runs_reading
from receipt_core.wording import as_sentence, counted
from receipt_core.workspace.documents import DamagedDocumentError
from receipt_core.workspace.upload_journal import uploads_being_read
from ui.actions import ocr_and_store, ocr_projected_import
from ui.dataset_choice import current_dataset, show_dataset_now, upload_target
from ui.dataset_export import export_section
from ui.literal import literal, notice_markdown, plain, plain_lines
from ui.name_fields import dataset_name_input
from ui.receipt_images import receipt_picture
from ui.shared import (NO_VALUE, PDF_NOTE, UPLOAD_TYPES, figure_and_tables, flash, forget_stale_choice,
                       friendly, no_receipt_matches, require_router, server_folders, show_flash, user_errors, workspace)
from ui.stopped_uploads import show_stopped_uploads
from ui.zip_import import AS_COPIES, AS_COPIES_HELP, zip_import_section


@contextlib.contextmanager
def _cleared(bar):
    """The progress bar goes when the work ends, however it ends: the result says what was read ("OCR 1/1" stayed
    beside it, a walkthrough), and a refusal left "Reading receipts…" over its error (a probe)."""
    try:
        yield
    finally:
        bar.empty()


def _delete_receipt(doc_id: str, title: str, dataset: str) -> None:
    """Delete the receipt shown, after a tick that belongs to it (a walkthrough found no way to drop one bad photo
    short of deleting the whole dataset)."""
    with st.expander("Delete this receipt"):
        for reader in live_runs_reading_receipts(ws, [doc_id]):
            # said as what a delete would do: read as done damage beside an upload (walkthrough 38)
            st.warning(f"Run {literal(reader.name)} (`{reader.run_id}`) trains or evaluates on this receipt: "
                       "deleted, the run goes on with the copy it loaded, but could then never be resumed on its own "
                       "receipts.")
        confirm = st.checkbox(f"Yes, delete {literal(title)} with its labels", key=f"delete_receipt_confirm_{doc_id}")
        if st.button("Delete receipt", disabled=not confirm, key="delete_receipt"):
            with user_errors("Deleting the receipt"):
                ws.delete_document(doc_id)
                st.session_state.pop(f"delete_receipt_confirm_{doc_id}", None)
                last = not ws.list_documents(dataset)
                flash("receipts", "success", f"Deleted receipt {literal(title)} from dataset {literal(dataset)}"
                      + (": it was its last receipt, so the dataset is gone too." if last else "."))
                if last:  # the sidebar moves on at once (it said the dataset "from the link" was missing)
                    show_dataset_now(None)
                st.rerun()


require_router()
st.title("Data")
ws = workspace()
dataset = current_dataset()

upload_tab, view_tab, import_tab, manage_tab = st.tabs(["Upload & OCR", "Receipts", "Import", "Export & delete"])

with upload_tab:
    st.write("Upload receipt photos or scans (JPG, PNG, WebP, TIFF, BMP, GIF; a PDF is answered with how to turn its "
             "page into an image), picked one by one or as zips of them. Each is read by Tesseract and stored as soon "
             "as it is read; "
             "words and boxes become a document you can annotate. Files are stored by content hash.")
    show_stopped_uploads(ws)  # a probe closed the tab at "OCR 6/25": 19 photos were never read, unsaid
    target, target_ok = dataset_name_input("Store into dataset", key="upload_dataset", value=upload_target(dataset))
    # a new key after each stored upload empties the uploader: pressing the button again would read the same files
    upload_round = st.session_state.get("upload_round", 0)
    files = st.file_uploader("Receipt images, or zips of them", type=[*UPLOAD_TYPES, "zip"], accept_multiple_files=True,
                             key="upload_files" if not upload_round else f"upload_files_{upload_round}", help=PDF_NOTE)
    too_many = len(files or ()) > MAX_IMAGES_PER_UPLOAD
    if too_many:
        st.error(f"{len(files)} images chosen; one upload reads at most {MAX_IMAGES_PER_UPLOAD} (each takes a few "
                 "seconds of OCR). Remove some and store the rest in another round, or import a dataset zip.")
    if st.button("OCR and store", type="primary", disabled=not files or not target_ok or too_many,
                 key="ocr_uploads"):
        bar = st.progress(0.0, text="Reading receipts…")
        with user_errors("OCR of the uploads"), _cleared(bar):
            opened = open_zips([(f.name, f.getvalue()) for f in files], MAX_IMAGES_PER_UPLOAD)
            given = [name for name, _ in opened.images]
            uploads = dict(zip(distinct_names(given), (data for _, data in opened.images)))
            report = ocr_and_store(ws, target, uploads,
                                   progress=lambda done, total: bar.progress(done / total, text=f"OCR {done}/{total}"))
            renamed = tuple(renamed_notes(given, list(uploads)))
            report = dataclasses.replace(report, notes=opened.notes + renamed + report.notes,
                                         problems=opened.problems + report.problems)
            if report.saved:
                # what was read and where to go next: "Stored 2 receipts" said neither (a walkthrough); and that the
                # sidebar follows it: walkthrough 59 found Train on the one photo, its Start off, unsaid
                flash("upload", "success", f"Stored {counted(len(report.saved), 'receipt')} in dataset "
                                           f"{literal(target)}, {counted(report.words, 'word')} read by OCR. Next: "
                                           "check and label them on **Annotate**. The sidebar's dataset is now "
                                           f"{literal(target)}, which every page (Train too) starts from; pick "
                                           "another there to go back.")
            if report.notes:
                flash("upload", "info", f"{counted(len(report.notes), 'note')}:")
                flash("upload", "code", plain_lines(report.notes))
            if report.problems:
                flash("upload", "error", f"{counted(len(report.problems), 'file')} not stored:")
                flash("upload", "code", plain_lines(report.problems))
            if report.saved:
                st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
                show_dataset_now(target)  # the sidebar and the tabs show the receipts at once
    show_flash("upload")

with view_tab:
    if dataset is None:
        st.info("No dataset yet.")
    else:
        with user_errors("Showing the receipts"):
            counts = ws.status_counts(dataset)
            total = sum(counts.values())
            st.caption(f"Dataset {literal(dataset)}: {total} receipt{'' if total == 1 else 's'} · "
                       + " · ".join(f"{status} {n}" for status, n in counts.items()))
            find, only = st.columns([3, 1])
            search = find.text_input("Search by file name or id", key="data_search")
            status = only.selectbox("Status", ["all", *STATUSES], key="data_status")
            summaries = ws.list_documents(dataset, status=None if status == "all" else status, search=search)
            if summaries:
                titles = {s.id: s.title for s in summaries}  # an upload shows its file name
                forget_stale_choice("data_doc", titles)  # a receipt just deleted, or of the dataset shown before
                doc_id = st.selectbox("Receipt", list(titles), key="data_doc", format_func=lambda i: plain(titles[i]))
                try:
                    doc = ws.get_document(doc_id)
                except DamagedDocumentError as error:  # named, and deletable below; the others still open
                    st.error(notice_markdown(friendly(error)))
                    doc = None
                if doc is not None:
                    left, right = figure_and_tables()
                    # as Annotate says it: a walkthrough read the tiny boxes as a broken photo
                    picture = receipt_picture(ws, doc)
                    if picture.note:
                        left.caption(picture.note)
                    left.plotly_chart(document_figure(doc, picture.source, title=titles[doc_id]),
                                      key="data_figure", width="stretch")
                    words = pd.DataFrame([{"text": visible_text(w.text),  # escapes shown, as in the pickers
                                           "label": w.annotation_label if w.is_labelled else NOT_LABELLED,
                                           "confidence": w.confidence}
                                          for w in doc.words])
                    # a dataset's words: no OCR confidence to show
                    if words.empty or words["confidence"].isna().all():
                        words = words.drop(columns="confidence", errors="ignore")
                    right.dataframe(words, key="data_words", placeholder=NO_VALUE, height=640,
                                    column_config={"label": st.column_config.TextColumn("label", width=150),  # was cut
                                                   "confidence": st.column_config.NumberColumn(
                                        # named for what it is: Predict's "confidence" is the model's, 0-1
                                        # (a walkthrough)
                                        "OCR confidence", help="Tesseract's confidence in the word (0-100)")})
                _delete_receipt(doc_id, titles[doc_id], dataset)
            else:
                st.info(no_receipt_matches(dataset, status, search))
        show_flash("receipts")
    # every dataset's label counts side by side, with the receipts (it sat under Export, where a walkthrough missed it)
    with user_errors("Reading the datasets"):
        summaries = ws.datasets()
        if summaries:
            with st.expander("Words per label, every dataset"):
                counts = pd.DataFrame([{"dataset": s.name, "label": label, "words": n}
                                       for s in summaries for label, n in s.label_counts.items()])
                st.bar_chart(counts, x="label", y="words", color="dataset", stack=False)

with import_tab:
    # a walkthrough came to Data first and found no way to the receipts that ship with the app (walkthrough 35)
    st.caption("The CORD sample that ships with the app (250 real receipts, labelled) loads from **Home** → "
               "*Load the real receipts (CORD sample)*.")
    zip_import_section(ws)
    st.divider()  # the two forms ran together under one heading (a walkthrough)
    st.subheader("Or a folder on this server")
    folders = server_folders()
    st.write("Import a labelled dataset folder that is on this server: CORD v1 (`…/cord/train/json`), "
             "WildReceipt (`train.txt`/`dev.txt` or its folder), a native folder written by Export, or a Label "
             "Studio JSON export. The server reads only inside its data folders: "
             + ", ".join(literal(str(root)) for root in folders.roots) + "."
             + (f" The shared data folder beside this checkout, {literal(str(folders.absent_shared))}, would be read "
                "too, but there is none." if folders.absent_shared else ""))
    chosen = st.selectbox("Format", [AUTO, *FORMATS], key="import_format",
                          help="auto: recognised from the files (CORD, WildReceipt, native or Label Studio)")
    path_text = st.text_input("Folder or file on the server", key="import_path",
                              placeholder="/work/shared/data/cord/dev/json")
    name_text, name_ok = dataset_name_input("Dataset name (empty: derived from the path)", key="import_name",
                                            allow_empty=True)
    from_images = st.checkbox("Read the images with OCR", key="import_from_images",
                              help="Store the words Tesseract reads in each receipt's image, each labelled by the "
                                   "annotated box it falls in, instead of the annotators' words: training on them "
                                   "prepares a model for photos (as `import --from-images`; WildReceipt has images, "
                                   "CORD's annotations do not). Each reading's id is the receipt's plus -ocr, so "
                                   "both readings can share a dataset.")
    copies = st.checkbox(AS_COPIES, key="import_copies", help=AS_COPIES_HELP)
    if st.button("Import", disabled=not path_text.strip() or not name_ok, key="import_button"):
        with user_errors("Import"), st.spinner("Importing…"):
            path = server_folders().resolve(path_text, zip_upload=True)
            if not path.exists():
                raise FileNotFoundError(f"the path {str(path)!r} does not exist on the server")
            fmt = resolve_format(path, chosen)
            report = load_dataset(path, fmt)
            name = name_text or default_dataset_name(path, fmt) + ("-ocr" if from_images else "")
            if from_images and report.documents:
                ws.check_dataset_name(name)  # before minutes of OCR, as the command line does
                bar = st.progress(0.0, text="OCR of the images…")
                report = ocr_projected_import(ws, report, progress=lambda done, total: bar.progress(
                    done / max(total, 1), text=f"OCR of the images: {done}/{total}"))
                bar.empty()
            if report.documents:
                stored = import_into_workspace(ws, name, report, copies)
                if stored.nothing_changed:  # a round trip (a walkthrough read "Imported" beside "left as they were")
                    flash("import", "info", f"Nothing changed: the {counted(len(stored.documents), fmt + ' document')} "
                          f"were already in dataset {literal(name)} as they are, undo history included.")
                else:
                    flash("import", "success", f"Imported {counted(len(stored.documents), fmt + ' document')} into "
                          f"dataset {literal(name)} ({len(stored.images)} with images).")
                    if replaced := stored.replaced_note(name):  # a receipt imported again loses its labels (a probe)
                        flash("import", "warning", notice_markdown(replaced))
                    if stored.copied_note:  # as asked: said in view, not folded among the records' problems
                        flash("import", "info", notice_markdown(as_sentence(stored.copied_note) + "."))
                    if stored.twins_note:  # the CORD sample stored again under CORD's own ids (walkthrough 51)
                        flash("import", "warning", notice_markdown(as_sentence(stored.twins_note) + "."))
                if stored.problems:  # notes alone (an empty segment dropped) are no warning, and fold away
                    flash("import", "warning" if stored.skipped else "info", stored.problems_heading())
                    flash("import", "code" if stored.skipped else "folded", plain_lines(stored.problems[:200]))
                show_dataset_now(name)  # the sidebar shows the new dataset at once
            else:  # every record was bad: say so, and show why (not a success with 0 documents)
                st.error(f"Nothing imported from {literal(path)}: no usable {fmt} documents "
                         f"({counted(len(report.problems), 'problem')} below).")
                if report.problems:
                    with st.expander(f"{counted(len(report.problems), 'problem')} reported", expanded=True):
                        st.code(plain_lines(report.problems[:200]), language=None, wrap_lines=True)
    show_flash("import")

with manage_tab:
    if dataset is not None:
        st.subheader(f"Dataset {literal(dataset)}")
        export_section(ws, dataset)
        # one per dataset: left open, it stayed open over the next dataset after a delete (walkthrough 35)
        with st.expander("Rename this dataset", key=f"rename_open_{dataset}"):
            new_name, usable = dataset_name_input("New name", key=f"rename_{dataset}", allow_empty=True,
                                                  renaming=dataset)
            if st.button("Rename", key="rename_dataset", disabled=not (usable and new_name)):
                with user_errors("Renaming the dataset"):
                    moved = ws.rename_dataset(dataset, new_name)
                    flash("manage", "success", f"Renamed dataset {literal(dataset)} to {literal(new_name)} "
                                               f"({counted(moved, 'receipt')}).")
                    show_dataset_now(new_name)  # the sidebar follows at once
        # The tick belongs to this dataset: if the sidebar's dataset changes (an import selects its new one), the box
        # is a new, unticked one instead of a tick that now deletes another dataset.
        confirm_key = f"delete_confirm_{dataset}"
        readers = runs_reading(ws, dataset)
        for reader in (reader for reader in readers if reader.live):
            st.warning(f"Run {literal(reader.name)} (`{reader.run_id}`) {reader.reads()}. Deleting it lets the run go "
                       "on with the receipts it loaded, but it can then never be resumed, and Runs no longer finds its "
                       "receipts: stop it first, or let it finish.")
        if ended := [reader for reader in readers if not reader.live]:
            st.warning(f"{counted(len(ended), 'run')} trained or evaluated on receipts of this dataset (such as "
                       f"{literal(ended[0].name)}). Deleting it keeps their models and scores, but they can no longer "
                       "be resumed on their own receipts, and Runs no longer names this dataset as theirs.")
        for upload in uploads_being_read(ws.home, dataset):  # probe 51 deleted it under another tab's upload
            st.warning(f"An upload into this dataset is being read now ({len(upload.read)} of "
                       f"{counted(len(upload.names), 'photo')} so far, in another tab): deleting the dataset removes "
                       "what it stored so far, and the photos it reads after go into the dataset again. Wait for it "
                       "to end first.")
        confirm = st.checkbox(f"Yes, delete every document of {literal(dataset)}", key=confirm_key)
        if st.button("Delete dataset", disabled=not confirm, key="delete_dataset"):
            with user_errors("Deleting the dataset"):
                removed = ws.delete_dataset(dataset)
                st.session_state.pop(confirm_key, None)
                flash("manage", "success", f"Deleted dataset {literal(dataset)} ({removed} documents).")
                show_dataset_now(None)  # the sidebar moves to a dataset that is left, at once
    else:
        st.info("No dataset yet: nothing to export or delete.")
    show_flash("manage")
