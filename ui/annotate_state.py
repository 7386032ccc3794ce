"""The Annotate page's per-session view state, in one place: the selected word of each receipt, the version that
redraws its widgets from the saved receipt, the receipt to jump to, and the lines to say after a change; plus
:func:`act`, the one way a button runs a workspace change."""

from __future__ import annotations

import hashlib

import streamlit as st

from receipt_core.data.document import Document
from receipt_core.data.review import DONE, done_warning, receipt_status
from receipt_core.wording import as_sentence, counted
from receipt_core.workspace.annotations import ReceiptChangedError
from receipt_core.workspace.database import NotFoundError
from receipt_core.workspace.summaries import receipt_title
from receipt_core.workspace.store import Workspace
from ui.literal import notice_markdown
from ui.shared import friendly, workspace

FILTER_KEY, SEARCH_KEY = "annotate_status", "annotate_search"  # the page's status filter and search fields
DOC_KEY = "annotate_doc"  # the receipt picker's: the receipt the page shows, as the browser last sent it
NEXT_DOC_KEY = "annotate_doc_next"  # a receipt to select at the next full rerun
# (the receipt it was pressed on, 1 for "n" or -1 for "b", whether a run was redirected to it): the editor's next run
# on that receipt opens the next or previous one
GO_NEXT_KEY = "annotate_go_next"
MESSAGES_KEY = "annotate_messages"  # warnings to show once
DONE_WARNING_KEY = "annotate_done_warning"  # the receipt whose Mark done had a warning: said while open and done
NOTICE_KEY = "annotate_notice"  # one line of news to show once
TOAST_KEY = "annotate_toast"  # a count to show once as a toast
MARKED_DONE_KEY = "annotate_marked_done"  # the receipt this session last marked done, until the page's next full run
LEFT_DONE_KEY = "annotate_left_done"  # (receipt, its latest change): marked done here, it left the filtered list;
# until the next change or full run, Undo and z take that mark back rather than undo the receipt shown
CAME_FROM_KEY = "annotate_came_from"  # the receipt the page last left by n, b, Next, Previous or z's take-back: keys
# typed ahead on it belong to the receipt shown next (ui/annotate_keys.typed_here)
STAY_KEY = "annotate_stay"  # (receipt, status filter, search): the open receipt a change moved out of that filter,
# kept in its list until it is left or the filter changes
LEFT_OPEN_KEY = "annotate_left_open"  # (receipt, the receipt opened after it, status filter, search): a kept-open
# receipt moved on from, where Previous and "b" go back to (kept open again) while that next receipt is open
TAKE_BACK_KEY = "annotate_take_back_asked"  # (receipt, its latest change): its done mark, for the page to take back


def word_key(doc_id: str) -> str:
    """The selected word of receipt ``doc_id`` (plain session state, not a widget's: a key pressed while the page
    is still redrawing would otherwise come back with the word picker's old value and label the wrong word)."""
    return f"annotate_cursor_{doc_id}"


def selected_word(doc_id: str, count: int, start: int = 0) -> int:
    """The selected word of receipt ``doc_id`` as an index into its ``count`` words, put back in range (and stored)
    when the receipt changed under it or the stored value is not an index at all: after a region was read again
    and then undone, the browser sent the word picker's value back as text and the editor crashed comparing it.
    ``start``: the word a receipt opens at when this session has not selected one in it yet."""
    value = st.session_state.get(word_key(doc_id))
    index = value if isinstance(value, int) and not isinstance(value, bool) else start
    index = min(max(index, 0), max(count - 1, 0))
    if type(value) is not int or value != index:  # stored when first shown too: the figure frames what it reads
        st.session_state[word_key(doc_id)] = index
    return index


