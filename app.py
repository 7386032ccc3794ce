"""Receipt MTL Studio: the router (st.navigation over pages/) and the shared sidebar.

Run with ``make run`` (or ``.venv/bin/streamlit run app.py``). Server settings are in .streamlit/config.toml.
"""

from __future__ import annotations

import streamlit as st

from receipt_core.training.threads import configure_torch_threads
from ui.shared import DATASET_KEY, PENDING_DATASET_KEY, ROUTED_KEY, job_slot, user_errors, workspace

configure_torch_threads()  # one intra-op thread per physical core for the training thread; a no-op once set
st.set_page_config(page_title="Receipt MTL Studio", page_icon=":material/receipt_long:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/folder_open:", url_path="data"),
    st.Page("pages/annotate.py", title="Annotate", icon=":material/edit:", url_path="annotate"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/runs.py", title="Runs", icon=":material/insights:", url_path="runs"),
    st.Page("pages/predict.py", title="Predict", icon=":material/online_prediction:", url_path="predict"),
]
page = st.navigation(PAGES)
st.session_state[ROUTED_KEY] = True


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
                st.info("No data yet: generate demo receipts on Home, or upload on Data.")
        active = job_slot().current()
        if active is None:
            st.caption("Training: idle")
        else:
            icon = {"running": ":green[:material/play_circle:]", "paused": ":orange[:material/pause_circle:]",
                    "failed": ":red[:material/error:]"}.get(active.status, ":material/stop_circle:")
            st.caption(f"Training: {icon} run `{active.run_id}` — {active.status}")


sidebar()
page.run()
