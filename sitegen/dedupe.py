"""Entries from every listing -> `Catalog` of distinct papers.

0. An arXiv id is identity where known: entries with the same id are one paper, whatever their
   titles, and two entries with different ids are never one paper, however alike.
1. Identical entries (same normalised title and abstract) collapse into one *variant*.
2. Variants that may be the same paper are found by *blocking*: they share the normalised
   title, its first or last 24 characters, or the opening of the abstract. Only variants in
   a common block are compared, so the work grows with the catalogue, not its square.
3. A pair is the same paper when the titles are near-identical (rapidfuzz ratio) *and* the
   abstracts agree over their common length (so a truncated abstract matches its full
   form, and two papers with near-identical titles but different abstracts stay apart).
4. Matching variants are joined with union-find; a join that would put two disagreeing
   abstracts into one paper is refused, so a title-only entry cannot chain two papers.

Variants are sorted before any comparison, so the result depends only on the set of
entries, never on the order of the listings.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from itertools import repeat

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from slugify import slugify

from . import text
from .model import Appearance, Catalog, Entry, Listing, Merge, Paper, evolve

TITLE_MIN = 90.0  # titles at least this similar may be the same paper, if the abstracts agree
TITLE_EDITS = 25  # ...and differ by at most one edit per this many characters (a typo, not a word)
TITLE_ONLY_MIN = 95.0  # with no abstract to confirm, titles must be this similar
ABSTRACT_MIN = 90.0  # abstracts this similar over their common length are the same text
ABSTRACT_COMPARABLE = 60  # characters; shorter abstracts cannot confirm or refute
BLOCK_AFFIX = 24  # characters of the title key that form the prefix and suffix blocks
BLOCK_MAX = 64  # a fuzzy block larger than this is too common to say anything
SLUG_MAX = 80
RESERVED_SLUGS = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
})
_NON_WORD = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"\d+")
_ELLIPSES = ("[...]", "...", "\u2026")  # how a cut-short abstract ends


# For ASCII text, as bytes: letters lower-cased, digits kept, everything else a space.
_ASCII_FOLD = bytes(c + 32 if 65 <= c <= 90 else c if chr(c).isalnum() and c < 128 else 32 for c in range(256))


def _fold(s: str) -> str:
    """Lower case, every run of non-word characters one space (fast for ASCII, exact for the rest)."""
    if s.isascii():  # as bytes, translated by a table: several times faster than str.translate's dict
        return b" ".join(s.encode("ascii").translate(_ASCII_FOLD).split()).decode("ascii")
    return _fold_unicode(s)


def _fold_unicode(s: str) -> str:
    """`_fold` for any text (for ASCII text it gives what the fast path does)."""
    s = unicodedata.normalize("NFKC", s).translate(_TYPOGRAPHY).casefold()
    return _NON_WORD.sub(" ", s).strip()


def title_key(title: str) -> str:
    """Case, spacing, typography and Unicode form folded away; words kept apart by single spaces."""
    return _fold(title)


ABSTRACT_KEY_CHARS = 1200  # two abstracts that agree this far are one text; beyond it costs time, not accuracy


def abstract_key(abstract: str) -> str:
    s = abstract.rstrip()
    for mark in _ELLIPSES:
        if s.endswith(mark):
            s = s[: -len(mark)]
            break
    return _fold(s[:ABSTRACT_KEY_CHARS])


@dataclass
class _Variant:
    """Identical entries, compared as one."""

    tkey: str
    compact: str
    akey: str
    entries: list[Entry]
    arxiv_id: str | None = None


def _abstract_similarity(a: str, b: str) -> float | None:
    n = min(len(a), len(b))
    if n < ABSTRACT_COMPARABLE:
        return None
    return fuzz.ratio(a[:n], b[:n])


def _titles_close(a: _Variant, b: _Variant, ts: float) -> bool:
    """Near-identical: a typo apart, never a word apart, and the same numbers (Llama 2 is not Llama 3)."""
    if a.compact == b.compact:
        return True
    if ts < TITLE_MIN or _NUMBER.findall(a.tkey) != _NUMBER.findall(b.tkey):
        return False
    budget = max(2, min(len(a.tkey), len(b.tkey)) // TITLE_EDITS)
    return Levenshtein.distance(a.tkey, b.tkey, score_cutoff=budget) <= budget


def compare(a: _Variant, b: _Variant) -> tuple[bool, float, float | None]:
    """(same paper?, title similarity, abstract similarity or None)."""
    ts = 100.0 if a.compact == b.compact else fuzz.ratio(a.tkey, b.tkey)
    if not _titles_close(a, b, ts):
        return False, ts, None
    abs_sim = _abstract_similarity(a.akey, b.akey)
    if abs_sim is None:
        return ts >= TITLE_ONLY_MIN, ts, None
    return abs_sim >= ABSTRACT_MIN, ts, abs_sim


def _blocks(v: _Variant) -> list[tuple[str, str]]:
    keys = [("t", v.compact)]
    if len(v.compact) > BLOCK_AFFIX:
        keys += [("p", v.compact[:BLOCK_AFFIX]), ("s", v.compact[-BLOCK_AFFIX:])]
    if len(v.akey) >= 80:
        keys.append(("a", v.akey[:80]))
    return keys


class _Components:
    """Union-find that refuses to join two groups whose abstracts disagree."""

    def __init__(self, variants: list[_Variant]):
        self.parent = list(range(len(variants)))
        self.longest = [v.akey for v in variants]  # the longest abstract key in each group
        self.ids = [v.arxiv_id for v in variants]  # the arXiv id of each group, where known

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int, same_id: bool = False) -> bool:
        """Join the groups of i and j, unless they hold different arXiv ids or (but for two
        entries of one id) abstracts that disagree."""
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        if self.ids[ri] and self.ids[rj] and self.ids[ri] != self.ids[rj]:
            return False
        a, b = self.longest[ri], self.longest[rj]
        sim = _abstract_similarity(a, b)
        if not same_id and sim is not None and sim < ABSTRACT_MIN:
            return False
        root, other = (ri, rj) if ri < rj else (rj, ri)
        self.parent[other] = root
        self.longest[root] = a if len(a) >= len(b) else b
        self.ids[root] = self.ids[root] or self.ids[other]
        return True


def _oldest_first(date, source: str, line: int = 0):
    """Oldest digest first; undated listings after every dated one; then file and line."""
    return (date is None, date or 0, source, line)


def dedupe(listings: list[Listing] | tuple[Listing, ...], slug_of=None) -> Catalog:
    """The catalogue of `listings`. `slug_of` makes a title's slug (`slug_for`, or the build
    cache's memo of it)."""
    entries = [e for listing in listings for e in listing.entries]
    problems = [p for listing in listings for p in listing.problems]
    akeys: dict[str, str] = {}  # abstract -> its key: a paper turns up in many listings

    def akey_of(abstract: str) -> str:
        akey = akeys.get(abstract)
        if akey is None:
            akey = akeys[abstract] = abstract_key(abstract)
        return akey

    variants = _variants(entries, akey_of)
    comps, scores = _join(variants)
    papers, pending = _papers(variants, comps, scores)
    papers = _assign_ids(papers, akey_of, slug_of or slug_for)
    merges = sorted(
        (Merge(e.source, e.line, e.title, papers[n].id, papers[n].title, ts, abs_sim, exact)
         for e, n, ts, abs_sim, exact in pending),
        key=lambda m: (m.source, m.line),
    )
    papers.sort(key=lambda p: (_first_listed(p), p.id))
    return Catalog(tuple(sorted(listings, key=lambda l: _oldest_first(l.date, l.source))), tuple(papers), tuple(merges), tuple(problems), len(entries))


