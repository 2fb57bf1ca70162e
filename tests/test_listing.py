"""The listing parser: every format, every oddity, nothing lost."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sitegen import listing
from sitegen.config import ListingSettings

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
SEEDS = Path(__file__).parent.parent / "seeds"
ABSTRACT = ("We study a problem that matters. Our method improves results on many benchmarks while "
            "remaining simple to implement, and we release code and models for everyone to use in research.")


def parse(data: bytes | str, year: int | None = 2025, **settings) -> listing.Listing:
    """Parse with `year` as the config-wide default year and `settings` as the listing's own."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return listing.parse(data, "case.txt", ListingSettings(**settings), default_year=year)


UNDATED = "no digest date in this listing"


def messages(result) -> list[str]:
    """The problems, but the one every undated fixture has (its own tests check it)."""
    return [f"{p.line}: {p.message}" for p in result.problems if not p.message.startswith(UNDATED)]


# -- formats -----------------------------------------------------------------------------

def test_blank_separated_with_chrome_and_header_date():
    result = listing.parse((FIXTURES / "blank_separated.txt").read_bytes(), "b.txt", ListingSettings(year=2025))
    assert result.date == dt.date(2025, 3, 12)
    assert [e.title for e in result.entries] == ["Consistency Models", "Music Consistency Models"]
    assert [e.rank for e in result.entries] == [1, 2]
    assert [e.line for e in result.entries] == [11, 15]
    assert all(len(e.abstract) > 200 for e in result.entries)
    assert messages(result) == []


def test_compact_with_glued_subscribe():
    result = listing.parse((FIXTURES / "compact.txt").read_bytes(), "c.txt")
    assert [e.title for e in result.entries] == ["Multistep Consistency Models", "Consistency Models"]
    assert result.entries[0].line == 3
    assert result.date is None
    assert messages(result) == []


def test_metadata_blocks_authors_organisation_dates_upvotes():
    result = listing.parse((FIXTURES / "metadata.txt").read_bytes(), "m.txt", ListingSettings(year=2025))
    assert result.date == dt.date(2025, 12, 11)
    first, second, third = result.entries
    assert (first.authors_count, first.organization, first.published, first.upvotes) == (4, None, dt.date(2023, 12, 5), None)
    assert (second.authors_count, second.organization) == (None, "epfl-vita EPFL VITA Lab")
    assert (second.published, second.upvotes) == (dt.date(2025, 10, 10), 2)
    assert (third.authors_count, third.published) == (1, dt.date(2025, 1, 8))
    assert messages(result) == []


def test_title_with_no_abstract_is_kept_and_reported():
    result = listing.parse((FIXTURES / "missing_abstract.txt").read_bytes(), "x.txt", ListingSettings(year=2024))
    assert [e.title for e in result.entries] == ["Title Without Abstract", "Another Title Here", "Last Title Alone"]
    assert [e.abstract != "" for e in result.entries] == [False, True, False]
    assert messages(result) == ["3: title with no abstract: 'Title Without Abstract'",
                                "9: title with no abstract: 'Last Title Alone'"]


@pytest.mark.parametrize("name,entries,date", [
    ("000_d73a45edd28825cb.txt", 33, dt.date(2025, 3, 12)),
    ("001_4c40c16418a54f55.txt", 118, dt.date(2025, 3, 11)),
    ("002_03c9e8e5c680292e.txt", 44, dt.date(2025, 12, 11)),
    ("003_0cff7f7095663720.txt", 148, None),
    ("004_510b9bcdd8f4daed.txt", 214, None),
])
def test_seed_listings(name, entries, date):
    settings = ListingSettings(year=2025, title=None if date else "An undated listing")
    result = listing.parse((SEEDS / name).read_bytes(), name, settings)
    assert (len(result.entries), result.date, result.problems) == (entries, date, ())


def test_seed_002_metadata_attached():
    result = listing.parse((SEEDS / "002_03c9e8e5c680292e.txt").read_bytes(), "002", ListingSettings(year=2025))
    with_meta = [e for e in result.entries if e.authors_count or e.organization]
    assert len(with_meta) == 42
    org = [e for e in result.entries if e.organization]
    assert [(e.title, e.organization) for e in org] == [
        ("Stable Video Infinity: Infinite-Length Video Generation with Error Recycling", "epfl-vita EPFL VITA Lab")]
    upvoted = {e.title.split(":")[0]: (e.published, e.upvotes) for e in result.entries if e.upvotes}
    assert upvoted["Stable-SPAM"] == (dt.date(2025, 2, 24), 2)  # `Feb 24 2`
    assert upvoted["Rectified Diffusion"] == (dt.date(2024, 10, 9), 3)  # `Oct 9, 2024 3`
    grokking = next(e for e in result.entries if e.title.startswith("Grokking at the Edge"))
    assert grokking.published == dt.date(2025, 1, 8)  # `Jan 8` in a Dec 11, 2025 listing


