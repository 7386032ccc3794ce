"""The Annotate page's word table: every word with its label, who gave it, the suggestion waiting (label, score,
run), its item, quantity value and OCR confidence. Label and quantity value are edited in place and saved at once."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from receipt_core.data.markup import visible_text
from receipt_core.data.annotation import AnnotationError, item_numbers, word_edit
from receipt_core.plots.figures import LOW_CONFIDENCE
from receipt_core.data.document import Document, WordLabel, WordLayout
from receipt_core.data.quantity import MAX_QUANTITY
from receipt_core.data.schema import DEFAULT_SCHEMA
from receipt_core.workspace.annotations import ReceiptChangedError, as_seen
from receipt_core.workspace.database import NotFoundError
from ui.annotate_state import bump, say, view_version
from ui.shared import NO_VALUE, friendly, workspace

SCHEMA = DEFAULT_SCHEMA


def score_text(score: float) -> str:
    """A suggestion's score to two decimals, rounded down: shown as "Accept ≥" compares it (a walkthrough saw
    "0.80" still waiting after Accept ≥ 0.80; its score was 0.7953)."""
    return f"{math.floor(score * 100 + 1e-9) / 100:.2f}"  # 0.29 * 100 is 28.999…


def word_table(doc: Document) -> None:
    """Every word: label, who gave it, the suggestion waiting (run and score), item, quantity, OCR confidence.
    Label and quantity value are editable; each edit is saved at once (and reruns only the fragment)."""
    version = view_version(doc)
    numbers = item_numbers(doc)
    editor_key = f"annotate_editor_{doc.id}_{version}"
    table = pd.DataFrame({
        "text": [visible_text(w.text) for w in doc.words],  # a right-to-left override as its escape (probe 32)
        "label": [w.annotation_label if w.is_labelled else None for w in doc.words],  # None: nobody labelled it
        "source": [w.label_source or "—" for w in doc.words],
        "suggested": [f"{w.suggestion.annotation_label} {score_text(w.suggestion.score)} ({w.suggestion.run})"
                      if w.suggestion is not None else "" for w in doc.words],
        # nullable dtypes: a column of nothing but None (a receipt without items) showed "None" in every cell
        # numbered as the Item picker and the overlay's legend number them, not by stored ids: the table said 0
        # where the picker said "item 1 of 21" (a walkthrough); a group that is no item (CORD's total line) says so
        "item": [None if w.group_id is None else str(numbers[w.group_id]) if w.group_id in numbers else "group"
                 for w in doc.words],
        "quantity value": pd.array([w.quantity_value for w in doc.words], dtype="Float64"),
        "OCR confidence": pd.array([w.confidence for w in doc.words], dtype="Float64"),
    })
    st.data_editor(
        table, key=editor_key, placeholder=NO_VALUE, height=420, width="stretch", num_rows="fixed",
        disabled=["text", "source", "suggested", "item", "OCR confidence"],
        column_config={
            # the words whole ("27664/1GF\STRWBRYS" was cut while an empty suggested column took the room: a
            # walkthrough), and kept in view when the table scrolls sideways
            "text": st.column_config.TextColumn("text", width="medium", pinned=True),
            "label": st.column_config.SelectboxColumn("label", options=list(SCHEMA.annotation_labels), width=150,
                                                      help="—: not labelled yet (once other words of the "
                                                           "receipt are, it trains as OTHER)"),
            "source": st.column_config.TextColumn("source", help="Who gave the label: person, model (an accepted "
                                                  "suggestion) or import; — when nobody has"),
            # wide enough for "ITEM_UNIT_PRICE 0.93": "small" cut it to "ITEM_UNIT_PRI…" at 1366 px (a walkthrough)
            "suggested": st.column_config.TextColumn("suggested", width=230 if table["suggested"].any() else "small",
                                                     help="A model's label waiting for you: label, score, run"),
            "quantity value": st.column_config.NumberColumn("quantity value", min_value=0.0, max_value=MAX_QUANTITY,
                                                            step=0.5, help="Only for QUANTITY words"),
            # one neutral colour: the app's primary red read as an alarm even at 96, and "auto" turns red only below
            # 50, while the page counts words under 60 as low (a walkthrough saw a green 52)
            "OCR confidence": st.column_config.ProgressColumn(
                "OCR confidence", min_value=0, max_value=100, format="%.0f", color="blue",
                help=f"Tesseract's confidence in the word, 0-100; under {LOW_CONFIDENCE:g} counts as low (the "
                     "page's ⚠ count, and an orange outline on the overlay)"),
        },
        on_change=_save_edits, args=(doc.id, editor_key, doc.word_layout, doc.word_labels))
    st.caption("Every change in the table is saved as soon as you leave the cell.")


def _save_edits(doc_id: str, key: str, seen: WordLayout, seen_labels: tuple[WordLabel, ...]) -> None:
    """Save every edited row of the word table (a callback: runs before the fragment redraws), each to the word it
    showed (``seen``: the receipt's words as drawn; after another session changed them, nothing is saved; a word
    another session labelled since the table showed it (``seen_labels``) keeps that label)."""
    edits = st.session_state.get(key, {}).get("edited_rows", {})
    ws = workspace()
    try:
        saved = ws.get_document(doc_id)
    except NotFoundError:  # deleted in another session since the table was drawn: the editor's redraw says so
        bump(doc_id)
        return
    messages = []
    try:
        as_seen(saved, seen)  # the rows' indices point at the words drawn, not at another session's since
    except ReceiptChangedError as error:
        bump(doc_id)
        say(str(error))
        return
    for row, change in edits.items():
        index = int(row)
        word = saved.words[index]
        changes = {column.replace(" ", "_"): value for column, value in change.items()
                   if column in ("label", "quantity value") and not (column == "label" and value is None)}
        if not changes:  # a label cell emptied: there is no "unlabelled" to save, the word keeps its label
            continue
        try:
            edit = word_edit(word, changes)
            ws.update_word(doc_id, index, edit.label, edit.quantity_value, seen=seen, seen_labels=seen_labels)
        except ReceiptChangedError as error:
            messages.append(str(error))
            continue
        except AnnotationError as error:
            messages.append(f"word {index} ({word.text!r}): {error}; not saved")
        except Exception as error:  # noqa: BLE001 - shown on the page
            messages.append(f"word {index}: {friendly(error)}")
    bump(doc_id)
    say(*messages)
