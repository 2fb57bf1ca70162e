"""The pipeline, end to end: read -> dedupe -> assemble -> render -> write.

Only `read_listings` reads input files and only `write_site` writes; everything between is
pure. Everything is gathered and rendered before the output is swapped in.
"""
from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import cache as build_cache
from . import dedupe, feeds, listing, mail, search, urls
from .config import Config
from .model import Catalog, Listing, Problem
from .output import (MemoryWriter, Writer, check_replaceable, clear_leftovers, locked, publish,
                     release_inherited_locks)
from .render import Renderer
from .site import PaperView, Site, assemble, assemble_papers, catalog_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the sitegen checkout: default theme


class Progress:
    """How a build reports progress through its long stages: `progress(stage, total)` gives a
    counter with `update(n)` and `close()`. The default shows nothing; the CLI passes a tqdm bar
    factory on a terminal."""

    def __call__(self, stage: str, total: int) -> "Progress":
        return self

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


QUIET = Progress()


class BuildError(Exception):
    """A fatal problem with the inputs or the theme; the message is one line for the user."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = problems  # printed before the message, so the user sees what failed


@dataclass(frozen=True)
class Source:
    path: Path
    name: str  # how problems and papers.json name it: the path as the user would write it


@dataclass
class BuildResult:
    catalog: Catalog | None  # None when the output was up to date and nothing was read
    site: Site | None = None
    out: Path | None = None
    files: int = 0
    bytes_written: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    memory: dict[str, bytes] | None = None  # the files, for a build into memory (tests)
    notes: list[str] = field(default_factory=list)  # things the user should know about the output
    index_bytes: dict = field(default_factory=dict)  # search index sizes: raw, shards, largest_raw
    unchanged: int = 0  # files whose bytes were already published (linked, their mtime kept)
    record: build_cache.Record | None = None  # the cache's record, when the output was up to date

    @property
    def up_to_date(self) -> bool:
        return self.record is not None

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.record.problem_list() if self.record else self.catalog.problems

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def report(self) -> dict:
        if self.record:  # nothing was built: the last build's report, with this run's figures
            return {**self.record.report, "up_to_date": True, "unchanged_files": self.files,
                    "seconds": {k: round(v, 4) for k, v in self.timings.items()}}
        c = self.catalog
        per_source = []
        for l in c.listings:
            per_source.append({
                "source": l.source,
                "entries": len(l.entries),
                "date": l.date.isoformat() if l.date else None,
                "warnings": sum(1 for p in c.problems if p.source == l.source),
            })
        return {
            "entries": c.entry_count,
            "papers": len(c.papers),
            "merged": len(c.merges),
            "listings": len(c.listings),
            "dates": len({l.date for l in c.listings if l.date}),
            "pages": len(self.site.pages) if self.site else 0,
            "files": self.files,
            "bytes": self.bytes_written,
            "up_to_date": False,
            "unchanged_files": self.unchanged,
            "search_index": dict(self.index_bytes),
            "seconds": {k: round(v, 4) for k, v in self.timings.items()},
            "sources": per_source,
            "warnings": [{"source": p.source, "line": p.line, "message": p.message}
                         for p in c.problems if p.severity == "warning"],
            "errors": [{"source": p.source, "line": p.line, "message": p.message}
                       for p in c.problems if p.severity == "error"],
        }


def _display_name(path: Path, root: Path) -> str:
    for base in (Path.cwd(), root):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def discover(inputs: list[str] | None, config: Config) -> list[Source]:
    """Listing files from INPUT arguments (files or folders), else the config's sources."""
    if inputs:
        candidates = [Path(i) for i in inputs]
    else:
        candidates = [config.resolve(s) for s in config.sources]
    files: list[Path] = []
    for c in candidates:
        if c.is_dir():
            found = sorted(p for p in c.rglob("*.txt") if p.is_file() and not p.name.startswith("."))
            if not found:
                raise BuildError(f"{c}: no listing files (*.txt) in this folder")
            files += found
        elif c.is_file():
            files.append(c)
        else:
            raise BuildError(f"{c}: no such file or folder")
    seen, sources = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            sources.append(Source(f, _display_name(f, config.root)))
    return sources


def read_listings(sources: list[Source], config: Config) -> list[Listing]:
    listings = []
    for s in sources:
        try:
            raw = s.path.read_bytes()
        except OSError as e:
            raise BuildError(f"{s.name}: cannot read ({e.strerror})") from None
        settings = config.listings.get(s.path.name) or config.listing(s.name)
        listings.append(listing.parse(raw, s.name, settings, config.year))
    return listings


def theme_dirs(config: Config) -> tuple[Path, Path]:
    """templates/ and static/ of the project, else those shipped beside the sitegen package."""
    templates, static = config.resolve("templates"), config.resolve("static")
    if not templates.is_dir():
        templates = PROJECT_ROOT / "templates"
    if not static.is_dir():
        static = PROJECT_ROOT / "static"
    if not templates.is_dir():
        raise BuildError(f"no templates folder: expected {config.resolve('templates')}")
    return templates, static


