"""Serves the built Mini App at /miniapp/. Hashed assets are immutable and cached for a year;
index.html is never cached, so a deploy reaches every user on their next open."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from signalhub.dependencies import SettingsDep
from signalhub.errors import AppError, NotFound

router = APIRouter(tags=["mini app"], include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


class MiniAppNotBuilt(AppError):
    status_code = 503
    code = "miniapp_not_built"


def _inside(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) and candidate.is_file() else None


@router.get("/miniapp")
async def miniapp_root() -> Response:
    return RedirectResponse("/miniapp/", status_code=308)


@router.get("/miniapp/{path:path}")
async def miniapp(path: str, settings: SettingsDep) -> Response:
    root = settings.miniapp_dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise MiniAppNotBuilt("The Mini App is not built: run `make run` (or `npm run build`).")
    if path.startswith("assets/"):
        asset = _inside(root, path)
        if asset is None:
            raise NotFound("No such asset.", code="asset_not_found")
        return FileResponse(asset, headers={"Cache-Control": IMMUTABLE})
    static_file = _inside(root, path) if path else None
    # Any other path is a client-side route: the app decides what to show.
    return FileResponse(static_file or index, headers={"Cache-Control": NO_CACHE})
