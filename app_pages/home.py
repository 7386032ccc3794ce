"""Home: what the app does, a button to load the real CORD sample and one to generate demo receipts, and the state
of the workspace."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receipt_core.datasets.demo import (CORD_SAMPLE_DEV, CORD_SAMPLE_TRAIN, DEMO_DATASET, add_cord_sample,
                                        add_demo_receipts)
from receipt_core.data.document import NOT_LABELLED
from receipt_core.data.review import DONE
from receipt_core.wording import as_sentence, counted
from ui.literal import notice_markdown, plain_lines
from ui.dataset_choice import show_dataset_now
from ui.shared import NO_VALUE, field_row, flash, require_router, show_flash, user_errors, workspace

require_router()
st.title("Receipt MTL Studio")
st.markdown(
    "MTL is multi-task learning: fine-tune one LayoutLM-style model on receipts for **two tasks at once** — a "
    "field label per word (item name, price, total, …) and **item quantities** — and watch what freezing layers "
    "does.  \n"
    "Bring receipt images (OCR'd with Tesseract) or datasets, correct labels beside the image, then train, "
    "compare freeze scenarios and predict.  \n"
    "New here? Load the real receipts (CORD sample) or generate demo receipts below, then press **Start** on the "
    "Train page.")

ws = workspace()

# the real receipts first: the better start, and the order the text above names them in (a walkthrough)
with st.container(border=True):
    st.subheader("Real receipts")
    # "photographed … (no images)" read as a contradiction (a walkthrough)
    st.write("250 receipts of Indonesian shops and restaurants: the words, boxes, field labels and item quantities "
             "CORD's authors annotated on their photos, without the photos themselves. They are stored as two "
             "datasets: "
             f"`{CORD_SAMPLE_TRAIN}` (200) to train on and `{CORD_SAMPLE_DEV}` (50) to evaluate on.")
    st.caption("A sample of CORD v1 (Park et al., 2019, NAVER Clova: *CORD: A Consolidated Receipt Dataset for "
               "Post-OCR Parsing*), licensed [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/); files "
               "selected, none edited; the attribution is in `assets/cord-sample/ATTRIBUTION.md`.")
    # under the text, at its own width: in a column it was cut to "Real rece…" at 900 px (a walkthrough)
    if st.button("Load the real receipts (CORD sample)", type="primary", key="load_cord_sample"):
        with user_errors("Loading the CORD sample"), st.spinner("Reading the CORD sample…"):
            loaded = add_cord_sample(ws)
            for sample in loaded:
                if sample.added:
                    flash("cord", "success", f"Stored {sample.documents} receipts as dataset '{sample.name}'.")
                else:
                    flash("cord", "info", f"Dataset '{sample.name}' is already in the workspace ({sample.documents} "
                                          "receipts); left as it is.")
                if sample.twins_note:  # CORD imported on the command line first (walkthrough 51, the other way)
                    flash("cord", "warning", notice_markdown(as_sentence(sample.twins_note) + "."))
                if sample.problems:
                    flash("cord", "warning", f"{counted(len(sample.problems), 'problem')} reading `{sample.name}`:")
                    flash("cord", "code", plain_lines(sample.problems[:200]))
            flash("cord", "info", f"Next: **Train** → training dataset `{CORD_SAMPLE_TRAIN}`, evaluation dataset "
                                  f"`{CORD_SAMPLE_DEV}` → Start.")
            show_dataset_now(CORD_SAMPLE_TRAIN)  # the sidebar shows it at once
    show_flash("cord")

with st.container(border=True):
    st.subheader("Demo data")
    left, right = st.columns([2, 5])  # room for the fields at 900 px (a walkthrough)
    count = left.number_input("Receipts", min_value=2, max_value=200, value=12, step=2, key="demo_count")
    seed = left.number_input("Seed", min_value=0, max_value=10_000, value=0, step=1, key="demo_seed")
    right.write("Synthetic receipts rendered with real fonts, blur and noise, then read by Tesseract exactly "
                "like an upload; gold labels come from the renderer. They are stored as the "
                f"`{DEMO_DATASET}` dataset; receipts already there are kept, not generated again.")
    if right.button("Generate demo receipts", type="primary", key="generate_demo"):
        # it runs in this tab's script, unlike training: closing the tab stops it (a walkthrough expected it to go on)
        keep_open = ("keep this tab open until it ends (closing it stops the generation; pressing Generate again "
                     "makes only the receipts still missing)")
        bar = right.progress(0.0, text=f"Rendering and OCR-ing receipts: {keep_open}")

        def progress(done: int, total: int) -> None:  # called in this thread by add_demo_receipts
            bar.progress(done / max(total, 1), text=f"Rendered and OCR'd {done}/{total} receipts: {keep_open}")

        with user_errors("Generating demo receipts"):
            added = add_demo_receipts(ws, int(count), seed=int(seed), progress=progress)
            where = f"dataset `{DEMO_DATASET}`"
            if not added.generated:
                done = f"All {added.kept} receipts of seed {int(seed)} are in {where} already; kept as they are."
            elif added.kept:
                done = (f"Generated {added.generated} receipts (seed {int(seed)}) into {where}; the other "
                        f"{added.kept} were there already and were kept as they are, with any label changes.")
            else:  # the count and seed used: a field still red with an out-of-range value keeps its last valid one
                done = f"Generated {added.generated} receipts (seed {int(seed)}) into {where}."  # (a walkthrough)
            flash("demo", "success", f"{done} Next: **Train** → Start, or **Annotate** to look at them.")
            show_dataset_now(DEMO_DATASET)  # the sidebar shows it at once
    with right:
        show_flash("demo")

st.subheader("Workspace")
with user_errors("Reading the workspace"):
    datasets = ws.datasets()
    runs = ws.list_runs()
    documents = sum(d.documents for d in datasets)
    words = sum(d.words for d in datasets)
    labelled = words - sum(d.label_counts.get(NOT_LABELLED, 0) for d in datasets)  # as Annotate counts them
    a, b, c, d = field_row(4, width=200)  # four columns cut "Labelled words (no…" at 1024 px (a walkthrough)
    a.metric("Documents", f"{documents:,}")  # with separators, as Train's counts (walkthrough 61 read "6004")
    b.metric("Words", f"{words:,}")
    c.metric("Labelled words", f"{labelled:,}", help="Words someone labelled (a person, an accepted suggestion or an "
             "imported dataset), OTHER included, as Annotate counts them; the table below has each label's count")
    d.metric("Runs", f"{len(runs):,}", help="The runs the Runs page lists: trained on Train or Race, or by train, "
             "reference or pretrain on the command line in this workspace. A study's runs stay in its folder (Runs → "
             "Studies)")
    if datasets:
        # receipts marked done beside the word counts: their unlabelled words train as OTHER (a walkthrough saw a
        # done dataset's 394 unlabelled words with nothing to say they were done)
        per_label = pd.DataFrame([{"dataset": s.name, "documents": s.documents, "done": s.status_counts.get(DONE, 0),
                                   "words": s.words, **dict(s.label_counts)} for s in datasets])
        st.caption("Each dataset's receipts, how many are marked done, its words, then its words per label (scroll "
                   "sideways for every label; \"not labelled\": words nobody labelled yet, which train as OTHER on "
                   "a receipt marked done).")
        st.dataframe(per_label.fillna(0).convert_dtypes(), hide_index=True, key="home_datasets",  # 0, not None
                     placeholder=NO_VALUE,
                     # the name whole: "cord-sam" for both cord-sample-dev and -train at 1024 px (a walkthrough)
                     column_config={"dataset": st.column_config.TextColumn("dataset", width="medium", pinned=True)})
    else:
        st.info("The workspace is empty.")
