"""The Annotate page's word editor: the receipt, the selected word, its suggestion, corrections, items and the word
table — one ``st.fragment``, so labelling (by keyboard, click, dropdown or table) reruns only this part of the page.

Every change goes through the workspace (labels, suggestions, corrections and items are undoable there); this
module only wires widgets to those calls and keeps per-session view state (the selected word, a table version).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import streamlit as st

from receipt_core.data.annotation import item_numbers, new_group_id
from receipt_core.data.document import Document
from receipt_core.data.quantity import MAX_QUANTITY
from receipt_core.data.review import DONE, receipt_status
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER, QUANTITY
from receipt_core.ocr.orientation import turned_note_of
from receipt_core.plots.annotation_figure import annotation_figure
from receipt_core.plots.figures import LOW_CONFIDENCE, WRITTEN_WORDS_MAX, tall_figure_height
from receipt_core.workspace.database import NotFoundError
from receipt_core.wording import as_sentence, counted
from ui.annotate_corrections import corrections
from ui.annotate_history import undo_redo_row
from ui.annotate_keys import KeysView, keyboard_listener, label_keys
from ui.annotate_overlay import LOW_OCR, overlay_choice
from ui.annotate_presses import (KEYS_ACK_KEY, KEYS_KEY, KEYS_VIEW_KEY, LEAVING_KEY, keys_for_the_next_receipt,
                                 on_keys)
from ui.annotate_bulk import box_drawn_news, bulk_label, words_inside
from ui.annotate_region import drawn_box, keep_drawn_box, reread_drawn_button, unreadable_reason
from ui.annotate_state import (DOC_KEY, GO_NEXT_KEY, MESSAGES_KEY, NEXT_DOC_KEY, NOTICE_KEY, TAKE_BACK_KEY,
                               TOAST_KEY, act, first_unlabelled_word, keep_open, receipt_gone, receipt_step,
                               selected_word, view_version, word_key, word_picker_key)
from ui.annotate_table import score_text, word_table
from ui.literal import literal, notice_markdown, plain
from ui.receipt_images import receipt_picture
from ui.shared import user_errors, workspace

SCHEMA = DEFAULT_SCHEMA


@st.fragment
def word_editor(doc_id: str, next_doc_id: str | None, previous_doc_id: str | None, status: str,
                on_done: Callable[[str], None], done_notice: Callable[[Document], None] | None = None) -> None:
    """The editor of receipt ``doc_id`` (whose status the page shows as ``status``); ``next_doc_id`` and
    ``previous_doc_id`` are where keys ``n`` and ``b`` go; ``on_done(doc_id)`` is what the page does after a
    receipt is marked done (the ``d`` key, as its Mark done button). A change that moves the receipt to another
    status reruns the whole page, so the picker and its counts follow; every other change reruns only the editor.
    ``done_notice(doc)`` draws, above the editor, what the page says of the receipt as it is now: in the editor's
    rerun, so a fix made here takes it back (walkthrough 65 put its 6 loose quantities into items with ``i`` under
    "6 of 6 QUANTITY words belong to no item", which stayed until it left the receipt)."""
    ws = workspace()
    if TAKE_BACK_KEY in st.session_state:  # Undo or z asked the page to take back another receipt's done mark
        st.rerun(scope="app")
    step = receipt_step(doc_id)
    target = next_doc_id if step > 0 else previous_doc_id if step < 0 else None
    if target is not None:
        st.session_state[NEXT_DOC_KEY] = target
        st.rerun(scope="app")
    if st.session_state.get(DOC_KEY) not in (None, doc_id):  # a press typed before the browser had drawn this
        # receipt sent the picker as it was, on the receipt n left: the page's next full run went back to it, and
        # the presses after landed there (walkthrough 53's "7 n 8 8" put one 8 on each receipt). This receipt stays.
        st.session_state[NEXT_DOC_KEY] = doc_id
        st.rerun(scope="app")
    try:
        doc = ws.get_document(doc_id)
        reviewed = ws.is_reviewed(doc_id)
    except NotFoundError:  # deleted from another tab or session since the page drew its picker
        receipt_gone(doc_id)
        return
    _follow_status(doc, reviewed, status)
    seen_action = ws.latest_action(doc_id)  # what Undo (the button, the z key) may take back
    if LEAVING_KEY in st.session_state:  # "n" was pressed: the presses after it are this receipt's now
        keys_for_the_next_receipt(doc, seen_action, on_done)
        if st.session_state.get(GO_NEXT_KEY) or TAKE_BACK_KEY in st.session_state:  # another "n" or "b" among
            st.rerun(scope="app")  # them: on to the receipt after; a "z" that takes back a done mark: to it
        doc = ws.get_document(doc_id)
        _follow_status(doc, ws.is_reviewed(doc_id), status)  # those presses may have changed it
        seen_action = ws.latest_action(doc_id)
    if done_notice is not None:
        done_notice(doc)
    st.session_state[KEYS_VIEW_KEY] = KeysView(doc_id, doc.word_labels, seen_action)  # what the presses judge by
    # drawn in the word panel, where the key list is: the list appears once the keys are heard (ui/annotate_keys.py)
    listen = partial(keyboard_listener, KEYS_KEY, st.session_state.get(KEYS_ACK_KEY), SCHEMA,
                     on_keys=lambda: on_keys(doc, seen_action, on_done), view=doc_id)
    # in range (and an index) before anything reads it; a receipt first opened goes on where its labelling stopped
    selected_word(doc_id, len(doc.words), start=first_unlabelled_word(doc))
    # Large view: the receipt over the page's whole width, the word panel under it (beside it, the figure kept its
    # 490 px and a walkthrough saw no change on a photo); the keys label it as before
    large = bool(st.session_state.get(LARGE_KEY))
    left, right = (st.container(), st.container()) if large else st.columns([5, 4])
    with left:
        _figure(doc, large)
    with right:
        _word_panel(doc, listen)
        _receipt_suggestions(doc, seen_action, on_done)
        if toast := st.session_state.pop(TOAST_KEY, None):
            st.toast(toast)
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            st.info(notice_markdown(notice))  # it may quote a dataset name, a word or an error
        for message in st.session_state.pop(MESSAGES_KEY, []):
            st.warning(notice_markdown(message))
    word_table(doc)


def _follow_status(doc: Document, reviewed: bool, status: str) -> None:
    """Rerun the whole page when the receipt's status is no longer the one it shows (``status``), so the picker
    and its counts follow, with the receipt still open: kept in a status filter's list that now leaves it out
    until it is left (:data:`STAY_KEY`; a walkthrough labelling under "unlabelled" was sent to the next receipt by
    its first key press), except when it was marked done, which leaves with its note."""
    if (now := receipt_status(doc, reviewed)) == status:
        return
    if now != DONE:  # a done receipt leaves a filter that leaves it out, with its note (no "not in dataset" line)
        st.session_state[NEXT_DOC_KEY] = doc.id  # stay on this receipt whatever the picker last sent
        keep_open(doc.id)
    st.rerun(scope="app")


# the page's width for the receipt in the Large view, at 1366 px (a view sized wider drew blank bands around it)
LARGE_WIDTH = 900
LARGE_KEY = "annotate_large"
DRAW_KEY = "annotate_draw_boxes"
MIN_BOX_PX = 3  # a drawn box narrower or flatter than this (page pixels) is no box


def _figure(doc: Document, large: bool) -> None:
    ws = workspace()
    # one row: stacked, the two put the receipt's top below the fold at 1366 x 768 (a walkthrough)
    controls = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    # as Predict has it: a long receipt's words were unreadable at 1366 px but by the chart's zoom (a walkthrough)
    controls.toggle("Large view", key=LARGE_KEY, persist_state="session",
                    help="The receipt over the page's whole width, the word panel under it (the keys label as "
                         "before); drag to zoom, double-click to zoom out")
    # a drag that draws boxes until switched off: the toolbar's Box select went back to Zoom after each box read
    # again, and each further box needed it again (walkthrough 38; Label Studio keeps its rectangle tool on)
    controls.toggle("Draw boxes", key=DRAW_KEY, persist_state="session",
                    help="A drag on the receipt draws a box (label its words at once, read it again with OCR, add "
                         "a word the OCR missed) instead of zooming; a click still selects a word")
    overlay = overlay_choice(doc, controls)
    with user_errors("Drawing the receipt"):
        chart_key = f"annotate_figure_{doc.id}"
        picture = receipt_picture(ws, doc)
        figure = annotation_figure(doc, picture.source, selected=st.session_state.get(word_key(doc.id)),
                                   figure_height=tall_figure_height(doc.width, doc.height, screen_width=LARGE_WIDTH)
                                   if large else None)
        if st.session_state.get(DRAW_KEY):
            figure.update_layout(dragmode="select")
        _show_drawn_box(figure, drawn_box(doc.id))
        st.plotly_chart(overlay.draw(figure), key=chart_key, width="stretch",
                        on_select=lambda: _on_select(doc, chart_key), selection_mode=("points", "box"))
        if picture.note:
            st.caption(picture.note)
    drawn = drawn_box(doc.id)
    if drawn:  # said where it is drawn: a walkthrough's box changed nothing in sight, the way on folded below
        x0, y0, x1, y1 = (round(v) for v in drawn)
        holds = bool(words_inside(doc, drawn))  # none: nothing below to label (probe 42)
        readable = unreadable_reason(doc) is None  # no pixels: no read again offered (walkthrough 42)
        reread = "read it again with OCR, " if readable else ""
        st.info(f"Box drawn at x {x0}–{x1}, y {y0}–{y1} (page pixels): "
                + (f"label the words inside it below, {reread}" if holds else
                   f"no word's centre is inside it; {reread}")
                + "or open *Corrections* in the word panel to add a word the OCR missed in it.")
        if readable:
            reread_drawn_button(doc, drawn)
        bulk_label(doc, drawn)
    else:
        # one instruction per goal: walkthrough 48 read the three run together as one
        st.caption("Click a word to select it. Switch *Draw boxes* on (or choose *Box select* in the chart's toolbar, "
                   "top right of the receipt) and drag a box: over several words to label them at once, or where "
                   "the OCR missed a word to add it or read the region again.")


def _show_drawn_box(figure, box: tuple[float, float, float, float] | None) -> None:
    """The box drawn on the receipt, drawn by the page: Plotly's own outline of it went with a redraw (Large view
    on and off) while its buttons stayed, a drag inside it moved it instead of drawing a new one, and a flat drag
    became a band the page's full height (probe 42). A drag is always a rectangle (``selectdirection`` "d")."""
    figure.update_layout(selectdirection="d", selections=[])
    if box is not None:
        figure.add_shape(type="rect", x0=box[0], y0=box[1], x1=box[2], y1=box[3], layer="above",
                         line=dict(color="#1f3a93", width=2, dash="dash"), fillcolor="rgba(31,58,147,0.10)")


