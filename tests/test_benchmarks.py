"""The benchmark scripts' own behaviour (their figures are measured, never asserted: see
benchmarks/RESULTS.md)."""
from __future__ import annotations

import importlib.util
import sys

from conftest import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("sitegen_bench", ROOT / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for its dataclasses and NamedTuples
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_benchmark_says_when_there_is_no_hugo_to_compare_with(monkeypatch, capsys):
    """On a machine without Hugo (a fresh one) `make bench` would print no comparison with
    Hugo, the figure the speed targets are about, without a word: one line on stderr says why."""
    bench = _bench()
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    assert bench.hugo_found(no_hugo=False) is False
    err = capsys.readouterr().err
    assert "hugo not found" in err and "--no-hugo" in err and err.count("\n") == 1
    assert bench.hugo_found(no_hugo=True) is False  # asked for no Hugo: nothing to say
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(bench.shutil, "which", lambda name: "/usr/bin/hugo" if name == "hugo" else None)
    assert bench.hugo_found(no_hugo=False) is True
    assert capsys.readouterr().err == ""


def test_the_stage_floor_measures_every_stage_of_a_build_of_the_seeds():
    """`benchmarks/stage_floor.py` runs the stages as a build does (a change to their functions
    that left the benchmark behind would fail here, not months later in a benchmark run)."""
    import json
    import subprocess

    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stage_floor.py"), "--one", str(ROOT / "seeds")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    stages = ("read and dedupe", "assemble and related", "render", "search index")
    assert all(figures[name] >= 0 for name in stages) and sum(figures[name] for name in stages) > 0
    from sitegen import config
    from sitegen.build import assemble_only

    site = assemble_only(config.load(None, cwd=ROOT), [str(ROOT / "seeds")])
    assert figures["pages"] == len(site.pages) and figures["page_bytes"] > 0 and figures["index_bytes"] > 0
