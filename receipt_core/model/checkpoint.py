"""Checkpoints: ``model.safetensors`` + ``run.json`` (+ ``training_state.safetensors`` and ``tokenizer/``).

Never pickle: tensors go to safetensors, everything else to JSON. ``run.json`` carries what is needed to
rebuild and trust the model: the backbone's name and LayoutLM config, the label schema, the heads' settings,
the freeze plan, the hyperparameters, the trainer's progress, the metrics, and the SHA-256 of every file.

Writing (:mod:`.checkpoint_save`) is a two-phase commit, every file as ``<name>.tmp`` first and ``run.json`` renamed
last. A crash between the renames leaves a complete ``run.json.tmp`` whose hashes name the new files:
:func:`load_checkpoint` rolls it forward. Any other mismatch between ``run.json`` and the files is refused with
:class:`CheckpointError`. This module reads and checks a checkpoint; the constants name its files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load_file

from ..data.schema import LabelSchema
from ..data.files import file_sha256 as sha256_file
from .checkpoint_tokenizer import load_checkpoint_tokenizer
from .frozen_weights import FrozenReference, rebuild_frozen
from .head_settings import HeadSettings
from .run_manifest import SAVED_IN_KEY, CheckpointError, parse_run_file, safe_file_entry, validate_run_info

RUN_FORMAT = "receipt-mtl/run"
RUN_VERSION = 1
MODEL_FILE = "model.safetensors"
TRAINING_STATE_FILE = "training_state.safetensors"
RUN_FILE = "run.json"
TOKENIZER_DIR = "tokenizer"
TMP = ".tmp"


@dataclass(frozen=True)
class LoadedRun:
    """A checkpoint rebuilt: the model (eval mode, on CPU) and everything run.json says about it."""

    run_dir: Path
    model: Any  # receipt_core.model.multitask.MultiTaskModel
    tokenizer: Any  # PreTrainedTokenizerFast
    backbone: str
    uses_layout: bool
    schema: LabelSchema
    freeze_plan: Mapping[str, bool]  # group name -> trainable, as saved
    config: Mapping[str, Any]  # TrainConfig.to_json()
    state: Mapping[str, Any]  # TrainerState.to_json()
    metrics: Mapping[str, Any]
    info: Mapping[str, Any]  # the whole run.json

    def encoder(self):
        """A DocumentEncoder matching the one the model was trained with."""
        from ..data.boxes import stored_box_mode
        from .encoding import DocumentEncoder

        return DocumentEncoder(self.tokenizer, self.schema, max_length=int(self.config.get("max_length", 512)),
                               stride=int(self.config.get("stride", 128)),
                               uses_layout=bool(self.model.needs_boxes),
                               boxes=stored_box_mode(self.config))

    def predictor(self, reconcile: bool = True):
        from .predict import Predictor

        return Predictor(self.model, self.encoder(), self.schema, reconcile=reconcile)




def has_checkpoint(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a saved checkpoint (its ``run.json``), without reading or verifying it."""
    return (Path(run_dir) / RUN_FILE).is_file()


def damaged_checkpoint(run_dir: Path) -> str | None:
    """What is wrong when ``run_dir`` holds what a save writes but no ``run.json`` to read (deleted, or replaced
    by a folder, a link to a device, a pipe), else None: a damaged checkpoint, not a run that never saved (a probe
    read "ended before its first save" for a folder with its weights in place)."""
    run_dir = Path(run_dir)
    run_file = run_dir / RUN_FILE
    if run_file.is_file():
        return None
    if os.path.lexists(run_file):
        return f"its {RUN_FILE} is not a regular file"
    if (run_dir / MODEL_FILE).exists() and other_model_folder(run_dir) is None:
        return f"its {RUN_FILE} is missing (its weights, {MODEL_FILE}, are there)"
    return None


def other_model_folder(folder: Path) -> str | None:
    """What model ``folder`` holds when it is a Hugging Face model folder rather than a two-head run (a
    ``config.json`` and no ``run.json``): a pre-training run's backbone, or another model such as the reference
    tagger's; None otherwise. A probe gave ``evaluate`` a reference run's ``reference`` folder and was told the
    checkpoint was damaged and to delete the run."""
    folder = Path(folder)
    if (folder / RUN_FILE).is_file():
        return None
    if not (folder / "config.json").is_file():
        # the --out of `reference` or `pretrain`, whose model sits one folder down (a probe's evaluate was told
        # only "it has no run.json")
        for child in ("reference", "backbone"):
            if (folder / child).is_dir() and (inner := other_model_folder(folder / child)) is not None:
                return f"a run folder whose model is in {child}/: {inner}"
        return None
    if (folder / "pretrain.json").is_file():
        return "a layout pre-training run's backbone, which `train --backbone` reads"
    return ("a Hugging Face model folder, such as a reference run's tagger (its run printed its scores; "
            "`LayoutLMForTokenClassification.from_pretrained` reads it)")


