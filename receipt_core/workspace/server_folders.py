"""The folders the dashboard may read when a user types a server path (Data → Import, Train's LayoutLM folder).

Anyone who reaches the app can type a path, so a typed path is checked against a short list of folders before the
file system is asked anything about it: a path outside them gets the same refusal whether it exists or not, and
symlinks are followed before the check, so a link inside a folder cannot point out of it. The CLI is the user's
own shell and reads any path it is given.

The folders are ``RECEIPT_STUDIO_SERVER_FOLDERS`` (separated by ``os.pathsep``) when it is set; otherwise the
workspace, this checkout's ``assets/`` and the shared data folder beside the checkout (``../shared/data``) when it
is there. The workspace's OCR cache is never among them: it holds what every OCR'd receipt said, and a probe
imported it as a dataset, deleted receipts and all.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..data.files import why_no_file_name
from .database import OCR_CACHE_FOLDER

SERVER_FOLDERS_ENV = "RECEIPT_STUDIO_SERVER_FOLDERS"
MAX_ENTRIES_CHECKED = 10_000  # a checkpoint folder holds a few files; a folder of millions is not walked
_CHECKOUT = Path(__file__).resolve().parents[2]


class OutsideServerFoldersError(ValueError):
    """A typed path that resolves outside every folder the dashboard reads from."""


@dataclass(frozen=True)
class ServerFolders:
    roots: tuple[Path, ...]  # resolved folders; a typed path must resolve inside one of them
    withheld: tuple[Path, ...] = ()  # resolved folders inside them that a typed path must not reach
    # the shared data folder looked for beside the checkout and not found: a walkthrough's checkout elsewhere lost
    # it from the list with no word why, while the README promised it
    absent_shared: Path | None = None
    # where a relative path is read from first: the workspace (walkthrough 52 typed runs/<id>/backbone, inside it,
    # and was refused: the path was read from the server's start folder); then the server's start folder
    base: Path | None = None

    @classmethod
    def for_workspace(cls, home: Path, environ: Mapping[str, str] = os.environ) -> "ServerFolders":
        listed = environ.get(SERVER_FOLDERS_ENV, "")
        if listed.strip():
            roots = [Path(part.strip()).expanduser() for part in listed.split(os.pathsep) if part.strip()]
        else:
            shared = _CHECKOUT.parent / "shared" / "data"
            roots = [Path(home), _CHECKOUT / "assets", *([shared] if shared.is_dir() else [])]
            absent = None if shared.is_dir() else shared
        return cls(tuple(dict.fromkeys(root.resolve() for root in roots)),
                   withheld=((Path(home) / OCR_CACHE_FOLDER).resolve(),),
                   absent_shared=None if listed.strip() else absent, base=Path(home).resolve())

    def resolve(self, typed: str, zip_upload: bool = False) -> Path:
        """``typed`` (absolute, ``~``, or relative: to the workspace, else to the server's working folder, whichever
        holds it) as a resolved path inside one of the folders; :class:`OutsideServerFoldersError` otherwise, before
        anything is read. The refusal names the path as read (not where its links lead), and, with ``zip_upload``
        (a page that takes a zip), that a zip can be uploaded instead."""
        text = typed.strip()
        if not text:
            raise OutsideServerFoldersError("type the path of a folder or file on the server")
        if (why := why_no_file_name(text)) is not None:
            raise OutsideServerFoldersError(f"that path cannot name a file: {why}")
        candidates = self._candidates(text)
        paths, looped = [], None
        for candidate in candidates:
            try:
                paths.append(candidate.resolve())
            except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a name too long
                looped = looped or (candidate if "loop" in str(error).lower() and self._link_inside(candidate)
                                    else None)
        if any(path.is_relative_to(folder) for path in paths[:1] for folder in self.withheld):
            raise OutsideServerFoldersError(
                "that is the workspace's OCR cache, which the dashboard does not read: import the receipts' "
                "images (or their dataset's files) instead")
        inside = [path for path in paths if self._inside(path)]
        if looped is not None and not any(path.exists() for path in inside):
            # said as it is: a link inside the workspace that loops read "is outside the folders …" (probe 68)
            raise OutsideServerFoldersError(f"{os.path.normpath(looped)} is a symbolic link that loops (its links "
                                            "lead back to themselves): point it at a real folder or file")
        if inside:  # the first that is there (checked only inside the folders), else the first
            return next((path for path in inside if path.exists()), inside[0])
        shown = os.path.normpath(candidates[0]) if candidates else text
        raise OutsideServerFoldersError(
            f"{shown} is outside the folders the dashboard reads ({self.listing()}): put it "
            f"there{' (or upload it as a zip)' if zip_upload else ''}, or start the app with {SERVER_FOLDERS_ENV} "
            f"naming the folders it may read (separated by {os.pathsep!r}); the command line reads any path")

    def _link_inside(self, link: Path) -> bool:
        """Whether the link ``link`` itself (its folder resolved, not where it leads) is inside the folders: only
        there is its loop said, and a path outside is refused in the one message that tells nothing of it."""
        try:
            return self._inside(link.parent.resolve() / link.name)
        except (OSError, RuntimeError, ValueError):
            return False

    def _candidates(self, text: str) -> list[Path]:
        """Where ``text`` may point: itself when absolute (``~`` expanded), else under the workspace, then under the
        server's working folder; [] for an unknown ``~user``."""
        try:
            path = Path(text).expanduser()
        except RuntimeError:  # ~nobody-x: no such user
            return []
        if path.is_absolute():
            return [path]
        return [base / path for base in dict.fromkeys(b for b in (self.base, Path.cwd()) if b is not None)]

    def folder_inside(self, typed: str) -> Path:
        """:meth:`resolve` for a folder whose files are read (Train's LayoutLM folder): also refused when one of its
        entries is a link leading outside the folders the dashboard reads. A probe's ``config.json`` linked to a file
        outside them was read, and a value from it shown in the refusal ("holds a 'SECRET-…' checkpoint")."""
        folder = self.resolve(typed)
        if folder.is_dir():
            for entry in itertools.islice(folder.iterdir(), MAX_ENTRIES_CHECKED):
                try:
                    target = entry.resolve()
                except (OSError, RuntimeError):  # a link loop
                    target = None
                if entry.is_symlink() and (target is None or not self._inside(target)):
                    raise OutsideServerFoldersError(
                        f"{entry.name!r} in that folder is a link leading outside the folders the dashboard reads "
                        f"({self.listing()}): copy the file itself into the folder")
        return folder

    def _inside(self, path: Path) -> bool:
        return (any(path.is_relative_to(root) for root in self.roots)
                and not any(path.is_relative_to(folder) for folder in self.withheld))

    def listing(self) -> str:
        return ", ".join(str(root) for root in self.roots)
