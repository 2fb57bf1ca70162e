"""One listing file -> `Listing`. All knowledge of the pasted Daily Papers format lives here.

A listing is a run of entries, each a title line, an abstract line and an optional metadata
block, framed by page chrome. Blank lines may separate everything (000-002) or nothing
(003-004, where "Subscribe" is glued to the first title):

    Mar 12                      <- header date: the digest date (year from config)
    Title of a paper
    The abstract, one long line ...
      • 4 authors               <- or an organisation line, e.g. `epfl-vita EPFL VITA Lab`
    ·
    Oct 4, 2023                 <- published date; `Feb 24 2` = Feb 24, 2 upvotes

The parser classifies each line, then walks the lines with a small state machine. A line it
cannot place becomes a `Problem` with file and line; the rest of the file still parses.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .config import ListingSettings
from .model import Entry, Listing, Problem

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
MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_LINE = re.compile(
    r"^(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<tail>\d[\d,]*))?$",
    re.IGNORECASE,
)
SEPARATORS = {"\u00b7", "\u2022", "\u2219", "\u22c5", "\u30fb"}  # ·, •, ∙, ⋅, ・
AUTHORS_LINE = re.compile(r"^(?:[\u2022\u00b7\u2219*-]\s*)?(?P<n>\d{1,5})\s+authors?$", re.IGNORECASE)
# Characters a paste may carry that mean "space" or nothing at all.
INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))  # what text files do not hold

MAX_LINE = 100_000  # characters; a longer line is not an abstract anybody pasted
MIN_PROSE = 200  # characters; a line this long is an abstract, never a title


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    kind: str  # blank, chrome, date, sep, authors, text, org
    date: tuple | None = None  # (month, day, year|None, upvotes|None) for kind == "date"


def parse(raw: bytes, source: str, settings: ListingSettings | None = None,
          default_year: int | None = None) -> Listing:
    """Parse one listing file's bytes. Never raises for bad content: problems are returned."""
    settings = settings or ListingSettings()
    text, problems = decode(raw, source)
    lines = classify(text)
    parser = _Walk(source, settings, default_year, problems)
    return parser.run(lines)


