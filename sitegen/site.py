"""Catalog + config -> the site as records: every page is (path, template, view).

The views (`views.py`) are built here, so templates only present ready values: labels,
HTML-safe titles, excerpts and root-relative paths (the `url` filter makes them relative to
the page being rendered). Nothing here touches the disk.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections import defaultdict
from pathlib import PurePosixPath
from urllib.parse import quote_plus

from markupsafe import Markup
from slugify import slugify

from . import periods, text, urls
from .config import Config
from .model import Catalog, Listing, Paper, evolve, record
from .views import (INDEX_DATES, AppearanceView, ArchiveView, Deferred, Digest, FrontView, Link, Page, PaperParts, PaperSummary,
                    PaperText, PaperView, Site, long_date, short_date)

def paper_meta(p: Paper) -> tuple[str, ...]:
    meta = []
    if p.authors_count is not None:
        meta.append(f"{p.authors_count} author{'s' if p.authors_count != 1 else ''}")
    if p.organization:
        meta.append(p.organization)
    if p.published is not None:
        meta.append(f"published {short_date(p.published)}")
    elif p.published_text:
        meta.append(f"published {p.published_text}")
    if p.upvotes is not None:
        meta.append(f"{p.upvotes:,} upvote{'s' if p.upvotes != 1 else ''}")
    if p.comments:
        meta.append(f"{p.comments:,} comment{'s' if p.comments != 1 else ''}")
    if p.code_stars is not None:
        meta.append(f"code \u2605 {p.code_stars:,}")
    return tuple(meta)


def _digests(catalog: Catalog, config: Config, summaries: dict[str, PaperSummary],
             paper_of: dict[tuple[str, int], str], origins: dict[str, tuple] | None,
             names: dict[str, tuple]) -> list[Digest]:
    """Every digest, chained; what names each listed paper (`Papers.names`) into `names`."""
    by_date: dict[dt.date, list[Listing]] = defaultdict(list)
    undated: list[Listing] = []
    for listing in catalog.listings:
        (by_date[listing.date] if listing.date else undated).append(listing)

    dates_of = {p.id: p.dates for p in catalog.papers}

    def papers_of(path: str, listings: list[Listing], day: dt.date | None = None) -> tuple[PaperSummary, ...]:
        seen, out, named = set(), [], []
        for listing in listings:
            for e in listing.entries:
                pid = paper_of[(e.source, e.line)]
                if pid in seen:
                    continue
                seen.add(pid)
                s = summaries[pid]
                upvotes = e.upvotes
                repeat = repeat_note([d for d in dates_of[pid] if d < day], day) if day else ""
                out.append(PaperSummary(s.id, s.path, s.title_html, s.title_text, s.excerpt, s.meta,
                                        rank=len(out) + 1, upvotes=upvotes, repeat=repeat))
                named.append((origins[pid], upvotes) if origins else out[-1])
        names[path] = tuple(named)
        return tuple(out)

    dated = [
        Digest(urls.date(d), long_date(d), short_date(d), d, tuple(l.source for l in ls),
               papers_of(urls.date(d), ls, d))
        for d, ls in sorted(by_date.items())
    ]
    slugs: set[str] = set()
    loose = []
    for listing in undated:
        stem = PurePosixPath(listing.source).stem
        slug = slugify(stem, max_length=80) or "listing"
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        label = listing_label(listing)
        loose.append(Digest(urls.listing(slug), label, label, None, (listing.source,),
                            papers_of(urls.listing(slug), [listing])))
    return _chain(dated) + _chain(loose)


def repeat_note(earlier: list[dt.date], day: dt.date) -> str:
    """"also listed Mar 11" for a paper a date's page shows again (the latest two earlier days,
    and how many more); "" for a paper new that day."""
    if not earlier:
        return ""

    def label(d: dt.date) -> str:
        return short_date(d, year=d.year != day.year)

    latest = [label(d) for d in earlier[-2:]]
    more = len(earlier) - len(latest)
    if more:
        return f"also listed {latest[-1]} and {len(earlier) - 1} earlier day{'s' if len(earlier) > 2 else ''}"
    return "also listed " + " and ".join(latest)


def listing_label(listing: Listing) -> str:
    """What an undated listing is called on every page and in search results: the config's
    `title`, else the page's own first heading, else a readable form of its file name (never a
    raw hashed name: `004_510b9bcdd8f4daed.txt` is "Listing 004")."""
    if listing.title:
        return listing.title
    heading = " ".join((listing.heading or "").split())
    if heading and not heading.lower().endswith("- hugging face"):  # a browser tab's title, not a name
        return heading
    return readable_name(listing.source)


def readable_name(source: str) -> str:
    stem = PurePosixPath(source).stem
    words = [w for w in re.split(r"[_\-\s.]+", stem) if w and not re.fullmatch(r"[0-9a-fA-F]{8,}", w)]
    text = " ".join(words) or stem
    return f"Listing {text}" if text.replace(" ", "").isdigit() else text[:1].upper() + text[1:]


def _chain(digests: list[Digest]) -> list[Digest]:
    out = []
    for d, prev, nxt in periods.neighbours(digests):
        week = month = None
        if d.date:
            wk, mo = periods.week_key(d.date), periods.month_key(d.date)
            week, month = Link(urls.week(wk), periods.week_label(wk)), Link(urls.month(mo), periods.month_label(mo))
        out.append(dataclasses.replace(d, previous=Link(prev.path, prev.short_label) if prev else None,
                                       next=Link(nxt.path, nxt.short_label) if nxt else None, week=week, month=month))
    return out


def links_out(p: Paper, title: str) -> tuple[Link, ...]:
    """Where to read the paper: from its arXiv id, the arXiv page, the PDF and the Hugging Face
    page; its code; where no id is known, searches for its title."""
    code = (Link(p.code_url, "Code"),) if p.code_url and p.code_url.startswith(("https://", "http://")) else ()
    if p.arxiv_id:
        return (
            Link(f"https://arxiv.org/abs/{p.arxiv_id}", f"arXiv:{p.arxiv_id}"),
            Link(f"https://arxiv.org/pdf/{p.arxiv_id}", "PDF"),
            Link(f"https://huggingface.co/papers/{p.arxiv_id}", "Hugging Face"),
        ) + code
    return _searches(title) + code


def _searches(title: str) -> tuple[Link, ...]:
    q = quote_plus(title)
    return (
        Link(f"https://arxiv.org/search/?searchtype=title&query={q}", "Search arXiv"),
        Link(f"https://scholar.google.com/scholar?q=%22{q}%22", "Google Scholar"),  # the title in quotes
        Link(f"https://huggingface.co/papers?q={q}", "Hugging Face"),
    )


@record
class Papers:
    """The first half of assembly: the digests and every paper's parts, without related papers
    (the one step that compares every paper with every other). Enough for the search index, so
    it can be built while the rest of the site is assembled."""

    parts: tuple[PaperParts, ...]
    digests: tuple[Digest, ...]
    # Per digest (by path), what names each paper it lists: the paper's origin and the upvotes
    # listed (or, without origins, the paper's summary): what the digest's papers, and a period
    # rolled up from them, are made of, for their pages' render keys (`Deferred`).
    names: dict[str, tuple]


def paper_text(title: str, abstract: str, excerpt_length: int) -> PaperText:
    plain_title, plain_abstract = text.plain(title), text.plain(abstract)
    return PaperText(plain_title, plain_abstract, Markup(text.inline_html(title)),
                     PaperText.own(plain_abstract, text.block_html(abstract)),
                     text.excerpt(plain_abstract, excerpt_length), text.excerpt(plain_abstract, 200))


def assemble_papers(catalog: Catalog, config: Config, text_of=None) -> Papers:
    """Every paper's parts and the digests, without related papers. `text_of` makes what a
    title and abstract become (`paper_text`, or the build cache's memo of it)."""
    text_of = text_of or paper_text
    texts: dict[str, PaperText] = {}
    summaries: dict[str, PaperSummary] = {}
    paper_of: dict[tuple[str, int], str] = {}
    for p in catalog.papers:
        t = texts[p.id] = text_of(p.title, p.abstract, config.excerpt_length)
        excerpt = t.excerpt or text.excerpt(p.ai_summary or "", config.excerpt_length)
        summaries[p.id] = PaperSummary(p.id, urls.paper(p.id), t.title_html, t.title_text, excerpt,
                                       paper_meta(p))
        for a in p.appearances:
            paper_of[(a.source, a.line)] = p.id

    entries = {listing.source: listing.entry_digests for listing in catalog.listings}
    origins = None  # without each listing's entry digests, records are digested whole
    if all(len(listing.entry_digests) == len(listing.entries) for listing in catalog.listings):
        origins = {p.id: paper_origin(p, entries) for p in catalog.papers}
    names: dict[str, tuple] = {}
    digests = _digests(catalog, config, summaries, paper_of, origins, names)
    link_of_source = {src: Link(d.path, d.short_label) for d in digests for src in d.sources}
    parts = tuple(PaperParts(p, texts[p.id], tuple(link_of_source[a.source] for a in p.appearances),
                             origin=origins[p.id] if origins else None)
                  for p in catalog.papers)
    return Papers(parts, tuple(digests), names)


def paper_origin(p: Paper, entries: dict[str, tuple[str, ...]]) -> tuple:
    """What `PaperParts.origin` holds: the paper's permalink and the digest of each entry it
    was made from (`Listing.entry_digests`, by source; an appearance's rank is its entry's
    place in the listing), oldest first."""
    return (p.id, *[entries[a.source][a.rank - 1] for a in p.appearances])


def paper_view(parts: PaperParts, config: Config) -> PaperView:
    """A paper page's view: made from its parts (`PaperParts`) when the page is rendered."""
    p, t = parts.paper, parts.text
    appearances = tuple(AppearanceView(digest, a.source, a.line, a.rank, a.upvotes, a.date)
                        for a, digest in zip(p.appearances, parts.digests))
    dates = p.dates  # computed from the appearances on each call: once here
    return PaperView(
        id=p.id, path=parts.path, title_html=t.title_html,
        title_text=t.title_text, abstract_html=t.abstract_html, abstract_text=t.abstract_text,
        description=t.description, meta=paper_meta(p),
        authors_count=p.authors_count, organization=p.organization,
        published=p.published.isoformat() if p.published else p.published_text,
        upvotes=p.upvotes, appearances=appearances, links_out=links_out(p, t.title_text),
        structured_data=_scholarly_article(p, t.title_text, t.abstract_text, config, dates),
        history=history_line(p, dates), related=parts.related, arxiv_id=p.arxiv_id, submitter=p.submitter,
        authors=p.authors, ai_summary=p.ai_summary,
    )


def related_inputs(papers, config: Config, saved_text=None) -> list[tuple[str, str, bool]]:
    """What related papers are found from, per paper: its plain title and abstract as an
    earlier build made them (`saved_text`, the paper-text memo's `peek`) (True), else its title
    and abstract as listed (False), which `related_texts` makes plain."""
    inputs = []
    for p in papers:
        t = saved_text((p.title, p.abstract, config.excerpt_length)) if saved_text else None
        inputs.append((t.title_text, t.abstract_text, True) if t else (p.title, p.abstract, False))
    return inputs


def related_texts(inputs: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """`related_inputs` as plain (title, abstract) pairs."""
    return [(t, a) if plain else (text.plain(t), text.plain(a)) for t, a, plain in inputs]


def related_papers(catalog: Catalog, config: Config, saved_text=None, stems_of=None) -> list[list[tuple[int, float]]]:
    """For each paper of the catalogue (by position), its most similar papers (`related`),
    compared by the plain text of title and abstract. Needs only the catalogue, so it can run
    beside `assemble_papers`; `saved_text` and `stems_of` as `related_inputs` and
    `related.related` take them (the build passes its memos')."""
    from . import related  # numpy and scipy: imported in the worker that needs them (`build.RelatedJob`)

    documents = related_texts(related_inputs(catalog.papers, config, saved_text))
    return related.related(documents, stems_of=stems_of)


class RelatedLinks:
    """Related papers (`related_papers`' lists, by catalogue place) joined into papers' parts as
    links (`join`), one Link per paper shared by every list."""

    def __init__(self, parts: tuple[PaperParts, ...], similar: list[list[tuple[int, float]]]):
        self.links = [Link(pp.path, pp.text.title_text) for pp in parts]
        self.place = {pp.path: n for n, pp in enumerate(parts)}
        self.similar = similar

    def join(self, parts: PaperParts) -> PaperParts:
        links, similar = self.links, self.similar[self.place[parts.path]]
        return evolve(parts, related=tuple([links[j] for j, _score in similar]))


def assemble(catalog: Catalog, config: Config, papers: Papers | None = None,
             similar: list[list[tuple[int, float]]] | None = None) -> Site:
    """The site as records: `papers` (from `assemble_papers`) completed with related papers
    (`similar`, from `related_papers`), and every page."""
    papers = papers or assemble_papers(catalog, config)
    if similar is None:
        similar = related_papers(catalog, config)
    return assemble_pages(catalog, config, papers, RelatedLinks(papers.parts, similar).join)


def assemble_pages(catalog: Catalog, config: Config, papers: Papers, join=None) -> Site:
    """Every page. Each paper page's parts go through `join` (`RelatedLinks.join`) if given;
    else they hold no related papers yet, and whoever renders the pages joins them in (the
    build does, as it renders each: `rendering.render_site`), so every other page can be
    rendered while related papers are still being found."""
    digests = list(papers.digests)
    parts = [join(pp) for pp in papers.parts] if join else papers.parts

    newest = max((d.date for d in digests if d.date), default=None)
    dated = [d for d in digests if d.date]
    weeks, months = periods.plans(dated, "week", Link), periods.plans(dated, "month", Link)
    pages: list[Page] = []
    pages.append(Page(urls.INDEX, "index.html", config.title, config.description, "index",
                      FrontView(latest=dated[-1] if dated else None, recent=tuple(dated[::-1][:INDEX_DATES]),
                                undated=tuple(d for d in digests if not d.date), dated_count=len(dated),
                                paper_count=len(catalog.papers)), lastmod=newest))
    if dated:
        pages.append(Page(urls.ARCHIVE, "archive.html", f"Archive \u2013 {config.title}",
                          "Every digest date, by month and week.", "archive",
                          ArchiveView(months=tuple(periods.summary(m) for m in months[::-1]),
                                      weeks=tuple(periods.summary(w) for w in weeks[::-1])), lastmod=newest))
    for d in digests:  # each ordering's view is made when its page is rendered
        for path, top, view in _orderings(d.path, periods.has_upvotes(d.papers), evolve(d, papers=()),
                                          papers.names[d.path], periods.in_order, d):
            pages.append(Page(path, "digest.html", f"{d.label}{top} \u2013 {config.title}",
                              f"{len(d.papers)} papers listed on {d.label}." if d.date else
                              f"{len(d.papers)} papers from the listing {d.label}.", "digest", view, lastmod=d.date,
                              in_sitemap=not top))
    for period in [*weeks, *months]:  # each view is rolled up when its page is rendered
        days = tuple(papers.names[d.path] for d in period.digests)
        for path, top, view in _orderings(period.path, period.upvotes, evolve(period, digests=()), days,
                                          periods.ordered_view, period):
            pages.append(Page(path, "period.html", f"{period.label}{top} \u2013 {config.title}",
                              f"{period.count} papers listed in {period.label}.", period.kind, view,
                              lastmod=period.last_date, in_sitemap=not top))
    for pp in parts:  # each paper's view is made when its page is rendered (`paper_view`)
        dates = pp.paper.dates
        pages.append(Page(pp.path, "paper.html", f"{pp.text.title_text} \u2013 {config.title}", pp.text.description,
                          "paper", pp, lastmod=dates[-1] if dates else None, og_type="article"))
    pages.append(Page(urls.SEARCH, "search.html", f"Search \u2013 {config.title}",
                      f"Search {len(catalog.papers)} papers by title and abstract.", "search"))
    # Hosts serve 404.html at any depth, where relative links would break: with a known base
    # URL the page resolves its links against the site root instead.
    pages.append(Page(urls.NOT_FOUND, "404.html", f"Page not found \u2013 {config.title}",
                      "This page does not exist.", "404", base_href=config.base_url or None, in_sitemap=False))
    return Site(config, tuple(pages), tuple(digests), tuple(parts), catalog, tuple(weeks), tuple(months))


def _orderings(path: str, upvotes: bool, head, names: tuple, view_in, source):
    """(path, title suffix, deferred view) of a digest's or period's page in listing order and,
    when upvotes are known, most upvoted first: each view made by `view_in(source, ordering,
    Link)` when rendered, and keyed by `head` (the record without its papers), the ordering
    and `names` (what its papers are made of: `Papers.names`)."""
    for ordering in ("listing", "top") if upvotes else ("listing",):
        top = ordering == "top"
        yield (periods.top_path(path) if top else path, " (most upvoted first)" if top else "",
               Deferred((head, ordering, names), functools.partial(view_in, source, ordering, Link)))


def history_line(p: Paper, dates: tuple[dt.date, ...] | None = None) -> str:
    """How often and when a paper was listed, and how its upvotes moved: 'listed on 3 days; upvotes 12 → 48'.
    `dates`: `p.dates`, if the caller has them."""
    days = len(p.dates if dates is None else dates)
    undated = len({a.source for a in p.appearances if a.date is None})
    parts = []
    if days:
        parts.append(f"listed on {days} day{'s' if days != 1 else ''}")
    if undated:
        parts.append(f"in {undated} undated listing{'s' if undated != 1 else ''}")
    upvotes = [a.upvotes for a in p.appearances if a.upvotes is not None]  # appearances are oldest first
    if upvotes:
        parts.append("upvotes " + " → ".join(str(u) for u in upvotes))
    return "; ".join(parts)


def _scholarly_article(p: Paper, title: str, abstract: str, config: Config, dates: tuple[dt.date, ...]) -> dict:
    data = {"@context": "https://schema.org", "@type": "ScholarlyArticle", "headline": title[:110], "name": title}
    if abstract:
        data["abstract"] = abstract
    if p.published:
        data["datePublished"] = p.published.isoformat()
    url = urls.absolute(config.base_url, urls.paper(p.id))
    if url:
        data["url"] = url
        data["mainEntityOfPage"] = url
    if p.organization:
        data["sourceOrganization"] = {"@type": "Organization", "name": p.organization}
    if p.authors:
        data["author"] = [{"@type": "Person", "name": name} for name in p.authors]
    if p.arxiv_id:
        data["sameAs"] = f"https://arxiv.org/abs/{p.arxiv_id}"
    if dates:
        data["dateCreated"] = dates[0].isoformat()
    return data
