"""Property-based tests (hypothesis) of the parser and dedupe."""
from __future__ import annotations

import dataclasses
import datetime as dt
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen import dedupe, listing
from sitegen.config import ListingSettings
from sitegen.model import Entry, Listing

WORDS = ["Consistency", "Models", "Music", "Multistep", "Stable", "Diffusion", "Graph", "Neural", "Networks", "Llama", "2", "3"]
ABSTRACTS = [
    "We propose consistency models, a family of generative models that map noise to data directly and support fast one step generation by design while allowing multistep sampling.",
    "Music consistency models bring consistency distillation to text to music generation, where a few sampling steps suffice for high fidelity audio at a fraction of the usual cost.",
    "Graph neural networks need careful initialisation; we analyse the variance of forward and backward propagation and propose a new scheme that keeps both stable across many layers.",
]
CHROME = ["new", "Subscribe", "Daily Papers", "byAK and the research community", "Get trending papers in your email inbox!"]

lines = st.one_of(
    st.text(max_size=300),
    st.sampled_from(CHROME + ["\u00b7", "  \u2022 4 authors", "Mar 12", "Feb 24 2", "Oct 4, 2023", ""]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.sampled_from(ABSTRACTS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_parser(data):
    result = listing.parse(data, "x.txt", ListingSettings(year=2025))
    assert all(p.source == "x.txt" for p in result.problems)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40), st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_every_text_line_becomes_part_of_a_paper_or_is_reported(chosen, newline):
    """Nothing is lost: each text line is a title, an abstract, an organisation, or in a warning."""
    text = newline.join(chosen)
    result = listing.parse(text.encode("utf-8"), "x.txt", ListingSettings(year=2025))
    kept = set()
    for e in result.entries:
        kept.update([e.title, e.organization or ""])
        kept.update(e.abstract.split("\n\n"))
    reported = {p.line for p in result.problems}
    if 0 in reported and not result.entries:
        return  # reported as a whole (binary or empty file): every line is accounted for
    seen, _ = listing.decode(text.encode("utf-8"), "x.txt")  # as the parser reads it: NULs removed, reported
    for number, line in enumerate(listing.classify(seen), start=1):
        if line.kind in ("text", "org"):
            assert line.text in kept or line.number in reported, f"line {line.number} lost: {line.text!r}"


def _entries(draw_titles, draw_abstracts):
    return [Entry(source=f"l{i % 3}.txt", line=i + 1, rank=i + 1, title=t, abstract=a)
            for i, (t, a) in enumerate(zip(draw_titles, draw_abstracts))]


titles = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join), min_size=1, max_size=25)


@st.composite
def entry_lists(draw):
    ts = draw(titles)
    abstracts = []
    for _ in ts:
        base = draw(st.sampled_from(ABSTRACTS + [""]))
        cut = draw(st.integers(min_value=60, max_value=len(base) or 60))
        abstracts.append(base if not base or cut >= len(base) else base[:cut] + "...")
    return _entries(ts, abstracts)


def _listings(entries):
    by_source = {}
    for e in entries:
        by_source.setdefault(e.source, []).append(e)
    return [Listing(src, None, tuple(es)) for src, es in by_source.items()]


def _paper_set(catalog):
    return {(p.id, p.title, p.abstract, frozenset((a.source, a.line) for a in p.appearances)) for p in catalog.papers}


@settings(max_examples=200, deadline=None)
@given(entry_lists(), st.randoms())
def test_reordering_listings_never_changes_the_papers(entries, rnd):
    listings = _listings(entries)
    shuffled = listings[:]
    rnd.shuffle(shuffled)
    shuffled = [dataclasses.replace(l, entries=tuple(rnd.sample(l.entries, len(l.entries)))) for l in shuffled]
    assert _paper_set(dedupe.dedupe(listings)) == _paper_set(dedupe.dedupe(shuffled))


