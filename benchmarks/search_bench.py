"""Measure archive search in headless Chromium, on a built site opened from disk (file://).

usage: python benchmarks/search_bench.py SITE [SITE ...] [--runs 3] [--query diffusion]

For each site, in a fresh browser page each run (medians of --runs):
- first results: from opening `search.html?q=QUERY` (what the search box on every page
  submits) to the first result on screen, and how much of the index (gzip bytes of the
  manifest and the shards requested by then) the page had asked for;
- whole archive: from opening the page to the status saying every paper was searched;
- oldest paper: how long until a paper from the oldest shard shows up for its own title;
- long tasks: the longest main-thread task (PerformanceObserver "longtask") from opening the
  page until the whole archive was searched, and how many took over 200 ms (median and
  worst run).
Times are taken inside the page (performance.now()), so Playwright's own latency is not in them.
Chromium is Debian's /usr/bin/chromium (SITEGEN_CHROMIUM overrides it).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("SITEGEN_CHROMIUM", "/usr/bin/chromium")
# Installed before any page script: records long tasks, the moment of each submit, and when
# the result list first gets a result after it.
PROBE = """
window.__probe = {long: [], submitted: null, first: null, scripts: null};
// A query in the address (search.html?q=...: what the search box of every other page sends)
// counts as submitted when the navigation started.
if (new URLSearchParams(location.search).get("q")) window.__probe.submitted = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { window.__probe.long.push(e.duration); });
}).observe({type: "longtask", buffered: true});
document.addEventListener("submit", function () {
  window.__probe.submitted = performance.now();
  window.__probe.first = null;
}, true);
document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("search-results");
  if (!list) return;
  new MutationObserver(function () {
    var p = window.__probe;
    if (p.submitted !== null && p.first === null && list.querySelector(".search-result")) {
      p.first = performance.now();
      p.scripts = document.querySelectorAll('script[src*="search/shard-"]').length;
    }
  }).observe(list, {childList: true});
});
"""
EVERYTHING_SEARCHED = ("() => { const s = document.getElementById('search-status');"
                       " return s.dataset.searched && s.dataset.searched === s.dataset.total; }")


def read_manifest(site: Path) -> dict:
    text = (site / "search" / "manifest.js").read_text(encoding="utf-8")
    return json.loads(text[len("window.SITEGEN_SEARCH="):-2])


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


def oldest_title(site: Path, manifest: dict) -> tuple[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import load_shard  # the tests' reader of shard files

    oldest = load_shard((site / "search" / manifest["shards"][-1]["file"]).read_text(encoding="utf-8"))
    return oldest["store"][0][0], oldest["store"][0][1]


def one_run(browser, site: Path, query: str, shard_gzip: list[int], manifest_gzip: int, oldest: tuple[str, str]) -> dict:
    page = browser.new_page()
    page.add_init_script(PROBE)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = (site / "search.html").as_uri()
    page.goto(f"{url}?q={quote(query)}", wait_until="commit")
    page.wait_for_function("() => window.__probe.first !== null", timeout=120_000)
    page.wait_for_function(EVERYTHING_SEARCHED, timeout=300_000)
    probe = page.evaluate("() => Object.assign({}, window.__probe, {now: performance.now()})")
    run = {
        "first_ms": probe["first"] - probe["submitted"],
        "first_index_kb_gzip": (manifest_gzip + sum(shard_gzip[:probe["scripts"]])) / 1024,
        "shards_before_first": probe["scripts"],
        "all_ms": probe["now"] - probe["submitted"],
        "longest_task_ms": max(probe["long"], default=0),
        "tasks_over_200ms": sum(1 for d in probe["long"] if d > 200),
    }
    page.close()
    # The oldest paper, searched for by its title on a fresh page: found only once its shard is in.
    page = browser.new_page()
    page.add_init_script(PROBE)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#site-search")
    page.fill("#site-search", oldest[0].replace(":", " ").replace("~", " ").replace("^", " "))
    started = page.evaluate("performance.now()")
    page.press("#site-search", "Enter")
    page.wait_for_selector(f'.search-result a[href="{oldest[1]}"]', timeout=300_000)
    run["oldest_found_ms"] = page.evaluate("performance.now()") - started
    page.close()
    run["errors"] = errors
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sites", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--query", default="diffusion")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        for site in args.sites:
            manifest = read_manifest(site)
            shard_gzip = [gzip_size(site / "search" / s["file"]) for s in manifest["shards"]]
            runs = [one_run(browser, site, args.query, shard_gzip, gzip_size(site / "search" / "manifest.js"),
                            oldest_title(site, manifest)) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "errors"}
            med["errors"] = sum(len(r["errors"]) for r in runs)
            # The worst run too: a freeze in any run is a freeze a reader would feel.
            med["worst_longest_task_ms"] = max(r["longest_task_ms"] for r in runs)
            med["worst_tasks_over_200ms"] = max(r["tasks_over_200ms"] for r in runs)
            med["papers"], med["shards"] = manifest["papers"], len(manifest["shards"])
            med["index_mb_gzip"] = sum(shard_gzip) / 1e6
            results[str(site)] = med
            print(f"== {site} ({manifest['papers']:,} papers in {len(manifest['shards'])} shards, "
                  f"{med['index_mb_gzip']:.1f} MB gzip), medians of {args.runs} runs in Chromium from file://")
            print(f"  first results     {med['first_ms']:7.0f} ms after opening search.html?q=..., "
                  f"{med['first_index_kb_gzip']:.0f} KB gzip of index asked for before them "
                  f"({med['shards_before_first']:.0f} shard(s))")
            print(f"  whole archive     {med['all_ms']:7.0f} ms after opening")
            print(f"  oldest paper      {med['oldest_found_ms']:7.0f} ms after submit (its own title as the query)")
            print(f"  long tasks        longest {med['longest_task_ms']:.0f} ms, "
                  f"{med['tasks_over_200ms']:.0f} over 200 ms (worst run: longest {med['worst_longest_task_ms']:.0f} ms, "
                  f"{med['worst_tasks_over_200ms']} over 200 ms); page errors: {med['errors']}")
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
