"""Site-wide machine outputs: the Atom feed (feedgen), sitemap.xml, robots.txt, .nojekyll.

Nothing here reads a clock: feed timestamps are digest dates, so the same input gives the
same bytes. Entry ids are name-based UUIDs of the paper id, stable when the base URL changes.
"""
from __future__ import annotations

from collections.abc import Iterator

import datetime as dt
import html
import json
import uuid

from feedgen.feed import FeedGenerator

from . import __version__, urls
from .jsonio import compact
from .model import Paper, record
from .views import Site

FEED_ITEMS = 50  # papers in the feed: the newest digest dates first


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def feed_items(site: Site, limit: int = FEED_ITEMS):
    """(digest, paper summary) pairs, newest digest first, each paper once, at most `limit`."""
    seen, items = set(), []
    for digest in sorted(site.dated_digests, key=lambda d: d.date, reverse=True):
        for paper in digest.papers:
            if paper.id in seen:
                continue
            seen.add(paper.id)
            items.append((digest, paper))
            if len(items) == limit:
                return items
    return items


def atom(site: Site) -> bytes | None:
    """The Atom feed, or None when no listing has a date (a feed needs `updated` times)."""
    items = feed_items(site)
    if not items:
        return None
    base = site.config.base_url
    fg = FeedGenerator()
    fg.id(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sitegen:feed:' + site.config.title)}")
    fg.title(site.config.title)
    fg.subtitle(site.config.description)
    fg.link(href=urls.href(base, urls.FEED, urls.INDEX), rel="alternate", type="text/html")
    fg.link(href=urls.href(base, urls.FEED, urls.FEED), rel="self", type="application/atom+xml")
    fg.language(site.config.language)
    fg.generator("sitegen", __version__)
    fg.updated(_instant(items[0][0].date))
    for digest, paper in items:
        entry = fg.add_entry(order="append")
        entry.id(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sitegen:paper:' + paper.id)}")
        entry.title(paper.title_text)
        entry.link(href=urls.href(base, urls.FEED, paper.path), rel="alternate", type="text/html")
        entry.updated(_instant(digest.date))
        entry.published(_instant(digest.date))
        entry.summary(paper.excerpt or paper.title_text)
        entry.category(term=digest.date.isoformat(), label=digest.short_label)
    return fg.atom_str(pretty=True)


def json_feed(site: Site) -> bytes | None:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): the same items as the Atom feed."""
    items = feed_items(site)
    if not items:
        return None
    base = site.config.base_url
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.config.title,
        "description": site.config.description,
        "home_page_url": urls.href(base, urls.FEED, urls.INDEX),
        "feed_url": urls.href(base, urls.FEED, urls.JSON_FEED),
        "language": site.config.language,
        "items": [
            {
                "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sitegen:paper:' + paper.id)}",
                "url": urls.href(base, urls.FEED, paper.path),
                "title": paper.title_text,
                "summary": paper.excerpt or paper.title_text,
                "content_text": paper.excerpt or paper.title_text,
                "date_published": _instant(digest.date).isoformat(),
                "tags": [digest.date.isoformat()],
            }
            for digest, paper in items
        ],
    }
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def sitemap(site: Site) -> bytes | None:
    """sitemap.xml; the protocol requires absolute URLs, so only with a base URL."""
    base = site.config.base_url
    if not base:
        return None
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for page in site.pages:
        if not page.in_sitemap:
            continue
        lastmod = page.lastmod.isoformat() if page.lastmod else None
        lines.append(f"  <url><loc>{html.escape(urls.absolute(base, page.path), quote=False)}</loc>"
                     + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(site: Site, with_sitemap: bool) -> bytes:
    text = "User-agent: *\nAllow: /\n"
    if with_sitemap:
        text += f"Sitemap: {urls.absolute(site.config.base_url, urls.SITEMAP)}\n"
    return text.encode("utf-8")


def files(site: Site) -> dict[str, bytes]:
    out: dict[str, bytes] = {urls.NOJEKYLL: b""}
    feed = atom(site)
    if feed is not None:
        out[urls.FEED] = feed
        out[urls.JSON_FEED] = json_feed(site)
    smap = sitemap(site)
    if smap is not None:
        out[urls.SITEMAP] = smap
    out[urls.ROBOTS] = robots(site, smap is not None)
    return out


@record
class CatalogPart:
    """A share of the machine-readable catalogue: the papers first listed in one month (in
    catalogue order), a file of its own (`urls.catalog_part`) that `papers.json` lists. A
    paper's row is a function of its record, which its origin names (`PaperParts.origin`), so
    a build keys each part by its papers' origins and a day added rewrites only its month's
    part (and a part whose paper gained an entry), not the whole catalogue (20 MB at 10k
    papers, 203 MB at 100k)."""

    month: str | None  # YYYY-MM; None for papers listed only in undated listings
    papers: tuple[Paper, ...]
    origins: tuple | None  # each paper's origin; None where a paper has none (not parsed from a file)

    @property
    def path(self) -> str:
        return urls.catalog_part(self.month)


def catalog_parts(site: Site) -> list[CatalogPart]:
    """The catalogue in parts, one per month of first listing, oldest first, undated last."""
    origin_of = {parts.paper.id: parts.origin for parts in site.papers}
    months: dict[str | None, list[Paper]] = {}
    month_of: dict = {None: None}  # a digest date's month, found once per date
    for p in site.catalog.papers:
        first = p.appearances[0].date  # appearances are oldest first, undated last
        month = month_of.get(first, False)
        if month is False:
            month = month_of[first] = first.isoformat()[:7]
        months.setdefault(month, []).append(p)
    out = []
    for month, papers in sorted(months.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        origins = tuple(origin_of.get(p.id) for p in papers)
        out.append(CatalogPart(month, tuple(papers), None if None in origins else origins))
    return out


def catalog_index(parts: list[CatalogPart]) -> bytes:
    """`papers.json`: how many papers, and each part's month, file and paper count."""
    rows = [compact({"month": part.month, "url": part.path, "papers": len(part.papers)}) for part in parts]
    return (b'{"papers":' + str(sum(len(part.papers) for part in parts)).encode() + b',"parts":[\n'
            + b",\n".join(rows) + b"\n]}\n")


def catalog_json(papers: tuple[Paper, ...]) -> Iterator[bytes]:
    """A catalogue part (`CatalogPart`): one object per paper, in chunks (one per paper) so a
    large part is never whole in memory."""
    yield b"[\n"
    for n, p in enumerate(papers):
        row = {
            "id": p.id,
            "title": p.title,
            "abstract": p.abstract,
            "url": urls.paper(p.id),
            "dates": [d.isoformat() for d in p.dates],
            "appearances": [
                {"source": a.source, "line": a.line, "rank": a.rank,
                 "date": a.date.isoformat() if a.date else None, "upvotes": a.upvotes}
                for a in p.appearances
            ],
            "authors_count": p.authors_count,
            "organization": p.organization,
            "published": p.published.isoformat() if p.published else None,
            "upvotes": p.upvotes,
            "arxiv_id": p.arxiv_id,
            "comments": p.comments,
            "submitter": p.submitter,
            "authors": list(p.authors),
            "code_url": p.code_url,
            "code_stars": p.code_stars,
            "ai_summary": p.ai_summary,
        }
        # One paper per line, compact: diff-friendly, and written by orjson (indent= is pure Python).
        yield (b",\n" if n else b"") + compact(row)
    yield b"\n]\n"
