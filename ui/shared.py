"""Server-wide resources and small widgets every page uses.

``st.cache_resource`` objects are shared by every browser session of the server, on purpose: the workspace
(thread-safe: it holds no connection) and the one training slot. Everything per user lives in
``st.session_state``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import traceback
from pathlib import Path
from typing import Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from receipt_core.data.images import IMAGE_SUFFIXES
from receipt_core.data.markup import one_line, terminal_lines
from receipt_core.errors import is_library_panic, is_user_error
from receipt_core.model.head_settings import HeadSettings
from receipt_core.training.slot import JobSlot
from receipt_core.workspace.server_folders import ServerFolders
from receipt_core.workspace.store import HOME_ENV, Workspace
from receipt_core.wording import counted
from ui.literal import literal, notice_markdown

log = logging.getLogger("receipt_studio")

ROUTED_KEY = "routed_by_app"  # set by app.py: this session's pages run inside the router
NO_VALUE = "—"  # a table cell without a value (Streamlit's own placeholder is a grey "None" or a blank)
NO_DATA = "No data yet: load the real receipts (CORD sample) or generate demo receipts on Home, or upload on Data."
# every extension of the formats load_image reads; pdf: to say why not
UPLOAD_TYPES = [*IMAGE_SUFFIXES, "pdf"]
PDF_NOTE = ("A file is recognised by its name's extension (.jpg, .png, .webp, .tif …): one without an extension is "
            "refused before it is read; rename it first. A PDF is taken only to tell you how to turn its page into "
            "an image: OCR reads images.")


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


FLASH_KEY = "flash_messages"  # area -> [(kind, text)], shown once where the action was, after a rerun


def flash(area: str, kind: str, text: str) -> None:
    """Keep a message for :func:`show_flash` (``kind``: success, info, warning, error, code for a plain block, or
    folded for a plain block in a closed expander) across the rerun an action ends with. ``text`` is shown as
    written: quote user text with ``literal``."""
    st.session_state.setdefault(FLASH_KEY, {}).setdefault(area, []).append((kind, text))


def pending_flash(area: str) -> bool:
    """Whether :func:`show_flash` has messages for ``area`` to show in this run."""
    return bool(st.session_state.get(FLASH_KEY, {}).get(area))


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


@contextlib.contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Show any exception as one readable error line (never a traceback). The server log gets the traceback of a
    bug and one line for a user's error (``receipt_core.errors.is_user_error``)."""
    try:
        yield
    except BaseException as error:  # noqa: BLE001 - the page must stay usable whatever failed
        if not isinstance(error, Exception) and not is_library_panic(error):
            raise  # Streamlit's own rerun and stop, Ctrl-C: not failures
        # escaped as the CLI's error lines are: what a user typed is in the message, and the log is a terminal
        if is_user_error(error):  # bad input, a missing file, a busy slot: one line, no traceback to wade through
            log.warning("%s failed: %s", action, one_line(friendly(error)))
        else:
            log.error("%s failed\n%s", action, terminal_lines("".join(traceback.format_exception(error))))
        # prose, with what it quotes as code (a whole error in code font read as a crash dump: a walkthrough);
        # the whole line as code when anything outside its quotes could be markup (ui/literal.notice_markdown)
        st.error(f"{action} failed: {notice_markdown(friendly(error))}")


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


def fmt_params_of(part: int | None, whole: int | None) -> str:
    """``24.1M of 24.1M`` as :func:`fmt_params` writes them, or both exact when rounding would hide that ``part`` is
    less (a walkthrough read "trainable 24.1M of 24.1M" for a run with its quantity head frozen)."""
    shown = fmt_params(part), fmt_params(whole)
    if part is not None and whole is not None and part != whole and shown[0] == shown[1]:
        shown = f"{part:,}", f"{whole:,}"
    return f"{shown[0]} of {shown[1]}"


def fmt_seconds(seconds: float | None) -> str:
    """``42s``, ``1m 05s``, ``2h 03m`` (the run status line's format, training/run_status.format_seconds)."""
    from receipt_core.training.run_status import format_seconds

    return format_seconds(seconds)


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


def forget_gone_choices(key: str, options) -> None:
    """:func:`forget_stale_choice` for a multiselect: call before drawing it; the chosen values that are no longer
    options (a dataset deleted or renamed in another tab) are dropped, the rest kept in their order."""
    if key in st.session_state:
        kept = [value for value in st.session_state[key] if value in options]
        if kept != list(st.session_state[key]):
            st.session_state[key] = kept


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
