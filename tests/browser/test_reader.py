"""Browsing the seed site as a reader: dates, papers, navigation, layout, colour schemes."""
from __future__ import annotations

import re

import pytest
from conftest import catalogue

pytestmark = pytest.mark.browser


def test_index_lists_every_date(page, site_url, seed_site):
    page.goto(site_url + "index.html")
    links = page.locator(".digest-list a").all_inner_texts()
    assert links[:3] == ["Thursday, December 11, 2025", "Wednesday, March 12, 2025", "Tuesday, March 11, 2025"]
    assert links[3:] == ["Fine-tuning and model merging", "Consistency models"]


def test_date_page_lists_its_papers_in_listing_order(page, site_url, seed_site):
    papers = catalogue(seed_site)
    expected = sorted(((a["rank"], p["title"]) for p in papers for a in p["appearances"]
                       if a["date"] == "2025-03-12"))
    page.goto(site_url + "dates/2025-03-12.html")
    shown = page.locator(".paper-list .paper-title").all_inner_texts()
    assert len(shown) == 33 == len(expected)
    assert shown[0] == expected[0][1] and shown[-1] == expected[-1][1]


def test_click_from_index_to_date_to_paper_to_another_date(page, site_url, seed_site):
    page.goto(site_url + "index.html")
    page.click("text=Wednesday, March 12, 2025")
    page.wait_for_url(re.compile(r"dates/2025-03-12\.html$"))
    papers = catalogue(seed_site)
    paper = next(p for p in papers if "2025-03-12" in p["dates"] and len(p["dates"]) > 1)
    page.click(f'.paper-title a[href="../{paper["url"]}"]')
    page.wait_for_url(re.compile(re.escape(paper["url"]) + "$"))
    assert " ".join(paper["abstract"].split())[:200] in " ".join(page.inner_text(".abstract").split())
    other = [d for d in paper["dates"] if d != "2025-03-12"]
    page.click(f'.appearances a[href="../dates/{other[0]}.html"]')
    page.wait_for_url(re.compile(rf"dates/{other[0]}\.html$"))
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"dates/2025-03-12\.html$"))
    page.click(".breadcrumbs a")
    page.wait_for_url(re.compile(r"index\.html$"))


def test_paper_page_shows_the_full_abstract_and_metadata(page, site_url, seed_site):
    papers = catalogue(seed_site)
    paper = next(p for p in papers if p["organization"])
    page.goto(site_url + paper["url"])
    assert " ".join(paper["abstract"].split()) in " ".join(page.inner_text(".abstract").split())
    meta = page.inner_text(".paper .meta")
    assert "epfl-vita EPFL VITA Lab" in meta and "2 upvotes" in meta


def test_pages_work_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "index.html")
    page.click("text=Thursday, December 11, 2025")
    assert page.locator(".paper-item").count() == 44
    page.goto(site_url + "search.html")
    assert "needs JavaScript" in page.inner_text("noscript") or page.locator("noscript").count() == 1
    context.close()


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_layout_holds_at_phone_and_desktop_width_in_both_schemes(browser, http_site, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    for path in ("index.html", "dates/2025-12-11.html", "papers/consistency-models.html", "search.html?q=stable"):
        page.goto(http_site + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways at {width}px ({scheme})"
        box = page.locator("#site-search").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark = background == "rgb(21, 23, 27)"
    assert dark == (scheme == "dark"), background
    context.close()