def saved_by_another_run(info: Mapping[str, Any], run_id: str) -> str | None:
    """Why a checkpoint read as workspace run ``run_id``'s is another run's, else None: its run.json says it was
    saved in another run's folder (probe 30 replaced run B's folder by a copy of run A's, and evaluate, predict and
    the pages served A's weights under B's name and B's recorded scores). A checkpoint saved before this was
    recorded says nothing, and passes."""
    saved_in = info.get(SAVED_IN_KEY)
    if not isinstance(saved_in, str) or saved_in == run_id:
        return None
    return (f"its checkpoint was saved by run {saved_in[:40]!r}, not by this run: a folder copied or moved into its "
            "place; put the run's own folder back, or delete the run")


def checkpoint_problem(run_dir: Path, run_id: str | None = None) -> str | None:
    """What would stop the checkpoint in ``run_dir`` from loading, found without reading its weights (so a page
    can list runs with it), else None: a damaged or missing run.json (:func:`damaged_checkpoint`), one that does
    not parse or validate, a file it names that is not a regular file, or no tokenizer. A probe replaced a model
    file by a link to /dev/zero, cut a run.json short and made the tokenizer folder a file: each run was still
    offered on Predict, and failed only once picked. It never writes (``read_run_info`` may finish an
    interrupted save); the weights' hashes are checked when the run loads. With ``run_id``, a workspace run's
    folder holding another run's checkpoint (:func:`saved_by_another_run`) is a problem too."""
    run_dir = Path(run_dir)
    damage = damaged_checkpoint(run_dir)
    if damage or not has_checkpoint(run_dir):
        return damage
    if run_dir.is_symlink():  # a workspace's run folder is its own: a probe linked one to a folder elsewhere
        return "the run folder is a link to another folder"
    try:
        info = _validated_run_info(run_dir, warn_unhashed=False)
    except (CheckpointError, ValueError, OSError) as error:
        return str(error).replace(f"{run_dir}{os.sep}", "").replace("; refusing to load it", "")
    if run_id is not None and (foreign := saved_by_another_run(info, run_id)) is not None:
        return foreign
    for name in info["files"]:
        if not (run_dir / name).is_file() or (run_dir / name).is_symlink():
            return f"its {name} is missing or not a regular file"
    if not (run_dir / TOKENIZER_DIR / "tokenizer.json").is_file():
        return f"its {TOKENIZER_DIR} folder is missing or incomplete"
    return None


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """``run.json`` after rolling forward an interrupted save, parsed with bounds and validated against the run
    schema (``run_manifest``); CheckpointError when missing, unreadable, edited or out of range."""

    run_dir = Path(run_dir)
    _roll_forward(run_dir)
    return _validated_run_info(run_dir)


def _validated_run_info(run_dir: Path, warn_unhashed: bool = True) -> dict[str, Any]:
    """``read_run_info`` without finishing an interrupted save first."""
    path = run_dir / RUN_FILE
    damage = damaged_checkpoint(run_dir)
    if damage:
        raise CheckpointError(f"the checkpoint in {run_dir} is damaged: {damage}. Restore the folder from a copy, or "
                              "delete the run")
    if not path.is_file():
        if not os.path.lexists(run_dir):  # a probe's mistyped path read as a folder missing a file
            raise CheckpointError(f"{run_dir} does not exist: give a run's folder (the --out of train) or its id")
        if (other := other_model_folder(run_dir)) is not None:
            raise CheckpointError(f"{run_dir} is {other}, not a two-head run: predict and evaluate read the folders "
                                  "of two-head runs (train's --out, or a run id)")
        raise CheckpointError(f"{run_dir} is not a checkpoint folder: it has no {RUN_FILE}")
    info = parse_run_file(path)
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{path} is not a Receipt MTL Studio run file (format {info.get('format')!r})"
                              if isinstance(info, dict) else f"{path} must hold a JSON object")
    if info.get("version") != RUN_VERSION:
        raise CheckpointError(f"{path} has version {info.get('version')!r}; this version reads {RUN_VERSION}")
    validate_run_info(run_dir, info, warn_unhashed)
    return info


def frozen_backbone_left_out(run_dir: Path) -> bool:
    """Whether the run's ``model.safetensors`` leaves out frozen backbone tensors, which its run.json names and
    loading rebuilds from the backbone (``save_checkpoint``'s ``frozen``): its folder alone is not the whole model."""
    try:
        info = parse_run_file(Path(run_dir) / RUN_FILE)
    except (CheckpointError, OSError):
        return False
    return isinstance(info, Mapping) and bool(info.get("frozen"))


def checkpoint_step(run_dir: Path) -> int:
    """The training step a checkpoint folder was saved at (``state.global_step``), after validating its run.json."""
    return int(read_run_info(run_dir)["state"]["global_step"])


