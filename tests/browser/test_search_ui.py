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


def test_title_matches_rank_first(page, site_url):
    search(page, site_url + "search.html?q=title%3Aconsistency%20title%3Amodels")
    titles = page.locator(".search-result .paper-title a").all_inner_texts()
    assert titles[0] == "Consistency Models"
    assert {"Music Consistency Models", "Multistep Consistency Models"} <= set(titles[:6])


def test_a_query_loads_only_what_its_words_need(page, http_site):
    requested = []
    page.on("request", lambda r: requested.append(r.url.split("/search/")[-1]) if "/search/" in r.url else None)
    search(page, http_site + "search.html?q=diffusion%20models%20")  # no word being typed: no prefix
    assert page.locator(".search-result").count() == 10
    kinds = sorted({u.split("/")[0] for u in requested if "/" in u})
    assert "manifest.js" in requested and kinds == ["d", "t"], requested
    assert len([u for u in requested if u.startswith("t/")]) <= 2
    assert len([u for u in requested if u.startswith("d/")]) <= 10
    page.click("button.search-more")
    page.wait_for_function("document.querySelectorAll('.search-result').length === 20")
    assert re.search(r"papers match .*showing the first 20\.", page.inner_text("#search-status"))


def test_an_index_file_that_cannot_load_is_reported(watched, http_site):
    page = watched.page
    page.route("**/search/t/*.js", lambda route: route.abort())
    page.goto(http_site + "search.html?q=diffusion")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('could not be loaded')")
    assert page.locator(".search-result").count() == 0
    assert all("/search/t/" in e or "Failed to load resource" in e for e in watched.errors), watched.errors
    watched.errors.clear()  # the failure was the point


def test_other_pages_load_no_index_until_the_search_box_is_focused(page, http_site):
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(http_site + "papers/consistency-models.html")
    page.wait_for_load_state("networkidle")
    assert not [u for u in requested if "/search/" in u or "lunr" in u]
    with page.expect_request(lambda r: r.url.endswith("/search/manifest.js"), timeout=10_000):
        page.focus("#site-search")
    page.wait_for_function("document.querySelectorAll('link[rel=prefetch]').length === 5")
    fetched = {u.split("/")[-1] for u in requested if "/search/" in u or "lunr" in u or "search" in u}
    assert {"manifest.js", "lunr.min.js", "search-engine.js", "search-worker.js", "search.js"} <= fetched, fetched
    assert not [u for u in requested if "/search/t/" in u or "/search/d/" in u]  # no index chunk ahead


def type_slowly(page, text: str) -> None:
    page.focus("#site-search")
    for ch in text:
        page.keyboard.type(ch)
        page.wait_for_timeout(30)


def settled(page, query: str) -> str:
    page.wait_for_function(
        "q => { const s = document.getElementById('search-status');"
        " return s.dataset.state === 'done' && s.textContent.includes(q); }", arg=query)
    return page.inner_text("#search-status")


def test_the_last_word_matches_as_a_prefix_as_you_type(page, site_url):
    page.goto(site_url + "search.html")
    type_slowly(page, "transfor")
    status = settled(page, "\u201ctransfor\u201d")
    assert re.match(r"\d+ papers match \u201ctransfor\u201d \(all 508 papers searched\)", status), status
    assert "ransformer" in " ".join(page.locator(".search-result .paper-title").all_inner_texts())
    assert page.locator(".search-result mark").first.inner_text().lower().startswith("transform")


def test_every_word_is_required_with_a_fallback_the_status_names(page, site_url):
    search(page, site_url + "search.html?q=consistency%20models%20")
    status = page.inner_text("#search-status")
    assert re.match(r"\d+ papers match \u201cconsistency models\u201d", status), status
    search(page, site_url + "search.html?q=consistency%20zebra%20")
    assert page.inner_text("#search-status").startswith("No paper has every word of \u201cconsistency zebra\u201d; ")


def test_phrases_names_and_typos(page, site_url):
    search(page, site_url + "search.html?q=%22stable%20diffusion%22")
    marks = page.locator(".search-result").first.locator("mark").all_inner_texts()
    assert {"stable", "diffusion"} <= {m.lower() for m in marks}
    search(page, site_url + "search.html?q=GPT-4")
    first = page.locator(".search-result").first.inner_text()
    assert re.search(r"GPT-4\b", first), first
    search(page, site_url + "search.html?q=difusion")
    assert "words spelled like it" in page.inner_text("#search-status")
    assert page.locator(".search-result .excerpt mark").first.inner_text().lower().startswith("diffusion")


def test_the_snippet_shows_the_matched_word(page, site_url):
    """A word that is only late in an abstract: the snippet is cut around it, not the start."""
    search(page, site_url + "search.html?q=laion%20")
    excerpts = page.locator(".search-result .excerpt")
    assert excerpts.count() > 0
    for i in range(excerpts.count()):
        assert excerpts.nth(i).locator("mark").count() > 0 or \
            "laion" in page.locator(".search-result .paper-title").nth(i).inner_text().lower()


def test_results_name_listings_never_files(page, site_url):
    search(page, site_url + "search.html?q=diffusion")
    meta = " ".join(page.locator(".search-result .meta").all_inner_texts())
    assert meta and not re.search(r"\.txt|\.md|_[0-9a-f]{16}", meta), meta


def test_over_http_the_engine_runs_in_a_worker_from_disk_on_the_page(page, site_url):
    search(page, site_url + "search.html?q=diffusion")
    expected = "worker" if site_url.startswith("http") else "page"
    assert page.get_attribute("#search-status", "data-engine") == expected
    assert page.locator(".search-result").count() == 10
    assert "(all 508 papers searched)" in page.inner_text("#search-status")


def test_a_worker_that_cannot_start_hands_over_to_the_page(watched, http_site):
    page = watched.page
    page.route("**/static/search-worker.js", lambda route: route.abort())
    search(page, http_site + "search.html?q=diffusion")
    assert page.get_attribute("#search-status", "data-engine") == "page"
    assert page.locator(".search-result").count() == 10
    watched.errors.clear()  # the refused worker script was the point
