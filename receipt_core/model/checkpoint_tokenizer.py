"""A checkpoint's tokenizer, read from a private copy of the files its run.json lists (and ``verify_files`` has
hashed), never from a path one of them names.

``AutoTokenizer.from_pretrained`` reads whatever file a ``tokenizer_config.json`` names under a ``*_file`` key, in
preference to the folder's own: a probe's re-signed checkpoint named ``/dev/zero`` (4.5 GB, then "out of memory"),
a FIFO (a process that ignored SIGTERM) and a file outside the run folder, which loaded a tokenizer no hash had
checked. It also reads files the manifest does not list (``added_tokens.json``). So the tokenizer is built from a
temporary folder holding only the listed files, a config that names files is refused, and any failure to parse
them is a ``CheckpointError`` naming the folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

from ..data.files import read_regular_file
from ..datasets.bounded_json import BoundedJSONError, loads_bounded
from .run_manifest import CheckpointError

# what a checkpoint's tokenizer folder holds (save_pretrained writes them); read only when run.json lists none of
# them (a checkpoint from before the tokenizer's files were hashed)
TOKENIZER_FILE_NAMES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                        "added_tokens.json")
MAX_TOKENIZER_FILE_BYTES = 64 * 1024 * 1024
MAX_CONFIG_DEPTH = 64  # a tokenizer_config.json nests a few levels


def load_checkpoint_tokenizer(folder: Path, listed: Iterable[str]):
    """The fast tokenizer in a checkpoint's tokenizer ``folder``, built from the files of it that ``listed`` names
    (run.json's ``files`` within the folder); CheckpointError when its config names other files or the files
    cannot be read as a tokenizer."""
    from transformers import AutoTokenizer

    names = list(listed) or [name for name in TOKENIZER_FILE_NAMES if (folder / name).exists()]
    if "tokenizer.json" not in names:
        raise CheckpointError(f"{folder / 'tokenizer.json'} is missing; the checkpoint cannot tokenize text")
    with tempfile.TemporaryDirectory(prefix="receipt-tokenizer-") as private:
        for name in names:
            try:
                data = read_regular_file(folder / name, MAX_TOKENIZER_FILE_BYTES)
            except OSError as error:
                raise CheckpointError(f"{folder / name} {error.strerror or error}; restore the run folder from a "
                                      "copy") from None
            if name == "tokenizer_config.json":
                _refuse_named_files(folder / name, data)
            (Path(private) / name).write_bytes(data)
        try:
            tokenizer = AutoTokenizer.from_pretrained(private, local_files_only=True, use_fast=True,
                                                      trust_remote_code=False)
        except Exception as error:  # noqa: BLE001 - any parse failure of the folder's files is the checkpoint's
            message = " ".join(str(error).replace(private, str(folder)).split())[:200]
            raise CheckpointError(f"{folder} holds a tokenizer that cannot be built ({type(error).__name__}: "
                                  f"{message}): the folder was changed or comes from another model; restore the "
                                  "run folder from a copy") from None
    if not getattr(tokenizer, "is_fast", False):
        raise CheckpointError(f"{folder} holds no fast tokenizer; word alignment needs one")
    return tokenizer


def _refuse_named_files(path: Path, data: bytes) -> None:
    """CheckpointError when a tokenizer_config.json names a file to read (``tokenizer_file``, ``vocab_file``, …)."""
    try:  # bounded in depth too: a deeply nested forgery raised RecursionError, not a ValueError
        config = loads_bounded(data.decode("utf-8"), MAX_TOKENIZER_FILE_BYTES, MAX_CONFIG_DEPTH)
    except (UnicodeDecodeError, BoundedJSONError) as error:
        raise CheckpointError(f"{path} is not a JSON object ({error}); restore the run folder from a copy") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is not a JSON object; restore the run folder from a copy")
    named = sorted(key for key, value in config.items() if key.endswith(("_file", "_files")) and value is not None)
    if named:
        raise CheckpointError(f"{path} names files to read ({', '.join(named[:3])}); a checkpoint's tokenizer is read "
                              "only from its own folder, so this one was changed: restore the run folder from a copy")

