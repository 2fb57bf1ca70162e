"""The pipeline, end to end: read -> dedupe -> assemble -> render -> write.

Only `read_listings` reads input files and only `write_site` writes; everything between is
pure. Everything is gathered and rendered before the output is swapped in.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import gc
import hashlib
import multiprocessing
import os
import pickle
import struct
import tempfile
import termios
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import cache as build_cache
from . import dedupe, feeds, listing, mail, search, urls
from .config import Config
from .model import Catalog, Listing, Problem, evolve
from .output import (MemoryWriter, Writer, check_replaceable, clear_leftovers, extra_files, locked, publish,
                     recover_swap, release_inherited_locks)
from .render import Renderer, RenderSettings
from .theme import Theme, ThemeError, find_lunr, load_theme
from .site import (Link, PaperText, Site, assemble, assemble_papers, catalog_json, related_inputs,
                   related_texts)



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


LISTING_SUFFIXES = (".txt", ".md", ".markdown", ".json")  # .json: what `sitegen fetch` saves
# Folders never read as sources: tools' and version control's, whatever a sources folder holds.
TOOL_FOLDERS = {"node_modules", "venv", "env", "__pycache__", "site-packages", "bench-out"}


@dataclass(frozen=True)
class Discovery:
    """The listing files to read, and what was passed over on the way (for the user to see)."""

    sources: list[Source]
    skipped: list[str]  # notes: the folders left out and why, sources outside the project
    problems: list[Problem]  # files that could not be listings (broken links, FIFOs, ...)


def printable(path: str) -> str:
    """A path as it can be printed and put in a page: undecodable bytes of a file name (Python
    keeps them as surrogates) become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _display_name(path: Path, resolved: Path, root: Path) -> str:
    """The path relative to the project (the config's folder), else as resolved: the same
    whatever folder sitegen runs from."""
    try:
        return printable(resolved.relative_to(root).as_posix())
    except ValueError:
        return printable(resolved.as_posix())


def discover(inputs: list[str] | None, config: Config, exclude: tuple[Path, ...] = ()) -> Discovery:
    """Listing files from INPUT arguments (files or folders), else the config's sources. In a
    folder: every .txt, .md and .markdown file, but never under `exclude` (the output and cache
    folders), a hidden folder (.git, .venv) or a tool's (node_modules)."""
    candidates = [Path(i) for i in inputs] if inputs else [config.resolve(s) for s in config.sources]
    root = config.root.resolve()
    excluded = {p.resolve() for p in (*exclude, config.resolve(config.out), cache_dir(config))}
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    for c in candidates:
        if c.is_dir():
            found = _walk(c, excluded, skipped, problems)
            if not found:
                raise BuildError(f"{printable(str(c))}: no listing files ({', '.join('*' + x for x in LISTING_SUFFIXES)}) "
                                 f"in this folder yet: add a pasted page with `sitegen add PAGE`")
            files += found
        elif c.is_file():
            files.append(c)
        else:
            raise BuildError(f"{printable(str(c))}: no such file or folder")
    seen, sources = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            sources.append(Source(f, _display_name(f, key, root)))
    notes = []
    for why in ("the output or cache folder", "a hidden or tool folder"):
        folders = sorted({_display_name(p, p.resolve(), root) for p, reason in skipped if reason == why})
        if folders:
            notes.append(f"not read as sources ({why}): {', '.join(folders)}")
    outside = sorted({_display_name(c, c.resolve(), root) for c in candidates if not c.resolve().is_relative_to(root)})
    if outside:
        notes.append(f"sources outside the project folder {printable(str(root))}, read all the same: {', '.join(outside)}")
    unique = {(p.source, p.message): evolve(p, source=_display_name(Path(p.source), Path(p.source).absolute(), root))
              for p in problems}
    return Discovery(sources, notes, list(unique.values()))


