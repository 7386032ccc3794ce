"""The Host allowlist in front of the Streamlit server: a request must name this machine, not a stranger's domain.

A page on ``rebind.evil.example`` whose DNS answer flips to 127.0.0.1 (DNS rebinding) reaches a loopback-only
server from the visitor's browser, but its requests still carry ``Host: rebind.evil.example``. Starlette's
``TrustedHostMiddleware`` answers every request and WebSocket handshake whose Host is not on the list with
HTTP 400 ("Invalid host header"), before Streamlit sees it. app.py installs it through ``st.App``.

Allowed: ``localhost``, ``127.0.0.1``, ``[::1]`` (any port), plus the names in ``$RECEIPT_STUDIO_ALLOWED_HOSTS``
(comma-separated, e.g. ``demo.example.lan,*.corp.example``): the name a reverse proxy forwards, or the machine's
address when it serves a LAN.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

ALLOWED_HOSTS_ENV = "RECEIPT_STUDIO_ALLOWED_HOSTS"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST_NAME = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def allowed_hosts(environ: Mapping[str, str] | None = None) -> list[str]:
    """The loopback names plus ``$RECEIPT_STUDIO_ALLOWED_HOSTS``; ValueError names an entry that is not a host."""
    environ = os.environ if environ is None else environ
    hosts = list(LOOPBACK_HOSTS)
    for entry in (environ.get(ALLOWED_HOSTS_ENV) or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*" or not _HOST_NAME.match(entry):
            raise ValueError(f"{ALLOWED_HOSTS_ENV}: {entry!r} is not a host name (write names such as "
                             f"demo.example.lan or *.example.lan, without port or scheme; '*' is not allowed)")
        if entry not in hosts:
            hosts.append(entry)
    return hosts


def host_middleware(environ: Mapping[str, str] | None = None) -> list:
    """The middleware list for ``st.App``: Starlette's TrustedHostMiddleware over :func:`allowed_hosts`."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    return [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(environ), www_redirect=False)]
