"""Frozen backbone tensors kept out of a checkpoint by reference: the backbone's name plus a content hash.

A run with frozen groups changes only its trainable tensors (``freeze-backbone``: the heads, a few hundred
thousand numbers out of 24 M). Its checkpoint stores those, plus a :class:`FrozenReference` saying which
tensors were left out, which named backbone they come from and the SHA-256 of their bytes. Loading rebuilds
the backbone by name (``backbones.load_backbone``), hashes the same tensors and refuses a mismatch, so a
checkpoint never silently loads over different weights (another version of the MiniLM package, another seed
of ``tiny``).

Only tensors that were never trained in the run qualify (``ReceiptTask`` tracks them): a group frozen after it
trained holds weights no backbone can rebuild, and is saved in full.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import torch

BACKBONE_PREFIX = "backbone."


@dataclass(frozen=True)
class FrozenReference:
    """Tensors of a model left out of its checkpoint file: rebuilt from ``backbone`` (with ``seed``)."""

    backbone: str  # a named backbone (backbones.BACKBONE_NAMES)
    seed: int  # load_backbone's seed (only ``tiny``'s weights depend on it)
    tensors: tuple[str, ...]  # state_dict names, sorted
    sha256: str  # tensors_sha256 over them

    def to_json(self) -> dict[str, Any]:
        return {"backbone": self.backbone, "seed": self.seed, "tensors": list(self.tensors), "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FrozenReference":
        return cls(backbone=str(data["backbone"]), seed=int(data["seed"]), tensors=tuple(data["tensors"]),
                   sha256=str(data["sha256"]))


def tensors_sha256(tensors: Mapping[str, torch.Tensor], names: Iterable[str]) -> str:
    """SHA-256 over ``names`` in sorted order: each name, dtype, shape and the tensor's bytes."""
    digest = hashlib.sha256()
    for name in sorted(names):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def frozen_reference(model, names: Iterable[str], backbone: str, seed: int) -> FrozenReference | None:
    """A reference for ``names`` (model state_dict names of backbone tensors), or None when there are none."""
    names = tuple(sorted(names))
    if not names:
        return None
    if any(not name.startswith(BACKBONE_PREFIX) for name in names):
        raise ValueError(f"only backbone tensors can be kept out of a checkpoint, got {names[:3]}")
    return FrozenReference(backbone=backbone, seed=int(seed), tensors=names,
                           sha256=tensors_sha256(model.state_dict(), names))


def rebuild_frozen(reference: FrozenReference) -> dict[str, torch.Tensor]:
    """The referenced tensors from the backbone rebuilt by name, after checking their hash.

    ValueError (the checkpoint loader turns it into a CheckpointError) when the backbone cannot be built,
    lacks a tensor, or gives other bytes than the run was trained on."""
    from .backbones import load_backbone

    state = {BACKBONE_PREFIX + name: tensor for name, tensor in
             load_backbone(reference.backbone, seed=reference.seed).model.state_dict().items()}
    missing = [name for name in reference.tensors if name not in state]
    if missing:
        raise ValueError(f"the backbone {reference.backbone!r} has no tensors {missing[:3]} that the checkpoint "
                         "left out by reference")
    actual = tensors_sha256(state, reference.tensors)
    if actual != reference.sha256:
        raise ValueError(f"the frozen weights of backbone {reference.backbone!r} here have SHA-256 {actual[:16]}…, "
                         f"but the run was trained on {reference.sha256[:16]}…: the installed backbone differs from "
                         "the one the checkpoint was built from; install that backbone version or retrain")
    return {name: state[name] for name in reference.tensors}
