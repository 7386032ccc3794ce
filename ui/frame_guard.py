"""The app refuses to be framed by another site (clickjacking).

A page on any other origin could load the app in a transparent ``<iframe>`` and trick a visitor into clicking
"Delete dataset" or "Start": the framed app talks to its own server with its own origin, so the Host and Origin
checks (:mod:`ui.host_check`) let it through. Every HTTP response therefore says who may frame it:
``X-Frame-Options: SAMEORIGIN`` and ``Content-Security-Policy: frame-ancestors 'self'``. The app itself may frame
its own pages (Streamlit draws components in same-origin iframes); nobody else may.

Two more headers go with them: ``X-Content-Type-Options: nosniff`` (a served file is never run as a script or
style its type does not say it is) and ``Referrer-Policy: same-origin`` (no page address leaves for another site).
"""

from __future__ import annotations

FRAME_HEADERS = ((b"x-frame-options", b"SAMEORIGIN"), (b"content-security-policy", b"frame-ancestors 'self'"),
                 (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


class FrameGuardMiddleware:
    """Adds :data:`FRAME_HEADERS` to every HTTP response that does not set them itself (WebSockets pass)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in FRAME_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)
