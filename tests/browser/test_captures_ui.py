"""Pages built from today's captures, as a reader sees them in Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, catalogue, run_cli

pytestmark = pytest.mark.browser
SHARED = ROOT.parent / "shared" / "captures"


@pytest.fixture(scope="module")
def capture_site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("captures")
    (base / "in").mkdir()
    for name in ("daily-clipper-2026-04-17.md", "trending-markdown.md"):
        (base / "in" / name).write_bytes((SHARED / name).read_bytes())
    (base / "sitegen.toml").write_text('sources = ["in"]\nlistings."trending-markdown.md".title = "Trending"\n')
    run_cli("build", "--out", "site", cwd=base, check=True)
    return base / "site"


def _paper(site: Path, title: str) -> dict:
    return next(p for p in catalogue(site) if p["title"] == title)


def test_a_captured_paper_shows_its_metadata_and_links_out(page, capture_site):
    paper = _paper(capture_site, "RAD-2: Scaling Reinforcement Learning in a Generator-Discriminator Framework")
    page.goto((capture_site / paper["url"]).as_uri())
    meta = page.inner_text(".paper .meta")
    for part in ("Huazhong University of Science and Technology", "207 upvotes", "4 comments"):
        assert part in meta
    assert "Submitted by Hao605" in page.inner_text(".people")
    links = {a.inner_text(): a.get_attribute("href") for a in page.locator(".links-out a").all()}
    assert links == {"arXiv:2604.15308": "https://arxiv.org/abs/2604.15308",
                     "PDF": "https://arxiv.org/pdf/2604.15308",
                     "Hugging Face": "https://huggingface.co/papers/2604.15308"}
    assert all(a.get_attribute("rel") == "nofollow noopener" for a in page.locator(".links-out a").all())


def test_a_title_only_paper_reads_well(page, capture_site):
    paper = _paper(capture_site, "Three-Phase Transformer")
    page.goto((capture_site / paper["url"]).as_uri())
    assert page.inner_text("h1") == "Three-Phase Transformer"
    abstract = page.inner_text(".abstract")
    assert "The abstract was not in the listings" in abstract and "arXiv" in abstract
    assert page.locator(".abstract a").get_attribute("href").startswith("https://arxiv.org/abs/")
    # and it is on its digest's page, with its metadata, like any other paper
    page.goto((capture_site / "dates" / "2026-04-17.html").as_uri())
    item = page.locator(".paper-item", has_text="Three-Phase Transformer")
    assert "BrainsBuild" in item.inner_text()


def test_a_trending_paper_shows_its_summary_and_code(page, capture_site):
    paper = _paper(capture_site, "Agent Lightning: Train ANY AI Agents with Reinforcement Learning")
    page.goto((capture_site / paper["url"]).as_uri())
    assert page.inner_text(".ai-summary p").startswith("Agent Lightning is a flexible RL framework")
    code = page.locator(".links-out a", has_text="Code")
    assert code.get_attribute("href") == "https://github.com/microsoft/agent-lightning"
    assert "code \u2605 11,300" in page.inner_text(".paper .meta")
