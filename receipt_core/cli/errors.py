"""The CLI's own error: a failure the user can fix, which ``main`` prints as one ``error: <message>`` line (exit 2).
Its own module, so that the command modules and the argument helpers raise it without importing the router."""

from __future__ import annotations


class CommandError(Exception):
    """A failure the user can fix; its message is printed as ``error: <message>``."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, ``timeout``), which stops a command as Ctrl-C does, said as itself."""


def stopped_by(signalled: BaseException) -> str:
    """How a command's stop is said: "terminated (SIGTERM)" for ``kill``, else "interrupted" (Ctrl-C)."""
    return "terminated (SIGTERM)" if isinstance(signalled, Terminated) else "interrupted"
