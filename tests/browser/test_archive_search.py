"""Archive search at scale: a generated 10k-paper corpus, opened from disk in Chromium.

The index is split into shards (a month each here); the page answers from the newest shard
first, then searches the rest as they load, and says how much it has searched.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from urllib.parse import quote

import pytest

from conftest import ROOT, load_manifest, load_shard, run_cli

pytestmark = pytest.mark.browser
GEN = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
# Records, at the moment the first result appears, the status text and how many shards the
# page had asked for.
FIRST = """
window.__first = null;
document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("search-results");
  if (!list) return;  // the init script runs on every page the test opens
  new MutationObserver(function () {
    if (window.__first === null && list.querySelector(".search-result")) {
      window.__first = {status: document.getElementById("search-status").textContent,
                        shards: document.querySelectorAll('script[src*="search/shard-"]').length};
    }
  }).observe(list, {childList: true});
});
"""
ALL_SEARCHED = ("() => { const s = document.getElementById('search-status');"
                " return s.dataset.total && s.dataset.searched === s.dataset.total; }")


@pytest.fixture(scope="module")
def site_10k(tmp_path_factory):
    if not GEN.is_file():
        message = f"{GEN} is not beside this checkout"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("archive")
    subprocess.run([sys.executable, str(GEN), str(ROOT / "seeds"), "10000", str(work / "corpus")], check=True,
                   capture_output=True)
    run_cli("build", str(work / "corpus" / "listings"), "--out", str(work / "site"), "-q", check=True)
    return work / "site"


def test_the_archive_is_split_into_monthly_shards_small_enough_to_start_with(site_10k):
    manifest = load_manifest((site_10k / "search" / "manifest.js").read_text())
    assert manifest["papers"] == 10000
    ids = [s["id"] for s in manifest["shards"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 11  # 30 papers a day from 2024-01-01
    newest = (site_10k / "search" / manifest["shards"][0]["file"]).read_bytes()
    assert len(gzip.compress(newest, 6)) < 1.5e6  # what the page fetches before its first results


def test_a_paper_in_the_oldest_shard_is_found_and_the_status_says_how_much_was_searched(watched, site_10k):
    manifest = load_manifest((site_10k / "search" / "manifest.js").read_text())
    oldest = load_shard((site_10k / "search" / manifest["shards"][-1]["file"]).read_text())
    title, url = oldest["store"][5][0], oldest["store"][5][1]
    page = watched.page
    page.add_init_script(FIRST)
    page.goto((site_10k / "search.html").as_uri() + "?q=" + quote(title.replace(":", " ")), wait_until="domcontentloaded")
    page.wait_for_function("window.__first !== null", timeout=60_000)
    first = page.evaluate("window.__first")
    # The first results come from the newest shard alone, and say so.
    assert first["shards"] == 1
    newest = manifest["shards"][0]["papers"]
    assert f"({newest:,} of 10,000 papers searched, the rest are loading)" in first["status"], first["status"]
    page.wait_for_function(ALL_SEARCHED, timeout=120_000)
    assert "(all 10,000 papers searched)" in page.inner_text("#search-status")
    assert page.locator(".search-result .paper-title a").first.get_attribute("href") == url
    page.locator(".search-result .paper-title a").first.click()
    page.wait_for_url("**/" + url)
    assert page.inner_text("h1") == title


def test_merged_results_are_ordered_by_score_over_the_whole_archive(watched, site_10k, tmp_path):
    """The browser's merged order for a query equals the order of one lunr index over all
    10,000 papers (Node, same scores): compared by score, ties in any order."""
    page = watched.page
    page.goto((site_10k / "search.html").as_uri() + "?q=consistency%20distillation")
    page.wait_for_function(ALL_SEARCHED, timeout=120_000)
    shown = page.locator(".search-result .paper-title a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(shown) == 100
    node = subprocess.run(["node", str(ROOT / "tests" / "js" / "query.js"), "--merged", str(site_10k)],
                          input=json.dumps(["consistency distillation"]), capture_output=True, text=True, check=True)
    merged = json.loads(node.stdout)["merged"][0]
    store = {}
    for entry in load_manifest((site_10k / "search" / "manifest.js").read_text())["shards"]:
        shard = load_shard((site_10k / "search" / entry["file"]).read_text())
        store.update({ref: doc[1] for ref, doc in zip(shard["refs"], shard["store"])})
    score = {store[ref]: s for ref, s in merged}
    shown_scores = [score[u] for u in shown]
    assert shown_scores == sorted(shown_scores, reverse=True)
    assert shown_scores == sorted(score.values(), reverse=True)[:100]
