"""The front page and list pages as a daily reader uses them: the newest digest first, a compact
list mode that is remembered, repeats marked, focus back on the paper after Back, and a 404
page that works at any depth."""
from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
from conftest import catalogue

pytestmark = pytest.mark.browser


def test_the_front_page_leads_with_the_newest_digest(page, site_url, seed_site):
    page.goto(site_url + "index.html")
    latest = page.locator("section.latest")
    assert "Thursday, December 11, 2025" in latest.locator("h2").inner_text()
    titles = latest.locator(".paper-title").all_inner_texts()
    papers = catalogue(seed_site)
    expected = sorted((a["rank"], p["title"]) for p in papers for a in p["appearances"] if a["date"] == "2025-12-11")
    assert len(titles) == 44 and titles[0] == expected[0][1]
    assert latest.locator(".excerpt").count() > 0
    links = latest.locator(".stats a").all_inner_texts()
    assert "Week 50, 2025" in links and "December 2025" in links and "Mar 12, 2025" in links and "the archive" in links
    assert page.locator(".digest-list").first.is_visible()  # the date list stays below


def test_compact_mode_is_remembered(page, site_url):
    page.goto(site_url + "dates/2025-03-12.html")
    excerpt = page.locator(".paper-list .excerpt").first
    assert excerpt.is_visible()
    full_height = page.locator(".paper-list").bounding_box()["height"]
    page.click("button.list-mode")
    assert not excerpt.is_visible() and page.locator("button.list-mode").get_attribute("aria-pressed") == "true"
    assert page.locator(".paper-list").bounding_box()["height"] < full_height / 2
    page.goto(site_url + "dates/2025-03-11.html")  # another page, the same choice
    assert not page.locator(".paper-list .excerpt").first.is_visible()
    page.reload()
    assert page.locator("button.list-mode").get_attribute("aria-pressed") == "true"
    page.click("button.list-mode")
    assert page.locator(".paper-list .excerpt").first.is_visible()


def test_without_javascript_the_full_list_shows_and_no_dead_button(browser, seed_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        p.goto((seed_site / "dates" / "2025-03-12.html").as_uri())
        assert p.locator(".paper-list .excerpt").first.is_visible()
        assert not p.locator("button.list-mode").is_visible()
    finally:
        context.close()


def test_papers_listed_before_are_marked(page, site_url, seed_site):
    papers = catalogue(seed_site)
    repeat = next(p for p in papers if p["dates"][:2] == ["2025-03-11", "2025-03-12"])
    fresh = next(p for p in papers if p["dates"] == ["2025-03-12"])
    page.goto(site_url + "dates/2025-03-12.html")
    item = page.locator(f"li.paper-item#{repeat['id']}")
    assert "also listed Mar 11" in item.locator(".repeat-note").inner_text()
    assert "repeat" in item.get_attribute("class")
    assert page.locator(f"li.paper-item#{fresh['id']} .repeat-note").count() == 0


def test_back_from_a_paper_returns_focus_to_it(page, site_url):
    page.goto(site_url + "dates/2025-03-11.html")
    for _ in range(40):
        page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    page.wait_for_url("**/papers/**")
    page.go_back()
    page.wait_for_url("**/dates/2025-03-11.html")
    page.wait_for_function("document.activeElement && document.activeElement.getAttribute('href') === %s" % json.dumps(focused))
    top = page.evaluate("document.activeElement.getBoundingClientRect().top")
    assert 0 <= top <= page.viewport_size["height"]
    page.keyboard.press("j")  # j goes on from the paper opened
    assert page.evaluate("document.activeElement.closest('li').previousElementSibling.querySelector('a').getAttribute('href')") == focused


class _Pages(http.server.SimpleHTTPRequestHandler):
    """Like GitHub Pages: any missing path, at any depth, gets /404.html with status 404."""

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        if code != 404:
            return super().send_error(code, message, explain)
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_404_page_works_at_any_depth_without_a_base_url(browser, seed_site):
    assert "<base" not in (seed_site / "404.html").read_text()  # the seed site has no base URL
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Pages, directory=str(seed_site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        p = context.new_page()
        url = f"http://127.0.0.1:{server.server_address[1]}/no/such/deep/page.html"
        assert p.goto(url).status == 404
        p.wait_for_function("document.querySelector('base') !== null")
        p.wait_for_function("getComputedStyle(document.querySelector('.site-header')).borderBottomStyle === 'solid'")
        home = p.locator("main a", has_text="list of digests")
        assert home.evaluate("a => a.href") == f"http://127.0.0.1:{server.server_address[1]}/index.html"
        home.click()
        p.wait_for_url("**/index.html")
        assert p.locator("h1").inner_text() == "Paper Digest"
    finally:
        context.close()
        server.shutdown()
