"""Hostile input, nothing lost, atomic and deterministic output: end to end through the CLI."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, catalogue, run_cli, search_store, tree_hash

ABSTRACT = ("We study a problem that matters a great deal. Our method improves results on many benchmarks while "
            "remaining simple to implement, and we release code and models for everyone to use.")
HOSTILE_TITLES = [
    "<script>alert('t')</script> Attention",
    "<img src=x onerror=alert(1)> Images",
    "[Click me](javascript:alert(1)) Links",
    "{{ 7*7 }} and {% if true %}Jinja{% endif %}",
    "</script><script>alert(2)</script> Breakout",
    "Broken TeX $\\frac{1}{$ here",
    "Math $\\text{<script>x</script>}$ smuggling",
]


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.js_urls = [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or dict(attrs).get("type"))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if value and value.strip().lower().startswith("javascript:"):
                self.js_urls.append((tag, name, value))


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    listing = base / "hostile.txt"
    listing.write_text("Mar 3, 2025\n\n" + "".join(f"{t}\n\n{ABSTRACT} <b>bold</b> {{{{ 7*7 }}}}\n\n" for t in HOSTILE_TITLES))
    before = listing.stat().st_mtime_ns, listing.read_bytes()
    out = base / "_site"
    run_cli("build", str(listing), "--out", str(out), "--base-url", "https://x.org/d/", cwd=base, check=True)
    assert (listing.stat().st_mtime_ns, listing.read_bytes()) == before  # inputs are only read
    return out


def test_hostile_text_is_text_in_every_page(hostile_site):
    for page in hostile_site.rglob("*.html"):
        html = page.read_text()
        parsed = Elements()
        parsed.feed(html)
        assert parsed.handlers == [] and parsed.js_urls == [], page
        allowed = {"static/site.js", "../static/site.js", "application/ld+json", "static/vendor/lunr.min.js",
                   "search/manifest.js", "static/search.js", "static/search-engine.js"}
        assert set(parsed.scripts) <= allowed, (page, parsed.scripts)
        assert ">49<" not in html and " 49 " not in html
    paper_pages = list((hostile_site / "papers").glob("*.html"))
    assert len(paper_pages) == len(HOSTILE_TITLES)
    text = " ".join(p.read_text() for p in paper_pages)
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in text or "&lt;script&gt;alert('t')&lt;/script&gt;" in text
    assert "{{ 7*7 }}" in text and "[Click me](javascript:alert(1))" in text
    assert '<code class="tex">\\frac{1}{</code>' in text


def test_json_ld_cannot_break_out_of_its_script(hostile_site):
    for page in (hostile_site / "papers").glob("*.html"):
        html = page.read_text()
        blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
        assert len(blocks) == 1
        assert json.loads(blocks[0])["@type"] == "ScholarlyArticle"


def test_feed_and_email_carry_titles_as_text(hostile_site):
    atom = "{http://www.w3.org/2005/Atom}"
    titles = {e.find(f"{atom}title").text for e in ET.parse(hostile_site / "feed.xml").getroot().iter(f"{atom}entry")}
    assert "<script>alert('t')</script> Attention" in titles
    mail = (hostile_site / "email" / "2025-03-03.html").read_text()
    parsed = Elements()
    parsed.feed(mail)
    assert parsed.scripts == [] and parsed.handlers == []
    assert "&lt;script&gt;" in mail


def test_search_files_hold_hostile_titles_as_json_strings(hostile_site):
    assert "</script><script>alert(2)</script> Breakout" in {v[0] for v in search_store(hostile_site).values()}


@pytest.mark.parametrize("name,content,expect", [pytest.param(*case, id=case[0]) for case in [
    ("nul.txt", b"A Pa\x00per\n" + ABSTRACT.encode(), "nul.txt:1: warning: NUL bytes removed"),
    ("binary.txt", bytes(range(256)) * 64, "binary.txt: error: binary file, not a text listing: skipped"),
    ("empty.txt", b"", "empty.txt: warning: empty listing: no papers"),
    ("latin1.txt", b"Caf\xe9 Paper\n" + ABSTRACT.encode(), "latin1.txt:1: warning: not UTF-8 text"),
    ("chrome.txt", b"new\nSubscribe\nDaily Papers\n", None),
    ("huge.txt", b"A Paper\n" + ABSTRACT.encode() + b"\n" + b"x" * 10_000_000 + b"\n", "huge.txt:3: warning: line of 10,000,000 characters"),
]])
def test_broken_files_warn_and_the_rest_still_builds(tmp_path, name, content, expect):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text(f"Jan 2, 2025\nGood Paper\n{ABSTRACT}\n")
    proc = run_cli("build", name, "good.txt", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    if expect:
        assert expect in proc.stderr
    assert (tmp_path / "out" / "papers" / "good-paper.html").is_file()


def test_ten_thousand_titles_without_abstracts(tmp_path):
    (tmp_path / "titles.txt").write_text("\n".join(f"Title number {i}" for i in range(10_000)))
    proc = run_cli("build", "titles.txt", "--out", "out", "--report", "r.json", "-q", cwd=tmp_path)
    assert proc.returncode == 0
    report = json.loads((tmp_path / "r.json").read_text())
    untitled = [w for w in report["warnings"] if "title with no abstract" in w["message"]]
    assert report["papers"] == 10_000 and len(untitled) == 10_000 and len(report["warnings"]) == 10_001  # + undated


def test_counts_in_the_report_add_up(seed_site, seed_report):
    papers = catalogue(seed_site)
    assert seed_report["entries"] == seed_report["papers"] + seed_report["merged"]
    assert sum(len(p["appearances"]) for p in papers) == seed_report["entries"]
    assert sum(s["entries"] for s in seed_report["sources"]) == seed_report["entries"]


def test_same_input_gives_byte_identical_output(tmp_path, seed_site):
    run_cli("build", "--out", str(tmp_path / "again"), check=True)
    files = [str(p) for p in sorted((ROOT / "seeds").glob("*.txt"), reverse=True)]
    run_cli("build", *files, "--out", str(tmp_path / "reordered"), check=True)
    assert tree_hash(tmp_path / "again") == tree_hash(seed_site)
    assert tree_hash(tmp_path / "reordered") == tree_hash(seed_site)


def test_check_exits_non_zero_on_errors(tmp_path):
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 64)
    proc = run_cli("check", "bin.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "1 errors" in proc.stdout


def _big_corpus(tmp_path: Path, n: int = 4000) -> Path:
    out = tmp_path / "corpus"
    subprocess.run([sys.executable, str(ROOT.parent / "shared" / "bench" / "gen_corpus.py"), str(ROOT / "seeds"), str(n), str(out)],
                   check=True, capture_output=True)
    return out / "listings"


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    if not (ROOT.parent / "shared" / "bench" / "gen_corpus.py").is_file():
        pytest.skip("../shared/bench/gen_corpus.py is not beside this checkout")
    return _big_corpus(tmp_path_factory.mktemp("big"))


def test_a_killed_build_leaves_the_previous_site_intact(tmp_path, big_corpus):
    out = tmp_path / "_site"
    run_cli("build", "--out", str(out), check=True)
    before = tree_hash(out)
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "build", str(big_corpus), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("._site.staging-*")):  # wait until it is writing
        assert proc.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tree_hash(out) == before
    run_cli("build", "--out", str(out), check=True)  # the next build clears what the killed one left
    assert not list(tmp_path.glob("._site.staging-*")) and tree_hash(out) == before


def _held(lock: Path) -> bool:
    import fcntl

    if not lock.exists():
        return False
    with open(lock) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_two_builds_at_once_do_not_interleave(tmp_path, big_corpus):
    out = tmp_path / "_site"
    cmd = [sys.executable, "-m", "sitegen", "build", "--out", str(out)]
    first = subprocess.Popen(cmd + [str(big_corpus)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    from sitegen import output
    lock = output.lock_path(out, ROOT / ".sitegen-cache" / "locks")  # the lock lives in the build cache
    deadline = time.monotonic() + 60
    while not _held(lock):  # wait until the first build holds the lock
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert first.wait(300) == 0 and second.wait(300) == 0
    papers = catalogue(out)
    assert len(papers) == 508  # the second (seeds) build ran after the first and replaced it whole
    assert len(list((out / "papers").glob("*.html"))) == 508


def test_warm_pipeline_cache_gives_the_same_bytes(tmp_path):
    (tmp_path / "in").mkdir()
    for seed in sorted((ROOT / "seeds").glob("00[02]*.txt")):
        (tmp_path / "in" / seed.name).write_bytes(seed.read_bytes())
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\n')
    run_cli("build", "--out", "cold", cwd=tmp_path, check=True)
    cache = tmp_path / ".sitegen-cache"
    names = sorted(p.name for p in cache.iterdir() if p.name != "locks")
    assert len(names) == 9 and names[0] == "builds" and names[3] == "lunr-pipeline-0.8.0.json"
    assert re.fullmatch(r"dedupe-[0-9a-f]{16}\.msgpack", names[1])
    assert re.fullmatch(r"listings-[0-9a-f]{16}\.msgpack", names[2])
    assert re.fullmatch(r"paper-text-[0-9a-f]{16}\.msgpack", names[4])
    assert re.fullmatch(r"related-stems-[0-9a-f]{16}\.msgpack", names[5])
    assert re.fullmatch(r"search-docs-[0-9a-f]{16}\.msgpack", names[6])
    assert re.fullmatch(r"search-postings-[0-9a-f]{16}\.msgpack", names[7])
    assert re.fullmatch(r"slugs-[0-9a-f]{16}\.msgpack", names[8])
    for memo in names[1:3] + names[4:]:
        (cache / memo).write_bytes(b"not a pickle")  # damaged: ignored, rebuilt
    run_cli("build", "--out", "warm", cwd=tmp_path, check=True)
    (cache / "lunr-pipeline-0.8.0.json").write_text("{not json")  # a damaged cache is ignored
    run_cli("build", "--out", "damaged", cwd=tmp_path, check=True)
    assert tree_hash(tmp_path / "cold") == tree_hash(tmp_path / "warm") == tree_hash(tmp_path / "damaged")


# -- the cache cannot run code or change a page (reliability round 2, item 6) -------------------
def _seed_project(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    seed = sorted((ROOT / "seeds").glob("000*.txt"))[0]
    (tmp_path / "in" / seed.name).write_bytes(seed.read_bytes())
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\n')
    return tmp_path


def test_a_crafted_pickle_in_the_cache_runs_nothing(tmp_path):
    import pickle

    project = _seed_project(tmp_path)
    run_cli("build", "--out", "site", cwd=project, check=True)
    proof = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {proof}",))

    cache = project / ".sitegen-cache"
    for memo in list(cache.glob("*-*.msgpack")):
        memo.with_suffix(".pickle").write_bytes(pickle.dumps({"k": Payload()}))
        memo.write_bytes(pickle.dumps({"k": Payload()}))
    (project / "in" / "new.txt").write_text("Mar 14, 2025\n\nA New Paper About Caches\n\n" + ABSTRACT + "\n")
    run_cli("build", "--out", "site", cwd=project, check=True)
    assert not proof.exists()


def test_a_cache_changed_by_another_hand_is_treated_as_absent(tmp_path):
    """A memo rewritten to put markup into pages (it decodes, but is not signed by this user's
    key) is ignored: the page shows the listing's text."""
    from sitegen import cache as cache_module
    from sitegen.views import Link, PaperText

    project = _seed_project(tmp_path)
    run_cli("build", "--out", "site", cwd=project, check=True)
    cache = project / ".sitegen-cache"
    (memo,) = cache.glob("paper-text-*.msgpack")
    content = memo.read_bytes()
    body, signature = content[:-65], content[-65:]
    forged = body.replace(b"Contextual memory in", b"<script>alert(1)</s>", 1)  # as long: still decodes
    assert forged != body and cache_module.loads(forged, (PaperText, Link)) is not None
    memo.write_bytes(forged + signature)  # the old signature no longer fits
    (project / "in" / "new.txt").write_text("Mar 14, 2025\n\nA New Paper About Caches\n\n" + ABSTRACT + "\n")
    run_cli("build", "--out", "site", cwd=project, check=True)
    assert not any(b"<script>alert(1)" in p.read_bytes() for p in (project / "site").rglob("*.html"))
    cold = tmp_path / "cold"
    run_cli("build", "--out", str(cold), "--no-cache", cwd=project, check=True)
    assert tree_hash(project / "site") == tree_hash(cold)


