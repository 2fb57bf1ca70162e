"""Week and month views that roll up digest dates, and the "top" ordering by upvotes.

Weeks are ISO weeks (Monday to Sunday; the week of 2024-12-30 is 2025-W01, that of
2021-01-03 is 2020-W53). A paper appears once in a period, at its first listing there, with
the highest upvote count it had in the period. "Top" puts papers with known upvotes first,
most upvoted first, ties (and papers with no count) in listing order.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from . import urls
from .model import MONTH_NAMES, evolve, record



def week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_key(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def week_label(key: str) -> str:
    year, week = key.split("-W")
    return f"Week {int(week)}, {year}"


def week_range(key: str) -> str:
    year, week = key.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    sunday = monday + dt.timedelta(days=6)
    left = f"{MONTH_NAMES[monday.month - 1][:3]} {monday.day}"
    right = f"{MONTH_NAMES[sunday.month - 1][:3]} {sunday.day}, {sunday.year}"
    return f"{left}{', ' + str(monday.year) if monday.year != sunday.year else ''} \u2013 {right}"


def month_label(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTH_NAMES[int(month) - 1]} {year}"


def neighbours(items):
    """(item, previous, next) for each item of a sequence; None at the ends."""
    for i, item in enumerate(items):
        yield item, items[i - 1] if i else None, items[i + 1] if i + 1 < len(items) else None


def top_order(papers):
    """Most upvoted first; ties and unknown counts keep listing order (rank)."""
    return tuple(sorted(papers, key=lambda p: (p.upvotes is None, -(p.upvotes or 0), p.rank)))


def has_upvotes(papers) -> bool:
    return any(p.upvotes is not None for p in papers)


def top_path(path: str) -> str:
    return path.removesuffix(".html") + "-top.html"


@record
class Period:
    kind: str  # "week" or "month"
    key: str  # 2025-W11, 2025-03
    path: str
    label: str
    range_label: str
    days: tuple  # a Link (path, short label) to each digest of this period, oldest first
    papers: tuple  # PaperSummary, each paper once, in date then listing order
    last_date: dt.date | None = None  # the newest digest date of the period
    previous: object = None  # Link
    next: object = None
    ordering: str = "listing"  # or "top"
    alternate: object = None  # Link to the other ordering, when upvotes are known


@record
class PeriodPlan:
    """A period as the site needs it before any page is rendered: its place, its days, how many
    papers it has and whether any has upvotes (then it has a top ordering). `view()` rolls its
    papers up, only for a page that is rendered: at 10k papers a build's weeks and months hold
    20,000 papers, which a build that adds a day need not roll up again."""

    kind: str
    key: str
    path: str
    label: str
    range_label: str
    days: tuple  # a Link to each digest of this period, oldest first
    last_date: dt.date | None
    previous: object = None  # Link
    next: object = None
    digests: tuple = ()  # the digests it rolls up
    count: int = 0  # its papers, each once
    upvotes: bool = False

    def view(self) -> Period:
        return Period(self.kind, self.key, self.path, self.label, self.range_label, self.days,
                      _rolled(self.digests), self.last_date, self.previous, self.next)


def plans(dated_digests, kind: str, link_type) -> list[PeriodPlan]:
    """Periods of one kind from dated digests (oldest first), chained by previous/next."""
    key_of = week_key if kind == "week" else month_key
    groups: dict[str, list] = {}
    for d in dated_digests:
        groups.setdefault(key_of(d.date), []).append(d)
    found = []
    for key, days in sorted(groups.items()):
        path = urls.week(key) if kind == "week" else urls.month(key)
        label = week_label(key) if kind == "week" else month_label(key)
        rng = week_range(key) if kind == "week" else ""
        found.append(PeriodPlan(kind, key, path, label, rng, tuple(link_type(d.path, d.short_label) for d in days),
                                days[-1].date, digests=tuple(days), count=len({p.id for d in days for p in d.papers}),
                                upvotes=any(has_upvotes(d.papers) for d in days)))
    return [dataclasses.replace(p, previous=link_type(prev.path, prev.label) if prev else None,
                                next=link_type(nxt.path, nxt.label) if nxt else None)
            for p, prev, nxt in neighbours(found)]


def roll_up(dated_digests, kind: str, link_type) -> list[Period]:
    """Periods of one kind from dated digests (oldest first), chained by previous/next."""
    return [plan.view() for plan in plans(dated_digests, kind, link_type)]


def ordered_view(plan: PeriodPlan, ordering: str, link_type):
    """A period's view in one ordering (`with_top`): what a deferred period page is made of."""
    return in_order(plan.view(), ordering, link_type)


def in_order(view, ordering: str, link_type):
    """A digest's or period's view in one ordering, "listing" or "top" (`with_top`)."""
    views = with_top(view, link_type)
    return views[0] if ordering == "listing" else views[1]


def _rolled(days) -> tuple:
    """The papers of a period's digests, each once, at its first listing, with the highest
    upvote count it had in the period."""
    seen: dict[str, object] = {}
    for d in days:
        for p in d.papers:
            if p.id not in seen:
                seen[p.id] = p
            elif p.upvotes is not None and (seen[p.id].upvotes or -1) < p.upvotes:
                seen[p.id] = evolve(seen[p.id], upvotes=p.upvotes)
    return tuple(evolve(p, rank=i, repeat="") for i, p in enumerate(seen.values(), start=1))


@record
class Summary:
    """A period as the archive lists it: a link and its counts (not its papers, which would make
    the archive page's record, and so its render key, hold every paper of the archive twice)."""

    path: str
    label: str
    range_label: str
    papers: int
    days: int


def summary(period: PeriodPlan) -> Summary:
    return Summary(period.path, period.label, period.range_label, period.count, len(period.days))


def with_top(view, link_type) -> list:
    """The view in listing order, plus its top ordering when upvotes are known; each links the other."""
    if not has_upvotes(view.papers):
        return [view]
    top = top_path(view.path)
    listing = dataclasses.replace(view, alternate=link_type(top, "Top (most upvoted first)"))
    ranked = dataclasses.replace(view, path=top, papers=top_order(view.papers), ordering="top",
                                 alternate=link_type(view.path, "Listing order"))
    return [listing, ranked]
