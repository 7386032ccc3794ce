"""The background trainer: events, steering from another thread, failures, NaN, reproducibility.

The first half drives the generic loop with a small real regression task (a linear model learning a fixed
linear map), so each test takes well under a second; the second half runs the receipt task on the ``tiny``
backbone over real CORD receipts (from ../shared).
"""

from __future__ import annotations

import dataclasses
import io
import math
import queue
import threading
import time

import pytest
import torch
from torch import nn

from conftest import require_shared_data
from receipt_core.model.checkpoint import CheckpointError, load_checkpoint
from receipt_core.data.boxes import stored_box_mode
from receipt_core.datasets import load_dataset
from receipt_core.model.freeze import parameter_groups
from receipt_core.workspace.store import Workspace
from receipt_core.training.state import Callback, TrainerState
from receipt_core.training.events import CheckpointEvent, EvalEvent, FailedEvent, FinishedEvent, PhaseEvent, ProgressEvent, StatusEvent, StepEvent, event_from_json
from receipt_core.training.task import StepOutput
from receipt_core.training.config import TrainConfig
from receipt_core.training.job import StoreListener, TrainingJob
from recorded_job import RecordedJob
from receipt_core.cli.progress import ProgressPrinter
from receipt_core.training.receipt_task import build_resumed_task, build_task
from receipt_core.training.runs import resume_run, start_run

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

    def evaluation_due(self, state):
        return False

    def after_evaluation(self, state, evaluation, end_of_epoch):
        return []

    def save(self, state) -> str:
        self.saved.append(state.global_step)
        return f"memory://step-{state.global_step}"


def run_job(task, config: TrainConfig, **kwargs) -> TrainingJob:
    job = RecordedJob(lambda: (task, None), config, **kwargs)
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
    # the task's own rate
    config = TrainConfig(scenario="full", epochs=3, batch_size=16, grad_clip=None, lr_schedule="constant")
    job = RecordedJob(lambda: (task, None), config)
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
    # every event survives a JSON round trip to its typed form
    for event in first:
        assert event_from_json(event.kind, event.to_json()) == event


def test_stop_from_another_thread_takes_effect_within_one_step():
    task = RegressionTask(batches=1000, step_delay=0.02)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
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


def test_a_stopped_runs_closing_evaluation_begins_no_phase():
    """Probe 29's Ctrl-C: the closing evaluation of the stopped run printed and saved "phase 3: everything", a
    phase that never trained a step. The task's phase decision is not asked once the run is stopping."""
    asked = []

    class Phasing(RegressionTask):
        def after_evaluation(self, state, evaluation, end_of_epoch):
            asked.append(state.global_step)
            return []

    task = Phasing(batches=1000, step_delay=0.02)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16, eval_every=2))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, EvalEvent))  # an evaluation mid-run: asked
    threading.Thread(target=job.stop).start()
    assert job.join(timeout=10) and job.result.reason == "stopped"
    assert asked and max(asked) < job.result.step  # not at the closing evaluation


def test_pause_holds_the_thread_and_resume_continues():
    task = RegressionTask(batches=40, step_delay=0.01)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
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


def test_the_rate_after_a_pause_counts_only_training_time():
    """Found in a walkthrough: 112 windows/s before a minute's pause, 10 after it (the window spanned the pause)."""
    task = RegressionTask(batches=60, step_delay=0.01)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StepEvent) and e.step >= 40)  # the last 50 steps' window spans the pause
    threading.Thread(target=job.pause).start()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "paused")
    time.sleep(2.0)  # three times as long as the 60 steps take
    threading.Thread(target=job.resume).start()
    events = wait_for(reader, lambda e: isinstance(e, FinishedEvent))
    last = [e for e in events if isinstance(e, ProgressEvent)][-1]
    assert last.steps_per_s > 30, last  # ~100 at 0.01 s a step; about 25 with the pause inside the window


def test_stop_while_paused_ends_the_run():
    task = RegressionTask(batches=200, step_delay=0.01)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
    reader = job.subscribe()
    job.pause()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "paused")
    job.stop()
    assert job.join(timeout=10)
    assert job.result.reason == "stopped" and task.steps == 0


def _run_to_its_end(task: RegressionTask) -> tuple[RecordedJob, list]:
    """``task`` run by a job for one epoch of batch 16, with every event it emitted."""
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
    seen = []
    job.add_listener(seen.append)
    job.start()
    assert job.join(timeout=10)
    return job, seen


def test_an_exception_in_the_thread_becomes_a_failed_event_with_its_message():
    job, seen = _run_to_its_end(RegressionTask(batches=10, fail_at=3))
    failed = seen[-1]
    assert isinstance(failed, FailedEvent) and job.status == "failed"
    assert failed.error == "disk quota exceeded while reading batch 3"
    assert failed.error_type == "RuntimeError" and "training_step" in failed.traceback
    assert failed.step == 2


def test_a_failing_build_reaches_listeners_too():
    def build():
        raise FileNotFoundError("no dataset named 'receipts-2024' in the workspace")

    job = RecordedJob(build, TrainConfig())
    reader = job.subscribe()
    job.start()
    event = wait_for(reader, lambda e: isinstance(e, FailedEvent))[-1]
    assert "receipts-2024" in event.error and event.checkpoint is None


