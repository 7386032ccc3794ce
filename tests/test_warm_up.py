"""The server imports the model stack ahead (ui/warm_up.py): only in a real server, once, never beside a page run
(a package imported from two threads at once can come out half-initialised), and a page that needs it waits only
for the rest of the import."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from ui import warm_up


@pytest.fixture
def imports(monkeypatch):
    """The background import as recorded (start, end) times; it takes 0.3 s."""
    done: list[tuple[float, float]] = []

    def slow_import():
        started = time.monotonic()
        time.sleep(0.3)
        done.append((started, time.monotonic()))

    monkeypatch.setattr(warm_up, "_load_model_stack", slow_import)
    monkeypatch.setenv(warm_up.IMPORT_AHEAD_ENV, "1")
    return done


def home_page_running(ahead: warm_up.ModelStackImport) -> tuple[threading.Event, list, threading.Thread]:
    """A Home page run (it needs no model stack) in its own thread, until the event is set; ``spans`` gets its
    (start, end) times."""
    page_left, spans = threading.Event(), []

    def home_page():
        with ahead.page_run(needs_stack=False):
            began = time.monotonic()
            page_left.wait(10)
            spans.append((began, time.monotonic()))

    thread = threading.Thread(target=home_page)
    thread.start()
    time.sleep(0.1)
    return page_left, spans, thread


def test_outside_a_server_nothing_is_imported_ahead(monkeypatch, imports):
    monkeypatch.delenv(warm_up.IMPORT_AHEAD_ENV)
    ahead = warm_up.ModelStackImport()
    ahead.start()
    with ahead.page_run():  # nothing started: nothing to wait for
        pass
    time.sleep(0.1)
    assert imports == []


def test_a_page_that_needs_the_stack_cuts_the_delay_and_waits_for_the_import(monkeypatch, imports):
    monkeypatch.setattr(warm_up, "START_DELAY_S", 60.0)
    ahead = warm_up.ModelStackImport()
    ahead.start()
    ahead.start()  # one import per server
    started = time.monotonic()
    with ahead.page_run():
        entered = time.monotonic()
    assert len(imports) == 1 and imports[0][1] <= entered  # once, and done before the page ran
    assert entered < started + 30  # not the 60 s delay


def test_the_import_waits_for_a_page_already_running_and_the_next_page_waits_for_it(monkeypatch, imports):
    """Another session's page that began before the import was started: the import starts after it ends."""
    monkeypatch.setattr(warm_up, "START_DELAY_S", 0.0)
    ahead = warm_up.ModelStackImport()
    page_left, spans, other = home_page_running(ahead)  # another session's Home
    ahead.start()  # the first session's page has ended: the import is started
    time.sleep(0.5)
    assert imports == []  # the other page still runs
    page_left.set()
    other.join(10)
    with ahead.page_run():  # a page after that waits for the import
        entered = time.monotonic()
    assert len(imports) == 1
    assert spans[0][1] <= imports[0][0] and imports[0][1] <= entered


def test_the_real_import_loads_pytorch_and_layoutlm():
    warm_up._load_model_stack()
    assert "torch" in sys.modules and "transformers.models.layoutlm.modeling_layoutlm" in sys.modules


def test_pages_opened_at_once_on_a_fresh_server_import_once_before_any_of_them_runs(imports):
    """A probe opened Train, Runs and Predict in three tabs of a server that had drawn nothing yet: each page
    imported transformers at once, and one failed with an ImportError. Now the first page that needs the stack
    imports it, and the others wait for that import; Home, which needs none, does not import."""
    ahead = warm_up.ModelStackImport()
    with ahead.page_run(needs_stack=False):
        pass
    assert imports == []
    entered: list[float] = []

    def page():
        with ahead.page_run(needs_stack=True):
            entered.append(time.monotonic())

    tabs = [threading.Thread(target=page) for _ in range(3)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(10)
    assert len(imports) == 1 and len(entered) == 3
    assert all(imports[0][1] <= moment for moment in entered)
    ahead.start()  # the background import finds the stack imported: nothing more
    time.sleep(0.1)
    assert len(imports) == 1


def test_a_page_that_imports_waits_for_a_page_already_running(imports):
    ahead = warm_up.ModelStackImport()
    page_left, spans, home = home_page_running(ahead)

    def train_page():
        with ahead.page_run(needs_stack=True):
            pass

    train = threading.Thread(target=train_page)
    train.start()
    time.sleep(0.3)
    assert imports == []  # Home still runs: no import beside it
    page_left.set()
    home.join(10)
    train.join(10)
    assert len(imports) == 1 and spans[0][1] <= imports[0][0]


def test_a_page_that_waits_or_imports_shows_it_and_one_that_does_not_shows_nothing(imports):
    """A fresh server's first page drew nothing for 8 s while it imported: the router's spinner now covers it."""
    from contextlib import contextmanager

    shown = []

    @contextmanager
    def spinner():
        shown.append("on")
        yield

    ahead = warm_up.ModelStackImport()
    with ahead.page_run(needs_stack=False, waiting=spinner):  # Home: nothing to import or wait for
        pass
    assert shown == []
    with ahead.page_run(needs_stack=True, waiting=spinner):
        assert len(imports) == 1
    assert shown == ["on"]
    with ahead.page_run(needs_stack=True, waiting=spinner):  # imported already
        pass
    assert shown == ["on"] and len(imports) == 1
