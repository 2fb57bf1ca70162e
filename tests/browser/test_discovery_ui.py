"""Week/month views, top ordering, appearance history and keyboard shortcuts in a browser."""
from __future__ import annotations

import re

import pytest
from conftest import catalogue

pytestmark = pytest.mark.browser


def test_date_to_week_to_month_to_archive(page, site_url):
    page.goto(site_url + "dates/2025-03-12.html")
    page.click("text=Week 11, 2025")
    page.wait_for_url(re.compile(r"weeks/2025-W11\.html$"))
    assert "Mar 10 \u2013 Mar 16, 2025" in page.inner_text(".stats")
    # Mar 11 and Mar 12 roll up: 118 + 33 listings, each paper once
    count = page.locator(".paper-list > li").count()
    assert 118 < count < 151
    page.click(".days >> text=Mar 11, 2025")
    page.wait_for_url(re.compile(r"dates/2025-03-11\.html$"))
    page.click("text=March 2025")
    page.wait_for_url(re.compile(r"months/2025-03\.html$"))
    page.click("text=Archive")
    page.wait_for_url(re.compile(r"archive\.html$"))
    assert page.locator("text=December 2025").count() == 1


def test_top_ordering_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "dates/2025-12-11.html")
    page.click("text=most upvoted first")
    page.wait_for_url(re.compile(r"dates/2025-12-11-top\.html$"))
    first_three = page.locator(".paper-item .meta").all_inner_texts()[:3]
    assert "3 upvotes" in first_three[0] and "2 upvotes" in first_three[1]
    page.click(".ordering >> text=listing order")
    page.wait_for_url(re.compile(r"dates/2025-12-11\.html$"))
    context.close()


def test_paper_page_shows_its_history(page, site_url, seed_site):
    papers = catalogue(seed_site)
    paper = next(p for p in papers if len(p["dates"]) == 2)
    page.goto(site_url + paper["url"])
    assert page.inner_text(".history").startswith("Listed on 2 days")
    assert page.locator(".appearances li").count() == len(paper["appearances"])


def test_keyboard_shortcuts(page, site_url):
    page.goto(site_url + "dates/2025-03-12.html")
    links = page.locator(".paper-list .paper-title a")
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == links.nth(1).inner_text()
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.textContent") == links.nth(0).inner_text()
    expected = links.nth(0).get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(expected.removeprefix("../")) + "$"))
    page.go_back()
    page.keyboard.press("]")
    page.wait_for_url(re.compile(r"dates/2025-12-11\.html$"))
    page.keyboard.press("[")
    page.wait_for_url(re.compile(r"dates/2025-03-12\.html$"))
    page.keyboard.press("?")
    assert page.locator("dialog.shortcuts[open]").count() == 1
    page.keyboard.press("Escape")
    assert page.locator("dialog.shortcuts[open]").count() == 0
    page.focus("#site-search")
    page.keyboard.press("j")  # typing in the search box is not a shortcut
    assert page.input_value("#site-search") == "j"
    assert page.url.endswith("dates/2025-03-12.html")
