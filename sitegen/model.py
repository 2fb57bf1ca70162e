"""The vocabulary every stage speaks: frozen records that remember where they came from.

Stages pass these, never dicts: a `Listing` from the parser, a `Catalog` from dedupe.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import MISSING, dataclass, field, fields


# What XML 1.0 cannot hold (Atom, sitemap): C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone
# surrogates. Listings are read without them and settings are refused with them.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")  # the one table: readers, labels and pages use it


def evolve(record, **changes):
    """`dataclasses.replace` for the pipeline's records (frozen dataclasses with no
    `__post_init__` and no init-only fields): a copy with `changes`, made without running
    `__init__` again. Three times faster, which counts where every paper is copied."""
    if not changes.keys() <= record.__dataclass_fields__.keys():
        raise TypeError(f"{type(record).__name__} has no field {sorted(changes.keys() - record.__dataclass_fields__.keys())}")
    return made(type(record), {**record.__dict__, **changes})


def record(cls):
    """`@dataclass(frozen=True)`, the pipeline's records, with an `__init__` that sets the
    fields in one step, as `made` does: a frozen dataclass's own sets each field through
    `object.__setattr__`, and the build makes its records by the hundred thousand (a paper
    listed once: 5.5 against 2.1 microseconds). The same arguments, defaults and default
    factories; a class with anything else its `__init__` would do (`__post_init__`, init-only
    or keyword-only fields) keeps the dataclass's own."""
    cls = dataclass(frozen=True)(cls)
    own = fields(cls)
    if (hasattr(cls, "__post_init__") or len(own) != len(cls.__dataclass_fields__)
            or any(not f.init or f.kw_only or f.name.startswith("_record_") for f in own)):
        return cls
    scope, params, factories = {"_record_set": object.__setattr__, "_record_missing": MISSING}, [], []
    for f in own:
        if f.default is not MISSING:
            scope[f"_record_{f.name}"] = f.default
            params.append(f"{f.name}=_record_{f.name}")
        elif f.default_factory is not MISSING:
            scope[f"_record_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_record_missing")
            factories.append(f"    if {f.name} is _record_missing:\n        {f.name} = _record_{f.name}()\n")
        else:
            params.append(f.name)
    values = ", ".join(f"{f.name!r}: {f.name}" for f in own)
    exec(f"def __init__(self, {', '.join(params)}):\n{''.join(factories)}"
         f"    _record_set(self, '__dict__', {{{values}}})\n", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init
    return cls


def made(cls, values: dict):
    """A record of `cls` (a frozen dataclass, as `evolve` takes) whose fields are `values` (a
    new dict, every field by name), made without `__init__`, which for a frozen dataclass sets
    each field through object.__setattr__: a third of the time where every paper is made (the
    build cache's records, `evolve`'s copies)."""
    made_record = object.__new__(cls)  # (not `record`: that is the decorator above)
    object.__setattr__(made_record, "__dict__", values)
    return made_record


@record
class Problem:
    """Something a stage could not place, reported compiler-style as `source:line: severity: message`."""

    source: str
    line: int
    message: str
    severity: str = "warning"  # "warning" or "error"
    code: str = ""  # what kind of problem, stable across versions (docs/reference.md, "Problems")

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.severity}: {self.message}" + (f" [{self.code}]" if self.code else "")


@record
class Entry:
    """One paper as one listing shows it."""

    source: str  # listing file name, as given on the command line / config
    line: int  # 1-based line of the title
    rank: int  # 1-based position within its listing
    title: str
    abstract: str = ""
    authors_count: int | None = None
    organization: str | None = None
    published: dt.date | None = None
    published_text: str | None = None  # the date as printed, when it could not be made a full date
    upvotes: int | None = None
    listing_date: dt.date | None = None
    # What today's pages carry beside the old layout's fields (each optional):
    arxiv_id: str | None = None  # normalised: `2403.01774` (no version), `hep-th/9901001`
    comments: int | None = None
    submitter: str | None = None  # "Submitted by NAME"
    authors: tuple[str, ...] = ()  # names, where the page shows them
    code_url: str | None = None  # the code repository
    code_stars: int | None = None
    ai_summary: str | None = None  # the page's one-line AI summary, kept apart from the abstract

    @property
    def abstract_truncated(self) -> bool:
        return self.abstract.rstrip().endswith(("...", "\u2026"))


@record
class Listing:
    """One listing file, parsed."""

    source: str
    date: dt.date | None
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...] = ()
    title: str | None = None  # a label for undated listings (from config), else None
    format: str = "text"  # which reader read it (`sitegen.formats`)
    heading: str | None = None  # the page's own first heading, if it has one
    # A digest of each entry's whole record (`listing.entry_digests`), so a record made from
    # entries can be named without serialising them again; () if not made by the parser.
    entry_digests: tuple[str, ...] = ()


@record
class Appearance:
    """Where and when a paper was listed."""

    source: str
    line: int
    rank: int
    date: dt.date | None
    upvotes: int | None = None


@record
class Paper:
    """A distinct paper: every appearance, the richest data."""

    id: str  # the permalink slug, unique in the catalog
    title: str
    abstract: str
    appearances: tuple[Appearance, ...]  # oldest digest first, undated last, then file and line
    authors_count: int | None = None
    organization: str | None = None
    published: dt.date | None = None
    published_text: str | None = None
    upvotes: int | None = None
    arxiv_id: str | None = None
    comments: int | None = None
    submitter: str | None = None
    authors: tuple[str, ...] = ()
    code_url: str | None = None
    code_stars: int | None = None
    ai_summary: str | None = None

    @property
    def dates(self) -> tuple[dt.date, ...]:
        return tuple(sorted({a.date for a in self.appearances if a.date is not None}))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.source for a in self.appearances))


@record
class Merge:
    """An entry that dedupe folded into a paper, for audit (`sitegen check`)."""

    source: str
    line: int
    title: str
    paper_id: str
    paper_title: str
    title_similarity: float  # 0-100, rapidfuzz ratio of normalised titles
    abstract_similarity: float | None  # 0-100, or None when one side had no abstract
    exact: bool  # True when the normalised titles and abstracts were identical


@record
class Catalog:
    """Every listing and every distinct paper, ready for assembly."""

    listings: tuple[Listing, ...]
    papers: tuple[Paper, ...]
    merges: tuple[Merge, ...] = ()
    problems: tuple[Problem, ...] = ()
    entry_count: int = field(default=0)
