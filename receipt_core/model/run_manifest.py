"""``run.json`` checked before anything is built from it: bounded parsing, a schema, file names inside the run
folder, and a content hash of the manifest itself.

A checkpoint folder can come from anywhere (a download, a zip from a colleague), so nothing in ``run.json`` is
trusted until it passes :func:`validate_run_info`: every value the loader uses has the right type and a range
(``intermediate_size: 200000000`` would make the loader allocate 51 GB; ``max_length: "abc"`` would fail deep
inside), the whole backbone is bounded in parameters, and ``files`` may only name plain relative paths inside the
run folder (``../../outside/secret.json`` is refused before any file is opened).

``manifest_sha256`` is the SHA-256 of the rest of ``run.json`` in canonical form (sorted keys, no spaces), written
by :func:`signed_run_info` when a checkpoint is saved. Any edit of ``run.json`` — a changed ``head_dropout``, a
changed file hash — no longer matches and is refused. It detects edits; it does not authenticate (whoever can
rewrite ``run.json`` can recompute the hash), which is why the schema bounds everything a forged manifest could
ask for. Checkpoints saved before the hash existed have no ``manifest_sha256``: they pass the same schema and load
with a warning in the log; saving the run again (resume, or train anew) adds the hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

from ..data.boxes import BOX_SCALE
from ..data.files import is_sha256
from ..datasets.bounded_json import BoundedJSONError, loads_bounded


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, tampered with, or does not match the model it describes."""


log = logging.getLogger(__name__)

MANIFEST_KEY = "manifest_sha256"
SAVED_IN_KEY = "saved_in"  # the name of the folder the checkpoint was saved in (a workspace run's id)
MAX_RUN_FILE_CHARS = 16 * 1024 * 1024
MAX_RUN_FILE_DEPTH = 32
MAX_FILES = 1_000
MAX_BACKBONE_PARAMETERS = 1_000_000_000  # LayoutLM-large has 343 M; the loader allocates 4 bytes per parameter
_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")

# backbone_config key -> (smallest, largest) whole number
_BACKBONE_INTS = {
    "vocab_size": (1, 500_000), "hidden_size": (1, 4_096), "num_hidden_layers": (1, 48),
    "num_attention_heads": (1, 64), "intermediate_size": (1, 16_384), "max_position_embeddings": (1, 8_192),
    "max_2d_position_embeddings": (1, 8_192), "type_vocab_size": (1, 16),
}
# run settings -> (smallest, largest) whole number: a run's config (training/config.py) refuses values outside these
# before training, so every checkpoint saved passes this check when it is loaded
CONFIG_INT_BOUNDS = {"max_length": (8, 8_192), "stride": (0, 8_192), "batch_size": (1, 65_536),
                     "epochs": (0, 1_000_000), "seed": (-(2 ** 63), 2 ** 63 - 1)}


