"""Import the model stack (PyTorch, transformers) in the background once the server has drawn its first page.

Home needs neither, but every other page does (the Train page's backbones, the Runs page's run settings, Annotate's
model pre-fill, Predict), and on a 2-core laptop their first import took 6–12 s: a newcomer's first click after
Home waited that long. The router starts the import a moment (:data:`START_DELAY_S`) after the first page it
drew, so that the browser has that page on screen before the import takes the CPU.
Only a real server does (``app.py`` sets :data:`IMPORT_AHEAD_ENV` when ``streamlit run`` imports it): in a test
process that runs pages with AppTest, the tests' own imports would race the thread.

A package imported from two threads at once can come out half-initialised (seen: ``cannot import name
'AutoTokenizer' from 'transformers'`` on a page opened one second after Home), so the router waits for the import
to end before it runs any page; the wait is only for what is left of the import.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading

import streamlit as st

LOGGER = logging.getLogger(__name__)
IMPORT_AHEAD_ENV = "RECEIPT_STUDIO_IMPORT_AHEAD"  # "1" in a server started by `streamlit run app.py`
START_DELAY_S = 2.0  # cut short when a page needs the model stack sooner


class ModelStackImport:
    """The server's one background import: started once, waited for before a page runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if os.environ.get(IMPORT_AHEAD_ENV) != "1":
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._import, name="model-stack-import", daemon=True)
                self._thread.start()

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            self._needed.set()
            thread.join()

    def _import(self) -> None:
        self._needed.wait(START_DELAY_S)
        try:
            importlib.import_module("torch")
            getattr(importlib.import_module("transformers"), "LayoutLMModel")  # transformers loads models lazily
        except Exception:  # noqa: BLE001 - the page that needs the package reports the failure where it is seen
            LOGGER.warning("importing the model stack in the background failed", exc_info=True)


@st.cache_resource(show_spinner=False)
def model_stack_import() -> ModelStackImport:
    """This server's :class:`ModelStackImport` (Streamlit's resource cache: one per server process)."""
    return ModelStackImport()