def _variants(entries: list[Entry], akey_of) -> list[_Variant]:
    """1. Identical entries (same id, folded title and abstract) as one variant, in a fixed order."""
    by_identity: dict[tuple[str, str, str], _Variant] = {}
    for e in entries:
        tkey = title_key(e.title)
        compact = tkey.replace(" ", "")
        akey = akey_of(e.abstract)
        identity = (e.arxiv_id or "", compact, akey)
        variant = by_identity.get(identity)
        if variant is None:
            variant = by_identity[identity] = _Variant(tkey, compact, akey, [], e.arxiv_id)
        variant.entries.append(e)
    return [by_identity[k] for k in sorted(by_identity)]


def _join(variants: list[_Variant]) -> tuple[_Components, dict[tuple[int, int], tuple[float, float | None]]]:
    """0, 2-4. One id, one paper; then blocking, comparison and union-find. The groups, and the
    scores of the pairs that were joined."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, v in enumerate(variants):
        for key in _blocks(v):
            blocks[key].append(i)
    comps = _Components(variants)
    scores: dict[tuple[int, int], tuple[float, float | None]] = {}
    first_with_id: dict[str, int] = {}
    for i, v in enumerate(variants):  # 0. one id, one paper
        if v.arxiv_id:
            j = first_with_id.setdefault(v.arxiv_id, i)
            if j != i:
                comps.union(j, i, same_id=True)
    n = len(variants)
    pairs: set[int] = set()  # i * n + j for i < j: a pair in several blocks is compared once
    for key, members in blocks.items():  # members ascend: variants are blocked in order
        if len(members) < 2 or (key[0] != "t" and len(members) > BLOCK_MAX):
            continue
        for a in range(len(members) - 1):
            pairs.update(map((members[a] * n).__add__, members[a + 1:]))
    # In order, so the result never depends on the blocks' order; ints, as they sort many times
    # faster than tuples (1.1M pairs at 100k papers: 0.5 s against 3 s).
    for i, j in map(divmod, sorted(pairs), repeat(n)):
        same, ts, abs_sim = compare(variants[i], variants[j])
        if same and comps.union(i, j):
            scores[(i, j)] = (ts, abs_sim)
    return comps, scores


def _papers(variants: list[_Variant], comps: _Components, scores: dict) -> tuple[list[Paper], list[tuple]]:
    """Each group as one paper (its entries oldest first), and each entry folded into a paper
    with the scores that put it there: (entry, paper index, title, abstract similarity, exact)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(variants)):
        groups[comps.find(i)].append(i)
    papers: list[Paper] = []
    pending: list[tuple[Entry, int, float, float | None, bool]] = []
    for members in groups.values():
        group_entries = sorted((e for i in members for e in variants[i].entries), key=lambda e: _oldest_first(e.listing_date, e.source, e.line))
        first = group_entries[0]
        first_variant = next(i for i in members if any(e is first for e in variants[i].entries))
        for i in members:
            for e in variants[i].entries:
                if e is first:
                    continue
                if i == first_variant:
                    ts, abs_sim, exact = 100.0, (100.0 if variants[i].akey else None), True
                else:
                    pair = (min(i, first_variant), max(i, first_variant))
                    ts, abs_sim = scores.get(pair) or _score(variants[i], variants[first_variant])
                    exact = False
                pending.append((e, len(papers), ts, abs_sim, exact))
        papers.append(_merge(group_entries))
    return papers, pending


