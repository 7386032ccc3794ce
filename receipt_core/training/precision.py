"""The number format of a training step's matrix products: float32, or bfloat16 autocast on request.

The weights, the optimizer and the losses stay float32; under ``torch.autocast`` the linear layers and the attention
products run in bfloat16, which a CPU with AVX-512 BF16 or AMX (and a GPU that supports it) computes faster than
float32; a machine without it emulates bfloat16, slower than float32. Measured here (README "Performance"): bf16 gave
phased runs 11 % more steps in the same ten minutes on WildReceipt photos and no better scores, so float32 stays the
default. Evaluation and prediction run in float32: the scores a run reports are the scores its saved model gives.
Imports torch only when called: the training config reads :data:`PRECISIONS` without it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16")


def fast_bf16(device: "torch.device") -> bool:
    """Whether ``device`` computes bfloat16 products in hardware (a CPU's AVX-512 BF16 or AMX tiles, a GPU's own)."""
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    try:  # private to torch.cpu, but the check the CPU's own kernels make; absent: no claim of speed
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


def training_autocast(precision: str, device: "torch.device") -> ContextManager:
    """The context a training step's forward pass runs in: bfloat16 autocast for ``bf16``, nothing for ``fp32``."""
    if precision == "bf16":
        import torch

        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