def test_cache_files_are_signed_json_with_checked_shapes(tmp_path, monkeypatch):
    from sitegen import cache

    monkeypatch.setenv(cache.KEY_ENV, "k1")
    cache.cache_key.cache_clear()
    try:
        cache.save_memo(tmp_path, "m", {("a", 1): (b"x", "y")})
        assert cache.load_memo(tmp_path, "m") == {("a", 1): (b"x", "y")}
        monkeypatch.setenv(cache.KEY_ENV, "k2")  # another machine's cache, restored here
        cache.cache_key.cache_clear()
        assert cache.load_memo(tmp_path, "m") == {}
        # a record of a type the memo does not declare does not decode
        from sitegen.config import ListingSettings
        cache.save_memo(tmp_path, "n", {"s": ListingSettings(year=2025)})
        assert cache.load_memo(tmp_path, "n") == {}
        assert cache.load_memo(tmp_path, "n", (ListingSettings,)) == {"s": ListingSettings(year=2025)}
    finally:
        cache.cache_key.cache_clear()


# -- the user's files (item 1) ------------------------------------------------------------------
def test_user_files_survive_builds_and_extra_goes_to_the_site_root(tmp_path):
    project = _seed_project(tmp_path)
    (project / "extra" / ".well-known").mkdir(parents=True)
    (project / "extra" / "CNAME").write_text("digest.example.org\n")
    (project / "extra" / ".htaccess").write_text("Options -Indexes\n")
    (project / "extra" / ".well-known" / "security.txt").write_text("Contact: mailto:a@b.c\n")
    run_cli("build", "--out", "site", cwd=project, check=True)
    site = project / "site"
    assert (site / "CNAME").read_text() == "digest.example.org\n" and (site / ".htaccess").is_file()
    assert (site / ".well-known" / "security.txt").is_file()
    (site / "my-notes.txt").write_text("mine")
    for args in ((), ("--no-cache",)):
        run_cli("build", "--out", "site", *args, cwd=project, check=True)
        assert (site / "my-notes.txt").read_text() == "mine"
    (project / "extra" / "CNAME").write_text("other.example.org\n")  # a change to extra/ is a change
    run_cli("build", "--out", "site", cwd=project, check=True)
    assert (site / "CNAME").read_text() == "other.example.org\n"
    (project / "extra" / "index.html").write_text("clash")
    proc = run_cli("build", "--out", "site", cwd=project)
    assert proc.returncode == 1 and "index.html" in proc.stderr and "Traceback" not in proc.stderr


