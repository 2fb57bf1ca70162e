"""Benchmark sitegen builds (and Hugo on the same corpus) and print the figures.

usage: python benchmarks/bench.py [--sizes 1000,10000] [--runs 3] [--no-hugo] [--cold-only] [--work bench-out]

For each size N it writes an N-paper corpus with ../shared/bench/gen_corpus.py (listing files
for sitegen, a Hugo site with the same papers), then measures, as medians of --runs runs:
- cold build (a first build: its output folder and build cache, in --work, moved aside first,
  as Hugo's public/ is before each of its runs, and deleted when the benchmark ends: see
  `Trash`), in --runs rounds that each build every size once (`cold_rounds`): wall time, peak
  memory (both the max RSS of the largest single process and the peak of the whole process
  tree, build and forked workers, as a sampled sum of proportional set sizes), CPU time over all
  its processes (user and kernel), pages/s, per-stage times;
- no-change rebuild, and a rebuild after adding one day's listing (30 papers) to a warm build,
  with how many files it rewrote (not with --cold-only, which measures how cold builds scale:
  `--sizes 10000,100000 --cold-only --no-hugo`);
- output size, search index size (raw and gzip, and per 1k papers), index load time in Node;
- Hugo (Debian's `hugo`) building the same papers, wall time, peak memory and CPU time; its
  runs alternate with sitegen's cold builds, so both meet the machine in the same state.
Every build is a separate process, timed from outside like a user would.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
STAGES = ("prepare", "parse", "dedupe", "assemble", "related", "index", "render", "feeds", "total")  # related, index: waits
PROCESSES = ("build", "related", "index", "render_helper")  # the report's cpu_seconds


def _tree(pid: int) -> list[int]:
    """`pid` and every process descended from it, now."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                stack += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return found


def _tree_pss_kb(pid: int) -> int:
    """Memory of a process tree: the sum of each process's proportional set size, so pages a
    forked worker shares with its parent count once, and pages it copied count for both."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError):
            pass  # the process ended meanwhile
    return total


class TreeMemory(threading.Thread):
    """Samples a command's whole process tree (the build and its forked workers); `peak_mb` is
    the highest sum seen. Max RSS (wait4) sees one process at a time only.

    Reading a process's smaps_rollup walks its page tables under its memory-map lock (about
    47 ms for a 1.7 GB process here), which would slow the build it measures: the sampler
    waits ten times as long as its last reading took (at least 50 ms), so it costs the build
    at most a tenth of one core, and a peak shorter than the interval can be missed."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        wait = 0.05
        while not self.done.wait(wait):
            started = time.perf_counter()
            self.peak_kb = max(self.peak_kb, _tree_pss_kb(self.pid))
            wait = max(0.05, 10 * (time.perf_counter() - started))

    @property
    def peak_mb(self) -> int:
        return self.peak_kb // 1024


class Run(NamedTuple):
    """One command, timed from outside."""

    wall: float  # seconds
    rss_mb: int  # peak RSS of the largest single process (wait4)
    tree_mb: int  # peak memory of the whole process tree (PSS sum, sampled)
    user: float  # CPU seconds in the command's own code, over every process it ran and reaped
    sys: float  # CPU seconds in the kernel for it (on this machine, mostly creating files)


