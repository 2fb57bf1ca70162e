"""Archive search in headless Chromium: sitegen from disk (file://) against Pagefind over HTTP.

usage: python benchmarks/search_bench.py (SITE | --papers N) [--runs 3] [--rare WORD] [--no-pagefind] [--json OUT]

SITE is a site sitegen built; with --papers N instead, a corpus of N papers is generated with
../shared/bench/gen_corpus.py from seeds/ and built first (`make bench-search` does 10,000). For each of five queries (diffusion, video
generation, reinforcement learning, mixture of experts, and a rare word: one from a title
that few papers have, or --rare), in a fresh browser context each run (nothing cached),
runs alternating between the two engines, medians of --runs:

- sitegen: open `search.html?q=QUERY` from disk, as a reader does from the search box (the
  engine runs on the page), and again over HTTP from 127.0.0.1 ("sitegen-http": the engine
  runs in a Web Worker). first = the first result on screen; settled = the status says the
  answer is complete (the whole archive searched, ten results shown).
- Pagefind (the npm package, a devDependency: `pagefind --site SITE --glob "papers/*.html"`,
  so it indexes the same papers, one page each): a page on a local HTTP server on 127.0.0.1
  imports pagefind.js and runs `search(QUERY)`, then loads the data of the first ten
  results, as its UI does. first = the first result's data; settled = all ten.

Bytes are what the page requested, each file gzip -6 as a server would send it (Pagefind's
index files are already compressed; gzip adds a few bytes): "index" is the search index and
result data, "all" adds the engine's code (lunr.js and sitegen's two scripts; pagefind.js and
its WebAssembly). Times are taken in the page (performance.now() from navigation start).
Long tasks come from a PerformanceObserver. Chromium is Debian's /usr/bin/chromium
(SITEGEN_CHROMIUM overrides it).
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SITEGEN_CHROMIUM", "/usr/bin/chromium")
PAGEFIND = ROOT / "node_modules" / ".bin" / "pagefind"
QUERIES = ["diffusion", "video generation", "reinforcement learning", "mixture of experts"]
LONG_TASKS = """
window.__long = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { window.__long.push(e.duration); });
}).observe({type: "longtask", buffered: true});
window.__first = null;
document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("search-results");
  if (!list) return;
  new MutationObserver(function () {
    if (window.__first === null && list.querySelector(".search-result")) window.__first = performance.now();
  }).observe(list, {childList: true});
});
"""
SETTLED = ("() => { const s = document.getElementById('search-status');"
           " return s && s.dataset.state === 'done' && s.dataset.searched === s.dataset.total; }")
PAGEFIND_PAGE = """<!doctype html><meta charset="utf-8"><title>Pagefind</title>
<script type="module">
const q = new URLSearchParams(location.search).get("q");
const pagefind = await import("./pagefind/pagefind.js");
await pagefind.init();
const search = await pagefind.search(q);
const shown = search.results.slice(0, 10);
if (shown.length) { await shown[0].data(); }
window.__first = performance.now();
const data = await Promise.all(shown.map((r) => r.data()));
window.__done = {t: performance.now(), count: search.results.length, urls: data.map((d) => d.url)};
</script>
"""


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


def load_index_file(path: Path):
    return _tests_conftest().load_index_file(path.read_text(encoding="utf-8"))[1]


def load_manifest(site: Path) -> dict:
    return _tests_conftest().load_manifest((site / "search" / "manifest.js").read_text(encoding="utf-8"))


def _tests_conftest():
    """The tests' readers of the index's files (tests/conftest.py), one place for the format."""
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest

    return conftest


def rare_word(site: Path) -> str:
    """The word of the first 200 papers' titles that the fewest papers have (the first such in
    catalogue order, so every run on a site picks the same)."""
    from lunr.stemmer import stemmer
    from lunr.token import Token

    manifest = load_manifest(site)

    def papers_with(term: str) -> int:
        found = set()
        for tier in manifest["tiers"]:  # the term's row in each tier that has it
            firsts = tier["terms"]
            k = max(i for i, first in enumerate(firsts) if first <= term) if term >= firsts[0] else -1
            for row in load_index_file(site / "search" / "t" / f"{tier['name']}{k}.js") if k >= 0 else []:
                if row[0] == term:
                    found |= {p for field in row[1:] for p in _papers(field)}
        return len(found)

    best: tuple[int, str] | None = None
    for k in range(min(50, len(list((site / "search" / "d").glob("*.js"))))):
        for title, *_ in load_index_file(site / "search" / "d" / f"{k}.js"):
            for word in re.findall(r"[A-Za-z]{6,}", title):
                n = papers_with(str(stemmer(Token(word.lower()))))
                if n and (best is None or n < best[0]):
                    best = (n, word.lower())
    if best is None:
        raise SystemExit("no rare word found: pass --rare")
    return best[1]


def _papers(flat: list[int]) -> list[int]:
    out, paper = [], 0
    for i in range(0, len(flat), 3):
        paper += flat[i]
        out.append(paper)
    return out


def kinds_of(url: str) -> str:
    return "index" if "/search/" in url or ("/pagefind/" in url and not re.search(r"pagefind\.js$|\.pagefind$", url)) else "code"


def measure(page, url: str, files: Path, done: str) -> dict:
    """Open `url`, wait for `done`; times and the gzip bytes of what it requested under `files`."""
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url, wait_until="commit")
    page.wait_for_function(done, timeout=120_000)
    probe = page.evaluate("() => ({first: window.__first, long: window.__long || [], done: window.__done || null,"
                          " now: performance.now()})")
    sizes = {"index": 0, "code": 0}
    for u in requested:
        parsed = urlparse(u)
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else files / unquote(parsed.path).lstrip("/")
        try:
            path.relative_to(files)
        except ValueError:
            continue
        if path.is_file() and path.suffix != ".html" and path.name != "style.css" and path.name != "site.js" \
                and path.name != "favicon.svg":
            sizes[kinds_of(u)] += gzip_size(path)
    settled = probe["done"]["t"] if probe["done"] else probe["now"]
    return {"first_ms": probe["first"], "settled_ms": settled, "index_kb": sizes["index"] / 1024,
            "all_kb": (sizes["index"] + sizes["code"]) / 1024, "longest_task_ms": max(probe["long"], default=0),
            "results": probe["done"]["count"] if probe["done"] else None}


def sitegen_run(browser, site: Path, query: str, base: str | None = None) -> dict:
    """From disk, or over HTTP from `base` (where the engine runs in a Web Worker)."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(LONG_TASKS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = f"{base}/search.html" if base else (site / "search.html").as_uri()
    run = measure(page, f"{url}?q={quote(query)}", site, SETTLED)
    status = page.inner_text("#search-status")
    run["results"] = int(re.match(r"([\d,]+) papers? match", status)[1].replace(",", "")) if re.match(r"[\d,]+ papers? match", status) else 0
    run["shown"] = page.locator(".search-result").count()
    run["errors"] = errors
    context.close()
    return run


