"""What a cold build's stages cost in one process, with nothing written: CPU a build of N papers
cannot go under however its processes share the work, to weigh the cold-build target against
(beside Hugo's whole build of the same papers, run alternately).

usage: python benchmarks/stage_floor.py [--papers 10000] [--runs 3] [--no-hugo] [--work bench-out]

The corpus is ../shared/bench/gen_corpus.py's, as `bench.py` makes it. Each run is a fresh
process that, with no build cache and nothing written: reads and dedupes the listings
(`build.load_catalog`), assembles every page and finds the related papers (`site.assemble`),
renders every page through the theme's templates (`render.Renderer`), and makes the search
index's files (`search.iter_index_files`). Printed: each stage's CPU time (user and kernel of
the process), medians of --runs; and, unless --no-hugo (or without a `hugo`), Hugo's whole
build of the same papers, its runs alternating with these, and the ratio of the two CPUs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("read and dedupe", "assemble and related", "render", "search index")


def one_run(listings: str) -> dict[str, float]:
    """The stages once, in this process: CPU seconds of each."""
    sys.path.insert(0, str(HERE.parent))
    from sitegen import config as config_mod
    from sitegen import search
    from sitegen.build import load_catalog, theme_dirs
    from sitegen.render import Renderer
    from sitegen.site import assemble

    settings = config_mod.load(None, cwd=HERE.parent)
    seconds, mark = {}, time.process_time()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.process_time()
        seconds[name], mark = now - mark, now

    catalog = load_catalog(settings, [listings], {})
    stage("read and dedupe")
    site = assemble(catalog, settings)
    stage("assemble and related")
    renderer = Renderer(site, theme_dirs(settings)[0])
    pages = sum(len(renderer.render(page)) for page in site.pages)
    stage("render")
    index = sum(len(data) for _, data in search.iter_index_files(search.documents(site.papers)))
    stage("search index")
    return {**seconds, "pages": len(site.pages), "page_bytes": pages, "index_bytes": index}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--work", default=str(HERE.parent / "bench-out"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a run's listings: the run itself
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one)))
        return 0
    sys.path.insert(0, str(HERE))
    import bench  # the corpus, as the benchmark makes it

    if not bench.generator_found():
        return 2
    corpus = bench.corpus(args.papers, Path(args.work))
    with_hugo = bench.hugo_found(args.no_hugo)
    bench.TRASH = bench.Trash(Path(args.work))  # Hugo's last output moved aside, not deleted (`bench.Trash`)
    runs, hugo = [], []
    try:
        for _ in range(args.runs):  # Hugo's runs alternate with these: both meet the machine alike
            runs.append(json.loads(subprocess.run([sys.executable, __file__, "--one", str(corpus / "listings")],
                                                  check=True, capture_output=True, text=True).stdout))
            if with_hugo:
                hugo.append(bench.hugo_build(corpus / "hugo"))
    finally:
        bench.TRASH.empty()
    first = runs[0]
    print(f"{args.papers:,} papers, {first['pages']:,} pages ({first['page_bytes'] / 1e6:.0f} MB), "
          f"search index {first['index_bytes'] / 1e6:.1f} MB; CPU seconds in one process, nothing "
          f"written, medians of {args.runs}:")
    medians = {name: statistics.median(r[name] for r in runs) for name in STAGES}
    for name in STAGES:
        print(f"  {name:22} {medians[name]:6.2f}")
    total = sum(medians.values())
    print(f"  {'total':22} {total:6.2f}")
    if hugo:
        cpu = statistics.median(h.user + h.sys for h in hugo)
        print(f"Hugo, the same papers, its whole build (files written): CPU {cpu:.2f} s (user and kernel), "
              f"wall {statistics.median(h.wall for h in hugo):.2f} s; the stages' CPU is {total / cpu:.2f} times "
              f"Hugo's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
