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
