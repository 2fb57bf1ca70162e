"""Accessibility (axe-core), valid HTML (Nu Html Checker), no broken links, and proof that each
check fails on a deliberately broken page (tests/fixtures/broken/)."""
from __future__ import annotations


import pytest

from conftest import ROOT
from linkcheck import crawl_files
from quality import axe, errors, sideways_overflow, validate

from .conftest import Watched

pytestmark = pytest.mark.browser
BROKEN = ROOT / "tests" / "fixtures" / "broken"
PAGES = ["index.html", "dates/2025-03-12.html", "papers/consistency-models.html", "search.html?q=stable", "404.html",
         "listings/003-0cff7f7095663720.html", "archive.html", "weeks/2025-W11.html", "months/2025-12-top.html",
         "papers/when-stylegan-meets-stable-diffusion-a-w-adapter-for-personalized-image.html"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(browser, http_site, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    found = {}
    for path in PAGES:
        page.goto(http_site + path)
        if "search" in path:
            page.wait_for_selector(".search-result")
        violations = axe(page)
        if violations:
            found[path] = violations
    context.close()
    assert found == {}


def test_focus_is_visible(browser, http_site):
    page = browser.new_page()
    page.goto(http_site + "index.html")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "keyboard focus has no visible outline"
    page.close()


def test_every_page_kind_is_valid_html(seed_site):
    sample = [seed_site / p for p in ("index.html", "search.html", "404.html", "dates/2025-03-12.html",
                                      "dates/2025-12-11.html", "listings/003-0cff7f7095663720.html",
                                      "archive.html", "weeks/2025-W11.html", "months/2025-12-top.html")]
    papers = sorted((seed_site / "papers").glob("*.html"))
    sample += papers[::50] + [p for p in papers if "stylegan" in p.name or "hyperz" in p.name or "pixart" in p.name]
    sample += [seed_site / "email" / "2025-03-11.html"]
    assert errors(validate(sample)) == []


def test_whole_site_links_resolve_and_every_page_is_reachable(seed_site):
    reached, broken = crawl_files(seed_site)
    assert broken == []
    pages = {p.relative_to(seed_site).as_posix() for p in seed_site.rglob("*.html")}
    assert pages - reached <= {"404.html"} | {p for p in pages if p.startswith("email/")}


# -- each check fails on a broken page ---------------------------------------------------------

def test_validator_rejects_invalid_html():
    found = errors(validate([BROKEN / "invalid.html"]))
    assert any("Duplicate ID" in m["message"] for m in found)
    assert any("div" in m["message"] for m in found)


def test_axe_reports_contrast_and_missing_labels(browser):
    page = browser.new_page()
    page.goto((BROKEN / "inaccessible.html").as_uri())
    ids = " ".join(axe(page))
    page.close()
    assert "color-contrast" in ids and "label" in ids and "image-alt" in ids


def test_error_watcher_catches_script_errors_and_missing_files(browser):
    page = browser.new_page()
    watched = Watched(page)
    page.goto((BROKEN / "inaccessible.html").as_uri())
    page.goto((BROKEN / "links.html").as_uri())
    page.close()
    text = " ".join(watched.errors)
    assert "undefinedFunction" in text and "missing.css" in text


def test_overflow_check_sees_sideways_scrolling(browser):
    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto((BROKEN / "inaccessible.html").as_uri())
    assert sideways_overflow(page) > 0
    page.close()


def test_link_crawler_reports_missing_files_folders_and_orphans(tmp_path):
    for f in BROKEN.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "index.html").write_text('<a href="links.html">links</a>')
    (tmp_path / "papers").mkdir()
    reached, broken = crawl_files(tmp_path)
    assert sorted(link for _, link in broken) == ["missing.css", "nowhere.html", "papers/"]
    assert "invalid.html" not in reached  # an orphan: nothing links to it
