"""Shared fixtures: the seed site is built once per session into a temporary folder."""
from __future__ import annotations

import hashlib
import json
import re
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


def catalogue(site: Path) -> list[dict]:
    """Every paper's row in a built site's catalogue: `papers.json` lists the parts, each an
    array of rows, and says how many papers each holds."""
    index = json.loads((site / "papers.json").read_text(encoding="utf-8"))
    rows = []
    for part in index["parts"]:
        share = json.loads((site / part["url"]).read_text(encoding="utf-8"))
        assert len(share) == part["papers"], part
        rows += share
    assert len(rows) == index["papers"]
    return rows


def tree_hash(root: Path) -> dict[str, str]:
    """Every file under `root` and a digest of its bytes: two equal trees give equal dicts."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def load_index_file(text: str) -> tuple[str, object]:
    """One file of the search index (search/t/3.js ...): its key ("t3") and its data."""
    prefix = "(window.SITEGEN_INDEX=window.SITEGEN_INDEX||{})["
    assert text.startswith(prefix) and text.endswith("');\n")
    key, literal = text[len(prefix):].split("]=JSON.parse('", 1)
    # undo the string literal's escapes: \\ \' \u2028 \u2029
    unescaped = re.sub(r"\\(\\|'|u2028|u2029)", lambda m: {"u2028": "\u2028", "u2029": "\u2029"}.get(m[1], m[1]), literal[:-4])
    return json.loads(key), json.loads(unescaped)


def load_manifest(text: str) -> dict:
    prefix = "window.SITEGEN_SEARCH="
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix):-2])


def search_store(files) -> dict:
    """Every paper's entry in the document chunks, by ref ("p0", "p1", ...): [title, url,
    dates, abstract]. `files` maps output paths to bytes, or is a site folder."""
    if isinstance(files, Path):
        files = {p.relative_to(files).as_posix(): p.read_bytes() for p in (files / "search" / "d").glob("*.js")}
    from sitegen.search import STORE_PAPERS
    store = {}
    for path, data in files.items():
        if path.startswith("search/d/"):
            key, docs = load_index_file(data.decode("utf-8"))
            first = int(key[1:]) * STORE_PAPERS
            store.update({f"p{first + i}": doc for i, doc in enumerate(docs)})
    return store