# -- dates -------------------------------------------------------------------------------

def test_yearless_date_after_listing_date_takes_year_before():
    text = f"Mar 12\n\nA Paper\n\n{ABSTRACT}\n\n  • 2 authors\n·\nDec 30\n\nB Paper\n\n{ABSTRACT}\n·\nMar 12\n"
    result = parse(text, year=2025)
    assert [e.published for e in result.entries] == [dt.date(2024, 12, 30), dt.date(2025, 3, 12)]


def test_header_year_from_listing_settings_wins_over_default():
    result = listing.parse(("Mar 12\n\nA Paper\n\n" + ABSTRACT).encode(), "case.txt",
                           ListingSettings(year=2025), default_year=2020)
    assert result.date == dt.date(2025, 3, 12)


def test_configured_date_overrides_header_and_warns_on_mismatch():
    result = parse("Mar 12\n\nA Paper\n\n" + ABSTRACT, date=dt.date(2025, 3, 13))
    assert result.date == dt.date(2025, 3, 13)
    assert messages(result) == ["1: header date 'Mar 12' differs from the configured date 2025-03-13: using the configured date"]


def test_configured_date_for_listing_without_header():
    result = parse("A Paper\n" + ABSTRACT, date=dt.date(2024, 7, 1))
    assert result.date == dt.date(2024, 7, 1)
    assert result.entries[0].listing_date == dt.date(2024, 7, 1)


def test_header_with_year_needs_no_config():
    result = parse("Jan 5, 2024\n\nA Paper\n\n" + ABSTRACT, year=None)
    assert result.date == dt.date(2024, 1, 5)


def test_header_without_any_year_is_undated_with_a_warning():
    result = parse("Mar 12\n\nA Paper\n\n" + ABSTRACT, year=None)
    assert result.date is None and len(result.entries) == 1
    assert "has no year" in messages(result)[0]


def test_yearless_published_date_in_undated_listing_keeps_its_text():
    result = parse(f"A Paper\n{ABSTRACT}\n·\nJan 8 5\n", year=None)
    entry = result.entries[0]
    assert (entry.published, entry.published_text, entry.upvotes) == (None, "Jan 8", 5)


def test_impossible_date_is_reported():
    result = parse(f"A Paper\n{ABSTRACT}\n·\nFeb 30, 2024\n")
    assert "not a real date" in messages(result)[0]


# -- what people paste --------------------------------------------------------------------

def test_crlf_bom_nbsp_and_stray_whitespace():
    text = "\ufeffMar 12\r\n\r\n   A\u00a0Paper\u00a0 Title  \r\n\r\n" + ABSTRACT.replace(" ", "\u00a0", 3) + "  \r\n"
    result = parse(text)
    assert result.date == dt.date(2025, 3, 12)
    assert result.entries[0].title == "A Paper Title"
    assert "\u00a0" not in result.entries[0].abstract
    assert messages(result) == []


def test_utf16_file():
    result = parse(("A Paper\n" + ABSTRACT).encode("utf-16"))
    assert result.entries[0].title == "A Paper"


def test_not_utf8_is_read_as_windows_1252_with_a_warning():
    data = b"A Paper\n" + ABSTRACT.encode() + b"\nCaf\xe9 \x93Quoted\x94 Paper\n" + ABSTRACT.encode()
    result = parse(data)
    assert [e.title for e in result.entries] == ["A Paper", "Caf\u00e9 \u201cQuoted\u201d Paper"]
    assert messages(result) == ["3: not UTF-8 text (first bad byte here); read as Windows-1252"]


def test_unicode_quotes_and_dashes_are_kept_as_typed():
    result = parse("\u201cQuoted\u201d Title \u2014 with Dash\n" + ABSTRACT)
    assert result.entries[0].title == "\u201cQuoted\u201d Title \u2014 with Dash"


@pytest.mark.parametrize("data,message", [
    (b"", "empty listing: no papers"),
    (b"  \n\r\n\t\n", "empty listing: no papers"),
    (bytes(range(256)) * 8, "binary file, not a text listing: skipped"),
])
def test_empty_and_binary_files(data, message):
    result = parse(data)
    assert result.entries == () and messages(result) == [f"0: {message}"]
    assert result.problems[0].severity == ("error" if "binary" in message else "warning")


def test_nul_bytes_are_removed_and_reported():
    result = parse(b"A Pa\x00per\n" + ABSTRACT.encode())
    assert result.entries[0].title == "A Paper"
    assert messages(result) == ["1: NUL bytes removed"]


