"""What the pages list of the workspace's receipts without parsing them: a receipt's and a dataset's summary, a
receipt's title as every page names it, and the summary columns of a document row read back safely (they are
recomputed on every write, but a hand-edited cell must not break a listing)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class DocumentSummary:
    id: str
    dataset: str
    words: int
    width: int
    height: int
    image_sha256: str | None
    source: str  # where it came from: an upload's file name, "cord:json/receipt_00001.json", …
    label_counts: Mapping[str, int]
    status: str = "unlabelled"  # one of receipt_core.data.review.STATUSES
    labelled_words: int = 0
    suggested_words: int = 0  # words with a model suggestion waiting

    @property
    def title(self) -> str:
        """What a picker shows (:func:`receipt_title`)."""
        return receipt_title(self.id, self.source)


def receipt_title(doc_id: str, source: str | None) -> str:
    """How every page names a receipt: the source's file name (an upload's) and the id, or the id alone when the
    file name is in it. The whole source went first: a 280-pixel picker showed "cord:json/receipt_00000.json ·
    cord-sam" and "wildreceipt:image_files/Image_28/14/3…", never the id (a walkthrough).

    An import's source is a path (``cord:json/receipt_00000.json``): its last part is the name. An upload's is the
    name the browser sent, shown whole: a probe's ``[x](https://e) **b**.png`` was cut at its ``/`` to
    ``e) **b**.png``. The name is left out only when it is a whole part of the id (``receipt_00000`` of
    ``cord-sample-receipt_00000``): a test for any substring hid ``c.png`` because ``c`` occurs in a hex id."""
    source = source or ""
    imported = _IMPORTED_SOURCE.match(source)
    name = PurePosixPath(source[imported.end():].replace("\\", "/")).name if imported else source.strip()
    stem = PurePosixPath(name).stem if imported else name.rsplit(".", 1)[0]
    whole_part = rf"(?<![0-9A-Za-z]){re.escape(stem)}(?![0-9A-Za-z])"
    if not name or name == doc_id or not stem or re.search(whole_part, doc_id):
        return doc_id
    return f"{name} · {doc_id}"


_IMPORTED_SOURCE = re.compile(r"^(cord|wildreceipt|label-studio|native):")


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    documents: int
    words: int
    label_counts: Mapping[str, int]
    status_counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # every status, 0 too


def stored_label_counts(raw) -> dict[str, int]:
    """A row's ``label_counts`` column, a summary every write recomputes from the receipt's words; {} when it is
    not a JSON object of counts (edited by hand). A probe set one row's cell to ``{oops``: the JSON error broke
    every page's sidebar and every CLI command that lists datasets, naming neither the receipt nor a fix. The
    receipt itself is read from its ``json`` column, which is checked where it is loaded."""
    try:
        counts = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except ValueError:
        counts = None
    if not isinstance(counts, dict):
        return {}
    return {str(label): n for label, n in counts.items() if isinstance(n, int) and not isinstance(n, bool) and n >= 0}


def stored_count(raw) -> int:
    """A row's word count column (``words``, ``labelled_words``, ``suggested_words``); 0 when edited into
    something that is not a count."""
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0
