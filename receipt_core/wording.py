"""Wording of the messages users read: counts that agree (``counted(3, "receipt")`` is "3 receipts", never
"3 receipt(s)"), and a message from the core (lower case, for the middle of a CLI line) begun as a sentence."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun that agrees with it (``plural`` defaults to ``singular`` + "s")."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def as_sentence(message: str) -> str:
    """``message`` with its first letter in upper case (the rest as it is: it may quote names)."""
    return message[:1].upper() + message[1:]
