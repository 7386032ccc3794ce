"""Server-wide resources and small widgets every page uses.

``st.cache_resource`` objects are shared by every browser session of the server, on purpose: the workspace
(thread-safe: it holds no connection) and the one training slot. Everything per user lives in
``st.session_state``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from receipt_core.errors import is_user_error
from receipt_core.model.head_settings import HeadSettings
from receipt_core.training.slot import JobSlot
from receipt_core.workspace.server_folders import ServerFolders
from receipt_core.workspace.store import HOME_ENV, Workspace
from receipt_core.wording import as_sentence, counted
from ui.literal import literal, plain

log = logging.getLogger("receipt_studio")

DATASET_KEY = "dataset"  # session-state key of the sidebar's dataset choice
ROUTED_KEY = "routed_by_app"  # set by app.py: this session's pages run inside the router
PENDING_DATASET_KEY = "dataset_next"  # a dataset to select at the next rerun (set after the sidebar ran)
NO_IMAGE_NOTE = "This receipt has no image (imported words and boxes only): drawn on a blank page."
NO_VALUE = "—"  # a table cell without a value (Streamlit's own placeholder is a grey "None" or a blank)
NO_DATA = "No data yet: load the real receipts (CORD sample) or generate demo receipts on Home, or upload on Data."
# every extension Pillow gives the formats load_image reads (the uploader refused a probe's real JPEG named .JFIF);
# pdf: to say why not
UPLOAD_TYPES = ["jpg", "jpeg", "jfif", "jpe", "png", "apng", "webp", "tif", "tiff", "bmp", "gif", "pdf"]
PDF_NOTE = ("A file is recognised by its name's extension (.jpg, .png, .webp, .tif …): one without an extension is "
            "refused before it is read; rename it first. A PDF is taken only to tell you how to turn its page into "
            "an image: OCR reads images.")
HOLD_OUT = "(held-out share)"  # the evaluation choice of the Train page, race and study: a share of the training
# dataset, set by the "Held-out share" slider beside it (a longer wording was cut in its 230-pixel field)
EVALUATION_HELP = (f"The receipts the run is scored on. {HOLD_OUT}: that share of the training dataset (the "
                   "Held-out share slider) is kept out of training and scored on instead")
# (training, evaluation) selectbox keys of the forms that start from the sidebar's dataset: Train, race, study
DATASET_FOLLOWERS = (("train_dataset", "train_eval"), ("race_train", "race_eval"), ("study_train", "study_eval"))


def workspace_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or "workspace").resolve()


@st.cache_resource(show_spinner=False)
def _workspace(home: str) -> Workspace:
    workspace = Workspace(Path(home))
    interrupted = workspace.mark_interrupted_runs()  # runs left live by a killed server
    if interrupted:
        log.warning("marked runs left running by a previous server as interrupted: %s", ", ".join(interrupted))
    return workspace


def workspace() -> Workspace:
    """The workspace of this server (RECEIPT_STUDIO_HOME, else ./workspace), opened once per folder."""
    return _workspace(str(workspace_home()))


def server_folders() -> ServerFolders:
    """The folders a path typed on a page may point into (the workspace, assets/, the shared data)."""
    return ServerFolders.for_workspace(workspace_home())


@st.cache_resource(show_spinner=False)
def job_slot() -> JobSlot:
    """The server's single training slot, shared by every session."""
    return JobSlot()


def select_dataset(name: str) -> None:
    """Make ``name`` the sidebar's dataset from the next rerun on (the sidebar widget exists already in this one,
    unless it said "No data yet": then the router shows the list with ``name`` selected right after the page)."""
    st.session_state[PENDING_DATASET_KEY] = name


def show_dataset_now(name: str | None) -> None:
    """Select ``name`` in the sidebar (None: the first dataset left) and rerun at once, so the sidebar and the page
    show it together, not from the user's next click on. What the page had to say goes through :func:`flash`."""
    if name is None:
        names = [d.name for d in workspace().datasets()]
        if not names:  # nothing left: the sidebar says "No data yet"
            st.session_state.pop(DATASET_KEY, None)
            st.rerun()
        name = names[0]
    select_dataset(name)
    st.rerun()


FLASH_KEY = "flash_messages"  # area -> [(kind, text)], shown once where the action was, after a rerun


