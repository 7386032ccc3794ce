"""The Annotate page with a trained run: suggestions for a receipt, the next least-confident receipt and why, and
the loop — retraining the suggestion heads when a receipt is marked done (``training/suggestion_heads.py``)."""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd
import streamlit as st

from receipt_core.data.markup import visible_text
from receipt_core.data.annotation import AnnotationError, least_confident, least_sure_words
from receipt_core.data.review import DONE, MIN_REVIEWED, NoLabelsError
from receipt_core.evaluation.confidence import quality_note
from receipt_core.training.run_documents import eval_ids, photo_gap_note, scored_on_own_training, train_ids
from receipt_core.training.run_summary import last_evaluation
from receipt_core.training.slot import JobBusyError
from receipt_core.wording import counted
from receipt_core.workspace.database import NotFoundError
from ui.annotate_state import NEXT_DOC_KEY, NOTICE_KEY, TOAST_KEY, bump, word_key
from ui.literal import literal, notice_markdown
from ui.run_choice import loaded_run, run_picker, runs_with_checkpoints
from ui.shared import NO_VALUE, friendly, job_slot, user_errors, workspace

RUN_KEY = "annotate_run"
RETRAIN_KEY = "annotate_retrain"  # the opt-in checkbox
RETRAINING_KEY = "annotate_retraining"  # the run id of the retraining started from this session
REASON_KEY = "annotate_reason"  # (doc id, the words the run is least sure of)
REASON_TABLE_KEY = "annotate_reason_table"
PREDICTION_KEY = "annotate_prediction"  # doc id -> (run id, its latest prediction's JSON) from "Suggest labels"


def model_section(doc_id: str, dataset: str) -> None:
    """Suggest labels for ``doc_id`` from a run, jump to the least-confident receipt, retrain on reviewed ones."""
    st.subheader("Use a trained run")
    runs = runs_with_checkpoints()
    if not runs:
        st.caption("Train a run first: its predictions can pre-fill labels as suggestions and point you to the "
                   "receipts it is least sure about.")
        return
    pending = st.session_state.pop("annotate_run_next", None)
    if pending in {run.id for run in runs}:
        st.session_state[RUN_KEY] = pending
    run = run_picker(runs, RUN_KEY, dataset)  # first a run trained on this receipt's dataset
    if run is None:  # the run chosen before is gone: a press in this rerun does nothing
        return
    with user_errors("Reading the run's validation"):
        if (doubt := _suggestions_doubt(run)) is not None:  # a walkthrough accepted 55 suggestions of a 0.000 run
            st.warning(doubt)
        if gap := photo_gap_note(workspace(), run.config, workspace().get_document(doc_id).read_by_ocr):
            st.warning(gap + " Expect many wrong suggestions on this photo: check each one before accepting (Accept "
                             "all and Accept ≥ take them as labels).")
        # the run's receipts looked up by id, not the dataset listed whole on every redraw
        trained = [i for i, held_by in workspace().datasets_of(train_ids(run.config)).items() if held_by == dataset]
        if trained:  # walkthrough 29 ranked the receipts a run had trained on, its confidence there inflated
            st.caption(f"Run {literal(run.id)} trained on {counted(len(trained), 'receipt')} of this dataset: it is "
                       "sure of those whether their labels are right or not, so its suggestions and the "
                       "least-confident ranking tell most on receipts it has not seen.")
    a, b = st.columns(2)
    if a.button("Suggest labels for this receipt from the run", key="annotate_prefill",
                help="Stored as suggestions on the words nobody labelled; your labels are never replaced."):
        with user_errors("Suggesting labels"), st.spinner("Predicting…"):
            st.session_state[NOTICE_KEY] = notice = f"{store_run_suggestions(doc_id, run.id)} from run {run.id}."
            st.session_state[TOAST_KEY] = notice_markdown(notice)  # where the eye is: the line above the word
            st.rerun()  # table was screens above the button on a phone (walkthrough 55), as z's and s's are toasted
    if b.button("Go to the next least-confident receipt", key="annotate_least"):
        with user_errors("Ranking receipts by confidence"), st.spinner("Predicting every receipt of the dataset…"):
            _go_to_least_confident(run.id, dataset, doc_id)
    reason = st.session_state.get(REASON_KEY)
    if reason and reason[0] == doc_id:
        st.caption(f"Why this receipt: run {literal(run.id)} is least sure of these words (the lowest scores it "
                   "gave its answers; words a rule answered left out):")
        words = workspace().get_document(doc_id).words
        # the label each word has now beside the run's answer, as Label Studio shows both (a walkthrough)
        st.dataframe(pd.DataFrame([{"word": w.index, "text": visible_text(w.text), "its answer": w.answer,
                                    "score": f"{w.score:.3f}",
                                    "label now": (words[w.index].annotation_label if words[w.index].is_labelled
                                                  else None) if w.index < len(words) else None}
                                   for w in reason[1]]),
                     hide_index=True, key=REASON_TABLE_KEY, placeholder=NO_VALUE, on_select=_select_doubted_word,
                     selection_mode="single-row")
        st.caption("Click a row to select its word in the editor above.")
    st.checkbox("When I mark a receipt done, teach the suggestions from the receipts marked done (a short run in "
                f"the background that trains only the model's last layers, from {MIN_REVIEWED} done receipts on), then "
                "re-rank the receipts by how sure it is",
                key=RETRAIN_KEY, persist_state="session")  # kept while a filter's empty list hides it (a walkthrough)
    if st.session_state.get(RETRAINING_KEY):
        st.fragment(run_every=2.0)(_retraining_status)(dataset)


