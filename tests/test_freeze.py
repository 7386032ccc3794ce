"""Freeze groups, presets, toggles, phases and discriminative rates, checked by real optimizer steps."""

from __future__ import annotations

import pytest
import torch

from receipt_core.model.backbones import load_backbone
from receipt_core.data.document import Document, Word
from receipt_core.model.encoding import DocumentEncoder, collate
from receipt_core.training.state import TrainerState
from receipt_core.model.freeze import (BUDGET_SHARE_BY_PHASE_END, PRESETS, TOGGLE_PREFIXES, FreezePlan,
                                       HandFrozenHeads, PhasedSchedule, end_phase_epoch, group_names, group_names_for,
                                       hand_frozen_heads, optimizer_param_groups, parameter_groups,
                                       phase_label, phase_two_toggled_on, toggle_name_problem)
from receipt_core.training.config import TrainConfig
from receipt_core.model.multitask import build_model
from receipt_core.data.schema import DEFAULT_SCHEMA

HEADS = ("head.fields", "head.quantity")


def _model(loss_weighting="fixed"):
    return build_model(load_backbone("tiny"), DEFAULT_SCHEMA.num_fields, loss_weighting=loss_weighting)


@pytest.fixture(scope="module")
def batch(tiny_tokenizer):
    tokenizer = tiny_tokenizer
    words = []
    for line, (name, qty, price) in enumerate([("NASI GORENG", "2", "30.000"), ("ES TEH", "1", "5.000"),
                                               ("AYAM BAKAR SPESIAL", "3x", "75.000")]):
        y = 20 + 25 * line
        for i, part in enumerate(name.split()):
            words.append(Word(part, (10 + 60 * i, y, 60 + 60 * i, y + 15), line_id=line, field="ITEM_NAME"))
        words.append(Word(qty, (220, y, 240, y + 15), line_id=line, is_quantity=True, quantity_value=float(qty[0])))
        words.append(Word(price, (300, y, 360, y + 15), line_id=line, field="ITEM_PRICE"))
    words.append(Word("TOTAL", (10, 120, 60, 135), line_id=3, field="TOTAL"))
    words.append(Word("110.000", (300, 120, 360, 135), line_id=3, field="TOTAL"))
    doc = Document(id="d", width=400, height=160, words=tuple(words))
    encoder = DocumentEncoder(tokenizer)
    return collate(encoder.encode(doc) * 2, encoder.pad_token_id)


def _snapshot(model):
    groups = parameter_groups(model)
    names = {id(p): n for n, p in model.named_parameters()}
    return {g: {names[id(p)]: p.detach().clone() for p in params} for g, params in groups.items()}


def _train_steps(model, plan, batch, steps=3):
    plan.apply(model)
    optimizer = torch.optim.AdamW(optimizer_param_groups(model, 1e-3), weight_decay=0.01)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        optimizer.step()
    return optimizer


def _assert_only_trainable_groups_changed(before, model, plan):
    after = _snapshot(model)
    for group, tensors in before.items():
        for name, tensor in tensors.items():
            if plan.trainable[group]:
                assert not torch.equal(tensor, after[group][name]), f"{name} ({group}) should have changed"
            else:
                assert torch.equal(tensor, after[group][name]), f"{name} ({group}) must stay bit-identical"


def test_every_parameter_in_exactly_one_group():
    for weighting in ("fixed", "uncertainty"):
        model = _model(weighting)
        groups = parameter_groups(model)
        assert list(groups) == ["embeddings.text", "embeddings.layout", "encoder.0", "encoder.1", *HEADS]
        assert sum(len(p) for p in groups.values()) == len(list(model.parameters()))
        assert all(groups.values())
    assert model.field_head.log_variance in [p for p in groups["head.fields"]]
    assert model.quantity_head.log_variance in [p for p in groups["head.quantity"]]
    layout = {n for n, p in model.named_parameters() if any(p is q for q in groups["embeddings.layout"])}
    assert layout == {f"backbone.embeddings.{t}_position_embeddings.weight" for t in "xyhw"}


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "freeze-all"])
def test_each_preset_trains_exactly_its_groups(preset, batch):
    model = _model("uncertainty")
    plan = FreezePlan.preset(preset, group_names(model))
    expected_heads = {"freeze-fields-head": {"head.quantity"}, "freeze-quantity-head": {"head.fields"}}
    trainable = {g for g, t in plan.trainable.items() if t}
    if preset in ("freeze-backbone", "phased"):
        assert trainable == set(HEADS)
    elif preset == "full":
        assert trainable == set(plan.trainable)
    else:
        assert trainable == set(plan.trainable) - set(HEADS) | expected_heads[preset]
    before = _snapshot(model)
    _train_steps(model, plan, batch)
    for name, p in model.named_parameters():
        assert p.requires_grad == plan.trainable[next(g for g, ps in parameter_groups(model).items()
                                                      if any(p is q for q in ps))], name
    _assert_only_trainable_groups_changed(before, model, plan)


