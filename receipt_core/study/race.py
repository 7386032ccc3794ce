"""Running a race: a study's configurations trained one after another through the server's one job slot.

:class:`Race` is a background thread that never touches the dashboard: for each run of its plan it starts a
workspace run in the slot (``training.runs.start_run`` with the scenario's own ``TrainConfig.for_scenario``, or
``start_reference_run`` for the plain reference — :func:`receipt_core.study.runner.train_config` and
``reference_config``, as the CLI's study builds them), waits for it to end, keeps what the study keeps of it, and
advances; after the last it writes the study's files. Each change is written to ``race.json``
(:mod:`receipt_core.study.race_record`), which is what pages read. :class:`RaceTrack` is the server's one race at
a time; ``start_race`` checks the plan, loads its documents and starts it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from ..data.document import Document
from ..data.schema import DEFAULT_SCHEMA, unknown_label_problem
from ..datasets.splits import split_labelled
from ..training.slot import JobBusyError, JobSlot, busy_message
from .files import write_study
from .race_record import (RacePlan, RaceRecord, check_race_name, find_races, load_record, now_text,
                          write_record)
from .runner import RunCollector, reference_config, run_result, train_config
from .view import workspace_studies_dir

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"  # write_study's machine-readable file
SLOT_POLL_S = 0.5  # how often a race waiting for the slot (another session's run) looks again


class RaceBusyError(RuntimeError):
    """A race was asked for while another is running on this server."""


class Race:
    """One race in a daemon thread: ``start()``, ``stop()`` (ends the current run at its next step, as its Stop
    button would, and skips the rest), ``join()``, ``record`` (the state race.json holds)."""

    def __init__(self, workspace, slot: JobSlot, folder: Path, record: RaceRecord, train_docs: Sequence[Document],
                 eval_docs: Sequence[Document]) -> None:
        self.workspace = workspace
        self.slot = slot
        self.folder = Path(folder)
        self._train_docs = list(train_docs)
        self._eval_docs = list(eval_docs)
        self._lock = threading.Lock()
        self._record = record
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def record(self) -> RaceRecord:
        with self._lock:
            return self._record

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def start(self) -> "Race":
        write_record(self.folder, self.record)
        self._thread = threading.Thread(target=self._run, name=f"race-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the run in progress (it evaluates and saves, as Stop on the Train page does) and skip the rest."""
        self._stopping.set()
        current = self.record.current
        if current is not None and current.run_id is not None:
            self._stop_run(current.run_id)

    def _stop_run(self, run_id: str) -> None:
        try:
            self.slot.control(run_id, "stop")
        except JobBusyError:
            pass  # it ended meanwhile

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout) if self._thread is not None else True

    # -- the thread --

    def _update(self, record: RaceRecord) -> None:
        with self._lock:
            self._record = record
        write_record(self.folder, record)

    def _run(self) -> None:
        try:
            for index in range(len(self.record.entries)):
                if self._stopping.is_set():
                    self._update(self.record.with_entry(index, status="skipped", error="the race was stopped"))
                    continue
                self._run_entry(index)
            self._finish("stopped" if self._stopping.is_set() else "finished")
        except Exception as error:  # noqa: BLE001 - the page must learn why the race ended
            log.exception("race %s failed", self.name)
            self._finish("failed", " ".join(str(error).split()) or type(error).__name__)
        finally:
            self._done.set()

    def _run_entry(self, index: int) -> None:
        entry = self.record.entries[index]
        collector = RunCollector()
        started = time.monotonic()
        job = self._launch(index, collector)
        if job is None:  # stopped while waiting for the slot
            self._update(self.record.with_entry(index, status="skipped", error="the race was stopped"))
            return
        self._update(self.record.with_entry(index, status="running", run_id=job.run_id))
        if self._stopping.is_set():  # Stop race came between the launch and the line above
            self._stop_run(job.run_id)
        job.join()
        try:
            result = run_result(entry.config, entry.seed, job, collector, time.monotonic() - started,
                                self.workspace.run_dir(job.run_id))
        except RuntimeError as error:
            self._update(self.record.with_entry(index, status="failed", error=" ".join(str(error).split())))
            return
        status = "stopped" if result.finished == "stopped" else "finished"
        self._update(self.record.with_entry(index, status=status, result=result))

    def _launch(self, index: int, collector: RunCollector) -> Any:
        """Start the entry's workspace run in the slot, waiting while another run holds it; None when the race
        is stopped first."""
        entry = self.record.entries[index]
        settings = self.record.plan.settings
        # what tells the race's runs apart first: "race-20261205-015003 · text-mini…" was every run's name in the
        # Runs table's column at 1366 px (a walkthrough)
        run_name = f"{entry.name}" + (f" · seed {entry.seed}" if settings.repeats > 1 else "") + f" · {self.name}"
        notes = {"study": self.name}

        def launch() -> tuple[str, Any]:
            from ..training.runs import start_reference_run, start_run

            if entry.config.is_reference:
                job = start_reference_run(self.workspace, reference_config(entry.config, settings, entry.seed),
                                          self._train_docs, self._eval_docs, name=run_name, listeners=[collector],
                                          notes=notes)
            else:
                job = start_run(self.workspace, train_config(entry.config, settings, entry.seed), self._train_docs,
                                self._eval_docs, name=run_name, listeners=[collector], notes=notes)
            return job.run_id, job

        while not self._stopping.is_set():
            try:
                return self.slot.start(launch, description=f"{self.name}: run {index + 1} of "
                                                           f"{len(self.record.entries)}, {entry.name}").job
            except JobBusyError:
                self._stopping.wait(SLOT_POLL_S)
        return None

    def _finish(self, status: str, error: str | None = None) -> None:
        record = replace(self.record, status=status, finished=now_text(), error=error)
        if any(e.result is not None for e in record.entries):
            try:
                write_study(record.study(), self.folder)  # study.json, report.md, report.html beside race.json
            except Exception as failure:  # noqa: BLE001 - the runs are kept; the page says what went wrong
                log.exception("writing the study of race %s failed", self.name)
                record = replace(record, status="failed", error=f"writing its study into {self.folder} failed: "
                                 + (" ".join(str(failure).split()) or type(failure).__name__))
        self._update(record)


