"""Counts in the messages users read: ``counted(1, "receipt")`` is "1 receipt", ``counted(3, "receipt")`` is
"3 receipts", never "3 receipt(s)"."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun that agrees with it (``plural`` defaults to ``singular`` + "s")."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
