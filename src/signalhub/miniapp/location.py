"""Where the built Mini App is: `SIGNALHUB_MINIAPP_DIST` when set, else the build shipped inside
the package (the wheel carries it as `signalhub/miniapp/dist`), else, in a source checkout, the
repository's `miniapp/dist`. So an installed package serves it from any working directory."""

from __future__ import annotations

from pathlib import Path

from signalhub.config import Settings

PACKAGED_DIST = Path(__file__).parent / "dist"
# src/signalhub/miniapp/ -> the repository root, three levels up.
SOURCE_CHECKOUT_DIST = Path(__file__).parents[3] / "miniapp" / "dist"

BUILD_HELP = (
    "The Mini App is not built. From a source checkout run `make miniapp` "
    "(or `npm ci && npm run build` in miniapp/); an installed wheel built with "
    "`make wheel` carries it. Or point SIGNALHUB_MINIAPP_DIST at a built miniapp/dist."
)


def candidates(settings: Settings) -> list[Path]:
    if settings.miniapp_dist is not None:
        return [settings.miniapp_dist]
    return [PACKAGED_DIST, SOURCE_CHECKOUT_DIST]


def find_dist(settings: Settings) -> Path | None:
    """The first candidate holding an index.html, resolved; None when there is no build."""
    for directory in candidates(settings):
        if (directory / "index.html").is_file():
            return directory.resolve()
    return None