def _on_select(doc: Document, chart_key: str) -> None:
    """A click selects a word; a box drawn with Box select becomes the box of a word to add or a region to read
    (the part of it on the page: a drag may start beside the receipt)."""
    selection = (st.session_state.get(chart_key) or {}).get("selection") or {}
    points = [p.get("customdata") for p in selection.get("points", []) if p.get("customdata") is not None]
    boxes = selection.get("box") or []
    if points and not boxes:  # a box's words are not a click: it moved the selection onto the first word inside
        st.session_state[word_key(doc.id)] = int(points[0])  # the box, and the next edit went there (a check)
    if boxes:
        xs, ys = boxes[0].get("x", []), boxes[0].get("y", [])
        if len(xs) >= 2 and len(ys) >= 2:
            x0, x1 = (min(max(v, 0.0), float(doc.width)) for v in (min(xs), max(xs)))
            y0, y1 = (min(max(v, 0.0), float(doc.height)) for v in (min(ys), max(ys)))
            if x1 - x0 < MIN_BOX_PX or y1 - y0 < MIN_BOX_PX:  # a flat or tiny drag: no box, said (probe 42's was
                st.session_state[TOAST_KEY] = (f"No box drawn: the drag covered {x1 - x0:.0f}×{y1 - y0:.0f} page "
                                               "pixels of the receipt; drag diagonally over the words")  # a band
                return
            replaced = drawn_box(doc.id) not in (None, (x0, y0, x1, y1))
            keep_drawn_box(doc.id, (x0, y0, x1, y1))
            st.session_state[TOAST_KEY] = box_drawn_news(doc, (x0, y0, x1, y1), replaced)


