"""Predict: OCR uploaded receipts (one or many) or take one from the workspace, run a trained run's model on them,
and show how far to trust the output: the run's validation quality beside it, a confidence per item, and the
words under a confidence threshold marked as uncertain. CSV and JSON downloads hold every receipt's items."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from receipt_core.evaluation.confidence import (DEFAULT_UNCERTAIN_BELOW, LINE_ARITHMETIC, PRODUCT_CODE, answered_words,
                                                items_table, quality_note, scored_items, uncertain_words)
from receipt_core.data.markup import spreadsheet_csv
from receipt_core.data.images import MAX_IMAGES_PER_PREDICTION
from receipt_core.plots.figures import LOW_CONFIDENCE, WRITTEN_WORDS_MAX, prediction_figure, tall_figure_height
from receipt_core.ocr.orientation import turned_note_of
from receipt_core.plots.overlay import LOW_OCR, OVERLAY_CHOICES, confidence_marks, overlay_counts, overlay_figure
from receipt_core.training.events import METRIC_LABELS
from receipt_core.training.run_documents import eval_ids, photo_gap_note, trained_on_photos
from receipt_core.training.run_summary import last_evaluation
from receipt_core.wording import as_sentence, counted
from receipt_core.workspace.database import NotFoundError
from receipt_core.workspace.documents import DamagedDocumentError
from receipt_core.workspace.summaries import receipt_title
from receipt_core.workspace.runs import LIVE_STATUSES
from ui.actions import store_for_correction
from ui.dataset_choice import current_dataset, show_dataset_now, upload_target
from ui.literal import literal, notice_markdown, plain, plain_lines
from ui.predict_uploads import (UPLOAD_KEY, forget_kept_uploads, not_kept_note, read_uploads, same_image_note,
                                 stored_labels_note, trained_on_note, uploads_shown)
from ui.receipt_images import receipt_picture
from ui.run_choice import GONE_THEN_SHOWN, loaded_run, run_display_name, run_picker, saved_runs
from ui.name_fields import dataset_name_input
from ui.shared import (NO_VALUE, PDF_NOTE, UPLOAD_TYPES, figure_and_tables, flash, friendly, pending_flash,
                       require_router, show_flash, user_errors, workspace)

RESULTS_KEY = "predict_results"  # (cache key, [(receipt name, document, display image, DocumentPrediction)])


STORED_KEY = "predict_stored"  # (photo names, dataset, first receipt id) of the photos this session last stored


def _store_for_correction(ws, run_id: str, results, ocr_results, uploads: dict[str, bytes]) -> None:
    """Store the uploaded photos in a dataset, this run's answers kept on them as suggestions, to correct on
    Annotate (a walkthrough found no way from a wrong prediction to a correction)."""
    with st.container(border=True):
        read = [r.document.id for r in ocr_results if r.document is not None]
        held = ws.datasets_of(read)
        every_one = bool(held) and len(held) >= len(set(read))  # nothing left to store: the button is off
        # not beside the message of the photos just stored, where it read "… there is nothing to store." above
        # "Stored 6 receipts in dataset …" (walkthrough 65)
        if held and not pending_flash("predict_store"):  # walkthrough 45 was offered to store a photo Data had
            # stored already, with nothing said
            one = len(held) == 1
            then = ("there is nothing to store." if every_one
                    else f"storing keeps {'it' if one else 'them'} as {'it is' if one else 'they are'}.")
            st.caption(f"{counted(len(held), 'of these photos is', 'of these photos are')} already "
                       f"{'a receipt' if one else 'receipts'} of "
                       f"{', '.join(literal(d) for d in sorted(set(held.values())))} (correct "
                       f"{'it' if one else 'them'} there on Annotate); {then}")
        name_col, button_col = st.columns([2, 3], vertical_alignment="bottom")
        with name_col:
            target, target_ok = dataset_name_input("Dataset to store them in", key="predict_store_dataset",
                                                   value=upload_target(current_dataset()))
        if button_col.button("Store these photos to correct them on Annotate", key="predict_store",
                             disabled=not target_ok or every_one, help="Each photo becomes a receipt of the "
                             "dataset, with this run's answers as suggestions: on Annotate, accept the right ones and "
                             "fix the rest, then train on them"):
            with user_errors("Storing the photos"):
                report = store_for_correction(ws, target, ocr_results, uploads,
                                              {name: prediction.to_json() for name, _, _, prediction in results},
                                              run_id)
                if report.saved:
                    flash("predict_store", "success",
                          f"Stored {counted(len(report.saved), 'receipt')} in dataset {literal(target)} with this "
                          "run's answers as suggestions. Next: Annotate, to accept or correct them.")
                    st.session_state[STORED_KEY] = (sorted(uploads), target, report.saved[0])
                if report.notes:  # already there (a second press too): said with the dataset that holds them
                    flash("predict_store", "info", f"{counted(len(report.notes), 'note')}:")
                    flash("predict_store", "code", plain_lines(report.notes))
                if report.problems:  # not stored, as Data's upload says it (a probe read a refusal as a note)
                    flash("predict_store", "warning", f"{counted(len(report.problems), 'photo')} not stored:")
                    flash("predict_store", "code", plain_lines(report.problems))
                show_dataset_now(target if report.saved or report.notes else current_dataset())
        show_flash("predict_store")
        stored = st.session_state.get(STORED_KEY)
        if stored and stored[0] == sorted(uploads):  # a link that opens them, while they are the photos shown:
            # walkthrough 36 went by the sidebar and landed on a receipt of another dataset
            # the sidebar's ?dataset= goes along with any link (it is bound to the query): named again only when the
            # sidebar shows another dataset now, else the link read "?dataset=wr-fix&dataset=wr-fix" (walkthrough 65)
            st.page_link("app_pages/annotate.py", label="Open the stored receipts on Annotate", icon=":material/edit:",
                         query_params={"receipt": stored[2]} if stored[1] == current_dataset()
                         else {"dataset": stored[1], "receipt": stored[2]})


require_router()
st.title("Predict")
ws = workspace()
saved = saved_runs()  # one pass over the run folders gives both
runs, left_out = list(saved.usable), [note for note in (saved.damaged_note(), saved.gone_note()) if note]
if not runs:
    st.info("No run with a checkpoint to read: train one on the Train page first."
            if left_out else "No trained run with a checkpoint yet: train one on the Train page first.")
for note in left_out:
    st.warning(note)
if not runs:
    st.stop()

run = run_picker(runs, "predict_run", gone_then=GONE_THEN_SHOWN)
# the run chosen before is gone (said): the page goes on with the run now chosen, its photos and receipt kept (a
# walkthrough's page had emptied to the warning), but Store does nothing in this rerun
run_replaced = run is None
if run_replaced:
    run = next(r for r in runs if r.id == st.session_state.get("predict_run"))
run_name = run_display_name(run)  # the name given on Runs, as the picker shows it
if run.status in LIVE_STATUSES:  # a walkthrough's second tab gave no sign of it (the picker names no status)
    st.info(f"This run is still training ({run.status}): the predictions come from its latest saved checkpoint and "
            "change as it trains and saves again.")

with user_errors("Reading the run's validation"):
    evaluation = last_evaluation(ws, run.id)
    scored_ids = eval_ids(run.config)  # not recorded by runs older than the record
    scored_on = len(scored_ids) or None
    note = quality_note(evaluation.metrics if evaluation else None, scored_on)
    if evaluation is not None:
        on = ""
        if scored_on:  # which receipts, and how scored (walkthrough 54 read item quantity accuracy 0.938 here beside
            # the 0.613 quantity segment accuracy `evaluate --from-images` gave on the same 50 photos, unexplained)
            held = sorted(set(ws.datasets_of(scored_ids).values()))
            of = f" of {', '.join(literal(d) for d in held[:3])}" if held else ""
            on = (f", on {counted(scored_on, 'receipt')}{of} as stored (their annotated words, not an OCR of a "
                  "photo; an item without a printed quantity counts as 1)")  # no CLI words here (walkthrough 61)
        # said above the tiles: walkthrough 28 read the CORD run's 0.920 first, the photo warning only below
        photos = ("; it never trained on a photo, so these do not carry over to one"
                  if trained_on_photos(ws, run.config) is False else "")
        st.caption(f"Validation of this run at step {evaluation.step}, after {evaluation.epoch} complete "
                   f"epoch{'' if evaluation.epoch == 1 else 's'}{on}{photos}:")
        columns = st.columns(max(len(evaluation.metrics), 1))
        for column, (name, value) in zip(columns, evaluation.metrics.items()):
            column.metric(METRIC_LABELS.get(name, name), f"{value:.3f}")
    {"low": st.warning, "unknown": st.warning, "fair": st.info}.get(note.level, st.caption)(note.message)

threshold = st.slider("Uncertain below (confidence)", 0.0, 1.0, DEFAULT_UNCERTAIN_BELOW, 0.05,
                      key="predict_threshold",
                      help="A word whose answer the model gave with less probability than this is marked uncertain "
                           "(dotted outline, and listed); an item's confidence is its least confident word's")
source = st.radio("Receipts", ["Upload images", "A receipt from the workspace"], horizontal=True,
                  key="predict_source")

inputs: list[tuple[str, object, object]] = []  # (receipt name, document, image)
uploaded: tuple[list, dict[str, bytes]] = ([], {})  # the uploads' OCR results and bytes, to store for correction
if source == "Upload images":
    uploads = st.file_uploader("Receipt images (one or many)", type=UPLOAD_TYPES, accept_multiple_files=True,
                               key=UPLOAD_KEY, help=PDF_NOTE, on_change=forget_kept_uploads)
    named, kept = uploads_shown(uploads) if len(uploads or ()) <= MAX_IMAGES_PER_PREDICTION else ({}, False)
    if kept:
        note, clear = st.columns([5, 1], vertical_alignment="center")
        note.caption(f"Showing the {counted(len(named), 'photo')} you uploaded before leaving this page (the upload "
                     "field empties when you go to another page); upload others to replace them.")
        clear.button("Clear them", key="predict_clear_kept", on_click=forget_kept_uploads)
    elif named and (too_large := not_kept_note(named)):
        st.caption(too_large)
    if len(uploads or ()) > MAX_IMAGES_PER_PREDICTION:
        st.error(f"{len(uploads)} images chosen; Predict reads and shows at most {MAX_IMAGES_PER_PREDICTION} at a "
                 "time. Remove some, or store them through Data → Upload & OCR and pick them here one by one (the "
                 "CLI's predict reads any number).")
    elif named:
        with user_errors("OCR"):
            read = read_uploads(ws, named)  # with a spinner while it reads photos new to this session
            if copies := same_image_note(named):
                st.info(copies)
            results = [result for result, _ in read]
            uploaded = (results, named)
            shown = {result.name: source for result, source in read}  # each photo's display copy
            problems = [r.error for r in results if r.error]  # each names its file
            if problems:
                st.error(f"{counted(len(problems), 'file')} could not be read:")
                st.code(plain_lines(problems), language=None, wrap_lines=True)
            for result in results:
                if result.error is None:
                    if result.note:
                        st.info(f"{literal(result.name)}: {literal(result.note)}")
                    if turned := turned_note_of(result.document.meta, then="predict on it again"):
                        st.warning(f"{literal(result.name)}: {as_sentence(turned)}.")  # probe 46: nonsense, unsaid
                    if not result.document.words:
                        st.warning(f"Tesseract found no words in {literal(result.name)} (blank or unreadable), so "
                                   "there is nothing to predict there.")
                    else:
                        inputs.append((result.name, result.document, shown[result.name]))
else:
    dataset = current_dataset()
    titles = {s.id: s.title for s in ws.list_documents(dataset)} if dataset else {}  # "file · id", as Annotate
    ids = list(titles)
    if not ids:
        st.info("The workspace has no receipts yet.")
    else:
        doc_id = st.selectbox(f"Receipt from {literal(dataset)}", ids, key="predict_doc",
                              format_func=lambda i: plain(titles.get(i, i)))
        try:
            doc = ws.get_document(doc_id)
        except (DamagedDocumentError, NotFoundError) as error:  # named; the picker stays, for another receipt
            st.error(notice_markdown(friendly(error)))
            st.stop()
        picture = receipt_picture(ws, doc)
        if picture.note and doc.has_image:  # a receipt imported without pixels (CORD's) is usual here: unsaid
            st.caption(picture.note)
        if doc.has_image and not doc.read_by_ocr:  # a walkthrough took a gold import's photo for an OCR'd one
            st.caption("The run reads this receipt's stored words (its dataset's own, not an OCR of the photo "
                       "drawn here): upload the photo to see what it makes of the photo itself.")
        inputs.append((doc_id, doc, picture.source))
        if trained := trained_on_note(ws, doc, run.config, scored_ids, dataset):
            st.info(trained)  # walkthrough 61 could not find where to pick one it was scored on

# a photo picked from the workspace too: a walkthrough's stored photo got no such word
photo = source == "Upload images" or any(doc.read_by_ocr for _, doc, _ in inputs)
if inputs and (gap := photo_gap_note(ws, run.config, photo)):
    st.warning(gap)  # not a blue aside: a walkthrough's demo read confident address lines as the answer

if inputs:
    key = (run.id, tuple((name, hashlib.sha256(json.dumps(doc.to_json(), sort_keys=True).encode()).hexdigest())
                         for name, doc, _ in inputs))
    cached = st.session_state.get(RESULTS_KEY)
    long = [(name, len(doc.words)) for name, doc, _ in inputs if len(doc.words) > WRITTEN_WORDS_MAX]
    if long:  # a probe's 19,000-word receipt spun for 4 minutes unsaid
        st.warning(f"{literal(long[0][0])} has {long[0][1]:,} words, more than any receipt prints"
                   + (f" (and {counted(len(long) - 1, 'other receipt')} too)" if len(long) > 1 else "")
                   + ": the model reads it window by window, which takes a while (tens of seconds for 5,000 words "
                     "on 2 cores), and its figure draws the boxes without their text.")
    with user_errors("Prediction"):
        if cached is None or cached[0] != key:  # a threshold change redraws without running the model again
            with st.spinner(f"Running the model on {counted(len(inputs), 'receipt')}…"):
                predictions = loaded_run(run.id).predictor().predict([doc for _, doc, _ in inputs])
            cached = (key, [(name, doc, image, p) for (name, doc, image), p in zip(inputs, predictions)])
            st.session_state[RESULTS_KEY] = cached
        results = cached[1]
        scored = [(name, scored_items(doc, p, threshold)) for name, doc, _, p in results]

        all_items = pd.DataFrame(items_table(scored), columns=["receipt", "name", "quantity", "quantity_read",
                                                               "unit_price", "price", "confidence", "check",
                                                               "uncertain_words"])
        everything = {"run": run.id, "uncertain_below": threshold,
                      "documents": [{**p.to_json(), "receipt": name, "items": [i.to_json() for i in items]}
                                    for (name, _, _, p), (_, items) in zip(results, scored)]}
        d1, d2 = st.columns(2)
        d1.download_button(f"Download all items (CSV, {counted(len(results), 'receipt')})",
                           spreadsheet_csv(all_items), file_name=f"predicted-items-{run.id}.csv",
                           mime="text/csv", key="predict_csv", width="stretch")
        d2.download_button("Download everything (JSON)", json.dumps(everything, indent=1).encode("utf-8"),
                           file_name=f"predictions-{run.id}.json", mime="application/json", key="predict_json",
                           width="stretch")

        if uploaded[0] and not run_replaced:
            _store_for_correction(ws, run.id, results, *uploaded)

        names = [name for name, *_ in results]
        # a file's name as text: a probe's "inv\u202egnp.png" was drawn reversed in the picker
        shown = (st.selectbox("Receipt shown", names, key="predict_shown", format_func=plain) if len(names) > 1
                 else names[0])
        index = names.index(shown)
        name, doc, image, prediction = results[index]
        items = scored[index][1]
        large = st.toggle("Large view", key="predict_large", help="A tall figure to read a long receipt; drag to "
                                                                  "zoom, double-click to zoom out")
        overlay = st.radio("Overlay", list(OVERLAY_CHOICES), horizontal=True, key="predict_overlay",
                           help=f"Where the photo went wrong: words Tesseract read with confidence under "
                                f"{LOW_CONFIDENCE:g} are hatched in black (////), words whose answer the model "
                                "gave with probability under the threshold a yellow star on the top right corner; "
                                "no label is drawn hatched or starred")
        height = tall_figure_height(doc.width, doc.height) if large else None  # None: the figure's own, of its view
        # the receipt as its picker names it (an upload's file name), and the run: the chart said
        # "cord:json/receipt_00000.json" under a picker saying "cord-sample-receipt_00000" (a walkthrough)
        # a line each: one line cut the run's name at 1280 px; the run's id too, as the picker names it: two runs
        # of one scenario read alike, and a screenshot did not show which made it (walkthrough 65)
        title = (receipt_title(doc.id, doc.source), run_name if run.id in run_name else f"{run_name} · {run.id}")
        counts = overlay_counts(confidence_marks(doc, prediction, unsure_below=threshold))
        if OVERLAY_CHOICES[overlay]:
            st.caption(f"{counts.low_ocr} of {counts.ocr_scored} OCR'd words read with low confidence, "
                       f"{counts.unsure} of {counts.words} words the model is unsure of, {counts.both} both"
                       + ("" if counts.ocr_scored else " (these words did not come from the OCR: no OCR confidence)"))
            figure = overlay_figure(doc, prediction, image, layers=OVERLAY_CHOICES[overlay], unsure_below=threshold,
                                    title=title, figure_height=height)
        else:
            # labels only: no star either (walkthrough 56 read 50 stars and "model unsure: 50" under "labels only")
            figure = prediction_figure(doc.width, doc.height, prediction.to_json(), image, title=title,
                                       uncertain_below=0.0, figure_height=height)
        if known := stored_labels_note(ws, doc):
            st.info(notice_markdown(known))
        if source == "Upload images" and (trained := trained_on_note(ws, doc, run.config, scored_ids,
                                                                     current_dataset(), upload=True)):
            st.info(trained)
        if counts.poorly_read:  # the model's confidence says nothing of what the OCR made of the photo
            st.warning(f"Tesseract read {counts.low_ocr} of this photo's {counts.ocr_scored} words with low confidence "
                       f"(under {LOW_CONFIDENCE:g}): its items may be misread print or background (a table, a "
                       f"shadow) whatever their confidence says. Check them with the overlay *{LOW_OCR}*; a "
                       "photo cropped to the receipt, flat and evenly lit reads better.")
        left, right = figure_and_tables(stacked=large)
        left.plotly_chart(figure, key="predict_figure", width="stretch")
        with right:
            st.markdown("**Items**")
            shown_items = [{**i.to_json(), "quantity": i.quantity if i.quantity_read else None} for i in items]
            st.dataframe(pd.DataFrame(shown_items, columns=["name", "quantity", "unit_price", "price", "confidence",
                                                            "check", "uncertain_words"]),
                         hide_index=True, key="predict_items", placeholder=NO_VALUE, width="stretch",
                         # "name" medium: large pushed the prices off a laptop's screen
                         column_config={"name": st.column_config.TextColumn("name", width="medium"),
                                        "quantity": st.column_config.NumberColumn(
                             "quantity", format="%g", help=f"{NO_VALUE}: no quantity was read on the item's line, so "
                                                           "it counts as 1 (the downloads say quantity 1, "
                                                           "quantity_read false)"),
                                        "check": st.column_config.TextColumn(
                             "check", width="medium",  # "large" ran off a 1366-pixel screen (walkthroughs 29, 31)
                             help="What the item's own numbers contradict: quantity × unit price is not its price (a "
                                  "misread number, or a word given the wrong field), a negative price, no price "
                                  "read (often a line that is no item, such as the shop's name; a topping listed "
                                  "under its dish may have none), no letters in its name, or a price above the "
                                  "receipt's total (a ZIP code or a phone number read as a price); empty when they "
                                  "agree or cannot be checked"),
                                        "confidence": st.column_config.ProgressColumn(
                             "confidence", min_value=0.0, max_value=1.0, format="%.2f", color="auto",
                             # what it leaves out, said (walkthrough 54 read 0.88 beside a code word at 0.0048)
                             help="The least confident of the item's words, leaving out those a rule settled (the "
                                  "line's arithmetic, a product code joined to the name); green above 0.5, red "
                                  "below")})
            # an empty check is no all-clear: a walkthrough read it beside prices of 111 and 1194 as one
            if items and all(item.receipt_total is None for item in items):
                # "amount": a walkthrough saw the word "Total:" drawn as TOTAL above this line (a label, no number)
                st.caption("No total amount was read on this receipt, so no item's price was checked against it.")
            columns = ["word", "text", "answer", "confidence", "quantity_value", "answered by"]
            doubtful = uncertain_words(prediction, threshold)
            # a walkthrough read "QUANTITY · 0.0072 · line arithmetic" as a contradiction: the figure is the model's
            st.markdown(f"**Uncertain words** (the model's probability of the answer shown is under {threshold:.2f}; "
                        f"\"{LINE_ARITHMETIC}\": the line's numbers gave the answer the model doubted): "
                        f"{len(doubtful)}")
            if doubtful:  # sized to its rows: a fixed height drew empty rows under one word
                st.dataframe(pd.DataFrame(doubtful, columns=columns), hide_index=True, key="predict_uncertain",
                             placeholder=NO_VALUE, width="stretch", height="auto" if len(doubtful) <= 8 else 320)
            labelled = answered_words(prediction)
            st.markdown("**Labelled words** (confidence: the model's probability of the answer shown; "
                        f"\"{LINE_ARITHMETIC}\": the line's numbers, quantity × unit price = price, settled it "
                        f"against the model's own answer; \"{PRODUCT_CODE}\": a product code before an item name, "
                        "which the model left unlabelled, joined the name)")
            st.dataframe(pd.DataFrame(labelled, columns=columns), hide_index=True, key="predict_words",
                         placeholder=NO_VALUE, width="stretch", height="auto" if len(labelled) <= 8 else 320)
