"""Server endpoints the app never uses are not served: Streamlit's ``/_stcore/metrics``.

That endpoint lists the server's caches by name, its session count and timings to anyone who can reach the port
(a probe read it on a demo served to a LAN). The page never asks for it, so :class:`InternalPathsMiddleware`
answers 404 Not Found before Streamlit sees the request.
"""

from __future__ import annotations

HIDDEN_ENDPOINTS = ("/_stcore/metrics",)


class InternalPathsMiddleware:
    """404 for an HTTP request whose path ends in one of :data:`HIDDEN_ENDPOINTS` (under any base URL path)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "").rstrip("/")
        if scope["type"] == "http" and path.endswith(HIDDEN_ENDPOINTS):
            from starlette.responses import PlainTextResponse

            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
