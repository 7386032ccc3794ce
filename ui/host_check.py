"""The Host allowlist in front of the Streamlit server: a request must name this machine, not a stranger's domain.

A page on ``rebind.evil.example`` whose DNS answer flips to 127.0.0.1 (DNS rebinding) reaches a loopback-only
server from the visitor's browser, but its requests still carry ``Host: rebind.evil.example``. Starlette's
``TrustedHostMiddleware`` decides, for every request and WebSocket handshake, whether its Host is on the list;
:class:`ForbiddenHostMiddleware` answers a refusal with HTTP 403 Forbidden (Starlette's own answer is 400) before
Streamlit sees the request. app.py installs it through ``st.App``.

Allowed: ``localhost``, ``127.0.0.1``, ``[::1]`` (any port), plus the names in ``$RECEIPT_STUDIO_ALLOWED_HOSTS``
(comma-separated, e.g. ``demo.example.lan,*.corp.example``): the name a reverse proxy forwards, or the machine's
address when it serves a LAN.

A page served from another port of this machine (a notebook, another dev server), whether it is opened as
``localhost``, ``0.0.0.0`` or the machine's own address, is a different origin, and browsers send it this
server's cookies, XSRF cookie included (cookies ignore ports). :class:`SameOriginMiddleware` refuses (403) a
request or WebSocket handshake whose ``Origin`` is not the app's own, so such a page cannot open the app's live
connection or upload to it.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Sequence
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "RECEIPT_STUDIO_ALLOWED_HOSTS"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
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


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str] = ()) -> bool:
    """Whether a request whose ``Origin`` header is ``origin`` and whose ``Host`` header is ``host`` may reach the
    app: True without an Origin (not a browser page) or with ``null`` (Streamlit refuses those itself); else only
    when the Origin is the app's own (the host name and port the request came to; a missing port is the Origin
    scheme's default), or a name of ``allowed`` that is not a loopback name, on its scheme's default port (a
    reverse proxy that rewrites Host) or on any port when the Host it forwards names it without one (nginx's
    ``$host``). A page on another port of this machine — localhost, 0.0.0.0, the machine's
    own address — is another origin and is refused, as is any other site."""
    if not origin or origin == "null":
        return True
    try:
        parsed = urlsplit(origin)
        origin_name = (parsed.hostname or "").lower()
        origin_port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme)
        requested = urlsplit(f"//{host or ''}")
        host_name, host_port = (requested.hostname or "").lower(), requested.port
    except ValueError:
        return False
    if not origin_name or origin_port is None:
        return False
    if origin_name == host_name and origin_port == (host_port or _DEFAULT_PORTS.get(parsed.scheme)):
        return True
    configured = [name for name in allowed if name not in LOOPBACK_HOSTS]
    if origin_name == host_name and host_port is None and any(_matches(host_name, name) for name in configured):
        return True  # a proxy that forwards Host without its port (nginx's $host) on a port of its own
    if origin_port != _DEFAULT_PORTS.get(parsed.scheme):
        return False
    return any(_matches(origin_name, name) for name in configured)


def _matches(name: str, pattern: str) -> bool:
    """``name`` against an allowed-hosts entry (``*.example.lan`` matches any name under it, as Starlette's)."""
    pattern = pattern.strip("[]")
    return name.endswith(pattern[1:]) if pattern.startswith("*.") else name == pattern


class SameOriginMiddleware:
    """403 Forbidden for a request or WebSocket handshake sent by a page of another origin (:func:`origin_allowed`).

    Streamlit's own check lets any port of localhost, 0.0.0.0 and the machine's addresses open its WebSocket, and
    cookies ignore ports, so without this a notebook or dev server on this machine could drive the app."""

    def __init__(self, app, allowed_hosts: Sequence[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            from starlette.datastructures import Headers

            headers = Headers(scope=scope)
            if not origin_allowed(headers.get("origin"), headers.get("host"), self.allowed_hosts):
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("Forbidden: this request comes from a page of another origin",
                                        status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_middleware(environ: Mapping[str, str] | None = None) -> list:
    """The middleware list for ``st.App``: the Host allowlist over :func:`allowed_hosts`, the same-origin check,
    the refusal to be framed by another site (:mod:`ui.frame_guard`) and to serve endpoints the app never uses
    (:mod:`ui.internal_paths`), and the redirect of a page address typed as Streamlit does not serve it
    (:mod:`ui.page_paths`)."""
    from starlette.middleware import Middleware

    from ui.frame_guard import FrameGuardMiddleware
    from ui.internal_paths import InternalPathsMiddleware
    from ui.page_paths import PagePathRedirectMiddleware

    hosts = allowed_hosts(environ)
    return [Middleware(ForbiddenHostMiddleware, allowed_hosts=hosts),
            Middleware(SameOriginMiddleware, allowed_hosts=hosts), Middleware(FrameGuardMiddleware),
            Middleware(InternalPathsMiddleware), Middleware(PagePathRedirectMiddleware)]
