"""The records templates see: read-only views of the catalogue, built by `site`, rendered by
`render`, `feeds`, `mail` and `search`. Templates present these ready values (labels, safe
HTML, excerpts, root-relative paths); they decide nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import field

from markupsafe import Markup

from . import urls
from .config import Config
from .model import MONTH_NAMES, Catalog, Paper, made, record

INDEX_DATES = 30  # the index shows this many newest dates; the archive has them all
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def noon_utc(d: dt.date) -> dt.datetime:
    """A digest date as a moment (noon UTC), for headers that need a time."""
    return dt.datetime(d.year, d.month, d.day, 12, tzinfo=dt.timezone.utc)


def short_date(d: dt.date, year: bool = True) -> str:
    """"Mar 11, 2025", or "Mar 11" without the year."""
    return f"{MONTH_NAMES[d.month - 1][:3]} {d.day}" + (f", {d.year}" if year else "")


def long_date(d: dt.date) -> str:
    return f"{WEEKDAYS[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


@record
class Link:
    path: str  # root-relative output path
    label: str


@record
class PaperSummary:
    """A paper as a list shows it."""

    id: str
    path: str
    title_html: Markup
    title_text: str
    excerpt: str
    meta: tuple[str, ...]
    rank: int = 0
    upvotes: int | None = None
    repeat: str = ""  # on a date's page, when the paper was listed before: "also listed Mar 11"


@record
class Digest:
    """A digest date (all listings of that date) or one undated listing."""

    path: str
    label: str  # "Wednesday, March 12, 2025" or the listing's name
    short_label: str
    date: dt.date | None
    sources: tuple[str, ...]
    papers: tuple[PaperSummary, ...]
    previous: Link | None = None
    next: Link | None = None
    week: Link | None = None  # the ISO week and month this date rolls up into
    month: Link | None = None
    ordering: str = "listing"  # or "top"
    alternate: Link | None = None  # the other ordering, when upvotes are known


@record
class AppearanceView:
    digest: Link
    source: str
    line: int
    rank: int
    upvotes: int | None
    date: dt.date | None = None  # the digest date, None for an undated listing


@record
class PaperView:
    id: str
    path: str
    title_html: Markup
    title_text: str
    abstract_html: Markup
    abstract_text: str
    description: str
    meta: tuple[str, ...]
    authors_count: int | None
    organization: str | None
    published: str | None
    upvotes: int | None
    appearances: tuple[AppearanceView, ...]
    links_out: tuple[Link, ...]
    structured_data: dict = field(default_factory=dict)  # schema.org ScholarlyArticle, as JSON-LD
    history: str = ""  # "listed on 3 days; upvotes 12 -> 48"
    related: tuple[Link, ...] = ()  # the most similar papers, best first
    arxiv_id: str | None = None
    submitter: str | None = None
    authors: tuple[str, ...] = ()
    ai_summary: str | None = None


@record
class FrontView:
    """What the front page shows: the newest digest, the newest dates, the undated listings."""

    latest: Digest | None
    recent: tuple[Digest, ...]  # newest first, at most INDEX_DATES
    undated: tuple[Digest, ...]
    dated_count: int
    paper_count: int


@record
class ArchiveView:
    """What the archive page shows: every month and every week, newest first."""

    months: tuple
    weeks: tuple


@record
class Deferred:
    """A page's view made only when the page is rendered (`make()`, a picklable callable), and
    what it is made from (`inputs`, plain records), which the page's render key digests in its
    place: a page kept as published never has its view made."""

    inputs: tuple
    make: object


@record
class Page:
    """One output page: where it goes, which template draws it, and what it is given."""

    path: str
    template: str
    title: str
    description: str
    kind: str
    # The page's view record: a FrontView or ArchiveView; for a paper's page its PaperParts,
    # made into its PaperView only when the page is rendered (`render.Renderer`); for a date's,
    # week's or month's page a `Deferred` digest or period (`periods.in_order`, `ordered_view`).
    view: object = None
    lastmod: dt.date | None = None  # for the sitemap: the newest digest date the page shows
    og_type: str = "website"
    base_href: str | None = None  # a <base> for pages served at any depth (404)
    in_sitemap: bool = True  # False for 404 and for the "top" reorderings of a page already listed


@record
class Site:
    config: Config
    pages: tuple[Page, ...]
    digests: tuple[Digest, ...]
    papers: tuple[PaperParts, ...]  # without related papers in a build's site (`site.assemble_pages`)
    catalog: Catalog  # for `catalog_json`, made as it is written
    weeks: tuple = ()  # periods.PeriodPlan
    months: tuple = ()

    @property
    def dated_digests(self) -> list[Digest]:
        """The digests with a date, in order: feeds are timed by them, emails made of them."""
        return [d for d in self.digests if d.date]

    @property
    def emailed_digests(self) -> list[Digest]:
        """The dated digests whose email page and text the site carries: the newest
        `email_days` dates (`sitegen email` composes any date's on demand)."""
        keep = set(sorted({d.date for d in self.dated_digests})[::-1][:self.config.email_days])
        return [d for d in self.dated_digests if d.date in keep]

    @property
    def has_feed(self) -> bool:
        """A feed needs dated digests: its entries are timed by their digest date."""
        return any(d.date and d.papers for d in self.digests)


@record
class PaperText:
    """What a paper's title and abstract become on its pages: a pure function of the two texts
    and the excerpt length, so the build cache keeps it between builds."""

    title_text: str
    abstract_text: str
    title_html: Markup  # safe HTML, made Markup once: the views share these strings, not copies
    # The abstract's HTML, or None where it is the plain abstract as one paragraph (most
    # abstracts): `abstract_html` makes that when a page is rendered, so the thousands of
    # papers a build only lists or keeps as published never hold a copy of their abstract as
    # HTML (`own_html` says which it is).
    own_html: Markup | None
    excerpt: str
    description: str

    @property
    def abstract_html(self) -> Markup:
        if self.own_html is not None:
            return self.own_html
        return str.__new__(Markup, _paragraph(self.abstract_text))  # escaped: Markup without its checks

    @staticmethod
    def own(abstract_text: str, abstract_html: str) -> Markup | None:
        """What `own_html` holds for an abstract whose plain text and HTML are these."""
        return None if abstract_html == _paragraph(abstract_text) else Markup(abstract_html)


def text_to_keep(key: tuple, t: PaperText) -> tuple:
    """What the build cache keeps of a paper's text (the paper-text memo's codec, `cache.Memo`),
    given its key (title, abstract, excerpt length): every part that follows from the others
    is left out. A plain text that is the title or abstract as given is None (it is for 93% of
    abstracts), so is HTML that is its plain text escaped (the abstract as one paragraph), and
    an excerpt or description that is an opening of the plain abstract and an ellipsis is the
    opening's length. At 10k papers the memo fell from 50 MB to 21 MB."""
    return (None if t.title_text == key[0] else t.title_text,
            None if t.abstract_text == key[1] else t.abstract_text,
            None if t.title_html == _escaped(t.title_text) else str(t.title_html),
            None if t.own_html is None else str(t.own_html),
            _opening(t.abstract_text, t.excerpt), _opening(t.abstract_text, t.description))


def text_from_kept(key: tuple, kept) -> PaperText | None:
    """`text_to_keep` read back (None if it is not what that makes)."""
    if type(kept) is not tuple or len(kept) != 6:
        return None
    title_text, abstract_text, title_html, abstract_html, excerpt, description = kept
    title_text = key[0] if title_text is None else title_text
    abstract_text = key[1] if abstract_text is None else abstract_text
    if not (type(title_text) is str and type(abstract_text) is str):
        return None
    title_html = _escaped(title_text) if title_html is None else title_html
    excerpt, description = _from_opening(abstract_text, excerpt), _from_opening(abstract_text, description)
    if not (type(title_html) is str and (abstract_html is None or type(abstract_html) is str)
            and type(excerpt) is str and type(description) is str):
        return None
    if abstract_html is not None and abstract_html == _paragraph(abstract_text):
        return None  # not what `text_to_keep` makes
    # As the cache makes its records (`model.made`), the HTML made Markup without its checks.
    return made(PaperText, {
        "title_text": title_text, "abstract_text": abstract_text, "title_html": str.__new__(Markup, title_html),
        "own_html": None if abstract_html is None else str.__new__(Markup, abstract_html), "excerpt": excerpt,
        "description": description})


ELLIPSIS = "\u2026"


def _escaped(s: str) -> str:
    """Text as markdown-it escapes it in HTML (quotes are left as they are)."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraph(s: str) -> str:
    return f"<p>{_escaped(s)}</p>"


def _opening(text: str, part: str) -> int | str:
    """`part` as the length of the opening of `text` it is with an ellipsis, else itself."""
    if part.endswith(ELLIPSIS) and text.startswith(part[:-1]):
        return len(part) - 1
    return part


def _from_opening(text: str, part):
    if type(part) is int and 0 <= part <= len(text):
        return text[:part] + ELLIPSIS
    return part


@record
class PaperParts:
    """What a paper's page is made from: the paper's record, what its title and abstract become,
    the digest each appearance is on (a link per appearance) and the related papers (links,
    best first). `site.paper_view` makes the page's view of these and the settings when the
    page is rendered, so a build makes views only for the pages it renders; the render key
    digests `inputs` (the text is a function of the record and the settings).

    `origin` names the paper's record without holding it: its permalink and the digest of each
    entry it was made from (`site.paper_origin`). Dedupe makes a paper from those entries
    alone (`dedupe._merge`), so equal origins mean equal records, and the render key digests
    the origin instead of serialising the record again (at 10k papers, 30 MB of JSON a build)."""

    paper: Paper
    text: PaperText
    digests: tuple[Link, ...]
    related: tuple[Link, ...] = ()
    origin: tuple | None = None  # None for listings not made by the parser (`Listing.entry_digests`)

    @property
    def path(self) -> str:
        return urls.paper(self.paper.id)

    @property
    def inputs(self) -> tuple:
        """Everything the page is made from but the settings and the theme, in small records
        (the view repeats the abstract as text, HTML, excerpts and structured data): what a
        paper page's render key digests. Whatever a paper's page comes to show must come from
        these."""
        return (self.origin or self.paper, self.digests, self.related)
