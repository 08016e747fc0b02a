from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

import signalhub.miniapp
from signalhub.app import create_app
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.miniapp import location


@pytest.fixture
async def static_client(
    tmp_path: Path, settings: Settings, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>signalhub mini app</html>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside")
    app = create_app(settings.model_copy(update={"miniapp_dist": dist}), database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_index_is_never_cached_and_serves_client_routes(
    static_client: httpx.AsyncClient,
) -> None:
    for path in ("/miniapp/", "/miniapp/billing", "/miniapp/login"):
        response = await static_client.get(path)
        assert response.status_code == 200
        assert "signalhub mini app" in response.text
        assert response.headers["cache-control"] == "no-cache"
    redirect = await static_client.get("/miniapp")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/miniapp/"


async def test_hashed_assets_are_cached_for_a_year(static_client: httpx.AsyncClient) -> None:
    response = await static_client.get("/miniapp/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await static_client.get("/miniapp/favicon.svg")).text == "<svg/>"
    missing = await static_client.get("/miniapp/assets/nope.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "asset_not_found"


async def test_the_root_favicon_is_the_mini_apps_svg(static_client: httpx.AsyncClient) -> None:
    response = await static_client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text == "<svg/>"


async def test_no_favicon_without_a_build(client: httpx.AsyncClient, tmp_path: Path) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.settings = app.state.settings.model_copy(update={"miniapp_dist": tmp_path})
    response = await client.get("/favicon.ico")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "favicon_not_found"


async def test_paths_outside_the_build_are_not_served(static_client: httpx.AsyncClient) -> None:
    for path in ("/miniapp/assets/../../secret.txt", "/miniapp/assets/%2e%2e/%2e%2e/secret.txt"):
        response = await static_client.get(path)
        assert "outside" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/miniapp/%00",
        "/miniapp/assets/app%00.js",
        "/miniapp/..%5C..%5Csecret.txt",
        "/miniapp/approvals/%2e%2e/%2e%2e/secret.txt",
    ],
)
async def test_impossible_paths_are_404_with_the_error_body(
    static_client: httpx.AsyncClient, path: str
) -> None:
    response = await static_client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "page_not_found"


async def test_unbuilt_mini_app_answers_a_page_saying_how_to_build_it(
    settings: Settings, database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "none"
    app = create_app(settings.model_copy(update={"miniapp_dist": missing}), database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for path in ("/miniapp/", "/miniapp/assets/index-abc123.js"):
                response = await client.get(path)
                assert response.status_code == 503
                assert response.headers["content-type"].startswith("text/html")
                assert "make miniapp" in response.text
                assert str(missing) in response.text
    warnings = [record for record in caplog.records if record.message.startswith("mini app")]
    assert len(warnings) == 1
    assert warnings[0].looked_in == [str(missing)]  # type: ignore[attr-defined]


def test_without_a_setting_the_build_next_to_the_package_comes_first(
    settings: Settings, tmp_path: Path
) -> None:
    unset = settings.model_copy(update={"miniapp_dist": None})
    assert location.candidates(unset) == [location.PACKAGED_DIST, location.SOURCE_CHECKOUT_DIST]
    assert location.PACKAGED_DIST.parent == Path(signalhub.miniapp.__file__).parent
    built = tmp_path / "dist"
    built.mkdir()
    (built / "index.html").write_text("<html></html>")
    assert location.find_dist(settings.model_copy(update={"miniapp_dist": built})) == built
