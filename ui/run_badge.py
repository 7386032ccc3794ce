"""How the dashboard names a live run's state, in the sidebar and on Train alike: the job's status, or what a press
of Pause or Stop has asked for and the loop has not reached yet (a step, or the backbone still loading, may take
seconds), each with its icon."""

from __future__ import annotations

STOPPING = "stopping… (evaluating and saving)"  # a live run's status from the Stop press until it has saved
PAUSING = "pausing…"  # from the Pause press until the loop pauses at its next step (after the backbone has loaded)
STATUS_ICONS = {"running": ":green[:material/play_circle:]", "paused": ":orange[:material/pause_circle:]",
                PAUSING: ":orange[:material/pause_circle:]", "failed": ":red[:material/error:]",
                "stopped": ":material/stop_circle:", STOPPING: ":material/stop_circle:",
                "finished": ":green[:material/check_circle:]"}


def shown_status(status: str, live: bool, control) -> str:
    """``status`` as the pages show it: ``STOPPING`` once Stop was pressed on a live run, ``PAUSING`` once Pause was
    pressed on a running one (the Train page's button already says Resume then; its header said "running" while a
    backbone loaded, a walkthrough)."""
    if live and control.should_stop:
        return STOPPING
    if live and status == "running" and control.should_pause:
        return PAUSING
    return status
