"""Where the listings are: discovering listing files in the sources (never the output, the
cache, hidden or tool folders) and reading each through `listing.parse`. The only stage that
reads input files.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import BuildError, UserError
from .model import Listing, Problem, evolve
from .output import write_file


@dataclass(frozen=True)
class Source:
    path: Path
    name: str  # how problems and papers.json name it: the path as the user would write it


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


def _display_name(resolved: Path, root: Path) -> str:
    """A resolved path relative to the project (the config's folder), else whole: the same
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
    missing: list[Problem] = []  # every source that cannot be read, reported together
    for c in candidates:
        if c.is_dir():
            found = _walk(c, excluded, skipped, problems)
            if not found:
                missing.append(Problem(printable(str(c)), 0, f"no listing files ({', '.join('*' + x for x in LISTING_SUFFIXES)}) "
                                       f"in this folder yet: add a pasted page with `sitegen add PAGE`", "error",
                                       "no-listings"))
            files += found
        elif c.is_file():
            files.append(c)
        else:
            missing.append(Problem(printable(str(c)), 0, "no such file or folder", "error", "no-such-source"))
    if len(missing) == 1:
        raise BuildError(f"{missing[0].source}: {missing[0].message}")
    if missing:
        raise BuildError(f"{len(missing)} sources cannot be read (above); nothing was built", tuple(missing))
    seen, sources = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            sources.append(Source(f, _display_name(key, root)))
    notes = []
    for why in ("the output or cache folder", "a hidden or tool folder"):
        folders = sorted({_display_name(p.resolve(), root) for p, reason in skipped if reason == why})
        if folders:
            notes.append(f"not read as sources ({why}): {', '.join(folders)}")
    resolved = [c.resolve() for c in candidates]
    outside = sorted({_display_name(c, root) for c in resolved if not c.is_relative_to(root)})
    if outside:
        notes.append(f"sources outside the project folder {printable(str(root))}, read all the same: {', '.join(outside)}")
    unique = {(p.source, p.message): evolve(p, source=_display_name(Path(p.source).absolute(), root))
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
                problems.append(Problem(where, 0, "a link to nothing (broken symlink): skipped", code="broken-link"))
            else:
                problems.append(Problem(where, 0, "not a regular file (a FIFO, socket or device): skipped",
                                        code="not-a-file"))
    return sorted(found)


def read_listings(sources: list[Source], config: Config, parse=None) -> list[Listing]:
    """Read and parse every listing (`parse`: `listing.parse` unless given, or the build cache's
    memo of it, keyed by `listing_key`)."""
    if parse is None:
        from .listing import parse
    listings = []
    for s in sources:
        try:
            raw = s.path.read_bytes()
        except OSError as e:
            raise BuildError(f"{s.name}: cannot read ({e.strerror})") from None
        settings = config.listings.get(s.path.name) or config.listing(s.name)
        listings.append(parse(raw, s.name, settings, config.year))
    return listings


def listing_key(raw: bytes, name: str, settings, default_year) -> tuple:
    """What a parsed listing depends on: its name, its bytes (a digest), its settings and the
    config's year."""
    return (name, hashlib.blake2b(raw, digest_size=16).hexdigest(), repr(settings), default_year)


@dataclass(frozen=True)
class Saved:
    """A listing `sitegen add` or `sitegen fetch` put into the sources."""

    path: Path
    listing: Listing  # as the next build will read it
    written: bool  # False when the same bytes were already there


class SaveError(UserError):
    """A listing file cannot be saved; the message says why and what to do, after the problems
    found in it, if any (the CLI prints those first)."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = problems


def first_folder(config: Config) -> Path:
    """Where `sitegen add` and `sitegen fetch` put a new listing: the first of `sources`."""
    if not config.sources:
        raise SaveError("the config names no sources folder to save the listing in")
    folder = config.resolve(config.sources[0])
    if folder.exists() and not folder.is_dir():
        raise SaveError(f"{folder} is a file, not a folder: the first of `sources` must be a folder")
    return folder


def save_listing(target: Path, raw: bytes, force: bool = False) -> bool:
    """Save a listing file whole; False if the same bytes are there already. A different file of
    that name is kept (SaveError) unless `force`."""
    if target.exists():
        if target.read_bytes() == raw:
            return False
        if not force:
            raise SaveError(f"{target} already holds a different listing: kept it (--force replaces it)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, raw)
    except OSError as e:
        raise SaveError(f"{target}: cannot write it ({e.strerror or e})") from None
    return True


def cache_dir(config: Config) -> Path:
    """The build cache: beside the config, never inside the published output; safe to delete."""
    return config.root / ".sitegen-cache"
