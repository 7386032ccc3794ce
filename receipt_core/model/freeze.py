"""Freezing by named parameter groups: presets for the design's scenarios, phased unfreezing, and
discriminative learning rates over an optimizer that holds every group once.

Groups, bottom to top (a *splitter* in fastai's sense)::

    embeddings.text     word, position and token-type embeddings and the embedding LayerNorm
    embeddings.layout   LayoutLM's x, y, h, w position tables
    encoder.0 … encoder.N-1
    head.fields         the field head (and its log-variance under uncertainty weighting)
    head.quantity       the quantity head (and its log-variance under uncertainty weighting)

Every parameter lands in exactly one group (asserted). A FreezePlan maps each group name to trainable or
not; ``apply`` sets ``requires_grad`` and refreshes train/eval mode. Modes: ``MultiTaskModel.train()``
keeps every fully frozen unit (the embeddings when both embedding groups are frozen, an encoder layer, a
head) in eval mode, so dropout is off there even after a later ``model.train()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol, Sequence

from ..wording import counted

if TYPE_CHECKING:  # annotations only: the presets and group names are read without loading torch
    from torch import nn

PRESETS = ("freeze-all", "freeze-backbone", "freeze-fields-head", "freeze-quantity-head", "full", "phased")
HEAD_GROUPS = ("head.fields", "head.quantity")
EMBEDDING_GROUPS = ("embeddings.text", "embeddings.layout")
LAYOUT_GROUP = EMBEDDING_GROUPS[1]
LAYOUT_TABLES = ("x_position_embeddings", "y_position_embeddings", "h_position_embeddings",
                 "w_position_embeddings")
"""LayoutLM's four 2-D position tables (``embeddings.<name>``): the group ``embeddings.layout``."""


def group_of(parameter_name: str) -> str:
    """The group a MultiTaskModel parameter name belongs to (ValueError for a name no group claims)."""
    parts = parameter_name.split(".")
    if parts[0] == "field_head":
        return "head.fields"
    if parts[0] == "quantity_head":
        return "head.quantity"
    if parts[0] == "backbone" and len(parts) > 2:
        if parts[1] == "embeddings":
            return LAYOUT_GROUP if parts[2] in LAYOUT_TABLES else "embeddings.text"
        if parts[1] == "encoder" and parts[2] == "layer" and len(parts) > 3 and parts[3].isdigit():
            return f"encoder.{parts[3]}"
    raise ValueError(f"parameter {parameter_name!r} belongs to no freeze group; extend freeze.group_of")


TOGGLE_PREFIXES = ("backbone", "embeddings", "encoder", "head")
"""The names a toggle may give besides a group's own: ``backbone`` (every embedding and encoder group) and the
first part of a group's name (every group under it)."""


_LAYER_GROUP = re.compile(r"encoder\.(0|[1-9][0-9]{0,3})")  # a layer's group as named: no leading zero, no sign


def toggle_name_problem(toggle: str) -> str | None:
    """Why ``toggle`` can name no group of any model (None when it may): checked from the name alone, before a
    model is loaded. Whether ``encoder.N`` exists depends on the backbone's depth: :func:`toggle_depth_problem`."""
    if toggle in TOGGLE_PREFIXES or toggle in EMBEDDING_GROUPS or toggle in HEAD_GROUPS:
        return None
    if _LAYER_GROUP.fullmatch(toggle):  # as the model names its layers: encoder.01 named none (probe 65)
        return None
    shown = repr(toggle) if len(toggle) <= 60 else f"{toggle[:40]!r}… ({len(toggle):,} characters)"
    return (f"unknown freeze group {shown}: give a group (embeddings.text, embeddings.layout, encoder.0 … "
            f"encoder.N-1, head.fields, head.quantity) or one of {', '.join(TOGGLE_PREFIXES)}")



def toggle_depth_problem(toggle: str, num_layers: int, backbone: str) -> str | None:
    """Why ``toggle`` names an encoder layer ``backbone`` (of ``num_layers``) lacks; None when it does not. Checked
    before the model loads where the depth is known from the name (a walkthrough's ``--freeze encoder.9`` on a
    6-layer backbone was refused only after the data and the model had loaded, leaving a failed run)."""
    if _LAYER_GROUP.fullmatch(toggle) and int(toggle.split(".")[1]) >= num_layers:
        return (f"the backbone {backbone} has {num_layers} encoder layers, encoder.0 to encoder.{num_layers - 1} "
                "(or give 'encoder' for all of them)")
    return None