def flash(area: str, kind: str, text: str) -> None:
    """Keep a message for :func:`show_flash` (``kind``: success, info, warning, error, code for a plain block, or
    folded for a plain block in a closed expander) across the rerun an action ends with. ``text`` is shown as
    written: quote user text with ``literal``."""
    st.session_state.setdefault(FLASH_KEY, {}).setdefault(area, []).append((kind, text))


def show_flash(area: str) -> None:
    """The messages :func:`flash` kept for ``area``, once."""
    for kind, text in st.session_state.get(FLASH_KEY, {}).pop(area, []):
        if kind == "code":
            st.code(text, language=None, wrap_lines=True)
        elif kind == "folded":
            with st.expander(f"Show the {counted(text.count(chr(10)) + 1, 'line')}"):
                st.code(text, language=None, wrap_lines=True)
        else:
            getattr(st, kind)(text)


def go_to_page(page: str) -> None:
    """``st.switch_page`` that keeps the sidebar's dataset. Streamlit's own clears every query parameter and refuses
    to when one is bound to a widget (the sidebar's ``?dataset=``), so it would fail whenever a dataset other than
    the first is chosen; an empty mapping clears only the unbound ones, and the bound dataset goes along."""
    st.switch_page(page, query_params={})


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


def field_row(count: int, width: int = 180) -> list[DeltaGenerator]:
    """``count`` slots of ``width`` pixels in one row that wraps, for a row of settings: ``st.columns`` shrank six
    fields to a few letters each at 900 px ("Learni/ng rate", a select showing "c"; a walkthrough)."""
    row = st.container(horizontal=True, gap="small")
    return [row.container(width=width) for _ in range(count)]


FIGURE_PANE = 620  # pixels of a receipt's figure beside its tables; on a narrower page the tables go below it
TABLE_PANE = 680  # pixels of the tables beside a receipt: an items table's six columns fit without scrolling


def figure_and_tables(stacked: bool = False) -> tuple[DeltaGenerator, DeltaGenerator]:
    """Where a receipt's figure and its tables go: side by side when the page has room for both, else the tables
    under the figure, each as wide as the page allows. ``st.columns([3, 2])`` kept them side by side at any width:
    at 1024 pixels the items table showed only its names and a photo was 220 pixels wide (a walkthrough)."""
    if stacked:
        return st.container(), st.container()
    row = st.container(horizontal=True, gap="medium")
    return row.container(width=FIGURE_PANE), row.container(width=TABLE_PANE)


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


def current_dataset() -> str | None:
    """The dataset chosen in the sidebar, else the first one (None when the workspace has none)."""
    from receipt_core.datasets.splits import first_dataset

    names = [d.name for d in workspace().datasets()]
    chosen = st.session_state.get(DATASET_KEY)
    return chosen if chosen in names else first_dataset(names)


@contextlib.contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show any exception as one readable error line (never a traceback). The server log gets the traceback of a
    bug and one line for a user's error (``receipt_core.errors.is_user_error``)."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - the page must stay usable whatever failed
        if is_user_error(error):  # bad input, a missing file, a busy slot: one line, no traceback to wade through
            log.warning("%s failed: %s", action, friendly(error))
        else:
            log.exception("%s failed", action)
        st.error(f"{action} failed: {literal(friendly(error))}")


def no_receipt_matches(dataset: str, status: str, search: str) -> str:
    """What a receipt picker says when its status and search filters leave nothing (Annotate, Data)."""
    filters = ([f"the status {status}"] if status != "all" else []) + ([f"the search {literal(search)}"] if search
                                                                         else [])
    return f"No receipt of {literal(dataset)} matches {' and '.join(filters) or 'these filters'}."