def test_freeze_all_is_detectable_and_changes_nothing(batch):
    model = _model()
    plan = FreezePlan.preset("freeze-all", group_names(model))
    plan.apply(model)
    assert plan.trainable_parameter_count(model) == 0
    assert all(not r.trainable and r.trainable_parameters == 0 for r in plan.report(model))
    before = _snapshot(model)
    model.train()
    assert not any(m.training for m in model.backbone.encoder.modules())
    with torch.no_grad():
        model(**batch)
    _assert_only_trainable_groups_changed(before, model, plan)


def test_hand_toggles_override_a_preset(batch):
    model = _model()
    names = group_names(model)
    plan = FreezePlan.preset("freeze-backbone", names).with_toggles(freeze=["head.quantity"],
                                                                     unfreeze=["encoder.1", "embeddings.layout"])
    assert {g for g, t in plan.trainable.items() if t} == {"head.fields", "encoder.1", "embeddings.layout"}
    before = _snapshot(model)
    _train_steps(model, plan, batch)
    _assert_only_trainable_groups_changed(before, model, plan)
    assert FreezePlan.preset("full", names).with_toggles(freeze=["encoder"]).frozen_groups == ("encoder.0", "encoder.1")
    assert set(FreezePlan.preset("full", names).with_toggles(freeze=["backbone"]).frozen_groups) == \
        {"embeddings.text", "embeddings.layout", "encoder.0", "encoder.1"}
    with pytest.raises(ValueError, match="unknown freeze group 'encoder.9'"):
        plan.with_toggles(freeze=["encoder.9"])
    with pytest.raises(ValueError, match="unknown freeze preset"):
        FreezePlan.preset("freeze-some", names)


def test_a_toggle_name_is_checked_before_a_model_loads_and_agrees_with_the_plan():
    """Every name a plan expands passes the name-only check; a name no model has fails it, as does TrainConfig."""
    names = group_names_for(12)
    plan = FreezePlan.preset("full", names)
    for toggle in (*names, *TOGGLE_PREFIXES):
        assert plan.expand(toggle) and toggle_name_problem(toggle) is None, toggle
    # probe 65: encoder.01 passed the name check, then named no group once the model had loaded; 5,000 digits
    # ended in Python's own advice on integer conversion
    for toggle in ("encodr", "heads", "encoder.", "encoder.x", "encoder.1.2", "head.field", "", "backbone.0",
                   "encoder.\u0661", "encoder.01", "encoder.-1", "encoder.+1", "encoder.1 ", "encoder." + "9" * 5000):
        assert "unknown freeze group" in toggle_name_problem(toggle), toggle
        with pytest.raises(ValueError, match="unknown freeze group"):
            TrainConfig(freeze=(toggle,))
    assert TrainConfig(unfreeze=("encoder.40",)).unfreeze == ("encoder.40",)  # its depth is checked at load
    assert toggle_name_problem("encoder." + "9" * 5000).startswith("unknown freeze group 'encoder.99999999999999"
                                                                  "999999999999999999'… (5,008 characters): give")


def test_heads_frozen_by_hand_and_whether_the_backbone_trains_by_the_plans_end():
    """The Train page and `train` explain a head frozen by hand while backbone layers train (a walkthrough saw a
    frozen head's scores rise); both read it from here."""
    groups = group_names_for(6)
    assert hand_frozen_heads("phased", groups, ["head.quantity"]) == HandFrozenHeads(("head.quantity",), True)
    assert hand_frozen_heads("freeze-backbone", groups, ["head.quantity"]) == HandFrozenHeads(("head.quantity",), False)
    assert hand_frozen_heads("freeze-backbone", groups, ["head.quantity"], ["encoder.5"]).backbone_trains
    assert hand_frozen_heads("full", groups, ["head"]).heads == ("head.fields", "head.quantity")
    assert hand_frozen_heads("phased", groups, ["backbone", "head.fields"]) == HandFrozenHeads(("head.fields",), False)
    assert hand_frozen_heads("freeze-fields-head", groups).heads == ()  # the preset's own frozen head: its guide says
    with pytest.raises(ValueError, match="unknown freeze group"):
        hand_frozen_heads("full", groups, ["encoder.9"])


