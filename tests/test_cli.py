"""The CLI as a user runs it: a subprocess, exit codes, messages, reports."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

ABSTRACT = ("We study a problem that matters. Our method improves results on many benchmarks while remaining "
            "simple to implement, and we release code and models for everyone to use in research.")


def test_build_seeds_with_report(seed_site, seed_report):
    assert (seed_site / "index.html").is_file() and (seed_site / ".sitegen").is_file()
    assert {k: seed_report[k] for k in ("entries", "papers", "merged", "listings", "dates")} == {
        "entries": 557, "papers": 508, "merged": 49, "listings": 5, "dates": 3}
    by_source = {s["source"]: s for s in seed_report["sources"]}
    assert by_source["seeds/002_03c9e8e5c680292e.txt"] == {
        "source": "seeds/002_03c9e8e5c680292e.txt", "entries": 44, "date": "2025-12-11", "warnings": 0}
    assert seed_report["warnings"] == []
    # CPU per process: the build's own and each forked worker's, all spent, none beyond the wall
    # time of the whole build times the processes that ran.
    cpu = seed_report["cpu_seconds"]
    assert set(cpu) == {"build", "related", "index", "render_helper"}
    assert all(0 < v < 4 * 60 for v in cpu.values())
    # Wall time per stage in the build's process: every stage, none negative, and together
    # (they follow one another) no more than the whole build.
    seconds = seed_report["seconds"]
    stages = ("prepare", "parse", "dedupe", "assemble", "related", "index", "render", "feeds")
    assert set(seconds) == {*stages, "total"}
    assert all(seconds[s] >= 0 for s in stages) and 0 < sum(seconds[s] for s in stages) <= seconds["total"]


def test_python_m_and_summary_line(tmp_path):
    proc = run_cli("build", "--out", str(tmp_path / "out"), check=True)
    assert proc.stdout.startswith("Built 508 papers (557 entries, 49 merged) from 5 listings")
    assert proc.stderr == ""


def test_warnings_print_with_file_and_line_and_still_build(tmp_path):
    listing = tmp_path / "bad.txt"
    listing.write_text(f"Mar 3, 2025\n\nA Paper\n\n{ABSTRACT}\n\nOrphan Title\n")
    report = tmp_path / "r.json"
    proc = run_cli("build", str(listing), "--out", str(tmp_path / "out"), "--report", str(report), cwd=tmp_path)
    assert proc.returncode == 0
    assert "bad.txt:7: warning: title with no abstract: 'Orphan Title' [title-no-abstract]" in proc.stderr
    assert json.loads(report.read_text())["warnings"] == [
        {"source": "bad.txt", "line": 7, "message": "title with no abstract: 'Orphan Title'", "code": "title-no-abstract"}]
    assert (tmp_path / "out" / "papers" / "orphan-title.html").is_file()


def test_strict_turns_warnings_into_failure_and_writes_nothing(tmp_path):
    listing = tmp_path / "bad.txt"
    listing.write_text("Orphan Title\n")
    proc = run_cli("build", str(listing), "--out", str(tmp_path / "out"), "--strict", cwd=tmp_path)
    assert proc.returncode == 1
    assert "bad.txt:1: warning" in proc.stderr and "--strict" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_input_is_one_line_without_traceback(tmp_path):
    proc = run_cli("build", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"sitegen: error: {tmp_path / 'nope.txt'}: no such file or folder"]


def test_bad_config_names_file_and_key(tmp_path):
    (tmp_path / "sitegen.toml").write_text("yeer = 2025\n")
    proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"sitegen: error: {tmp_path / 'sitegen.toml'}: unknown key `yeer`"
    assert "Traceback" not in proc.stderr


def test_broken_template_is_reported_with_its_name(tmp_path):
    (tmp_path / "templates").mkdir()
    for t in (ROOT / "templates").iterdir():
        (tmp_path / "templates" / t.name).write_text(t.read_text())
    (tmp_path / "templates" / "paper.html").write_text("{% extends 'base.html' %}{% block main %}{{ view.nope }}{% endblock %}")
    (tmp_path / "l.txt").write_text(f"A Paper\n{ABSTRACT}\n")
    proc = run_cli("build", "l.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "paper.html" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "_site").exists()


def test_every_broken_template_is_reported_at_once(tmp_path):
    """A theme with several mistakes: each on a line of its own, with its template (and line,
    for syntax), in one build; the emails' templates too; no traceback, nothing written."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "l.txt").write_text(f"Mar 12, 2025\nA Paper\n{ABSTRACT}\n")
    t = tmp_path / "templates"
    (t / "paper.html").write_text("{% extends 'base.html' %}{% block main %}{{ view.nope }}{% endblock %}")
    (t / "digest.html").write_text("{% extends 'base.html' %}{% block main %}{{ page.nope }}{% endblock %}")
    (t / "email.txt").write_text("{{ digest.nope }}")
    proc = run_cli("build", "l.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == "sitegen: error: 3 template errors (above); nothing was built", proc.stderr
    assert {line.split(":")[0] for line in lines[:-1]} == {"paper.html", "digest.html", "email.txt"}
    assert all(line.endswith("[template-render]") for line in lines[:-1])
    assert not (tmp_path / "_site").exists()
    (t / "index.html").write_text("{% if %}")
    (t / "period.html").write_text("fine\n{% for %}")
    proc = run_cli("build", "l.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{t / 'index.html'}:1: error: template error:" in proc.stderr
    assert f"{t / 'period.html'}:2: error: template error:" in proc.stderr and "[template-syntax]" in proc.stderr
    assert "2 template errors (above)" in proc.stderr


@pytest.mark.parametrize("share", [0, 1])
def test_a_template_error_in_either_rendering_process_is_reported_and_nothing_is_written(tmp_path, share):
    """Pages are shared out between the build process (even positions) and a forked helper (odd
    ones): a page that fails to render in either gives the one-line error, and no output or
    staging folder is left."""
    import sys

    sys.path.insert(0, str(ROOT))
    from sitegen import config
    from sitegen.build import assemble_only

    (tmp_path / "l.txt").write_text("".join(f"Paper Number {n}\n{ABSTRACT}\n\n" for n in range(8)))
    site = assemble_only(config.load(None, cwd=tmp_path), [str(tmp_path / "l.txt")])
    victim = next(p for n, p in enumerate(site.pages) if p.kind == "paper" and n % 2 == share)
    (tmp_path / "templates").mkdir()
    for t in (ROOT / "templates").iterdir():
        (tmp_path / "templates" / t.name).write_text(t.read_text())
    paper = (tmp_path / "templates" / "paper.html").read_text()
    (tmp_path / "templates" / "paper.html").write_text(
        paper.replace("{% block main %}", f"{{% block main %}}{{% if page.path == {victim.path!r} %}}{{{{ view.nope }}}}{{% endif %}}", 1))
    proc = run_cli("build", "l.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "paper.html" in proc.stderr and victim.path in proc.stderr, proc.stderr
    assert not (tmp_path / "_site").exists() and not list(tmp_path.glob("._site.staging-*"))


def test_config_sources_and_out(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nA Paper\n{ABSTRACT}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nout = "public"\ntitle = "Mine"\n')
    run_cli("build", cwd=tmp_path, check=True)
    assert (tmp_path / "public" / "dates" / "2024-01-05.html").is_file()
    assert "<title>Mine</title>" in (tmp_path / "public" / "index.html").read_text()


def test_check_lists_problems_and_near_duplicate_merges(tmp_path):
    (tmp_path / "a.txt").write_text(f"Improved Techniques for Training Consistency Models\n{ABSTRACT}\n")
    (tmp_path / "b.txt").write_text(f"Improved Techniques for Trainng Consistency Models\n{ABSTRACT[:120]}...\nOrphan\n")
    proc = run_cli("check", "a.txt", "b.txt", cwd=tmp_path)
    assert proc.returncode == 0
    assert "b.txt:3: warning: title with no abstract: 'Orphan'" in proc.stderr
    assert "b.txt:1: merged into improved-techniques-for-training-consistency-models (title 99, abstract 100)" in proc.stdout
    assert "3 entries, 2 papers, 1 merged" in proc.stdout
    assert not (tmp_path / "_site").exists()


def test_the_program_ends_with_all_it_printed(tmp_path):
    """`sitegen` ends its process at once after a command (`cli.run`): whatever the command
    printed reaches a pipe whole first, its exit status stays the command's, and a build's
    outputs are complete. Python's own buffering is left on, as on a user's machine."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    programs = [[sys.executable, "-m", "sitegen"]]
    script = Path(sys.executable).with_name("sitegen")
    if script.is_file():  # the installed command, where the suite runs from its virtualenv
        programs.append([str(script)])
    for program in programs:
        proc = subprocess.run([*program, "check", "--merges"], cwd=ROOT, capture_output=True, text=True, env=env,
                              timeout=300, check=False)
        assert proc.returncode == 0 and proc.stdout.count(": merged into ") == 49
        assert proc.stdout.endswith("49 merged (49 identical, 0 near-duplicates); 0 warnings, 0 errors\n")
        proc = subprocess.run([*program, "build", "--out", str(tmp_path / "out"), "--no-cache", "--report",
                               str(tmp_path / "report.json"), "missing.txt"], cwd=ROOT, capture_output=True,
                              text=True, env=env, timeout=300, check=False)
        assert proc.returncode == 1 and proc.stderr.endswith("missing.txt: no such file or folder\n")
    proc = subprocess.run(programs[0] + ["build", "--out", str(tmp_path / "out"), "--report", str(tmp_path / "r.json")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("Built 508 papers") and proc.stdout.endswith(" warnings\n")
    assert json.loads((tmp_path / "r.json").read_text())["papers"] == 508


def test_main_called_from_python_keeps_nothing_of_the_build(tmp_path, monkeypatch):
    """Only the program (`cli.run`, which ends the process at once) leaves a build's data for
    the process's end; a caller of `cli.main` in Python gets its exit status and holds nothing."""
    from sitegen import cli

    (tmp_path / "day.txt").write_text(f"Jan 5, 2024\nA Paper\n{ABSTRACT}\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build", "day.txt", "--out", "site", "--no-cache", "-q"]) == 0
    assert (tmp_path / "site" / "index.html").is_file() and cli._LEFT is None


def test_a_build_loads_only_what_its_work_needs(tmp_path):
    """What a build imports is paid on every build, the one that finds nothing to do included:
    the TeX converters load only when a text holds TeX, the mail sender only to send, and the
    library versions are read without `importlib.metadata`. (The workers are forked processes
    of their own: what they import is not counted here.)"""
    (tmp_path / "day.txt").write_text(f"Jan 5, 2024\nA Paper\n{ABSTRACT}\n")
    (tmp_path / "tex.txt").write_text(f"Jan 6, 2024\nA $\\beta$-Paper\n{ABSTRACT} With $x^2$.\n")
    probe = ("import sys\nfrom sitegen import cli\nstatus = cli.main(sys.argv[1:])\n"
             "watched = ('importlib.metadata', 'latex2mathml', 'pylatexenc', 'smtplib')\n"
             "print(status, [name for name in watched if name in sys.modules])\n")

    def loaded(*sources: str) -> str:
        proc = subprocess.run([sys.executable, "-c", probe, "build", *sources, "--out", "site", "-q"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert loaded("day.txt") == "0 []"  # a cold build of text without TeX
    assert loaded("day.txt") == "0 []"  # nothing changed
    # (latex2mathml reads its own version through importlib.metadata)
    assert loaded("day.txt", "tex.txt") == "0 ['importlib.metadata', 'latex2mathml', 'pylatexenc']"
    assert loaded("day.txt", "tex.txt") == "0 []"  # the TeX's pages are as the last build left them


def test_check_on_seeds():
    proc = run_cli("check", check=True)
    assert "557 entries, 508 papers, 49 merged (49 identical, 0 near-duplicates); 0 warnings, 0 errors" in proc.stdout


def _build_on_a_terminal(tmp_path, *extra: str, env_extra: dict | None = None) -> str:
    """Run `sitegen build` with stderr on a pseudo-terminal, as a user at a terminal would."""
    import os
    import pty
    import subprocess
    import sys

    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # a 100-column terminal
    env = {k: v for k, v in os.environ.items() if k != "CI"} | (env_extra or {})
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "--out", str(tmp_path / "out"), *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the build ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_build_on_a_terminal_shows_progress(tmp_path):
    shown = _build_on_a_terminal(tmp_path)
    emails = len(list((tmp_path / "out" / "email").glob("*.html")))
    assert emails > 0
    # One bar over the pages and the emails (both processes' share); tqdm may skip the last redraw.
    assert "sitegen: render" in shown and re.search(rf"\d+/{524 + emails} \[", shown), shown
    assert "pages and emails" in shown


def test_no_progress_in_ci_with_quiet_or_off_a_terminal(tmp_path):
    assert "sitegen: render" not in _build_on_a_terminal(tmp_path, env_extra={"CI": "true"})
    assert "sitegen: render" not in _build_on_a_terminal(tmp_path, "-q")
    piped = run_cli("build", "--out", str(tmp_path / "piped"), check=True)
    assert "sitegen: render" not in piped.stderr and "\r" not in piped.stderr


def test_new_makes_a_project_and_refuses_a_folder_that_is_not_empty(tmp_path):
    proc = run_cli("new", str(tmp_path / "my-digest"), cwd=tmp_path, check=True)
    project = tmp_path / "my-digest"
    config = (project / "sitegen.toml").read_text()
    assert 'title = "My Digest"' in config and 'sources = ["listings"]' in config and "base_url" in config
    assert (project / "listings").is_dir() and "_site/" in (project / ".gitignore").read_text()
    workflow = (project / ".github" / "workflows" / "pages.yml").read_text()
    assert "sitegen build --base-url" in workflow and "actions/deploy-pages" in workflow
    assert "Before publishing" in proc.stdout  # a checkout's sitegen: the workflow must say where pip finds it
    empty = run_cli("build", cwd=project)
    assert empty.returncode == 1 and "sitegen add" in empty.stderr and "Traceback" not in empty.stderr
    (project / "listings" / "mine.txt").write_text("keep")
    again = run_cli("new", str(project), cwd=tmp_path)
    assert again.returncode == 1 and "not empty" in again.stderr and (project / "listings" / "mine.txt").exists()


def test_theme_export_copies_the_packaged_theme_and_the_build_uses_it(tmp_path):
    run_cli("theme", "export", str(tmp_path), cwd=tmp_path, check=True)
    assert (tmp_path / "templates" / "base.html").read_bytes() == (ROOT / "templates" / "base.html").read_bytes()
    assert (tmp_path / "static" / "style.css").is_file()
    refused = run_cli("theme", "export", str(tmp_path), cwd=tmp_path)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    (tmp_path / "static" / "style.css").write_text("body { color: rebeccapurple; }\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "day.txt").write_bytes((ROOT / "seeds" / "000_d73a45edd28825cb.txt").read_bytes())
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\n')
    run_cli("build", "--out", "site", cwd=tmp_path, check=True)
    assert "rebeccapurple" in (tmp_path / "site" / "static" / "style.css").read_text()


def test_every_missing_source_is_reported_at_once(tmp_path):
    proc = run_cli("build", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{tmp_path / 'a'}: error: no such file or folder [no-such-source]" in proc.stderr
    assert f"{tmp_path / 'b'}: error: no such file or folder [no-such-source]" in proc.stderr
    assert "2 sources cannot be read" in proc.stderr