def canonical_sha256(info: Mapping[str, Any]) -> str:
    """SHA-256 of ``info`` without ``manifest_sha256``, as canonical JSON (sorted keys, no spaces, ASCII)."""
    body = {key: value for key, value in info.items() if key != MANIFEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def signed_run_info(info: Mapping[str, Any], default: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """``info`` as plain JSON values (``default`` converts the rest, as for ``json.dumps``) plus its manifest hash."""
    plain = json.loads(json.dumps(dict(info), allow_nan=False, default=default))
    plain.pop(MANIFEST_KEY, None)
    plain[MANIFEST_KEY] = canonical_sha256(plain)
    return plain


DAMAGED_ENDING = "; the checkpoint is damaged"  # what a problem says on its own (the CLI); a page's line says it first


def damage_detail(problem: str) -> str:
    """``problem`` without its closing "the checkpoint is damaged", for a line that opens with it (a probe read
    "This run's checkpoint is damaged: … is not valid JSON (…); the checkpoint is damaged")."""
    return problem.removesuffix(DAMAGED_ENDING)


def parse_run_file(path: Path) -> Any:
    """The JSON of a ``run.json``, bounded in size and nesting; CheckpointError when it is not that."""
    try:
        size = path.stat().st_size
        if size > MAX_RUN_FILE_CHARS:
            raise CheckpointError(f"{path} is {size:,} bytes, over the limit of {MAX_RUN_FILE_CHARS:,} for a run file")
        return loads_bounded(path.read_text(encoding="utf-8"), MAX_RUN_FILE_CHARS, MAX_RUN_FILE_DEPTH)
    except (BoundedJSONError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}){DAMAGED_ENDING}") from None


def safe_file_entry(run_dir: Path, name: object, follow_links: bool = True) -> bool:
    """Whether a ``files`` entry of run.json is a plain relative path that stays inside ``run_dir`` (with
    ``follow_links`` False: whether its name alone is one, wherever a link there leads)."""
    if not isinstance(name, str) or len(name) > 200 or not _FILE_NAME.match(name):
        return False
    if any(part in (".", "..") for part in PurePosixPath(name).parts):
        return False
    if not follow_links:
        return True
    try:
        root = Path(run_dir).resolve()
        return (root / name).resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop ("Symlink loop from …")
        return False


def validate_run_info(run_dir: Path, info: Mapping[str, Any], warn_unhashed: bool = True) -> None:
    """CheckpointError naming the first entry of ``run.json`` that is edited, of a wrong type or out of range.

    Run before any file named in it is read and before any tensor is allocated. A run.json saved before run files
    were hashed is logged (unless ``warn_unhashed`` is False: a page listing runs checks them at every rerun).
    """
    where = Path(run_dir) / "run.json"
    problem = _first_problem(Path(run_dir), info)
    if problem is not None:
        raise CheckpointError(f"{where}: {problem}; refusing to load it")
    if MANIFEST_KEY not in info and warn_unhashed:
        log.warning("%s has no %s (saved before run files were hashed); it passed the schema check and is loaded, "
                    "but an edit of it cannot be detected; save the run again to add the hash", where, MANIFEST_KEY)


def _first_problem(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    if MANIFEST_KEY in info:
        recorded = info[MANIFEST_KEY]
        try:
            actual = canonical_sha256(info)
        except ValueError:
            return "it holds values that are not JSON"
        if recorded != actual:
            return (f"it was edited after it was saved (its content hash is {actual[:16]}…, the hash saved with it "
                    f"is {str(recorded)[:16]}…)")
    checks = (_files, _model, _backbone_config, _config, _state, _metrics, _schema, _freeze_plan, _frozen, _saved_in)
    for check in checks:
        problem = check(run_dir, info)
        if problem is not None:
            return problem
    return None


def _files(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    files = info.get("files")
    if not isinstance(files, Mapping) or not files:
        return "'files' must be an object of file name -> SHA-256"
    if len(files) > MAX_FILES:
        return f"'files' names {len(files):,} files, over the limit of {MAX_FILES:,}"
    for name, digest in files.items():
        if not safe_file_entry(run_dir, name):
            if isinstance(name, str) and safe_file_entry(run_dir, name, follow_links=False):  # the name is fine
                # (a probe's model file replaced by a link to /dev/zero read as "not a plain file name")
                return (f"'files' names {_short(name)}, a link that does not lead to a file inside the run "
                        f"folder{DAMAGED_ENDING}")
            return f"'files' names {_short(name)}, which is not a plain file name inside the run folder"
        if not is_sha256(digest):
            return f"'files' gives {_short(digest)} as the SHA-256 of {name}, which is not 64 hex digits"
    if not is_sha256(info.get("sha256")):
        return "'sha256' must be 64 hex digits"
    return None


def _model(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    model = info.get("model")
    if not isinstance(model, Mapping):
        return "'model' must be an object"
    from .multitask import LOSS_WEIGHTINGS

    problem = (_int(model, "num_fields", 2, 256, "model") or _int(model, "head_hidden", 0, 16_384, "model")
               or _number(model, "head_dropout", 0.0, 0.99, "model"))
    if problem:
        return problem
    if model.get("loss_weighting") not in LOSS_WEIGHTINGS:
        return (f"'model.loss_weighting' must be one of {', '.join(LOSS_WEIGHTINGS)}, got "
                f"{_short(model.get('loss_weighting'))}")
    if not isinstance(model.get("uses_layout"), bool):
        return f"'model.uses_layout' must be true or false, got {_short(model.get('uses_layout'))}"
    weights = model.get("task_weights")
    if not isinstance(weights, list) or len(weights) != 2 or not all(_finite(w, 0.0, 1_000.0) for w in weights):
        return f"'model.task_weights' must be two numbers from 0 to 1000, got {_short(weights)}"
    return None


def _backbone_config(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    config = info.get("backbone_config")
    problem = backbone_config_problem(config, "backbone_config")
    if problem is None and info["model"]["uses_layout"]:  # a probe's forgery had 10 rows
        return layout_tables_problem(config, "'backbone_config.max_2d_position_embeddings'")
    return problem


def layout_tables_problem(config: Mapping[str, Any], where: str) -> str | None:
    """Why a bounded LayoutLM config's 2-D position tables cannot take this project's boxes, or None."""
    tables = config.get("max_2d_position_embeddings", 1024)  # LayoutLMConfig's default
    if tables < BOX_SCALE + 1:
        return (f"{where} is {tables:,}, but boxes are page coordinates from 0 to {BOX_SCALE}, which need at least "
                f"{BOX_SCALE + 1:,} rows in each 2-D position table (LayoutLM checkpoints have 1,024)")
    return None


def backbone_config_problem(config: object, where: str) -> str | None:
    """Why a LayoutLM config (a run's ``backbone_config``, a model folder's ``config.json``; ``where`` names it in
    the message) cannot be built within bounds, or None: every size a whole number in range and the whole model
    under :data:`MAX_BACKBONE_PARAMETERS`, checked before a tensor is allocated."""
    if not isinstance(config, Mapping):
        return f"'{where}' must be an object"
    for key, (low, high) in _BACKBONE_INTS.items():
        if key in config or key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                    "intermediate_size"):
            problem = _int(config, key, low, high, where)
            if problem:
                return problem
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    if hidden % heads:
        return f"'{where}.hidden_size' ({hidden}) is not a multiple of num_attention_heads ({heads})"
    # each failed building the model with a bare AssertionError or ValueError (a probe's re-signed checkpoints)
    if config.get("pad_token_id") is not None:
        problem = _int(config, "pad_token_id", 0, config["vocab_size"] - 1, where)
        if problem:
            return problem
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        if key in config and (problem := _number(config, key, 0.0, 1.0, where)):
            return problem
    if "hidden_act" in config:  # an unknown one failed building the model with a bare KeyError (a probe)
        problem = activation_problem(config["hidden_act"], f"'{where}.hidden_act'")
        if problem:
            return problem
    parameters = _backbone_parameters(config)
    if parameters > MAX_BACKBONE_PARAMETERS:
        return (f"'{where}' describes a backbone of {parameters:,} parameters, over the limit of "
                f"{MAX_BACKBONE_PARAMETERS:,}")
    return None


def activation_problem(activation: object, where: str) -> str | None:
    """Why ``activation`` (a config's ``hidden_act``; ``where`` names it) is not one transformers can build, or
    None."""
    from transformers.activations import ACT2FN

    if isinstance(activation, str) and activation in ACT2FN:
        return None
    known = ", ".join(name for name in ("gelu", "gelu_new", "relu", "silu") if name in ACT2FN)
    return (f"{where} {_short(activation)} is not an activation transformers knows ({known}, …); set it to the one "
            "the model was trained with (LayoutLM and BERT use \"gelu\")")


def _backbone_parameters(config: Mapping[str, Any]) -> int:
    """About how many parameters a LayoutLM with this config has (embeddings plus layers)."""
    h, inter, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    embeddings = h * (config["vocab_size"] + config.get("max_position_embeddings", 512)
                      + 4 * config.get("max_2d_position_embeddings", 1024) + config.get("type_vocab_size", 2))
    return embeddings + layers * (4 * h * h + 2 * h * inter)


def _config(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    config = info.get("config", {})
    if not isinstance(config, Mapping):
        return "'config' must be an object"
    for key, (low, high) in CONFIG_INT_BOUNDS.items():
        if key in config:
            problem = _int(config, key, low, high, "config")
            if problem:
                return problem
    if "lr" in config and not _finite(config["lr"], 0.0, float("inf")):  # a rate allocates nothing: any finite one
        return f"'config.lr' must be a finite number from 0, got {_short(config['lr'])}"
    # what loading or a resume reads as it is: a probe's re-signed "boxes": "diagonal" and "stride": 600 passed, and
    # every prediction of the run failed ("unknown box mode", "stride 600 must be in [0, 508]")
    from ..data.boxes import stored_box_mode

    try:
        stored_box_mode(config)
    except (ValueError, TypeError) as error:
        return f"'config.boxes': {error}"
    max_length, stride = config.get("max_length", 512), config.get("stride", 128)
    if not stride < max_length - 3:  # both checked whole numbers above, when present
        return f"'config.stride' ({stride}) must be under 'config.max_length' ({max_length}) less 3"
    return None


# The progress fields of ``state`` (training.state.TrainerState) a checkpoint may carry, and their bounds. Each
# wrong type failed somewhere else: a resume, the Runs table, the estimate (a probe's tampered run.json).
STATE_INT_BOUNDS = {"global_step": (0, 10 ** 12), "epoch": (0, 10 ** 9), "step_in_epoch": (0, 10 ** 12),
                    "steps_per_epoch": (0, 10 ** 12), "total_steps": (0, 10 ** 12), "phase": (1, 3),
                    "items_seen": (0, 10 ** 15), "evals_without_improvement": (0, 10 ** 9),
                    "phase_started_epoch": (0, 10 ** 9)}
MAX_SCORE = 1e15  # a run's scores and counts (a word count, a loss) stay far below it
STATE_NUMBER_BOUNDS = {"elapsed_s": (0.0, 10.0 ** 9), "setup_s": (0.0, 10.0 ** 9), "best_val_loss": (0.0, 10.0 ** 9)}


def _saved_in(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    """A folder name, when given (checkpoints saved before 2026-12-07 have none): probe 31's re-signed 123, null or
    list read as an old checkpoint's."""
    if SAVED_IN_KEY not in info:
        return None
    value = info[SAVED_IN_KEY]
    if not isinstance(value, str) or not 0 < len(value) <= 255 or "/" in value or "\0" in value:
        return f"'{SAVED_IN_KEY}' must be the name of the folder it was saved in, got {_short(value)}"
    return None


def _state(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    return state_problem(info.get("state"))


def state_problem(state: object) -> str | None:
    """Why a run.json's ``state`` (its progress) is not one a run can resume from, or None."""
    if not isinstance(state, Mapping):
        return "'state' must be an object"
    for key, (low, high) in STATE_INT_BOUNDS.items():
        if (key == "global_step" or key in state) and (problem := _int(state, key, low, high, "state")):
            return problem
    for key, (low, high) in STATE_NUMBER_BOUNDS.items():
        if state.get(key) is not None and (problem := _number(state, key, low, high, "state")):
            return problem
    if "last_metrics" in state:
        return metrics_problem(state["last_metrics"], "state.last_metrics")
    return None


def _metrics(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    """``metrics`` (optional): a probe's re-signed ``"metrics": [1, 2]`` failed evaluate and predict with a bare
    TypeError, and a score of ``"abc"`` loaded."""
    return metrics_problem(info["metrics"], "metrics") if "metrics" in info else None


def metrics_problem(metrics: object, where: str, depth: int = 0) -> str | None:
    """Why ``metrics`` is not an object of scores as a run saves them (names to numbers, nulls for the scores a
    run had none of, or a further object such as ``fields.per_label``, at most three deep), or None."""
    if not isinstance(metrics, Mapping):
        return f"'{where}' must be an object of scores"
    if depth > 2:
        return f"'{where}' nests scores deeper than a run saves them"
    for name, value in metrics.items():
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            return f"'{where}' must name each score in 1 to 200 characters"
        if isinstance(value, Mapping):
            if problem := metrics_problem(value, f"{where}.{name}", depth + 1):
                return problem
        elif value is not None and not _finite(value, -MAX_SCORE, MAX_SCORE):
            return f"'{where}.{name}' must be a number from {-MAX_SCORE:g} to {MAX_SCORE:g}, got {_short(value)}"
    return None


def _schema(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    schema = info.get("schema")
    if not isinstance(schema, Mapping):
        return "'schema' must be an object"
    fields = schema.get("fields")
    if not isinstance(fields, list) or not 2 <= len(fields) <= 256 or not all(
            isinstance(f, str) and 0 < len(f) <= 100 for f in fields):
        return "'schema.fields' must be a list of 2 to 256 names"
    from ..data.schema import LabelSchema

    try:  # what loading builds: a probe's re-signed run.json (11 x "TOTAL", 12 names for an 11-row head) was
        label_schema = LabelSchema.from_json(schema)  # offered on Predict, opened by default, and failed there
    except (ValueError, TypeError) as error:
        reason = str(error)  # it quotes the run.json's names: 256 of 100 characters at most
        reason = reason if len(reason) <= 200 else reason[:200] + "…"
        return f"'schema' is not a label schema the model can use ({reason})"
    num_fields = info["model"]["num_fields"]  # checked by _model before
    if num_fields != label_schema.num_fields:
        return (f"'model.num_fields' is {num_fields}, but its label schema has {label_schema.num_fields} fields: "
                "the model and its labels do not match")
    from ..data.schema import DEFAULT_SCHEMA

    # the workspace's receipts are labelled with these fields: a probe's re-signed run named a lookalike of
    # ITEM_NAME (a Cyrillic I), Predict stored its answers as that label, and Annotate failed on the receipt for good
    if label_schema.fields != DEFAULT_SCHEMA.fields:
        other = [ascii(name)[:40] for name in label_schema.fields if name not in DEFAULT_SCHEMA.fields][:3]
        return (f"'schema.fields' are not the labels receipts are annotated with ({', '.join(DEFAULT_SCHEMA.fields)}, "
                "in that order)" + (f": it names {', '.join(other)}" if other else ": they are in another order"))
    return None


def _freeze_plan(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    plan = info.get("freeze_plan", {})
    if not isinstance(plan, Mapping) or not all(isinstance(v, bool) for v in plan.values()):
        return "'freeze_plan' must be an object of group name -> true/false"
    return None


def _frozen(run_dir: Path, info: Mapping[str, Any]) -> str | None:
    """``frozen`` (optional): backbone tensors left out of model.safetensors, rebuilt from a named backbone."""
    frozen = info.get("frozen")
    if frozen is None:
        return None
    from .backbone_names import BACKBONE_NAMES

    if not isinstance(frozen, Mapping) or frozen.get("backbone") not in BACKBONE_NAMES:
        return f"'frozen.backbone' must be one of {', '.join(BACKBONE_NAMES)}"
    tensors = frozen.get("tensors")
    if not isinstance(tensors, list) or not 0 < len(tensors) <= 100_000 or not all(
            isinstance(t, str) and t.startswith("backbone.") and len(t) <= 200 for t in tensors):
        return "'frozen.tensors' must be a list of backbone tensor names"
    if not is_sha256(frozen.get("sha256")):
        return "'frozen.sha256' must be 64 hex digits"
    return _int(frozen, "seed", -(2 ** 63), 2 ** 63 - 1, "frozen")


def _int(data: Mapping[str, Any], key: str, low: int, high: int, where: str) -> str | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"'{where}.{key}' must be a whole number from {low:,} to {high:,}, got {_short(value)}"
    return None


def _number(data: Mapping[str, Any], key: str, low: float, high: float, where: str) -> str | None:
    if not _finite(data.get(key), low, high):
        return f"'{where}.{key}' must be a number from {low:g} to {high:g}, got {_short(data.get(key))}"
    return None


def _finite(value: object, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return low <= value <= high
    return math.isfinite(value) and low <= value <= high


def _short(value: object) -> str:
    text = repr(value) if not (isinstance(value, int) and value.bit_length() > 64) else "a very large integer"
    return text if len(text) <= 40 else text[:30] + "…"
