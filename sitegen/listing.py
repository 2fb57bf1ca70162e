"""One listing file -> `Listing`: decoding, the format, the digest date.

The bytes are decoded (UTF-8, else UTF-16/32 by their zero bytes, else Windows-1252), and each
format in `sitegen.formats` says how sure it is that the text is its own; the surest reads it
into entries. Then the digest date is decided from the best evidence the file itself holds (see
`digest_date`), and the entries become frozen `Entry` records with their file and line.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import PurePath

from . import formats
from .config import ListingSettings
from .formats.common import FILE_DATE, SHORT_MONTHS, Reading, is_prose  # noqa: F401  (is_prose: the tests' too)
from .formats.seed import classify, normalize_line  # noqa: F401
from .jsonio import record_bytes
from .model import XML_UNSAFE, Entry, Listing, Problem

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))  # what text files do not hold
ENTRY_FIELDS = set(Entry.__dataclass_fields__) - {"source", "rank", "listing_date"}


def parse(raw: bytes, source: str, settings: ListingSettings | None = None,
          default_year: int | None = None) -> Listing:
    """Parse one listing file's bytes. Never raises for bad content: problems are returned."""
    settings = settings or ListingSettings()
    text, problems = decode(raw, source)
    fmt = formats.pick(text)
    if source.lower().endswith(".json") and fmt.NAME != "api json":
        problems.append(Problem(source, 0, "not a daily-papers API answer (a JSON array of papers): skipped",
                                code="not-api-json"))
        return Listing(source, None, (), tuple(problems), settings.title, "json")
    reading = fmt.read(text, source)
    reading.problems[:0] = problems
    date = digest_date(reading, source, settings, default_year)
    entries = tuple(
        Entry(source=source, rank=rank, listing_date=date, **_fields(fields, date, source, reading.problems))
        for rank, fields in enumerate(reading.entries, start=1)
    )
    return Listing(source, date, entries, tuple(reading.problems), settings.title, fmt.NAME, reading.heading,
                   entry_digests(entries))


def entry_digests(entries: tuple[Entry, ...]) -> tuple[str, ...]:
    """A digest of each entry's whole record (`jsonio.record_bytes`), made once when the
    listing is parsed and kept with it in the build cache."""
    return tuple(hashlib.blake2b(record_bytes(e), digest_size=16).hexdigest() for e in entries)


def _fields(fields: dict, date: dt.date | None, source: str, problems: list[Problem]) -> dict:
    """A reader's field dict as `Entry` arguments: a published date given as (month, day, year,
    line) is made a date, with the listing's year (the year before, if it would fall after the
    digest date) when it shows none."""
    out = {k: v for k, v in fields.items() if k in ENTRY_FIELDS}
    parts = fields.get("published_parts")
    if parts:
        month, day, year, line = parts
        if year is None and date is not None:
            year = date.year
            try:
                if dt.date(year, month, day) > date:
                    year -= 1
            except ValueError:
                pass
        try:
            out["published"] = dt.date(year, month, day) if year is not None else None
        except ValueError:
            problems.append(Problem(source, line, f"not a real date: {SHORT_MONTHS[month - 1]} {day}",
                                    code="date-impossible"))
            out["published"] = None
        if out["published"] is None:
            out["published_text"] = f"{SHORT_MONTHS[month - 1]} {day}"
    return out