def first_unlabelled_word(doc: Document) -> int:
    """Where a receipt opens: its first word nobody has labelled yet (0 when every word or none is), so a reload
    or a return to a half-labelled receipt goes on where the labelling stopped; a walkthrough's reload went back
    from word #30 to #0. A word of no letter or digit (a photo's edge read as "|" or "—") is passed over when a
    later unlabelled word has one: a walkthrough's photo opened on such a word #0."""
    unlabelled = [i for i, word in enumerate(doc.words) if word.label_source is None]
    return next((i for i in unlabelled if any(char.isalnum() for char in doc.words[i].text)),
                unlabelled[0] if unlabelled else 0)


def word_picker_key(doc_id: str, index: int, version: str) -> str:
    """The word picker's key names the word it shows, so a picker value from before a jump is never taken, and the
    receipt's version, so the picker shows the words' text as saved: after an Undo it kept showing the undone text,
    which Streamlit holds as the choice's label."""
    return f"annotate_word_{doc_id}_{index}_v{version}"


def version_key(doc_id: str) -> str:
    return f"annotate_version_{doc_id}"


def view_version(doc: Document) -> str:
    """What the editor's widget keys carry so they redraw from the saved receipt: this session's change count
    (:func:`bump`) and a digest of the receipt's words, so after another session added, deleted or re-read words
    a label picked for the word that was at an index is not kept for the word there now."""
    digest = hashlib.blake2s(repr(doc.word_layout).encode(), digest_size=4).hexdigest()
    return f"{st.session_state.get(version_key(doc.id), 0)}-{digest}"


def bump(doc_id: str) -> None:
    """Fresh widgets (label, table) from the saved document at the next draw; a change on the receipt shown ends
    the moment in which Undo took back the mark of a receipt that left the list (:data:`LEFT_DONE_KEY`)."""
    st.session_state[version_key(doc_id)] = st.session_state.get(version_key(doc_id), 0) + 1
    st.session_state.pop(LEFT_DONE_KEY, None)


def done_mark_to_take_back(doc_id: str) -> bool:
    """Whether an Undo pressed on receipt ``doc_id`` now would take back another receipt's done mark
    (:func:`take_back_instead`), without asking it."""
    left = st.session_state.get(LEFT_DONE_KEY)
    return left is not None and left[0] != doc_id


def take_back_instead(doc_id: str) -> bool:
    """Whether an Undo (or z) pressed on receipt ``doc_id`` is meant for the receipt this session just marked done
    and saw leave the filtered list: then it is asked of the page (:data:`TAKE_BACK_KEY`) and True is returned. A
    probe's "d z" under a filter undid an older change of the receipt shown next, which it had never looked at."""
    left = st.session_state.pop(LEFT_DONE_KEY, None)
    if left is None or left[0] == doc_id:
        return False
    st.session_state[TAKE_BACK_KEY] = left
    return True


def follow_selected_word(shown: Document) -> list[str]:
    """After another session changed the receipt under the page (``shown``: the receipt as the page drew it), keep
    the selection on the word the person had open, wherever it is now, so making the change again lands on it;
    returns a line to say where it went, or that it is gone."""
    index = selected_word(shown.id, len(shown.words))
    if not shown.words:
        return []
    word = shown.word_layout[index]
    try:
        now = workspace().get_document(shown.id).word_layout
    except Exception:  # noqa: BLE001 - deleted since: the page says so when it redraws
        return []
    if index < len(now) and now[index] == word:
        return []
    moved = [i for i, seen in enumerate(now) if seen == word]
    if moved:
        st.session_state[word_key(shown.id)] = moved[0]
        return [f"The word you had open, {word[0]!r}, is now #{moved[0]}: it stays selected."]
    return [f"The word you had open, {word[0]!r}, is no longer on this receipt."]


def say(*messages: str) -> None:
    st.session_state.setdefault(MESSAGES_KEY, []).extend(messages)


