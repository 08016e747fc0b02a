"""The operator's path: the wheel built from the repository carries the built Mini App, and the
installed package serves /miniapp/ from a directory that has nothing of the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import running_server

REPO = Path(__file__).parents[1]
MINIAPP_DIST = REPO / "miniapp" / "dist"
# Local state of a checkout that a build from a fresh clone would not see.
CHECKOUT_STATE = {".git", ".venv", "var", "build", "dist", ".env", "htmlcov"}
NEVER_COPIED = {"node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _ignore_checkout_state(directory: str, names: list[str]) -> set[str]:
    at_root = Path(directory) == REPO
    return {
        name
        for name in names
        if name in NEVER_COPIED
        or name.endswith(".egg-info")
        or (at_root and name in CHECKOUT_STATE)
    }


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (MINIAPP_DIST / "index.html").is_file(), "build the Mini App first: make miniapp"
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(REPO, source, dirs_exist_ok=True, ignore=_ignore_checkout_state)
    wheels = tmp_path_factory.mktemp("wheels")
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-w", wheels, source, cwd=source,
    )  # fmt: skip
    (built,) = wheels.glob("signalhub-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed; its third-party dependencies come from the test
    environment through a .pth (the machine has no network to install them again)."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv)
    python = venv / "bin" / "python"
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        wheel, cwd=venv,
    )  # fmt: skip
    (site_packages,) = venv.glob("lib/python*/site-packages")
    (site_packages / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_the_wheel_carries_the_built_mini_app(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "signalhub/miniapp/dist/index.html" in names
    built_assets = {p.name for p in (MINIAPP_DIST / "assets").iterdir()}
    shipped_assets = {Path(name).name for name in names if "/miniapp/dist/assets/" in name}
    assert shipped_assets == built_assets
    migrations = REPO / "src" / "signalhub" / "migrations" / "versions"
    for migration in migrations.glob("*.py"):
        assert f"signalhub/migrations/versions/{migration.name}" in names


def test_installed_package_serves_the_mini_app_from_any_directory(
    fresh_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIGNALHUB_MINIAPP_DIST", raising=False)
    where = subprocess.run(
        [fresh_python, "-c", "import signalhub; print(signalhub.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert Path(where).is_relative_to(fresh_python.parents[1]), where

    env = {
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'operator.db'}",
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
    }
    _run(fresh_python, "-m", "signalhub.cli", "migrate", cwd=tmp_path, env=env)
    with running_server(env, tmp_path, python=str(fresh_python)) as base_url:
        page = httpx.get(f"{base_url}/miniapp/", timeout=10)
        assert page.status_code == 200
        assert '<div id="root">' in page.text
        (script,) = re.findall(r'<script[^>]+src="(/miniapp/assets/[^"]+\.js)"', page.text)
        asset = httpx.get(f"{base_url}{script}", timeout=10)
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "mini app not built" not in (tmp_path / "server.log").read_text()
