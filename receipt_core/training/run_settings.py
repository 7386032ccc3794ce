"""A run's settings as differences: against the defaults of its kind, or against another run — never a raw dump.

A run's stored config holds its hyperparameters plus bookkeeping: the ids of every training and evaluation
document (hundreds of them). :func:`settings_diff` shows only the settings that differ, and the documents as a
count with how many the two sides share.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .config import PHASED_ONLY, PretrainConfig, ReferenceConfig, TrainConfig
from .run_documents import DOCUMENT_ID_KEYS
from .runs import RUN_KIND


@dataclass(frozen=True)
class SettingChange:
    setting: str
    value: str  # this run's, as text
    baseline: str  # the defaults' or the other run's, as text ("–" when it has none)
    about: str = ""  # what the setting is: its option's help ("" for one that has none)

    @property
    def label(self) -> str:
        """The setting in words for a table (``epochs per phase``), not its config key: a walkthrough read
        ``epochs_per_phase`` and ``train_documents`` on Runs."""
        return SETTING_LABELS.get(self.setting, self.setting.replace("_", " "))


SETTING_LABELS = {"lr": "learning rate", "max_minutes": "time budget (minutes)", "phased_top_k": "phase 2 depth",
                  "train_documents": "training receipts", "eval_documents": "evaluation receipts",
                  "train_ids": "training receipts (ids)", "eval_ids": "evaluation receipts (ids)"}


NOT_SETTINGS = ("watch",)  # bookkeeping in a run's config: the receipt the Train page showed live
DOCUMENT_COUNTS = {"train_documents": "receipts trained on", "eval_documents": "receipts evaluated on"}


def _defaults_name(config: Mapping[str, Any]) -> str:
    """Whose defaults ``config`` is compared with: "reference", "pretrain", or a two-head run's own scenario."""
    kind = config.get(RUN_KIND, "receipt")
    return kind if kind in ("reference", "pretrain") else str(config.get("scenario", TrainConfig.scenario))


def is_pretraining(config: Mapping[str, Any]) -> bool:
    """Whether ``config`` is a ``pretrain`` run's: its curves are masked-word losses, of no field or quantity task."""
    return config.get(RUN_KIND) == "pretrain"


_OTHER_KINDS = {"reference": ReferenceConfig, "pretrain": PretrainConfig}  # else TrainConfig


