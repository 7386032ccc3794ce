"""The same training loop, data-parallel: ``accelerate launch`` with 2 CPU processes (gloo) on real CORD receipts.

accelerate 1.15's ``--cpu`` flag always uses its single-process launcher (multi-CPU needs MPI there), so the
test asks for torchrun's launcher with ``--multi_gpu`` and hides every GPU: ``Accelerator(cpu=True)`` then joins
the 2 processes over gloo. The phased scenario is the hard case for data parallelism: groups are frozen at the
start and unfrozen mid-run, and every process must agree on which parameters train (the trainer checks the
processes' weight checksums at every checkpoint and fails the run if they differ).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, require_shared_data


@pytest.mark.slow
def test_two_process_phased_run(tmp_path):
    data = tmp_path / "train" / "json"
    data.mkdir(parents=True)
    for file in sorted(require_shared_data("cord", "train", "json").glob("*.json"))[:8]:
        shutil.copy(file, data / file.name)
    run_dir = tmp_path / "run"
    accelerate = Path(sys.executable).with_name("accelerate")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
         "-m", "receipt_core", "train", "--train", str(data.parent), "--eval", str(data.parent), "--format", "cord",
         "--backbone", "tiny", "--scenario", "phased", "--phased-top-k", "1", "--epochs-per-phase", "1", "--epochs", "3",
         "--batch-size", "2",
         "--lr", "3e-3", "--out", str(run_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    err = result.stderr
    assert err.count("train: 8 documents, eval: 8 documents; backbone tiny, scenario phased (phase 2: up to the top "
                     "1 encoder layer), 2 processes") == 1
    assert "phase 2: heads + top 1 encoder layer (" in err and "phase 3: everything" in err
    info = json.loads((run_dir / "run.json").read_text())
    assert info["processes"] == 2
    # 8 documents in batches of 2 = 4 batches per epoch, shared by 2 processes: 2 steps per epoch
    assert info["state"]["global_step"] == 6 and info["state"]["phase"] == 3
    assert info["freeze_plan"]["embeddings.text"] is True
    assert "finished (completed) at step 6" in err
