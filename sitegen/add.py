"""`sitegen add`: a pasted page into the project's listings, named for its digest date.

The paste is read as a build would read it (format, date, papers), so what `add` reports is what
the next build will publish, and it is written as `YYYY-MM-DD.<ext>` into the first sources
folder: a name that carries its date, so a build needs no config to date it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import listing
from .config import Config, ListingSettings
from .model import Listing

EXTENSIONS = {"markdown": "md", "api json": "json"}  # every other format is text


class AddError(Exception):
    """The paste cannot be added; the message says why and what to do."""


@dataclass(frozen=True)
class Added:
    path: Path
    listing: Listing
    written: bool  # False when the same bytes were already there


def add(raw: bytes, name: str, config: Config, date=None, force: bool = False) -> Added:
    """Read `raw` (named `name` for its messages and its file-name date), decide its digest date
    (or take `date`), and write it into the first sources folder; AddError if it has no papers
    or no date, or another file of that name is there (unless `force`)."""
    if not config.sources:
        raise AddError("the config names no sources folder to add the listing to")
    folder = config.resolve(config.sources[0])
    if folder.exists() and not folder.is_dir():
        raise AddError(f"{folder} is a file, not a folder: the first of `sources` must be a folder to add to")
    parsed = listing.parse(raw, name, ListingSettings(date=date), config.year)
    if not parsed.entries:
        raise AddError(f"{name}: no papers found in it; nothing was added")
    if parsed.date is None:
        raise AddError(f"{name}: could not tell its digest date (see the warning above); give it with "
                       f"--date YYYY-MM-DD")
    target = folder / f"{parsed.date.isoformat()}.{EXTENSIONS.get(parsed.format, 'txt')}"
    if target.exists():
        if target.read_bytes() == raw:
            return Added(target, parsed, written=False)
        if not force:
            raise AddError(f"{target} already holds a different listing: refusing to replace it "
                           f"(--force replaces it)")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise AddError(f"{target}: cannot write it ({e.strerror or e})") from None
    return Added(target, parsed, written=True)