def act(doc: Document, change, advance: bool = False, done: str | None = None) -> None:
    """A button's callback: one workspace change on ``doc`` (a function of the workspace), what it skipped or
    why it failed said on the page; ``advance`` moves to the next word; ``done`` ("accepted") names what a
    many-word action did, and a toast counts it."""
    try:
        result = change(workspace())
    except ReceiptChangedError as error:
        say(friendly(error), *follow_selected_word(doc))
        bump(doc.id)  # the pickers redraw with the receipt as it is, not with the refused choice
        return
    except Exception as error:  # noqa: BLE001 - shown on the page, the editor stays usable
        say(friendly(error))
        return
    if done is not None:
        changed = len(getattr(result, "changes", ()))
        # kept for the editor to show: a callback of a button in a fragment must not draw (Streamlit logs a warning)
        st.session_state[TOAST_KEY] = (f"{counted(changed, 'suggestion')} {done}"
                                       + (" (Undo last change takes them back)" if changed else ""))
    say(*getattr(result, "skipped", ()))
    if (focus := getattr(result, "focus", None)) is not None:  # a word added before the selection moves it on
        st.session_state[word_key(doc.id)] = focus
        st.session_state[NOTICE_KEY] = f"{as_sentence(result.summary)}; it is selected."
    elif (summary := getattr(result, "summary", "")) and NOTICE_KEY not in st.session_state:
        # a merge, split, delete or retyping said, as i, z and y say theirs (walkthrough 29 pressed Merge with next,
        # Split and Delete and could not tell whether they did a thing); a change that said its own news keeps it
        changed = result.document.words != doc.words
        st.session_state[NOTICE_KEY] = as_sentence(summary) + (" (Undo last change takes it back)." if changed else ".")
        st.session_state[TOAST_KEY] = notice_markdown(as_sentence(summary))
    if advance:
        last = max(len(doc.words) - 1, 0)
        st.session_state[word_key(doc.id)] = min(selected_word(doc.id, len(doc.words)) + 1, last)
    bump(doc.id)


def left_list_note(ws: Workspace, doc_id: str, dataset: str) -> str | None:
    """What to say of ``doc_id``, marked done in this session, when it has left the list shown (a status filter
    that leaves done receipts out): that it left, Mark done's warning if it has one, and the way back; named as the
    picker names receipts. None when it is no longer done or is not in ``dataset`` (another dataset is in view)."""
    try:
        doc = ws.get_document(doc_id)
        done = receipt_status(doc, ws.is_reviewed(doc_id)) == DONE
        here = ws.datasets_of([doc_id]).get(doc_id) == dataset
    except NotFoundError:
        return None
    if not done or not here:
        return None
    note = done_warning(doc)
    return (f"Receipt {receipt_title(doc.id, doc.source)} was marked done and left this list. "
            + (f"{note} " if note else "") + "Take the done mark back, or press Undo or z before any other "
            "change, to open it again.")


def keep_open(doc_id: str) -> None:
    """Keep receipt ``doc_id`` open and listed under the status filter and search in force, though a change made on
    it (a label, "Back to in progress") moves it out of them, until it is left (:func:`with_receipt_kept_open`)."""
    st.session_state[STAY_KEY] = (doc_id, st.session_state.get(FILTER_KEY, "all"),
                                  st.session_state.get(SEARCH_KEY) or "")


