"""Receipt MTL Studio: the router (st.navigation over app_pages/) and the shared sidebar.

Run with ``make run`` (or ``.venv/bin/streamlit run app.py``). Server settings are in .streamlit/config.toml.

This file plays two parts. ``streamlit run app.py`` finds the ``app = st.App(...)`` below and imports this file
once as a module (``__name__ == "app"``) to serve it: the ASGI app, with the Host allowlist of
:mod:`ui.host_check` in front of Streamlit. Every browser session then runs this same file as the Streamlit
script, where ``__name__`` is ``"__main__"``, and it draws the pages. Worker processes spawned from a page import
it as ``"__mp_main__"`` and get nothing.
"""

from __future__ import annotations

if __name__ == "__mp_main__":
    # A worker process (the OCR pool, the study's runs): multiprocessing's spawn re-imports the parent's main module
    # under this name, and while a page runs that is this file. A worker neither serves nor draws anything; running
    # the pages there is what filled the server log with "missing ScriptRunContext" on every OCR batch.
    pass
elif __name__ != "__main__":  # imported by `streamlit run` (or uvicorn) as the server, not run as the script
    import os

    import streamlit as st
    from ui.host_check import host_middleware
    from ui.warm_up import IMPORT_AHEAD_ENV

    os.environ[IMPORT_AHEAD_ENV] = "1"  # this process serves pages: import the model stack ahead (ui/warm_up.py)
    app = st.App(__file__, middleware=host_middleware())
else:
    from ui.router import run_router

    run_router()
