"""Annotate: the receipt beside its word table; every label change is saved at once."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receipt_core.data.annotation import AnnotationError, least_confident, word_edit
from receipt_core.data.schema import DEFAULT_SCHEMA, QUANTITY
from receipt_core.plots.figures import LOW_CONFIDENCE, document_figure
from ui.actions import document_image
from ui.literal import literal
from ui.shared import (require_router, current_dataset, friendly, loaded_run, run_label, runs_with_checkpoints, user_errors,
                       workspace)

SCHEMA = DEFAULT_SCHEMA
INDEX_KEY = "annotate_index"

require_router()
st.title("Annotate")
ws = workspace()
dataset = current_dataset()
if dataset is None:
    st.info("No data yet: generate demo receipts on Home, or upload on Data.")
    st.stop()

summaries = ws.list_documents(dataset)
ids = [s.id for s in summaries]
titles = {s.id: f"{s.title} · {s.status}" for s in summaries}  # an upload shows its file name
if not ids:
    st.info(f"Dataset {literal(dataset)} is empty.")
    st.stop()

# Jumps (previous/next/least confident) happen in callbacks, before the selectbox below is drawn.
if st.session_state.get("annotate_doc_next") in ids:
    st.session_state["annotate_doc"] = st.session_state.pop("annotate_doc_next")
if st.session_state.get("annotate_doc") not in ids:
    st.session_state["annotate_doc"] = ids[0]


def _move(step: int) -> None:
    current = ids.index(st.session_state["annotate_doc"])
    st.session_state["annotate_doc"] = ids[(current + step) % len(ids)]


nav = st.columns([1, 1, 4, 3])
nav[0].button("◀ Previous", on_click=_move, args=(-1,), key="annotate_prev", width="stretch")
nav[1].button("Next ▶", on_click=_move, args=(1,), key="annotate_next", width="stretch")
doc_id = nav[2].selectbox("Receipt", ids, key="annotate_doc", label_visibility="collapsed", format_func=titles.get)
nav[3].caption(f"{ids.index(doc_id) + 1} of {len(ids)} in {literal(dataset)}")

doc = ws.get_document(doc_id)
version_key = f"annotate_version_{doc.id}"
version = st.session_state.get(version_key, 0)
editor_key = f"annotate_editor_{doc.id}_{version}"


def _save_edits(doc_id: str, key: str, version_key: str) -> None:
    """Save every edited row of the word table (a callback: runs before the page redraws)."""
    edits = st.session_state.get(key, {}).get("edited_rows", {})
    saved = ws.get_document(doc_id)
    messages = []
    for row, change in edits.items():
        index = int(row)
        word = saved.words[index]
        try:
            edit = word_edit(word, {column.replace(" ", "_"): value for column, value in change.items()})
        except AnnotationError as error:
            messages.append(f"word {index} ({word.text!r}): {error}; not saved")
            continue
        try:
            ws.update_word(doc_id, index, edit.label, edit.quantity_value)
        except Exception as error:  # noqa: BLE001 - shown on the page
            messages.append(f"word {index}: {friendly(error)}")
    st.session_state[version_key] = st.session_state.get(version_key, 0) + 1  # fresh table from the saved doc
    st.session_state["annotate_messages"] = messages


low = [i for i, w in enumerate(doc.words) if w.confidence is not None and w.confidence < LOW_CONFIDENCE]
word_key = f"annotate_word_{doc.id}"
left, right = st.columns([5, 4])
with left:
    with user_errors("Drawing the receipt"):
        event = st.plotly_chart(document_figure(doc, document_image(ws, doc), title=doc.id,
                                                selected=st.session_state.get(word_key)),
                                key="annotate_figure", width="stretch", on_select="rerun", selection_mode="points")
        clicked = [p.get("customdata") for p in (event.selection.points if event else []) if p.get("customdata") is not None]
        if clicked and clicked[0] != st.session_state.get("annotate_clicked"):
            st.session_state["annotate_clicked"] = clicked[0]  # apply a click once, not on every rerun
            st.session_state[word_key] = int(clicked[0])
    if not doc.has_image:
        st.caption("This receipt has no image (imported words and boxes only): drawn on a blank page.")
with right:
    counts = doc.label_counts()
    st.caption(f"{len(doc.words)} words · " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
               + (f" · :material/warning: {len(low)} with OCR confidence < {LOW_CONFIDENCE:.0f}" if low else ""))
    if doc.words:
        with st.container(border=True):
            st.caption("Click a word on the receipt, or pick it here:")
            w1, w2, w3, w4 = st.columns([3, 3, 2, 2], vertical_alignment="bottom")
            index = w1.selectbox("Word", range(len(doc.words)), key=word_key,
                                 format_func=lambda i: f"#{i} {doc.words[i].text}")
            word = doc.words[index]
            labels = list(SCHEMA.annotation_labels)
            label = w2.selectbox("Label", labels, index=labels.index(word.annotation_label),
                                 key=f"annotate_label_{doc.id}_{index}_{version}")
            value = w3.number_input("Quantity", value=word.quantity_value, min_value=0.0, step=1.0,
                                    disabled=label != QUANTITY, key=f"annotate_value_{doc.id}_{index}_{version}")
            if w4.button("Save word", type="primary", key="annotate_save_word", width="stretch"):
                with user_errors("Saving the word"):
                    ws.update_word(doc.id, index, label, value)  # the value is kept only with QUANTITY
                    st.session_state[version_key] = version + 1
                    st.toast(f"Saved word #{index} {literal(word.text)} as {label}")
                    st.rerun()
    table = pd.DataFrame({
        "text": [w.text for w in doc.words],
        "label": [w.annotation_label for w in doc.words],
        "quantity value": [w.quantity_value for w in doc.words],
        "OCR confidence": [w.confidence for w in doc.words],
    })
    st.data_editor(
        table, key=editor_key, height=560, width="stretch", num_rows="fixed",
        disabled=["text", "OCR confidence"],
        column_config={
            "label": st.column_config.SelectboxColumn("label", options=list(SCHEMA.annotation_labels), required=True),
            "quantity value": st.column_config.NumberColumn("quantity value", min_value=0.0, step=0.5,
                                                            help="Only for QUANTITY words"),
            "OCR confidence": st.column_config.ProgressColumn("OCR confidence", min_value=0, max_value=100,
                                                              format="%.0f"),
        },
        on_change=_save_edits, args=(doc.id, editor_key, version_key))
    for message in st.session_state.pop("annotate_messages", []):
        st.warning(message)
    st.caption("Every change in the table is saved as soon as you leave the cell.")

st.divider()
st.subheader("Use a trained run")
runs = runs_with_checkpoints()
if not runs:
    st.caption("Train a run first: its predictions can pre-fill labels and point you to the receipts it is least "
               "sure about.")
else:
    by_id = {r.id: r for r in runs}
    run = by_id[st.selectbox("Run", list(by_id), format_func=lambda i: run_label(by_id[i]), key="annotate_run")]
    a, b = st.columns(2)
    if a.button("Suggest labels for this receipt from the run", key="annotate_prefill",
                help="Stored as suggestions on the words nobody labelled; your labels are never replaced."):
        with user_errors("Suggesting labels"), st.spinner("Predicting…"):
            prediction = loaded_run(run.id).predictor().predict([doc])[0]
            ws.store_suggestions(doc.id, prediction.to_json(), run.id)
            st.session_state[version_key] = version + 1
            st.rerun()
    if b.button("Go to the next least-confident receipt", key="annotate_least"):
        with user_errors("Ranking receipts by confidence"), st.spinner("Predicting every receipt of the dataset…"):
            cache_key = ("annotate_scores", run.id, dataset)
            if st.session_state.get("annotate_scores_key") != cache_key:
                docs = ws.load_documents(dataset)
                predictions = loaded_run(run.id).predictor().predict(docs)
                st.session_state["annotate_scores"] = {p.doc_id: p.to_json() for p in predictions}
                st.session_state["annotate_scores_key"] = cache_key
                st.session_state["annotate_visited"] = set()
            visited = st.session_state["annotate_visited"]
            target = least_confident(st.session_state["annotate_scores"], exclude=visited)
            if target is None:
                st.info("Every receipt has been visited in confidence order; starting over.")
                visited.clear()
            else:
                visited.add(target)
                st.session_state["annotate_doc_next"] = target
                st.rerun()