def lunr_js(config: Config) -> Path:
    """lunr.js as installed from the npm registry (`npm ci`): never a committed copy."""
    for root in (config.root, PROJECT_ROOT):
        candidate = root / "node_modules" / "lunr" / "lunr.min.js"
        if candidate.is_file():
            return candidate
    raise BuildError("lunr.js is not installed: run `npm ci` in the sitegen folder (`make setup` does it)")


def load_catalog(config: Config, inputs: list[str] | None, timings: dict[str, float],
                 sources: list[Source] | None = None) -> Catalog:
    t0 = time.perf_counter()
    listings = read_listings(discover(inputs, config) if sources is None else sources, config)
    t1 = time.perf_counter()
    catalog = dedupe.dedupe(listings)
    t2 = time.perf_counter()
    timings["parse"], timings["dedupe"] = t1 - t0, t2 - t1
    return catalog


class IndexJob:
    """The search index, built in a forked worker from the papers' views as soon as they exist
    (`assemble_papers`), while this process finishes assembling and renders, so both cores
    work; where fork is unavailable it is built here when `result()` is asked for.

    The worker gets its documents by inheritance, not through a pipe (no pickled copy of the
    archive's text), and the objects alive at the fork are frozen out of the garbage
    collector's sweeps, which would otherwise touch, and so copy, every page of the parent's
    memory into the worker."""

    def __init__(self, papers: tuple[PaperView, ...], cache: Path | None):
        self._args = (search.documents(papers), cache)
        self._pool = None
        if "fork" in multiprocessing.get_all_start_methods():
            global _FORKED_JOB
            _FORKED_JOB = self._args
            gc.freeze()
            try:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                                 initializer=_worker_init)
                self._future = self._pool.submit(_index_inherited)  # forks now, inheriting _FORKED_JOB
            finally:
                gc.unfreeze()
                _FORKED_JOB = None
            self._args = None  # the worker has them; this process need not keep them

    def result(self) -> dict[str, bytes]:
        if self._pool is None:
            return search.index_files(*self._args)
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()

    def cancel(self) -> None:
        """A failed build does not wait for the index."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


_FORKED_JOB = None  # set only while an IndexJob forks its worker


def _index_inherited() -> dict[str, bytes]:
    return search.index_files(*_FORKED_JOB)


def _worker_init() -> None:
    """A forked worker gives up the build's lock and dies with its parent (Linux)."""
    release_inherited_locks()
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the worker ends when it finds its parent gone


def cache_dir(config: Config) -> Path:
    """The build cache: beside the config, never inside the published output; safe to delete."""
    return config.root / ".sitegen-cache"


def fingerprint(sources: list[Source], config: Config, theme: str, static: Path) -> str | None:
    """A digest of everything the output depends on (see `cache`): the theme's identity (code,
    settings, templates), the listings, static files and lunr.js; None if an input cannot be
    read, so the build goes on and reports it."""
    fp = build_cache.Fingerprint()
    fp.add("theme", theme.encode())
    try:
        for s in sources:
            fp.add(f"listing:{s.name}", s.path.read_bytes())
        fp.add_tree("static", static)
        fp.add("lunr.js", lunr_js(config).read_bytes())
    except OSError:
        return None
    return fp.hexdigest()


def render_site(site: Site, writer: Writer, templates: Path, static: Path, timings: dict[str, float],
                index: IndexJob, progress: Progress = QUIET, renders: build_cache.RenderCache | None = None) -> None:
    """Render every page, email and feed, copy the static files, and add the search index
    (built meanwhile by `index`). With `renders`, a page rendered last time from the same
    inputs is linked to the published file instead of rendered again."""
    t0 = time.perf_counter()
    renderer = Renderer(site, templates)
    bar = progress("render", len(site.pages))
    for n, page in enumerate(site.pages, 1):
        origin = f"page {page.kind}"
        if not (renders and renders.unchanged(page.path, page, site.has_feed) and writer.reuse(page.path, origin)):
            writer.add(page.path, renderer.render(page), origin)
        if n % 200 == 0:
            bar.update(200)
    bar.update(len(site.pages) % 200)
    bar.close()
    t1 = time.perf_counter()
    writer.add_chunks(urls.CATALOG, catalog_json(site.catalog), "catalogue")
    for path, data in feeds.files(site).items():
        writer.add(path, data, "feeds and crawler files")
    if static.is_dir():
        writer.copy_tree(static, "static", "static file")
    writer.add(urls.LUNR, lunr_js(site.config).read_bytes(), "lunr.js (npm)")
    t2 = time.perf_counter()
    bar = progress("email", sum(1 for d in site.digests if d.date))
    for digest in site.digests:
        if digest.date:
            bar.update()
            html_path = mail.email_path(digest)
            origins = {html_path: "email page", html_path.removesuffix(".html") + ".txt": "email text"}
            fresh = [path for path, origin in origins.items()
                     if not (renders and renders.unchanged(path, digest) and writer.reuse(path, origin))]
            if fresh:
                message = mail.compose(site, digest, templates)
                data = dict(zip(origins, (message.html.encode("utf-8"), message.text.encode("utf-8"))))
                for path in fresh:
                    writer.add(path, data[path], origins[path])
    bar.close()
    t3 = time.perf_counter()
    bar = progress("search index", 1)  # shown while the build waits for the index
    index_files = index.result()
    bar.update()
    bar.close()
    for path, data in index_files.items():
        writer.add(path, data, "search index")
    writer.index_bytes = search.index_size(index_files)
    writer.notes.extend(search.size_notes(writer.index_bytes))
    # The index is built beside the other stages: its figure is how long the build waited for it.
    timings["index"] = time.perf_counter() - t3
    timings["render"] = t1 - t0
    timings["feeds"] = t2 - t1
    timings["email"] = t3 - t2