def test_report_counts_parameters_per_group():
    model = _model()
    plan = FreezePlan.preset("freeze-backbone", group_names(model))
    report = {r.name: r for r in plan.report(model)}
    assert sum(r.parameters for r in report.values()) == sum(p.numel() for p in model.parameters())
    assert report["head.fields"].parameters == 64 * DEFAULT_SCHEMA.num_fields + DEFAULT_SCHEMA.num_fields
    assert report["head.quantity"].parameters == 64 * 2 + 2
    assert report["embeddings.layout"].parameters == 4 * 1024 * 64
    assert plan.trainable_parameter_count(model) == report["head.fields"].parameters + report["head.quantity"].parameters
    assert FreezePlan.from_json(plan.to_json()) == plan


def test_plan_for_another_backbone_is_refused():
    plan = FreezePlan.preset("full", [f"encoder.{i}" for i in range(6)] + ["embeddings.text", "embeddings.layout",
                                                                          *HEADS])
    with pytest.raises(ValueError, match="do not match"):
        plan.apply(_model())


def test_frozen_groups_stay_in_eval_mode_during_training(batch):
    model = _model()
    FreezePlan.preset("freeze-backbone", group_names(model)).apply(model)
    model.train()  # as a training loop does at every epoch
    assert model.field_head.training and model.quantity_head.training
    assert not any(m.training for m in model.backbone.modules())
    with torch.no_grad():
        first = model.run_layers(model.embed(batch["input_ids"], batch["bbox"]), batch["attention_mask"])
        second = model.run_layers(model.embed(batch["input_ids"], batch["bbox"]), batch["attention_mask"])
    assert torch.equal(first, second)  # no dropout in the frozen backbone
    FreezePlan.preset("full", group_names(model)).apply(model)
    assert all(m.training for m in model.modules())


def test_phase_labels_name_what_hand_toggles_add_and_a_phase_that_adds_nothing():
    """Walkthrough 30 toggled encoder.4 and .5 on a phased run whose phase 2 was those two: the Phases table read
    "phase 1: heads only", then "phase 2: heads + top 2 encoder layers", both at the same 4.2M parameters. The
    Train page warns before Start too (phase_two_toggled_on)."""
    names = group_names(_model())  # the tiny backbone: encoder.0, encoder.1
    schedule = PhasedSchedule(top_k=1, epochs_per_phase=1)
    plain = [schedule.plan(phase, names) for phase in (1, 2, 3)]
    assert [phase_label(p, plan, plain[p - 2] if p > 1 else None, top_k=1) for p, plan in enumerate(plain, 1)] == [
        "phase 1: heads only", "phase 2: heads + top 1 encoder layer", "phase 3: everything"]
    toggled = [plan.with_toggles(unfreeze=("encoder.1",)) for plan in plain]
    assert phase_label(1, toggled[0]) == "phase 1: heads + encoder.1 (toggled on)"
    assert phase_label(2, toggled[1], toggled[0], top_k=1) == ("phase 2: nothing new to train (toggled on from the "
                                                                "start)")
    assert phase_label(3, toggled[2], toggled[1]) == "phase 3: everything"
    # a bottom layer toggled on is named beside phase 2's top one, not counted as "top 2" (probe 33)
    bottom = [plan.with_toggles(unfreeze=("encoder.0",)) for plan in plain]
    assert phase_label(2, bottom[1], bottom[0], top_k=1) == ("phase 2: heads + top 1 encoder layer + encoder.0 "
                                                              "(toggled on)")
    # a group toggled off is named too: walkthrough 35 froze head.quantity and read "phase 1: heads + encoder.5"
    # and "phase 3: everything" at 24.5M of 24.8M
    off = [plan.with_toggles(freeze=("head.quantity",), unfreeze=("encoder.1",)) for plan in plain]
    assert phase_label(1, off[0]) == "phase 1: head.fields + encoder.1 (toggled on)"
    assert phase_label(3, off[2], off[1]) == "phase 3: everything but head.quantity (toggled off)"
    assert phase_label(2, plain[1].with_toggles(freeze=("head.fields",)), top_k=1) == (
        "phase 2: head.quantity + top 1 encoder layer")
    assert phase_two_toggled_on(names, ("encoder.1",), 1) == ("encoder.1",)
    assert phase_two_toggled_on(names, ("encoder.1",), 2) == ()  # phase 2 adds encoder.0
    assert phase_two_toggled_on(names, (), 1) == ()


