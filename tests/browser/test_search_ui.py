"""Search as a reader uses it, over HTTP and from file://."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

ALL_SEARCHED = ("() => { const s = document.getElementById('search-status');"
                " return s.dataset.total && s.dataset.searched === s.dataset.total; }")


def search(page, url: str) -> None:
    """Open a search page and wait until every shard of the index has been searched."""
    page.goto(url)
    page.wait_for_function(ALL_SEARCHED)


def test_type_a_query_open_the_first_result(page, site_url):
    page.goto(site_url + "index.html")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("title:consistency +music")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    page.wait_for_function(ALL_SEARCHED)
    first = page.locator(".search-result .paper-title a").first
    assert first.inner_text() == "Music Consistency Models"
    assert page.locator(".search-result mark").count() >= 1
    assert re.match(r"\d+ papers? match .* \(all 508 papers searched\)", page.inner_text("#search-status"))
    first.click()
    page.wait_for_url(re.compile(r"papers/music-consistency-models\.html$"))
    assert page.inner_text("h1") == "Music Consistency Models"


def test_results_update_as_you_type_and_the_url_keeps_the_query(page, site_url):
    page.goto(site_url + "search.html")
    page.fill("#site-search", "stable diffusion")
    page.wait_for_function("document.querySelectorAll('.search-result').length > 0")
    assert "q=stable%20diffusion" in page.url
    search(page, site_url + "search.html?q=difusion~1")
    assert page.locator(".search-result").count() > 0
    assert page.input_value("#site-search") == "difusion~1"


def test_back_button_returns_to_the_previous_query(page, site_url):
    search(page, site_url + "search.html?q=graph")
    page.fill("#site-search", "quantization")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=quantization"))
    page.go_back()
    page.wait_for_function("document.getElementById('site-search').value === 'graph'")
    assert "graph" in page.inner_text("#search-status")


def test_no_results_and_bad_syntax_are_explained(page, site_url):
    search(page, site_url + "search.html?q=zzzznotaword")
    assert page.locator(".search-result").count() == 0
    assert page.inner_text("#search-status").startswith("No papers match \u201czzzznotaword\u201d (all 508 papers searched). Try")
    page.goto(site_url + "search.html?q=title%3A")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('could not')")
    assert "could not be read" in page.inner_text("#search-status")


def test_keyboard_moves_through_results(page, site_url):
    search(page, site_url + "search.html?q=consistency")
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
    search(page, site_url + "search.html?q=graph")
    page.focus("#site-search")
    page.keyboard.press("Escape")
    assert page.input_value("#site-search") == ""
    assert page.locator(".search-result").count() == 0


def test_results_are_text_not_html(page, site_url):
    search(page, site_url + "search.html?q=stable")
    assert page.evaluate("document.querySelectorAll('#search-results script, #search-results img').length") == 0


def test_results_are_merged_by_score_across_shards(page, site_url):
    """The seed index has three shards; the best "consistency models" papers come from two of
    them and are shown best first, as one index would rank them."""
    search(page, site_url + "search.html?q=title%3Aconsistency%20title%3Amodels")
    titles = page.locator(".search-result .paper-title a").all_inner_texts()
    assert titles[0] == "Consistency Models"
    assert {"Music Consistency Models", "Multistep Consistency Models"} <= set(titles[:6])


def test_the_status_says_how_much_was_searched_while_shards_load(page, http_site):
    """Hold back the last shard: results from the others show, and say they are partial."""
    page.route("**/search/shard-undated.js", lambda route: None)  # never answered
    page.goto(http_site + "search.html?q=diffusion", wait_until="domcontentloaded")
    page.wait_for_function("document.getElementById('search-status').dataset.searched === '161'")
    page.wait_for_selector(".search-result")
    status = page.inner_text("#search-status")
    assert re.fullmatch(r"\d+ papers match \u201cdiffusion\u201d \(161 of 508 papers searched, the rest are loading\)\.", status), status


def test_a_shard_that_cannot_load_is_reported(watched, http_site):
    page = watched.page
    page.route("**/search/shard-2025-03.js", lambda route: route.abort())
    page.goto(http_site + "search.html?q=diffusion")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('could not be loaded')")
    status = page.inner_text("#search-status")
    assert "(391 of 508 papers searched; 1 part of the index could not be loaded)" in status, status
    assert page.locator(".search-result").count() > 0
    assert all("shard-2025-03.js" in e or "Failed to load resource" in e for e in watched.errors), watched.errors
    watched.errors.clear()  # the failure was the point


def test_other_pages_load_no_index_until_the_search_box_is_focused(page, http_site):
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(http_site + "papers/consistency-models.html")
    page.wait_for_load_state("networkidle")
    assert not [u for u in requested if "/search/" in u or "lunr" in u]
    # Focusing prefetches lunr and the scripts at once, then the newest shard once the manifest
    # has named it: wait for that request (networkidle has fired already and would not wait).
    with page.expect_request(lambda r: "/search/shard-" in r.url, timeout=10_000):
        page.focus("#site-search")
    page.wait_for_function("document.querySelectorAll('link[rel=prefetch]').length >= 4")
    fetched = {u.split("/")[-1] for u in requested if "/search/" in u or "lunr" in u}
    assert {"manifest.js", "shard-2025-12.js", "lunr.min.js"} <= fetched, fetched
    assert "shard-undated.js" not in fetched  # only the newest shard is fetched ahead
