"""The background trainer: events, steering from another thread, failures, NaN, reproducibility.

The first half drives the generic loop with a small real regression task (a linear model learning a fixed
linear map), so each test takes well under a second; the second half runs the receipt task on the ``tiny``
backbone over generated and CORD receipts.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from receipt_core.trainer import (Callback, CheckpointEvent, EvalEvent, FailedEvent, FinishedEvent, PhaseEvent,
                                  ProgressEvent, StatusEvent, StepEvent, StepOutput, TrainConfig, TrainerState,
                                  TrainingJob, event_from_json)

# --- a small real task for the generic loop ------------------------------------------------------------------


class Regression(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x, y):
        prediction = self.linear(self.dropout(x))
        per_task = ((prediction - y) ** 2).mean(dim=0)
        return per_task.sum(), {"a": per_task[0], "b": per_task[1]}


class RegressionTask:
    """y = x @ W for a fixed W; ``poison_batch`` puts an infinity in one batch, ``fail_at`` raises."""

    def __init__(self, batches: int = 8, step_delay: float = 0.0, poison_batch: int | None = None,
                 fail_at: int | None = None, freeze: bool = False) -> None:
        torch.manual_seed(0)
        self.model = Regression()
        if freeze:
            for p in self.model.parameters():
                p.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=0.05)
        self.batches, self.step_delay, self.poison_batch, self.fail_at = batches, step_delay, poison_batch, fail_at
        self.target = torch.tensor([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0], [-1.0, 0.5]])
        self.steps = 0
        self.saved: list[int] = []

    def train_batches(self, epoch: int):
        generator = torch.Generator().manual_seed(1000 + epoch)
        batches = []
        for i in range(self.batches):
            x = torch.randn(16, 4, generator=generator)
            if i == self.poison_batch:
                x[0, 0] = math.inf
            batches.append((x, x @ self.target))
        return batches

    def training_step(self, batch) -> StepOutput:
        self.steps += 1
        if self.fail_at is not None and self.steps == self.fail_at:
            raise RuntimeError("disk quota exceeded while reading batch 3")
        time.sleep(self.step_delay)
        self.model.train()
        loss, parts = self.model(*batch)
        return StepOutput(loss=loss, task_losses=parts, items=16)

    def can_learn(self) -> bool:
        return any(p.requires_grad for p in self.model.parameters())

    def begin(self, state):
        return []

    @torch.no_grad()
    def evaluate(self, state):
        self.model.eval()
        x = torch.randn(64, 4, generator=torch.Generator().manual_seed(7))
        loss, parts = self.model(x, x @ self.target)
        return EvalEvent(step=state.global_step, epoch=state.epoch, val_loss=float(loss),
                         task_val_losses={k: float(v) for k, v in parts.items()}, metrics={"mse": float(loss)},
                         phase=1), []

    def after_evaluation(self, state, evaluation, end_of_epoch):
        return []

    def save(self, state) -> str:
        self.saved.append(state.global_step)
        return f"memory://step-{state.global_step}"


def run_job(task, config: TrainConfig, **kwargs) -> TrainingJob:
    job = TrainingJob(lambda: (task, None), config, **kwargs)
    job.start()
    return job


def wait_for(reader: queue.Queue, predicate, timeout: float = 20.0) -> list:
    """Events from ``reader`` until one satisfies ``predicate`` (returned last)."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = reader.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"no matching event within {timeout}s; saw {[e.kind for e in seen]}")


def test_every_listener_and_queue_gets_the_same_events_and_the_loss_falls():
    task = RegressionTask(batches=10)
    config = TrainConfig(epochs=3, batch_size=16, grad_clip=None)
    job = TrainingJob(lambda: (task, None), config)
    first, second = [], []
    job.add_listener(first.append)
    job.add_listener(second.append)
    reader = job.subscribe()
    job.start()
    assert job.join(timeout=60)
    drained = []
    while not reader.empty():
        drained.append(reader.get_nowait())
    assert first == second == drained == job.history()
    assert isinstance(first[-1], FinishedEvent) and first[-1].reason == "completed"
    assert job.status == "finished"
    steps = [e for e in first if isinstance(e, StepEvent)]
    assert [e.step for e in steps] == list(range(1, 31))
    assert set(steps[0].task_losses) == {"a", "b"}
    evals = [e for e in first if isinstance(e, EvalEvent)]
    assert len(evals) == 3 and evals[-1].val_loss < evals[0].val_loss * 0.5
    progress = [e for e in first if isinstance(e, ProgressEvent)]
    assert progress[-1].step == 30 and progress[-1].total_steps == 30 and progress[-1].eta_s == 0
    assert progress[5].steps_per_s > 0 and progress[5].eta_s is not None and progress[5].eta_s > 0
    assert task.saved == [10, 20, 30]  # a checkpoint per epoch
    # a late subscriber gets the whole history first, then nothing more
    late = job.subscribe(replay=True)
    assert late.qsize() == len(first)
    # every event survives a JSON round trip to its typed form
    for event in first:
        assert event_from_json(event.kind, event.to_json()) == event


def test_stop_from_another_thread_takes_effect_within_one_step():
    task = RegressionTask(batches=1000, step_delay=0.02)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StepEvent) and e.step >= 3)
    stopper = threading.Thread(target=job.stop)
    stopper.start()
    stopper.join()
    steps_when_stopped = task.steps
    assert job.join(timeout=10)
    result = job.result
    assert isinstance(result, FinishedEvent) and result.reason == "stopped"
    assert task.steps <= steps_when_stopped + 1
    assert job.status == "stopped"
    assert task.saved == [result.step]  # a stopped run keeps a checkpoint of where it stopped


