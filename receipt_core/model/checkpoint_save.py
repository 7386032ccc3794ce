"""Writing a checkpoint (:mod:`.checkpoint` names its files and reads it back): a two-phase commit, so that a
crash or a full disk never corrupts the previous checkpoint:

1. every file is written next to its final name as ``<name>.tmp`` and fsynced, ``run.json.tmp`` last;
2. each ``.tmp`` is renamed over its final name (``os.replace``, atomic), ``run.json`` last.

A failure in phase 1 leaves the previous checkpoint untouched (the temporaries are removed, and a first save's
tokenizer folder too). A crash inside phase 2 leaves a complete ``run.json.tmp`` that loading rolls forward.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from ..data.files import file_sha256 as sha256_file, with_user_umask
from .checkpoint import MODEL_FILE, RUN_FILE, RUN_FORMAT, RUN_VERSION, TMP, TOKENIZER_DIR, TRAINING_STATE_FILE
from .frozen_weights import FrozenReference
from .run_manifest import signed_run_info


def model_settings(model) -> dict[str, Any]:
    """The MultiTaskModel constructor arguments, read off the model (so a checkpoint can rebuild it). ``head`` is
    the heads' shape (``heads.HeadSettings``); a run.json without it (saved before heads had a shape) means a
    linear head on the last layer with ``head_hidden`` and ``head_dropout``."""
    head = model.head_settings
    return {"num_fields": int(model.num_fields), "loss_weighting": model.loss_weighting,
            "task_weights": list(model.task_weights), "uses_layout": bool(model.uses_layout),
            "head_hidden": int(head.hidden), "head_dropout": float(head.dropout), "head": head.to_json()}


def _write_tmp_tensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None) -> Path:
    tmp = path.with_name(path.name + TMP)
    try:
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, str(tmp),
                  metadata=dict(metadata) if metadata else None)
    except SafetensorError as error:
        raise _as_os_error(error, path) from error
    with_user_umask(tmp)  # save_file writes 0600
    _fsync(tmp)
    return tmp


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(run_dir: Path, model, run_info: Mapping[str, Any],
                    training_state: Mapping[str, torch.Tensor] | None = None, tokenizer=None,
                    frozen: FrozenReference | None = None) -> Path:
    """Write ``model`` and ``run_info`` into ``run_dir`` atomically (see the module docstring); returns run_dir.

    ``run_info`` holds the JSON parts (backbone, schema, freeze_plan, config, state, metrics …); this function
    adds the format marker, the model's settings and LayoutLM config, and the files' SHA-256. ``tokenizer`` is
    saved once into ``run_dir/tokenizer`` so the folder is self-contained. ``training_state`` (optimizer and RNG
    tensors) is optional and lets a resumed run continue exactly. ``frozen`` names backbone tensors that stay
    out of ``model.safetensors``: run.json records the reference and loading rebuilds them from the backbone.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []  # (tmp, final)
    tokenizer_saved = False
    try:
        if tokenizer is not None and not (run_dir / TOKENIZER_DIR / "tokenizer.json").is_file():
            _save_tokenizer(run_dir, tokenizer)
            tokenizer_saved = True
        left_out = set(frozen.tensors) if frozen is not None else set()
        state = {name: tensor for name, tensor in model.state_dict().items() if name not in left_out}
        model_tmp = _write_tmp_tensors(run_dir / MODEL_FILE, state, {"format": RUN_FORMAT})
        written.append((model_tmp, run_dir / MODEL_FILE))
        if training_state is not None:
            extra_tmp = _write_tmp_tensors(run_dir / TRAINING_STATE_FILE, training_state, None)
            written.append((extra_tmp, run_dir / TRAINING_STATE_FILE))
        files = {final.name: sha256_file(tmp) for tmp, final in written}
        tokenizer_dir = run_dir / TOKENIZER_DIR
        if tokenizer_dir.is_dir():
            for path in sorted(tokenizer_dir.iterdir()):
                files[f"{TOKENIZER_DIR}/{path.name}"] = sha256_file(path)
        info = dict(run_info)
        info.update(format=RUN_FORMAT, version=RUN_VERSION, model=model_settings(model),
                    backbone_config=model.backbone.config.to_dict(), files=files, sha256=files[MODEL_FILE])
        info.pop("frozen", None)
        if frozen is not None:
            info["frozen"] = frozen.to_json()
        run_tmp = run_dir / (RUN_FILE + TMP)

        run_tmp.write_text(json.dumps(signed_run_info(info, _json_default), indent=1, allow_nan=False))
        _fsync(run_tmp)
        written.append((run_tmp, run_dir / RUN_FILE))
    except BaseException:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        for leftover in run_dir.glob("*" + TMP):
            leftover.unlink(missing_ok=True)
        if tokenizer_saved and not (run_dir / RUN_FILE).exists():  # a first save: leave no part of a checkpoint
            shutil.rmtree(run_dir / TOKENIZER_DIR, ignore_errors=True)
        raise
    for tmp, final in written:  # run.json last: until it lands, the old run.json still names the old files
        try:
            os.replace(tmp, final)
        except FileNotFoundError:  # a reader's load_checkpoint rolled this save forward first
            pass
    if training_state is None:
        (run_dir / TRAINING_STATE_FILE).unlink(missing_ok=True)
    _fsync_dir(run_dir)
    return run_dir


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _as_os_error(error: Exception, path: Path) -> Exception:
    """A Rust library's file error ("No space left on device (os error 28)", naming no file) as the OSError it
    reports, naming ``path``, so that the run's message says where (a probe's full disk); other errors as they are."""
    code = re.search(r"\(os error (\d+)\)", str(error))
    return OSError(int(code[1]), os.strerror(int(code[1])), str(path)) if code else error


def _save_tokenizer(run_dir: Path, tokenizer) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".tokenizer-", dir=run_dir))
    try:
        try:
            tokenizer.save_pretrained(str(staging))
        except Exception as error:  # noqa: BLE001 - the tokenizers library raises a bare Exception for file errors
            raise _as_os_error(error, run_dir / TOKENIZER_DIR) from error
        with_user_umask(staging)  # mkdtemp made it 0700
        target = run_dir / TOKENIZER_DIR
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