def test_a_poisoned_batch_stops_the_run_before_the_step_is_applied():
    task = RegressionTask(batches=10, poison_batch=4)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16))
    seen = []
    before = {}

    class Snapshot(Callback):
        def on_step_end(self, state, control, event):
            before.update({k: v.clone() for k, v in task.model.state_dict().items()})

    job = RecordedJob(lambda: (task, None),
                      TrainConfig(scenario="full", epochs=1, batch_size=16), callbacks=[Snapshot()])
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
    job = RecordedJob(lambda: (task, None),
                      TrainConfig(scenario="full", epochs=1, batch_size=16), callbacks=[StopAtFive()])
    job.start()
    assert job.join(timeout=10)
    assert job.result.reason == "stopped" and job.result.step == 5
    assert task.saved == [2, 5]
    checkpoints = [e.step for e in job.history() if isinstance(e, CheckpointEvent)]
    assert checkpoints == [2, 5]


def test_time_budget_ends_the_run():
    task = RegressionTask(batches=10_000, step_delay=0.01)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16, max_minutes=0.5 / 60))
    started = time.monotonic()
    job.start()
    assert job.join(timeout=20)
    assert job.result.reason == "time budget"
    assert time.monotonic() - started < 5


class SlowClosingTask(RegressionTask):
    """An evaluation and a save that take 0.4 s each, as a real model's do on a large evaluation set."""

    def evaluate(self, state):
        time.sleep(0.4)
        return super().evaluate(state)

    def save(self, state) -> str:
        time.sleep(0.4)
        return super().save(state)


def test_a_time_budget_keeps_room_for_the_closing_evaluation_and_save():
    """A 3-second budget ends with the run evaluated and saved within it (plus at most about one step), not a
    closing evaluation and save later: the loop stops stepping when what is left is what they last took."""
    task = SlowClosingTask(batches=5, step_delay=0.02)
    job = run_job(task, TrainConfig(scenario="full", epochs=1000, batch_size=16, max_minutes=3 / 60))
    assert job.join(timeout=30)
    kinds = [e.kind for e in job.history() if e.kind in ("eval", "checkpoint", "finished")]
    assert job.result.reason == "time budget" and kinds[-3:] == ["eval", "checkpoint", "finished"]
    assert 2.4 < job.result.elapsed_s < 3.0 + 0.25, job.result.elapsed_s  # spent, not overrun by the closing 0.8 s


def test_nothing_trainable_evaluates_and_says_so():
    task = RegressionTask(batches=10, freeze=True)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=3, batch_size=16))
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

        job = RecordedJob(build, TrainConfig(scenario="full", epochs=2, batch_size=16))
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
        TrainConfig(scenario="full", batch_size=0)
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(scenario="full", lr=float("nan"))
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_json({"epochz": 3})
    with pytest.raises(ValueError, match="head.fields is both frozen and unfrozen: give each group to --freeze or "
                                         "to --unfreeze, not both"):
        TrainConfig(scenario="full", freeze=("head.fields",), unfreeze=("head.fields",))
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        TrainConfig(scenario="full", precision="fp16")
    from receipt_core.training.receipt_task import resume_conflict

    # a probe resumed a bf16 run in fp32, and the record kept no trace of the mix
    assert resume_conflict(TrainConfig(scenario="full"), TrainConfig(scenario="full", precision="bf16")) == (
        "with precision='fp32': the checkpoint was trained with precision='bf16'")
    state = TrainerState(global_step=7, best_val_loss=float("inf"))
    assert TrainerState.from_json(state.to_json()).global_step == 7


# --- the receipt task on the tiny backbone ---------------------------------------------------------------------



@pytest.fixture(scope="module")
def cord():
    train = load_dataset(require_shared_data("cord", "train"), "cord").documents
    dev = load_dataset(require_shared_data("cord", "dev"), "cord").documents
    return train[:24], dev[:4]


def receipt_job(config, train_docs, eval_docs, run_dir, callbacks=(), keep=None):
    def build():
        task, state = build_task(config, train_docs, eval_docs, run_dir)
        if keep is not None:
            keep.append(task)
        return task, state

    return RecordedJob(build, config, callbacks=callbacks)


def group_snapshot(model):
    return {name: [p.detach().clone() for p in params] for name, params in parameter_groups(model).items()}


def changed(before, after, group):
    return any(not torch.equal(a, b) for a, b in zip(before[group], after[group]))


def test_tiny_backbone_drives_both_task_losses_down(cord, tmp_path):
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="full", epochs=4, batch_size=4, lr=3e-3, seed=1)
    job = receipt_job(config, train_docs, dev_docs, tmp_path / "run")
    job.start()
    assert job.join(timeout=300)
    assert isinstance(job.result, FinishedEvent), job.result
    evals = [e for e in job.history() if isinstance(e, EvalEvent)]
    assert len(evals) == 4
    for task in ("fields", "quantity"):
        assert evals[-1].task_val_losses[task] < evals[0].task_val_losses[task], task
    steps = [e for e in job.history() if isinstance(e, StepEvent)]
    first, last = steps[:6], steps[-6:]
    for task in ("fields", "quantity"):
        assert sum(e.task_losses[task] for e in last) < 0.8 * sum(e.task_losses[task] for e in first), task
    metrics = evals[-1].metrics
    assert {"fields.micro_f1", "quantity.word_f1", "quantity.item_accuracy", "val_loss"} <= set(metrics)
    predictions = [e for e in job.history() if e.kind == "prediction"]
    assert len(predictions) == 4 and predictions[0].doc_id == dev_docs[0].id
    assert len(predictions[-1].prediction["words"]) == len(dev_docs[0].words)