def test_pause_holds_the_thread_and_resume_continues():
    task = RegressionTask(batches=40, step_delay=0.01)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StepEvent) and e.step >= 2)
    threading.Thread(target=job.pause).start()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "paused")
    assert job.status == "paused"
    held = task.steps
    time.sleep(0.4)
    assert task.steps == held, "no step may run while paused"
    threading.Thread(target=job.resume).start()
    events = wait_for(reader, lambda e: isinstance(e, FinishedEvent))
    assert any(isinstance(e, StatusEvent) and e.status == "running" for e in events)
    assert events[-1].reason == "completed" and task.steps == 40
    # paused time does not count as training time
    assert job.trainer.state.elapsed_s < 0.4 + 40 * 0.01 + 5


def test_stop_while_paused_ends_the_run():
    task = RegressionTask(batches=200, step_delay=0.01)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16))
    reader = job.subscribe()
    job.pause()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "paused")
    job.stop()
    assert job.join(timeout=10)
    assert job.result.reason == "stopped" and task.steps == 0


def test_an_exception_in_the_thread_becomes_a_failed_event_with_its_message():
    task = RegressionTask(batches=10, fail_at=3)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16))
    seen = []
    job.add_listener(seen.append)
    job.start()
    assert job.join(timeout=10)
    failed = seen[-1]
    assert isinstance(failed, FailedEvent) and job.status == "failed"
    assert failed.error == "disk quota exceeded while reading batch 3"
    assert failed.error_type == "RuntimeError" and "training_step" in failed.traceback
    assert failed.step == 2


def test_a_failing_build_reaches_listeners_too():
    def build():
        raise FileNotFoundError("no dataset named 'receipts-2024' in the workspace")

    job = TrainingJob(build, TrainConfig())
    reader = job.subscribe()
    job.start()
    event = wait_for(reader, lambda e: isinstance(e, FailedEvent))[-1]
    assert "receipts-2024" in event.error and event.checkpoint is None


def test_a_poisoned_batch_stops_the_run_before_the_step_is_applied():
    task = RegressionTask(batches=10, poison_batch=4)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16))
    seen = []
    before = {}

    class Snapshot(Callback):
        def on_step_end(self, state, control, event):
            before.update({k: v.clone() for k, v in task.model.state_dict().items()})

    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16), callbacks=[Snapshot()])
    job.add_listener(seen.append)
    job.start()
    assert job.join(timeout=10)
    failed = seen[-1]
    assert isinstance(failed, FailedEvent) and failed.error_type == "NonFiniteLossError"
    assert "non-finite" in failed.error and "step 5" in failed.error
    assert all(math.isfinite(e.loss) for e in seen if isinstance(e, StepEvent))
    for name, value in task.model.state_dict().items():  # the poisoned step changed nothing
        assert torch.equal(value, before[name]), name
    assert task.saved == []


def test_callbacks_steer_through_control_only():
    class StopAtFive(Callback):
        def on_step_end(self, state, control, event):
            if state.global_step == 5:
                control.should_stop = True
            if state.global_step == 2:
                control.should_save = True

    task = RegressionTask(batches=50)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16), callbacks=[StopAtFive()])
    job.start()
    assert job.join(timeout=10)
    assert job.result.reason == "stopped" and job.result.step == 5
    assert task.saved == [2, 5]
    checkpoints = [e.step for e in job.history() if isinstance(e, CheckpointEvent)]
    assert checkpoints == [2, 5]


def test_time_budget_ends_the_run():
    task = RegressionTask(batches=10_000, step_delay=0.01)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=1, batch_size=16, max_minutes=0.5 / 60))
    started = time.monotonic()
    job.start()
    assert job.join(timeout=20)
    assert job.result.reason == "time budget"
    assert time.monotonic() - started < 5


def test_nothing_trainable_evaluates_and_says_so():
    task = RegressionTask(batches=10, freeze=True)
    job = TrainingJob(lambda: (task, None), TrainConfig(epochs=3, batch_size=16))
    job.start()
    assert job.join(timeout=10)
    history = job.history()
    notes = [e.message for e in history if isinstance(e, StatusEvent) and e.message]
    assert notes and "no parameter can learn" in notes[0]
    assert [e.kind for e in history if e.kind in ("step", "eval")] == ["eval"]
    assert job.result.reason == "nothing to train" and task.steps == 0


def test_seeded_runs_repeat_and_leave_the_global_rng_alone():
    def weights_after_run():
        built = []

        def build():  # the task (its seeding and weight init included) is built inside the job's thread
            built.append(RegressionTask(batches=6))
            return built[0], None

        job = TrainingJob(build, TrainConfig(epochs=2, batch_size=16))
        job.start()
        job.join()
        return built[0].model.linear.weight.detach().clone()

    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = weights_after_run()
    assert torch.equal(torch.rand(3), expected_next), "the job changed the caller's global RNG"
    second = weights_after_run()
    assert torch.equal(first, second)


def test_config_round_trips_and_rejects_nonsense():
    config = TrainConfig(backbone="tiny", scenario="phased", freeze=("encoder.0",), epochs=2, max_minutes=1.5,
                         watch=("a", "b"), task_weights=(1.0, 0.5))
    assert TrainConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="batch size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_json({"epochz": 3})
    state = TrainerState(global_step=7, best_val_loss=float("inf"))
    assert TrainerState.from_json(state.to_json()).global_step == 7
