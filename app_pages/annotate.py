"""Annotate: pick a receipt (by status, file name or id), label it in the word editor (a fragment: keys, clicks,
dropdowns and the table rerun only the editor), accept or reject a run's suggestions, correct the OCR, mark it
done. Where you are lives in the URL."""

from __future__ import annotations

import streamlit as st

from receipt_core.data.markup import escape_markdown
from receipt_core.data.review import DONE, IN_PROGRESS, STATUSES, TAKE_BACK, done_warning
from receipt_core.datasets.splits import evaluated_dataset
from receipt_core.workspace.database import NotFoundError
from receipt_core.workspace.documents import DamagedDocumentError
from ui.annotate_editor import word_editor
from ui.annotate_model import model_section, retrain_after_done
from ui.annotate_state import (CAME_FROM_KEY, DOC_KEY, DONE_WARNING_KEY, FILTER_KEY, LEFT_DONE_KEY, MARKED_DONE_KEY,
                               NEXT_DOC_KEY, NOTICE_KEY, SEARCH_KEY, TAKE_BACK_KEY, keep_open, left_list_note,
                               left_receipt_to_go_back_to, with_receipt_kept_open)
from ui.annotate_url import FIRST_RECEIPT, restore_from_url, write_to_url
from ui.dataset_choice import current_dataset, select_dataset
from ui.literal import literal, notice_markdown, plain
from ui.shared import NO_DATA, forget_stale_choice, friendly, no_receipt_matches, require_router, user_errors, workspace

LAST_OPEN_KEY = "annotate_last_open"  # dataset -> the receipt last open in it this session
MOVED_KEY = "annotate_moved_dataset"  # why the sidebar moved to another dataset (said once)

require_router()
st.title("Annotate")
ws = workspace()
restore_from_url(NEXT_DOC_KEY, widget_key=FILTER_KEY)
dataset = current_dataset()
if (moved := st.session_state.pop(MOVED_KEY, None)) is not None:
    st.info(moved)  # its names as code spans
if dataset is None:
    st.info(NO_DATA)
    st.stop()
if (evaluates := evaluated_dataset([d.name for d in ws.datasets()], dataset)) is not None:
    # a warning when a link moved here: walkthrough 29 followed a receipt link into cord-sample-dev and merged and
    # deleted words there, told only by a grey line that the sidebar had moved
    (st.warning if moved else st.caption)(
        f"{literal(dataset)} is the evaluation dataset of {literal(evaluates)}: runs are scored on its labels, so a "
        "correction here changes their scores, not what they learn.")


def _take_back(doc_id: str, seen_action: int | None) -> None:
    """Take back the done mark of ``doc_id``, which left the filtered list, when it is still the receipt's latest
    change (a probe's stale button took back another session's newer mark), and open it: kept open under the
    status filter in force when that would still leave it out."""
    try:
        workspace().undo(doc_id, seen_action=seen_action)
        status_now = st.session_state.get(FILTER_KEY, "all")
        shown = workspace().list_documents(current_dataset(), status=None if status_now == "all" else status_now,
                                           search=st.session_state.get(SEARCH_KEY) or None)
    except Exception as error:  # noqa: BLE001 - shown on the page
        st.session_state[NOTICE_KEY] = f"The done mark was not taken back: {friendly(error)}"
        return
    st.session_state.pop(LEFT_DONE_KEY, None)
    st.session_state[NOTICE_KEY] = f"Took back the done mark of receipt {doc_id!r}: it is open again."
    if doc_id not in {summary.id for summary in shown}:  # kept open under the filter in force, which it no longer
        keep_open(doc_id)  # matches (a walkthrough's filter was switched to "all" without a word)
    st.session_state[NEXT_DOC_KEY] = doc_id


if (request := st.session_state.pop(TAKE_BACK_KEY, None)) is not None:  # Undo or z pressed for it in the editor
    _take_back(*request)
counts = ws.status_counts(dataset)
filters = st.columns([2, 3, 4], vertical_alignment="bottom")
# the counts are in the caption beside it, not in the options: Streamlit keeps a selectbox's choice as its option's
# text, so a count in it that changed (a receipt marked done, another dataset) left a choice that is no status
forget_stale_choice(FILTER_KEY, ["all", *STATUSES])
status = filters[0].selectbox("Status", ["all", *STATUSES], key=FILTER_KEY)
search = filters[1].text_input("Search by file name or id", key=SEARCH_KEY)
filters[2].caption(f"{literal(dataset)}: " + " · ".join(f"{s} {n}" for s, n in counts.items()))
summaries = ws.list_documents(dataset, status=None if status == "all" else status, search=search or None)
summaries, kept_open = with_receipt_kept_open(ws, dataset, summaries, search,
                                              st.session_state.get(NEXT_DOC_KEY) or st.session_state.get(DOC_KEY))