def _walk(folder: Path, excluded: set[Path], skipped: list[tuple[Path, str]], problems: list[Problem]) -> list[Path]:
    found = []
    for current, dirs, names in os.walk(folder):
        here = Path(current)
        keep = []
        for d in sorted(dirs):
            path = (here / d).resolve()
            if path in excluded:
                skipped.append((here / d, "the output or cache folder"))
            elif d.startswith(".") or d in TOOL_FOLDERS:
                skipped.append((here / d, "a hidden or tool folder"))
            else:
                keep.append(d)
        dirs[:] = keep
        for name in sorted(names):
            if name.startswith(".") or not name.lower().endswith(LISTING_SUFFIXES):
                continue
            path = here / name
            where = str(path)
            if path.is_file():
                found.append(path)
            elif path.is_symlink() and not path.exists():
                problems.append(Problem(where, 0, "a link to nothing (broken symlink): skipped"))
            else:
                problems.append(Problem(where, 0, "not a regular file (a FIFO, socket or device): skipped"))
    return sorted(found)


def read_listings(sources: list[Source], config: Config, known: dict | None = None,
                  used: dict | None = None) -> list[Listing]:
    """Parse every listing. `known` maps (name, digest of the bytes, settings, default year) to
    the listing an earlier build parsed from exactly that (the build cache's memo), which is
    used instead of parsing again; `used` gets every key this build used."""
    listings = []
    for s in sources:
        try:
            raw = s.path.read_bytes()
        except OSError as e:
            raise BuildError(f"{s.name}: cannot read ({e.strerror})") from None
        settings = config.listings.get(s.path.name) or config.listing(s.name)
        key = (s.name, hashlib.blake2b(raw, digest_size=16).hexdigest(), repr(settings), config.year)
        parsed = (known or {}).get(key) or listing.parse(raw, s.name, settings, config.year)
        if used is not None:
            used[key] = parsed
        listings.append(parsed)
    return listings


def theme_dirs(config: Config) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The template folders and static folders, the project's overrides first (`theme`)."""
    try:
        found = load_theme(config)
    except ThemeError as e:
        raise BuildError(str(e)) from None
    return found.templates, found.static


def lunr_js(config: Config) -> Path:
    """lunr.js from the npm registry (`npm ci`) or as packaged with sitegen: never a committed copy."""
    path = find_lunr(config)
    if path is None:
        raise BuildError("lunr.js is not installed: run `npm ci` in the sitegen folder (`make setup` does it)")
    return path


def load_catalog(config: Config, inputs: list[str] | None, timings: dict[str, float],
                 found: Discovery | None = None, known: dict | None = None, used: dict | None = None,
                 slugs: dict | None = None, slugs_used: dict | None = None) -> Catalog:
    """Read and dedupe. `known`/`used`: the parsed-listings memo (`read_listings`); `slugs`/
    `slugs_used`: the slugs memo (`dedupe.dedupe`)."""
    t0 = time.perf_counter()
    found = found or discover(inputs, config)
    listings = read_listings(found.sources, config, known, used)
    t1 = time.perf_counter()
    gc.freeze()  # the parsed listings live to the end of the build (see `_build`)
    catalog = dedupe.dedupe(listings, slugs, slugs_used)
    if found.problems:
        catalog = evolve(catalog, problems=tuple(found.problems) + catalog.problems)
    t2 = time.perf_counter()
    timings["parse"], timings["dedupe"] = t1 - t0, t2 - t1
    return catalog


