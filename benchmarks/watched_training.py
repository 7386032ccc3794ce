"""The same run through the dashboard and through the CLI: the Train page's defaults on the CORD sample that ships
in ``assets/``, started with Start while a browser watches the live charts, against ``train`` with no tuning flags
on the same receipts. The figure is the ratio of the two runs' own loop times (``FinishedEvent.elapsed_s``: steps,
evaluations and checkpoints; loading excluded on both sides), so it says what watching costs a user.

The two sides run one after the other (a browser and a second run at once would share the 2 cores), alternating,
``--repeats`` runs each; each side's figure is its median.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, Figure, Sizes

TARGET = 1.3  # the dashboard may cost at most this much more than the command line
QUICK_EPOCHS = 1


def _dashboard_seconds(home: Path, sizes: Sizes, log: Path) -> float:
    from live_app import choose, chromium_page, live_server, open_page, set_number, wait_idle

    from receipt_core.workspace.store import Workspace

    workspace = Workspace(home)
    with live_server(home, log) as live, chromium_page(120_000) as page:
        open_page(page, live.url, "train")
        wait_idle(page)
        if sizes.quick:
            choose(page, "Backbone", sizes.backbone)
            set_number(page, "Epochs", QUICK_EPOCHS)
        page.get_by_role("button", name="Start", exact=True).click()
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            runs = workspace.list_runs()
            if runs and runs[0].status in ("finished", "failed", "stopped"):
                break
            time.sleep(2)
        run = workspace.list_runs()[0]
        if run.status != "finished":
            raise RuntimeError(f"the dashboard's run ended {run.status}: {run.summary.get('error', '')}")
        finished = workspace.run_events(run.id, kinds=["finished"])[-1]
        return float(finished.payload["elapsed_s"])


def _cli_seconds(sample: Path, sizes: Sizes, out: Path) -> float:
    command = [sys.executable, "-m", "receipt_core", "train", "--train", str(sample / "train"), "--eval",
               str(sample / "dev"), "--format", "cord", "--out", str(out)]
    if sizes.quick:
        command += ["--backbone", sizes.backbone, "--epochs", str(QUICK_EPOCHS)]
    subprocess.run(command, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return float(json.loads((out / "run.json").read_text())["state"]["elapsed_s"])


def watched_training(sizes: Sizes) -> list[Figure]:
    from receipt_core.datasets.demo import add_cord_sample, cord_sample_path
    from receipt_core.workspace.store import Workspace

    # the sides alternate, ``sizes.repeats`` runs each, and each side's figure is its median: one CLI run of the same
    # command took 96.7 s and 110.1 s a few minutes apart on this machine, which moved one-run ratios by 0.2
    watched_runs, cli_runs = [], []
    for repeat in range(1 if sizes.quick else sizes.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-watched-") as folder:
            home = Path(folder) / "workspace"
            add_cord_sample(Workspace(home))
            watched_runs.append(_dashboard_seconds(home, sizes, Path(folder) / "server.log"))
            cli_runs.append(_cli_seconds(cord_sample_path(), sizes, Path(folder) / "cli-run"))
    watched, cli = statistics.median(watched_runs), statistics.median(cli_runs)
    ratio = watched / cli
    what = (f"{sizes.backbone}, {QUICK_EPOCHS} epoch" if sizes.quick else
            "the Train page's defaults (text-minilm · phased, 12 epochs)")
    detail = (f"{what} on the CORD sample (200 train → 50 dev receipts, assets/cord-sample): Start on the Train "
              f"page with a headless Chromium showing the live charts, {watched:.1f} s of training, evaluation "
              f"and checkpoints, vs `train` with no tuning flags on the same folders, {cli:.1f} s (each run's own "
              f"loop time, FinishedEvent.elapsed_s; the median of {len(cli_runs)} run(s) per side, the sides "
              f"alternating: watched {', '.join(f'{t:.1f}' for t in watched_runs)} s, command line "
              f"{', '.join(f'{t:.1f}' for t in cli_runs)} s)")
    return [Figure("Dashboard vs CLI: one run watched live in the browser, time per run", f"{ratio:.2f}×",
                   "" if sizes.quick else f"≤ {TARGET:g}×", None if sizes.quick else ratio <= TARGET, detail)]