def with_receipt_kept_open(ws: Workspace, dataset: str, summaries: list, search: str | None,
                           open_id: str | None) -> tuple[list, str | None]:
    """The receipts a status filter lists, with the open receipt kept among them (in the dataset's order) when a
    change made on it moved it out of the filter (:data:`STAY_KEY`; a done mark leaves, with its note), until
    another receipt is opened; and its id when it was kept. A walkthrough labelling under "unlabelled" was sent to
    the next receipt by its first key press."""
    filters = (st.session_state.get(FILTER_KEY, "all"), st.session_state.get(SEARCH_KEY) or "")
    kept = st.session_state.get(STAY_KEY)
    left = st.session_state.get(LEFT_OPEN_KEY)
    if kept is None and left is not None and left[0] == open_id and tuple(left[2:]) == filters:
        kept = st.session_state[STAY_KEY] = (open_id, *filters)  # back to it by Previous or "b": kept open again
    if kept is None:
        return summaries, None
    stay, status_then, search_then = kept
    listed = stay in {s.id for s in summaries}
    if stay != open_id or listed or filters != (status_then, search_then):
        # moved on, listed anyway, or another filter chosen (a probe's "done" showed an in-progress receipt "no
        # longer under this status"); moved on under the same filter, it is where Previous and "b" go back to
        st.session_state.pop(STAY_KEY, None)
        if stay != open_id and not listed and filters == (status_then, search_then):
            st.session_state[LEFT_OPEN_KEY] = (stay, open_id, *filters)
        return summaries, None
    everything = ws.list_documents(dataset, search=search or None)
    held = next((s for s in everything if s.id == stay), None)
    if held is None or held.status == DONE:
        st.session_state.pop(STAY_KEY, None)
        return summaries, None
    order = {s.id: i for i, s in enumerate(everything)}
    st.session_state.pop(LEFT_OPEN_KEY, None)
    return sorted([*summaries, held], key=lambda s: order.get(s.id, -1)), stay


def left_receipt_to_go_back_to(doc_id: str, ids: list[str]) -> str | None:
    """The receipt kept open under the filter (:func:`keep_open`) that was left for ``doc_id``, open now, which
    Previous and "b" go back to though the list no longer holds it (a walkthrough's "b" went to the receipt before
    it); None when there is none, or another receipt or filter is in view."""
    left = st.session_state.get(LEFT_OPEN_KEY)
    if left is None:
        return None
    filters = (st.session_state.get(FILTER_KEY, "all"), st.session_state.get(SEARCH_KEY) or "")
    if left[1] != doc_id or tuple(left[2:]) != filters or left[0] in ids:
        st.session_state.pop(LEFT_OPEN_KEY, None)
        return None
    return left[0]


GONE_KEY = "annotate_gone"  # the receipt found deleted, whose page was drawn again once for it


def gone_message(doc_id: str) -> str:
    """What the page says of the receipt it showed once another session has deleted it."""
    return (f"Receipt {doc_id!r} was deleted in another tab or session; nothing was saved to it. The list now holds "
            "the receipts that are left.")


def receipt_gone(doc_id: str) -> None:
    """The editor of a receipt deleted in another session since the page drew its picker: the whole page is drawn
    again, once, so the picker and its counts follow (probe 54 read "1 of 200" and "done 200" under the warning,
    199 receipts left), and it is said there, once (a key press on it may have said it already)."""
    if st.session_state.get(GONE_KEY) != doc_id:
        st.session_state[GONE_KEY] = doc_id
        if gone_message(doc_id) not in (said := st.session_state.setdefault(MESSAGES_KEY, [])):
            said.append(gone_message(doc_id))
        st.rerun(scope="app")
    st.warning("This receipt is no longer in the workspace: it was deleted in another tab or session. Nothing was "
               "saved to it.")
    if st.button("Show the receipts that are left", key="annotate_deleted_reload"):
        st.rerun(scope="app")


def receipt_step(doc_id: str) -> int:
    """The step ``n`` or ``b`` asked of this run's receipt ``doc_id`` (0: none). A step asked on another receipt,
    met by a run that a rerun began on the receipt before it (probe 66's six quick n's ended two to five receipts on:
    such a run stepped from the wrong receipt), sends the page back to that receipt once, the step kept for it."""
    go = st.session_state.get(GO_NEXT_KEY)
    if not go:
        return 0
    from_doc, step, redirected = go
    if from_doc != doc_id and not redirected:
        st.session_state[GO_NEXT_KEY] = (from_doc, step, True)
        st.session_state[NEXT_DOC_KEY] = from_doc
        st.rerun(scope="app")
    st.session_state.pop(GO_NEXT_KEY, None)
    return step if from_doc == doc_id else 0