def _word_panel(doc: Document, listen: Callable[[], None]) -> None:
    """The selected word: its label, value, suggestion and item, then the keyboard listener and its key list
    (``listen``), then the corrections."""
    counts = doc.label_counts(labelled_only=True)
    low = sum(1 for w in doc.words if w.confidence is not None and w.confidence < LOW_CONFIDENCE)
    parts = [counted(len(doc.words), "word"), f"{doc.labelled_words} labelled", f"{doc.suggested_words} suggested"]
    if counts:
        # a label of no schema (a tampered workspace) as text: a probe's was a live link in this caption
        parts.append(", ".join(f"{k if k in SCHEMA.annotation_labels else literal(ascii(k)[:60])} {v}"
                               for k, v in sorted(counts.items())))
    if low:
        parts.append(f":material/warning: {low} with OCR confidence < {LOW_CONFIDENCE:.0f} (Overlay → {LOW_OCR} "
                     "outlines them)")
    st.caption(" · ".join(parts))
    if turned := turned_note_of(doc.meta, then="upload it again on Data, and delete this receipt there (Receipts → "
                                               "Delete this receipt)"):  # probe 46 labelled nonsense words
        st.warning(f"{as_sentence(turned)}.")
    if len(doc.words) > WRITTEN_WORDS_MAX:  # a probe's 4,116-word import took 9-11 s per key press
        st.warning(f"This receipt has {len(doc.words):,} words, more than any receipt prints: each change redraws "
                   "them all and takes seconds, and the figure draws their boxes without their text (the Word "
                   "picker and the word table name them).")
    if not doc.words:
        st.info("This receipt has no words: add the ones the OCR missed under Corrections.")
        listen()  # n, z and y still work here
        corrections(doc, None)
        return
    version = view_version(doc)
    with st.container(border=True):
        index = selected_word(doc.id, len(doc.words))
        picker = word_picker_key(doc.id, index, version)
        st.selectbox("Word", range(len(doc.words)), index=index, key=picker,
                     format_func=lambda i: plain(f"#{i} {doc.words[i].text}"),
                     on_change=_pick, args=(doc.id, index, picker))
        word = doc.words[index]
        labels = list(SCHEMA.annotation_labels)
        top = st.container(horizontal=True, vertical_alignment="bottom")  # wraps where two columns cut "Label"
        label_key = f"annotate_label_{doc.id}_{index}_{version}"
        value_key = f"annotate_value_{doc.id}_{index}_{version}"
        # the word's own label, saved as soon as it is chosen (a walkthrough lost a label picked here and left
        # without pressing a Save button, while the label keys and the table saved at once); a suggestion is not
        # shown as if it were the label: "Accept this word" below takes it
        offered = word.annotation_label if word.is_labelled else None  # nobody's label: none shown, not OTHER
        if offered is not None and offered not in labels:  # a label of no schema (a tampered workspace): said, not
            st.warning(f"This word's stored label, {literal(ascii(offered)[:60])}, is not one of the labels: choose "
                       "one.")  # a crash that closed the receipt for good (a probe)
            offered = None
        # short ("not labelled: choose one" lost its last word at 1280 px, a walkthrough); 250 px: at 190 "suggested
        # ITEM_UNIT_PRICE" read "suggested ITEM_UNIT_P" (a walkthrough)
        placeholder = (f"suggested {word.suggestion.annotation_label}" if word.suggestion is not None
                       else "choose a label")
        key_of = {label: key for key, label in label_keys(SCHEMA).items()}  # each label's key, said beside it:
        # the key map sat below the fold at 1366 x 768 (a walkthrough)
        label = top.selectbox("Label", labels, width=250, index=None if offered is None else labels.index(offered),
                              format_func=lambda name: f"{name} (key {key_of[name]})" if name in key_of else name,
                              key=label_key, placeholder=placeholder, help="Saved as soon as it is chosen",
                              on_change=_save_word, args=(doc, index, label_key, value_key))
        value = word.quantity_value if word.is_labelled else None
        shown_value = value if value is None or 0 <= value <= MAX_QUANTITY else None
        # drawn with value None (its stored value put in the state first): a field Streamlit starts with a number
        # cannot be emptied, and an empty field is how a typed value goes back to the one read from the text (a probe)
        if value_key not in st.session_state:
            st.session_state[value_key] = shown_value
        # %g: a weight of 0.657 kg showed as 0.66 (a walkthrough), a count of 2 as 2.00
        top.number_input("Quantity", width=120, value=None, min_value=0.0, max_value=MAX_QUANTITY, step=1.0,
                         format="%g", disabled=label != QUANTITY, key=value_key, on_change=_save_word,
                         args=(doc, index, label_key, value_key),
                         help="Saved as soon as it is typed; read from the word's text when left empty")
        source = (f"labelled by {word.label_source}" + (f" (run {word.label_run}, score {score_text(word.label_score)})"
                                                         if word.label_source == "model" else "")
                  if word.is_labelled else "not labelled yet")
        st.caption(literal(source))
        if word.suggestion is not None:
            s = word.suggestion
            st.markdown(f":violet-badge[suggested] **{s.annotation_label}** · score {score_text(s.score)} · run "
                        f"{literal(s.run)}")
            a, r = st.columns(2)
            a.button("Accept this word", key="annotate_accept_word", width="stretch", on_click=act,
                     args=(doc, lambda ws: ws.accept_suggestions(doc.id, [index], seen=doc.word_layout), True))
            r.button("Reject this suggestion", key="annotate_reject_word", width="stretch", on_click=act,
                     args=(doc, lambda ws: ws.reject_suggestions(doc.id, [index], seen=doc.word_layout)))
        _item(doc, index, version)
        listen()
    corrections(doc, index)


