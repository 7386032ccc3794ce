"""Predict: OCR an uploaded receipt (or take one from the workspace) and run a trained run's model on it."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from receipt_core.plots.figures import prediction_figure
from receipt_core.data.images import ImageLoadError, load_image
from receipt_core.ocr.engine import OcrCache, ocr_many
from ui.actions import document_image
from ui.shared import require_router, current_dataset, friendly, loaded_run, run_label, runs_with_checkpoints, user_errors, workspace

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp", "gif", "pdf"]

require_router()
st.title("Predict")
ws = workspace()
runs = runs_with_checkpoints()
if not runs:
    st.info("No trained run with a checkpoint yet: train one on the Train page first.")
    st.stop()

by_id = {r.id: r for r in runs}
run = by_id[st.selectbox("Run", list(by_id), format_func=lambda i: run_label(by_id[i]), key="predict_run")]
source = st.radio("Receipt", ["Upload an image", "A receipt from the workspace"], horizontal=True,
                  key="predict_source")

doc, image = None, None
if source == "Upload an image":
    upload = st.file_uploader("Receipt image", type=UPLOAD_TYPES, key="predict_upload")
    if upload is not None:
        data = upload.getvalue()
        try:
            loaded = load_image(data, upload.name)
        except ImageLoadError as error:
            st.error(friendly(error))
            st.stop()
        if loaded.note:
            st.info(loaded.note)
        with user_errors("OCR"), st.spinner("Reading the receipt with Tesseract…"):
            result = ocr_many([(upload.name, data)], workers=1, cache=OcrCache(ws.home / "ocr-cache"))[0]
            if result.error:
                st.error(result.error)
            else:
                doc, image = result.document, loaded.image
else:
    dataset = current_dataset()
    ids = [s.id for s in ws.list_documents(dataset)] if dataset else []
    if not ids:
        st.info("The workspace has no receipts yet.")
    else:
        doc_id = st.selectbox(f"Receipt from '{dataset}'", ids, key="predict_doc")
        doc = ws.get_document(doc_id)
        image = document_image(ws, doc)

if doc is not None:
    if not doc.words:
        st.warning("Tesseract found no words in this image (blank or unreadable), so there is nothing to predict.")
        st.stop()
    with user_errors("Prediction"), st.spinner("Running the model…"):
        prediction = loaded_run(run.id).predictor().predict([doc])[0].to_json()
        left, right = st.columns([3, 2])
        left.plotly_chart(prediction_figure(doc.width, doc.height, prediction, image, title=f"{run.name}"),
                          key="predict_figure", width="stretch")
        with right:
            st.markdown("**Items**")
            items = pd.DataFrame(prediction["items"], columns=["name", "quantity", "unit_price", "price"])
            st.dataframe(items, hide_index=True, key="predict_items", width="stretch")
            fields = pd.DataFrame([w for w in prediction["words"] if w["field"] != "OTHER" or w["quantity"]],
                                  columns=["text", "field", "field_score", "quantity", "quantity_value"])
            st.markdown("**Labelled words**")
            st.dataframe(fields, hide_index=True, key="predict_words", width="stretch", height=320)
            st.download_button("Download JSON", json.dumps({"documents": [prediction]}, indent=1).encode("utf-8"),
                               file_name=f"{doc.id}-prediction.json", mime="application/json",
                               key="predict_json")