def run(cmd: list[str], cwd: Path | None = None) -> Run:
    """Run one command and measure it (see `Run`). The CPU figures come from wait4, which counts
    the workers a build forked and reaped as well as the build itself: on a noisy machine they
    say more than wall time about the work done."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return Run(wall, usage.ru_maxrss // 1024, sampler.peak_mb, usage.ru_utime, usage.ru_stime)


def medians(runs: list[Run], name: str) -> dict:
    """The medians of `runs`' figures, as `name`_s, `name`_rss_mb, `name`_tree_mb, `name`_user_s
    and `name`_sys_s."""
    return {f"{name}_s": median([r.wall for r in runs]), f"{name}_rss_mb": median([r.rss_mb for r in runs]),
            f"{name}_tree_mb": median([r.tree_mb for r in runs]), f"{name}_user_s": median([r.user for r in runs]),
            f"{name}_sys_s": median([r.sys for r in runs])}


def corpus(size: int, work: Path) -> Path:
    out = work / f"corpus-{size}"
    if not (out / "listings").is_dir():
        subprocess.run([sys.executable, str(GEN), str(ROOT / "seeds"), str(size), str(out)], check=True)
    return out


def next_day(size: int, work: Path) -> tuple[str, str]:
    """The listing of the day after a `size` corpus's last, as gen_corpus makes it: 30 new papers
    on a new date (the corpus's last date may hold fewer than 30; the papers that would fill it
    are skipped, so the day added is a whole day of its own)."""
    first = -(-size // 30) * 30  # the first paper of the next whole date
    out = work / f"corpus-{first + 30}"
    if not (out / "listings").is_dir():
        subprocess.run([sys.executable, str(GEN), str(ROOT / "seeds"), str(first + 30), str(out)], check=True,
                       capture_output=True)
    listing = sorted((out / "listings").glob("*.txt"))[-1]
    text = listing.read_text()
    assert text.count("\n\n") >= 60, f"{listing} is not a day of 30 papers"
    return listing.name, text


class Trash:
    """Where a run's output goes when the next run needs an empty folder: moved aside, and only
    deleted when the benchmark ends.

    This machine's disk is ext4 without a journal, where the kernel will not reuse an inode
    freed in the last minute (`recently_deleted`, checked only without a journal), and each new
    file scans past every such inode of its block group (`find_inode_bit`). Deleting a 10k site
    just before a build made that build's (and Hugo's) 11,000 new files cost 4 to 6 s more
    kernel time: `perf` puts about two thirds of a file-creating loop's time in
    `recently_deleted`. A first build on a real machine does not follow the deletion of a whole
    site, so neither does a run here. For the same reason what an interrupted benchmark left in
    the trash is only deleted at the end of the next one."""

    def __init__(self, work: Path):
        self.root = work / ".trash"

    def clear(self, path: Path) -> None:
        """Move `path` (a folder) aside, out of the next run's way."""
        if path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            os.rename(path, Path(tempfile.mkdtemp(dir=self.root)) / path.name)

    def empty(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


TRASH: Trash | None = None  # set by `main`


def clear(path: Path) -> None:
    """Empty the way for a first build (see `Trash`)."""
    if TRASH is not None:
        TRASH.clear(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def sitegen_build(listings: Path, out: Path, report: Path, cache: Path, cold: bool = False) -> tuple[Run, dict]:
    """One build in its own process; `cold` clears the output folder and the build cache first (a
    first build), outside the timing, as Hugo's public/ is cleared before each of its runs."""
    if cold:
        clear(cache)
        clear(out)
    measured = run([sys.executable, "-m", "sitegen", "build", str(listings), "--out", str(out),
                    "--report", str(report), "--cache-dir", str(cache), "-q"], cwd=ROOT)
    return measured, json.loads(report.read_text())


def hugo_build(site: Path) -> Run:
    """Hugo building the same papers into an emptied public/ (its own first build)."""
    clear(site / "public")
    return run(["hugo", "--quiet", "--source", str(site)])


def generator_found() -> bool:
    """Whether the corpus generator is there; if not, a line on stderr says where it was looked for."""
    if GEN.is_file():
        return True
    print(f"{GEN} not found: the benchmark needs ../shared/bench/gen_corpus.py", file=sys.stderr)
    return False


def hugo_found(no_hugo: bool) -> bool:
    """Whether Hugo's builds alternate with sitegen's cold builds: not with --no-hugo, and not
    without a `hugo` to run, which a line on stderr then says (a fresh machine has none, and
    the figure the speed targets compare with would otherwise be missing without a word)."""
    if no_hugo:
        return False
    if shutil.which("hugo") is None:
        print("bench: hugo not found, so no build is compared with Hugo's (install Debian's hugo, "
              "as `make bench` does where apt-get can, or pass --no-hugo)", file=sys.stderr)
        return False
    return True


def seeds_build(out: Path) -> Run:
    """A first build of the project's seeds into an empty folder, without a build cache."""
    clear(out)
    return run([sys.executable, "-m", "sitegen", "build", "--out", str(out), "-q", "--no-cache"], cwd=ROOT)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def index_sizes(site: Path) -> dict:
    """The search index on disk: every file under search/ (a query loads a few of them; see
    benchmarks/search_bench.py for what each query fetches)."""
    files = [p.read_bytes() for p in sorted((site / "search").rglob("*.js"))]
    return {"index_raw_mb": sum(map(len, files)) / 1e6,
            "index_gzip_mb": sum(len(gzip.compress(f, 6)) for f in files) / 1e6, "index_files": len(files)}


def split(names, reports: list[dict], key: str) -> dict[str, float]:
    """The median of each of `names` in the reports' `key` (stage wall times or CPU per process)."""
    return {n: median([r.get(key, {}).get(n, 0.0) for r in reports]) for n in names}


def median(values):
    return statistics.median(values) if values else float("nan")


def places(size: int, work: Path) -> tuple[Path, Path, Path]:
    """A size's output folder, report and build cache."""
    return work / f"site-{size}", work / f"report-{size}.json", work / f"cache-{size}"


def cold_round(size: int, work: Path, with_hugo: bool) -> tuple[tuple[Run, dict], Run | None]:
    """One cold sitegen build of the size's corpus, then (with_hugo) one Hugo build of it: cold
    builds alternate with Hugo's, so that both meet the machine in the same state (its cost of
    creating files drifts by seconds over minutes: see README, Performance)."""
    c = corpus(size, work)
    built = sitegen_build(c / "listings", *places(size, work), cold=True)
    return built, (hugo_build(c / "hugo") if with_hugo else None)


def cold_rounds(sizes: list[int], runs: int, work: Path, with_hugo: bool) -> dict[int, list]:
    """`runs` rounds of cold builds, each round building every size once, so that the machine's
    drift over the benchmark falls on every size alike and the scaling ratio compares builds
    made minutes apart, not one size's early runs with another's late ones."""
    for size in sizes:
        corpus(size, work)  # written before any timing
    rounds: dict[int, list] = {size: [] for size in sizes}
    for _ in range(runs):
        for size in sizes:
            rounds[size].append(cold_round(size, work, with_hugo))
    return rounds


def bench_size(size: int, work: Path, rounds: list, cold_only: bool = False) -> dict:
    """A size's figures from its cold `rounds` (`cold_rounds`), then, unless `cold_only`, its
    no-change and add-a-day rebuilds, each as many times as there were rounds."""
    runs = len(rounds)
    c = corpus(size, work)
    out, report, cache = places(size, work)
    cold = [built for built, _ in rounds]
    hugo_runs = [h for _, h in rounds if h is not None]
    rep = cold[-1][1]
    pages = rep["pages"]
    stages = split(STAGES, [r[1] for r in cold], "seconds")
    cold_figures = medians([r for r, _ in cold], "cold")
    result = {"papers": rep["papers"], "pages": pages, "files": rep["files"], **cold_figures,
              "pages_per_s": pages / cold_figures["cold_s"], "stages": stages,
              "processes": split(PROCESSES, [r[1] for r in cold], "cpu_seconds")}
    if hugo_runs:
        result.update(medians(hugo_runs, "hugo"))
    if cold_only:
        return result
    nochange = [sitegen_build(c / "listings", out, report, cache)[0].wall for _ in range(runs)]
    # One more day, as a reader adds it: one more listing, of 30 new papers on a new date, in
    # the same folder (the next day gen_corpus makes).
    listings = c / "listings"
    name, extra = next_day(size, work)
    day = listings / name
    assert not day.exists(), day
    add_day, rewritten, day_reports = [], [], []
    try:
        for _ in range(runs):  # each run adds the day to a warm build of the plain corpus
            day.unlink(missing_ok=True)
            sitegen_build(listings, out, report, cache)
            day.write_text(extra)
            measured, rep_day = sitegen_build(listings, out, report, cache)
            add_day.append(measured.wall)
            day_reports.append(rep_day)
            rewritten.append(rep_day["files"] - rep_day["unchanged_files"])
            added = rep_day["papers"] - rep["papers"]
    finally:
        day.unlink(missing_ok=True)
    sitegen_build(listings, out, report, cache)  # leave the plain corpus's site for the size figures
    result.update({
        "nochange_s": median(nochange), "add_day_s": median(add_day), "add_day_rewritten": median(rewritten),
        "add_day_papers": added, "add_day_stages": split(STAGES, day_reports, "seconds"),
        "add_day_processes": split(PROCESSES, day_reports, "cpu_seconds"),
        "output_mb": du(out) / 1e6, **index_sizes(out),
    })
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--work", default=str(ROOT / "bench-out"))
    parser.add_argument("--cold-only", action="store_true",
                        help="only cold builds (and Hugo's): for the scaling figure, e.g. --sizes 10000,100000")
    args = parser.parse_args()
    if not generator_found():
        return 2
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    global TRASH
    TRASH = Trash(work)
    try:
        seeds = medians([seeds_build(work / "site-seeds") for _ in range(args.runs)], "seeds")
        print(f"seeds (508 papers): cold build {seeds['seeds_s']:.2f} s, peak {seeds['seeds_rss_mb']:.0f} MB, "
              f"all processes {seeds['seeds_tree_mb']:.0f} MB (median of {args.runs})\n")
        results = {}
        sizes = [int(s) for s in args.sizes.split(",")]
        with_hugo = hugo_found(args.no_hugo)
        rounds = cold_rounds(sizes, args.runs, work, with_hugo)
        for size in sizes:
            r = results[size] = bench_size(size, work, rounds[size], args.cold_only)
            print(f"== {size:,} papers ({r['pages']:,} pages), medians of {args.runs} runs")
            print(f"  cold build        {r['cold_s']:7.2f} s   peak {r['cold_rss_mb']:5.0f} MB (largest process), "
                  f"{r['cold_tree_mb']:5.0f} MB (all processes)   {r['pages_per_s']:7.0f} pages/s")
            print(f"    CPU, all processes: user {r['cold_user_s']:.2f} s, kernel {r['cold_sys_s']:.2f} s")
            if "hugo_s" in r:
                print(f"  hugo (same papers){r['hugo_s']:7.2f} s   peak {r['hugo_rss_mb']:5.0f} MB (largest process), "
                      f"{r['hugo_tree_mb']:5.0f} MB (all processes)   "
                      f"ratio sitegen/hugo {r['cold_s'] / r['hugo_s']:.2f}")
                print(f"    CPU: user {r['hugo_user_s']:.2f} s, kernel {r['hugo_sys_s']:.2f} s "
                      f"(its runs alternate with sitegen's cold builds)")
            print("  stages (wall)     " + "  ".join(f"{s} {r['stages'][s]:.2f}" for s in STAGES))
            print("  CPU by process    " + "  ".join(f"{p} {r['processes'][p]:.2f}" for p in PROCESSES))
            if args.cold_only:
                print()
                continue
            print(f"  no-change rebuild {r['nochange_s']:7.2f} s   ({100 * r['nochange_s'] / r['cold_s']:.0f}% of cold)")
            print(f"  add one day       {r['add_day_s']:7.2f} s   ({r['add_day_papers']} new papers; "
                  f"{100 * r['add_day_s'] / r['cold_s']:.0f}% of cold; "
                  f"{r['add_day_rewritten']:.0f} of {r['files']:,} files rewritten, the rest kept)")
            print("    stages (wall)   " + "  ".join(f"{s} {r['add_day_stages'][s]:.2f}" for s in STAGES))
            print("    CPU by process  " + "  ".join(f"{p} {r['add_day_processes'][p]:.2f}" for p in PROCESSES))
            print(f"  output {r['output_mb']:.1f} MB; search index {r['index_raw_mb']:.1f} MB raw, "
                  f"{r['index_gzip_mb']:.2f} MB gzip ({1000 * r['index_gzip_mb'] / r['papers']:.2f} MB gzip per 1k papers) "
                  f"in {r['index_files']:,} files (a query loads a few: benchmarks/search_bench.py)\n")
        if len(sizes) > 1:  # from builds made in alternation (`cold_rounds`)
            a, b = min(sizes), max(sizes)
            print(f"scaling {a:,} -> {b:,} papers: time x{results[b]['cold_s'] / results[a]['cold_s']:.2f} "
                  f"for x{b / a:.0f} papers (cold builds' medians); CPU "
                  f"x{(results[b]['cold_user_s'] + results[b]['cold_sys_s']) / (results[a]['cold_user_s'] + results[a]['cold_sys_s']):.2f}")
        (work / "results.json").write_text(json.dumps(results, indent=2))
    finally:
        TRASH.empty()  # after the last measurement (and what an interrupted run left): no run follows
    return 0


if __name__ == "__main__":
    sys.exit(main())