def friendly(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return message or type(error).__name__


def fmt_share(share: float) -> str:
    """A share (0–1) as a percentage of 4 significant digits, or more where that would round a part to 0 or 100
    (a walkthrough read "100% of the model" with a head frozen)."""
    for digits in (4, 6, 8):
        text = f"{100 * share:.{digits}g}"
        if (0 < share < 1) and float(text) in (0.0, 100.0):
            continue
        return text
    return text


def fmt_params(n: int | None) -> str:
    if n is None:
        return "–"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


def fmt_seconds(seconds: float | None) -> str:
    """``42s``, ``1m 05s``, ``2h 03m`` (the run status line's format, training/run_status.format_seconds)."""
    from receipt_core.training.run_status import format_seconds

    return format_seconds(seconds)


@st.cache_resource(show_spinner="Loading the run's model…", max_entries=3)
def _loaded_run(run_dir: str, stamp: float):
    from receipt_core.model.checkpoint import load_checkpoint

    return load_checkpoint(Path(run_dir))


def loaded_run(run_id: str):
    """The checkpoint of a run (a ``checkpoint.LoadedRun``), loaded once per checkpoint version and shared.

    Keyed by the run.json modification time, so a run that saved a newer checkpoint is reloaded.
    """
    from receipt_core.model.checkpoint import RUN_FILE

    run_dir = workspace().runs_dir / run_id
    info = run_dir / RUN_FILE
    if not info.is_file():
        raise FileNotFoundError(f"run {run_id} has no checkpoint yet (it saves one at the end of each epoch)")
    return _loaded_run(str(run_dir), info.stat().st_mtime)


def runs_with_checkpoints() -> list:
    """Runs (newest first) whose folder holds a checkpoint, as RunRecords."""
    from receipt_core.model.checkpoint import has_checkpoint

    ws = workspace()
    return [run for run in ws.list_runs() if has_checkpoint(ws.runs_dir / run.id)]


def damaged_checkpoint_note() -> str | None:
    """One line naming the runs left out of :func:`runs_with_checkpoints` because their checkpoint is damaged (a
    probe's Predict fell back to a weaker run without a word), else None."""
    from receipt_core.model.checkpoint import damaged_checkpoint

    ws = workspace()
    damaged = [(run, damaged_checkpoint(ws.runs_dir / run.id)) for run in ws.list_runs()]
    damaged = [(run, problem) for run, problem in damaged if problem]
    if not damaged:
        return None
    return ("Left out, their checkpoint is damaged (restore the folder, or delete the run on Runs): "
            + "; ".join(f"{literal(run_display_name(run))} ({problem})" for run, problem in damaged) + ".")


def forget_stale_choice(key: str, options) -> None:
    """Call before drawing the selectbox ``key``. Streamlit keeps a selectbox's choice as its option's text, so
    when that text changed (a run renamed in another tab) the choice comes back as a string that is none of the
    options, and code using it as an id fails; a choice can also be gone (a receipt deleted, another dataset).
    Such a choice is replaced by the first option: only a value the page sets reaches the browser, and a removed
    key left it showing the old choice over the one drawn (a walkthrough)."""
    if key in st.session_state and st.session_state[key] not in options:
        choices = list(options)
        if choices:
            st.session_state[key] = choices[0]
        else:
            del st.session_state[key]


def also_train_choice(datasets: Sequence[str], train_set: str | None, key: str) -> list[str]:
    """The Train page's, race's and study's "Also train on": other datasets whose labelled receipts join the
    training dataset's in one run, as ``train --train A B`` does (the WildReceipt recipe trains on the gold words
    and the OCR reading, two datasets after an import: README "End to end from pixels"). The training dataset
    itself is not offered, and a chosen dataset deleted in another tab drops out."""
    others = [name for name in datasets if name != train_set]
    forget_gone_choices(key, others)
    return field_row(1, width=476)[0].multiselect(
        "Also train on", others, persist_state="session", key=key, placeholder="no other dataset",
        help="Other datasets whose labelled receipts join the training dataset's in one run, as `train --train A "
             "B` does (a receipt is in one dataset only, so none comes twice)")


def forget_gone_choices(key: str, options) -> None:
    """:func:`forget_stale_choice` for a multiselect: call before drawing it; the chosen values that are no longer
    options (a dataset deleted or renamed in another tab) are dropped, the rest kept in their order."""
    if key in st.session_state:
        kept = [value for value in st.session_state[key] if value in options]
        if kept != list(st.session_state[key]):
            st.session_state[key] = kept


def vanished_run(key: str, run_ids) -> str | None:
    """The run the selectbox ``key`` had chosen when that run is no longer among ``run_ids`` (deleted, perhaps in
    another tab); None when its choice is one of them, an old option text of one (the browser may send back
    "<id> · name" or a name from before a rename), or nothing. Call before ``forget_stale_choice`` replaces it."""
    from receipt_core.workspace.runs import is_run_id

    stored = st.session_state.get(key)
    if stored is None or stored in run_ids:
        return None
    run_id = str(stored).split(" · ")[0]
    return run_id if is_run_id(run_id) and run_id not in run_ids else None


def run_picker(runs: list, key: str):
    """A selectbox over ``runs`` (newest first, as ``runs_with_checkpoints`` lists them) showing each run's id and
    the name Runs gives it; returns the chosen run, or None (with a warning) in the rerun in which the run chosen
    before was found deleted: a button pressed in that rerun acted with another run nobody chose (a probe:
    "suggestions stored from run …" of a run it had not picked), so the caller does nothing then.

    Its first choice is the run Runs marks ★ (it beats every run evaluated on the same receipts beyond the noise
    rule), else the one with the highest field F1, else the newest: a race leaves its weakest scenario newest. The
    options' text holds no status: Streamlit keeps a choice as its option's text, so a text that changed when a run
    finished would leave a choice that is no run id (``forget_stale_choice``)."""
    from receipt_core.training.run_summary import BEST_BY, clear_best_runs, run_summary
    from receipt_core.workspace.run_labels import display_name, run_labels

    by_id = {run.id: run for run in runs}
    labels = run_labels(workspace())  # the names given on Runs
    names = {run.id: plain(f"{run.id} · {display_name(run, labels)}") for run in runs}
    stored = st.session_state.get(key)
    gone = vanished_run(key, by_id)
    if stored not in by_id:  # first shown, or its choice is gone (set, not removed: see
        summaries = [run_summary(workspace(), run) for run in runs]  # forget_stale_choice)
        best = clear_best_runs(summaries)
        field = f"best {BEST_BY[0]}"  # without a ★, the highest field F1: the newest was a race's weakest (a demo)
        scored = [(row[field], row["run"]) for row in summaries if row.get(field) is not None]
        st.session_state[key] = next((run.id for run in runs if run.id in best),
                                     max(scored)[1] if scored else runs[0].id)
    chosen = by_id[st.selectbox("Run", list(by_id), format_func=names.get, key=key)]
    if gone is not None:
        st.warning(f"The run you had chosen, {literal(gone)}, is gone (deleted, perhaps in another tab), so "
                   "nothing was done with it. Check the run now chosen, then press again.")
        return None
    return chosen


def run_display_name(run) -> str:
    """The run's name as Runs shows it: the name given there, else the one it was started with."""
    from receipt_core.workspace.run_labels import display_name, run_labels

    return display_name(run, run_labels(workspace()))


@st.cache_resource(show_spinner="Counting the backbone's parameters…", max_entries=4)
def group_sizes(backbone: str, head: HeadSettings = HeadSettings(),
                max_length: int | None = None) -> tuple[tuple[str, int], ...]:
    """(group name, parameters) of the multi-task model on ``backbone`` with ``head``'s heads, bottom to top; built
    once per server and head shape. With ``max_length``, a backbone too short for such windows is refused here
    (BackboneError), as training would refuse it."""
    from receipt_core.model.backbones import load_backbone
    from receipt_core.model.freeze import FreezePlan, group_names
    from receipt_core.model.multitask import build_model
    from receipt_core.data.schema import DEFAULT_SCHEMA

    model = build_model(load_backbone(backbone, max_length=max_length), DEFAULT_SCHEMA.num_fields, head=head)
    plan = FreezePlan.preset("full", group_names(model))
    return tuple((report.name, report.parameters) for report in plan.report(model))


def require_router() -> None:
    """Make sure this page runs inside app.py's router (sidebar, wide layout), whatever URL opened it.

    The pages live in ``app_pages/``, not ``pages/``: a ``pages/`` folder made Streamlit start in its legacy
    multipage mode, listing the raw file names in the sidebar on a fresh server until app.py's first run, and
    running ``pages/train.py`` alone when ``/train`` was opened first. Every page still calls this first: run
    outside the router all the same, it switches the server to ``st.navigation`` and reruns, so app.py routes
    the request.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not st.session_state.get(ROUTED_KEY):
        PagesManager.uses_pages_directory = False
        st.rerun()