def test_bf16_steps_run_under_autocast_learn_and_save_fp32_weights(cord, tmp_path, monkeypatch):
    """``precision="bf16"``: the forward runs in bfloat16 (its logits say so), the weights, losses and the saved
    checkpoint stay float32, and the run learns; evaluation stays float32."""
    from safetensors.torch import load_file

    from receipt_core.model.multitask import MultiTaskModel

    train_docs, dev_docs = cord
    seen = []
    forward = MultiTaskModel.forward

    def recording(self, *args, **kwargs):
        output = forward(self, *args, **kwargs)
        seen.append((self.training, output.field_logits.dtype, None if output.loss is None else output.loss.dtype))
        return output

    monkeypatch.setattr(MultiTaskModel, "forward", recording)
    config = TrainConfig(backbone="tiny", scenario="full", epochs=3, batch_size=4, lr=3e-3, seed=1, precision="bf16")
    job = receipt_job(config, train_docs, dev_docs, tmp_path / "run")
    job.start()
    assert job.join(timeout=300) and isinstance(job.result, FinishedEvent), job.result
    assert {(dtype, loss) for training, dtype, loss in seen if training} == {(torch.bfloat16, torch.float32)}
    assert {dtype for training, dtype, _ in seen if not training} == {torch.float32}
    evals = [e for e in job.history() if isinstance(e, EvalEvent)]
    assert evals[-1].task_val_losses["fields"] < evals[0].task_val_losses["fields"]
    weights = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}


def test_phased_run_changes_phase_and_newly_unfrozen_layers_then_change(cord, tmp_path):
    train_docs, _ = cord
    config = TrainConfig(backbone="tiny", scenario="phased", phased_top_k=1, epochs_per_phase=1, epochs=3,
                         batch_size=8, lr=3e-3)
    kept, snapshots = [], {}
    job = receipt_job(config, train_docs, (), tmp_path / "run", keep=kept)

    def snapshot(event):
        if isinstance(event, PhaseEvent):  # weights at each phase boundary (and at the start)
            snapshots[event.phase] = group_snapshot(kept[0].model)
        elif isinstance(event, FinishedEvent):
            snapshots["end"] = group_snapshot(kept[0].model)

    job.add_listener(snapshot)
    printed = io.StringIO()
    job.add_listener(ProgressPrinter(printed, interval=0.0))
    job.start()
    assert job.join(timeout=300) and isinstance(job.result, FinishedEvent), job.result
    phases = [e for e in job.history() if isinstance(e, PhaseEvent)]
    assert [p.phase for p in phases] == [1, 2, 3]
    assert [p.phases_ahead for p in phases] == [2, 1, 0]  # the plan's 3 phases, which a slower one follows
    # the command line's ETA is this phase's rate over the steps left: a floor while a slower phase is ahead
    by_phase, phase = {}, 0
    for line in printed.getvalue().splitlines():
        phase = int(line.split()[1].rstrip(":")) if line.startswith("phase ") else phase
        if line.startswith("step ") and " ETA " in line:
            by_phase.setdefault(phase, []).append("ETA at least" in line and "later phases train more" in line)
    assert by_phase[1] and all(by_phase[1]) and by_phase[3] and not any(by_phase[3])
    assert phases[0].trainable_groups == ("head.fields", "head.quantity")
    assert phases[1].trainable_groups == ("encoder.1", "head.fields", "head.quantity")
    # what it unfroze, not what was asked
    assert phases[1].reason == "phase 2: heads + top 1 encoder layer (after 1 epoch of phase 1)"
    assert phases[0].trainable_parameters < phases[1].trainable_parameters < phases[2].trainable_parameters
    assert phases[2].trainable_parameters == phases[2].total_parameters
    one, two, three, end = snapshots[1], snapshots[2], snapshots[3], snapshots["end"]
    # phase 1 moved the heads only
    assert changed(one, two, "head.fields") and changed(one, two, "head.quantity")
    assert not any(changed(one, two, g) for g in ("encoder.1", "encoder.0", "embeddings.text"))
    # phase 2 moved the newly unfrozen top layer, not the rest of the backbone
    assert changed(two, three, "encoder.1")
    assert not changed(two, three, "encoder.0") and not changed(two, three, "embeddings.text")
    # phase 3 moved everything
    assert changed(three, end, "encoder.0") and changed(three, end, "embeddings.text")
    steps_by_phase = {e.phase for e in job.history() if isinstance(e, StepEvent)}
    assert steps_by_phase == {1, 2, 3}


def test_freeze_all_evaluates_and_says_no_parameter_can_learn(cord, tmp_path):
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="freeze-all", epochs=3, batch_size=8)
    kept = []
    job = receipt_job(config, train_docs, dev_docs[:2], tmp_path / "run", keep=kept)
    job.start()
    assert job.join(timeout=120)
    history = job.history()
    assert job.result.reason == "nothing to train"
    assert [e.message for e in history if isinstance(e, StatusEvent)] == [
        "no parameter can learn (every group is frozen): evaluating only"]
    assert not any(isinstance(e, StepEvent) for e in history)
    evals = [e for e in history if isinstance(e, EvalEvent)]
    assert len(evals) == 1 and "fields.micro_f1" in evals[0].metrics
    assert history[0].trainable_parameters == 0
    assert load_checkpoint(tmp_path / "run").state["global_step"] == 0