ids = [s.id for s in summaries]
# an upload shows its file name. No status in it: Streamlit keeps a selectbox's choice as the option's text, so a
# text that changed (Mark done) left the picker holding a string that is no receipt id, and Next crashed
titles = {s.id: s.title for s in summaries}

marked = st.session_state.pop(MARKED_DONE_KEY, None)
left_note = left_list_note(ws, marked, dataset) if marked is not None and marked not in ids else None
if left_note is None:
    st.session_state.pop(LEFT_DONE_KEY, None)
else:  # marked done under a status filter that leaves done receipts out: said, with the way back, on the receipt
    # shown next or over an empty list (a walkthrough's last receipt left it, and the warning and Undo with it)
    seen = ws.latest_action(marked)
    st.session_state[LEFT_DONE_KEY] = (marked, seen)  # Undo and z take it back until another change (a probe)
    (st.warning if done_warning(ws.get_document(marked)) else st.info)(escape_markdown(left_note))
    st.button("Take the done mark back", key="annotate_take_back", on_click=_take_back, args=(marked, seen),
              help="Back to in progress (or unlabelled), and open it")
    if not ids:  # kept while the list is empty; said once when another receipt is shown
        st.session_state[MARKED_DONE_KEY] = marked
if not ids:
    st.info(no_receipt_matches(dataset, status, search))
    st.stop()

# Jumps (previous/next/least confident/URL) happen before the selectbox below is drawn.
wanted = st.session_state.pop(NEXT_DOC_KEY, None)
if wanted == FIRST_RECEIPT:  # Back to the URL the page opened with
    st.session_state[DOC_KEY] = ids[0]
elif wanted in ids:
    st.session_state[DOC_KEY] = wanted
elif wanted is not None and (holder := ws.datasets_of([wanted]).get(wanted)) not in (None, dataset):
    # a link to a receipt of another dataset (a link copied without its ?dataset=, or one naming another): its
    # dataset opens, not a receipt of the sidebar's (a walkthrough labelled the wrong dataset without noticing)
    select_dataset(holder)
    st.session_state[NEXT_DOC_KEY] = wanted
    st.session_state[MOVED_KEY] = (f"Receipt {literal(wanted, limit=80, exact=True)} is in dataset "
                                   f"{literal(holder)}: the sidebar now shows that dataset.")
    st.rerun()
elif wanted is not None and holder is None:  # in no dataset: not "not in dataset X", as if it were in another one
    st.info(f"There is no receipt {literal(wanted, limit=80, exact=True)} in this workspace (deleted, or a mistyped "
            "link); showing another.")
elif wanted is not None:  # a link's receipt that is not there: say so, not open another one silently
    st.info(f"Receipt {literal(wanted, limit=80, exact=True)} is not in dataset {literal(dataset)}"
            + (" under this status or search" if status != "all" or search else "") + "; showing another.")
# the receipt last open in each dataset this session: back from another one (Train's dataset moves the sidebar's),
# it opens again, not the dataset's first (walkthrough 34 lost its place in its uploads)
last_open = st.session_state.setdefault(LAST_OPEN_KEY, {})
if st.session_state.get(DOC_KEY) not in ids:
    st.session_state[DOC_KEY] = last_open.get(dataset) if last_open.get(dataset) in ids else ids[0]


def _move(step: int) -> None:
    current = st.session_state.get(DOC_KEY)
    st.session_state[CAME_FROM_KEY] = current  # keys typed ahead on it are the next receipt's, as after n
    back = left_receipt_to_go_back_to(current, ids) if step < 0 else None
    position = ids.index(current) if current in ids else -1  # not a receipt of this list: start from its ends
    st.session_state[DOC_KEY] = back or ids[(position + step) % len(ids)]


def _review(doc_id: str, done: bool) -> None:
    try:
        ws.set_reviewed(doc_id, done)
    except Exception as error:  # noqa: BLE001 - shown on the page
        st.session_state[NOTICE_KEY] = f"Could not change the status: {friendly(error)}"
        return
    if done:
        _after_done(doc_id)
    else:  # under "done" it stays open, as a label under "unlabelled" does (a probe's receipt vanished, and the
        keep_open(doc_id)  # next done receipt's Back to in progress sat under the cursor)


