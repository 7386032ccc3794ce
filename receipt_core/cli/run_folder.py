"""One run per ``--out`` folder at a time: ``train``, ``reference`` and ``pretrain`` hold an exclusive lock on the
folder for as long as they run.

Two ``train`` processes started on the same new folder both found it empty and then wrote their checkpoints over
each other's (a probe: one failed with "the previous checkpoint is unchanged", which was not true). The folder is
made for the lock and checked again once held; a run that leaves it empty (it failed before its first save) takes
it away again, with the parent folders made for it.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .arguments import check_run_folder
from .errors import CommandError


@contextmanager
def run_folder_held(run_dir: Path, resume: bool) -> Iterator[None]:
    """Check ``run_dir`` (:func:`~receipt_core.cli.arguments.check_run_folder`), make it and hold it while the
    ``with`` block runs; CommandError when another process holds it."""
    check_run_folder(run_dir, resume=resume)
    made = [folder for folder in (run_dir, *run_dir.parents) if not folder.exists()]  # deepest first
    run_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(run_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(f"--out {run_dir} is in use by another run (a train, reference or pretrain writing "
                               "there now); wait for it to end, or choose another folder") from None
        check_run_folder(run_dir, resume=resume)  # again, held: the other run may have written before we locked
        yield
    finally:
        os.close(descriptor)
        for folder in made:
            try:
                folder.rmdir()  # only an empty one: a run that saved keeps its folder
            except OSError:
                break
