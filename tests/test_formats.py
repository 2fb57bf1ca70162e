"""Listing formats: today's captures (Markdown clips, linked-text exports) read as their papers,
with nothing of the page chrome or link syntax made a paper. One fixture per shape in
tests/fixtures/captures/, and the two real captures in ../shared/captures/."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, catalogue, run_cli
from sitegen import formats, listing
from sitegen.config import ListingSettings

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
SHARED = ROOT.parent / "shared" / "captures"
DAILY = SHARED / "daily-clipper-2026-04-17.md"
TRENDING = SHARED / "trending-markdown.md"
JUNK = re.compile(r"\]\(|^#|https?://|^\[|^[\d.,k\s-]*$|^(?:submitted by|get trending|daily papers)", re.I)


def read(path: Path, name: str | None = None, **settings) -> listing.Listing:
    return listing.parse(path.read_bytes(), name or path.name, ListingSettings(**settings))


def no_junk(result: listing.Listing) -> None:
    for e in result.entries:
        assert not JUNK.search(e.title), f"junk paper at line {e.line}: {e.title!r}"


def test_the_daily_clip_is_29_papers_with_ids():
    result = read(DAILY)
    assert result.format == "markdown" and result.date == dt.date(2026, 4, 17)  # from the front matter
    assert len(result.entries) == 29 and all(e.arxiv_id for e in result.entries)
    assert len({e.arxiv_id for e in result.entries}) == 29 and result.problems == ()
    no_junk(result)
    first, second = result.entries[:2]
    assert first.title == ("HY-World 2.0: A Multi-Modal World Model for Reconstructing, Generating, and "
                           "Simulating 3D Worlds")
    assert (first.arxiv_id, first.upvotes, first.comments, first.authors_count, first.submitter) == (
        "2604.14268", 1090, 4, 45, "taesiri")
    assert (second.arxiv_id, second.upvotes, second.organization, second.submitter) == (
        "2604.15308", 207, "Huazhong University of Science and Technology", "Hao605")
    assert sum(e.upvotes is not None for e in result.entries) == 20  # the page shows 20 upvote counts
    assert all(e.comments is not None for e in result.entries)
    assert all(e.abstract == "" for e in result.entries)  # the 2026 daily page has no abstracts


def test_the_trending_dump_is_50_distinct_papers_none_twice():
    result = read(TRENDING)
    titles = [e.title for e in result.entries]
    assert len(titles) == 50 and len(set(titles)) == 50
    no_junk(result)
    by_title = {e.title: e for e in result.entries}
    agent = by_title["Agent Lightning: Train ANY AI Agents with Reinforcement Learning"]
    assert (agent.authors_count, agent.code_url, agent.code_stars) == (
        8, "https://github.com/microsoft/agent-lightning", 11300)
    assert agent.ai_summary.startswith("Agent Lightning is a flexible RL framework") and agent.abstract == ""
    smol = next(t for t in titles if t.startswith("SmolDocling"))
    assert smol == ("SmolDocling: An ultra-compact vision-language model for end-to-end multi-modal document "
                    "conversion")  # a title wrapped onto a second line
    calm = by_title["Continuous Audio Language Models"]
    assert calm.abstract.startswith("Audio Language Models (ALM) have emerged") and "\n" not in calm.abstract
    assert [p.message for p in result.problems] == [
        p.message for p in result.problems if p.message.startswith("no digest date")]  # only the undated note


def test_a_clip_with_linked_titles_abstracts_as_links_and_split_headings():
    result = read(CAPTURES / "clipper-linked-titles.md")
    assert result.date == dt.date(2026, 5, 29) and result.heading == "Daily Papers - Hugging Face"
    assert result.problems == ()
    a, b, c = result.entries
    assert a.title == "Scaling Laws for [Citation needed] Detection in Long Documents"
    assert (a.arxiv_id, a.upvotes, a.comments, a.authors_count, a.authors, a.submitter, a.published) == (
        "2606.00683", 101, 6, 3, ("Ada Lovelace", "Alan Turing"), "akhaliq", dt.date(2026, 5, 29))
    assert a.abstract.startswith("We study how models learn") and "\\" not in a.abstract
    assert b.title == ("A Very Long Title About Mixture of Experts That the Clipper Split Over Two Heading Lines")
    assert (b.arxiv_id, b.upvotes, b.comments, b.organization, b.published) == (
        "2606.01111", 1090, 12, "Example University", dt.date(2026, 5, 28))  # id from the thumbnail, v2 dropped
    assert (c.title, c.abstract, c.authors_count, c.upvotes, c.comments) == (
        "Title Only Paper Without Abstract", "", 5, 7, 0)


def test_reference_style_links_even_inside_a_fence():
    result = read(CAPTURES / "reference-links.md")
    a, b = result.entries
    assert (a.arxiv_id, a.upvotes, a.comments, a.authors_count, a.code_url, a.code_stars) == (
        "2606.03333", 42, 3, 4, "https://github.com/example/reference-links", 2500)
    assert a.abstract.startswith("We present a method that reads reference-style links")
    assert (b.arxiv_id, b.upvotes) == ("hep-th/9901001", 9)  # an old-style id, its version dropped
    assert result.date == dt.date(2026, 6, 2) and result.problems == ()


def test_linked_text_exports():
    result = read(CAPTURES / "linked-text.txt")
    assert result.format == "linked text" and result.date == dt.date(2026, 6, 3) and result.problems == ()
    a, b = result.entries
    assert (a.title, a.arxiv_id, a.upvotes, a.comments, a.authors_count, a.submitter) == (
        "Plain Text Exports Keep Their Links", "2606.04444", 88, 5, 6, "taesiri")
    assert a.abstract.startswith("We show that exports") or a.ai_summary.startswith("We show that exports")
    assert (b.title, b.arxiv_id, b.upvotes, b.comments, b.organization, b.submitter) == (
        "A Second Exported Paper", "2606.05555", None, 2, "Example Lab", "akhaliq")


def test_a_truncated_capture_keeps_its_whole_cards_and_warns_once():
    result = read(CAPTURES / "truncated.md")
    assert [e.title for e in result.entries] == ["A Whole Card Before the Cut"]
    (problem,) = result.problems
    assert problem.line == 13 and "cut off" in problem.message


def test_cards_captured_twice_are_one_and_summaries_are_kept_apart():
    result = read(CAPTURES / "weekly-summaries.md", title="Weekly")
    assert [e.title for e in result.entries] == ["Short Summaries Instead of Abstracts", "Consistency Models",
                                                 "Music Consistency Models"]
    first = result.entries[0]
    assert first.ai_summary.startswith("Short summaries replace") and first.abstract == ""
    assert (first.code_stars, first.authors_count) == (950, 3)
    assert [e.published for e in result.entries[1:]] == [dt.date(2023, 3, 2), dt.date(2024, 4, 1)]


def test_the_format_is_told_from_the_content_never_the_name():
    assert read(DAILY, "renamed.txt").format == "markdown"
    seed = ROOT / "seeds" / "000_d73a45edd28825cb.txt"
    as_md = read(seed, "000.md", year=2025)
    assert as_md.format == "text" and len(as_md.entries) == 33
    assert formats.pick((CAPTURES / "linked-text.txt").read_text()).NAME == "linked text"


@pytest.mark.parametrize("text,expected", [
    ("Mar 13\n\nA Paper\n{A}\n", dt.date(2025, 3, 13)),  # the config's year
    ("---\ncreated: 2026-01-05\n---\n# Daily Papers\n\nDec 30\n\n### A Paper\n\n{A}\n", dt.date(2025, 12, 30)),
    ("# Daily Papers\n\n### A Paper\n\n{A}\n\n[Daily](https://huggingface.co/papers/date/2026-02-03)\n", dt.date(2026, 2, 3)),
    ("Mar 40\n\nA Paper\n{A}\n", None),
])
def test_the_digest_date_comes_from_the_file_first(text, expected):
    abstract = ("We study a problem that matters a great deal. Our method improves results on many benchmarks "
                "while remaining simple to implement, and we release code.")
    result = listing.parse(text.replace("{A}", abstract).encode(), "paste.md", ListingSettings(), 2025)
    assert result.date == expected
    if expected is None:
        assert any("not a real date" in p.message for p in result.problems)


def test_a_file_name_gives_the_date_and_its_year():
    abstract = "We study a problem that matters a great deal. Our method improves results on many benchmarks today."
    dated = listing.parse(f"Mar 13\n\nA Paper\n{abstract}\n".encode(), "in/2026-03-13.txt")
    assert dated.date == dt.date(2026, 3, 13) and dated.problems == ()
    headerless = listing.parse(f"A Paper\n{abstract}\n".encode(), "in/2026-03-14.txt")
    assert headerless.date == dt.date(2026, 3, 14)
    yearless = listing.parse(f"Mar 13\n\nA Paper\n{abstract}\n".encode(), "in/paste.txt")
    assert yearless.date is None and "add `year =" in yearless.problems[0].message


def test_captures_build_into_pages_that_link_out(tmp_path):
    (tmp_path / "in").mkdir()
    for path in (DAILY, TRENDING, CAPTURES / "clipper-linked-titles.md"):
        (tmp_path / "in" / path.name).write_bytes(path.read_bytes())
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2026\n'
                                           'listings."trending-markdown.md".title = "Trending"\n')
    proc = run_cli("build", "--out", "site", cwd=tmp_path, check=True)
    assert "warning" not in proc.stderr, proc.stderr
    site = tmp_path / "site"
    papers = {p["title"]: p for p in catalogue(site)}
    assert len(papers) == 29 + 50 + 3
    hy = papers["HY-World 2.0: A Multi-Modal World Model for Reconstructing, Generating, and Simulating 3D Worlds"]
    assert (hy["arxiv_id"], hy["upvotes"], hy["comments"], hy["submitter"]) == ("2604.14268", 1090, 4, "taesiri")
    page = (site / hy["url"]).read_text()
    for href in ("https://arxiv.org/abs/2604.14268", "https://arxiv.org/pdf/2604.14268",
                 "https://huggingface.co/papers/2604.14268"):
        assert f'href="{href}" rel="nofollow noopener"' in page
    assert "The abstract was not in the listings" in page and "Submitted by taesiri" in page
    agent = papers["Agent Lightning: Train ANY AI Agents with Reinforcement Learning"]
    page = (site / agent["url"]).read_text()
    assert 'href="https://github.com/microsoft/agent-lightning" rel="nofollow noopener">Code<' in page
    assert "AI summary" in page and "code \u2605 11,300" in page
    scaling = papers["Scaling Laws for [Citation needed] Detection in Long Documents"]
    page = (site / scaling["url"]).read_text()
    assert '<a href="https://github.com/example/citations" rel="nofollow noopener">' in page  # a URL in the abstract
    assert scaling["authors"] == ["Ada Lovelace", "Alan Turing"]


# -- sitegen add ---------------------------------------------------------------------------------
def test_add_writes_a_paste_under_its_date_and_the_build_publishes_it(tmp_path):
    import subprocess
    import sys

    (tmp_path / "sitegen.toml").write_text('sources = ["listings"]\nyear = 2026\n')
    proc = run_cli("add", str(DAILY), cwd=tmp_path, check=True)
    assert "digest date 2026-04-17, 29 papers, 29 with arXiv ids" in proc.stdout
    added = tmp_path / "listings" / "2026-04-17.md"
    assert added.read_bytes() == DAILY.read_bytes()
    again = subprocess.run([sys.executable, "-m", "sitegen", "add", "-"], cwd=tmp_path, input=DAILY.read_bytes(),
                           capture_output=True, timeout=120)
    assert again.returncode == 0 and b"Already there" in again.stdout  # the same bytes: nothing to do
    seed = (ROOT / "seeds" / "000_d73a45edd28825cb.txt").read_text().replace("\nMar 12\n", "\nApr 17\n")
    (tmp_path / "paste.txt").write_text(seed)
    run_cli("add", "paste.txt", cwd=tmp_path, check=True)  # a .txt of the same day: another listing
    (tmp_path / "paste.txt").write_text(seed.replace("Omni-Mol", "Omni-Molecule"))
    refused = run_cli("add", "paste.txt", cwd=tmp_path)
    assert refused.returncode == 1 and "already holds a different listing" in refused.stderr
    assert "Omni-Molecule" not in (tmp_path / "listings" / "2026-04-17.txt").read_text()
    undated = run_cli("add", str(TRENDING), cwd=tmp_path)
    assert undated.returncode == 1 and "--date" in undated.stderr and "Traceback" not in undated.stderr
    run_cli("add", str(TRENDING), "--date", "2026-04-16", cwd=tmp_path, check=True)
    build = run_cli("build", "--report", "r.json", cwd=tmp_path, check=True)
    report = json.loads((tmp_path / "r.json").read_text())
    assert {s["source"]: s["date"] for s in report["sources"]} == {
        "listings/2026-04-16.md": "2026-04-16", "listings/2026-04-17.md": "2026-04-17",
        "listings/2026-04-17.txt": "2026-04-17"}
    assert report["warnings"] == [], build.stderr


def test_every_problem_a_reader_reports_has_a_documented_code():
    import re as regex

    documented = set(regex.findall(r"`([a-z0-9-]+)`", (ROOT / "docs" / "reference.md").read_text()
                                   .split("## Problems", 1)[1]))
    sources = list(CAPTURES.glob("*")) + list((Path(__file__).parent / "fixtures" / "listings").glob("*")) + \
        list((Path(__file__).parent / "fixtures" / "api").glob("*")) + [TRENDING]
    samples = [(p.read_bytes(), p.name) for p in sources] + [
        (b"\xff\xfe\x00", "x.txt"), (b"", "e.txt"), (b"Mar 40\n\nA Title\nshort\n\xe9\n", "w.txt"),
        (b"{not json", "bad.json"), (b"\x00\x01\x02" * 100, "bin.txt"), ("A\ufffe\n".encode(), "x.txt")]
    seen = set()
    for raw, name in samples:
        for problem in listing.parse(raw, name).problems:
            assert problem.code in documented, f"{name}: {problem} has no documented code"
            seen.add(problem.code)
    assert len(seen) >= 8