def test_only_chrome_gives_no_papers_and_no_noise():
    result = parse("new\n\nSubscribe\n\nDaily Papers\nbyAK and the research community\nGet trending papers in your email inbox!\n")
    assert result.entries == () and messages(result) == []


def test_chrome_glued_to_a_title_is_removed_but_a_title_starting_with_the_word_is_kept():
    result = parse("SubscribeGreat Paper\n" + ABSTRACT + "\nSubscriber Modelling at Scale\n" + ABSTRACT)
    assert [e.title for e in result.entries] == ["Great Paper", "Subscriber Modelling at Scale"]


def test_abstract_with_no_title_is_joined_as_a_paragraph_and_reported():
    result = parse(f"A Paper\n\n{ABSTRACT}\n\n{ABSTRACT}\n")
    assert result.entries[0].abstract == ABSTRACT + "\n\n" + ABSTRACT
    assert messages(result) == ["5: text with no title: joined to the abstract of the paper at line 1"]


def test_abstract_before_any_title_is_reported_with_its_line():
    result = parse(f"\n{ABSTRACT}\nA Paper\n{ABSTRACT}\n")
    assert [e.title for e in result.entries] == ["A Paper"]
    assert messages(result)[0].startswith("2: text with no title: skipped")


def test_huge_line_is_skipped_with_a_warning_and_the_rest_parses():
    result = parse("A Paper\n" + ABSTRACT + "\n" + "x" * 200_000 + "\nB Paper\n" + ABSTRACT)
    assert [e.title for e in result.entries] == ["A Paper", "B Paper"]
    assert messages(result) == ["3: line of 200,000 characters is too long for a title or abstract: skipped"]


def test_stray_metadata_before_any_paper_is_reported():
    result = parse("  • 3 authors\n·\nA Paper\n" + ABSTRACT)
    assert len(result.entries) == 1
    assert [m.split(":")[0] for m in messages(result)] == ["1", "2"]


def test_many_titles_without_abstracts():
    result = parse("\n".join(f"Title number {i}" for i in range(1000)))
    assert len(result.entries) == 1000
    assert len(messages(result)) == 1000 and all("title with no abstract" in m for m in messages(result))


@pytest.mark.parametrize("line,expected", [
    ("Mar 12", (3, 12, None, None)),
    ("Oct 4, 2023", (10, 4, 2023, None)),
    ("Feb 24 2", (2, 24, None, 2)),
    ("Oct 9, 2024 3", (10, 9, 2024, 3)),
    ("Mar 12 2025", (3, 12, 2025, None)),
    ("Sept 3, 2024 1,204", (9, 3, 2024, 1204)),
])
def test_date_line_forms(line, expected):
    (classified,) = listing.classify(line)
    assert classified.kind == "date" and classified.date == expected


@pytest.mark.parametrize("line,prose", [
    ("Consistency Models", False),
    ("How Stable is Stable Diffusion under Recursive InPainting (RIP)?", False),
    ("Scaling Laws for Neural Language Models.", False),
    (ABSTRACT, True),
    ("We propose a short abstract. It has two sentences and ends properly.", True),
])
def test_title_or_abstract(line, prose):
    assert listing.is_prose(line) is prose


def test_second_metadata_line_is_reported_not_overwritten():
    result = parse(f"A Paper\n{ABSTRACT}\nACME Lab\n\u00b7\n{ABSTRACT}\nOther Lab\n\u00b7\n")
    assert result.entries[0].organization == "ACME Lab"
    assert "6: second organization for the paper at line 1: ignored: 'Other Lab'" in messages(result)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
def test_wide_encodings_with_or_without_a_byte_order_mark(encoding):
    """Notepad's "Unicode" is UTF-16 without a BOM, sometimes; UTF-32 came out as junk."""
    text = ("Mar 3, 2025\n\nA Paper Title \u00e9t\u00e9\n\nWe study a problem that matters a great deal. Our method "
            "improves results on many benchmarks while remaining simple to implement today.\n")
    result = listing.parse(text.encode(encoding), "x.txt")
    assert [e.title for e in result.entries] == ["A Paper Title \u00e9t\u00e9"] and not result.problems


def test_a_listing_with_no_date_anywhere_says_what_to_add():
    result = parse(f"A Paper Title\n{ABSTRACT}\n")
    (undated,) = [p for p in result.problems if p.message.startswith(UNDATED)]
    assert "add a line such as `Apr 17, 2026`" in undated.message and "2026-04-17.txt" in undated.message
    titled = listing.parse(f"A Paper Title\n{ABSTRACT}\n".encode(), "x.txt", ListingSettings(title="Trending"))
    assert titled.problems == () and titled.date is None  # a title says: undated on purpose
