"""The pages' addresses: the table ``st.navigation`` is built from (``ui/router.py``), and the server's redirect of
an address a person types to the page it means.

Streamlit serves the default page, Home, at ``/`` only, and page addresses as written: ``/home`` (a bookmark, a
typed URL) opened a "Page not found" dialog over an inert page, and so did ``/Train`` (walkthroughs).
:class:`PagePathRedirectMiddleware` answers those with a redirect to ``/`` and ``/train``, query string kept.
"""

from __future__ import annotations

import unicodedata

HOME = "home"
PAGES = (  # (script, title, icon, address)
    ("app_pages/home.py", "Home", ":material/home:", HOME),
    ("app_pages/data.py", "Data", ":material/folder_open:", "data"),
    ("app_pages/annotate.py", "Annotate", ":material/edit:", "annotate"),
    ("app_pages/train.py", "Train", ":material/model_training:", "train"),
    ("app_pages/race.py", "Race", ":material/sports_score:", "race"),
    ("app_pages/runs.py", "Runs", ":material/insights:", "runs"),
    ("app_pages/predict.py", "Predict", ":material/online_prediction:", "predict"),
)


def canonical_page_path(path: str) -> str | None:
    """The address a page is served at that ``path`` (under the base URL path) means, when Streamlit would not
    serve it as written: ``/home`` → ``/``, ``/Train/`` → ``/train``; None for any other path (served as it is)."""
    name = path.strip("/")
    if not name or "/" in name:
        return None
    # as pasted from a sentence or a chat: "/train " (%20, %09, %C2%A0), "/train.", "/train;x", "/ｔｒａｉｎ" (a probe)
    # and with an invisible character (a zero-width space) or a CJK full stop after it (a second probe)
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) != "Cf")
    wanted = visible.split(";")[0].strip().rstrip(".,:!?)]'\"。、").strip().lower()
    if wanted == HOME:
        return "/"
    if wanted in {url for *_, url in PAGES} and (name != wanted or path != f"/{name}"):
        return f"/{wanted}"
    return None


class PagePathRedirectMiddleware:
    """A 307 redirect for a GET or HEAD request of a page address Streamlit would answer "Page not found"
    (:func:`canonical_page_path`), under the server's base URL path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            from streamlit import config

            base = "/" + str(config.get_option("server.baseUrlPath") or "").strip("/")
            base = "" if base == "/" else base
            path = scope.get("path", "")
            if path == base or path.startswith(base + "/"):
                target = canonical_page_path(path[len(base):])
                if target is not None:
                    from starlette.responses import RedirectResponse

                    query = scope.get("query_string", b"").decode("latin-1")
                    location = base + target + (f"?{query}" if query else "")
                    await RedirectResponse(location or "/", status_code=307)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