def decode(raw: bytes, source: str) -> tuple[str, list[Problem]]:
    """Bytes -> text, tolerating what pastes carry. Binary files yield no text and a warning."""
    problems: list[Problem] = []
    wide = wide_encoding(raw[:4096])
    if wide:
        try:
            return drop_xml_unsafe(raw.decode(wide), source, problems), problems
        except UnicodeDecodeError as e:
            problems.append(Problem(source, 0, f"looks like {wide.upper()} text but is not (byte {e.start}): "
                                               f"read as UTF-8"))
    if not raw.strip():
        problems.append(Problem(source, 0, "empty listing: no papers"))
        return "", problems
    head = raw[:65536]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > max(8, len(head) // 20):
        problems.append(Problem(source, 0, "binary file, not a text listing: skipped", "error"))
        return "", problems
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problems.append(Problem(source, line, "not UTF-8 text (first bad byte here); read as Windows-1252"))
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.append(Problem(source, line, "NUL bytes removed"))
        text = text.replace("\x00", "")
    return drop_xml_unsafe(text, source, problems), problems


# What XML 1.0 cannot hold (Atom, sitemap): C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone
# surrogates. Dropped when read, so no output ever meets one.
XML_UNSAFE = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_LINE_WARNINGS = 10


def drop_xml_unsafe(text: str, source: str, problems: list[Problem]) -> str:
    """`text` without the characters XML cannot hold, with a warning for each line that had
    some (the first few, then a count)."""
    if not XML_UNSAFE.search(text):
        return text
    lines = text.split("\n")
    bad = [n for n, line in enumerate(lines, 1) if XML_UNSAFE.search(line)]
    for n in bad[:MAX_LINE_WARNINGS]:
        found = sorted({f"U+{ord(c):04X}" for c in XML_UNSAFE.findall(lines[n - 1])})
        problems.append(Problem(source, n, f"removed {', '.join(found[:4])}: characters no feed or page can hold"))
    if len(bad) > MAX_LINE_WARNINGS:
        problems.append(Problem(source, bad[MAX_LINE_WARNINGS],
                                f"...and such characters on {len(bad) - MAX_LINE_WARNINGS} more lines, removed"))
    return XML_UNSAFE.sub(lambda m: " " if m[0] < "\x20" else "", text)  # a control was a space


def wide_encoding(head: bytes) -> str | None:
    """UTF-32 or UTF-16 (either byte order), by the byte-order mark, else by where the zero
    bytes fall: a listing is mostly ASCII, so in UTF-16 every other byte is zero, in UTF-32
    three in four. None for anything else (UTF-8, Windows-1252, binary)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    n = len(head) - len(head) % 4
    if n < 8 or head.count(0) < n // 4:
        return None
    zeros = [head[i:n:4].count(0) / (n // 4) for i in range(4)]  # share of zeros at each offset
    if zeros[1] > 0.95 and zeros[2] > 0.95 and zeros[3] > 0.95 and zeros[0] < 0.5:
        return "utf-32-le"
    if zeros[0] > 0.95 and zeros[1] > 0.95 and zeros[2] > 0.95 and zeros[3] < 0.5:
        return "utf-32-be"
    even, odd = (zeros[0] + zeros[2]) / 2, (zeros[1] + zeros[3]) / 2
    if odd > 0.8 and even < 0.2:
        return "utf-16-le"
    if even > 0.8 and odd < 0.2:
        return "utf-16-be"
    return None


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
        m = DATE_LINE.match(s)
        if m:
            month = MONTHS[m["month"][:3].lower()]
            year = int(m["year"]) if m["year"] else None
            tail = m["tail"]
            upvotes = None
            if tail is not None:
                digits = tail.replace(",", "")
                # `Mar 12 2025` (no comma) is a year; `Feb 24 2` is 2 upvotes.
                if year is None and len(digits) == 4 and "," not in tail and 1990 <= int(digits) <= 2100:
                    year = int(digits)
                else:
                    upvotes = int(digits)
            lines.append(_Line(number, s, "date", (month, int(m["day"]), year, upvotes)))
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


def is_prose(s: str) -> bool:
    """True for a line that reads as an abstract rather than a title."""
    if len(s) >= MIN_PROSE:
        return True
    words = len(s.split())
    if s.endswith((".", "!")) and words >= 12:
        return True
    return words >= 8 and len(re.findall(r"[a-z0-9)\]][.!?] [A-Z]", s)) >= 1 and s.endswith((".", "!", "?"))


class _Walk:
    """The state machine over classified lines."""

    def __init__(self, source: str, settings: ListingSettings, default_year: int | None,
                 problems: list[Problem]):
        self.source = source
        self.settings = settings
        self.default_year = default_year
        self.problems = problems
        self.entries: list[dict] = []
        self.title: _Line | None = None  # a title waiting for its abstract
        self.date: dt.date | None = settings.date
        self.header_seen = False
        self.after_sep = False

    def warn(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.source, line, message))

    # -- entries -------------------------------------------------------------------------
    def _open(self, title: _Line) -> None:
        self.title = title

    def _close_title(self, abstract: str = "", meta_follows: bool = False) -> None:
        """Finish the waiting title as an entry (with this abstract, possibly empty)."""
        t = self.title
        self.title = None
        if not abstract:
            self.warn(t.number, f"title with no abstract: {_short(t.text)!r}")
        self.entries.append({"line": t.number, "title": t.text, "abstract": abstract})

    @property
    def current(self) -> dict | None:
        return self.entries[-1] if self.entries else None

    # -- the walk ------------------------------------------------------------------------
    def run(self, lines: list[_Line]) -> Listing:
        for line in lines:
            handler = getattr(self, "_" + line.kind)
            handler(line)
            if line.kind not in ("blank", "sep"):
                self.after_sep = line.kind == "sep"
        if self.title is not None:
            self._close_title()
        entries = tuple(
            Entry(source=self.source, rank=rank, listing_date=self.date, **fields)
            for rank, fields in enumerate(self.entries, start=1)
        )
        return Listing(self.source, self.date, entries, tuple(self.problems), self.settings.title)

    def _blank(self, line: _Line) -> None:
        pass

    def _chrome(self, line: _Line) -> None:
        pass

    def _huge(self, line: _Line) -> None:
        self.warn(line.number, f"line of {len(line.text):,} characters is too long for a title or abstract: skipped")

    def _sep(self, line: _Line) -> None:
        if self.title is not None:
            self._close_title()
        if self.current is None:
            self.warn(line.number, "metadata separator before any paper: ignored")
        self.after_sep = True

    def _metadata(self, line: _Line, key: str, value, what: str) -> None:
        """Attach one metadata value to the current paper; never overwrite what it already has."""
        if self.title is not None:
            self._close_title()
        entry = self.current
        if entry is None:
            self.warn(line.number, f"{what} before any paper: ignored: {line.text!r}")
        elif key in entry:
            self.warn(line.number, f"second {key.replace('_', ' ')} for the paper at line {entry['line']}: "
                                   f"ignored: {line.text!r}")
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
            self.warn(line.number, f"date line before any paper: ignored: {line.text!r}")
            return
        if not self.after_sep and ("published" in entry or "published_text" in entry):
            self.warn(line.number, f"date line outside a metadata block: ignored: {line.text!r}")
            return
        if year is None:
            year = self._year_before(month, day)
        try:
            published = dt.date(year, month, day) if year is not None else None
        except ValueError:
            self.warn(line.number, f"not a real date: {line.text!r}")
            published = None
        if published is None:
            entry["published_text"] = f"{MONTH_NAMES[month - 1]} {day}"
        else:
            entry["published"] = published
        if upvotes is not None:
            entry["upvotes"] = upvotes

    def _year_before(self, month: int, day: int) -> int | None:
        """A yearless date takes the listing's year, or the year before if it would be later."""
        if self.date is None:
            return None
        year = self.date.year
        try:
            if dt.date(year, month, day) > self.date:
                year -= 1
        except ValueError:
            pass
        return year

    def _header_date(self, line: _Line, month: int, day: int, year: int | None, upvotes: int | None) -> None:
        if self.header_seen:
            self.warn(line.number, f"second header date {line.text!r}: ignored")
            return
        self.header_seen = True
        if upvotes is not None:
            self.warn(line.number, f"header date {line.text!r} has a trailing number: read as {upvotes} upvotes, ignored")
        year = year or self.settings.year or self.default_year
        if self.settings.date is not None:
            if (self.settings.date.month, self.settings.date.day) != (month, day):
                self.warn(line.number, f"header date {line.text!r} differs from the configured date "
                                       f"{self.settings.date.isoformat()}: using the configured date")
            return
        if year is None:
            self.warn(line.number, f"header date {line.text!r} has no year: set `year` for this listing "
                                   f"in the config; published as an undated listing")
            return
        try:
            self.date = dt.date(year, month, day)
        except ValueError:
            self.warn(line.number, f"header date {line.text!r} is not a real date in {year}: listing undated")

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
            self.warn(line.number, f"text with no title: joined to the abstract of the paper at line {entry['line']}")
        else:
            self.warn(line.number, f"text with no title: skipped: {_short(line.text)!r}")


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"
