"""The app's script (what app.py runs for every browser session): page config, st.navigation over app_pages/, sidebar.

The sidebar is drawn before the page (the pages read its dataset choice, and a page that stops early still has it)
and brought up to date after a page that ran to its end: a dataset the page created or selected replaces "No data
yet" with the dataset list at once. Its training line is a fragment that refreshes itself while a job is live, so
"running"/"paused" follow the job without a page rerun; a race in progress adds its count of runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from receipt_core.datasets.splits import first_dataset
from receipt_core.workspace.run_labels import run_name
from receipt_core.workspace.store import WorkspaceError
from ui.dataset_choice import DATASET_KEY, PENDING_DATASET_KEY, follow_dataset
from ui.literal import literal
from ui.page_paths import HOME, PAGES
from ui.page_style import apply_page_style
from ui.race_track import race_track
from ui.run_badge import STATUS_ICONS, shown_status
from ui.shared import NO_DATA, ROUTED_KEY, job_slot, user_errors, workspace
from ui.training_elsewhere import training_elsewhere
from ui.warm_up import model_stack_import

# The browser tab's icon, served by this server: a Material or emoji icon here makes every page load fetch it
# from fonts.gstatic.com, which an offline machine cannot reach.
TAB_ICON = Path(__file__).resolve().parent.parent / "assets" / "icon.png"


def run_router() -> None:
    st.set_page_config(page_title="Receipt MTL Studio", page_icon=str(TAB_ICON), layout="wide")
    apply_page_style()
    pages = [st.Page(path, title=title, icon=icon, url_path=url, default=url == HOME)
             for path, title, icon, url in PAGES]
    page = st.navigation(pages)
    st.session_state[ROUTED_KEY] = True
    try:
        workspace()
    except WorkspaceError as error:  # a damaged or read-only database: every page would fail on it
        st.error(f"The workspace cannot be used: {literal(str(error))}. Then reload this page.")
        st.stop()
    datasets = sidebar(page.url_path)
    stack = model_stack_import()
    # Every page but Home imports PyTorch: never beside another thread's import of it (ui/warm_up.py)
    with stack.page_run(needs_stack=page.url_path != "", waiting=_loading_model_stack):  # "": the default page, Home
        page.run()  # st.stop() and st.rerun() end the run here, with the sidebar as drawn above
    with st.sidebar:
        refresh_datasets(datasets)
    stack.start()  # after the first page a server drew: its next pages find the model stack imported


def _loading_model_stack():
    return st.spinner("Loading PyTorch and transformers: the first page after the server started takes a few "
                      "seconds…")


def sidebar(page_path: str) -> DeltaGenerator | None:
    """The workspace, the dataset choice and the training slot's state (``page_path``: the page drawn). Returns the
    placeholder that says "No data yet" (None when the dataset list was drawn), for :func:`refresh_datasets`."""
    placeholder = None
    notices: list[str] = []
    with st.sidebar:
        ws = workspace()
        st.caption(f"Workspace: `{ws.home}`")
        with user_errors("Reading the workspace"):
            names = [d.name for d in ws.datasets()]
            if names:
                notices = dataset_choice(names, page_path)
            else:
                st.session_state.pop(DATASET_KEY, None)
                placeholder = st.empty()
                placeholder.info(NO_DATA)
        live = job_slot().busy() is not None or race_track().live() is not None
        st.fragment(run_every=SIDEBAR_REFRESH_S if live else None)(training_status)()
    for notice in notices:  # on the page, above its title: probe 63 paged on through another dataset, the note in
        st.info(notice)  # the sidebar unseen
    return placeholder


# (the sidebar's dataset found gone, the one shown in its place, renamed to it, the page it was found on)
VANISHED_KEY = "dataset_vanished"
FIRST_RECEIPT_KEY = "dataset_first_receipts"  # (the sidebar's dataset, the ids of its first receipts)


def dataset_choice(names: list[str], page_path: str = "") -> list[str]:
    """The sidebar's dataset selectbox, kept in the URL; a dataset a page asked for (``select_dataset``) is
    selected first. Returns what the page says of the choice (Markdown): a dataset gone, renamed, or not here; a
    gone dataset is said on the page it was found on (``page_path``) until another dataset is picked there."""
    notices: list[str] = []
    pending = st.session_state.pop(PENDING_DATASET_KEY, None)
    if pending in names:
        st.session_state[DATASET_KEY] = pending
        follow_dataset(pending, names)
    asked = st.query_params.get(DATASET_KEY) or None  # ?dataset= with nothing after it asks for nothing
    vanished = None  # the dataset this session showed, deleted or renamed since (in another tab)
    current = st.session_state.get(DATASET_KEY) if pending not in names else None
    firsts: dict[str, tuple[str, ...]] = {}  # a dataset's first receipts, read once in this rerun

    def first_ids(name: str) -> tuple[str, ...]:
        if name not in firsts:
            firsts[name] = workspace().first_document_ids(name)
        return firsts[name]

    # renamed: the dataset that now holds its first receipt (a walkthrough's Annotate, after a rename in another
    # tab, went on to the first dataset's receipts at Next), even when a new dataset took the old name since (a
    # probe's Next went on to the new one's receipts, unsaid); deleted: the URL's dataset, else the first
    renamed = renamed_to(current, names, first_ids) if current is not None else None
    if current is not None and (current not in names or renamed not in (None, current)):
        vanished = current
        shown = renamed or (asked if asked in names else first_dataset(names))
        # set, not removed: a removed choice left the box showing the gone name while the pages used another, and
        # the note went at the next rerun (a probe); it stays until another dataset is picked
        st.session_state[DATASET_KEY] = shown
        st.session_state[VANISHED_KEY] = (vanished, shown, renamed is not None, page_path)
    # a link or bookmark naming a dataset not (or no longer) here; not when a page moved the sidebar itself (a
    # delete on Data: the URL still named the deleted dataset, and "from the link" misled a walkthrough)
    if asked is not None and asked not in names and pending not in names and asked != vanished:
        notices.append(f"Dataset {literal(asked, limit=80, exact=True)} from the link is not in this workspace; "
                       "showing another.")
    gone = st.session_state.get(VANISHED_KEY)
    if gone is not None and gone[3] != page_path:  # said where it was found: probe 65 read it above every page's
        gone = None  # title after, and picking the dataset shown could not clear it
    if gone is not None and st.session_state.get(DATASET_KEY) == gone[1] and (gone[0] not in names or gone[2]):
        if gone[2]:  # said once: the pages show the same receipts (a walkthrough read it on every rerun after)
            taken = (f" Another dataset now has the name {literal(gone[0], limit=80, exact=True)}."
                     if gone[0] in names else "")
            notices.append(f"Dataset {literal(gone[0], limit=80, exact=True)} was renamed {literal(gone[1])} (perhaps "
                           f"in another tab); the pages show it under its new name.{taken}")
            st.session_state.pop(VANISHED_KEY, None)
        else:
            notices.append(f"Dataset {literal(gone[0], limit=80, exact=True)} is no longer in this workspace (deleted "
                           f"or renamed, perhaps in another tab); showing {literal(gone[1])} until you pick another.")
    else:
        st.session_state.pop(VANISHED_KEY, None)
    # bound to the URL (?dataset=NAME): a reload, a bookmark or a shared link opens the same dataset on any page
    chosen = st.selectbox("Dataset", names, key=DATASET_KEY, help="The dataset the pages work on (Train starts from "
                          "it)", index=names.index(first_dataset(names)), on_change=_chosen, args=(names,),
                          bind="query-params")
    # its first receipts, to follow a rename made elsewhere (renamed_to): taken from the box as drawn, so a page just
    # opened from a link knows it too (a walkthrough's Annotate, opened and then labelled with keys, which redraw the
    # editor alone, took a rename for a deletion)
    if chosen in names:
        st.session_state[FIRST_RECEIPT_KEY] = (chosen, first_ids(chosen))
    return notices


def renamed_to(dataset: str, names: list[str], first_ids: Callable[[str], tuple[str, ...]]) -> str | None:
    """The dataset of ``names`` holding the first receipts ``dataset`` held when this session last showed it (all
    of those still stored): ``dataset`` itself, or the name it was renamed to (a new dataset may have taken the old
    name since); None when they are gone (deleted) or spread over datasets (one of them deleted and imported
    elsewhere is no rename: a probe's sidebar left a dataset of 23 receipts for the one that took its first).
    ``first_ids``: a dataset's first receipts (``Workspace.first_document_ids``)."""
    held = st.session_state.get(FIRST_RECEIPT_KEY)
    if not (isinstance(held, tuple) and len(held) == 2 and held[0] == dataset and isinstance(held[1], tuple)):
        return None
    if dataset in names and first_ids(dataset) == held[1]:  # as it was: the one query of nearly every rerun
        return dataset
    now = set(workspace().datasets_of(held[1]).values())
    if len(now) != 1 or not now <= set(names):
        return None
    # and it starts with them, in their order, as a renamed dataset does: a dataset of one receipt, deleted and that
    # receipt imported into another of 14, read as renamed (a probe)
    candidate = next(iter(now))
    return candidate if first_ids(candidate) == held[1] else None


def _chosen(names: list[str]) -> None:
    """The person picked a dataset in the sidebar: it wins over one a page asked for before (an import's new
    dataset would otherwise replace this pick at this very rerun), and the pages' data choices follow it."""
    st.session_state.pop(PENDING_DATASET_KEY, None)
    follow_dataset(st.session_state.get(DATASET_KEY), names)


def refresh_datasets(placeholder: DeltaGenerator | None) -> None:
    """After the page ran: when the sidebar said "No data yet" and the page stored data, show the datasets now."""
    if placeholder is None:
        return  # the list was drawn; a new dataset joins it (selected, if the page asked) at the next rerun
    with user_errors("Reading the workspace"):
        names = [d.name for d in workspace().datasets()]
        if names:
            with placeholder.container():
                dataset_choice(names)


SIDEBAR_REFRESH_S = 2.0


def training_status() -> None:
    """One caption: the server's job and its state now ("pausing…" from the click until the step ends, then
    "paused"). The fragment refreshes while the job is live, and stops at the session's next full rerun."""
    race = race_track().live()
    if race is not None:
        record = race.record
        kind = "Study" if record.plan.kind == "study" else "Race"  # a study started on Runs is a race too
        st.caption(f"{kind} {literal(race.name)}: {record.done} of {len(record.entries)} runs ended")
    active = job_slot().current()
    # a run of another process (`train` on the command line) trains in this workspace all the same: said, not
    # "idle", nor only "finished" of this server's last run, beside a run Runs lists as running (walkthroughs)
    # a command-line study too (walkthrough 50 read "Training: idle" beside one)
    others = None if active is not None and active.is_live else training_elsewhere(workspace())
    if active is None:
        st.caption(f"Training: none here; {others}" if others else "Training: idle")
        return
    status = shown_status(active.status, active.is_live, active.job.control)
    icon = STATUS_ICONS.get(status, ":material/stop_circle:")
    # by the name the pages show, as Train's header has it (walkthroughs: a renamed run, then an unnamed one, read as
    # its id here and by its name on Runs)
    name = run_name(workspace(), active.run_id)
    st.caption(f"Training: {icon} {literal(name)} — {status}" if name else
               f"Training: {icon} run `{active.run_id}` — {status}")
    if others:
        st.caption(f"Elsewhere: {others}")
