"""How many threads PyTorch's CPU kernels should use here: one per physical core, shared by local processes.

Hyper-threads share a core's vector units, so intra-op threads beyond the physical cores only add contention;
two data-parallel processes on one machine should split the cores rather than each take all of them. Entry
points (the CLI's ``train``, the dashboard's job slot as a job starts, the benchmarks) call
:func:`configure_torch_threads`; importing this module changes nothing.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator


def physical_cores() -> int:
    """Physical CPU cores available to this process (logical CPUs when that cannot be told; at least 1)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    logical = allowed_logical_cpus()
    if not cores:
        return logical
    return max(1, min(cores, logical))  # an affinity mask or container CPU set can allow fewer than all cores


def allowed_logical_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def torch_threads_for(processes: int = 1) -> int:
    """Intra-op threads for each of ``processes`` local processes: the physical cores split between them."""
    return max(1, physical_cores() // max(1, processes))


def configure_torch_threads(processes: int | None = None) -> int:
    """Set ``torch.set_num_threads`` to one thread per physical core per local process; returns the count.

    ``processes`` defaults to ``LOCAL_WORLD_SIZE`` (set by ``accelerate launch`` / ``torchrun``), else 1. An
    explicit ``OMP_NUM_THREADS`` in the environment wins: whoever set it chose on purpose.
    """
    import torch

    explicit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if explicit.isdigit() and int(explicit) > 0:
        threads = int(explicit)
    else:
        if processes is None:
            local = os.environ.get("LOCAL_WORLD_SIZE", "").strip()
            processes = int(local) if local.isdigit() and int(local) > 0 else 1
        threads = torch_threads_for(processes)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


HEADS_ONLY_THREADS = 1  # intra-op threads while a run trains only heads over cached features


@contextmanager
def intra_op_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, then put the count back.

    Why a run changes it at all (:data:`HEADS_ONLY_THREADS`): a step over a frozen backbone's cached features is
    only the heads, many small kernels. With two OpenMP threads each kernel waits for both, and with anything else
    running on the machine (the dashboard's browser, another process) that wait dominates: one epoch of the
    contextual heads over CORD train took 19–35 s on two threads and 3–4.5 s on one, at a load average of 5–6 on
    2 cores. The count is process-wide in PyTorch, so whatever else the process computes meanwhile gets it too."""
    import torch

    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