def _save_word(doc: Document, index: int, label_key: str, value_key: str) -> None:
    """The Label or Quantity widget's change saved at once: the chosen label, and the typed value when it is
    ``QUANTITY`` (empty: read from the word's text)."""
    label = st.session_state.get(label_key)
    if label is None:
        return
    value = st.session_state.get(value_key) if label == QUANTITY else None
    word = doc.words[index]
    # a widget of a word no longer selected, or one that reports the label the word has: no change. Moved through
    # with j at typing speed, the browser reported each word's widget value afresh, and every word passed had its
    # import label saved again as a person's, with a false "another session labelled it" (probe 29)
    if st.session_state.get(word_key(doc.id)) != index or (
            word.is_labelled and word.annotation_label == label and (label != QUANTITY
                                                                     or value == word.quantity_value)):
        return
    act(doc, lambda ws: ws.update_word(doc.id, index, label, value, seen=doc.word_layout,
                                       seen_labels=doc.word_labels))


def _pick(doc_id: str, shown: int, picker: str) -> None:
    """The word picker's choice, taken only from the picker of the word selected now: the browser may send a
    picker from before a few key presses again, whose value would jump back."""
    chosen = st.session_state[picker]
    if st.session_state.get(word_key(doc_id), 0) == shown and isinstance(chosen, int):
        st.session_state[word_key(doc_id)] = chosen


