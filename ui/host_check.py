"""The Host allowlist in front of the Streamlit server: a request must name this machine, not a stranger's domain.

A page on ``rebind.evil.example`` whose DNS answer flips to 127.0.0.1 (DNS rebinding) reaches a loopback-only
server from the visitor's browser, but its requests still carry ``Host: rebind.evil.example``. Starlette's
``TrustedHostMiddleware`` decides, for every request and WebSocket handshake, whether its Host is on the list;
:class:`ForbiddenHostMiddleware` answers a refusal with HTTP 403 Forbidden (Starlette's own answer is 400) before
Streamlit sees the request. app.py installs it through ``st.App``.

Allowed: ``localhost``, ``127.0.0.1``, ``[::1]`` (any port), plus the names in ``$RECEIPT_STUDIO_ALLOWED_HOSTS``
(comma-separated, e.g. ``demo.example.lan,*.corp.example``): the name a reverse proxy forwards, or the machine's
address when it serves a LAN.

A page served from another port of this machine (a notebook, another dev server) is a different origin with the
same host name, and browsers send it this server's cookies, XSRF cookie included. :class:`LoopbackOriginMiddleware`
refuses (403) a request or WebSocket handshake whose ``Origin`` is a loopback address on another port than the one
the request came to, so such a page cannot open the app's live connection or upload to it.
"""

from __future__ import annotations

import os
import re
from typing import Mapping
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "RECEIPT_STUDIO_ALLOWED_HOSTS"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")  # as urlsplit gives the host name (no brackets)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
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


class ForbiddenHostMiddleware:
    """Starlette's ``TrustedHostMiddleware`` with 403 Forbidden instead of 400 for a Host that is not allowed.

    The host check stays Starlette's: a fresh ``TrustedHostMiddleware`` per request wraps a marker app, and only a
    response it sent without reaching the marker (a refusal) has its status changed."""

    def __init__(self, app, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope, receive, send) -> None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        passed = False

        async def allowed(scope, receive, send) -> None:
            nonlocal passed
            passed = True
            await self.app(scope, receive, send)

        async def forbid(message) -> None:
            if not passed and message["type"] in ("http.response.start", "websocket.http.response.start"):
                message = {**message, "status": 403}
            await send(message)

        await TrustedHostMiddleware(allowed, allowed_hosts=self.allowed_hosts, www_redirect=False)(scope, receive,
                                                                                                   forbid)


def loopback_origin_allowed(origin: str | None, host: str | None) -> bool:
    """False when ``origin`` (the request's Origin header) is a loopback address on another port than ``host``
    (its Host header) names, or names a loopback origin while ``host`` is not one; True otherwise (no Origin,
    ``null``, or a non-loopback Origin, which Streamlit's own origin check and the Host allowlist judge)."""
    if not origin or origin == "null":
        return True
    try:
        parsed = urlsplit(origin)
        origin_port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme)
    except ValueError:
        return False
    if (parsed.hostname or "").lower() not in _LOOPBACK_NAMES:
        return True
    try:
        requested = urlsplit(f"//{host or ''}")
        host_name, host_port = (requested.hostname or "").lower(), requested.port
    except ValueError:
        return False
    return host_name in _LOOPBACK_NAMES and origin_port == (host_port or _DEFAULT_PORTS.get(parsed.scheme))


class LoopbackOriginMiddleware:
    """403 Forbidden for a request or WebSocket handshake from a page on another loopback port
    (:func:`loopback_origin_allowed`)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            from starlette.datastructures import Headers

            headers = Headers(scope=scope)
            if not loopback_origin_allowed(headers.get("origin"), headers.get("host")):
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("Forbidden: this page's origin is another port of this machine",
                                        status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_middleware(environ: Mapping[str, str] | None = None) -> list:
    """The middleware list for ``st.App``: the Host allowlist over :func:`allowed_hosts`, the loopback origin
    check, and the refusal to be framed by another site (:mod:`ui.frame_guard`)."""
    from starlette.middleware import Middleware

    from ui.frame_guard import FrameGuardMiddleware

    return [Middleware(ForbiddenHostMiddleware, allowed_hosts=allowed_hosts(environ)),
            Middleware(LoopbackOriginMiddleware), Middleware(FrameGuardMiddleware)]