def test_a_non_finite_validation_loss_fails_the_run_before_anything_is_stored_or_saved():
    """A probe: weights that overflowed after a step still gave a finite training loss at that step, then the
    evaluation's NaN reached the checkpoint's JSON, which failed with "Out of range float values are not JSON
    compliant" after writing half a checkpoint."""

    class Overflowed(RegressionTask):
        def evaluate(self, state):
            evaluation, follow_ups = super().evaluate(state)
            return dataclasses.replace(evaluation, val_loss=float("inf"), task_val_losses={"a": float("nan")}), \
                follow_ups

    task = Overflowed(batches=4)
    _, seen = _run_to_its_end(task)
    failed = seen[-1]
    assert isinstance(failed, FailedEvent) and failed.error_type == "NonFiniteLossError"
    assert failed.error == ("the validation loss became non-finite at step 4 (epoch 1): the steps before it "
                            "overflowed the weights, so nothing was saved from them. Lower the learning rate (and "
                            "the heads' rate)")
    assert not any(isinstance(e, EvalEvent) for e in seen) and task.saved == []


def test_diverging_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(cord, tmp_path):
    train_docs, _ = cord

    class SaveAfterFirstStepThenOverflow(Callback):
        def on_step_end(self, state, control, event):
            if state.global_step == 1:
                control.should_save = True
            if state.global_step == 2:  # after that save: weights as a rate of 1e30 would leave them (the config
                with torch.no_grad():  # refuses a rate above 1), so the logits overflow at the next step
                    for parameter in job.trainer.task.model.parameters():
                        parameter.mul_(1e30)

    config = TrainConfig(backbone="tiny", scenario="full", epochs=2, batch_size=4, lr=1e-3, grad_clip=None)
    job = receipt_job(config, train_docs, (), tmp_path / "run", callbacks=[SaveAfterFirstStepThenOverflow()])
    job.start()
    assert job.join(timeout=120)
    failed = job.result
    assert isinstance(failed, FailedEvent) and failed.error_type == "NonFiniteLossError"
    assert failed.error.startswith("the training loss became non-finite at step 3 (epoch 1): loss=")
    assert "Lower the learning rate" in failed.error and str(tmp_path / "run") in failed.error
    assert failed.checkpoint == str(tmp_path / "run")
    kept = load_checkpoint(tmp_path / "run")  # hashes verified: the failure wrote nothing
    assert kept.state["global_step"] == 1
    assert all(torch.isfinite(t).all() for t in kept.model.state_dict().values() if t.is_floating_point())


def test_workspace_run_stores_every_event_and_resumes_under_the_same_id(cord, workspace_home):
    train_docs, dev_docs = cord
    workspace = Workspace.open(workspace_home)
    workspace.save_documents("cord-train", train_docs[:16])
    workspace.save_documents("cord-dev", dev_docs[:1])
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=1, batch_size=8, lr=3e-3)
    seen = []
    job = start_run(workspace, config, workspace.load_documents("cord-train"), workspace.load_documents("cord-dev"),
                    listeners=[seen.append], notes={"train_dataset": "cord-train"})
    assert job.join(timeout=120)
    run = workspace.get_run(job.run_id)
    assert run.status == "finished" and run.summary["reason"] == "completed"
    stored = workspace.run_events(job.run_id)
    assert [e.kind for e in stored] == [e.kind for e in seen]
    assert [event_from_json(e.kind, e.payload) for e in stored] == seen
    assert (workspace.run_dir(job.run_id) / "run.json").is_file()

    assert workspace.get_run(job.run_id).config["train_dataset"] == "cord-train"

    # after a restart only the run id is known: the run finds its own documents again
    more = TrainConfig(**{**config.to_json(), "epochs": 2})
    again = resume_run(workspace, job.run_id, config=more)
    assert again.join(timeout=120) and isinstance(again.result, FinishedEvent), again.result
    steps = [e.payload["step"] for e in workspace.run_events(job.run_id, kinds=["step"])]
    assert steps == [1, 2, 3, 4]
    assert workspace.get_run(job.run_id).status == "finished"


def test_a_failed_workspace_run_is_marked_failed_with_its_message(workspace_home):
    workspace = Workspace.open(workspace_home)
    job = start_run(workspace, TrainConfig(scenario="full", backbone="no-such-backbone"), [], [])
    assert job.join(timeout=60)
    run = workspace.get_run(job.run_id)
    assert run.status == "failed"
    assert run.summary["error"].startswith("unknown backbone 'no-such-backbone'")
    assert workspace.run_events(job.run_id)[-1].kind == "failed"


def test_a_run_whose_folder_cannot_be_made_leaves_no_record_and_says_why(workspace_home):
    """A probe: with runs/ unwritable, Start left a "running" run that was later called "interrupted"."""
    from receipt_core.training.runs import start_pretrain_run, start_reference_run
    from receipt_core.training.config import PretrainConfig, ReferenceConfig
    from receipt_core.workspace.database import WorkspaceError

    workspace = Workspace.open(workspace_home)
    workspace.runs_dir.mkdir(parents=True, exist_ok=True)
    workspace.runs_dir.rmdir()
    workspace.runs_dir.write_text("a file where the runs folder belongs")  # refused even to root, unlike a mode
    for start in (lambda: start_run(workspace, TrainConfig(scenario="full", backbone="tiny"), [], []),
                  lambda: start_reference_run(workspace, ReferenceConfig(backbone="tiny"), [], []),
                  lambda: start_pretrain_run(workspace, PretrainConfig(backbone="tiny"), [])):
        with pytest.raises(WorkspaceError, match="cannot make the run's folder in .*runs: .*can be written"):
            start()
    assert workspace.list_runs() == []


