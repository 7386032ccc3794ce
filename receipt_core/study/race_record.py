"""A study run from the dashboard, as it stands: its plan, each run's place in it, and the file that keeps them.

A *race* is a scenario study whose configurations train one after another through the server's job slot, each
as a workspace run (so it is watched live, paused and stopped like any run): the Race page's scenario race and a
study started from Runs → Studies are both races. Its state lives in ``<workspace>/studies/<name>/race.json``,
rewritten after every change, so a reloaded page, a second tab and a restarted server all read it there. When
the last run ends, the study's own files (``study.json``, ``report.md``, ``report.html``,
:func:`receipt_core.study.files.write_study`) are written into the same folder, and the Studies tab opens it like
any study.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..data.files import atomic_write, portable_name_problem
from ..datasets.bounded_json import BoundedJSONError, loads_bounded
from ..workspace.database import WorkspaceError
from ..workspace.names import check_dataset_name, refused_characters
from .result import ConfigSummary, RunResult, StudyResult
from .settings import StudyConfig, StudySettings
from .view import run_from_json

RACE_FILE = "race.json"
RACE_FORMAT = "receipt-mtl/race"
RACE_VERSION = 1
DEFAULT_RACE_SCENARIOS = ("freeze-backbone", "phased", "full")
"""The race's default line-up: the cheap scenario, the gradual one and the expensive one (the design's argument)."""
MAX_RACE_FILE_CHARS = 64 * 1024 * 1024  # as a study.json (files.MAX_STUDY_FILE_BYTES); a race is well under 1 MB
MAX_RACE_FILE_DEPTH = 32  # race.json nests about 7 levels deep
MAX_RUN_ID = 64  # an entry's run id: the workspace's are 22 characters (20261203-223135-ff99ab)
MAX_ALSO_TRAIN = 100  # datasets a race's "Also train on" may add (a hand-edited race.json named 20,000)
RACE_KINDS = ("race", "study")  # which page started it: the Race page, or Runs → Studies
ENTRY_STATUSES = ("waiting", "running", "finished", "stopped", "failed", "skipped", "interrupted")
RACE_STATUSES = ("running", "finished", "stopped", "failed", "interrupted")
MAX_NAME = 80


class RaceFileError(ValueError):
    """A race folder whose race.json cannot be read; the message says which file and what is wrong, ``folder``
    which race folder (its name) when known."""

    def __init__(self, message: str, folder: str = "") -> None:
        super().__init__(message)
        self.folder = folder


def check_race_name(name: str) -> str:
    """``name`` if it can name a study folder (1–80 letters, digits, single spaces, ``-``, ``_``, ``.``; not starting
    with ``.`` nor starting or ending with a space: the rule of a dataset's name, which a walkthrough found took
    spaces where a race's name did not), else ValueError saying what to change."""
    if not name:
        raise ValueError("the study needs a folder name, such as 'race-1' or 'cord-scenarios'")
    if len(name) > MAX_NAME:
        raise ValueError(f"the folder name is {len(name)} characters long; at most {MAX_NAME} are allowed")
    if (refused := refused_characters(name, "the folder name")) is not None:
        raise ValueError(refused)
    if name.startswith(".") or name != name.strip():
        raise ValueError(f"the folder name {name!r} must not start with '.' nor start or end with a space")
    if "  " in name:  # a page shows two spaces as one, the name quoted here too: say where they are (a probe)
        raise ValueError(f"the folder name {name!r} holds two spaces in a row, after "
                         f"{name[:name.index('  ')]!r}, which show as one; use one")
    if (problem := portable_name_problem(name)) is not None:
        raise ValueError(f"the folder name {name!r} cannot name a folder everywhere: {problem}; choose another")
    return name


def now_text() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class RacePlan:
    """What a race trains: its configurations (each ``settings.repeats`` times), the settings they share, and its
    data by dataset name (``eval_data`` None: the last ``hold_out`` share of the training datasets). Other
    datasets in ``also_train`` join the training dataset's receipts, as the Train page's "Also train on" does."""

    configs: tuple[StudyConfig, ...]
    settings: StudySettings
    train_data: str
    eval_data: str | None = None
    hold_out: float = 0.25
    kind: str = "race"
    also_train: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "configs", tuple(self.configs))
        if isinstance(self.also_train, (str, bytes)) or not isinstance(self.also_train, (list, tuple)):
            # a hand-edited "also_train": "wild-dev" was read as seven datasets, w, i, l… (a probe)
            raise ValueError(f"also_train must be a list of dataset names, got {type(self.also_train).__name__}")
        object.__setattr__(self, "also_train", tuple(self.also_train))
        if len(self.also_train) > MAX_ALSO_TRAIN:
            raise ValueError(f"also_train names {len(self.also_train):,} datasets; at most {MAX_ALSO_TRAIN} join one")
        for name in self.also_train:
            try:
                check_dataset_name(name)
            except WorkspaceError as error:
                raise ValueError(f"also_train: {error}") from None
        if self.train_data in self.also_train or len(set(self.also_train)) != len(self.also_train):
            raise ValueError(f"each training dataset is named once: {', '.join(self.training_datasets)}")
        if not self.configs:
            raise ValueError("choose at least one configuration to train")
        if len(set(self.configs)) != len(self.configs):
            raise ValueError(f"configurations repeat: {', '.join(c.name for c in self.configs)}")
        if self.kind not in RACE_KINDS:
            raise ValueError(f"a race is started from {' or '.join(RACE_KINDS)}, not {self.kind!r}")
        if not 0 < self.hold_out < 1:
            raise ValueError(f"the held-out share must be between 0 and 1, got {self.hold_out}")

    @property
    def training_datasets(self) -> tuple[str, ...]:
        return (self.train_data, *self.also_train)

    @property
    def training_label(self) -> str:
        """The training data as the race's report names it: "A" or "A + B"."""
        return " + ".join(self.training_datasets)

    def entries(self) -> tuple["RaceEntry", ...]:
        """Every run of the race in order, waiting: each configuration with seeds ``seed``, ``seed + 1`` …"""
        return tuple(RaceEntry(config, self.settings.seed + repeat)
                     for config in self.configs for repeat in range(self.settings.repeats))

    def to_json(self) -> dict[str, Any]:
        return {"configs": [{"backbone": c.backbone, "scenario": c.scenario} for c in self.configs],
                "settings": self.settings.to_json(),
                "train_data": self.train_data, "eval_data": self.eval_data, "hold_out": self.hold_out,
                "kind": self.kind, "also_train": list(self.also_train)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RacePlan":
        stored = dict(data["settings"])
        given = stored.get("given", data.get("given", ()))  # races of 12-02 kept it beside the settings
        settings = StudySettings(**{**stored, "freeze": tuple(stored.get("freeze", ())), "given": tuple(given)})
        return cls(configs=tuple(StudyConfig(str(c["backbone"]), str(c["scenario"])) for c in data["configs"]),
                   settings=settings, train_data=str(data["train_data"]), eval_data=data.get("eval_data"),
                   hold_out=float(data.get("hold_out", 0.25)), kind=str(data.get("kind", "race")),
                   also_train=data.get("also_train", ()))  # races before 12-05 trained on one dataset


@dataclass(frozen=True)
class RaceEntry:
    """One run of the race: its configuration and seed, its workspace run once started, and how it ended."""

    config: StudyConfig
    seed: int
    status: str = "waiting"  # ENTRY_STATUSES
    run_id: str | None = None
    result: RunResult | None = None  # a run that finished or was stopped: what the study keeps of it
    error: str | None = None  # a failed run's message, or why it was skipped

    @property
    def name(self) -> str:
        return self.config.name

    def to_json(self) -> dict[str, Any]:
        return {"backbone": self.config.backbone, "scenario": self.config.scenario, "seed": self.seed,
                "status": self.status, "run_id": self.run_id, "error": self.error,
                "result": None if self.result is None else self.result.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RaceEntry":
        """Back from ``to_json``; ValueError naming the entry's field that is not what a race writes (a probe's
        hand-edited ``run_id: [1, 2]`` or ``result: "oops"`` crashed the Race page)."""
        config = StudyConfig(str(data["backbone"]), str(data["scenario"]))
        result, run_id, error = data.get("result"), data.get("run_id"), data.get("error")
        if not (run_id is None or (isinstance(run_id, str) and len(run_id) <= MAX_RUN_ID)):
            raise ValueError(f"an entry's run_id must be a run id or null, got {str(run_id)[:40]!r}")
        if not (error is None or isinstance(error, str)):
            raise ValueError("an entry's error must be text or null")
        if not (result is None or isinstance(result, Mapping)):
            raise ValueError("an entry's result must be an object or null")
        if data["status"] not in ENTRY_STATUSES:
            raise ValueError(f"an entry's status must be one of {', '.join(ENTRY_STATUSES)}")
        return cls(config=config, seed=int(data["seed"]), status=str(data["status"]), run_id=run_id,
                   result=None if result is None else run_from_json(config, result), error=error)


@dataclass(frozen=True)
class RaceRecord:
    """A race as it stands (what race.json holds)."""

    name: str  # its folder's name under the studies folder
    plan: RacePlan
    entries: tuple[RaceEntry, ...]
    status: str = "running"  # RACE_STATUSES
    started: str = ""
    finished: str = ""
    error: str | None = None  # why the race as a whole ended early
    train_documents: int = 0
    eval_documents: int = 0

    @property
    def is_live(self) -> bool:
        return self.status == "running"

    @property
    def current(self) -> RaceEntry | None:
        """The entry training now (None between runs and after the race)."""
        return next((e for e in self.entries if e.status == "running"), None)

    @property
    def done(self) -> int:
        """Entries that have ended (finished, stopped, failed, skipped or interrupted)."""
        return sum(e.status not in ("waiting", "running") for e in self.entries)

    def with_entry(self, index: int, **changes: Any) -> "RaceRecord":
        entries = list(self.entries)
        entries[index] = replace(entries[index], **changes)
        return replace(self, entries=tuple(entries))

    def study(self) -> StudyResult:
        """The runs that ended with a result, as a study (what the study's reading, table and figures read);
        the failed and skipped ones as its notes."""
        summaries = tuple(ConfigSummary(config, tuple(e.result for e in self.entries
                                                      if e.config == config and e.result is not None))
                          for config in self.plan.configs)
        notes = tuple(f"{e.name} (seed {e.seed}) {e.status}: {e.error}" for e in self.entries
                      if e.status in ("failed", "skipped", "interrupted") and e.error)
        eval_data = self.plan.eval_data or f"{self.plan.hold_out:.0%} held out of {self.plan.training_label}"
        return StudyResult(settings=self.plan.settings, summaries=summaries, train_data=self.plan.training_label,
                           eval_data=eval_data, train_documents=self.train_documents,
                           eval_documents=self.eval_documents, started=self.started, finished=self.finished,
                           notes=notes)

    def to_json(self) -> dict[str, Any]:
        return {"format": RACE_FORMAT, "version": RACE_VERSION, "name": self.name, "plan": self.plan.to_json(),
                "status": self.status, "started": self.started, "finished": self.finished, "error": self.error,
                "train_documents": self.train_documents, "eval_documents": self.eval_documents,
                "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RaceRecord":
        plan = RacePlan.from_json(data["plan"])
        entries = tuple(RaceEntry.from_json(e) for e in data["entries"])
        strays = sorted(c.name for c in {e.config for e in entries} - set(plan.configs))
        if strays:  # the board colours each run by its configuration (a probe's edited entry crashed it)
            raise ValueError(f"entries of configurations the plan does not hold: {', '.join(strays)}")
        if data["status"] not in RACE_STATUSES:
            raise ValueError(f"the status must be one of {', '.join(RACE_STATUSES)}")
        if not (data.get("error") is None or isinstance(data.get("error"), str)):
            raise ValueError("the error must be text or null")
        return cls(name=str(data["name"]), plan=plan, entries=entries, status=str(data["status"]),
                   started=str(data.get("started", "")), finished=str(data.get("finished", "")),
                   error=data.get("error"), train_documents=int(data.get("train_documents", 0)),
                   eval_documents=int(data.get("eval_documents", 0)))


def write_record(folder: Path, record: RaceRecord) -> None:
    """``folder/race.json``, replaced whole (``files.atomic_write``: a reader never sees half a file, and the text
    goes to a new file of a fresh name, so a probe's ``race.json.tmp``, planted as a link to a file outside the
    workspace, is never written through, as the fixed name was)."""
    atomic_write(Path(folder) / RACE_FILE, json.dumps(record.to_json(), indent=1, ensure_ascii=False).encode("utf-8"))


def load_record(folder: Path) -> RaceRecord:
    """The race in ``folder``; :class:`RaceFileError` when its race.json is missing, damaged or from a newer
    version."""
    path = Path(folder) / RACE_FILE
    if os.path.lexists(path) and not path.is_file():  # a FIFO or a device would block the read (a probe)
        raise RaceFileError(f"{path} is not a regular file")
    try:
        if path.stat().st_size > MAX_RACE_FILE_CHARS:
            raise RaceFileError(f"{path} is {path.stat().st_size:,} bytes, over the limit of "
                                f"{MAX_RACE_FILE_CHARS:,} for a race file")
        data = loads_bounded(path.read_text(encoding="utf-8"), MAX_RACE_FILE_CHARS, MAX_RACE_FILE_DEPTH)
    except FileNotFoundError:
        raise RaceFileError(f"{path} does not exist: {Path(folder).name} was not started from the dashboard") from None
    except (OSError, UnicodeDecodeError, BoundedJSONError) as error:  # 100,000 nested [ broke every page (a probe)
        raise RaceFileError(f"cannot read {path}: {error}") from None
    if not isinstance(data, Mapping) or data.get("format") != RACE_FORMAT:
        raise RaceFileError(f"{path} is not a race file (its format is not {RACE_FORMAT!r})")
    if data.get("version") != RACE_VERSION:
        raise RaceFileError(f"{path} is race format version {data.get('version')!r}; this project reads "
                            f"version {RACE_VERSION}")
    try:
        record = RaceRecord.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:  # "seed": 1e999 (a probe)
        raise RaceFileError(f"{path} is damaged ({error or type(error).__name__}); start the race again") from None
    # a race is the folder it is in: the name inside race.json was where an update went, so a copied folder
    # overwrote the original race, and a hand-edited one ("/tmp/x", "../../x") wrote outside the workspace (a probe)
    return replace(record, name=Path(folder).name)


def find_races(studies_dir: Path, kind: str | None = None) -> list[RaceRecord]:
    """The races under ``studies_dir`` (of ``kind`` when given), newest first; unreadable ones are left out
    (:func:`unreadable_races` names them)."""
    found = [read for read in _read_races(studies_dir) if isinstance(read, RaceRecord)]
    found = [record for record in found if kind is None or record.plan.kind == kind]
    return sorted(found, key=lambda r: (r.started, r.name), reverse=True)


def unreadable_races(studies_dir: Path) -> list[tuple[str, str]]:
    """(folder name, what is wrong) for each folder under ``studies_dir`` whose race.json cannot be read: a race
    left out of :func:`find_races` without a word vanished from the Race page (a probe)."""
    return sorted((read.folder, str(read)) for read in _read_races(studies_dir) if isinstance(read, RaceFileError))


def _read_races(studies_dir: Path) -> list[RaceRecord | RaceFileError]:
    folder = Path(studies_dir)
    if not folder.is_dir():
        return []
    read: list[RaceRecord | RaceFileError] = []
    for child in folder.iterdir():
        if not os.path.lexists(child / RACE_FILE):  # (a FIFO or a link to a device: load_record says so)
            continue
        if child.is_symlink():  # a race is written back where it was read: through a link, into another race's
            # folder or out of the workspace
            read.append(RaceFileError(f"{child} is a link; a race folder must be a folder of its own",
                                      folder=child.name))
        else:
            try:
                read.append(load_record(child))
            except RaceFileError as error:
                read.append(RaceFileError(str(error), folder=child.name))
    return read
