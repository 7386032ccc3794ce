"""A study training in a command-line process, said where the dashboard looks.

While ``study`` runs, a small file in its workspace (``<workspace>/studies-training/<pid>.json``) names the study's
folder and the run it trains, of how many; the dashboard's sidebar, Train and Runs → Studies read it, and the
file goes when the study ends. A walkthrough's command-line study trained unseen: the sidebar said "Training:
idle", Studies "No study folders … yet", and Train offered Start with no word that the cores were in use, so the
race started there skewed both studies' timings.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Callable, Sequence

from ..wording import counted
from ..workspace.processes import process_alive, this_process

TRAINING_FOLDER = "studies-training"  # under the workspace folder
MAX_MARK_BYTES = 16_384  # a mark is a few hundred bytes; a bigger file there is no mark of ours
MAX_PID = 2 ** 22  # Linux's largest pid
MAX_RUNS = 100_000  # a study's runs: configurations × seeds
MAX_TEXT = 4_096  # a mark's folder and training texts


@dataclass(frozen=True)
class StudyInProgress:
    """A study training in another live process: its folder, and which of its runs trains now."""

    folder: str
    run: int  # 1-based, of ``runs``
    runs: int
    training: str  # the configuration and seed ("layout-minilm · full, seed 0")
    pid: int

    @property
    def name(self) -> str:
        return Path(self.folder).name or self.folder

    def said(self, shown: Callable[[str], str] = repr) -> str:
        """"study 'NAME' is training in another process (pid N): run 2 of 3, 'layout-minilm · full, seed 0'", the
        folder's name and the run's as ``shown`` gives them (a page shows them as text, not Markdown: probe 55's
        hand-made mark drew a link and fetched an image through the run's)."""
        return (f"study {shown(self.name)} is training in another process (pid {self.pid}): run {self.run} of "
                f"{self.runs}, {shown(self.training)}")


class StudyAnnouncement:
    """The mark of this process's study in ``home`` while it trains (a context manager: it goes on exit, however
    the study ends). :meth:`now_training` moves it on to the next run."""

    def __init__(self, home: Path, folder: Path, runs: int) -> None:
        self.home = Path(home)
        self.path = self.home / TRAINING_FOLDER / f"{os.getpid()}.json"
        self.folder = str(Path(folder).resolve())
        self.runs = runs

    def __enter__(self) -> StudyAnnouncement:
        self.now_training(1, "starting")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.path.unlink(missing_ok=True)

    def now_training(self, run: int, training: str) -> None:
        """Say that run ``run`` (1-based) of the study, ``training``, trains now. Best effort: a workspace that
        cannot be written to loses the mark, never the study; nor is a workspace made for it (a study of data
        given by path, with no workspace)."""
        if not self.home.is_dir():
            return
        pid, started = this_process()
        mark = {"pid": pid, "process_started": started, "folder": self.folder, "run": run, "runs": self.runs,
                "training": training}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".json.partial")
            partial.write_text(json.dumps(mark), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError:
            pass


def studies_in_other_processes(home: Path) -> list[StudyInProgress]:
    """The studies of ``home`` training now in another live process (a mark whose process ended is left out)."""
    folder = Path(home) / TRAINING_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        study = _read_mark(path)
        if study is not None:
            found.append(study)
    return found


def _read_mark(path: Path) -> StudyInProgress | None:
    """The mark at ``path`` when it is one of ours (a small regular file of the shape ``now_training`` writes) and
    its process still runs and is not this one; None for anything else. Probe 55's hand-made marks broke every page
    (a pid of -1 or 1e999, JSON nested 5,000 deep) or blocked them (a FIFO named a.json)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MARK_BYTES:
            return None
        mark = json.loads(path.read_text(encoding="utf-8"))
        study = _study_of(mark)
        if study is None or study.pid == os.getpid():
            return None
        started = mark.get("process_started")
        alive = process_alive(study.pid, float(started) if _is_number(started) else None)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError):
        return None
    return study if alive else None


def _study_of(mark: object) -> StudyInProgress | None:
    """The mark's study when every field is as ``now_training`` writes it, else None."""
    if not isinstance(mark, dict):
        return None
    pid, run, runs = (mark.get(key) for key in ("pid", "run", "runs"))
    folder, training = mark.get("folder"), mark.get("training")
    if not all(isinstance(number, int) and not isinstance(number, bool) for number in (pid, run, runs)):
        return None
    if not (0 < pid < MAX_PID and 0 < run <= runs <= MAX_RUNS):
        return None
    if not (isinstance(folder, str) and isinstance(training, str) and 0 < len(folder) <= MAX_TEXT
            and 0 < len(training) <= MAX_TEXT):
        return None
    return StudyInProgress(folder=folder, run=run, runs=runs, training=training, pid=pid)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def elsewhere_said(studies: Sequence[StudyInProgress], shown: Callable[[str], str] = repr) -> str:
    """The first study as :meth:`StudyInProgress.said` says it, and how many more ("" when none)."""
    if not studies:
        return ""
    more = f" (and {counted(len(studies) - 1, 'more study', 'more studies')})" if len(studies) > 1 else ""
    return studies[0].said(shown) + more