def group_names_for(num_layers: int) -> tuple[str, ...]:
    return (*EMBEDDING_GROUPS, *(f"encoder.{i}" for i in range(num_layers)), *HEAD_GROUPS)


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Ordered groups (embeddings.text … head.quantity) of the model's parameters, each parameter once."""
    num_layers = len(model.backbone.encoder.layer)
    groups: dict[str, list[nn.Parameter]] = {name: [] for name in group_names_for(num_layers)}
    for name, parameter in model.named_parameters():
        group = group_of(name)
        if group not in groups:
            raise ValueError(f"parameter {name!r} maps to {group!r}, which is not a group of this model")
        groups[group].append(parameter)
    every = [id(p) for p in model.parameters()]
    grouped = [id(p) for params in groups.values() for p in params]
    assert len(grouped) == len(set(grouped)) and set(grouped) == set(every), \
        "every parameter must land in exactly one freeze group"
    return groups


def group_names(model: nn.Module) -> tuple[str, ...]:
    return tuple(parameter_groups(model))


@dataclass(frozen=True)
class GroupReport:
    name: str
    trainable: bool
    parameters: int  # total parameters in the group

    @property
    def trainable_parameters(self) -> int:
        return self.parameters if self.trainable else 0


@dataclass(frozen=True)
class FreezePlan:
    """Which groups train. Build one with ``preset``; adjust with ``with_toggles``; ``apply`` to a model."""

    trainable: Mapping[str, bool]

    def __post_init__(self) -> None:
        object.__setattr__(self, "trainable", MappingProxyType(dict(self.trainable)))

    @classmethod
    def preset(cls, name: str, group_names: Sequence[str]) -> "FreezePlan":
        """The plan of a named scenario; ``phased`` gives its first phase (heads only)."""
        heads = set(HEAD_GROUPS)
        if name == "freeze-all":
            rule = lambda g: False  # noqa: E731
        elif name in ("freeze-backbone", "phased"):
            rule = lambda g: g in heads  # noqa: E731
        elif name == "freeze-fields-head":
            rule = lambda g: g != "head.fields"  # noqa: E731
        elif name == "freeze-quantity-head":
            rule = lambda g: g != "head.quantity"  # noqa: E731
        elif name == "full":
            rule = lambda g: True  # noqa: E731
        else:
            raise ValueError(f"unknown freeze preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls({g: rule(g) for g in group_names})

    def with_toggles(self, freeze: Iterable[str] = (), unfreeze: Iterable[str] = ()) -> "FreezePlan":
        """This plan with groups frozen/unfrozen by hand (toggles override the preset; unfreeze wins ties).

        A toggle names a group (``encoder.3``) or a prefix of whole name parts (``encoder``, ``head``,
        ``embeddings``); ``backbone`` means every embedding and encoder group.
        """
        trainable = dict(self.trainable)
        for names, value in ((freeze, False), (unfreeze, True)):
            for toggle in names:
                for group in self.expand(toggle):
                    trainable[group] = value
        return FreezePlan(trainable)

    def expand(self, toggle: str) -> list[str]:
        if toggle == "backbone":
            matches = [g for g in self.trainable if g not in HEAD_GROUPS]
        else:
            matches = [g for g in self.trainable if g == toggle or g.startswith(toggle + ".")]
        if not matches:
            raise ValueError(f"unknown freeze group {toggle!r}; groups are {', '.join(self.trainable)} "
                             "(or a prefix such as 'encoder', 'head', 'embeddings', or 'backbone')")
        return matches

    def apply(self, model: nn.Module) -> None:
        """Set requires_grad per group and refresh train/eval mode (frozen units go to eval)."""
        groups = parameter_groups(model)
        if set(groups) != set(self.trainable):
            raise ValueError(f"freeze plan groups {sorted(self.trainable)} do not match the model's groups "
                             f"{sorted(groups)} (a plan made for another backbone?)")
        for name, params in groups.items():
            for parameter in params:
                parameter.requires_grad_(self.trainable[name])
        model.train(model.training)

    def report(self, model: nn.Module) -> list[GroupReport]:
        return [GroupReport(name=name, trainable=self.trainable.get(name, False),
                            parameters=sum(p.numel() for p in params))
                for name, params in parameter_groups(model).items()]

    def trainable_parameter_count(self, model: nn.Module) -> int:
        """0 means nothing can learn (``freeze-all``): a trainer should say so and only evaluate."""
        return sum(r.trainable_parameters for r in self.report(model))

    @property
    def frozen_groups(self) -> tuple[str, ...]:
        return tuple(g for g, t in self.trainable.items() if not t)

    def frozen_prefix_layers(self) -> int | None:
        """How many bottom encoder layers are frozen together with both embedding groups (their output
        can then be cached); None when an embedding group trains."""
        if any(self.trainable.get(g, True) for g in EMBEDDING_GROUPS):
            return None
        k = 0
        while f"encoder.{k}" in self.trainable and not self.trainable[f"encoder.{k}"]:
            k += 1
        return k

    def to_json(self) -> dict[str, bool]:
        return dict(self.trainable)

    @classmethod
    def from_json(cls, data: Mapping[str, bool]) -> "FreezePlan":
        if not isinstance(data, Mapping) or not all(isinstance(v, bool) for v in data.values()):
            raise ValueError(f"a freeze plan is an object of group name → true/false, got {data!r}")
        return cls(dict(data))


@dataclass(frozen=True)
class HandFrozenHeads:
    """Heads frozen by hand over a preset that trains them, and whether a backbone group trains by the plan's end."""

    heads: tuple[str, ...]
    backbone_trains: bool


def hand_frozen_heads(preset: str, group_names: Sequence[str], freeze: Iterable[str] = (),
                      unfreeze: Iterable[str] = ()) -> HandFrozenHeads:
    """Which heads the toggles ``freeze``/``unfreeze`` freeze that ``preset`` trains, and whether any backbone group
    trains at the plan's end (``phased``: its last phase, every group not frozen by hand)."""
    freeze, unfreeze = tuple(freeze), tuple(unfreeze)
    start = FreezePlan.preset(preset, group_names)
    toggled = start.with_toggles(freeze, unfreeze)
    final = FreezePlan.preset("full", group_names).with_toggles(freeze, unfreeze) if preset == "phased" else toggled
    return HandFrozenHeads(
        heads=tuple(h for h in HEAD_GROUPS if start.trainable.get(h) and not toggled.trainable.get(h, True)),
        backbone_trains=any(on for name, on in final.trainable.items() if name not in HEAD_GROUPS))


BUDGET_SHARE_BY_PHASE_END: Mapping[int, float] = MappingProxyType({1: 0.15, 2: 0.4})
"""Under a time budget, the share of it by which each phase before the last ends, whatever its epochs: phase 1 at
the epoch's end past it, phase 2 at the first step past it (``ReceiptTask.evaluation_due``). On a fast machine
phases 1 and 2 of the WildReceipt recipe end by their epochs at about 5 % and 30 % of ten minutes; on a machine
2.5x slower, phase 2 alone took half the budget and phase 3, where the photos'
quality comes from, got 50 steps (README "End to end from pixels": field F1 0.753 then, 0.766 with phase 3
started earlier)."""


@dataclass(frozen=True)
class PhasedSchedule:
    """Phase 1: heads only; phase 2: heads + top ``top_k`` encoder layers; phase 3: everything.

    A phase ends after ``epochs_per_phase`` epochs, or after ``patience`` evaluations without a new best
    validation loss, whichever comes first of those configured (at least one must be). Under a time budget a
    phase before the last also ends once it has used its share of the budget (:data:`BUDGET_SHARE_BY_PHASE_END`),
    so a slow machine still leaves the last phase most of the budget.
    """

    top_k: int  # the run's TrainConfig.phased_top_k
    epochs_per_phase: int | None = 1
    patience: int | None = None
    num_phases: int = field(default=3, init=False)

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.epochs_per_phase is None and self.patience is None:
            raise ValueError("a phased schedule needs epochs_per_phase or patience (or both) to end a phase")
        for name in ("epochs_per_phase", "patience"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None), got {value}")

    def plan(self, phase: int, group_names: Sequence[str]) -> FreezePlan:
        if phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1, 2 or 3, got {phase}")
        if phase == 1:
            return FreezePlan.preset("freeze-backbone", group_names)
        if phase == 3:
            return FreezePlan.preset("full", group_names)
        top = set(top_encoder_layers(group_names, self.top_k))
        return FreezePlan({g: g in HEAD_GROUPS or g in top for g in group_names})

    def phases_within(self, epochs: int) -> int:
        """How many phases a run of ``epochs`` epochs starts by the epoch rule alone (a patience may start them
        sooner; a time budget may stop the run before)."""
        if self.epochs_per_phase is None or epochs < 1:
            return self.num_phases if epochs >= 1 else 0
        return min(self.num_phases, 1 + (epochs - 1) // self.epochs_per_phase)

    def epochs_for_every_phase(self) -> int | None:
        """The fewest epochs in which the epoch rule starts the last phase (None: phases end by patience only)."""
        return None if self.epochs_per_phase is None else (self.num_phases - 1) * self.epochs_per_phase + 1

    def should_advance(self, epochs_in_phase: int, evals_without_improvement: int, phase: int = 1,
                       budget_used: float | None = None) -> bool:
        """Whether ``phase`` ends now; ``budget_used``: the share of a time budget spent (None: no budget)."""
        if self.epochs_per_phase is not None and epochs_in_phase >= self.epochs_per_phase:
            return True
        if self.budget_spent(phase, budget_used):
            return True
        return self.patience is not None and evals_without_improvement >= self.patience

    @staticmethod
    def budget_spent(phase: int, budget_used: float | None) -> bool:
        """Whether a run under a time budget has used the share ``phase`` may run until."""
        share = BUDGET_SHARE_BY_PHASE_END.get(phase)
        return share is not None and budget_used is not None and budget_used >= share


def top_encoder_layers(group_names: Iterable[str], depth: int) -> list[str]:
    """The top ``depth`` encoder layer groups of ``group_names`` (in the model's order): what phase 2 unfreezes."""
    layers = [name for name in group_names if name.startswith("encoder.")]
    return layers[-depth:] if depth > 0 else []


def phase_label(phase: int, plan: FreezePlan, before: FreezePlan | None = None, top_k: int = 0) -> str:
    """What a phased run trains in ``phase`` under ``plan`` (``before``: the previous phase's; ``top_k``: phase 2's
    depth), as its PhaseEvent says it. Groups the hand toggles add are named, and a phase that trains what the one
    before did says so: walkthrough 30's phase 1 with encoder.4 and .5 toggled on read "heads only" at 4.2M
    parameters and its phase 2 "heads + top 2 encoder layers" at the same 4.2M; probe 33's phase 2 of depth 1 with
    encoder.0 toggled on read "top 2"."""
    if before is not None and plan.trainable == before.trainable:
        return f"phase {phase}: nothing new to train (toggled on from the start)"
    # the groups toggled off are named too: walkthrough 35 froze head.quantity and read "phase 1: heads + encoder.5"
    # and "phase 3: everything" at 24.5M of 24.8M
    off = [group for group, trains in plan.trainable.items() if not trains]
    if phase == 3:
        return f"phase 3: everything but {', '.join(off)} (toggled off)" if off else "phase 3: everything"
    heads = [group for group in HEAD_GROUPS if group in plan.trainable]
    heads_on = [group for group in heads if plan.trainable[group]]
    trained_heads = "heads" if heads_on == heads else ", ".join(heads_on) or "no head"
    top = top_encoder_layers(plan.trainable, top_k) if phase == 2 else []
    toggled = [group for group, trains in plan.trainable.items()
               if trains and group not in HEAD_GROUPS and group not in top]
    extra = f"{', '.join(toggled)} (toggled on)" if toggled else ""
    if phase == 1:
        return f"phase 1: {trained_heads} + {extra}" if extra else f"phase 1: {trained_heads} only"
    return (f"phase {phase}: {trained_heads} + top {counted(len(top), 'encoder layer')}"
            + (f" + {extra}" if extra else ""))


def phase_two_toggled_on(group_names: Sequence[str], unfreeze: Sequence[str], depth: int) -> tuple[str, ...]:
    """Phase 2's top ``depth`` encoder layers when every one of them is toggled on from the start (``unfreeze``):
    phase 2 then trains what phase 1 does; empty otherwise."""
    top = top_encoder_layers(group_names, depth)
    return tuple(top) if top and set(top) <= set(unfreeze) else ()


class PhaseProgress(Protocol):
    """Where a phased run stands; ``training.state.TrainerState`` is the one home of these fields."""

    phase: int
    epoch: int  # epochs completed
    phase_started_epoch: int
    best_val_loss: float | None
    evals_without_improvement: int


def end_phase_epoch(schedule: PhasedSchedule, progress: PhaseProgress, validation_loss: float | None,
                    budget_used: float | None = None) -> bool:
    """Record the end of an epoch (``progress.epoch`` already counts it) and its validation loss, if evaluated;
    True when this moved ``progress`` to the next phase (which then starts at this epoch, with no best loss).
    ``budget_used``: the share of the run's time budget spent so far (None: the run has no budget)."""
    if validation_loss is not None:
        if progress.best_val_loss is None or validation_loss < progress.best_val_loss:
            progress.best_val_loss, progress.evals_without_improvement = validation_loss, 0
        else:
            progress.evals_without_improvement += 1
    epochs_in_phase = progress.epoch - progress.phase_started_epoch
    if progress.phase < schedule.num_phases and schedule.should_advance(epochs_in_phase,
                                                                        progress.evals_without_improvement,
                                                                        progress.phase, budget_used):
        progress.phase += 1
        progress.phase_started_epoch = progress.epoch
        progress.best_val_loss, progress.evals_without_improvement = None, 0
        return True
    return False


def optimizer_param_groups(model: nn.Module, base_lr: float, decay_factor: float = 2.6,
                           fresh_groups: Iterable[str] = (LAYOUT_GROUP,),
                           head_lr: float | None = None) -> list[dict]:
    """One optimizer group per freeze group — frozen ones included, so unfreezing later takes effect.

    Discriminative rates (ULMFiT): heads (with their layer mix) train at ``head_lr``, or ``base_lr`` when it is
    None; encoder layer i at
    ``base_lr / decay_factor ** (N - i)`` (the top layer at base_lr/2.6); the text embeddings one step below
    layer 0. ``fresh_groups`` start untrained (LayoutLM's layout tables start at zero in ``layout-minilm``),
    so they train at ``base_lr`` like the heads: at the bottom rate they would barely move.
    Each dict has ``params``, ``lr``, ``base_lr`` (the rate a learning-rate schedule scales) and ``name``.
    """
    if base_lr < 0 or decay_factor <= 0 or (head_lr is not None and head_lr < 0):
        raise ValueError(f"base_lr and head_lr must be >= 0 and decay_factor > 0, got {base_lr}, {head_lr}, "
                         f"{decay_factor}")
    groups = parameter_groups(model)
    num_layers = len(model.backbone.encoder.layer)
    fresh = set(fresh_groups)
    result = []
    for name, params in groups.items():
        if name in HEAD_GROUPS and head_lr is not None:
            result.append({"params": params, "lr": head_lr, "base_lr": head_lr, "name": name})
            continue
        if name in HEAD_GROUPS or name in fresh:
            depth = 0
        elif name.startswith("encoder."):
            depth = num_layers - int(name.split(".")[1])
        else:
            depth = num_layers + 1
        rate = base_lr / decay_factor ** depth
        result.append({"params": params, "lr": rate, "base_lr": rate, "name": name})
    return result


@dataclass(frozen=True)
class HandToggles:
    """Per-group on/off switches set by hand over a preset: what they change, and what then trains."""

    freeze: tuple[str, ...]  # groups the preset trains that the toggles freeze
    unfreeze: tuple[str, ...]  # groups the preset freezes that the toggles train
    trainable_parameters: int
    total_parameters: int

    @property
    def is_custom(self) -> bool:
        return bool(self.freeze or self.unfreeze)

    @property
    def share(self) -> float:
        return self.trainable_parameters / self.total_parameters if self.total_parameters else 0.0


def hand_toggles(plan: FreezePlan, sizes: Sequence[tuple[str, int]], chosen: Mapping[str, bool]) -> HandToggles:
    """Compare the switches ``chosen`` (group -> trains) with ``plan``; ``sizes`` are (group, parameters)."""
    freeze = tuple(name for name, _ in sizes if plan.trainable[name] and not chosen.get(name, plan.trainable[name]))
    unfreeze = tuple(name for name, _ in sizes if not plan.trainable[name] and chosen.get(name, False))
    trainable = sum(count for name, count in sizes if chosen.get(name, plan.trainable[name]))
    return HandToggles(freeze=freeze, unfreeze=unfreeze, trainable_parameters=trainable,
                       total_parameters=sum(count for _, count in sizes))
