"""Shared fixtures: the seed site is built once per session into a temporary folder."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT, check: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m sitegen ...` as a user would, capturing output."""
    proc = subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"sitegen {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory) -> Path:
    """The site built from seeds/ by the CLI, with its build report beside it."""
    base = tmp_path_factory.mktemp("seed-site")
    out, report = base / "_site", base / "report.json"
    run_cli("build", "--out", str(out), "--report", str(report), check=True)
    return out


@pytest.fixture(scope="session")
def seed_report(seed_site) -> dict:
    return json.loads((seed_site.parent / "report.json").read_text())