class ForkedJob:
    """`fn(items, *args)` run in a worker forked at once, while this process goes on: `send`
    gives it `args`, then it is fed items through `items` (`put` waits for room in the pipe,
    `offer` never does) up to `finish`; `result()` waits for what it returns. The worker reads
    them with `received(items)`.

    Forked early, while this process is small, a worker holds only what it is sent. One forked
    late would inherit the whole build's memory and end up with a private copy of every page it
    or this process touches (CPython's reference counts write to every object read). The
    result (or the exception) comes back pickled into a temporary file: the worker writes it
    and exits at once, even if this process reads it much later (through a pipe, a large
    result would keep the worker, and all its memory, alive until then). The worker gives up
    the build's lock and dies with its parent; `cancel` kills it, so nothing it does outlives a
    failed build. Where fork is unavailable there is no worker (`forked` is False), and the
    caller does the work itself."""

    def __init__(self, fn):
        self._proc = self._inbox = self._spill = None
        self._capacity = 0
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self._results, sender = context.Pipe(duplex=False)
        self._spill = tempfile.TemporaryFile(prefix="sitegen-result-")
        inbox, self._inbox = context.Pipe(duplex=False)
        gc.freeze()  # see `_build`: the build's data stays out of the collector's sweeps
        _JOBS.add(self)
        self._proc = context.Process(target=_run_forked, args=(fn, sender, self._spill, inbox))
        self._proc.start()
        sender.close()
        inbox.close()
        self._widen_inbox()

    def _widen_inbox(self) -> None:
        """The pipe holds up to 1 MB (64 KB by default), so the worker has work queued while
        this process is busy elsewhere; `offer` sends only what fits."""
        fd = self._inbox.fileno()
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        except (OSError, AttributeError):
            pass  # a smaller pipe only means this process renders more itself
        try:
            self._capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        except (OSError, AttributeError):
            self._capacity = 0  # unknown: nothing is said to fit, and this process does the work

    def _queued(self) -> int:
        """Bytes sent to the worker that it has not read yet."""
        return struct.unpack("i", fcntl.ioctl(self._inbox.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]

    def _close_in_worker(self, own_spill) -> None:
        """In a worker just forked: let go of this job's ends that belong to the build's process
        (its own job's too), so that a worker waiting on its inbox sees it end when the build
        closes it, not when every later worker has exited too."""
        for end in (self._inbox, self._results):
            if end is not None:
                end.close()
        if self._spill is not None and self._spill is not own_spill:
            self._spill.close()

    @property
    def forked(self) -> bool:
        return self._proc is not None

    def _write(self, data: bytes) -> None:
        try:
            self._inbox.send_bytes(data)
        except OSError:  # the worker is gone: `result` says why
            self._inbox.close()
            self._inbox = None

    def send(self, *args) -> None:
        """The worker's arguments, before any item (sent as one: `_run_forked` reads them first)."""
        self.put(args)

    def put(self, item) -> None:
        """Send the worker `item`, waiting for room in the pipe if need be. If the worker is
        gone, nothing is sent: `result` says why."""
        if self._inbox is not None:
            self._write(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

    def offer(self, item) -> bool:
        """Send the worker `item` if it fits in the pipe beside what is queued, so this never
        waits for the worker; False if it does not fit (or the worker is gone), and the caller
        does the work itself. A pipe keeps data in page-sized buffers, and a write that does not
        fit in the last one's free space starts a new one, so the bytes it holds can be half
        its size: only that half is counted on."""
        if self._inbox is None or not self._capacity:
            return False
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if len(data) + _FRAME + self._queued() > self._capacity // 2:
                return False
        except OSError:
            return False
        self._write(data)
        return self._inbox is not None

    def feed(self, items, make, chunk: int) -> None:
        """Send `make(items[start:start + chunk], start)` for each slice of `items`, then
        `finish`: a large sequence goes to the worker a slice at a time, so neither process ever
        holds it all pickled."""
        for start in range(0, len(items), chunk):
            self.put(make(items[start:start + chunk], start))
        self.finish()

    def finish(self) -> None:
        """Tell the worker there is nothing more."""
        if self._inbox is not None:
            self.put(None)
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None

    def result(self):
        if self._proc is None:
            raise RuntimeError("no worker was forked: the caller does the work itself (see `forked`)")
        try:
            self._results.recv()  # the worker's word that its outcome is in the file
            self._spill.seek(0)
            status, value = pickle.load(self._spill)
        except (EOFError, pickle.UnpicklingError):  # the worker died without a (whole) word
            status, value = None, None
        finally:
            self._results.close()
            self._spill.close()
        if status != "ok":
            self._proc.join()  # the pipe closes before the worker is reaped: its exit code comes after
        if status is None:
            raise BuildError(f"a build worker stopped unexpectedly (exit code {self._proc.exitcode}); "
                             f"the site was not written")
        if status == "error":
            raise value
        return value

    def join(self) -> None:
        """Wait for the worker to exit: after `result`, it may still be finishing what it does
        once its result is handed back (`Then`)."""
        if self._proc is not None:
            self._proc.join()

    def cancel(self) -> None:
        """A failed build neither waits for the worker nor lets it go on."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        if self._spill is not None:
            self._spill.close()
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None


_FRAME = 4  # bytes a connection adds before each message it sends (under 2 GB)
_JOBS: "weakref.WeakSet[ForkedJob]" = weakref.WeakSet()  # every job forked by this process


@dataclass(frozen=True)
class Then:
    """What a worker returns to hand back `value` at once and then run `after` (e.g. saving a
    build cache memo), so the build does not wait for it; the build `join`s the worker at its end."""

    value: object
    after: object  # a callable; what it raises is ignored: it may only cost the next build time


def received(items) -> Iterator:
    """In a worker: each item `put` or `offer`ed to it, until `finish`."""
    while (item := pickle.loads(items.recv_bytes())) is not None:
        yield item


def _run_forked(fn, sender, spill, inbox) -> None:
    _worker_init()
    for job in list(_JOBS):
        job._close_in_worker(spill)
    try:
        args = pickle.loads(inbox.recv_bytes())
    except EOFError:  # the build ended (or failed) without sending any: nothing to do
        return
    after = None
    try:
        outcome = ("ok", fn(inbox, *args))
        if isinstance(outcome[1], Then):
            outcome, after = ("ok", outcome[1].value), outcome[1].after
    except BaseException as e:  # handed to the parent, which raises it
        outcome = ("error", e)
    try:
        pickle.dump(outcome, spill, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its message still gets through
        spill.seek(0)
        spill.truncate()
        pickle.dump(("error", BuildError(f"a build worker failed: {outcome[1]!r}")), spill)
    spill.flush()
    sender.send("written")  # a few bytes: the pipe takes them without waiting for a reader
    sender.close()
    if after is not None:
        outcome = None  # handed back: keep only what `after` needs
        # ...and return the freed heap to the system before working on while the build grows
        # (the allocator keeps it otherwise): the related-papers worker at 10k, 109 MB to 87 MB.
        _glibc("malloc_trim", 0)
        try:
            after()
        except Exception:
            pass


def _glibc(name: str, *args) -> None:
    """Call the C library's function `name` where it is glibc (Linux); elsewhere do nothing."""
    try:
        import ctypes

        getattr(ctypes.CDLL("libc.so.6"), name)(*args)
    except (OSError, AttributeError):
        pass


def _worker_init() -> None:
    """A forked worker gives up the build's lock and dies with its parent (Linux; elsewhere it
    ends when it finds its parent gone)."""
    import signal

    release_inherited_locks()
    _glibc("prctl", 1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class RelatedJob:
    """Related papers (every paper compared with every other), found in a worker forked at the
    start of the build, while it is small. Once the catalogue exists it is sent each paper's
    text (its plain text from the paper-text memo where known, else as listed), a slice at a
    time, and makes it plain itself while this process turns the papers' text into HTML. A
    worker forked after dedupe would inherit the catalogue, and come to hold a private copy of
    every page of it that it reads. The worker keeps its own memo in the build cache: each
    text's stems, so only new text is split and stemmed."""

    CHUNK = 2000  # papers per message to the worker

    def __init__(self, cache: Path | None = None):
        self._job = ForkedJob(_related_papers)
        self._cache = cache
        self._local = None  # where processes cannot be forked: what to compute in `result`
        # Sent at once: the worker imports numpy and scipy and loads its memo (0.4 s at 10k)
        # while the build parses and dedupes, instead of after.
        self._job.send(cache)

    def send(self, catalog: Catalog, config: Config, known: dict) -> None:
        if not self._job.forked:
            self._local = related_inputs(catalog.papers, config, known)
            return
        self._job.feed(catalog.papers, lambda papers, _start: related_inputs(papers, config, known), self.CHUNK)

    def result(self) -> list[list[tuple[int, float]]]:
        if self._local is not None:
            found = _similar(self._local, build_cache.Memo(self._cache, "related-stems"))
            found.after()
            return found.value
        return self._job.result()

    def join(self) -> None:
        self._job.join()

    def cancel(self) -> None:
        self._job.cancel()


def _related_papers(items, cache: Path | None) -> Then:
    """The related-papers worker: ready itself while the build parses (imports, memo), receive
    every paper's text, then compare them."""
    from . import related  # noqa: F401  numpy and scipy: imported in the worker that needs them

    stems = build_cache.Memo(cache, "related-stems")
    inputs = [text for chunk in received(items) for text in chunk]  # all before any work: the build never waits
    return _similar(inputs, stems)


def _similar(inputs: list[tuple[str, str, bool]], stems: build_cache.Memo) -> Then:
    """The related papers, then saving the stems memo (after the build has them)."""
    from . import related

    texts = related_texts(inputs)
    inputs.clear()  # the worker's own: the texts as listed are done with once made plain
    return Then(related.related(texts, memo=stems.known, used=stems.used, consume=True), stems.save)


class IndexJob:
    """The search index, built in a worker forked at the start of the build (it inherits none of
    the build's data) and sent the search documents as soon as the papers' views exist
    (`assemble_papers`), a slice of the catalogue at a time, so neither process ever holds the
    whole archive pickled; it builds while this process finishes assembling and renders.

    The worker writes each file into an anonymous temporary file as it makes it, and hands back
    only where each one is: it never holds the whole index (140 MB at 100k papers), and `files`
    gives this process one file at a time."""

    CHUNK = 2000  # papers per message to the worker

    def __init__(self, cache: Path | None = None):
        self._file = tempfile.TemporaryFile(prefix="sitegen-index-")
        self._job = ForkedJob(functools.partial(_search_index, self._file))
        self._cache = cache
        self._local = None  # where processes cannot be forked: the documents, indexed in `files`
        self._job.send(cache)  # as `RelatedJob`: the worker's arguments at once, its items later

    def send(self, views: tuple) -> None:
        """The papers' views (`assemble_papers`), sent a slice at a time as what their search
        documents are made of; the worker makes the documents."""
        if not self._job.forked:
            self._local = search.documents(views)
            return
        self._job.feed(views, search.document_inputs, self.CHUNK)

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(output path, bytes) of each search file, once the worker is done."""
        if self._local is not None:
            yield from search.iter_index_files(self._local, self._cache)
            return
        try:
            for path, offset, length in self._job.result():
                data = os.pread(self._file.fileno(), length, offset)
                if len(data) != length:
                    raise BuildError(f"the search index worker's {path} came back cut short; the site was not written")
                yield path, data
        finally:
            self._file.close()

    def join(self) -> None:
        self._job.join()

    def cancel(self) -> None:
        self._job.cancel()
        self._file.close()


def _search_index(out, items, cache: Path | None) -> list[tuple[str, int, int]]:
    """The index worker: receive the documents, then write each search file into `out` as it
    is made; [(path, offset, length)]."""
    docs = [doc for chunk in received(items) for doc in search.documents_from(chunk)]
    places, offset = [], 0
    for path, data in search.iter_index_files(docs, cache, consume=True):  # the worker's own copy
        out.write(data)
        places.append((path, offset, len(data)))
        offset += len(data)
    out.flush()
    return places


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
        for rel, path in Theme((), static).static_files():
            fp.add(f"static/{rel}", path.read_bytes())
        for rel, path in extra_files(config.resolve(config.extra)):
            fp.add(f"extra/{rel}", path.read_bytes())
        fp.add("lunr.js", lunr_js(config).read_bytes())
    except OSError:
        return None
    return fp.hexdigest()


def render_site(site: Site, writer: Writer, templates: tuple[Path, ...], static: tuple[Path, ...], timings: dict[str, float],
                index: IndexJob, progress: Progress = QUIET, renders: build_cache.RenderCache | None = None,
                helper: ForkedJob | None = None) -> None:
    """Render every page, email and feed, copy the static files, and add the search index
    (built meanwhile by `index`). With `renders`, a page rendered last time from the same
    inputs is linked to the published file instead of rendered again.

    `helper` (a `RenderHelper`, forked at the start of the build) renders a share of the pages
    and emails into the same staging folder: whenever its pipe has room for it, the next one to
    render is sent to it (pickled: the bytes its render key digests anyway) instead of rendered here, so
    the two processes share the work at whatever pace each goes, and the helper only ever holds
    the page it is working on. Every path is claimed here first, in order, so two outputs that
    claim one path are refused as before."""
    t0 = time.perf_counter()
    emails = site.dated_digests
    for page in site.pages:
        writer.claim(page.path, f"page {page.kind}")
    for digest in emails:
        for path, origin in _email_origins(digest).items():
            writer.claim(path, origin)
    writer.claim(urls.CATALOG, "catalogue")
    try:
        if helper is not None:
            helper.send(writer.part(), templates, RenderSettings(site.config, site.has_feed))
        bar = progress("render", len(site.pages) + len(emails))
        renderer = Renderer(site, templates)
        for n, page in enumerate(site.pages, 1):
            record = None
            if renders:
                record = build_cache.pickled(page, site.has_feed)
                if renders.unchanged(page.path, record) and writer.reuse(page.path):
                    continue
            if not (helper and helper.offer(("page", (page.path,), record or build_cache.pickled(page, site.has_feed)))):
                writer.put(page.path, renderer.render(page))
            if n % 100 == 0:
                bar.update(100)
        bar.update(len(site.pages) % 100)
        for digest in emails:
            bar.update()
            record = build_cache.pickled(digest) if renders or helper is not None else None
            fresh = tuple(path for path in _email_origins(digest)
                          if not (renders and renders.unchanged(path, record) and writer.reuse(path)))
            if not fresh:
                continue
            if not (helper and helper.offer(("email", fresh, record))):
                _write_email(site, digest, templates, fresh, writer)
        writer.put_chunks(urls.CATALOG, catalog_json(site.catalog))
        if helper is not None:
            helper.finish()
            writer.merge(*helper.result())
        bar.close()
    except BaseException:
        if helper is not None:
            helper.cancel()  # before the staging folder it writes into is removed
        raise
    t1 = time.perf_counter()
    for path, data in feeds.files(site).items():
        writer.add(path, data, "feeds and crawler files")
    for rel, path in Theme((), static).static_files():
        writer.add(f"static/{rel}", path.read_bytes(), "static file")
    writer.copy_extra(site.config.resolve(site.config.extra))
    writer.add(urls.LUNR, lunr_js(site.config).read_bytes(), "lunr.js (npm)")
    t2 = time.perf_counter()
    bar = progress("search index", 1)  # shown while the build waits for the index
    sizes = {}
    for path, data in index.files():
        writer.add(path, data, "search index")
        sizes[path] = len(data)
    bar.update()
    bar.close()
    writer.index_bytes = search.index_size(sizes)
    writer.notes.extend(search.size_notes(writer.index_bytes))
    # The index is built beside the other stages: its figure is how long the build waited for it.
    timings["index"] = time.perf_counter() - t2
    timings["render"] = t1 - t0
    timings["feeds"] = t2 - t1


def _email_origins(digest) -> dict[str, str]:
    html_path = mail.email_path(digest)
    return {html_path: "email page", html_path.removesuffix(".html") + ".txt": "email text"}


def _write_email(site: Site | RenderSettings, digest, templates: tuple[Path, ...], paths: tuple[str, ...], writer: Writer) -> None:
    message = mail.compose(site, digest, templates)
    data = dict(zip(_email_origins(digest), (message.html.encode("utf-8"), message.text.encode("utf-8"))))
    for path in paths:
        writer.put(path, data[path])


def RenderHelper() -> ForkedJob | None:
    """A second process for rendering, forked at the start of the build, while this process is
    small. It is sent each page to render (`render_site`), so unlike a worker forked after
    assembling, it never holds (and, by touching it, copies) the build's data: at 100k papers
    that copy was a gigabyte. None where processes cannot be forked."""
    job = ForkedJob(_render_stream)
    return job if job.forked else None


def _render_stream(items, writer: Writer, templates: tuple[Path, ...], settings: RenderSettings) -> tuple:
    """The render helper: render and write each page or email it is sent, until None; returns
    what it wrote, for the build to merge into its writer."""
    gc.set_threshold(*HELPER_COLLECT)
    renderer = Renderer(settings, templates)
    for kind, paths, record in received(items):
        inputs = pickle.loads(record)
        if kind == "page":
            writer.put(paths[0], renderer.render(inputs[0]))
        else:
            _write_email(settings, inputs[0], templates, paths, writer)
    return writer.manifest, writer.bytes_written, writer.unchanged


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
    with fewer_collections():
        if memory:
            return _build(config, inputs, None, strict, None, progress)
        out = (out or config.resolve(config.out)).absolute()
        # One lock per output, in the project's cache folder whatever --cache-dir or --no-cache
        # say, so every build of it takes the same lock.
        with locked(out, lock_dir=cache_dir(config) / "locks"):
            recover_swap(out)  # a build killed mid-swap left the previous site aside
            check_replaceable(out)  # refuse early, before any work, if the folder is not ours
            return _build(config, inputs, out, strict, cache, progress)


COLLECT_AFTER = (200_000, 30, 30)  # gc thresholds during a build: mypy's (`mypy/build.py`)
# ...but Python's defaults in the render helper, which holds little but makes garbage cycles
# with every page (Jinja): there collections cost as little either way (0.5 s at 100k papers),
# and the default ones kept it at 70 MB, against 120 MB.
HELPER_COLLECT = (700, 10, 10)


@contextlib.contextmanager
def fewer_collections():
    """Run the cyclic garbage collector less often while building (its workers, forked
    meanwhile, inherit this). The build allocates millions of objects and frees few of them in
    cycles; by default a collection runs every 700 allocations, and a full one, which scans
    everything not yet frozen (see `_build`), whenever a quarter more survives: at 100k papers
    24 full collections took 8.9 s, and all of them 11 s, against 0.8 s at 10k. What the
    collector finds is garbage Jinja leaves in cycles, tens of thousands of objects in a whole
    build, so collecting it later costs little memory."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECT_AFTER)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _strict_check(strict: bool, problems: tuple[Problem, ...]) -> None:
    if strict and problems:
        raise BuildError(f"--strict: {len(problems)} warning(s); the site was not written", problems)


def _build(config: Config, inputs: list[str] | None, out: Path | None, strict: bool, cache: Path | None,
           progress: Progress = QUIET) -> BuildResult:
    """A build into `out`, or into memory when `out` is None (tests)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    found = discover(inputs, config, tuple(p for p in (out, cache) if p is not None))
    sources = found.sources
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
    index = IndexJob(cache)  # forked now, while this process holds little; sent its documents later
    helper = RenderHelper() if out is not None else None  # likewise; sent pages to render
    similar = RelatedJob(cache)  # likewise; sent the papers' text
    try:
        parsed, slugs = build_cache.Memo(cache, "listings"), build_cache.Memo(cache, "slugs")
        catalog = load_catalog(config, inputs, timings, found, parsed.known, parsed.used, slugs.known, slugs.used)
        parsed.release()
        slugs.release()
        # The catalogue (and, at each fork, what has been assembled) lives to the end of the build:
        # frozen, it is left out of the garbage collector's full sweeps, which would otherwise scan
        # the whole growing heap again and again (at 10k, 0.9 s of such sweeps). Frozen objects are
        # still freed when nothing refers to them; only reference cycles among them would stay,
        # and the build's data is frozen dataclasses and tuples.
        gc.freeze()
        result = BuildResult(catalog, timings=timings)
        _strict_check(strict, catalog.problems)
        if not catalog.papers and not catalog.listings:
            raise BuildError("no listings to build")
        t0 = time.perf_counter()
        texts = build_cache.Memo(cache, "paper-text", (PaperText, Link))
        similar.send(catalog, config, texts.known)
        papers = assemble_papers(catalog, config, texts.known)
        texts.used = papers.texts
        texts.release()
        index.send(papers.views)
        site = assemble(catalog, config, papers, similar.result())
        papers = None  # the views without related papers are done with
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
                render_site(site, writer, templates, static, timings, index, progress, renders, helper)
                if cache is not None:
                    build_cache.forget(cache, out)  # the output is about to change under the record
            result.out = out
    except BaseException:
        index.cancel()
        if helper is not None:
            helper.cancel()
        similar.cancel()
        raise
    result.files, result.bytes_written = len(writer.origins), writer.bytes_written
    result.notes, result.index_bytes, result.unchanged = found.skipped + writer.notes, writer.index_bytes, writer.unchanged
    timings["total"] = time.perf_counter() - started
    for memo in (texts, parsed, slugs):
        memo.save()
    if out is not None and cache is not None and key:
        build_cache.save_record(cache, out, build_cache.Record(
            key, writer.manifest, result.report(), [dataclasses.asdict(p) for p in catalog.problems], result.notes,
            renders.keys))
    for job in (similar, index, helper):  # what a worker does after its result (`Then`) ends with the build
        if job is not None:
            job.join()
    return result