def store_run_suggestions(doc_id: str, run_id: str, prediction: dict | None = None) -> str:
    """Run ``run_id``'s prediction of receipt ``doc_id`` (``prediction``, else predicted now) stored as suggestions
    on the words nobody labelled, and kept for the overlay; how many, said (:func:`_stored`). The Suggest button's,
    the ``s`` key's and the least-confident jump's."""
    if prediction is None:
        prediction = loaded_run(run_id).predictor().predict([workspace().get_document(doc_id)])[0].to_json()
    result = workspace().store_suggestions(doc_id, prediction, run_id)
    st.session_state.setdefault(PREDICTION_KEY, {})[doc_id] = (run_id, prediction)  # for the overlay
    bump(doc_id)
    return _stored(result)


def _stored(result) -> str:
    """"54 suggestions stored", or "54 suggestions waiting (3 new)" when some were stored before: a second press read
    "0 suggestions stored" over a receipt showing 54 (walkthrough 27)."""
    waiting = sum(1 for word in result.document.words if word.suggestion is not None and not word.is_labelled)
    new = len(result.changes)
    if not waiting and all(word.is_labelled for word in result.document.words):  # walkthrough 37 read a bare "0
        return "No word is left unlabelled, so 0 suggestions stored"  # suggestions stored" as the model failing
    if new == waiting:
        return f"{counted(new, 'suggestion')} stored"
    return f"{counted(waiting, 'suggestion')} waiting ({new} new)"


def chosen_run_suggester(doc_id: str) -> Callable[[], str] | None:
    """What the ``s`` key calls: :func:`store_run_suggestions` from the run chosen under Use a trained run, when it
    is still one with a checkpoint; None when there is none."""
    run_id = st.session_state.get(RUN_KEY)
    if run_id is None:
        return None
    if run_id not in {run.id for run in runs_with_checkpoints()}:  # chosen, then deleted or damaged (probe 29)
        return lambda: (f"Nothing suggested: run {run_id} is no longer usable (deleted, or its checkpoint damaged "
                        "since); choose another under Use a trained run.")

    def suggest() -> str:
        try:
            return f"{store_run_suggestions(doc_id, run_id)} from run {run_id}."
        except Exception as error:  # noqa: BLE001 - said, as the button's user_errors says it: a key cannot fail
            return f"Nothing suggested: {friendly(error)}"  # the page (a run deleted, a receipt changed since)

    return suggest


def _select_doubted_word() -> None:
    """A row of "Why this receipt" clicked: its word selected in the editor (a walkthrough could not get there from
    the table). A callback: it runs once per new selection, and the page redraws after it."""
    reason = st.session_state.get(REASON_KEY)
    table = st.session_state.get(REASON_TABLE_KEY)
    selection = table.get("selection") if isinstance(table, Mapping) else None
    rows = list(selection.get("rows") or []) if isinstance(selection, Mapping) else []
    if reason and rows and 0 <= rows[0] < len(reason[1]):
        st.session_state[word_key(reason[0])] = reason[1][rows[0]].index


def _suggestions_doubt(run) -> str | None:
    """What to know before accepting the run's suggestions, when its validation says they are poor (or nothing
    says how good they are); None for a run whose validation was fair or better. The levels are Predict's
    (``evaluation.confidence.quality_note``)."""
    evaluation = last_evaluation(workspace(), run.id)
    metrics = evaluation.metrics if evaluation else None
    note = quality_note(metrics, len(eval_ids(run.config)) or None)
    if note.level == "unknown":
        return ("This run never finished an evaluation: nothing says how good its suggestions are. Check each one "
                "before accepting it.")
    if note.level == "low":
        # a retraining is scored on the receipts it trained on (a walkthrough read "validation receipts" there)
        scored_on = ("the receipts it trained on" if scored_on_own_training(run.config)
                     else "its validation receipts")
        return (f"This run's field micro-F1 on {scored_on} was {metrics['fields.micro_f1']:.2f}: most of "
                "its suggestions will be wrong. Check each one before accepting (Accept all and Accept ≥ take them "
                "as labels), or train a better run first.")
    return None


def latest_prediction(doc_id: str) -> tuple[str, dict] | None:
    """The run id and prediction JSON of the latest prediction of ``doc_id`` made on this page in this session
    (suggesting labels for it, else ranking its dataset by confidence); None when there is none. It is of the
    receipt as it was then: the caller checks it still matches the words."""
    suggested = (st.session_state.get(PREDICTION_KEY) or {}).get(doc_id)
    if suggested is not None:
        return suggested
    ranked = st.session_state.get("annotate_scores_key")
    scores = st.session_state.get("annotate_scores") or {}
    if ranked and doc_id in scores:
        return ranked[1], scores[doc_id]
    return None