def _item(doc: Document, index: int, version: int) -> None:
    """Which item (``group_id``) the word belongs to, and its words; changing it saves at once."""
    word = doc.words[index]
    groups = sorted({w.group_id for w in doc.words if w.group_id is not None})
    fresh = new_group_id(doc)
    options = [None, *groups, fresh]

    number = item_numbers(doc)  # 1…n in reading order, as the word table and the overlay's legend count them
    items = list(number)

    def name(group: int | None) -> str:
        if group is None:
            return "no item"
        members = [w.text for w in doc.words if w.group_id == group]
        if not members:
            return f"item {len(items) + 1} (new)"
        if group not in number:  # CORD groups its subtotal and total lines too: no item word among them
            return plain("group: " + " ".join(members)[:60])
        return plain(f"item {number[group]} of {len(items)}: " + " ".join(members)[:60])

    key = f"annotate_item_{doc.id}_{index}_{version}"
    st.selectbox("Item", options, index=options.index(word.group_id), format_func=name, key=key,
                 help="Words of one item: its name, quantity, unit price and price; changing it saves at once, and "
                      "the labelled item words of this line in no item yet join it too. A 'group' holds no item "
                      "word (CORD also numbers its subtotal and total lines)",
                 on_change=lambda: act(doc, lambda ws: ws.set_group(doc.id, index, st.session_state[key],
                                                                    seen=doc.word_layout)))


def _receipt_suggestions(doc: Document, seen_action: int | None, on_done: Callable[[str], None]) -> None:
    if not doc.suggested_words:
        undo_redo_row(doc, seen_action, on_done)
        return
    with st.container(border=True):
        others = sum(1 for w in doc.words if w.suggestion is not None and w.suggestion.annotation_label == OTHER)
        st.caption(f"{counted(doc.suggested_words, 'suggestion')} waiting on this receipt"  # the done warning counts
                   + (f", {others} of them OTHER" if others else ""))  # fields and quantities (walkthrough 37)
        minimum = st.slider("Accept those scoring at least", 0.0, 1.0, 0.8, 0.05, key="annotate_min_score")
        row = st.container(horizontal=True)  # buttons at their own width, wrapping: "Accept ≥ 0.80" was cut in a
        row.button("Accept all", key="annotate_accept_all", width="content", on_click=act,  # third (a walkthrough)
                   args=(doc, lambda ws: ws.accept_suggestions(doc.id)), kwargs={"done": "accepted"})
        row.button(f"Accept ≥ {minimum:.2f}", key="annotate_accept_above", width="content", on_click=act,
                   args=(doc, lambda ws: ws.accept_suggestions(doc.id, None, st.session_state["annotate_min_score"])),
                   kwargs={"done": "accepted"})
        row.button("Reject all", key="annotate_reject_all", width="content", on_click=act,
                   args=(doc, lambda ws: ws.reject_suggestions(doc.id)), kwargs={"done": "rejected"})
        undo_redo_row(doc, seen_action, on_done)