@settings(max_examples=200, deadline=None)
@given(entry_lists())
def test_dedupe_on_its_own_output_changes_nothing(entries):
    first = dedupe.dedupe(_listings(entries))
    again_entries = [Entry(source=p.appearances[0].source, line=p.appearances[0].line, rank=p.appearances[0].rank,
                           title=p.title, abstract=p.abstract) for p in first.papers]
    second = dedupe.dedupe(_listings(again_entries))
    assert {(p.id, p.title, p.abstract) for p in second.papers} == {(p.id, p.title, p.abstract) for p in first.papers}
    assert second.merges == ()


@settings(max_examples=200, deadline=None)
@given(entry_lists())
def test_every_entry_is_in_exactly_one_paper(entries):
    catalog = dedupe.dedupe(_listings(entries))
    appearances = [(a.source, a.line) for p in catalog.papers for a in p.appearances]
    assert sorted(appearances) == sorted((e.source, e.line) for e in entries)
    assert len(catalog.papers) + len(catalog.merges) == len(entries)
    assert len({p.id for p in catalog.papers}) == len(catalog.papers)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_the_ascii_fold_is_the_unicode_fold(text):
    """Titles and abstracts are folded into keys (blocking, comparison, permalink digests) by a
    byte-table fast path when they are ASCII: it must give what the general path gives."""
    assert dedupe._fold(text) == dedupe._fold_unicode(text)


@st.composite
def dated_listings(draw):
    """Listings in a given order, some dated, whose entries share titles, abstracts and ids."""
    entries = draw(entry_lists())
    for n, e in enumerate(entries):  # near-identical titles and abstracts: a typo, a lost space
        title, abstract = e.title, e.abstract
        if " " in title and draw(st.booleans()):
            title = title.replace(" ", draw(st.sampled_from(["", "  ", " "])), 1)
        if draw(st.booleans()):
            title = title.replace("Models", "Model").replace("Networks", "Nets").replace("Diffusion", "Difusion")
        if len(abstract) > 100 and draw(st.booleans()):
            at = draw(st.integers(min_value=70, max_value=len(abstract) - 5))
            abstract = abstract[:at] + "x" + abstract[at + 1:]
        entries[n] = dataclasses.replace(e, title=title, abstract=abstract)
    ids = draw(st.lists(st.sampled_from([None, None, "2401.00001", "2401.00002"]), min_size=len(entries),
                        max_size=len(entries)))
    sources = draw(st.integers(min_value=1, max_value=6))
    by_source: dict[str, list] = {}
    for i, (e, arxiv_id) in enumerate(zip(entries, ids)):
        source = f"l{draw(st.integers(min_value=0, max_value=sources - 1))}.txt"
        by_source.setdefault(source, []).append(dataclasses.replace(e, source=source, line=i + 1, arxiv_id=arxiv_id))
    listings = []
    for source, es in by_source.items():
        date = draw(st.sampled_from([None, dt.date(2025, 3, 11), dt.date(2025, 3, 12), dt.date(2025, 3, 13)]))
        listings.append(Listing(source, date, tuple(dataclasses.replace(e, listing_date=date) for e in es)))
    return listings


@settings(max_examples=300, deadline=None)
@given(dated_listings(), st.data(), st.sampled_from([2, 3, dedupe.BLOCK_MAX]))
def test_dedupe_from_an_earlier_dedupe_is_a_dedupe_from_scratch(listings, data, block_max):
    """Adding listings to what an earlier dedupe saw (new ones anywhere in the order, merges that
    reach back into old papers, blocks that become too common to compare) gives what a dedupe
    of all of them from scratch gives: the same catalogue and the same state to go on from."""
    kept = data.draw(st.lists(st.booleans(), min_size=len(listings), max_size=len(listings)))
    with mock.patch.object(dedupe, "BLOCK_MAX", block_max):
        _, joined = dedupe.dedupe_from(None, [l for l, k in zip(listings, kept) if k])
        catalog, state = dedupe.dedupe_from(joined, listings)
        cold, cold_state = dedupe.dedupe_from(None, listings)
    assert catalog == cold
    assert state == cold_state