def race_documents(workspace, plan: RacePlan) -> tuple[list[Document], list[Document], list[str]]:
    """The race's training and evaluation receipts (only those labelled by a person or an import, as the Train
    page takes them), and a note for each set that had unlabelled receipts left out or mostly unlabelled ones."""
    labelled = workspace.training_documents_of(plan.training_datasets)
    notes = [note] if (note := labelled.note("train")) else []
    chosen_eval = None
    if plan.eval_data is not None:
        evaluation = workspace.evaluation_documents(plan.eval_data)
        chosen_eval = evaluation.documents
        if note := evaluation.note("eval"):
            notes.append(note)
    train_docs, eval_docs = split_labelled(labelled, chosen_eval, plan.hold_out)
    if not eval_docs:
        raise ValueError(f"the evaluation set of {plan.training_label!r} is empty; choose an evaluation dataset")
    # before the race starts, not in each of its runs: a label of no field failed every run in turn
    if (problem := unknown_label_problem([*train_docs, *eval_docs], DEFAULT_SCHEMA)) is not None:
        raise ValueError(problem)
    return train_docs, eval_docs, notes


def name_taken(studies_dir: Path, name: str) -> str | None:
    """Why a race or study cannot be ``name`` under ``studies_dir`` (a folder of that name exists, or of a name that
    differs only in letter case: one folder where names ignore case, macOS or Windows, a probe's Race1 beside race1),
    else None. The race form says it as the name is typed (probe 49 read it only after Start race)."""
    folder = studies_dir / name
    if folder.exists():
        return f"{folder} exists already; choose another name"
    twins = [p.name for p in studies_dir.glob("*") if p.name.lower() == name.lower()] if studies_dir.is_dir() else []
    if twins:
        return (f"{studies_dir / twins[0]} exists already, a name that differs only in letter case; choose another "
                "name")
    return None