def _go_to_least_confident(run_id: str, dataset: str, current: str) -> None:
    """Open the receipt the run is least sure of among those not shown yet, the one open now included (a
    walkthrough pressed the button and stayed on the receipt it had just marked done): first those not done, then,
    to spot-check imported gold labels (done as imported), the done ones."""
    cache_key = ("annotate_scores", run_id, dataset)
    if st.session_state.get("annotate_scores_key") != cache_key:
        docs = workspace().load_documents(dataset)
        predictions = loaded_run(run_id).predictor().predict(docs)
        st.session_state["annotate_scores"] = {p.doc_id: p.to_json() for p in predictions}
        st.session_state["annotate_scores_key"] = cache_key
        st.session_state["annotate_visited"] = set()
    visited = st.session_state["annotate_visited"]
    visited.add(current)
    scores = st.session_state["annotate_scores"]
    done = {s.id for s in workspace().list_documents(dataset) if s.status == DONE}
    target = least_confident(scores, exclude=visited | done) or least_confident(scores, exclude=visited)
    if target is None:
        st.info("Every receipt has been shown in confidence order; the next press starts over.")
        visited.clear()
        return
    visited.add(target)
    doubted = least_sure_words(scores[target])
    st.session_state[REASON_KEY] = (target, doubted)
    # opened with the run's suggestions on it and the word it doubts most selected, as Suggest labels would leave it:
    # a walkthrough found the receipt with none, the words behind the ranking listed under the word table
    try:
        stored = store_run_suggestions(target, run_id, scores[target])
    except (AnnotationError, NotFoundError) as error:  # changed since the ranking read it: said, nothing stored
        st.session_state[NOTICE_KEY] = f"Its suggestions were not stored: {friendly(error)}"
    else:
        st.session_state[NOTICE_KEY] = (f"The receipt run {run_id} is least sure of: {stored} on the words nobody "
                                        "labelled, and the word it doubts most selected (the others under Why this "
                                        "receipt, below).")
        # where the eye is, with what z does: walkthrough 39 pressed z to undo a label and took back the pre-fill
        st.session_state[TOAST_KEY] = (f"Opened the receipt run {run_id} is least sure of: {stored}; z takes back "
                                       "the last change")
    if doubted:
        st.session_state[word_key(target)] = doubted[0].index
    st.session_state[NEXT_DOC_KEY] = target
    st.rerun()


def retrain_after_done(dataset: str, doc_id: str) -> None:
    """Called when ``doc_id`` is marked done: start the retraining if the annotator opted in; a busy job slot or
    no reviewed receipt is said, never queued silently."""
    if not st.session_state.get(RETRAIN_KEY):
        return
    run_id = st.session_state.get(RUN_KEY)
    runs = {r.id: r for r in runs_with_checkpoints()}
    backbone = runs[run_id].config.get("backbone") if run_id in runs else None
    if backbone is None:
        st.session_state[NOTICE_KEY] = "Choose a run first: retraining uses its backbone."
        return
    from receipt_core.training.suggestion_heads import start_suggestion_retrain  # imports torch: only when used

    try:
        retraining = start_suggestion_retrain(workspace(), job_slot(), dataset, backbone)
    except JobBusyError as error:
        st.session_state[NOTICE_KEY] = f"Not retrained: {friendly(error)}"
        return
    except (NoLabelsError, ValueError) as error:  # ValueError: a label of no schema, naming its receipt (a probe)
        st.session_state[NOTICE_KEY] = f"Not retrained: {friendly(error)}"
        return
    st.session_state[RETRAINING_KEY] = retraining.active.run_id
    receipts = counted(retraining.receipts, "reviewed receipt")
    st.session_state[NOTICE_KEY] = f"Retraining the suggestion heads on {receipts} as run {retraining.active.run_id}."


def _retraining_status(dataset: str) -> None:
    """While the retraining runs: its status; when it has ended: use it and re-rank (one full rerun)."""
    run_id = st.session_state.get(RETRAINING_KEY)
    try:
        record = workspace().get_run(run_id)
    except NotFoundError:  # deleted on Runs before it was read here (a probe: an error on every later visit)
        st.session_state.pop(RETRAINING_KEY, None)
        st.session_state[NOTICE_KEY] = f"Retraining run {run_id} was deleted; nothing changed."
        st.rerun()
    if record.status in ("running", "paused"):
        st.caption(f":material/autorenew: Retraining the suggestion heads: run {literal(run_id)} {record.status}…")
        return
    st.session_state.pop(RETRAINING_KEY, None)
    if record.status == "finished" and run_id in {r.id for r in runs_with_checkpoints()}:
        st.session_state["annotate_run_next"] = run_id
        st.session_state.pop("annotate_scores_key", None)  # re-rank with the new run at the next ranking
        st.session_state[NOTICE_KEY] = (f"Retrained run {run_id} is ready: suggestions and the "
                                               "least-confident ranking now use it.")
    else:
        st.session_state[NOTICE_KEY] = f"Retraining run {run_id} ended {record.status}; nothing changed."
    st.rerun()
