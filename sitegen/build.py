"""The pipeline, end to end: read -> dedupe -> assemble -> render/index -> write.

`sources` finds and reads the listing files, `dedupe` makes the catalogue, `site` assembles the
pages, `rendering.render_site` turns them into bytes for the one writer (`output`), and the cache
(`cache`) remembers what a next build can reuse. Where work runs (forked workers, pipes, the
garbage collector) is `workers` and `jobs`, apart from the pipeline. Everything is gathered and
rendered before the output is swapped in.
"""
from __future__ import annotations

import dataclasses
import gc
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache as build_cache
from .config import Config
from .errors import BuildError
from .model import Catalog, Problem, evolve
from .output import MemoryWriter, check_replaceable, clear_leftovers, extra_files, locked, publish
from .sources import Discovery, Source, cache_dir, discover
from .theme import Theme, ThemeError, load_theme, lunr_js
from .workers import cpu_seconds, fewer_collections

if TYPE_CHECKING:
    from .jobs import IndexJob, RelatedJob
    from .views import Site

# The stages themselves (dedupe, assembly, rendering, the workers' jobs) are imported where
# they are used: a build that finds nothing changed never loads them (see `_build`).


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


@dataclass(frozen=True)
class BuildResult:
    catalog: Catalog | None  # None when the output was up to date and nothing was read
    site: Site | None = None
    out: Path | None = None
    files: int = 0
    bytes_written: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    memory: dict[str, bytes] | None = None  # the files, for a build into memory (tests)
    notes: list[str] = field(default_factory=list)  # things the user should know about the output
    index_bytes: dict = field(default_factory=dict)  # search index sizes: raw, files, largest_raw
    unchanged: int = 0  # files whose bytes were already published (linked, their mtime kept)
    record: build_cache.Record | None = None  # the cache's record, when the output was up to date
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process: the build's (start-up
    # included), and each worker's up to its result

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
        warned = Counter(p.source for p in c.problems)  # counted once, not per listing (3,334 at 100k)
        per_source = []
        for l in c.listings:
            per_source.append({
                "source": l.source,
                "entries": len(l.entries),
                "date": l.date.isoformat() if l.date else None,
                "warnings": warned[l.source],
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
            "cpu_seconds": {k: round(v, 4) for k, v in self.cpu.items()},
            "sources": per_source,
            "warnings": [{"source": p.source, "line": p.line, "message": p.message, "code": p.code}
                         for p in c.problems if p.severity == "warning"],
            "errors": [{"source": p.source, "line": p.line, "message": p.message, "code": p.code}
                       for p in c.problems if p.severity == "error"],
        }


def theme_dirs(config: Config) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The template folders and static folders, the project's overrides first (`theme`)."""
    try:
        found = load_theme(config)
    except ThemeError as e:
        raise BuildError(str(e)) from None
    return found.templates, found.static


def load_catalog(config: Config, inputs: list[str] | None, timings: dict[str, float],
                 found: Discovery | None = None, parse=None, slug_of=None, deduped=None) -> Catalog:
    """Read and dedupe (`parse`, `slug_of` and `deduped`: the stages' functions, or the
    cache's memos of them; `deduped(listings, slug_of)` gives the catalogue)."""
    from . import dedupe, listing
    from .sources import read_listings

    t0 = time.perf_counter()
    found = found or discover(inputs, config)
    listings = read_listings(found.sources, config, parse or listing.parse)
    t1 = time.perf_counter()
    catalog = (deduped or dedupe.dedupe)(listings, slug_of)
    t2 = time.perf_counter()
    if found.problems:
        catalog = evolve(catalog, problems=tuple(found.problems) + catalog.problems)
    timings["parse"], timings["dedupe"] = t1 - t0, t2 - t1
    return catalog


def fingerprint(sources: list[Source], config: Config, theme: str, static: Path) -> str | None:
    """A digest of everything the output depends on (see `cache`): the theme's identity (code,
    settings, templates), the listings, static files and lunr.js; None if an input cannot be
    read, so the build goes on and reports it."""
    fp = build_cache.Fingerprint()
    fp.add("theme", theme.encode())
    try:
        for s in sources:
            fp.add(f"listing:{s.name}", s.path.read_bytes())
        for rel, path in Theme((), static).static_files():
            fp.add(f"static/{rel}", path.read_bytes())
        for rel, path in extra_files(config.resolve(config.extra)):
            fp.add(f"extra/{rel}", path.read_bytes())
        fp.add("lunr.js", lunr_js(config).read_bytes())
    except OSError:
        return None
    return fp.hexdigest()




def assemble_only(config: Config, inputs: list[str] | None = None) -> Site:
    """Read, dedupe and assemble without rendering: for commands that need one part of the site."""
    from .site import assemble

    return assemble(load_catalog(config, inputs, {}), config)


DEFAULT_CACHE = Path("<beside the config>")  # build()'s default: cache_dir(config)
DEDUPE = "dedupe"  # the cache file of what the last build's dedupe found (`dedupe.Joined`)


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
    with fewer_collections():
        if memory:
            return _build(config, inputs, None, strict, None, progress)
        out = (out or config.resolve(config.out)).absolute()
        # One lock per output, in the project's cache folder whatever --cache-dir or --no-cache
        # say, so every build of it takes the same lock.
        with locked(out, lock_dir=cache_dir(config) / "locks"):
            clear_leftovers(out)  # what a killed build left: the previous site put back, the rest removed
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
    found = discover(inputs, config, tuple(p for p in (out, cache) if p is not None))
    templates, static = theme_dirs(config)
    key = record = theme = None
    if out is not None and cache is not None:
        theme = build_cache.theme_identity(repr(config), templates)
        key = fingerprint(found.sources, config, theme, static)
        record = build_cache.load_record(cache, out)
        if key and record and record.fingerprint == key and build_cache.intact(out, record.manifest):
            return _unchanged(out, record, strict, timings, started)
    # There is work to do: load the stages now, before the workers fork, so they inherit them.
    from . import dedupe, listing  # noqa: F401  (site and search come with jobs)
    from .jobs import IndexJob, RelatedJob, RenderHelper
    from .rendering import ready_templates, render_site
    from .views import text_from_kept, text_to_keep

    ready_templates(templates)
    index = IndexJob(cache, out, record.manifest if record else None)  # forked now, while this process holds little; sent its documents later
    helper = RenderHelper() if out is not None else None  # likewise; sent pages to render
    similar = RelatedJob(cache)  # likewise; sent the papers' text
    # The build's cache files are read (and their signatures checked) in a thread, each while
    # the build decodes the one before (the largest, the paper-text memo, while it decodes the
    # parsed listings); started once the workers are forked.
    names = ("listings", "paper-text", "slugs", DEDUPE)  # in the order the build loads them
    ahead = build_cache.ReadAhead(build_cache.cache_files(cache, names)) if cache is not None else None
    read = ahead.take if ahead is not None else build_cache.read_signed
    try:
        parsed = build_cache.Memo(cache, "listings", (), read)
        texts = build_cache.Memo(cache, "paper-text", (), read, codec=(text_to_keep, text_from_kept))
        memos = [parsed, build_cache.Memo(cache, "slugs", (), read), texts]
        # Everything before the first listing is read: the fingerprint checked, the stages
        # imported, the templates compiled, the workers forked, the memos decoded.
        timings["prepare"] = time.perf_counter() - started
        catalog, site, related = _assemble(config, inputs, found, strict, memos, index, similar, timings, cache, read)
        if ahead is not None:
            ahead.close()
        if out is None:
            writer = MemoryWriter()
            render_site(site, writer, templates, static, timings, index, progress, related=related)
        else:
            renders = build_cache.RenderCache(theme, record.renders if record else None) if key else None
            with publish(out, lock=False, previous=record.manifest if record else None) as writer:
                render_site(site, writer, templates, static, timings, index, progress, renders, helper, related)
                if cache is not None:
                    build_cache.forget(cache, out)  # the output is about to change under the record
    except BaseException:
        if ahead is not None:
            ahead.close()
        for job in (index, helper, similar):
            if job is not None:
                job.cancel()
        raise
    timings["total"] = time.perf_counter() - started
    cpu = {"build": cpu_seconds()}  # this process's, start-up included
    for name, job in (("related", similar), ("index", index), ("render_helper", helper)):
        if job is not None and job.cpu is not None:  # a worker that was forked and finished
            cpu[name] = job.cpu
    result = BuildResult(catalog, site, out, len(writer.origins), writer.bytes_written, timings,
                         writer.files if out is None else None, found.skipped + writer.notes, writer.index_bytes,
                         writer.unchanged, cpu=cpu)
    for memo in memos:
        memo.save()
    if out is not None and cache is not None and key:
        build_cache.save_record(cache, out, build_cache.Record(
            key, writer.manifest, result.report(), [dataclasses.asdict(p) for p in result.catalog.problems],
            result.notes, renders.keys))
    for job in (similar, index, helper):  # what a worker does after its result (`Then`) ends with the build
        if job is not None:
            job.join()
    return result


def _unchanged(out: Path, record: build_cache.Record, strict: bool, timings: dict[str, float],
               started: float) -> BuildResult:
    """The output is as the last build left it, from the same inputs: nothing to do."""
    _strict_check(strict, record.problem_list())
    timings["total"] = time.perf_counter() - started
    return BuildResult(None, out=out, files=len(record.manifest), timings=timings,
                       bytes_written=record.report.get("bytes", 0), notes=list(record.notes),
                       index_bytes=record.report.get("search_index", {}), record=record)


def _assemble(config: Config, inputs: list[str] | None, found: Discovery, strict: bool, memos: list,
              index: IndexJob, similar: RelatedJob, timings: dict[str, float], cache: Path | None,
              read=build_cache.read_signed) -> tuple[Catalog, Site, object]:
    """Read, dedupe and assemble (sending the workers their inputs on the way): the catalogue,
    the site without related papers, and what gives the function that joins them in once the
    related-papers worker is done (for `render_site`). `read` reads the build's cache files."""
    from . import dedupe, listing
    from .site import RelatedLinks, assemble_pages, assemble_papers, paper_text
    from .sources import listing_key

    parsed, slugs, texts = memos

    def deduped(listings, slug_of):  # from what the last build's dedupe left, kept at once
        gc.freeze()  # the parsed listings live to the end of the build (`workers.fewer_collections` unfreezes)
        previous = build_cache.load_kept(cache, DEDUPE, (dedupe.Joined,), read)
        catalog, joined = dedupe.dedupe_from(previous if isinstance(previous, dedupe.Joined) else None, listings,
                                             slug_of)
        build_cache.keep(cache, DEDUPE, joined)
        return catalog

    catalog = load_catalog(config, inputs, timings, found, parsed.remembered(listing.parse, listing_key),
                           slugs.remembered(dedupe.slug_for, lambda title: title), deduped)
    parsed.release()
    slugs.release()
    # The catalogue (and, at each fork, what has been assembled) lives to the end of the build:
    # frozen, it is left out of the garbage collector's full sweeps, which would otherwise scan
    # the whole growing heap again and again (at 10k, 0.9 s of such sweeps). Frozen objects are
    # still freed when nothing refers to them; only reference cycles among them would stay,
    # and the build's data is frozen dataclasses and tuples.
    gc.freeze()
    _strict_check(strict, catalog.problems)
    if not catalog.papers and not catalog.listings:
        raise BuildError("no listings to build")
    t0 = time.perf_counter()
    similar.send(catalog, config, texts.peek)
    papers = assemble_papers(catalog, config, texts.remembered(paper_text))
    texts.release()
    index.send(papers.parts)
    site = assemble_pages(catalog, config, papers)
    timings["assemble"] = time.perf_counter() - t0
    return catalog, site, lambda: RelatedLinks(papers.parts, similar.result()).join
