"""How fast this machine trains right now, against the machine the rough time guesses were measured on.

Before a workspace holds a run to measure, the Train page's time estimate is a rough guess per receipt and epoch
(:mod:`.estimate`), measured on one 2-core machine. Machines of that kind have run the same training 2.3 times
slower on some days (README, "the same recipe on a slower machine"), and a guess off by that much had a walkthrough
wait 5 minutes for "about 2 min". :func:`speed_factor` times a short fixed workload shaped like a training step (a
MiniLM-sized encoder layer's forward and backward pass over a batch of windows) and divides by its time on the
reference machine, so a rough guess can be scaled to the machine it is said on.
"""

from __future__ import annotations

import os
import statistics
import time

REFERENCE_WORKLOAD_S = 0.058
"""The workload's median time on the machine the rough guesses were measured on, derived: it took 0.139–0.156 s
(six timings) on 2026-12-06 at 04:35 UTC, nothing else running, when a full fine-tuning step of ``benchmarks/run.py
--only attention`` took 1,124 ms against 450 ms on 2026-12-04; 0.145 / 2.5. The walkthrough's phased run of that
hour reached 5.2 of the 12 epochs the unscaled guess gave its 2 minutes (2.3 times slower, beside other work)."""
FACTOR_RANGE = (0.5, 4.0)  # a workload timed while the machine is busy with other work says little beyond this
REPEATS = 3
BUSY_LOAD_PER_CORE = 0.75  # a one-minute load average above this per core: other work holds the cores now


def busy_note(load: float | None = None, cores: int | None = None) -> str | None:
    """What a time estimate made now must add when other work holds the CPU (``os.getloadavg``'s last minute over
    the cores, when not given); None when the machine is about idle, or the load cannot be read. The machine's speed
    is timed at most every 10 minutes, and walkthrough 61's run, beside another tester's training, took 2.4 times
    the "about 89 s" it was given (alone, the same run took 81 s)."""
    try:
        load = os.getloadavg()[0] if load is None else load
    except OSError:  # not every system reports one
        return None
    cores = cores or os.cpu_count() or 1
    if load < BUSY_LOAD_PER_CORE * cores:
        return None
    return (f"The machine is busy now (load {load:.1f} on {cores} CPU cores over the last minute): other work "
            "shares the cores, so a run started now trains slower than this estimate, and its time budget buys "
            "fewer steps.")


def workload_seconds(repeats: int = REPEATS) -> float:
    """The median time of one forward and backward pass of a 384-wide, 12-head encoder layer (MiniLM's shape) over
    4 windows of 128 tokens, after one pass to warm up, on this process's torch threads (about 0.5 s in all on
    the slow machine of 2026-12-06, 0.2 s on the reference one)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=384, nhead=12, dim_feedforward=1536, batch_first=True)
    inputs = torch.randn(4, 128, 384, generator=generator, requires_grad=True)
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        layer(inputs).square().mean().backward()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def speed_factor(seconds: float) -> float:
    """How many times the reference machine's time a run takes here, from :func:`workload_seconds`' ``seconds``,
    kept within :data:`FACTOR_RANGE`."""
    if not seconds > 0:
        raise ValueError(f"a workload time must be above 0 s, got {seconds!r}")
    low, high = FACTOR_RANGE
    return min(max(seconds / REFERENCE_WORKLOAD_S, low), high)
