"""The web console (web/dist, built by `make`) served at `/`: its files, and its client-side routes falling back to
index.html. /api/v1, /docs, /openapi.json, /healthz and /.well-known stay the API's: an unknown API path is a 404
problem, never the app."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway import problems

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
API_ROOTS = ("api/", "docs", "redoc", "openapi.json", "healthz", ".well-known/")
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Console not built</title>
<p>The web console has not been built: run <code>make run</code> (it builds web/dist), or use the
<a href="/docs">API docs</a>.</p>"""


def console_dir() -> Path:
    return Path(os.environ.get("GATEWAY_CONSOLE_DIR", DEFAULT_DIST))


def mount_console(app: FastAPI, dist: Path | None = None) -> None:
    """Not a catch-all route (it would turn an unknown API path's 404 into a 405): the app's files and client-side
    routes are what a GET that no route answers falls back to."""
    dist = (dist or console_dir()).resolve()
    assets = dist / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="console-assets")

    async def not_found(request: Request, error: Exception) -> Response:
        path = request.url.path.lstrip("/")
        if request.method not in ("GET", "HEAD") or path.startswith((*API_ROOTS, "assets/")):
            return await problems.http_error_handler(request, error)  # type: ignore[arg-type]
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist):
            return FileResponse(candidate)
        # a client-side route: the app decides what it shows; index.html is never cached (it names the assets)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.add_exception_handler(404, not_found)