def digest_date(reading: Reading, source: str, settings: ListingSettings, default_year: int | None) -> dt.date | None:
    """The listing's digest date, from the best evidence, in this order:
    1. the config's `date` for this listing;
    2. a full date the file states: its header (`Apr 17, 2026`), a `/papers/date/2026-04-17`
       URL or front matter `source:`;
    3. a yearless header (`Apr 17`) with the year of, in turn: the front matter's `created:`
       (the year before, if the header would fall after it), a full date the file states, a
       file name of the form `YYYY-MM-DD`, the listing's `year`, the config's `year`;
    4. no header: the file name's date.
    Never the file's modification time (a fresh clone resets it). Else the listing is undated,
    with a warning that says what to add."""
    header = reading.header
    named = _file_date(source)
    if settings.date is not None:
        if header and (header[0], header[1]) != (settings.date.month, settings.date.day):
            _warn(reading, source, header[3], f"header date {SHORT_MONTHS[header[0] - 1] + ' ' + str(header[1])!r} differs from "
                                              f"the configured date {settings.date.isoformat()}: using the configured date", "date-config-mismatch")
        return settings.date
    if header is None:
        if reading.dated or named:
            return reading.dated or named
        if not settings.title and reading.entries:
            _warn(reading, source, 0, "no digest date in this listing: published as an undated listing; to date it, "
                                      "add a line such as `Apr 17, 2026` before the first paper or name the file "
                                      "2026-04-17.txt (or set a `title` for it in the config to keep it undated)", "undated")
        return None
    month, day, year, line = header
    label = f"{SHORT_MONTHS[month - 1]} {day}"
    if year is None:
        year = _year_from(reading.created, month, day) or (reading.dated.year if reading.dated else None) \
            or (named.year if named else None) or settings.year or default_year
    if year is None:
        _warn(reading, source, line, f"header date {label!r} has no year: published as an undated listing; add "
                                     f"`year = {dt.date.today().year}` to the config, or name the file "
                                     f"YYYY-MM-DD.{PurePath(source).suffix.lstrip('.') or 'txt'}", "date-no-year")
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        _warn(reading, source, line, f"header date {label!r} is not a real date in {year}: listing undated",
              "date-impossible")
        return None


def _year_from(created: dt.date | None, month: int, day: int) -> int | None:
    if created is None:
        return None
    try:
        return created.year - 1 if dt.date(created.year, month, day) > created else created.year
    except ValueError:
        return created.year


def _file_date(source: str) -> dt.date | None:
    m = FILE_DATE.search(PurePath(source).stem)
    if not m:
        return None
    try:
        return dt.date.fromisoformat(m["date"])
    except ValueError:
        return None


def _warn(reading: Reading, source: str, line: int, message: str, code: str) -> None:
    reading.problems.append(Problem(source, line, message, code=code))


def decode(raw: bytes, source: str) -> tuple[str, list[Problem]]:
    """Bytes -> text, tolerating what pastes carry. Binary files yield no text and a warning."""
    problems: list[Problem] = []
    wide = wide_encoding(raw[:4096])
    if wide:
        try:
            return drop_xml_unsafe(raw.decode(wide), source, problems), problems
        except UnicodeDecodeError as e:
            problems.append(Problem(source, 0, f"looks like {wide.upper()} text but is not (byte {e.start}): "
                                               f"read as UTF-8", code="wide-encoding-mismatch"))
    if not raw.strip():
        problems.append(Problem(source, 0, "empty listing: no papers", code="empty-listing"))
        return "", problems
    head = raw[:65536]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > max(8, len(head) // 20):
        problems.append(Problem(source, 0, "binary file, not a text listing: skipped", "error", "binary-file"))
        return "", problems
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problems.append(Problem(source, line, "not UTF-8 text (first bad byte here); read as Windows-1252",
                                code="not-utf8"))
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.append(Problem(source, line, "NUL bytes removed", code="nul-bytes"))
        text = text.replace("\x00", "")
    return drop_xml_unsafe(text, source, problems), problems


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
        problems.append(Problem(source, n, f"removed {', '.join(found[:4])}: characters no feed or page can hold",
                                code="xml-unsafe-characters"))
    if len(bad) > MAX_LINE_WARNINGS:
        problems.append(Problem(source, bad[MAX_LINE_WARNINGS],
                                f"...and such characters on {len(bad) - MAX_LINE_WARNINGS} more lines, removed", code="xml-unsafe-characters"))
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


