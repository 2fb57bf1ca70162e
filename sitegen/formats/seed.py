"""The layout of the seed files: Daily Papers pages copied as plain text (2024-2025).

A listing is a run of entries, each a title line, an abstract line and an optional metadata
block, framed by page chrome. Blank lines may separate everything (000-002) or nothing
(003-004, where "Subscribe" is glued to the first title):

    Mar 12                      <- header date: the digest date
    Title of a paper
    The abstract, one long line ...
      • 4 authors               <- or an organisation line, e.g. `epfl-vita EPFL VITA Lab`
    ·
    Oct 4, 2023                 <- published date; `Feb 24 2` = Feb 24, 2 upvotes

The reader classifies each line, then walks the lines with a small state machine. A line it
cannot place becomes a `Problem` with file and line; the rest of the file still parses.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..model import Problem
from .common import Reading, date_parts, is_prose, short

NAME = "text"

# Page chrome copied along with the papers; compared case-insensitively, whole line.
CHROME = (
    "new",
    "subscribe",
    "daily papers",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
)
# Chrome that a copy can glue to the following title ("SubscribeResolving Interference ...").
GLUED_CHROME = (
    "Get trending papers in your email inbox once a day!",
    "Get trending papers in your email inbox!",
    "byAK and the research community",
    "Daily Papers",
    "Subscribe",
)
SEPARATORS = {"\u00b7", "\u2022", "\u2219", "\u22c5", "\u30fb"}  # ·, •, ∙, ⋅, ・
AUTHORS_LINE = re.compile(r"^(?:[\u2022\u00b7\u2219*-]\s*)?(?P<n>\d{1,5})\s+authors?$", re.IGNORECASE)
# Characters a paste may carry that mean "space" or nothing at all.
INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_LINE = 100_000  # characters; a longer line is not an abstract anybody pasted


def detect(text: str) -> float:
    """Any text can be this layout: the reader of last resort."""
    return 0.1


def read(text: str, source: str) -> Reading:
    reading = Reading()
    walk = _Walk(source, reading)
    walk.run(classify(text))
    return reading


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    kind: str  # blank, chrome, date, sep, authors, text, org
    date: tuple | None = None  # (month, day, year|None, upvotes|None) for kind == "date"


def normalize_line(s: str) -> str:
    """NFC, no invisible or control characters, every run of (Unicode) spaces one space."""
    if not s.isascii():
        s = INVISIBLE.sub("", unicodedata.normalize("NFC", s))
    if CONTROL.search(s):
        s = CONTROL.sub(" ", s)
    return " ".join(s.split())  # str.split() knows every Unicode space, NBSP included


def _strip_glued_chrome(s: str) -> str:
    changed = True
    while changed:
        changed = False
        for chrome in GLUED_CHROME:
            rest = s[len(chrome):]
            if s.startswith(chrome) and rest and not rest[0].islower():
                s = rest.strip()
                changed = True
    return s


def classify(text: str) -> list[_Line]:
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[_Line] = []
    for number, raw_line in enumerate(raw_lines, start=1):
        s = normalize_line(raw_line) if len(raw_line) <= MAX_LINE else raw_line
        if not s:
            lines.append(_Line(number, "", "blank"))
            continue
        if len(s) > MAX_LINE:
            lines.append(_Line(number, s, "huge"))
            continue
        if s.casefold() in CHROME:
            lines.append(_Line(number, s, "chrome"))
            continue
        s = _strip_glued_chrome(s)
        if not s:
            lines.append(_Line(number, "", "chrome"))
            continue
        if s in SEPARATORS:
            lines.append(_Line(number, s, "sep"))
            continue
        parts = date_parts(s)
        if parts and not s.lower().startswith("published"):
            lines.append(_Line(number, s, "date", parts))
            continue
        if AUTHORS_LINE.match(s):
            lines.append(_Line(number, s, "authors"))
            continue
        lines.append(_Line(number, s, "text"))
    # An organisation line is a short text line between an abstract and a `·` separator.
    significant = [i for i, line in enumerate(lines) if line.kind not in ("blank", "chrome")]
    for before, here, after in zip(significant, significant[1:], significant[2:]):
        b, h, a = lines[before], lines[here], lines[after]
        if h.kind == "text" and a.kind == "sep" and b.kind == "text" and is_prose(b.text) and not is_prose(h.text):
            lines[here] = _Line(h.number, h.text, "org")
    return lines


class _Walk:
    """The state machine over classified lines."""

    def __init__(self, source: str, reading: Reading):
        self.source = source
        self.reading = reading
        self.problems = reading.problems
        self.entries: list[dict] = reading.entries
        self.title: _Line | None = None  # a title waiting for its abstract
        self.after_sep = False

    def warn(self, line: int, message: str, code: str) -> None:
        self.problems.append(Problem(self.source, line, message, code=code))

    # -- entries -------------------------------------------------------------------------
    def _open(self, title: _Line) -> None:
        self.title = title

    def _close_title(self, abstract: str = "", meta_follows: bool = False) -> None:
        """Finish the waiting title as an entry (with this abstract, possibly empty)."""
        t = self.title
        self.title = None
        if not abstract:
            self.warn(t.number, f"title with no abstract: {short(t.text)!r}", "title-no-abstract")
        self.entries.append({"line": t.number, "title": t.text, "abstract": abstract})

    @property
    def current(self) -> dict | None:
        return self.entries[-1] if self.entries else None

    # -- the walk ------------------------------------------------------------------------
    def run(self, lines: list[_Line]) -> None:
        for line in lines:
            handler = getattr(self, "_" + line.kind)
            handler(line)
            if line.kind not in ("blank", "sep"):
                self.after_sep = line.kind == "sep"
        if self.title is not None:
            self._close_title()

    def _blank(self, line: _Line) -> None:
        pass

    def _chrome(self, line: _Line) -> None:
        pass

    def _huge(self, line: _Line) -> None:
        self.warn(line.number, f"line of {len(line.text):,} characters is too long for a title or abstract: skipped",
                  "line-too-long")

    def _sep(self, line: _Line) -> None:
        if self.title is not None:
            self._close_title()
        if self.current is None:
            self.warn(line.number, "metadata separator before any paper: ignored", "metadata-before-paper")
        self.after_sep = True

    def _metadata(self, line: _Line, key: str, value, what: str) -> None:
        """Attach one metadata value to the current paper; never overwrite what it already has."""
        if self.title is not None:
            self._close_title()
        entry = self.current
        if entry is None:
            self.warn(line.number, f"{what} before any paper: ignored: {line.text!r}", "metadata-before-paper")
        elif key in entry:
            self.warn(line.number, f"second {key.replace('_', ' ')} for the paper at line {entry['line']}: "
                                   f"ignored: {line.text!r}", "second-metadata")
        else:
            entry[key] = value

    def _authors(self, line: _Line) -> None:
        self._metadata(line, "authors_count", int(AUTHORS_LINE.match(line.text)["n"]), "author count")

    def _org(self, line: _Line) -> None:
        self._metadata(line, "organization", line.text, "organisation line")

    def _date(self, line: _Line) -> None:
        month, day, year, upvotes = line.date
        if not self.entries and self.title is None and not self.after_sep:
            self._header_date(line, month, day, year, upvotes)
            return
        if self.title is not None:
            self._close_title()
        entry = self.current
        if entry is None:
            self.warn(line.number, f"date line before any paper: ignored: {line.text!r}", "metadata-before-paper")
            return
        if not self.after_sep and "published_parts" in entry:
            self.warn(line.number, f"date line outside a metadata block: ignored: {line.text!r}", "second-date")
            return
        entry["published_parts"] = (month, day, year, line.number)
        if upvotes is not None:
            entry["upvotes"] = upvotes

    def _header_date(self, line: _Line, month: int, day: int, year: int | None, upvotes: int | None) -> None:
        if self.reading.header is not None:
            self.warn(line.number, f"second header date {line.text!r}: ignored", "second-date")
            return
        if upvotes is not None:
            self.warn(line.number, f"header date {line.text!r} has a trailing number: read as {upvotes} upvotes, ignored",
                      "header-date-number")
        self.reading.header = (month, day, year, line.number)

    def _text(self, line: _Line) -> None:
        prose = is_prose(line.text)
        if self.title is not None:
            if prose:
                self._close_title(line.text)
            else:
                self._close_title()
                self._open(line)
            return
        if not prose:
            self._open(line)
            return
        entry = self.current
        if entry is not None and entry["abstract"] and len(entry) == 3:
            entry["abstract"] += "\n\n" + line.text
            self.warn(line.number, f"text with no title: joined to the abstract of the paper at line {entry['line']}",
                      "text-joined")
        else:
            self.warn(line.number, f"text with no title: skipped: {short(line.text)!r}", "text-no-title")