def assemble_only(config: Config, inputs: list[str] | None = None) -> Site:
    """Read, dedupe and assemble without rendering: for commands that need one part of the site."""
    return assemble(load_catalog(config, inputs, {}), config)


DEFAULT_CACHE = Path("<beside the config>")  # build()'s default: cache_dir(config)


def build(config: Config, inputs: list[str] | None = None, out: Path | None = None,
          strict: bool = False, memory: bool = False, progress: Progress = QUIET,
          cache: Path | None = DEFAULT_CACHE) -> BuildResult:
    """Build the site. Raises BuildError (or ConfigError/OutputError/TemplateError) on fatal problems.

    `cache` is the build cache folder (default `cache_dir(config)`; None: neither read nor write
    one). With it, a build whose inputs and output are as the last build left them does nothing,
    and any build keeps the files whose bytes did not change (mtimes kept).

    A build holds the output's lock from its first read to its swap, so a second build of the
    same folder waits for the first to finish and never interleaves with it."""
    if cache is DEFAULT_CACHE:
        cache = cache_dir(config)
    if memory:
        return _build(config, inputs, None, strict, None, progress)
    out = (out or config.resolve(config.out)).absolute()
    with locked(out):
        check_replaceable(out)  # refuse early, before any work, if the folder is not ours
        return _build(config, inputs, out, strict, cache, progress)


def _strict_check(strict: bool, problems: tuple[Problem, ...]) -> None:
    if strict and problems:
        raise BuildError(f"--strict: {len(problems)} warning(s); the site was not written", problems)


def _build(config: Config, inputs: list[str] | None, out: Path | None, strict: bool, cache: Path | None,
           progress: Progress = QUIET) -> BuildResult:
    """A build into `out`, or into memory when `out` is None (tests)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    sources = discover(inputs, config)
    templates, static = theme_dirs(config)
    key = record = renders = None
    if out is not None and cache is not None:
        theme = build_cache.theme_identity(repr(config), templates)
        key = fingerprint(sources, config, theme, static)
        record = build_cache.load_record(cache, out)
        if key and record and record.fingerprint == key and build_cache.intact(out, record.manifest):
            _strict_check(strict, record.problem_list())
            clear_leftovers(out)  # what a killed build left, as a full build would
            timings["total"] = time.perf_counter() - started
            return BuildResult(None, out=out, files=len(record.manifest), timings=timings,
                               bytes_written=record.report.get("bytes", 0), notes=list(record.notes),
                               index_bytes=record.report.get("search_index", {}), record=record)
    catalog = load_catalog(config, inputs, timings, sources)
    result = BuildResult(catalog, timings=timings)
    _strict_check(strict, catalog.problems)
    if not catalog.papers and not catalog.listings:
        raise BuildError("no listings to build")
    t0 = time.perf_counter()
    known = build_cache.load_memo(cache, "paper-text") if cache is not None else {}
    papers = assemble_papers(catalog, config, known)
    texts_changed = papers.texts.keys() != known.keys()
    del known
    index = IndexJob(papers.views, cache)
    try:
        site = assemble(catalog, config, papers)
        texts, papers = papers.texts, None  # the views without related papers are done with
        timings["assemble"] = time.perf_counter() - t0
        result.site = site
        if out is None:
            writer = MemoryWriter()
            render_site(site, writer, templates, static, timings, index, progress)
            result.memory = writer.files
        else:
            previous = record.manifest if record else None
            if key:
                renders = build_cache.RenderCache(theme, record.renders if record else None)
            with publish(out, lock=False, previous=previous) as writer:
                render_site(site, writer, templates, static, timings, index, progress, renders)
                if cache is not None:
                    build_cache.forget(cache, out)  # the output is about to change under the record
            result.out = out
    except BaseException:
        index.cancel()
        raise
    result.files, result.bytes_written = len(writer.origins), writer.bytes_written
    result.notes, result.index_bytes, result.unchanged = writer.notes, writer.index_bytes, writer.unchanged
    timings["total"] = time.perf_counter() - started
    if cache is not None and texts_changed:
        build_cache.save_memo(cache, "paper-text", texts)  # what this build used, no more
    if out is not None and cache is not None and key:
        build_cache.save_record(cache, out, build_cache.Record(
            key, writer.manifest, result.report(), [dataclasses.asdict(p) for p in catalog.problems], result.notes,
            renders.keys))
    return result