class RaceTrack:
    """The races of one workspace on this server: at most one runs at a time. Shared by every session (the app
    holds it in ``st.cache_resource``), thread-safe. On creation, a race.json left "running" by a server that is
    gone is marked "interrupted"."""

    def __init__(self, workspace) -> None:
        self.workspace = workspace
        self.studies_dir = workspace_studies_dir(workspace.home)
        self._lock = threading.Lock()
        self._race: Race | None = None
        for record in find_races(self.studies_dir):
            if record.is_live:
                for index, entry in enumerate(record.entries):
                    if entry.status == "running":
                        record = record.with_entry(index, status="interrupted",
                                                   error="the server stopped during this run; resume it on Runs")
                try:
                    write_record(self.studies_dir / record.name, replace(
                        record, status="interrupted", error="the server stopped while the race ran"))
                except OSError:  # a read-only folder: every page builds the track, so none may fail on it
                    log.exception("marking race %s interrupted failed", record.name)

    def current(self) -> Race | None:
        """The live race, or the last one this server ran (None before the first)."""
        with self._lock:
            return self._race

    def live(self) -> Race | None:
        race = self.current()
        return race if race is not None and race.is_alive else None

    def start(self, slot: JobSlot, plan: RacePlan, name: str) -> tuple[Race, list[str]]:
        """Start ``plan`` as the race ``name`` (a new folder under the studies folder); returns the race and notes
        on receipts left out. Refuses, changing nothing, when a race or a run is in progress, when the folder
        exists, or when the data cannot train (ValueError / RaceBusyError / JobBusyError with the reason)."""
        name = check_race_name(name.strip())
        with self._lock:
            if self._race is not None and self._race.is_alive:
                raise RaceBusyError(f"the race {self._race.name} is running; stop it on the Race page or wait for "
                                    "it to end")
            if (active := slot.busy()) is not None:
                raise JobBusyError(busy_message(active))
            folder = self.studies_dir / name
            if (taken := name_taken(self.studies_dir, name)) is not None:
                raise ValueError(taken)
            train_docs, eval_docs, notes = race_documents(self.workspace, plan)
            record = RaceRecord(name=name, plan=plan, entries=plan.entries(), started=now_text(),
                                train_documents=len(train_docs), eval_documents=len(eval_docs))
            self._race = Race(self.workspace, slot, folder, record, train_docs, eval_docs).start()
            return self._race, notes

    def stop(self, name: str) -> None:
        """Stop the race ``name``; RaceBusyError when it is not the one running here (a stale tab)."""
        race = self.live()
        if race is None or race.name != name:
            raise RaceBusyError(f"the race {name} is not running on this server any more; nothing to stop")
        race.stop()

    def record(self, name: str) -> RaceRecord:
        """The race ``name`` as it stands (in memory for the live one; else its race.json). A race.json that says
        "running" of a race this server does not run (copied in, restored, edited since the server started) reads
        as interrupted: a probe's showed "running" with a Stop that could not stop it, until a restart."""
        race = self.current()
        if race is not None and race.name == name:
            return race.record
        record = load_record(self.studies_dir / name)
        if record.is_live:
            entries = [entry if entry.status != "running" else replace(entry, status="interrupted")
                       for entry in record.entries]
            record = replace(record, status="interrupted", entries=tuple(entries),
                             error="its race.json says it is running, but this server does not run it")
        return record

    def has_study(self, name: str) -> bool:
        """Whether the race's study files exist (written when it ended with at least one result)."""
        return (self.studies_dir / name / STUDY_FILE).is_file()


def default_race_name(kind: str = "race") -> str:
    """``race-20261201-140512`` (UTC), a fresh folder name for a race or a study started now."""
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