def _score(a: _Variant, b: _Variant) -> tuple[float, float | None]:
    _, ts, abs_sim = compare(a, b)
    return ts, abs_sim


def _first_listed(p: Paper):
    a = p.appearances[0]  # appearances are stored oldest first
    return _oldest_first(a.date, a.source, a.line)


def _merge(entries: list[Entry]) -> Paper:
    """One paper from its entries (oldest appearance first): every appearance, the richest data."""
    complete = [e.abstract for e in entries if e.abstract and not e.abstract_truncated]
    partial = [e.abstract for e in entries if e.abstract]
    abstract = max(complete or partial or [""], key=len)
    newest_first = entries[::-1]

    def newest(attr):  # plain loops: a paper is merged from one entry in most archives, and this runs per field
        for e in newest_first:
            value = getattr(e, attr)
            if value is not None:
                return value
        return None

    def most(attr):
        values = [value for e in entries if (value := getattr(e, attr)) is not None]
        return max(values) if values else None

    upvotes = [e.upvotes for e in entries if e.upvotes is not None]
    published = newest("published")
    return Paper(
        id="",
        title=entries[0].title,
        abstract=abstract,
        appearances=tuple(Appearance(e.source, e.line, e.rank, e.listing_date, e.upvotes) for e in entries),
        authors_count=newest("authors_count"),
        organization=newest("organization"),
        published=published,
        published_text=None if published else newest("published_text"),
        upvotes=max(upvotes) if upvotes else None,
        arxiv_id=newest("arxiv_id"),
        comments=most("comments"),
        submitter=newest("submitter"),
        authors=max((e.authors for e in entries), key=len),
        code_url=newest("code_url"),
        code_stars=most("code_stars"),
        ai_summary=newest("ai_summary"),
    )


def slug_for(title: str) -> str:
    slug = slugify(text.plain(title), max_length=SLUG_MAX, word_boundary=True, save_order=True) or "paper"
    if slug in RESERVED_SLUGS:
        slug += "-paper"
    return slug


def _assign_ids(papers: list[Paper], akey_of=abstract_key, slug_of=None) -> list[Paper]:
    """Permalink slugs. On a clash the paper listed first keeps the plain slug; the others get
    a suffix hashed from their own title and abstract, so adding newer listings never moves a URL."""
    slug_of = slug_of or slug_for
    by_slug: dict[str, list[int]] = defaultdict(list)
    for n, p in enumerate(papers):
        by_slug[slug_of(p.title)].append(n)
    ids: dict[int, str] = {}
    taken = set(by_slug)
    for slug, members in sorted(by_slug.items()):
        if len(members) > 1:
            members.sort(key=lambda n: (_first_listed(papers[n]), akey_of(papers[n].abstract)))
        ids[members[0]] = slug
        for n in members[1:]:
            digest = hashlib.sha1(f"{title_key(papers[n].title)}\0{akey_of(papers[n].abstract)[:200]}".encode()).hexdigest()
            candidate, k = f"{slug}-{digest[:6]}", 6
            while candidate in taken:
                k += 1
                candidate = f"{slug}-{digest[:k]}"
            taken.add(candidate)
            ids[n] = candidate
    return [evolve(p, id=ids[n]) for n, p in enumerate(papers)]