# -- characters XML cannot hold (item 3) ---------------------------------------------------------
def test_characters_xml_cannot_hold_are_removed_with_a_warning(tmp_path):
    listing = tmp_path / "day.txt"
    listing.write_text("Mar 3, 2025\n\nA Title With \ufffe Odd Bytes\x0b Inside\n\n" + ABSTRACT + " \uffff end.\n",
                       encoding="utf-8")
    out = tmp_path / "_site"
    proc = run_cli("build", str(listing), "--out", str(out), "--base-url", "https://x.org/", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "day.txt:3: warning: removed U+000B, U+FFFE" in proc.stderr
    assert "day.txt:5: warning: removed U+FFFF" in proc.stderr
    for xml_file in list(out.rglob("*.xml")):
        ET.fromstring(xml_file.read_bytes())  # every XML output parses
    assert "A Title With Odd Bytes Inside" in (out / "feed.xml").read_text()
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('title = "Digest \\uffff"\n')
    proc = run_cli("build", str(listing), "--config", str(bad_config), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1 and "bad.toml: `title` holds" in proc.stderr and "Traceback" not in proc.stderr


# -- what the build reads (items 5 and 9) -------------------------------------------------------
def test_the_build_never_reads_its_output_cache_or_tool_folders(tmp_path):
    import os

    project = _seed_project(tmp_path)
    (project / "sitegen.toml").write_text('sources = ["."]\nyear = 2025\nout = "in/_site"\n')
    for tool in (".git", ".venv/lib", "node_modules/pkg", "__pycache__"):
        (project / tool).mkdir(parents=True)
        (project / tool / "junk.txt").write_text("Junk Title\n\n" + ABSTRACT + "\n")
    (project / "in" / "broken.txt").symlink_to(project / "nowhere.txt")
    os.mkfifo(project / "in" / "pipe.txt")
    (project / "in" / "spaces.txt").write_text("   \n \t \n")
    first = run_cli("build", "--report", "r1.json", cwd=project, check=True)
    papers = json.loads((project / "r1.json").read_text())["papers"]
    second = run_cli("build", "--no-cache", "--report", "r2.json", cwd=project, check=True)
    assert json.loads((project / "r2.json").read_text())["papers"] == papers  # not its own output
    assert "not read as sources (the output or cache folder): .sitegen-cache, in/_site" in second.stderr
    assert "not read as sources (a hidden or tool folder): .git, .venv, __pycache__, node_modules" in second.stderr
    assert "in/broken.txt: warning: a link to nothing (broken symlink): skipped" in first.stderr
    assert "in/pipe.txt: warning: not a regular file (a FIFO, socket or device): skipped" in first.stderr
    assert "in/spaces.txt: warning: empty listing: no papers" in first.stderr
    assert "Junk Title" not in json.dumps(catalogue(project / "in" / "_site"))


def test_source_names_do_not_depend_on_the_working_folder(tmp_path):
    project = _seed_project(tmp_path)
    run_cli("build", "--out", "a", cwd=project, check=True)
    run_cli("build", "--config", str(project / "sitegen.toml"), "--out", str(project / "b"), cwd=project / "in",
            check=True)
    names = [{a["source"] for p in catalogue(project / d) for a in p["appearances"]}
             for d in ("a", "b")]
    assert names[0] == names[1] == {"in/000_d73a45edd28825cb.txt"}


def test_a_file_name_that_is_not_utf8_is_reported_without_a_traceback(tmp_path):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(name, "wb") as f:
        f.write(("Mar 3, 2025\n\nA Title Here\n\n" + ABSTRACT + "\n").encode())
    proc = run_cli("build", str(folder), "--out", str(tmp_path / "_site"), cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [a["source"] for p in catalogue(tmp_path / "_site") for a in p["appearances"]] == ["in/caf\ufffd.txt"]


def test_locks_live_in_the_cache_and_home_paths_expand(tmp_path):
    project = _seed_project(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    (project / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\nout = "~/site"\n')
    proc = subprocess.run([sys.executable, "-m", "sitegen", "build"], cwd=project, capture_output=True, text=True,
                          env={**__import__("os").environ, "HOME": str(home)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (home / "site" / "index.html").is_file() and not (project / "~").exists()
    assert not (home / ".site.lock").exists()  # no lock beside the output
    assert list((project / ".sitegen-cache" / "locks").glob("*.lock"))


@pytest.mark.parametrize("bad", ['base_url = "https://x.org/\\nLocation: evil"', 'base_url = "https://"',
                                 'title = "Two\\nLines"'])
def test_bad_settings_are_one_line_errors(tmp_path, bad):
    project = _seed_project(tmp_path)
    (project / "sitegen.toml").write_text(f'sources = ["in"]\nyear = 2025\n{bad}\n')
    proc = run_cli("build", cwd=project)
    assert proc.returncode == 1 and "sitegen.toml: `" in proc.stderr and "Traceback" not in proc.stderr
    assert not (project / "_site").exists()


def test_unwritable_report_and_email_paths_are_one_line_errors(tmp_path):
    project = _seed_project(tmp_path)
    proc = run_cli("build", "--report", str(tmp_path / "no" / "such" / "r.json"), cwd=project)
    assert proc.returncode == 1 and "--report" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("email", "latest", "--base-url", "https://x.org/", "--out", str(tmp_path / "no" / "m.eml"),
                   cwd=project)
    assert proc.returncode == 1 and "--out" in proc.stderr and "Traceback" not in proc.stderr
    for bad in ("a@b.c\r\nBcc: victim@x.org", "not an address"):
        proc = run_cli("email", "latest", "--base-url", "https://x.org/", "--out", str(tmp_path / "m.eml"),
                       "--from", "me@x.org", "--to", bad, cwd=project)
        assert proc.returncode == 1 and "--to" in proc.stderr and "Traceback" not in proc.stderr


def test_a_read_only_output_folder_is_a_one_line_error(tmp_path):
    """A folder the build cannot write into (chmod does not bind root: a read-only bind mount
    stands in where the machine allows it)."""
    import os

    project = _seed_project(tmp_path)
    parent = tmp_path / "ro"
    parent.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["mount", "--bind", "-o", "ro", str(parent), str(parent)], capture_output=True).returncode:
            pytest.skip("root, and no read-only bind mount here: cannot make an unwritable folder")
    else:
        parent.chmod(0o500)
    try:
        proc = run_cli("build", "--out", str(parent / "site"), cwd=project)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "sitegen: error:" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(parent)], capture_output=True)
        else:
            parent.chmod(0o700)


def test_a_full_disk_is_a_one_line_error_and_the_old_site_stays(tmp_path):
    import os

    project = _seed_project(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)],
                                           capture_output=True).returncode:
        pytest.skip("no tmpfs can be mounted here to fill up")
    try:
        out = disk / "site"
        small = tmp_path / "small.txt"
        small.write_text("Mar 3, 2025\n\nA Small Paper\n\n" + ABSTRACT + "\n")
        run_cli("build", str(small), "--out", str(out), "--no-cache", cwd=project, check=True)
        before = tree_hash(out)
        proc = run_cli("build", "--out", str(out), "--no-cache", cwd=project)  # the seed day does not fit
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "No space left on device" in proc.stderr
        assert tree_hash(out) == before and not [p for p in disk.iterdir() if p.name != "site"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.parametrize("damage", ["cache is a file", "builds is a file", "memos are folders", "record is a folder",
                                    "memo is binary", "memo nests deep"])
def test_a_damaged_cache_of_any_kind_costs_only_time(tmp_path, damage):
    import shutil

    project = _seed_project(tmp_path)
    run_cli("build", "--out", "site", cwd=project, check=True)
    cache = project / ".sitegen-cache"
    if damage == "cache is a file":
        shutil.rmtree(cache)
        cache.write_text("x")
    elif damage == "builds is a file":
        shutil.rmtree(cache / "builds")
        (cache / "builds").write_text("x")
    else:
        targets = list(cache.glob("builds/*.json")) if damage == "record is a folder" else [
            p for p in cache.glob("*-*.*") if p.is_file()]
        for path in targets:
            path.unlink()
            if damage.endswith("folder") or damage.endswith("folders"):
                path.mkdir()
            elif damage == "memo is binary":
                path.write_bytes(bytes(range(256)) * 4)
            else:
                path.write_bytes(b"x\n" + b"[" * 100000)
    (project / "in" / "new.txt").write_text("Mar 14, 2025\n\nA New Paper About Caches\n\n" + ABSTRACT + "\n")
    proc = run_cli("build", "--out", "site", cwd=project)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    run_cli("build", "--out", str(tmp_path / "cold"), "--no-cache", cwd=project, check=True)
    assert tree_hash(project / "site") == tree_hash(tmp_path / "cold")
