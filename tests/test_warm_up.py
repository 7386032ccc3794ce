"""The server imports the model stack ahead (ui/warm_up.py): only in a real server, once, and a page that needs it
waits for the rest of the import instead of racing it."""

from __future__ import annotations

import time

from ui import warm_up


def test_outside_a_server_nothing_is_imported_ahead(monkeypatch):
    monkeypatch.delenv(warm_up.IMPORT_AHEAD_ENV, raising=False)
    ahead = warm_up.ModelStackImport()
    ahead.start()
    assert ahead._thread is None
    ahead.wait()  # nothing started: nothing to wait for


def test_in_a_server_the_import_starts_once_and_a_page_that_needs_it_cuts_the_delay(monkeypatch):
    monkeypatch.setenv(warm_up.IMPORT_AHEAD_ENV, "1")
    monkeypatch.setattr(warm_up, "START_DELAY_S", 60.0)
    ahead = warm_up.ModelStackImport()
    ahead.start()
    thread = ahead._thread
    ahead.start()
    assert ahead._thread is thread and thread.is_alive()  # one import per server, waiting out its delay
    started = time.monotonic()
    ahead.wait()  # a page needs PyTorch now: the delay ends and the page waits for the import itself
    assert not thread.is_alive() and time.monotonic() - started < 30
    import sys

    assert "torch" in sys.modules and "transformers.models.layoutlm.modeling_layoutlm" in sys.modules
