"""The dataset a page works on and the data a run trains on: the sidebar's dataset (and the URL's), the Train
page's, race's and study's data choice that follows it, the evaluation set paired with a training set, and
what a planned split would score.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import streamlit as st

from receipt_core.wording import as_sentence
from ui.literal import literal
from ui.shared import field_row, forget_gone_choices, workspace


DATASET_KEY = "dataset"  # session-state key of the sidebar's dataset choice
PENDING_DATASET_KEY = "dataset_next"  # a dataset to select at the next rerun (set after the sidebar ran)
HOLD_OUT = "(held-out share)"  # the evaluation choice of the Train page, race and study: a share of the training
# dataset, set by the "Held-out share" slider beside it (a longer wording was cut in its 230-pixel field)
EVALUATION_HELP = (f"The receipts the run is scored on. {HOLD_OUT}: that share of the training dataset (the "
                   "Held-out share slider) is kept out of training and scored on instead")
# (training, evaluation) selectbox keys of the forms that start from the sidebar's dataset: Train, race, study
DATASET_FOLLOWERS = (("train_dataset", "train_eval"), ("race_train", "race_eval"), ("study_train", "study_eval"))


def select_dataset(name: str) -> None:
    """Make ``name`` the sidebar's dataset from the next rerun on (the sidebar widget exists already in this one,
    unless it said "No data yet": then the router shows the list with ``name`` selected right after the page)."""
    st.session_state[PENDING_DATASET_KEY] = name


def show_dataset_now(name: str | None) -> None:
    """Select ``name`` in the sidebar (None: the first dataset left) and rerun at once, so the sidebar and the page
    show it together, not from the user's next click on. What the page had to say goes through :func:`flash`."""
    if name is None:
        from receipt_core.datasets.splits import first_dataset

        names = [d.name for d in workspace().datasets()]
        if not names:  # nothing left: the sidebar says "No data yet"
            st.session_state.pop(DATASET_KEY, None)
            st.rerun()
        # not an evaluation set: walkthrough 31 deleted a dataset and the delete tab offered cord-sample-dev next
        name = first_dataset(names)
    select_dataset(name)
    st.rerun()


def follow_dataset(name: str | None, names: list[str], but: str | None = None) -> None:
    """Point the Train page's, the race's and the study's data choice (all but the form whose training key is
    ``but``) at ``name`` (the sidebar's new dataset) and its evaluation sibling, so a form never trains on another
    dataset than the one the sidebar shows. Runs in the sidebar's on_change callback and in a form's (before the
    page draws its widgets)."""
    from receipt_core.datasets.splits import paired_datasets

    train, evaluation = paired_datasets(names, name)
    if train is None:
        return
    for train_key, eval_key in DATASET_FOLLOWERS:
        if train_key != but:
            st.session_state[train_key] = train
            st.session_state[eval_key] = evaluation or HOLD_OUT


def pair_evaluation(train_key: str, eval_key: str, names: list[str]) -> None:
    """On_change of a form's training dataset: its evaluation choice follows to the dataset's sibling
    (``cord-sample-train`` → ``cord-sample-dev``), as the sidebar's choice does; without one it is kept, unless it
    is the training dataset itself or another training dataset's sibling (then part is held out). The sidebar's
    dataset follows the training dataset. A walkthrough picked the race's training dataset and was left evaluating
    on a held-out share although its dev set was there."""
    from receipt_core.datasets.splits import paired_datasets

    train = st.session_state.get(train_key)
    if train in names:  # the sidebar (and the URL) follow: a reload opened the form on the sidebar's old dataset
        st.session_state[DATASET_KEY] = train  # (a walkthrough's second Start trained on 3 uploads, not CORD)
        # and so do the other forms, as after a pick in the sidebar: a walkthrough picked the race's training
        # dataset, and Train, back on screen, still showed the one the sidebar had before, ready to Start on it
        follow_dataset(train, names, but=train_key)
    paired_train, evaluation = paired_datasets(names, train)
    chosen = st.session_state.get(eval_key)
    chosen_for = paired_datasets(names, chosen)[0] if chosen in names else None  # the training set it pairs with
    if evaluation is not None and paired_train == train:  # (a dev set picked to train on has no sibling to follow)
        st.session_state[eval_key] = evaluation
    elif chosen == train or chosen_for not in (None, chosen, train):
        # another training dataset's sibling (cord-sample-dev, kept when the demo was picked to train on: a
        # walkthrough's synthetic receipts were scored on CORD) gives way to a held-out share
        st.session_state[eval_key] = HOLD_OUT


