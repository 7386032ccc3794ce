"""Text fields for a name the user types (a dataset's, a race's or a study's): checked as it is typed, under the
field, and said when the name used is not the one typed."""

from __future__ import annotations

import streamlit as st

from receipt_core.wording import as_sentence
from receipt_core.workspace.database import WorkspaceError
from receipt_core.workspace.names import check_dataset_name
from ui.literal import literal, notice_markdown
from ui.shared import workspace


def dataset_name_input(label: str, key: str, value: str = "", allow_empty: bool = False,
                       renaming: str | None = None) -> tuple[str, bool]:
    """A text field for a dataset name, checked as it is typed (the workspace's one rule): what it holds
    (stripped), and whether a button may use it. A bad name is said under the field at once, not after the work.
    ``renaming``: the dataset the name is for, whose rename refuses its own name and any other dataset's (a
    name another's in other letter case is said so, not as a name "to add to it": a rename never merges)."""
    # no max_chars: Streamlit drops a pasted text over it whole; the check below says the length instead
    typed = st.text_input(label, value=value, key=key)
    typed = typed if isinstance(typed, str) else ""  # a forged message sent a number: "'float' has no strip" (a probe)
    name = typed.strip()
    if not name and allow_empty:
        return name, True
    try:
        if renaming is None:
            workspace().check_dataset_name(name)
        elif (problem := workspace().rename_problem(renaming, check_dataset_name(name))) is not None:
            raise WorkspaceError(problem)
    except WorkspaceError as error:
        message = str(error)
        st.error(notice_markdown(as_sentence(message)))  # the name and characters quoted as code, the rest prose
        return name, False
    trimmed_note(typed, name)
    return name, True


def trimmed_note(typed: str, name: str) -> None:
    """Say under a name field when the name used is not the one typed (spaces at either end dropped): a probe saw
    a race typed with a trailing space saved without it, and nothing said so."""
    if name and name != typed:
        st.caption(f"Saved as {literal(name)}: spaces at either end are dropped.")
