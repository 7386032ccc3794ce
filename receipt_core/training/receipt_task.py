"""Receipts wired into the generic trainer: documents → windows → length-grouped batches → MultiTaskModel.

:class:`ReceiptTask` is the :class:`~receipt_core.training.task.TrainingTask` of this project. It builds the model
from a backbone (or a checkpoint to resume), applies the freeze plan of the chosen scenario plus hand
toggles, builds the optimizer once over every group (discriminative rates, so a later unfreeze takes effect),
runs the phased schedule, evaluates both tasks with ``metrics.py`` and ``predict.py``, emits predictions for a
watch-list of documents and writes checkpoints. While the embeddings and bottom layers are frozen, their
output comes from ``feature_cache.PrefixFeatureCache`` (computed once per window of the training set and of
the evaluation set, rebuilt when a phase moves the boundary), so a frozen backbone costs one forward pass over
the data rather than one per epoch. An evaluation is one pass over the evaluation windows: the same outputs give
the validation losses and the predictions the metrics score.

Workspace runs of this task (what the dashboard calls) are started in :mod:`receipt_core.training.runs`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

# Imported here, not inside build_task: whoever imports this module (a page, the CLI) then resolves
# transformers' lazily loaded classes in its own thread, before any trainer thread exists. Two threads
# resolving them at once (a resumed run loading its checkpoint while the Train page imports) raced into
# "ImportError: cannot import name 'AutoTokenizer' from 'transformers'".
from ..model.backbone_names import BACKBONE_NAMES
from ..model.backbones import load_backbone
from ..model.frozen_weights import FrozenReference, frozen_reference
from ..model.multitask import build_model
from ..model.checkpoint import SAVED_IN_KEY, CheckpointError, load_checkpoint
from ..model.checkpoint_save import save_checkpoint
from ..model.optimizer_state import optimizer_from_tensors, optimizer_to_tensors
from ..data.document import Document
from ..model.encoding import DocumentEncoder, collate
from ..model.feature_cache import PrefixFeatureCache, cached_forward
from ..model.heads import word_starts
from ..model.freeze import (HEAD_GROUPS, FreezePlan, PhasedSchedule, end_phase_epoch, group_names, group_of,
                            optimizer_param_groups, phase_label)
from ..data.schema import DEFAULT_SCHEMA, LabelSchema
from .batching import epoch_batches
from .events import EvalEvent, Event, PhaseEvent, PredictionEvent, flatten_metrics
from .task import StepOutput
from .precision import training_autocast
from .config import TrainConfig
from .state import TrainerState
from .threads import HEADS_ONLY_THREADS, intra_op_threads
from ..wording import counted

RNG_KEY = "rng.torch_cpu"
FLOAT32_CACHE_BYTES = 512 << 20  # a frozen-prefix cache up to this size keeps float32 (exact); larger ones float16


@dataclass(frozen=True)
class ReceiptBatch:
    indices: tuple[int, ...]  # into the task's train_windows
    tensors: Mapping[str, torch.Tensor]  # collate(): input_ids, bbox, attention_mask, field_labels, quantity_labels
    # (empty when the frozen-prefix cache will serve the batch: its tokens are never looked at)


class ReceiptTask:
    """The receipt model's side of the training loop (see the module docstring)."""

    def __init__(self, config: TrainConfig, model, tokenizer, backbone_name: str, train_docs: Sequence[Document],
                 eval_docs: Sequence[Document], run_dir: Path, schema: LabelSchema = DEFAULT_SCHEMA,
                 accelerator: Any = None, state: TrainerState | None = None,
                 training_state: Mapping[str, torch.Tensor] | None = None,
                 optimizer_meta: Mapping[str, Any] | None = None, frozen_tensors: Sequence[str] | None = None) -> None:
        if not train_docs:
            raise ValueError("the training set has no documents; import or generate receipts first")
        config = config.for_training_set(len(train_docs))  # phase 2's depth, when left open
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.backbone_name = backbone_name
        self.schema = schema
        self.run_dir = Path(run_dir)
        self.accelerator = accelerator
        self.device = accelerator.device if accelerator is not None else default_device()
        self.train_docs = tuple(train_docs)
        self.eval_docs = tuple(eval_docs)
        self.encoder = DocumentEncoder(tokenizer, schema, max_length=config.max_length, stride=config.stride,
                                       uses_layout=bool(model.needs_boxes), boxes=config.boxes)
        self.train_windows = self.encoder.encode_many(self.train_docs)
        self._eval_doc_windows = [self.encoder.encode(doc) for doc in self.eval_docs]
        self.eval_windows = [window for windows in self._eval_doc_windows for window in windows]
        self.groups = group_names(model)
        self.schedule = (PhasedSchedule(config.phased_top_k, config.epochs_per_phase, config.patience)
                         if config.scenario == "phased" else None)
        self._phase_budget_spent = False  # evaluation_due asked for the evaluation the loop is about to run
        if config.attention_dropout is not None:
            model.set_attention_dropout(config.attention_dropout)
        model.set_label_smoothing(config.label_smoothing)
        self.plan = self._plan_for(state.phase if state is not None else 1)
        self.plan.apply(model)
        self._untrained = self._untrained_groups(frozen_tensors)
        self._frozen_hash: tuple[tuple[str, ...], Any] | None = None
        model.to(self.device)
        # fused: one kernel per step over all tensors (on a CPU ~6x faster than the per-tensor default for MiniLM)
        self.optimizer = torch.optim.AdamW(optimizer_param_groups(model, config.lr, config.decay_factor,
                                                                  head_lr=config.head_lr),
                                           lr=config.lr, weight_decay=config.weight_decay, fused=True)
        if training_state and optimizer_meta:
            optimizer_from_tensors(self.optimizer, training_state, optimizer_meta)
        self._rng_state = training_state.get(RNG_KEY) if training_state else None
        self._resumed = state is not None
        self._prefix_cache: PrefixFeatureCache | None = None
        self.setup_s = 0.0  # building the feature caches, this launch (training.schedules.budget_share)
        self._eval_cache: PrefixFeatureCache | None = None
        self._threads = torch.get_num_threads()  # what the entry point chose (threads.configure_torch_threads)

    # -- freeze plan --

    def _plan_for(self, phase: int) -> FreezePlan:
        if self.schedule is not None:
            plan = self.schedule.plan(phase, self.groups)
        else:
            plan = FreezePlan.preset(self.config.scenario, self.groups)
        return plan.with_toggles(freeze=self.config.freeze, unfreeze=self.config.unfreeze)

    def _untrained_groups(self, frozen_tensors: Sequence[str] | None) -> set[str]:
        """Backbone groups whose weights are still the named backbone's: frozen since the run began (a resumed
        run: since its first start, as its checkpoint's ``frozen`` entry says). A checkpoint leaves them out."""
        if self.backbone_name not in BACKBONE_NAMES:
            return set()
        names = self._group_tensor_names()
        untrained = {g for g in names if g not in HEAD_GROUPS and not self.plan.trainable[g]}
        if frozen_tensors is not None:
            kept = set(frozen_tensors)
            untrained = {g for g in untrained if set(names[g]) <= kept}
        return untrained

    def _group_tensor_names(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {g: [] for g in self.groups}
        for name, _ in self.model.named_parameters():
            names[group_of(name)].append(name)
        return names

    def frozen_reference(self) -> FrozenReference | None:
        """The backbone tensors this checkpoint leaves out by reference (None: it stores everything)."""
        self._untrained = {g for g in self._untrained if not self.plan.trainable[g]}
        names = tuple(sorted(n for g, group in self._group_tensor_names().items() if g in self._untrained
                             for n in group))
        if not names:
            return None
        if self._frozen_hash is None or self._frozen_hash[0] != names:  # frozen weights do not move: hash once
            self._frozen_hash = (names, frozen_reference(self.model, names, self.backbone_name, self.config.seed))
        return self._frozen_hash[1]

    def _phase_event(self, state: TrainerState, reason: str) -> PhaseEvent:
        reports = self.plan.report(self.model)
        return PhaseEvent(step=state.global_step, epoch=state.epoch, phase=state.phase,
                          trainable_groups=tuple(r.name for r in reports if r.trainable),
                          trainable_parameters=sum(r.trainable_parameters for r in reports),
                          total_parameters=sum(r.parameters for r in reports), reason=reason,
                          phases=self.schedule.phases_within(self.config.epochs) if self.schedule else 1)

    def can_learn(self) -> bool:
        return self.plan.trainable_parameter_count(self.model) > 0

    # -- the loop's hooks --

    def begin(self, state: TrainerState) -> list[Event]:
        if self._rng_state is not None:
            torch.set_rng_state(self._rng_state)  # a resumed run continues the dropout stream it left
        else:
            torch.manual_seed(self.config.seed)  # the job runs inside fork_rng: the caller's RNG is restored
        reason = "resumed" if self._resumed else (phase_label(1, self.plan) if self.schedule else "start")
        self._fit_threads_to_plan()
        events = [self._phase_event(state, reason)]
        if self._resumed and 0 < state.epoch < self.config.epochs:
            # the change its last epoch's end skipped, having no epoch after it: a probe's `--resume --epochs 3`
            # of a 2-epoch phased run trained its third epoch on the heads alone (a fresh run enters phase 2)
            events += self._next_phase(state, None)
        return events

    def _fit_threads_to_plan(self) -> None:
        """One intra-op thread while the whole backbone is frozen and cached (each step is only the heads' small
        kernels: see ``threads.intra_op_threads``), the entry point's count otherwise."""
        heads_only = self.config.cache_frozen and self.plan.frozen_prefix_layers() == self.model.num_layers
        _set_threads(HEADS_ONLY_THREADS if heads_only else self._threads)

    def train_batches(self, epoch: int) -> list[ReceiptBatch]:
        batches = epoch_batches(self.train_windows, self.config.batch_size, self.config.seed, epoch)
        world = int(getattr(self.accelerator, "num_processes", 1) or 1)
        if world > 1:  # every process takes the same number of batches (the remainder is dropped)
            rank = int(self.accelerator.process_index)
            usable = len(batches) - len(batches) % world
            if usable == 0:
                raise ValueError(f"{len(batches)} batches cannot feed {world} processes; use more documents "
                                 "or a smaller batch size")
            batches = batches[:usable][rank::world]
        cached = self.config.cache_frozen and self.plan.frozen_prefix_layers() is not None
        return [ReceiptBatch(tuple(indices), {} if cached else self._collate([self.train_windows[i] for i in indices]))
                for indices in batches]

    def _collate(self, windows) -> dict[str, torch.Tensor]:
        batch = collate(windows, self.encoder.pad_token_id)
        batch["word_starts"] = word_starts(windows, batch["input_ids"].shape[1])
        return {k: v.to(self.device) for k, v in batch.items()}

    def training_step(self, batch: ReceiptBatch) -> StepOutput:
        if not self.model.training:  # after an evaluation; train() walks every module, so not on every step
            self.model.train()  # frozen units stay in eval mode (MultiTaskModel.train; FreezePlan.apply refreshes)
        cache = self._prefix_cache_now()
        with training_autocast(self.config.precision, self.device):  # backward follows the formats the forward chose
            if cache is None:
                output = self.model(**(batch.tensors or self._collate([self.train_windows[i] for i in batch.indices])))
            else:
                output = cached_forward(self.model, cache, batch.indices, self.device)
        return StepOutput(loss=output.loss, task_losses=output.task_losses, items=len(batch.indices))

    def _prefix_cache_now(self) -> PrefixFeatureCache | None:
        """The frozen-prefix cache for the current plan, built on first use and rebuilt when the prefix moves.

        Frozen units run in eval mode (no dropout) and their weights never move, so the hidden states after
        frozen embeddings and bottom layers are the same every epoch: computed once per window, a frozen
        backbone costs one forward pass over the data instead of one per epoch (see feature_cache.py).
        """
        self._prefix_cache = self._cache_for(self._prefix_cache, self.train_windows)
        return self._prefix_cache

    def _eval_cache_now(self) -> PrefixFeatureCache | None:
        """The same for the evaluation windows: an evaluation then runs only the trainable top too."""
        self._eval_cache = self._cache_for(self._eval_cache, self.eval_windows)
        return self._eval_cache

    def _cache_for(self, cache: PrefixFeatureCache | None, windows) -> PrefixFeatureCache | None:
        prefix = self.plan.frozen_prefix_layers() if self.config.cache_frozen and windows else None
        if cache is not None and cache.prefix_layers != prefix:
            cache.close()
            cache = None
        if prefix is not None and cache is None:
            states = prefix + 1 if self.model.reads_all_layers else 1
            floats = sum(len(w) for w in windows) * states * self.model.backbone.config.hidden_size
            dtype = torch.float32 if floats * 4 <= FLOAT32_CACHE_BYTES else torch.float16
            started = time.monotonic()
            with intra_op_threads(self._threads):  # the frozen backbone's forward: every core
                cache = PrefixFeatureCache.build(self.model, windows, prefix, self.encoder.pad_token_id,
                                                 batch_size=self.config.batch_size, dtype=dtype)
            self.setup_s += time.monotonic() - started
        return cache

    def close(self) -> None:
        _set_threads(self._threads)
        for cache in (self._prefix_cache, self._eval_cache):
            if cache is not None:
                cache.close()
        self._prefix_cache = self._eval_cache = None

    @torch.no_grad()
    def evaluation_pass(self) -> tuple[float | None, dict[str, float], list[tuple[torch.Tensor, torch.Tensor]]]:
        """One pass over the evaluation windows (through the frozen-prefix cache when there is one): the mean
        losses (weighted by labelled tokens per batch) and each window's field and quantity probabilities."""
        self.model.eval()
        cache = self._eval_cache_now()
        totals: dict[str, float] = {}
        weight_sum, loss_sum = 0, 0.0
        probabilities: list = [None] * len(self.eval_windows)
        order = sorted(range(len(self.eval_windows)), key=lambda i: len(self.eval_windows[i]))
        size = max(self.config.batch_size, 16)
        for start in range(0, len(order), size):
            indices = order[start:start + size]
            if cache is not None:
                output = cached_forward(self.model, cache, indices, self.device)
                weight = cache.labelled_tokens(indices)
            else:
                batch = self._collate([self.eval_windows[i] for i in indices])
                output = self.model(**batch)
                weight = int((batch["field_labels"] != -100).sum())
            fields = output.field_logits.float().softmax(-1).cpu()
            quantities = output.quantity_logits.float().softmax(-1).cpu()
            for row, i in enumerate(indices):
                probabilities[i] = (fields[row], quantities[row])
            if output.loss is None or weight == 0:
                continue
            weight_sum += weight
            loss_sum += float(output.loss) * weight
            for name, value in output.task_losses.items():
                totals[name] = totals.get(name, 0.0) + float(value) * weight
        if weight_sum == 0:
            return None, {}, probabilities
        return loss_sum / weight_sum, {name: value / weight_sum for name, value in totals.items()}, probabilities

    def evaluate(self, state: TrainerState) -> tuple[EvalEvent, list[Event]]:
        val_loss, task_losses, metrics = None, {}, {}
        follow_ups: list[Event] = []
        if self.eval_docs and self.eval_windows:
            from ..evaluation.metrics import evaluate_predictions
            from ..model.predict import Predictor

            val_loss, task_losses, probabilities = self.evaluation_pass()
            predictor = Predictor(self.model, self.encoder, self.schema)
            predictions, first = [], 0
            for doc, windows in zip(self.eval_docs, self._eval_doc_windows):
                scores = probabilities[first:first + len(windows)]
                first += len(windows)
                predictions.append(predictor.decode(doc, windows, [f for f, _ in scores], [q for _, q in scores]))
            metrics = flatten_metrics(evaluate_predictions(list(self.eval_docs), predictions), keep_tables=True)
            by_id = {p.doc_id: p for p in predictions}
            watch = self.config.watch or (self.eval_docs[0].id,)
            for doc_id in watch:
                if doc_id in by_id:
                    follow_ups.append(PredictionEvent(step=state.global_step, epoch=state.epoch, doc_id=doc_id,
                                                      prediction=by_id[doc_id].to_json()))
        if val_loss is not None:
            metrics["val_loss"] = val_loss
            metrics.update({f"{name}.val_loss": value for name, value in task_losses.items()})
        if hasattr(self.model, "task_weight_values"):
            metrics.update({f"{name}.loss_weight": value for name, value in self.model.task_weight_values().items()})
        event = EvalEvent(step=state.global_step, epoch=state.epoch, val_loss=val_loss,
                          task_val_losses=task_losses, metrics=metrics, phase=state.phase)
        return event, follow_ups

    def after_evaluation(self, state: TrainerState, evaluation: EvalEvent, end_of_epoch: bool) -> list[Event]:
        if evaluation.val_loss is not None and self.schedule is None and (
                state.best_val_loss is None or evaluation.val_loss < state.best_val_loss):
            state.best_val_loss = evaluation.val_loss
        asked, self._phase_budget_spent = self._phase_budget_spent, False
        if state.epoch >= self.config.epochs or not (end_of_epoch or asked):
            return []  # (no phase change after the last epoch, nor at the run's closing evaluation: nothing trains)
        return self._next_phase(state, evaluation.val_loss)

    def evaluation_due(self, state: TrainerState) -> bool:
        """Whether a phased run under a time budget has used its phase's share of it before the epoch ends: the
        loop then evaluates, and the phase moves on there. Epochs of a minute or more left a walkthrough's phase 2
        running through a 1.5-minute budget, and phase 3 never trained. Phase 1 (the heads on cached features, the
        cheapest steps) still ends at an epoch's end: cut mid-epoch on WildReceipt, its heads had 101 steps instead
        of 166 and quantity segment accuracy fell from 0.774 to 0.713 (seed 0)."""
        budget = self.config.max_minutes
        self._phase_budget_spent = bool(self.schedule is not None and budget and state.phase >= 2
                                        and self.schedule.budget_spent(state.phase, _budget_used(state, budget)))
        return self._phase_budget_spent

    def _next_phase(self, state: TrainerState, val_loss: float | None) -> list[Event]:
        """At an epoch's end (``val_loss``: its evaluation's, or None), or mid-epoch once the phase's share of the
        time budget is spent, the phased plan's move to its next phase when the schedule says so: the plan applied
        and its PhaseEvent; [] otherwise."""
        if self.schedule is None:
            return []
        epochs_done = state.epoch - state.phase_started_epoch
        by_epochs = self.schedule.epochs_per_phase is not None and epochs_done >= self.schedule.epochs_per_phase
        budget = self.config.max_minutes
        budget_used = _budget_used(state, budget) if budget else None
        by_budget = not by_epochs and self.schedule.budget_spent(state.phase, budget_used)
        if not end_phase_epoch(self.schedule, state, val_loss, budget_used):  # the phase lives in the state alone
            return []
        before = self.plan
        self.plan = self._plan_for(state.phase)
        self.plan.apply(self.model)
        self._fit_threads_to_plan()
        self._untrained = {g for g in self._untrained if not self.plan.trainable[g]}  # these train from now on
        # "of phase N": "phase 3: everything (2 epochs done)" read as 2 epochs in all, after 4 (a walkthrough)
        why = (f"after {counted(epochs_done, 'epoch')} of phase {state.phase - 1}" if by_epochs
               else f"{budget_used:.0%} of the time budget used" if by_budget else "validation loss stopped improving")
        label = phase_label(state.phase, self.plan, before, top_k=self.schedule.top_k)
        return [self._phase_event(state, f"{label} ({why})")]

    def save(self, state: TrainerState) -> str:
        tensors, meta = optimizer_to_tensors(self.optimizer)
        tensors[RNG_KEY] = torch.get_rng_state()
        info = {"backbone": self.backbone_name, "schema": self.schema.to_json(), "freeze_plan": self.plan.to_json(),
                "config": self.config.to_json(), "state": state.to_json(), "metrics": dict(state.last_metrics),
                "optimizer": meta, "processes": int(getattr(self.accelerator, "num_processes", 1) or 1),
                SAVED_IN_KEY: self.run_dir.name}  # a workspace run's id: its folder is refused under another run
        save_checkpoint(self.run_dir, self.model, info, training_state=tensors, tokenizer=self.tokenizer,
                        frozen=self.frozen_reference())
        return str(self.run_dir)


def _set_threads(threads: int) -> None:
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def default_device() -> torch.device:
    """The first GPU when there is one, else the CPU (the dashboard's in-process runs)."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


# --- building a task ---------------------------------------------------------------------------------------


def build_task(config: TrainConfig, train_docs: Sequence[Document], eval_docs: Sequence[Document], run_dir: Path,
               schema: LabelSchema = DEFAULT_SCHEMA, accelerator: Any = None) -> tuple[ReceiptTask, None]:
    """A fresh task: the backbone by name (seeded), new heads, the scenario's freeze plan."""
    backbone = load_backbone(config.backbone, seed=config.seed, max_length=config.max_length)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # the heads' initial weights depend on the seed only
        model = build_model(backbone, schema.num_fields, loss_weighting=config.loss_weighting,
                            task_weights=tuple(config.task_weights), head=config.head_settings())
    task = ReceiptTask(config, model, backbone.tokenizer, backbone.name, train_docs, eval_docs, run_dir, schema,
                       accelerator=accelerator)
    return task, None


# what a resume must keep of the checkpoint's settings: the model's and the optimizer's
FIXED_ON_RESUME = ("backbone", "scenario", "freeze", "unfreeze", "loss_weighting", "task_weights", "max_length",
                   "stride", "phased_top_k", "batch_size", "seed", "lr", "decay_factor", "weight_decay", "lr_schedule",
                   "warmup", "boxes", "head", "layer_mix", "head_size", "head_depth", "head_boxes", "head_lr",
                   "precision")  # a probe resumed a bf16 run in fp32 and the record kept no trace of the mix


def resume_conflict(config: TrainConfig, saved: TrainConfig) -> str | None:
    """Why ``config`` cannot continue a checkpoint trained with ``saved`` ("with lr=0.001: the checkpoint was
    trained with lr=0.0003"), else None; ``phased_top_k`` left open takes the saved depth."""
    for name in FIXED_ON_RESUME:
        if name == "phased_top_k" and config.phased_top_k is None:
            continue
        if getattr(config, name) != getattr(saved, name):
            return (f"with {name}={getattr(config, name)!r}: the checkpoint was trained with "
                    f"{name}={getattr(saved, name)!r}")
    return None


def build_resumed_task(run_dir: Path, train_docs: Sequence[Document], eval_docs: Sequence[Document],
                       config: TrainConfig | None = None, accelerator: Any = None) -> tuple[ReceiptTask, TrainerState]:
    """A task continuing the checkpoint in ``run_dir`` (weights, optimizer, RNG, step count, phase).

    ``config`` may change the epochs, the time budget, evaluation and phase lengths; the model's and the
    optimizer's settings must stay those of the checkpoint (CheckpointError otherwise).
    """
    loaded, tensors = load_checkpoint(run_dir, with_training_state=True)
    saved = TrainConfig.from_json(loaded.config)
    if config is None:
        config = saved
    elif config.phased_top_k is None:  # left open: the depth the checkpoint trained with
        config = dataclasses.replace(config, phased_top_k=saved.phased_top_k)
    if (conflict := resume_conflict(config, saved)) is not None:
        raise CheckpointError(f"cannot resume {run_dir} {conflict}")
    state = TrainerState.from_json(loaded.state)
    task = ReceiptTask(config, loaded.model, loaded.tokenizer, loaded.backbone, train_docs, eval_docs, run_dir,
                       loaded.schema, accelerator=accelerator, state=state, training_state=tensors,
                       optimizer_meta=loaded.info.get("optimizer"),
                       frozen_tensors=(loaded.info.get("frozen") or {}).get("tensors", ()))
    return task, state


def _budget_used(state: TrainerState, budget_minutes: float) -> float:
    """The share of the time budget a phased plan's phases are measured by: the wall-clock training time, setup
    included (the shares were measured so on WildReceipt: README, "The same recipe on a slower machine"; the
    learning-rate schedule alone leaves the feature caches' time out, ``training.schedules.budget_share``)."""
    return state.elapsed_s / (budget_minutes * 60)
