"""`sitegen add`: a pasted page into the project's listings, named for its digest date.

The paste is read as a build would read it (format, date, papers), so what `add` reports is what
the next build will publish, and it is written as `YYYY-MM-DD.<ext>` into the first sources
folder: a name that carries its date, so a build needs no config to date it.
"""
from __future__ import annotations


from . import listing
from .config import Config, ListingSettings
from .sources import SaveError, Saved, first_folder, save_listing

EXTENSIONS = {"markdown": "md", "api json": "json"}  # every other format is text


class AddError(SaveError):
    """The paste cannot be added; the message says why and what to do."""


def add(raw: bytes, name: str, config: Config, date=None, force: bool = False) -> Saved:
    """Read `raw` (named `name` for its messages and its file-name date), decide its digest date
    (or take `date`), and write it into the first sources folder; AddError if it has no papers
    or no date, or another file of that name is there (unless `force`)."""
    folder = first_folder(config)
    parsed = listing.parse(raw, name, ListingSettings(date=date), config.year)
    if not parsed.entries:
        raise AddError(f"{name}: no papers found in it; nothing was added", parsed.problems)
    if parsed.date is None:
        raise AddError(f"{name}: could not tell its digest date (see the warning above); give it with "
                       f"--date YYYY-MM-DD", parsed.problems)
    target = folder / f"{parsed.date.isoformat()}.{EXTENSIONS.get(parsed.format, 'txt')}"
    return Saved(target, parsed, written=save_listing(target, raw, force))
