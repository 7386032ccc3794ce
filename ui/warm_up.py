"""Import the model stack (PyTorch, transformers) in the background once the server has drawn its first page.

Home needs neither, but every other page does (the Train page's backbones, the Runs page's run settings, Annotate's
model pre-fill, Predict), and on a 2-core laptop their first import took 6–12 s: a newcomer's first click after
Home waited that long. The router starts the import a moment (:data:`START_DELAY_S`) after the first page it
drew, so that the browser has that page on screen before the import takes the CPU.
Only a real server does (``app.py`` sets :data:`IMPORT_AHEAD_ENV` when ``streamlit run`` imports it): in a test
process that runs pages with AppTest, the tests' own imports would race the thread.

A package imported from two threads at once can come out half-initialised (seen: ``cannot import name
'AutoTokenizer' from 'transformers'`` on a page opened one second after Home). So the import and the page runs
never overlap: a page run waits for an import under way (only for what is left of it), and the import waits
until the page runs already going (another session's, say) have ended. A page that needs the stack before the
background import began (a fresh server whose first visitors open Train, Runs and Predict in three tabs at once, a
probe) does the import itself, the same way and once: the other pages wait for it.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Callable, Iterator

import streamlit as st

LOGGER = logging.getLogger(__name__)
IMPORT_AHEAD_ENV = "RECEIPT_STUDIO_IMPORT_AHEAD"  # "1" in a server started by `streamlit run app.py`
START_DELAY_S = 2.0  # cut short when a page needs the model stack sooner
# What receipt_core takes from transformers' top level: each loads its module on first use.
MODEL_STACK_NAMES = ("AutoTokenizer", "LayoutLMConfig", "LayoutLMModel", "LayoutLMForTokenClassification",
                     "PreTrainedTokenizerFast")


class ModelStackImport:
    """The server's one import of the model stack: done once, by the background thread or by the first page run
    that needs it, never beside a page run."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._needed = threading.Event()
        self._thread: threading.Thread | None = None
        self._phase = "waiting"  # "waiting" → "importing" → "done"
        self._pages_running = 0

    def start(self) -> None:
        if os.environ.get(IMPORT_AHEAD_ENV) != "1":
            return
        with self._state:
            if self._thread is None and self._phase == "waiting":
                self._thread = threading.Thread(target=self._import_ahead, name="model-stack-import", daemon=True)
                self._thread.start()

    @contextmanager
    def page_run(self, needs_stack: bool = True,
                 waiting: Callable[[], AbstractContextManager[object]] = nullcontext) -> Iterator[None]:
        """Around a page run: waits for an import under way, and keeps one from starting meanwhile. In a server, a
        page that ``needs_stack`` before anything imported it does the import first, while no other page runs.
        ``waiting``: what the page shows while it waits or imports (the router's spinner: a fresh server's first
        page drew nothing for 8 s)."""
        with self._state:
            busy = self._phase == "importing"
            import_here = (not busy and needs_stack and self._phase == "waiting"
                           and os.environ.get(IMPORT_AHEAD_ENV) == "1")
            if import_here:
                self._phase = "importing"  # from here on, new page runs wait for this one's import
        if busy or import_here:
            with waiting():
                with self._state:
                    if busy:
                        self._needed.set()  # the page wants the packages now: no delay
                        self._state.wait_for(lambda: self._phase == "done")
                    else:
                        self._state.wait_for(lambda: self._pages_running == 0)
                if import_here:
                    self._import()
        with self._state:
            self._pages_running += 1
        try:
            yield
        finally:
            with self._state:
                self._pages_running -= 1
                self._state.notify_all()

    def _import_ahead(self) -> None:
        self._needed.wait(START_DELAY_S)
        with self._state:
            self._state.wait_for(lambda: self._pages_running == 0 or self._phase != "waiting")
            if self._phase != "waiting":
                return  # a page run does it, or did
            self._phase = "importing"
        self._import()

    def _import(self) -> None:
        """Runs while no page runs and none starts (phase "importing")."""
        try:
            _load_model_stack()
        except Exception:  # noqa: BLE001 - the page that needs the package reports the failure where it is seen
            LOGGER.warning("importing the model stack failed", exc_info=True)
        finally:
            with self._state:
                self._phase = "done"
                self._state.notify_all()


def _load_model_stack() -> None:
    importlib.import_module("torch")
    transformers = importlib.import_module("transformers")
    for name in MODEL_STACK_NAMES:  # transformers loads each lazily, on first use
        getattr(transformers, name)


@st.cache_resource(show_spinner=False)
def model_stack_import() -> ModelStackImport:
    """This server's :class:`ModelStackImport` (Streamlit's resource cache: one per server process)."""
    return ModelStackImport()