def test_phased_schedule_unfreezes_top_layers_then_everything(batch):
    model = _model()
    names = group_names(model)
    schedule = PhasedSchedule(top_k=1, epochs_per_phase=2)
    phase_two = schedule.plan(2, names)
    assert {g for g, t in phase_two.trainable.items() if t} == {"encoder.1", *HEADS}
    assert schedule.plan(1, names) == FreezePlan.preset("freeze-backbone", names)
    assert schedule.plan(3, names) == FreezePlan.preset("full", names)
    assert schedule.plan(1, names).frozen_prefix_layers() == 2 and phase_two.frozen_prefix_layers() == 1
    assert schedule.plan(3, names).frozen_prefix_layers() is None
    # one optimizer over every group: layers unfrozen in phase 2 really start changing
    plan = schedule.plan(1, names)
    plan.apply(model)
    optimizer = torch.optim.AdamW(optimizer_param_groups(model, 1e-3))
    model.train()
    for phase in (1, 2):
        if phase == 2:
            plan = phase_two
            plan.apply(model)
            model.train()
        before = _snapshot(model)
        for _ in range(2):
            optimizer.zero_grad(set_to_none=True)
            model(**batch).loss.backward()
            optimizer.step()
        _assert_only_trainable_groups_changed(before, model, plan)


def _epochs(schedule, losses):
    """end_phase_epoch after each epoch, on the trainer's own state (the one home of phase progress)."""
    state, moves = TrainerState(), []
    for loss in losses:
        state.epoch += 1
        moves.append(end_phase_epoch(schedule, state, loss))
    return moves, state


def test_phase_progress_by_epochs_and_by_patience():
    moves, state = _epochs(PhasedSchedule(top_k=2, epochs_per_phase=2), [None] * 6)
    assert moves == [False, True, False, True, False, False] and state.phase == 3
    assert state.phase_started_epoch == 4
    moves, state = _epochs(PhasedSchedule(top_k=2, epochs_per_phase=None, patience=2),
                           (1.0, 0.9, 0.95, 0.92, 0.8, 0.7, 0.75, 0.71))
    assert moves == [False, False, False, True, False, False, False, True] and state.phase == 3
    with pytest.raises(ValueError, match="needs epochs_per_phase or patience"):
        PhasedSchedule(top_k=2, epochs_per_phase=None, patience=None)


def test_under_a_time_budget_a_phase_also_ends_past_its_share_of_the_budget():
    """A slow machine must still leave the last phase most of the budget: phase 1 ends at the first epoch's end
    past 15 % of the budget, phase 2 past 40 %, whatever their epochs; phase 3 runs on; no budget, no rule."""
    schedule = PhasedSchedule(top_k=2, epochs_per_phase=2)
    assert dict(BUDGET_SHARE_BY_PHASE_END) == {1: 0.15, 2: 0.4}
    state, moves = TrainerState(), []
    for used in (0.05, 0.3, 0.45, 0.9, 0.95):  # phase 1's epoch ends past 15 %, phase 2's first past 40 %
        state.epoch += 1
        moves.append(end_phase_epoch(schedule, state, None, budget_used=used))
    assert moves == [False, True, True, False, False] and state.phase == 3 and state.phase_started_epoch == 3
    assert not schedule.should_advance(1, 0, phase=2, budget_used=0.39)
    assert schedule.should_advance(1, 0, phase=2, budget_used=0.4)
    assert not schedule.should_advance(1, 0, phase=3, budget_used=0.99)  # the last phase has no share
    assert not schedule.should_advance(1, 0, phase=2, budget_used=None)  # no budget: epochs and patience only
    moves, state = _epochs(schedule, [None] * 4)  # the same schedule without a budget keeps its epochs
    assert moves == [False, True, False, True]


def test_discriminative_learning_rates_cover_every_group_once():
    model = build_model(load_backbone("tiny"), 11)
    groups = optimizer_param_groups(model, base_lr=1e-3)
    rates = {g["name"]: g["lr"] for g in groups}
    assert rates["head.fields"] == rates["head.quantity"] == 1e-3
    assert rates["encoder.1"] == pytest.approx(1e-3 / 2.6)
    assert rates["encoder.0"] == pytest.approx(1e-3 / 2.6 ** 2)
    assert rates["embeddings.text"] == pytest.approx(1e-3 / 2.6 ** 3)
    assert rates["embeddings.layout"] == 1e-3  # zero-initialised tables learn at the full rate
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert optimizer_param_groups(model, 1e-3, fresh_groups=())[1]["lr"] == pytest.approx(1e-3 / 2.6 ** 3)


def test_phases_within_counts_the_phases_a_run_of_so_many_epochs_starts():
    from receipt_core.model.freeze import PhasedSchedule

    two = PhasedSchedule(2, epochs_per_phase=2)
    assert [two.phases_within(e) for e in (0, 1, 2, 3, 4, 5, 12)] == [0, 1, 1, 2, 2, 3, 3]
    assert PhasedSchedule(2, epochs_per_phase=None, patience=2).phases_within(3) == 3  # by patience: unknown
    assert two.epochs_for_every_phase() == 5 and two.phases_within(two.epochs_for_every_phase()) == 3