def evaluation_preview(train: str | Sequence[str], evaluation: str | None, share: float) -> list:
    """The evaluation receipts (workspace summaries) a run on these datasets (one training dataset, or several
    together) would score, with a warning on the page for each thing that would make its scores misleading
    (training receipts among them, too few of them); empty when the split is refused (Start says why)."""
    from receipt_core.data.review import UNLABELLED
    from receipt_core.datasets.splits import planned_split

    ws = workspace()
    try:
        scored, notes = planned_split(ws.list_documents_of([train] if isinstance(train, str) else train),
                                      None if evaluation in (None, HOLD_OUT)
                                      else ws.list_documents(evaluation), share, lambda s: s.status != UNLABELLED)
    except ValueError:
        return []
    for note in notes:
        st.warning(as_sentence(note) + ".")
    return scored


def replace_vanished_choices(replacements: Mapping[str, str | None], datasets: Sequence[str],
                             lists: Sequence[str] = ()) -> list[str]:
    """The datasets the form's selectboxes (the keys of ``replacements``) had chosen that are no longer in the workspace
    (renamed or deleted in another tab or session); when one of them is gone, every key's choice is replaced by its
    replacement, so the training and evaluation datasets stay a pair (a walkthrough's renamed training set left the dev
    set to train and score on). Call before drawing them. A form's button must then do nothing in this rerun: the
    selectbox fell back to another dataset, and a probe's Start, pressed as the dataset was renamed, trained a dataset
    nobody chose. The multiselects ``lists`` ("Also train on") count too, their gone names dropped by
    ``also_train_choice`` (a probe's run trained without the one renamed, unsaid)."""
    gone = [stored for key in replacements if isinstance(stored := st.session_state.get(key), str)
            and stored != HOLD_OUT and stored not in datasets]
    pair_gone = bool(gone)  # only then does the pair go back to the sidebar's
    gone += [name for key in lists for name in st.session_state.get(key) or ()
             if isinstance(name, str) and name not in datasets]
    for key, replacement in replacements.items() if pair_gone else ():
        if replacement is None:
            st.session_state.pop(key, None)
        else:  # set, not removed: a removed choice left the browser showing the old one (forget_stale_choice)
            st.session_state[key] = replacement
    return gone


def vanished_note(gone: Sequence[str], button: str, pressed: bool = False) -> str:
    """What a form says in the rerun in which its chosen datasets ``gone`` were found renamed or deleted: plain text,
    for ``notice_markdown``. ``pressed``: ``button`` was pressed in this rerun, and did nothing."""
    names = ", ".join(repr(name) for name in gone)
    then = (f"{button} did nothing: check the datasets, then press it." if pressed
            else f"Check the datasets now chosen before you press {button}.")
    return (f"The dataset{'s' if len(gone) > 1 else ''} you had chosen ({names}) {'are' if len(gone) > 1 else 'is'} "
            f"no longer in this workspace (renamed or deleted in another tab or session), so the form now shows "
            f"others. {then}")


DEFAULT_UPLOAD_DATASET = "uploads"


def upload_target(dataset: str | None) -> str:
    """Where Data's upload stores by default: the sidebar's dataset when it holds uploaded photos (a walkthrough's
    next upload went to "uploads" after a reload, away from the "shop" it had chosen), else "uploads", so photos
    never join an imported dataset such as the CORD sample unasked."""
    from receipt_core.ocr.engine import OCR_ID_PREFIX

    if dataset and workspace().holds_id_prefix(dataset, OCR_ID_PREFIX):
        return dataset
    return DEFAULT_UPLOAD_DATASET


def current_dataset() -> str | None:
    """The dataset chosen in the sidebar, else the first one (None when the workspace has none)."""
    from receipt_core.datasets.splits import first_dataset

    names = [d.name for d in workspace().datasets()]
    chosen = st.session_state.get(DATASET_KEY)
    return chosen if chosen in names else first_dataset(names)


def also_train_choice(datasets: Sequence[str], train_set: str | None, key: str,
                      evaluation: str | None = None) -> list[str]:
    """The Train page's, race's and study's "Also train on": other datasets whose labelled receipts join the
    training dataset's in one run, as ``train --train A B`` does (the WildReceipt recipe trains on the gold words
    and the OCR reading, two datasets after an import: README "End to end from pixels"). Neither the training
    dataset nor the evaluation dataset is offered (a walkthrough added the evaluation set, and the warning that its
    scores would flatter the run was drawn by Start, a screen below), and a chosen dataset deleted in another tab
    drops out."""
    others = [name for name in datasets if name not in (train_set, evaluation)]
    # chosen, then picked to train or evaluate on: said once as it drops out (a walkthrough saw it vanish)
    taken = [name for name in st.session_state.get(key) or () if name in datasets and name not in others]
    forget_gone_choices(key, others)
    field = field_row(1, width=476)[0]
    chosen = field.multiselect(
        "Also train on", others, persist_state="session", key=key, placeholder="no other dataset",
        help="Other datasets whose labelled receipts join the training dataset's in one run, as `train --train A "
             "B` does (a receipt is in one dataset only, so none comes twice; the evaluation dataset is not "
             "offered)")
    if taken:
        field.caption(f"No longer also trained on: {', '.join(map(literal, taken))}, now the "
                      f"{'training' if train_set in taken else 'evaluation'} dataset.")
    return chosen