def test_frozen_prefix_cache_gives_the_same_training_and_skips_the_frozen_forward(cord, tmp_path):
    train_docs, _ = cord
    results = {}
    for cache in (True, False):
        config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=3, batch_size=4, lr=3e-3,
                             cache_frozen=cache)
        kept, prefixes = [], []
        job = receipt_job(config, train_docs, (), tmp_path / f"run-{cache}", keep=kept)
        job.add_listener(lambda e, kept=kept, prefixes=prefixes: prefixes.append(
            None if kept[0]._prefix_cache is None else kept[0]._prefix_cache.prefix_layers) if e.kind == "step"
            else None)
        job.start()
        assert job.join(timeout=300) and isinstance(job.result, FinishedEvent), job.result
        results[cache] = ([e.loss for e in job.history() if isinstance(e, StepEvent)],
                          kept[0].model.field_head.net[-1].weight.detach().clone(), prefixes)
    cached_losses, cached_weight, cached_prefixes = results[True]
    plain_losses, plain_weight, plain_prefixes = results[False]
    # the heads see the same hidden states (to float rounding: the cache pass pads batches differently)
    assert cached_losses == pytest.approx(plain_losses, rel=1e-5)
    assert torch.allclose(cached_weight, plain_weight, atol=1e-5)
    assert set(cached_prefixes) == {2}  # the whole tiny backbone (2 layers) ran once, then only the heads
    assert set(plain_prefixes) == {None}


def test_a_full_disk_while_saving_fails_the_run_with_a_clear_message():
    class FullDisk(RegressionTask):
        def save(self, state):
            if self.saved:  # the first checkpoint fits, the second does not
                raise OSError(28, "No space left on device", "/runs/r1/model.safetensors.tmp")
            return super().save(state)

    task = FullDisk(batches=4)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=3, batch_size=16))
    job.start()
    assert job.join(timeout=10)
    failed = job.result
    assert isinstance(failed, FailedEvent) and failed.error_type == "CheckpointSaveError"
    assert failed.error == ("saving the checkpoint at step 8 failed: No space left on device "
                            "(/runs/r1/model.safetensors.tmp); the previous checkpoint (memory://step-4) is unchanged")
    assert failed.checkpoint == "memory://step-4"


def test_receipt_runs_repeat_for_a_seed_and_differ_across_seeds(cord, tmp_path):
    train_docs, _ = cord

    def losses(seed):
        config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, lr=3e-3, seed=seed)
        job = receipt_job(config, train_docs[:12], (), tmp_path / f"run-{seed}-{len(list(tmp_path.iterdir()))}")
        job.start()
        assert job.join(timeout=120)
        return [e.loss for e in job.history() if isinstance(e, StepEvent)]

    first, again, other = losses(4), losses(4), losses(5)
    assert first == again
    assert first != other


def test_a_phase_ends_when_validation_loss_stops_improving(cord, tmp_path):
    train_docs, dev_docs = cord
    # lr 0: the validation loss cannot improve, so with patience 1 each phase lasts two evaluations
    config = TrainConfig(backbone="tiny", scenario="phased", epochs_per_phase=None, patience=1, epochs=5,
                         batch_size=8, lr=0.0)
    job = receipt_job(config, train_docs[:8], dev_docs[:1], tmp_path / "run")
    job.start()
    assert job.join(timeout=300) and isinstance(job.result, FinishedEvent), job.result
    phases = [e for e in job.history() if isinstance(e, PhaseEvent)]
    assert [(p.phase, p.epoch) for p in phases] == [(1, 0), (2, 2), (3, 4)]
    assert all(p.reason.endswith("(validation loss stopped improving)") for p in phases[1:])


def _run_under_clock(monkeypatch, clock, config, train_docs, dev_docs, run_dir) -> RecordedJob:
    """A receipt job run to its end with the loop's clock faked by ``clock(trainer)`` (seconds of training), none of
    them building feature caches."""
    from receipt_core.training.loop import Trainer

    monkeypatch.setattr(Trainer, "_elapsed", clock)
    monkeypatch.setattr(Trainer, "_setup", lambda self: 0.0)
    job = receipt_job(config, train_docs, dev_docs, run_dir)
    job.start()
    assert job.join(timeout=300) and isinstance(job.result, FinishedEvent), job.result
    return job


def test_under_a_time_budget_phases_end_by_their_share_of_it(cord, tmp_path, monkeypatch):
    """A slow machine: the loop's clock (faked: a fifth of the 10-minute budget gone after epoch 1, 45 % after
    epoch 2) ends phase 1 and phase 2 by their budget shares although each was given 5 epochs, and says so."""
    spent = {0: 0.0, 1: 0.2, 2: 0.45}
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="phased", epochs_per_phase=5, epochs=3, max_minutes=10,
                         batch_size=8)
    job = _run_under_clock(monkeypatch, lambda self: 600 * spent.get(self.state.epoch, 0.5), config, train_docs[:8],
                           dev_docs[:1], tmp_path / "run")
    phases = [e for e in job.history() if isinstance(e, PhaseEvent)]
    assert [(p.phase, p.epoch) for p in phases] == [(1, 0), (2, 1), (3, 2)]
    assert [p.reason.rsplit("(", 1)[1] for p in phases[1:]] == ["20% of the time budget used)",
                                                               "45% of the time budget used)"]