def _after_done(doc_id: str) -> None:
    """After a receipt was marked done (the button, or the d key): its warning kept in view, the retraining."""
    st.session_state[MARKED_DONE_KEY] = doc_id  # a status filter may leave it out: said, with the way back
    if done_warning(ws.get_document(doc_id)):
        st.session_state[DONE_WARNING_KEY] = doc_id
    retrain_after_done(dataset, doc_id)


# one row that wraps on a narrow window (columns cut "◀ Previous" to "◀…" and "Mark done" to "Back …" at 900 px)
nav = st.container(horizontal=True, vertical_alignment="center")
nav.button("◀ Previous", on_click=_move, args=(-1,), key="annotate_prev")
nav.button("Next ▶", on_click=_move, args=(1,), key="annotate_next")
# kept for the session: back from another page by the sidebar (no receipt in its link), the same receipt opens, not
# the dataset's first (a walkthrough); 380 px: at 280 an upload's file name cut its id off (a walkthrough)
doc_id = nav.selectbox("Receipt", ids, key=DOC_KEY, label_visibility="collapsed", width=380, persist_state="session",
                       format_func=lambda i: plain(titles.get(i, i)))
summary = summaries[ids.index(doc_id)]
last_open[dataset] = doc_id
write_to_url(doc_id, implied=status == "all" and not search and doc_id == ids[0])
try:
    opened = ws.get_document(doc_id)
except DamagedDocumentError as error:  # one unreadable row: said, named, and deletable; the other receipts open
    st.error(notice_markdown(friendly(error)))
    if st.button("Delete this receipt", key="annotate_delete_damaged"):
        with user_errors("Deleting the receipt"):
            ws.delete_document(doc_id)
            st.session_state.pop(DOC_KEY, None)
            st.rerun()
    st.stop()
except NotFoundError:
    opened = None  # deleted since the picker was drawn: the editor says so
# done as imported gold (every label from the import or a person): no mark to take back, so no button that did
# nothing (a walkthrough pressed it on a CORD receipt); said in the position caption below, one line at 1366 px
imported_done = summary.status == DONE and doc_id not in ws.reviewed_ids(dataset)
if summary.status == DONE and not imported_done:
    nav.button("Back to in progress", key="annotate_undone", on_click=_review, args=(doc_id, False),
               help=f"Take back the done mark (it becomes {IN_PROGRESS} or unlabelled)")
elif summary.status != DONE:
    # what marking done would warn about is said on the button too, before it is pressed (a walkthrough heard it
    # only after the receipt was marked)
    before_done = done_warning(opened) if opened is not None else None
    nav.button("Mark done", key="annotate_done", type="primary", on_click=_review, args=(doc_id, True),
               help="Reviewed by a person: every word's label checked"
                    + (f". Before you mark it: {escape_markdown(before_done)}" if before_done else ""))
nav.caption(f"{ids.index(doc_id) + 1} of {len(ids)} · **{summary.status}**"
            + (": its imported labels count as checked" if imported_done else "")
            + (" · kept open, no longer under this status, until you move on" if doc_id == kept_open else ""),
            width="content")
# under the button pressed (among the word panel's messages it sat below the fold), as text, not code; kept while
# the receipt stays open and done: a retraining's end reruns the page a few seconds later, and a walkthrough never saw
# the warning of a receipt marked done with nothing labelled
# what it says is worked out afresh on each draw: said once at the mark, "42 of 44 words have no label" stayed after
# a Label Studio import had labelled one more (a walkthrough)
# drawn by the editor, from the receipt as its own rerun finds it: a fix made there (an item picked with "i") takes
# the warning back at once (walkthrough 65)
def _done_notice(doc) -> None:
    done_note = (done_warning(doc) if st.session_state.get(DONE_WARNING_KEY) == doc.id and summary.status == DONE
                 else None)
    if done_note is None:
        st.session_state.pop(DONE_WARNING_KEY, None)
    else:  # named as the picker names it: the file name of an upload (a walkthrough read an id it saw nowhere)
        st.warning(escape_markdown(f"Receipt {titles.get(doc.id, doc.id)} marked done. {done_note} {TAKE_BACK}"))


position = ids.index(doc_id)
word_editor(doc_id, ids[(position + 1) % len(ids)] if len(ids) > 1 else None,
            left_receipt_to_go_back_to(doc_id, ids) or (ids[(position - 1) % len(ids)] if len(ids) > 1 else None),
            summary.status, _after_done, _done_notice)

st.divider()
model_section(doc_id, dataset)
