"""The Annotate page's word editor: the receipt, the selected word, its suggestion, corrections, items and the word
table — one ``st.fragment``, so labelling (by keyboard, click, dropdown or table) reruns only this part of the page.

Every change goes through the workspace (labels, suggestions, corrections and items are undoable there); this
module only wires widgets to those calls and keeps per-session view state (the selected word, a table version).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from receipt_core.data.annotation import AnnotationError, new_group_id, word_edit
from receipt_core.data.document import Document
from receipt_core.data.review import receipt_status
from receipt_core.data.schema import DEFAULT_SCHEMA, QUANTITY
from receipt_core.plots.annotation_figure import annotation_figure
from receipt_core.plots.figures import LOW_CONFIDENCE
from ui.actions import document_image
from ui.annotate_keys import apply_keys, key_help, keyboard_listener, new_presses
from ui.literal import literal
from ui.shared import friendly, user_errors, workspace

SCHEMA = DEFAULT_SCHEMA
KEYS_KEY = "annotate_keys"  # the keyboard component's key
NEXT_DOC_KEY = "annotate_doc_next"  # a receipt to select at the next full rerun
MESSAGES_KEY = "annotate_messages"


def word_key(doc_id: str) -> str:
    """The selected word of receipt ``doc_id`` (plain session state, not a widget's: a key pressed while the page
    is still redrawing would otherwise come back with the word picker's old value and label the wrong word)."""
    return f"annotate_cursor_{doc_id}"


def word_picker_key(doc_id: str, index: int) -> str:
    """The word picker's key names the word it shows, so a picker value from before a jump is never taken."""
    return f"annotate_word_{doc_id}_{index}"


def version_key(doc_id: str) -> str:
    return f"annotate_version_{doc_id}"


def _bump(doc_id: str) -> None:
    """Fresh widgets (label, table) from the saved document at the next draw."""
    st.session_state[version_key(doc_id)] = st.session_state.get(version_key(doc_id), 0) + 1


def _say(*messages: str) -> None:
    st.session_state.setdefault(MESSAGES_KEY, []).extend(messages)


@st.fragment
def word_editor(doc_id: str, next_doc_id: str | None, status: str) -> None:
    """The editor of receipt ``doc_id`` (whose status the page shows as ``status``); ``next_doc_id`` is where
    "next receipt" (key ``n``) goes. A change that moves the receipt to another status reruns the whole page, so
    the picker and its counts follow; every other change reruns only the editor."""
    ws = workspace()
    if st.session_state.pop("annotate_go_next", False) and next_doc_id is not None:
        st.session_state[NEXT_DOC_KEY] = next_doc_id
        st.rerun(scope="app")
    doc = ws.get_document(doc_id)
    if receipt_status(doc, ws.is_reviewed(doc_id)) != status:
        st.rerun(scope="app")
    keyboard_listener(KEYS_KEY, st.session_state.get("annotate_keys_ack"), SCHEMA,
                      on_keys=lambda: _on_keys(doc_id, len(doc.words)))
    if st.session_state.get(word_key(doc_id), 0) >= max(len(doc.words), 1):
        st.session_state[word_key(doc_id)] = max(len(doc.words) - 1, 0)
    left, right = st.columns([5, 4])
    with left:
        _figure(doc)
    with right:
        _word_panel(doc)
        _receipt_suggestions(doc)
        notice = st.session_state.pop("annotate_notice", None)
        if notice:
            st.info(notice)
        for message in st.session_state.pop(MESSAGES_KEY, []):
            st.warning(literal(message))
    _table(doc)


def _on_keys(doc_id: str, words: int) -> None:
    """Key presses from the listener (a callback: runs before the fragment redraws)."""
    value = st.session_state.get(KEYS_KEY) or {}
    keys, ack = new_presses(value.get("keys") if hasattr(value, "get") else None,
                            st.session_state.get("annotate_keys_ack"))
    st.session_state["annotate_keys_ack"] = ack
    if not keys:
        return
    outcome = apply_keys(workspace(), doc_id, st.session_state.get(word_key(doc_id), 0), words, keys, SCHEMA)
    st.session_state[word_key(doc_id)] = outcome.index
    if outcome.changed:
        _bump(doc_id)
    if outcome.next_receipt:
        st.session_state["annotate_go_next"] = True
    _say(*outcome.messages)


def _figure(doc: Document) -> None:
    ws = workspace()
    with user_errors("Drawing the receipt"):
        chart_key = f"annotate_figure_{doc.id}"
        st.plotly_chart(annotation_figure(doc, document_image(ws, doc),
                                          selected=st.session_state.get(word_key(doc.id))),
                        key=chart_key, width="stretch", on_select=lambda: _on_select(doc.id, chart_key),
                        selection_mode=("points", "box"))
    if not doc.has_image:
        st.caption("This receipt has no image (imported words and boxes only): drawn on a blank page.")
    st.caption("Click a word to select it. To add a word the OCR missed, choose *Box select* in the chart's "
               "toolbar and drag over it, then type its text under *Corrections*.")


def _on_select(doc_id: str, chart_key: str) -> None:
    """A click selects a word; a box drawn with Box select becomes the box of a word to add."""
    selection = (st.session_state.get(chart_key) or {}).get("selection") or {}
    points = [p.get("customdata") for p in selection.get("points", []) if p.get("customdata") is not None]
    if points:
        st.session_state[word_key(doc_id)] = int(points[0])
    boxes = selection.get("box") or []
    if boxes:
        xs, ys = boxes[0].get("x", []), boxes[0].get("y", [])
        if len(xs) >= 2 and len(ys) >= 2:
            st.session_state["annotate_drawn_box"] = (min(xs), min(ys), max(xs), max(ys))


def _word_panel(doc: Document) -> None:
    counts = doc.label_counts()
    low = sum(1 for w in doc.words if w.confidence is not None and w.confidence < LOW_CONFIDENCE)
    st.caption(f"{len(doc.words)} words · {doc.labelled_words} labelled · {doc.suggested_words} suggested · "
               + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
               + (f" · :material/warning: {low} with OCR confidence < {LOW_CONFIDENCE:.0f}" if low else ""))
    if not doc.words:
        st.info("This receipt has no words: add the ones the OCR missed under Corrections.")
        _corrections(doc, None)
        return
    version = st.session_state.get(version_key(doc.id), 0)
    with st.container(border=True):
        index = st.session_state.get(word_key(doc.id), 0)
        picker = word_picker_key(doc.id, index)
        st.selectbox("Word", range(len(doc.words)), index=index, key=picker,
                     format_func=lambda i: f"#{i} {doc.words[i].text}",
                     on_change=_pick, args=(doc.id, index, picker))
        word = doc.words[index]
        labels = list(SCHEMA.annotation_labels)
        top = st.columns(2, vertical_alignment="bottom")
        label_key = f"annotate_label_{doc.id}_{index}_{version}"
        value_key = f"annotate_value_{doc.id}_{index}_{version}"
        label = top[0].selectbox("Label", labels, index=labels.index(word.annotation_label), key=label_key)
        top[1].number_input("Quantity", value=word.quantity_value, min_value=0.0, step=1.0,
                            disabled=label != QUANTITY, key=value_key, help="Read from the word's text when left empty")
        source = (f"labelled by {word.label_source}" + (f" (run {word.label_run}, score {word.label_score:.2f})"
                                                         if word.label_source == "model" else "")
                  if word.is_labelled else "not labelled yet")
        bottom = st.columns(2, vertical_alignment="center")
        bottom[0].caption(literal(source))
        bottom[1].button("Save word", type="primary", key="annotate_save_word", width="stretch", on_click=_act,
                         args=(doc, lambda ws: ws.update_word(doc.id, index, st.session_state[label_key],
                                                              st.session_state[value_key])))
        if word.suggestion is not None:
            s = word.suggestion
            st.markdown(f":violet-badge[suggested] **{s.annotation_label}** · score {s.score:.2f} · run "
                        f"{literal(s.run)}")
            a, r = st.columns(2)
            a.button("Accept this word", key="annotate_accept_word", width="stretch", on_click=_act,
                     args=(doc, lambda ws: ws.accept_suggestions(doc.id, [index]), True))
            r.button("Reject this suggestion", key="annotate_reject_word", width="stretch", on_click=_act,
                     args=(doc, lambda ws: ws.reject_suggestions(doc.id, [index])))
        _item(doc, index, version)
        st.caption(key_help(SCHEMA))
    _corrections(doc, index)


def _pick(doc_id: str, shown: int, picker: str) -> None:
    """The word picker's choice, taken only from the picker of the word selected now: the browser may send a
    picker from before a few key presses again, whose value would jump back."""
    if st.session_state.get(word_key(doc_id), 0) == shown:
        st.session_state[word_key(doc_id)] = st.session_state[picker]


def _act(doc: Document, change, advance: bool = False) -> None:
    """A button's callback: one workspace change on ``doc`` (a function of the workspace), what it skipped or
    why it failed said on the page; ``advance`` moves to the next word."""
    try:
        result = change(workspace())
    except Exception as error:  # noqa: BLE001 - shown on the page, the editor stays usable
        _say(friendly(error))
        return
    _say(*getattr(result, "skipped", ()))
    if advance:
        st.session_state[word_key(doc.id)] = min(st.session_state.get(word_key(doc.id), 0) + 1,
                                                 max(len(doc.words) - 1, 0))
    _bump(doc.id)


def _item(doc: Document, index: int, version: int) -> None:
    """Which item (``group_id``) the word belongs to, and its words; changing it saves at once."""
    word = doc.words[index]
    groups = sorted({w.group_id for w in doc.words if w.group_id is not None})
    fresh = new_group_id(doc)
    options = [None, *groups, fresh]

    def name(group: int | None) -> str:
        if group is None:
            return "no item"
        members = [w.text for w in doc.words if w.group_id == group]
        return f"item {group}: " + " ".join(members)[:60] if members else f"item {group} (new)"

    key = f"annotate_item_{doc.id}_{index}_{version}"
    st.selectbox("Item", options, index=options.index(word.group_id), format_func=name, key=key,
                 help="Words of one item: its name, quantity, unit price and price; changing it saves at once",
                 on_change=lambda: _act(doc, lambda ws: ws.set_group(doc.id, index, st.session_state[key])))


def _receipt_suggestions(doc: Document) -> None:
    if not doc.suggested_words:
        st.button("Undo last change", key="annotate_undo", icon=":material/undo:", on_click=_undo, args=(doc,))
        return
    with st.container(border=True):
        st.caption(f"{doc.suggested_words} suggestion(s) waiting on this receipt")
        minimum = st.slider("Accept those scoring at least", 0.0, 1.0, 0.8, 0.05, key="annotate_min_score")
        a, b, c = st.columns(3)
        a.button("Accept all", key="annotate_accept_all", width="stretch", on_click=_act,
                 args=(doc, lambda ws: ws.accept_suggestions(doc.id)))
        b.button(f"Accept ≥ {minimum:.2f}", key="annotate_accept_above", width="stretch", on_click=_act,
                 args=(doc, lambda ws: ws.accept_suggestions(doc.id, None, st.session_state["annotate_min_score"])))
        c.button("Reject all", key="annotate_reject_all", width="stretch", on_click=_act,
                 args=(doc, lambda ws: ws.reject_suggestions(doc.id)))
        st.button("Undo last change", key="annotate_undo", icon=":material/undo:", on_click=_undo, args=(doc,))


def _undo(doc: Document) -> None:
    try:
        undone = workspace().undo(doc.id)
    except Exception as error:  # noqa: BLE001 - shown on the page
        _say(friendly(error))
        return
    st.session_state["annotate_notice"] = ("Nothing to undo on this receipt." if undone is None else
                                           f"Undid the last {undone.kind} ({undone.words} word(s)).")
    _bump(doc.id)


def _corrections(doc: Document, index: int | None) -> None:
    """Fix what the OCR read: the selected word's text, delete, split, merge with the next; add a missed word."""
    with st.expander("Corrections (text, delete, split, merge, add a word)"):
        version = st.session_state.get(version_key(doc.id), 0)
        if index is not None:
            word = doc.words[index]
            text_key = f"annotate_text_{doc.id}_{index}_{version}"
            st.text_input("Text of the selected word", value=word.text, key=text_key)
            a, b, c, d = st.columns(4)
            a.button("Save text", key="annotate_save_text", width="stretch", on_click=_act,
                     args=(doc, lambda ws: ws.edit_word_text(doc.id, index, st.session_state[text_key])))
            b.button("Split at spaces", key="annotate_split", width="stretch", on_click=_act,
                     args=(doc, lambda ws: ws.split_word(doc.id, index, st.session_state[text_key].split())),
                     help="Type the parts separated by spaces in the text box first")
            c.button("Merge with next", key="annotate_merge", width="stretch", disabled=index + 1 >= len(doc.words),
                     on_click=_act, args=(doc, lambda ws: ws.merge_with_next(doc.id, index)))
            d.button("Delete word", key="annotate_delete", width="stretch", on_click=_act,
                     args=(doc, lambda ws: ws.delete_word(doc.id, index)))
        st.markdown("**Add a word the OCR missed**")
        drawn = st.session_state.get("annotate_drawn_box") or (0.0, 0.0, 0.0, 0.0)
        new_text_key = f"annotate_new_text_{doc.id}_{version}"
        st.text_input("Its text", key=new_text_key)
        cols = st.columns(4)
        box_keys = [f"annotate_new_{name}_{doc.id}_{version}_{drawn}" for name in ("x0", "y0", "x1", "y1")]
        for i, name in enumerate(("x0", "y0", "x1", "y1")):
            cols[i].number_input(name, value=float(round(drawn[i])), min_value=0.0, step=1.0, key=box_keys[i],
                                 help="Page pixels, from the top-left corner")
        st.button("Add word", key="annotate_add_word", on_click=_add, args=(doc, new_text_key, box_keys))


def _add(doc: Document, text_key: str, box_keys: list[str]) -> None:
    st.session_state.pop("annotate_drawn_box", None)
    _act(doc, lambda ws: ws.add_word(doc.id, st.session_state.get(text_key, ""),
                                     [st.session_state[k] for k in box_keys]))


def _table(doc: Document) -> None:
    """Every word: label, who gave it, the suggestion waiting (run and score), item, quantity, OCR confidence.
    Label and quantity value are editable; each edit is saved at once (and reruns only the fragment)."""
    version = st.session_state.get(version_key(doc.id), 0)
    editor_key = f"annotate_editor_{doc.id}_{version}"
    table = pd.DataFrame({
        "text": [w.text for w in doc.words],
        "label": [w.annotation_label for w in doc.words],
        "source": [w.label_source or "—" for w in doc.words],
        "suggested": [f"{w.suggestion.annotation_label} {w.suggestion.score:.2f} ({w.suggestion.run})"
                      if w.suggestion is not None else "" for w in doc.words],
        "item": [w.group_id for w in doc.words],
        "quantity value": [w.quantity_value for w in doc.words],
        "OCR confidence": [w.confidence for w in doc.words],
    })
    st.data_editor(
        table, key=editor_key, height=420, width="stretch", num_rows="fixed",
        disabled=["text", "source", "suggested", "item", "OCR confidence"],
        column_config={
            "label": st.column_config.SelectboxColumn("label", options=list(SCHEMA.annotation_labels), required=True),
            "source": st.column_config.TextColumn("source", help="Who gave the label: person, model (an accepted "
                                                  "suggestion) or import; — when nobody has"),
            "suggested": st.column_config.TextColumn("suggested", help="A model's label waiting for you: "
                                                     "label, score, run"),
            "quantity value": st.column_config.NumberColumn("quantity value", min_value=0.0, step=0.5,
                                                            help="Only for QUANTITY words"),
            "OCR confidence": st.column_config.ProgressColumn("OCR confidence", min_value=0, max_value=100,
                                                              format="%.0f"),
        },
        on_change=_save_edits, args=(doc.id, editor_key))
    st.caption("Every change in the table is saved as soon as you leave the cell.")


def _save_edits(doc_id: str, key: str) -> None:
    """Save every edited row of the word table (a callback: runs before the fragment redraws)."""
    edits = st.session_state.get(key, {}).get("edited_rows", {})
    ws = workspace()
    saved = ws.get_document(doc_id)
    messages = []
    for row, change in edits.items():
        index = int(row)
        word = saved.words[index]
        try:
            edit = word_edit(word, {column.replace(" ", "_"): value for column, value in change.items()
                                    if column in ("label", "quantity value")})
            ws.update_word(doc_id, index, edit.label, edit.quantity_value)
        except AnnotationError as error:
            messages.append(f"word {index} ({word.text!r}): {error}; not saved")
        except Exception as error:  # noqa: BLE001 - shown on the page
            messages.append(f"word {index}: {friendly(error)}")
    _bump(doc_id)
    _say(*messages)