def _roll_forward(run_dir: Path) -> None:
    """Finish a save that crashed between renames, if its run.json.tmp is complete and its files are there."""
    pending = run_dir / (RUN_FILE + TMP)
    if not pending.is_file():
        return

    try:
        files = dict(parse_run_file(pending)["files"])
    except (ValueError, KeyError, TypeError):
        pending.unlink(missing_ok=True)  # an incomplete run.json.tmp: phase 1 never finished
        return
    if not all(safe_file_entry(run_dir, name) and isinstance(digest, str) for name, digest in files.items()):
        pending.unlink(missing_ok=True)  # names a file outside the run folder: never rename anything for it
        return
    ready = []
    for name, expected in files.items():
        final, tmp = run_dir / name, run_dir / (name + TMP)
        if tmp.is_file() and sha256_file(tmp) == expected:
            ready.append((tmp, final))
        elif not (final.is_file() and sha256_file(final) == expected):
            pending.unlink(missing_ok=True)  # the new files are not all there: keep the previous checkpoint
            return
    try:
        for tmp, final in ready:
            os.replace(tmp, final)
        os.replace(pending, run_dir / RUN_FILE)
    except FileNotFoundError:  # the writer finished its own renames meanwhile
        pass


def verify_files(run_dir: Path, info: Mapping[str, Any], training_state: bool = True) -> None:
    """Raise CheckpointError unless every file named in run.json has the recorded SHA-256.

    ``training_state=False`` leaves out the optimizer and RNG state (``training_state.safetensors``): predicting
    and scoring do not read it, so a run folder copied without it still loads, and its hundreds of megabytes are
    not hashed for nothing. Resuming needs it and says so when it is gone."""
    files = info.get("files")
    if not isinstance(files, Mapping) or MODEL_FILE not in files:
        raise CheckpointError(f"{run_dir / RUN_FILE} lists no file hashes; refusing an unverifiable checkpoint")
    if files[MODEL_FILE] != info.get("sha256"):
        raise CheckpointError(f"{run_dir / RUN_FILE} is inconsistent: two different SHA-256 for {MODEL_FILE}")
    for name, expected in files.items():
        path = run_dir / name
        if name == TRAINING_STATE_FILE and not training_state:
            continue
        if not path.is_file():
            what = "is missing" if not path.exists() else "is not a regular file (a folder, pipe or device)"
            if name == TRAINING_STATE_FILE:
                raise CheckpointError(f"{path} {what}: it holds the optimizer and random state a run needs to "
                                      "resume; the run can still predict and be evaluated, and resumes once the "
                                      "file is restored from a copy")  # not "train --backbone", which refuses a
                                      # trained run's folder (probe 37 was sent there)
            raise CheckpointError(f"{path} {what}; the checkpoint is incomplete")
        actual = sha256_file(path)
        if actual != expected:
            raise CheckpointError(f"{path} has SHA-256 {actual[:16]}…, but run.json records {str(expected)[:16]}…: "
                                  "the file was modified or belongs to another run; refusing to load it")