def test_a_phase_that_used_its_budget_share_moves_on_mid_epoch_and_the_last_evaluation_starts_no_phase(
        cord, tmp_path, monkeypatch):
    """A machine so slow that an epoch outlasts a phase's share of the budget (the loop's clock faked: a fifth of
    the 10-minute budget per epoch, and 2 % more per step of the epoch under way). A walkthrough's phase 2 ran
    through a 1.5-minute budget whose epochs took 70 s, phase 3 never trained, and the run's last evaluation said
    "phase 3: everything (102% of the time budget used)". Now phase 2 moves on at the first step past its share,
    mid-epoch, and phase 3 trains until the budget ends; phase 1 (cheap steps) still ends at its epoch's end."""
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="phased", epochs_per_phase=5, epochs=20, max_minutes=10,
                         batch_size=1)
    # 20 receipts, one a step: many steps are left in the epoch when a share is spent, so the evaluation is worth it
    job = _run_under_clock(
        monkeypatch, lambda self: 600 * min(1.0, 0.2 * self.state.epoch + 0.02 * self.state.step_in_epoch), config,
        train_docs[:20], dev_docs[:1], tmp_path / "run")
    history = job.history()
    phases = [e for e in history if isinstance(e, PhaseEvent)]
    per_epoch = phases[1].step  # phase 1 ended with its first epoch, at 20 % of the budget
    assert per_epoch >= 20 and [(p.phase, p.step, p.epoch) for p in phases] == [
        (1, 0, 0), (2, per_epoch, 1), (3, per_epoch + 10, 1)]  # phase 3 ten steps into the second epoch: 40 %
    assert [p.reason.rsplit("(", 1)[1] for p in phases[1:]] == ["20% of the time budget used)",
                                                               "40% of the time budget used)"]
    steps = [e.step for e in history if isinstance(e, StepEvent)]
    assert job.result.reason == "time budget" and max(steps) > per_epoch + 10  # phase 3 trained

    # the budget spent just as epoch 1 ends: its evaluation is the run's last and starts no phase 2
    job = _run_under_clock(monkeypatch, lambda self: 600.0 * (self.state.epoch >= 1), config, train_docs[:6],
                           dev_docs[:1], tmp_path / "run-2")
    assert job.result.reason == "time budget"
    assert [(e.phase, e.step) for e in job.history() if isinstance(e, PhaseEvent)] == [(1, 0)]


def test_store_listener_keeps_the_run_status_in_step_with_the_buttons(workspace_home):
    workspace = Workspace.open(workspace_home)
    run_id = workspace.create_run("regression", {"epochs": 1})
    task = RegressionTask(batches=300, step_delay=0.01)
    job = RecordedJob(lambda: (task, None), TrainConfig(scenario="full", epochs=1, batch_size=16), run_id=run_id)
    job.add_listener(StoreListener(workspace, run_id))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StepEvent) and e.step >= 2)
    job.pause()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "paused")
    assert workspace.get_run(run_id).status == "paused"
    job.resume()
    wait_for(reader, lambda e: isinstance(e, StatusEvent) and e.status == "running")
    assert workspace.get_run(run_id).status == "running"
    job.stop()
    assert job.join(timeout=10)
    run = workspace.get_run(run_id)
    assert run.status == "stopped" and run.summary["reason"] == "stopped"
    kinds = [e.kind for e in workspace.run_events(run_id)]
    assert kinds.count("status") == 2 and kinds[-1] == "finished" and "checkpoint" in kinds


def test_uncertainty_weighting_learns_its_task_weights(cord, tmp_path):
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", loss_weighting="uncertainty", epochs=2,
                         batch_size=4, lr=3e-2)
    job = receipt_job(config, train_docs[:12], dev_docs[:1], tmp_path / "run")
    job.start()
    assert job.join(timeout=120) and isinstance(job.result, FinishedEvent), job.result
    weights = job.result.metrics
    assert weights["fields.loss_weight"] != 1.0 and weights["quantity.loss_weight"] != 1.0
    # Kendall et al.: the harder task (fields, the larger loss) gets the smaller weight
    assert weights["fields.loss_weight"] < weights["quantity.loss_weight"]


# --- learning-rate schedules ---------------------------------------------------------------------------------


def test_linear_schedule_warms_up_then_decays_to_zero_at_the_end():
    from receipt_core.training.schedules import lr_multiplier

    assert lr_multiplier("constant", 0.7, 0.1) == 1.0
    assert lr_multiplier("linear", 0.05, 0.1) == pytest.approx(0.5)
    assert lr_multiplier("linear", 0.1, 0.1) == pytest.approx(1.0)
    assert lr_multiplier("linear", 0.55, 0.1) == pytest.approx(0.5)
    assert lr_multiplier("linear", 1.0, 0.1) == 0.0
    with pytest.raises(ValueError, match="cosine"):
        lr_multiplier("cosine", 0.5, 0.1)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(scenario="full", lr_schedule="cosine")
    with pytest.raises(ValueError, match="warmup"):
        TrainConfig(scenario="full", warmup=1.0)


