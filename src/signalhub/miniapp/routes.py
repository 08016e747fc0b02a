"""Serves the built Mini App at /miniapp/. Hashed assets are immutable and cached for a year;
index.html is never cached, so a deploy reaches every user on their next open."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from signalhub.dependencies import SettingsDep
from signalhub.errors import NotFound
from signalhub.miniapp.location import BUILD_HELP, candidates, find_dist

router = APIRouter(tags=["mini app"], include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def _inside(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) and candidate.is_file() else None


@router.get("/favicon.ico")
async def favicon(settings: SettingsDep) -> Response:
    """Browsers ask the site root for an icon whatever the page declares: the Mini App's SVG."""
    root = find_dist(settings)
    icon = _inside(root, "favicon.svg") if root is not None else None
    if icon is None:
        raise NotFound("No icon.", code="favicon_not_found")
    return FileResponse(
        icon, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/miniapp")
async def miniapp_root() -> Response:
    return RedirectResponse("/miniapp/", status_code=308)


@router.get("/miniapp/{path:path}")
async def miniapp(path: str, settings: SettingsDep) -> Response:
    if not _plausible(path):
        raise NotFound("No such page.", code="page_not_found")
    root = find_dist(settings)
    if root is None:
        return _not_built_page([str(directory) for directory in candidates(settings)])
    index = root / "index.html"
    if path.startswith("assets/"):
        asset = _inside(root, path)
        if asset is None:
            raise NotFound("No such asset.", code="asset_not_found")
        return FileResponse(asset, headers={"Cache-Control": IMMUTABLE})
    static_file = _inside(root, path) if path else None
    # Any other path is a client-side route: the app decides what to show.
    return FileResponse(static_file or index, headers={"Cache-Control": NO_CACHE})


def _plausible(path: str) -> bool:
    """A path the app or its build could have: no NUL (the file system refuses it), no
    backslash and no `..` segment (neither is in a URL the app makes)."""
    return "\x00" not in path and "\\" not in path and ".." not in path.split("/")


def _not_built_page(searched: list[str]) -> HTMLResponse:
    """A page for the operator who opens /miniapp/ on a fresh install: what is missing and how to
    build it (503: the deployment is incomplete, not the request wrong)."""
    places = "".join(f"<li><code>{escape(place)}</code></li>" for place in searched)
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>signalhub: Mini App not built</title></head><body>"
        "<h1>The Mini App is not built</h1>"
        f"<p>{escape(BUILD_HELP)}</p><p>Looked for <code>index.html</code> in:</p>"
        f"<ul>{places}</ul></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": NO_CACHE})