def load_checkpoint(run_dir: Path, with_training_state: bool = False,
                    run_id: str | None = None) -> LoadedRun | tuple[LoadedRun, dict]:
    """Rebuild the model of a checkpoint folder after checking every file's SHA-256 and every tensor's shape.

    With ``with_training_state`` returns ``(loaded, tensors)`` where ``tensors`` is the optimizer/RNG state
    (empty when the checkpoint has none). With ``run_id`` (loading a workspace run), another run's checkpoint in
    its folder is refused (:func:`saved_by_another_run`).
    """
    from transformers import LayoutLMConfig

    from .backbones import layoutlm_from_config
    from .multitask import MultiTaskModel

    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    if run_id is not None and (foreign := saved_by_another_run(info, run_id)) is not None:
        raise CheckpointError(f"{run_dir}: {foreign}")
    verify_files(run_dir, info, training_state=with_training_state)
    try:
        schema = LabelSchema.from_json(info["schema"])
        settings = info["model"]
        config = LayoutLMConfig.from_dict(info["backbone_config"])
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{run_dir / RUN_FILE} is missing or has a bad entry: {error}") from None
    if int(settings["num_fields"]) != schema.num_fields:
        raise CheckpointError(f"{run_dir / RUN_FILE}: the model has {settings['num_fields']} fields but the label "
                              f"schema {schema.name!r} has {schema.num_fields}")
    try:
        head = HeadSettings.from_json({"hidden": settings["head_hidden"], "dropout": settings["head_dropout"],
                                       **dict(settings.get("head") or {})})
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{run_dir / RUN_FILE} has bad head settings: {error}") from None
    backbone = layoutlm_from_config(config)  # fused attention, as the run was trained with
    model = MultiTaskModel(backbone, int(settings["num_fields"]), loss_weighting=settings["loss_weighting"],
                           task_weights=tuple(settings["task_weights"]), uses_layout=bool(settings["uses_layout"]),
                           head=head)
    tensors = _tensors(run_dir / MODEL_FILE)
    if info.get("frozen") is not None:
        tensors.update(_frozen_tensors(run_dir, info["frozen"], tensors))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if tuple(expected[k].shape) != tuple(tensors[k].shape))
    mismatched = missing + unexpected + wrong
    if mismatched and all(not name.startswith("backbone.") for name in mismatched):
        raise CheckpointError(f"{run_dir / MODEL_FILE} holds heads that do not match the head settings in run.json "
                              f"({_describe_head(head)}): missing {missing[:3]}, unexpected {unexpected[:3]}, wrong "
                              f"shape {wrong[:3]}; the run.json or the tensors were changed, or come from another run")
    if missing or unexpected or wrong:
        raise CheckpointError(f"{run_dir / MODEL_FILE} does not match the model described by run.json: "
                              f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    prefix = f"{TOKENIZER_DIR}/"
    tokenizer = load_checkpoint_tokenizer(run_dir / TOKENIZER_DIR, [
        name[len(prefix):] for name in info["files"] if name.startswith(prefix) and "/" not in name[len(prefix):]])
    _check_fits(run_dir, tokenizer, config, info)
    loaded = LoadedRun(run_dir=run_dir, model=model, tokenizer=tokenizer, backbone=str(info.get("backbone", "")),
                       uses_layout=bool(settings["uses_layout"]), schema=schema,
                       freeze_plan=dict(info.get("freeze_plan", {})), config=dict(info.get("config", {})),
                       state=dict(info.get("state", {})), metrics=dict(info.get("metrics", {})), info=info)
    if not with_training_state:
        return loaded
    extra = run_dir / TRAINING_STATE_FILE
    return loaded, (_tensors(extra) if extra.is_file() else {})


def _check_fits(run_dir: Path, tokenizer, config, info: Mapping[str, Any]) -> None:
    """CheckpointError when the tokenizer gives ids past the model's embedding table, or the windows need more
    positions than the model has: a probe's re-signed checkpoints failed only at the first receipt with "index out
    of range in self" and "The size of tensor a (4095) must match …" (as the backbone folders and ``train``
    already check)."""
    vocab, positions = int(config.vocab_size), int(config.max_position_embeddings)
    if len(tokenizer) > vocab:
        raise CheckpointError(f"{run_dir / TOKENIZER_DIR} has {len(tokenizer):,} tokens but the model has "
                              f"{vocab:,} (vocab_size), so token ids from {vocab:,} up have no embedding: the "
                              "tokenizer was changed or comes from another model; restore the folder from a copy")
    max_length = (info.get("config") or {}).get("max_length", 512)
    if isinstance(max_length, int) and max_length > positions:
        raise CheckpointError(f"{run_dir / RUN_FILE} gives windows of {max_length:,} tokens (max_length) but the "
                              f"model has {positions:,} token positions (max_position_embeddings): the run.json was "
                              "changed or comes from another run; restore the folder from a copy")


def _tensors(path: Path) -> dict:
    """A safetensors file's tensors; CheckpointError when it does not parse (truncated, overwritten): a probe that
    re-signed run.json over a cut model file got "unexpected SafetensorError"."""
    try:
        return load_file(str(path))
    except Exception as error:  # noqa: BLE001 - safetensors raises its own SafetensorError, OSError, ValueError
        raise CheckpointError(f"{path} cannot be read as safetensors ({type(error).__name__}: "
                              f"{' '.join(str(error).split())[:200]}): the file is damaged; train the run again or "
                              "restore the folder from a copy") from None


def _describe_head(head: HeadSettings) -> str:
    mix = f", layer mix {head.layer_mix}"
    if head.kind == "contextual":
        return f"contextual head, size {head.size}, depth {head.depth}, boxes {'on' if head.boxes else 'off'}{mix}"
    return f"linear head, hidden {head.hidden}{mix}"


def _frozen_tensors(run_dir: Path, entry: Any, stored: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The backbone tensors a checkpoint left out by reference, rebuilt and verified (``frozen_weights``)."""
    try:
        reference = FrozenReference.from_json(entry)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{run_dir / RUN_FILE} has a bad 'frozen' entry: {error}") from None
    overlap = sorted(set(reference.tensors) & set(stored))
    if overlap:
        raise CheckpointError(f"{run_dir / MODEL_FILE} stores {overlap[:3]}, which run.json says are rebuilt from the "
                              "backbone; refusing an ambiguous checkpoint")
    try:
        return rebuild_frozen(reference)
    except ValueError as error:
        raise CheckpointError(f"{run_dir}: {error}") from None
