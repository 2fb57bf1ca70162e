"""What every listing format shares: the reading it hands back, and the small leaf patterns of
today's and yesterday's Papers pages (a date, an arXiv id, a count, a line of page chrome).

A reader turns text into a `Reading`: entries as plain field dicts with the line they start
on, the problems it found, and what the file says about its own digest date. `sitegen.listing`
decides the date from that evidence and makes the frozen `Listing`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..model import MONTH_NAMES, Problem

MONTHS = {name[:3].lower(): n for n, name in enumerate(MONTH_NAMES, start=1)}  # "mar" -> 3
SHORT_MONTHS = tuple(name[:3] for name in MONTH_NAMES)  # "Mar"
DATE_LINE = re.compile(
    r"^(?:published on\s+)?(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<tail>\d[\d,]*))?$",
    re.IGNORECASE,
)
# Page chrome a capture carries beside the papers; compared case-insensitively, whole line.
CHROME = {
    "new", "subscribe", "daily papers", "daily", "weekly", "monthly", "trending papers", "trending",
    "papers", "get trending papers in your email inbox!", "get trending papers in your email inbox once a day!",
    "byak and the research community", "by ak and the research community", "previous", "next",
    "submit a paper", "search", "view paper", "·", "•", "-", "[content truncated]", "see all",
}
TRUNCATED = re.compile(r"^\[?\s*(?:content|output|text)\s+truncated\b.*\]?$|^\.\.\.\s*\[?truncated\]?$", re.I)
AUTHORS = re.compile(r"^(?:[\u2022\u00b7\u2219*-]\s*)*(?P<n>\d{1,5})\s+authors?$", re.IGNORECASE)
SUBMITTED = re.compile(r"^submitted\s+by\s*:?\s*(?P<name>\S.{0,80}?)\s*$", re.IGNORECASE)
COUNT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<k>[kKmM]?)$")
CODE_LINK = re.compile(r"^(?:link:\s*)?(?:github|gitlab|code|codeberg)\b\s*(?P<stars>\d+(?:\.\d+)?[kKmM]?)?$", re.I)
# arXiv ids: new style `2403.01774` (4 or 5 digits after the dot, a version dropped), old
# style `hep-th/9901001`. Read from huggingface.co/papers/ID and arxiv.org/abs|pdf/ID links.
NEW_ID = r"\d{4}\.\d{4,5}"
OLD_ID = r"[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7}"
PAPER_URL = re.compile(
    rf"^https?://(?:www\.)?(?:huggingface\.co/papers|hf\.co/papers|arxiv\.org/(?:abs|pdf))/(?P<id>{NEW_ID}|{OLD_ID})"
    rf"(?:v\d+)?(?:\.pdf)?(?P<rest>[/?#].*)?$", re.IGNORECASE)
DATE_URL = re.compile(r"huggingface\.co/papers/date/(?P<date>\d{4}-\d{2}-\d{2})")
FILE_DATE = re.compile(r"(?<!\d)(?P<date>\d{4}-\d{2}-\d{2})(?!\d)")
MIN_PROSE = 200  # characters; a line this long is an abstract, never a title


@dataclass
class Reading:
    """What a reader made of one file."""

    entries: list[dict] = field(default_factory=list)  # Entry fields, "line" and "title" always
    problems: list[Problem] = field(default_factory=list)
    header: tuple[int, int, int | None, int] | None = None  # month, day, year, line of the digest date
    dated: dt.date | None = None  # a full digest date the file states (front matter, a date URL)
    created: dt.date | None = None  # when it was saved (front matter): the year of a yearless header
    heading: str | None = None  # the page's own first heading


def normalize_id(raw: str) -> str | None:
    """An arXiv id as written anywhere (`arXiv:2403.01774v2`, a URL) -> `2403.01774`, or None."""
    raw = raw.strip()
    m = PAPER_URL.match(raw)
    if m:
        return m["id"].lower() if "/" in m["id"] else m["id"]
    m = re.fullmatch(rf"(?:arxiv:\s*)?(?P<id>{NEW_ID}|{OLD_ID})(?:v\d+)?", raw, re.IGNORECASE)
    return m["id"] if m else None


def paper_link(url: str) -> tuple[str | None, str]:
    """(arXiv id, what follows it: '', '#community', ...) for a link to a paper's page."""
    m = PAPER_URL.match(url.strip())
    if not m:
        return None, ""
    return normalize_id(url), m["rest"] or ""


def count(text: str) -> int | None:
    """`101`, `1,234`, `1.09k`, `2M` -> an int; None for `-` or anything else."""
    m = COUNT.match(text.strip().replace(",", ""))
    if not m or ("." in m["n"] and not m["k"]):
        return None
    return int(round(float(m["n"]) * {"": 1, "k": 1_000, "m": 1_000_000}[m["k"].lower()]))


def date_parts(text: str) -> tuple[int, int, int | None, int | None] | None:
    """`Mar 12`, `Feb 27, 2025`, `Published on May 29`, `Feb 24 2` (2 upvotes) -> (month, day,
    year, trailing number), or None. The day is not checked against the month here."""
    m = DATE_LINE.match(text.strip())
    if not m:
        return None
    month = MONTHS[m["month"][:3].lower()]
    year = int(m["year"]) if m["year"] else None
    tail, trailing = m["tail"], None
    if tail is not None:
        digits = tail.replace(",", "")
        # `Mar 12 2025` (no comma) is a year; `Feb 24 2` is 2 upvotes.
        if year is None and len(digits) == 4 and "," not in tail and 1990 <= int(digits) <= 2100:
            year = int(digits)
        else:
            trailing = int(digits)
    return month, int(m["day"]), year, trailing


def is_prose(s: str) -> bool:
    """True for a line that reads as an abstract rather than a title."""
    if len(s) >= MIN_PROSE:
        return True
    words = len(s.split())
    if s.endswith((".", "!")) and words >= 12:
        return True
    return words >= 8 and len(re.findall(r"[a-z0-9)\]][.!?] [A-Z]", s)) >= 1 and s.endswith((".", "!", "?"))


def is_chrome(text: str) -> bool:
    return " ".join(text.split()).casefold() in CHROME


def short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"
