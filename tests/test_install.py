"""sitegen as a tool people install: the sdist and wheel `python -m build` makes, installed into
a fresh virtualenv outside the checkout, make a project with `sitegen new`, build the seeds
from it, and let one template be overridden while the rest come from the package.

Offline: the build runs without isolation (setuptools and build are test dependencies), the
wheel is installed with --no-deps, and the new virtualenv finds the libraries sitegen needs
in this one's site-packages (added to its path), never the checkout's own sitegen."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "sitegen"
    # a copy of the tracked tree, as a fresh clone has it (plus node_modules/lunr, as `npm ci` makes)
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "node_modules" / "lunr", src / "node_modules" / "lunr")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Warning" not in proc.stderr and "deprecated" not in (proc.stdout + proc.stderr).lower(), proc.stderr
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    site = Path(subprocess.run([str(home / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = dist.glob("*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    return home


def test_the_dist_carries_the_theme_and_lunr(dist):
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("sitegen/default_theme/templates/base.html", "sitegen/default_theme/static/style.css",
                 "sitegen/default_theme/vendor/lunr.min.js", "sitegen/formats/markdown.py",
                 "sitegen/project_files/workflows/pages.yml"):
        assert name in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata and "Requires-Python: >=3.11" in metadata
    (sdist,) = dist.glob("*.tar.gz")
    import tarfile
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    assert {"templates/base.html", "static/site.js", "node_modules/lunr/lunr.min.js", "seeds/000_d73a45edd28825cb.txt",
            "LICENSE"} <= members


def test_an_installed_sitegen_makes_a_project_and_builds_it(venv, tmp_path):
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)

    def sitegen(*args, cwd=tmp_path):
        proc = subprocess.run([str(venv / "bin" / "sitegen"), *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import sitegen; print(sitegen.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert str(venv) in where and str(ROOT) not in where  # the installed package, not the checkout
    assert sitegen("--version").stdout.startswith("sitegen ")
    sitegen("new", "digest")
    project = tmp_path / "digest"
    assert {p.name for p in project.iterdir()} >= {"sitegen.toml", "listings", ".github", ".gitignore", "README.md"}
    for seed in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(seed, project / "listings" / seed.name)
    (project / "sitegen.toml").write_text((project / "sitegen.toml").read_text().replace("year = ", "year = 2025 #"))
    (project / "templates").mkdir()
    base = (ROOT / "templates" / "base.html").read_text()
    (project / "templates" / "base.html").write_text(base.replace("<body", "<body data-override=\"yes\"", 1))
    sitegen("build", "-q", cwd=project)
    site = project / "_site"
    assert len(list((site / "papers").glob("*.html"))) == 508
    index = (site / "index.html").read_text()
    assert 'data-override="yes"' in index  # the project's base.html
    assert "digest-list" in index  # index.html itself still comes from the package
    assert (site / "static" / "vendor" / "lunr.min.js").is_file() and (site / "static" / "style.css").is_file()
    (project / "templates" / "paper.html").write_text("{% extends 'base.html' %}{% block main %}{{ view.nope }\n")
    broken = subprocess.run([str(venv / "bin" / "sitegen"), "build", "-q"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert broken.returncode == 1 and "paper.html:1" in broken.stderr and "Traceback" not in broken.stderr
