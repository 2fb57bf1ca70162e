"""The one thing pyproject.toml cannot say: put the default theme into the package.

The repository keeps `templates/` and `static/` at its top (the layout this project keeps), and
lunr.js comes from the npm registry, never committed. A wheel must carry all three, so a
`sitegen` installed with pip or pipx builds a site with no checkout and no npm: this build step
copies them into `sitegen/default_theme/` of the wheel. lunr.js is taken from `node_modules/` (`npm ci`)
or, in a source tree without it (an sdist carries it; a git checkout may not), fetched with
`npm pack lunr@<the version package.json pins>`; with neither, the build stops and says so.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
LUNR_FILES = ("lunr.min.js", "LICENSE")


def lunr_source() -> Path:
    """A folder holding lunr.min.js and its LICENSE, as npm installs them."""
    installed = HERE / "node_modules" / "lunr"
    if (installed / "lunr.min.js").is_file():
        return installed
    version = json.loads((HERE / "package.json").read_text())["dependencies"]["lunr"]
    tmp = Path(tempfile.mkdtemp(prefix="sitegen-lunr-"))
    try:
        subprocess.run(["npm", "pack", f"lunr@{version}", "--silent", "--pack-destination", str(tmp)],
                       check=True, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise SystemExit(f"sitegen: lunr.js is needed in the package: run `npm ci` first, or have npm on "
                         f"the PATH to fetch lunr@{version} ({e})") from None
    (tarball,) = tmp.glob("lunr-*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp, filter="data")
    return tmp / "package"


class BuildWithTheme(build_py):
    def run(self):
        super().run()
        theme = Path(self.build_lib) / "sitegen" / "default_theme"
        for name in ("templates", "static"):
            shutil.rmtree(theme / name, ignore_errors=True)
            shutil.copytree(HERE / name, theme / name)
        vendor = theme / "vendor"
        vendor.mkdir(parents=True, exist_ok=True)
        source = lunr_source()
        for name in LUNR_FILES:
            shutil.copyfile(source / name, vendor / name)


class SdistWithLunr(sdist):
    """An sdist carries lunr.js (from `npm ci`) so that a wheel built from it needs no npm."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = Path(base_dir) / "node_modules" / "lunr"
        target.mkdir(parents=True, exist_ok=True)
        source = lunr_source()
        for name in LUNR_FILES:
            shutil.copyfile(source / name, target / name)


setup(cmdclass={"build_py": BuildWithTheme, "sdist": SdistWithLunr})
