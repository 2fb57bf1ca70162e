"""Search as a reader uses it, over HTTP and from file://."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_type_a_query_open_the_first_result(page, site_url):
    page.goto(site_url + "index.html")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("title:consistency +music")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    first = page.locator(".search-result .paper-title a").first
    assert first.inner_text() == "Music Consistency Models"
    assert page.locator(".search-result mark").count() >= 1
    assert re.match(r"\d+ papers? match", page.inner_text("#search-status"))
    first.click()
    page.wait_for_url(re.compile(r"papers/music-consistency-models\.html$"))
    assert page.inner_text("h1") == "Music Consistency Models"


def test_results_update_as_you_type_and_the_url_keeps_the_query(page, site_url):
    page.goto(site_url + "search.html")
    page.fill("#site-search", "stable diffusion")
    page.wait_for_function("document.querySelectorAll('.search-result').length > 0")
    assert "q=stable%20diffusion" in page.url
    page.goto(site_url + "search.html?q=difusion~1")
    assert page.locator(".search-result").count() > 0
    assert page.input_value("#site-search") == "difusion~1"


def test_back_button_returns_to_the_previous_query(page, site_url):
    page.goto(site_url + "search.html?q=graph")
    page.fill("#site-search", "quantization")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=quantization"))
    page.go_back()
    page.wait_for_function("document.getElementById('site-search').value === 'graph'")
    assert "graph" in page.inner_text("#search-status")


def test_no_results_and_bad_syntax_are_explained(page, site_url):
    page.goto(site_url + "search.html?q=zzzznotaword")
    assert page.locator(".search-result").count() == 0
    assert "No papers match" in page.inner_text("#search-status")
    page.goto(site_url + "search.html?q=title%3A")
    assert "could not be read" in page.inner_text("#search-status")


def test_keyboard_moves_through_results(page, site_url):
    page.goto(site_url + "search.html?q=consistency")
    page.focus("#site-search")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    links = page.locator(".search-result .paper-title a")
    assert page.evaluate("document.activeElement.textContent") == links.nth(1).inner_text()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.press("ArrowDown")
    expected = links.nth(0).get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(expected) + "$"))


def test_escape_clears(page, site_url):
    page.goto(site_url + "search.html?q=graph")
    page.focus("#site-search")
    page.keyboard.press("Escape")
    assert page.input_value("#site-search") == ""
    assert page.locator(".search-result").count() == 0


def test_results_are_text_not_html(page, site_url):
    page.goto(site_url + "search.html?q=stable")
    assert page.evaluate("document.querySelectorAll('#search-results script, #search-results img').length") == 0
