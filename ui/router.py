"""The app's script (what app.py runs for every browser session): page config, st.navigation over pages/, sidebar."""

from __future__ import annotations

import streamlit as st

from receipt_core.training.threads import configure_torch_threads
from ui.shared import DATASET_KEY, PENDING_DATASET_KEY, ROUTED_KEY, job_slot, user_errors, workspace

PAGES = (
    ("pages/home.py", "Home", ":material/home:", "home"),
    ("pages/data.py", "Data", ":material/folder_open:", "data"),
    ("pages/annotate.py", "Annotate", ":material/edit:", "annotate"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/runs.py", "Runs", ":material/insights:", "runs"),
    ("pages/predict.py", "Predict", ":material/online_prediction:", "predict"),
)


def run_router() -> None:
    configure_torch_threads()  # one intra-op thread per physical core for the training thread; a no-op once set
    st.set_page_config(page_title="Receipt MTL Studio", page_icon=":material/receipt_long:", layout="wide")
    pages = [st.Page(path, title=title, icon=icon, url_path=url, default=url == "home")
             for path, title, icon, url in PAGES]
    page = st.navigation(pages)
    st.session_state[ROUTED_KEY] = True
    sidebar()
    page.run()


def sidebar() -> None:
    with st.sidebar:
        ws = workspace()
        st.caption(f"Workspace: `{ws.home}`")
        with user_errors("Reading the workspace"):
            names = [d.name for d in ws.datasets()]
            pending = st.session_state.pop(PENDING_DATASET_KEY, None)
            if pending in names:
                st.session_state[DATASET_KEY] = pending
            if names:
                if st.session_state.get(DATASET_KEY) not in names:
                    st.session_state[DATASET_KEY] = names[0]
                st.selectbox("Dataset", names, key=DATASET_KEY, help="The dataset the pages work on")
            else:
                st.session_state.pop(DATASET_KEY, None)
                st.info("No data yet: load the real receipts (CORD sample) or generate demo receipts on Home, or upload on Data.")
        active = job_slot().current()
        if active is None:
            st.caption("Training: idle")
        else:
            icon = {"running": ":green[:material/play_circle:]", "paused": ":orange[:material/pause_circle:]",
                    "failed": ":red[:material/error:]"}.get(active.status, ":material/stop_circle:")
            st.caption(f"Training: {icon} run `{active.run_id}` — {active.status}")
