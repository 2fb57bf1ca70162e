"""Hostile titles in a real browser: the search UI inserts results as text, nothing runs."""
from __future__ import annotations

import pytest

from conftest import run_cli

pytestmark = pytest.mark.browser
ABSTRACT = ("We study a problem that matters a great deal. Our method improves results on many benchmarks while "
            "remaining simple to implement, and we release code and models for everyone to use.")
TITLES = ["<img src=x onerror=alert(1)> Zebra findings", "<script>alert(2)</script> Zebra results",
          "\"><svg onload=alert(3)> Zebra study"]


def test_hostile_titles_show_as_text_in_pages_and_search(browser, tmp_path):
    (tmp_path / "x.txt").write_text("Mar 3, 2025\n\n" + "".join(f"{t}\n\n{ABSTRACT}\n\n" for t in TITLES))
    run_cli("build", "x.txt", "--out", "site", cwd=tmp_path, check=True)
    page = browser.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    root = (tmp_path / "site").as_uri()
    page.goto(root + "/search.html?q=zebra")
    page.wait_for_selector(".search-result")
    shown = page.locator(".search-result .paper-title").all_inner_texts()
    assert sorted(shown) == sorted(TITLES)
    assert page.evaluate("document.querySelectorAll('#search-results img, #search-results script, #search-results svg').length") == 0
    page.goto(root + "/dates/2025-03-03.html")
    assert sorted(page.locator(".paper-title").all_inner_texts()) == sorted(TITLES)
    page.close()
    assert dialogs == [] and errors == []
