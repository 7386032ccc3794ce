"""Time to quality: from Start until CORD dev field micro-F1 first reaches a threshold, per scenario (issue 16).

Each scenario runs through the dashboard's own path — ``training.runs.start_run`` in a fresh workspace with
``TrainConfig.for_scenario(scenario)`` (the scenario's defaults, nothing tuned here) — and the clock starts just
before that call, so the backbone load, the encoding and the frozen-prefix cache fill are all inside the figure.
The clock stops at the first evaluation whose ``fields.micro_f1`` reaches the threshold; the run is then stopped
(what it would reach later is not this figure). A run that ends, or passes the cap, without reaching it is reported
as such, with the best F1 it reached. The scenarios run one after another in this one process, side by side.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import Figure, Sizes, cord_documents

SCENARIOS = ("freeze-backbone", "phased", "full")
THRESHOLD = 0.90
TARGET_SECONDS = {"freeze-backbone": 60.0}  # Start → F1 ≥ 0.90 within a minute (issue 16); the others: no target
CAP_MINUTES = 15.0


@dataclass(frozen=True)
class Reached:
    scenario: str
    seconds: float | None  # None: never reached the threshold
    f1: float  # the F1 of the evaluation that reached it, else the best one seen
    epoch: int
    evaluations: int


def time_to_threshold(scenario: str, train_docs, eval_docs, threshold: float, backbone: str | None,
                      cap_minutes: float, folder: Path) -> Reached:
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.events import EvalEvent, FailedEvent, FinishedEvent
    from receipt_core.training.runs import start_run
    from receipt_core.workspace.store import Workspace

    settings = {"backbone": backbone} if backbone else {}
    config = TrainConfig.for_scenario(scenario, **settings)
    workspace = Workspace.open(folder / scenario)
    reached: dict = {}
    best = {"f1": 0.0, "epoch": 0, "evaluations": 0}
    done = threading.Event()

    def listen(event) -> None:
        if isinstance(event, EvalEvent):
            f1 = float(event.metrics.get("fields.micro_f1", 0.0))
            best["evaluations"] += 1
            if f1 > best["f1"]:
                best.update(f1=f1, epoch=event.epoch)
            if f1 >= threshold and not reached:
                reached.update(seconds=time.perf_counter() - started, f1=f1, epoch=event.epoch)
                done.set()
        elif isinstance(event, (FinishedEvent, FailedEvent)):
            if isinstance(event, FailedEvent):
                reached.setdefault("error", event.error)
            done.set()

    started = time.perf_counter()
    job = start_run(workspace, config, train_docs, eval_docs, listeners=[listen])
    done.wait(cap_minutes * 60)
    job.stop()
    job.join()
    if "error" in reached:
        raise RuntimeError(f"{scenario}: the run failed: {reached['error']}")
    if "seconds" in reached:
        return Reached(scenario, reached["seconds"], reached["f1"], reached["epoch"], best["evaluations"])
    return Reached(scenario, None, best["f1"], best["epoch"], best["evaluations"])


def time_to_quality(sizes: Sizes) -> list[Figure]:
    if sizes.quick:  # a smoke run: tiny backbone, a few receipts, "reached" at the first evaluation
        train_docs, eval_docs = cord_documents(8), cord_documents(4, "dev")
        threshold, backbone, cap = 0.0, "tiny", 3.0
    else:
        train_docs, eval_docs = cord_documents(10_000), cord_documents(10_000, "dev")
        threshold, backbone, cap = THRESHOLD, None, CAP_MINUTES
    figures = []
    with tempfile.TemporaryDirectory(prefix="time-to-quality-") as folder:
        for scenario in SCENARIOS:
            result = time_to_threshold(scenario, train_docs, eval_docs, threshold, backbone, cap, Path(folder))
            target = TARGET_SECONDS.get(scenario) if not sizes.quick else None
            if result.seconds is None:
                value = f"not reached (best {result.f1:.3f} at epoch {result.epoch})"
                met = False if target else None
            else:
                value = f"{result.seconds:.0f} s (F1 {result.f1:.3f}, epoch {result.epoch})"
                met = (result.seconds <= target) if target else None
            detail = (f"{scenario} with its defaults (`TrainConfig.for_scenario`, backbone "
                      f"{backbone or 'the default'}), {len(train_docs)} CORD train → {len(eval_docs)} CORD dev "
                      f"receipts, through `training.runs.start_run` as the Train page starts it; from the call "
                      f"(backbone load, encoding, cache fill included) to the first evaluation with field micro-F1 "
                      f"≥ {threshold:.2f}; {result.evaluations} evaluation(s) seen, cap {cap:g} min")
            figures.append(Figure(f"Start → CORD dev field micro-F1 ≥ {threshold:.2f}: {scenario}", value,
                                  f"≤ {target:g} s" if target else "", met, detail))
    return figures