def test_the_trainer_applies_the_linear_schedule_by_steps():
    task = RegressionTask(batches=10)
    job = run_job(task, TrainConfig(scenario="full", epochs=2, lr_schedule="linear", warmup=0.2))
    assert job.join(timeout=30)
    rates = [e.lr for e in job.history() if isinstance(e, StepEvent)]
    assert len(rates) == 20
    # each step's rate is the schedule's at the step's middle: (k + 0.5) / 20 of the run for step k
    assert rates[0] == pytest.approx(0.05 * 0.5 / 4)  # half of step 1 of a 4-step warm-up: never a zero rate
    assert all(a < b for a, b in zip(rates[:4], rates[1:5]))  # up over the warm-up …
    assert max(rates) == rates[4] == pytest.approx(0.05 * (1 - 4.5 / 20) / 0.8)  # (the optimizer's rate at 4 steps)
    assert all(a > b for a, b in zip(rates[4:], rates[5:]))  # then strictly down …
    # … to its last step, which still learns: at global_step + 1 it had a rate of 0, so a one-step run trained
    # nothing and said "completed" (a probe)
    assert rates[-1] == pytest.approx(0.05 * (0.5 / 20) / 0.8)
    assert task.optimizer.param_groups[0]["base_lr"] == 0.05


def test_a_run_resumed_on_other_receipts_counts_its_steps_and_its_schedule_from_them():
    """Found by a walkthrough: stopped after 3 epochs of 10 steps and resumed on a dataset of 5 steps an epoch, a
    6-epoch run showed "step 114/42", and its linear rate was already 0 (every later step learned nothing)."""
    task = RegressionTask(batches=5)
    resumed = TrainerState(global_step=30, epoch=3, step_in_epoch=0, steps_per_epoch=10, total_steps=60)
    job = RecordedJob(lambda: (task, resumed), TrainConfig(scenario="full", epochs=6, lr_schedule="linear",
                                                          warmup=0.0))
    job.start()
    assert job.join(timeout=30)
    progress = [e for e in job.history() if isinstance(e, ProgressEvent)]
    assert {e.total_steps for e in progress} == {45} and progress[-1].step == 45  # 30 before, then 3 epochs of 5
    rates = [e.lr for e in job.history() if isinstance(e, StepEvent)]
    assert len(rates) == 15 and all(a > b > 0 for a, b in zip(rates, rates[1:])) \
        and rates[-1] == pytest.approx(0.05 * 0.5 / 45)  # the middle of step 45 of 45


def test_a_budgeted_run_decays_its_rate_with_the_clock():
    task = RegressionTask(batches=10, step_delay=0.03)
    job = run_job(task, TrainConfig(scenario="full", epochs=1000, max_minutes=0.02, lr_schedule="linear", warmup=0.0))
    assert job.join(timeout=30)
    rates = [e.lr for e in job.history() if isinstance(e, StepEvent)]
    assert job.result.reason == "time budget"
    assert rates[0] > 0.04 and rates[-1] < 0.2 * 0.05  # 1000 epochs would have barely moved it by steps
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_line_boxes_and_the_schedule_are_kept_with_the_checkpoint(cord, tmp_path):
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, lr=3e-3, seed=1,
                         boxes="line", lr_schedule="linear")
    job = receipt_job(config, train_docs[:8], dev_docs[:2], tmp_path / "run")
    job.start()
    assert job.join(timeout=120) and isinstance(job.result, FinishedEvent)
    loaded = load_checkpoint(tmp_path / "run")
    encoder = loaded.encoder()
    assert encoder.boxes == "line"
    doc = train_docs[0]
    boxes = encoder.word_boxes(doc)
    same_line = [i for i, w in enumerate(doc.words) if w.line_id == doc.words[0].line_id]
    assert len(same_line) > 1 and len({boxes[i] for i in same_line}) == 1
    with pytest.raises(CheckpointError, match="lr_schedule"):
        build_resumed_task(tmp_path / "run", train_docs[:8], dev_docs[:2],
                           config=dataclasses.replace(config, lr_schedule="constant", epochs=2))
    with pytest.raises(CheckpointError, match="boxes='row'.*boxes='line'"):
        build_resumed_task(tmp_path / "run", train_docs[:8], dev_docs[:2],
                           config=dataclasses.replace(config, boxes="row", epochs=2))


def test_settings_written_before_box_modes_still_load():
    """Runs and studies saved when the only choice was ``line_boxes: true|false`` keep their boxes."""
    legacy = TrainConfig(scenario="full", backbone="tiny").to_json()
    del legacy["boxes"]
    assert TrainConfig.from_json({**legacy, "line_boxes": True}).boxes == "line"
    assert TrainConfig.from_json({**legacy, "line_boxes": False}).boxes == "word"
    assert stored_box_mode({"line_boxes": True}) == "line" and stored_box_mode({}) == "word"
    assert stored_box_mode({"boxes": "row", "line_boxes": True}) == "row"
    with pytest.raises(ValueError, match="unknown box mode"):
        TrainConfig(scenario="full", backbone="tiny", boxes="lines")


def _check_fraction_setting(name: str, recorded_before: float | None) -> None:
    """A fraction setting reads back as ``recorded_before`` from a run recorded before it existed, and a value
    outside [0, 1) is refused with its name."""
    legacy = TrainConfig.for_scenario("phased", backbone="tiny").to_json()
    del legacy[name]
    assert getattr(TrainConfig.from_json(legacy), name) == recorded_before
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=name.replace("_", " ")):
            TrainConfig(**{name: bad})