def default_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults of the config's kind of run, as JSON: reference, pre-training, or a two-head run's own
    scenario (``TrainConfig.for_scenario``: a phased run started with every default differs from nothing, although
    its heads are not the bare ``TrainConfig``'s)."""
    name = _defaults_name(config)
    if name in _OTHER_KINDS:
        return _json(dataclasses.asdict(_OTHER_KINDS[name]()))
    return _json(TrainConfig.for_scenario(name).to_json())


def defaults_title(config: Mapping[str, Any]) -> str:
    """What :func:`default_settings` of ``config`` are, in words: "phased defaults", "reference defaults"…"""
    return f"{_defaults_name(config)} defaults"


def settings_diff(config: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> list[SettingChange]:
    """The settings of ``config`` that differ from ``baseline`` (default: :func:`default_settings`), in the
    config's order, each with what it is; document id lists are compared as sets and shown as counts, and a None
    shows what it means for that setting ("no budget", "auto …")."""
    against = default_settings(config) if baseline is None else baseline
    against_defaults = baseline is None
    fields = _option_fields(config)
    changes = []
    for key in dict.fromkeys([*config, *([] if against_defaults else against)]):
        if key in NOT_SETTINGS:
            continue
        mine, theirs = config.get(key), against.get(key)
        about = DOCUMENT_COUNTS.get(key) or (fields[key].metadata.get("help", "") if key in fields else "")
        if key in DOCUMENT_ID_KEYS:
            if against_defaults or mine == theirs:
                continue
            shared = len(set(mine or ()) & set(theirs or ()))
            changes.append(SettingChange(key, f"{len(mine or ())} documents ({shared} shared)",
                                         f"{len(theirs or ())} documents", "the receipts' ids"))
            continue
        if against_defaults and key not in against:
            if key not in DOCUMENT_COUNTS:
                continue  # bookkeeping (the run's kind, dataset notes) is not a setting
        unset = fields[key].metadata.get("unset") if key in fields else None
        mine_shown, theirs_shown = _text(mine, key in config, unset), _text(theirs, key in against, unset)
        if key in PHASED_ONLY:  # a walkthrough read "epochs_per_phase 2 vs 1" against a full run, which has no phases
            mine_shown = mine_shown if _phased(config) else "–"
            theirs_shown = theirs_shown if _phased(against) else "–"
            if mine_shown == theirs_shown:
                continue
        if _json(mine) != _json(theirs) or key in PHASED_ONLY:
            changes.append(SettingChange(key, mine_shown, theirs_shown, about))
    return changes


def _option_fields(config: Mapping[str, Any]) -> dict[str, dataclasses.Field]:
    """The fields of the config class of ``config``'s kind of run, by name (their help and what None means)."""
    cls = _OTHER_KINDS.get(_defaults_name(config), TrainConfig)
    return {field.name: field for field in dataclasses.fields(cls)}




def _phased(config: Mapping[str, Any]) -> bool:
    return config.get(RUN_KIND, "receipt") == "receipt" and config.get("scenario") == "phased"


def _json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _text(value: Any, present: bool, unset: str | None = None) -> str:
    if not present:
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v, True) for v in value) if value else "(none)"
    if isinstance(value, float):  # a race's 20 s budget is 0.3333333333333333 minutes: shown as 0.3333
        return f"{value:.4g}"
    if value is None:
        return unset or "(none)"  # a walkthrough read phased_top_k "3" against "(none)" where none means auto
    return str(value)


def positive_number(value: object) -> float:
    """A number read from a run's stored config or summary (its budget, its warm-up, its time so far): 0 for
    anything that is not a finite number above 0 (a probe's tampered ``max_minutes`` of NaN or "5" took the Runs
    page down)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return 0.0
    return float(value)


def schedule_after_resume(run_dir: Path, config: Mapping[str, Any], minutes: float | None = None) -> str | None:
    """:func:`~.schedules.budget_dropped_note` for resuming the run saved in ``run_dir`` (``config``: its settings)
    within ``minutes`` in all (None: no budget); None when its checkpoint cannot be read (the page says that
    elsewhere)."""
    from .schedules import budget_dropped_note

    state = _saved_state(run_dir)
    if state is None:
        return None
    # numbers a tampered config may not hold (a probe's NaN and "5")
    budget, warmup = positive_number(config.get("max_minutes")), positive_number(config.get("warmup"))
    return budget_dropped_note(str(config.get("lr_schedule", "constant")), warmup, budget or None,
                               float(state.get("elapsed_s") or 0.0),
                               int(state.get("global_step") or 0), int(state.get("total_steps") or 0), minutes,
                               float(state.get("setup_s") or 0.0))


def saved_training_minutes(run_dir: Path) -> float | None:
    """The training time the run's last checkpoint holds, in minutes: where a resume's clock goes on from. None when
    its checkpoint cannot be read. A run whose server was killed has no summary, and its resume form read "stopped
    after 0.0 min" beside 49.1 s in the Runs table (probe 57)."""
    state = _saved_state(run_dir)
    return None if state is None else float(state.get("elapsed_s") or 0.0) / 60


def _saved_state(run_dir: Path) -> Mapping[str, Any] | None:
    """The trainer state of the run's last checkpoint (``run.json``), None when it is missing, unreadable or edited
    (Resume refuses an edited one, with the reason)."""
    from ..model.run_manifest import CheckpointError, parse_run_file, state_problem

    try:
        state = parse_run_file(Path(run_dir) / "run.json").get("state")
    except (CheckpointError, OSError, AttributeError):
        return None
    return None if state_problem(state) is not None else state