def pagefind_run(browser, base: str, work: Path, query: str) -> dict:
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(LONG_TASKS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    run = measure(page, f"{base}/bench.html?q={quote(query)}", work, "() => window.__done !== undefined")
    run["shown"] = min(10, run["results"] or 0)
    run["errors"] = errors
    context.close()
    return run


def pagefind_index(site: Path, work: Path) -> float:
    """Pagefind's index of the site's paper pages in work/pagefind; the seconds it took."""
    if not PAGEFIND.exists():
        raise SystemExit(f"{PAGEFIND} is missing: run `npm ci` (pagefind is a devDependency)")
    started = time.perf_counter()
    subprocess.run([str(PAGEFIND), "--site", str(site), "--glob", "papers/*.html", "--output-path",
                    str(work / "pagefind")], check=True, capture_output=True)
    took = time.perf_counter() - started
    (work / "bench.html").write_text(PAGEFIND_PAGE)
    return took


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def summary(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in ("first_ms", "settled_ms", "index_kb", "all_kb",
                                                               "longest_task_ms")}
    out["worst_longest_task_ms"] = max(r["longest_task_ms"] for r in runs)
    out["results"], out["shown"] = runs[0]["results"], runs[0]["shown"]
    out["errors"] = sum(len(r["errors"]) for r in runs)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path, nargs="?")
    parser.add_argument("--papers", type=int, help="generate and build a corpus of this many papers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rare", help="the rare word to search for (default: found in the site)")
    parser.add_argument("--no-pagefind", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if (args.site is None) == (args.papers is None):
        parser.error("give a built SITE or --papers N")
    built = None
    if args.papers:
        built = Path(tempfile.mkdtemp(prefix="search-bench-site-"))
        subprocess.run([sys.executable, str(ROOT.parent / "shared" / "bench" / "gen_corpus.py"), str(ROOT / "seeds"),
                        str(args.papers), str(built / "corpus")], check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "sitegen", "build", str(built / "corpus" / "listings"), "--out",
                        str(built / "site"), "-q", "--no-cache"], check=True, cwd=ROOT)
        args.site = built / "site"
    site = args.site.resolve()
    queries = QUERIES + [args.rare or rare_word(site)]
    papers = load_manifest(site)["papers"]
    work = Path(tempfile.mkdtemp(prefix="search-bench-"))
    results: dict = {"papers": papers, "queries": {}}
    try:
        server = None
        if not args.no_pagefind:
            results["pagefind_index_s"] = pagefind_index(site, work)
            server = serve(work)
            base = f"http://127.0.0.1:{server.server_address[1]}"
        site_server = serve(site)
        site_base = f"http://127.0.0.1:{site_server.server_address[1]}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            for query in queries:
                mine, over_http, theirs = [], [], []
                for _ in range(args.runs):  # alternating, so all meet the same machine state
                    mine.append(sitegen_run(browser, site, query))
                    over_http.append(sitegen_run(browser, site, query, site_base))
                    if server:
                        theirs.append(pagefind_run(browser, base, work, query))
                results["queries"][query] = {"sitegen": summary(mine), "sitegen-http": summary(over_http),
                                             "pagefind": summary(theirs) if theirs else None}
            browser.close()
        site_server.shutdown()
        if server:
            server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if built:
            shutil.rmtree(built, ignore_errors=True)
    print(f"== {papers:,} papers; medians of {args.runs} runs in Chromium; sitegen from file:// (engine on the page) "
          f"and over HTTP (in a worker), Pagefind over HTTP, both on 127.0.0.1" + (f" (its index took {results['pagefind_index_s']:.1f} s)"
                                                 if "pagefind_index_s" in results else ""))
    print(f"{'query':24} {'engine':12} {'results':>8} {'index KB':>9} {'all KB':>7} {'first ms':>9} {'settled ms':>11} "
          f"{'longest task':>13}")
    for query, engines in results["queries"].items():
        for name, r in engines.items():
            if r is None:
                continue
            print(f"{query:24} {name:12} {r['results']:>8,} {r['index_kb']:>9.0f} {r['all_kb']:>7.0f} "
                  f"{r['first_ms']:>9.0f} {r['settled_ms']:>11.0f} {r['longest_task_ms']:>10.0f} ms"
                  + (f"  ({r['errors']} page errors)" if r["errors"] else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