def test_attention_dropout_is_a_setting_and_left_open_keeps_the_backbone_s_own(cord, tmp_path):
    """Left open (the default, and what runs recorded before the setting read back as) the backbone keeps its
    checkpoint's rate (MiniLM's 0.1); a run that asks for another gets it on every attention layer."""
    _check_fraction_setting("attention_dropout", None)
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, attention_dropout=0.2)
    task, _ = build_task(config, train_docs[:4], dev_docs[:1], tmp_path / "run")
    assert {layer.attention.self.attention_dropout for layer in task.model.backbone.encoder.layer} == {0.2}
    own = build_task(dataclasses.replace(config, attention_dropout=None), train_docs[:4], dev_docs[:1],
                     tmp_path / "own")[0].model.backbone
    assert {layer.attention.self.attention_dropout for layer in own.encoder.layer} == {
        own.config.attention_probs_dropout_prob}


def test_label_smoothing_is_phased_s_default_and_reaches_the_model(cord, tmp_path):
    """Phased runs smooth their targets by 0.1 (measured on WildReceipt photos), other scenarios and runs recorded
    before the setting train on plain targets; a value outside [0, 1) is refused before anything loads."""
    assert TrainConfig.for_scenario("phased").label_smoothing == 0.1
    assert TrainConfig.for_scenario("full").label_smoothing == TrainConfig().label_smoothing == 0.0
    _check_fraction_setting("label_smoothing", 0.0)
    train_docs, dev_docs = cord
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, label_smoothing=0.3)
    task, _ = build_task(config, train_docs[:4], dev_docs[:1], tmp_path / "run")
    assert task.model.label_smoothing == 0.3


def test_save_every_epoch_off_writes_one_checkpoint_at_the_end_and_one_when_stopped():
    task = RegressionTask(batches=5)
    job = RecordedJob(lambda: (task, None),
                      TrainConfig(scenario="full", epochs=3, batch_size=16, save_every_epoch=False))
    job.start()
    assert job.join(timeout=60) and job.result.reason == "completed"
    assert task.saved == [15]  # only the end of the run

    task = RegressionTask(batches=1000, step_delay=0.01)
    job = RecordedJob(lambda: (task, None),
                      TrainConfig(scenario="full", epochs=3, batch_size=16, save_every_epoch=False))
    reader = job.subscribe()
    job.start()
    wait_for(reader, lambda e: isinstance(e, StepEvent) and e.step >= 3)
    job.stop()
    assert job.join(timeout=60) and job.result.reason == "stopped"
    assert task.saved == [job.result.step]  # a stopped run still keeps where it stopped


def test_a_fresh_slot_finds_the_job_still_running_after_a_cache_clear():
    """Found by a probe: Streamlit's "clear cache" message (any client may send it) dropped the cached slot; a new
    one said idle, a second run started beside the first, and no page could stop the first."""
    import threading

    from receipt_core.training.slot import JobBusyError, JobSlot

    release = threading.Event()

    class _Job:  # what the slot reads of a TrainingJob
        name, run_id, started_at, status = "tiny · full", "20261203-000000-abcdef", 0.0, "running"

        @property
        def is_alive(self) -> bool:
            return not release.is_set()

    thread = threading.Thread(target=release.wait, daemon=True)
    thread.training_job = _Job()
    thread.start()
    try:
        fresh = JobSlot()
        assert fresh.busy() is not None and fresh.busy().run_id == "20261203-000000-abcdef"
        with pytest.raises(JobBusyError, match="a run is in progress: 20261203-000000-abcdef"):
            fresh.start(lambda: ("other", None))
    finally:
        release.set()
        thread.join(5)
    assert JobSlot().busy() is None


def test_the_time_spent_building_the_feature_cache_does_not_use_up_the_learning_rate(cord, tmp_path, monkeypatch):
    """A walkthrough's 60-second race: freeze-backbone spent 28 s filling its feature cache inside its first step,
    and its second step already ran at half its rate, since the linear schedule went by the time used. The cache's
    time is now left out of the schedule (a phased plan's budget shares stay on the wall clock, as measured); the
    budget still ends the run."""
    from receipt_core.model.feature_cache import PrefixFeatureCache
    from receipt_core.training.schedules import budget_share

    assert budget_share(28.0, 28.0, 60.0) == 0.0 and budget_share(44.0, 28.0, 60.0) == 0.5
    assert budget_share(60.0, 28.0, 60.0) == 1.0 and budget_share(70.0, 80.0, 60.0) == 1.0

    real_build = PrefixFeatureCache.build.__func__

    def slow_build(cls, *args, **kwargs):
        time.sleep(3.0)  # a slow machine's fill (the training cache's, then the evaluation's), in a budget of 12 s
        return real_build(cls, *args, **kwargs)

    monkeypatch.setattr(PrefixFeatureCache, "build", classmethod(slow_build))
    train_docs, dev_docs = cord
    # epochs no machine gets through in the budget: a fast hour finished 1,000 of them (2,000 heads-only steps) in
    # 12 s, and the run ended "completed" instead of at its budget
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=100_000, max_minutes=0.2, batch_size=2,
                         lr_schedule="linear", warmup=0.0, save_every_epoch=False)
    job = receipt_job(config, train_docs[:4], dev_docs[:1], tmp_path / "run")
    job.start()
    assert job.join(timeout=300) and job.result.reason == "time budget", job.result
    steps = [e for e in job.history() if isinstance(e, StepEvent)]
    peak = config.head_lr or config.lr
    assert len(steps) >= 3
    assert steps[1].lr > 0.9 * peak, [round(s.lr / peak, 2) for s in steps[:5]]  # was 0.74: 3 s of 12 gone
    state = load_checkpoint(tmp_path / "run").state
    assert state["setup_s"] >= 3.0 and state["elapsed_s"] > state["setup_s"]
