"""The wheel carries the built Mini App as `signalhub/miniapp/dist`, so an installed package
serves /miniapp/ from any directory. Everything else is declared in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MINIAPP = Path(__file__).parent / "miniapp"


class BuildPyWithMiniApp(build_py):
    """Copies miniapp/dist into the package, building it first (npm) when it is missing."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            # An editable install serves the checkout's own miniapp/dist.
            return
        dist = MINIAPP / "dist"
        if not (dist / "index.html").is_file():
            if not (MINIAPP / "package.json").is_file():
                raise SystemExit("signalhub: no built Mini App (miniapp/dist) and no source to build it")
            if not (MINIAPP / "node_modules").is_dir():
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=MINIAPP, check=True)
            subprocess.run(["npm", "run", "build"], cwd=MINIAPP, check=True)
        target = Path(self.build_lib) / "signalhub" / "miniapp" / "dist"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(dist, target)


setup(cmdclass={"build_py": BuildPyWithMiniApp})
