"""What the browser tests' module fixtures share: a live server over a fresh workspace, and a Chromium page.

Each browser test module keeps its own module-scoped ``server`` and ``page`` fixtures (one server and one page for
the module); each is a ``with`` over :func:`browser_server` or :func:`browser_page`. The server and the page
themselves come from ``benchmarks.live_app`` (the dashboard benchmark uses them too).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from benchmarks.live_app import CHROMIUM, chromium_page, live_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # screenshots and timings (gitignored)


@contextmanager
def browser_server(tmp_path_factory, name: str, seed: Callable[[Path], object] | None = None
                   ) -> Iterator[tuple[str, Path]]:
    """A live server on a free loopback port over a new workspace (a ``name`` temporary folder), which ``seed``
    fills first when given; yields (url, workspace home). Without Debian's chromium the test fails at once."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make setup-test does)", pytrace=False)
    home = tmp_path_factory.mktemp(name) / "workspace"
    if seed is not None:
        seed(home)
    # the tests read a table (a canvas) through its own CSV export, which the app's config switches off for users
    # (a probe exported user text as live formulas through it; test_reliability checks the setting)
    with live_server(home, tmp_path_factory.mktemp("log") / "streamlit.log", stop_grace=20,
                     options=("--client.disableDataExport", "false")) as live:
        yield live.url, home


@contextmanager
def browser_page() -> Iterator:
    """A headless Chromium page (30 s default timeout), with ``ARTIFACTS`` there for its screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(default_timeout_ms=30_000) as page:
        yield page


def download_table_csv(page, table) -> Path:
    """The CSV that a data frame's own "Download as CSV" toolbar button saves (the grid is a canvas).

    The button shows while the pointer is over the table, and a pointer click on it can land on the grid's scroller
    or on a neighbour while the page still lays out (a CI run waited 30 s for that), so the click is dispatched to
    the button itself, as the browser does for a keyboard press on it."""
    page.evaluate("() => { window.showSaveFilePicker = undefined; }")  # the plain download, not a save dialog
    table.hover()
    button = table.get_by_role("button", name="Download as CSV")
    button.wait_for(state="attached")
    with page.expect_download() as download:
        button.dispatch_event("click")
    return Path(download.value.path())
