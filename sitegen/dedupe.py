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

import bisect
import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby, repeat

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
ABSTRACT_BLOCK = 80  # characters of the abstract key that form the abstract block
ABSTRACT_HEAD = 200  # characters of the abstract key a variant keeps (its block; a permalink suffix's digest)
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
    """Identical entries, compared as one. `head` is the abstract key's opening (its abstract
    block, and what a permalink's suffix digests). A variant kept from an earlier dedupe
    (`Joined`) is made without its abstract key (`kept`), which it makes from its first entry
    when first asked for: only the variants a new day's entries reach are compared, and the
    whole abstract keys were nine tenths of what was kept (125 MB at 100k papers)."""

    tkey: str
    compact: str
    akey: str
    entries: list[Entry]
    arxiv_id: str | None = None
    refs: list[int] = field(default_factory=list)  # where each entry is: `_ref(listing, entry)`
    head: str = field(init=False, default="")

    def __post_init__(self):
        self.head = self.akey[:ABSTRACT_HEAD]

    @classmethod
    def kept(cls, tkey: str, head: str, entries: list[Entry], arxiv_id: str | None, refs: list[int]) -> "_Variant":
        v = object.__new__(cls)
        v.__dict__.update(tkey=tkey, compact=tkey.replace(" ", ""), head=head, entries=entries, arxiv_id=arxiv_id,
                          refs=refs)
        return v

    def __getattr__(self, name: str):  # only for what the instance lacks: a kept variant's abstract key
        if name != "akey" or "entries" not in self.__dict__:
            raise AttributeError(name)
        self.akey = abstract_key(self.entries[0].abstract)  # every entry of a variant has this key
        return self.akey


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
    if len(v.head) >= ABSTRACT_BLOCK:
        keys.append(("a", v.head[:ABSTRACT_BLOCK]))
    return keys


class _Components:
    """Union-find that refuses to join two groups whose abstracts disagree."""

    def __init__(self, variants: list[_Variant]):
        self.parent = list(range(len(variants)))
        self.longest = [v.akey for v in variants]  # the longest abstract key in each group
        self.ids = [v.arxiv_id for v in variants]  # the arXiv id of each group, where known

    def find(self, i: int) -> int:
        return _root(self.parent, i)

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
    return dedupe_from(None, listings, slug_of)[0]


@dataclass(frozen=True)
class Joined:
    """Which entries dedupe found to be one paper, as plain data (a build cache keeps it), for
    `dedupe_from` to start from when listings are added. Variants are in their sorted order;
    an entry is named by `_ref(listing, entry)`, its listing's place in `listings` and its own
    in that listing."""

    listings: tuple[tuple[str, str], ...]  # (source, `_fingerprint`) of each listing, in the order given
    variants: tuple[tuple, ...]  # (arXiv id or "", title key, abstract key's `head`, entry refs) of each variant
    groups: tuple[int, ...]  # per variant: the lowest variant of its paper
    clusters: tuple[int, ...]  # per variant: the lowest variant of its candidate component (`_join`)
    scores: tuple[tuple, ...]  # per variant: (title, abstract similarity) to its paper's first variant; () for that one


def dedupe_from(previous: Joined | None, listings: list[Listing] | tuple[Listing, ...],
                slug_of=None) -> tuple[Catalog, Joined]:
    """`dedupe(listings)`, and what a later call can start from. With `previous` (what a call
    on some of these listings returned), the variants of the listings it saw are taken from it
    and only the new entries are compared, with whatever they share a block or an id with: the
    result is the same as from scratch. `previous` is not used when a listing it saw is gone,
    changed or moved before another it saw."""
    listings = list(listings)
    problems = [p for listing in listings for p in listing.problems]
    prints = tuple((listing.source, _fingerprint(listing)) for listing in listings)
    akeys: dict[str, str] = {}  # abstract -> its key: a paper turns up in many listings

    def akey_of(abstract: str) -> str:
        akey = akeys.get(abstract)
        if akey is None:
            akey = akeys[abstract] = abstract_key(abstract)
        return akey

    heads: dict[str, str] = {}  # abstract -> its key's opening (`_Variant.head`), as kept or made

    def head_of(abstract: str) -> str:
        head = heads.get(abstract)
        if head is None:
            head = heads[abstract] = akey_of(abstract)[:ABSTRACT_HEAD]
        return head

    found = _rejoin(previous, listings, prints, akey_of) if previous is not None else None
    if found is not None:  # the kept variants' openings, for the permalinks (`_assign_ids`)
        for v in found[0]:
            heads.setdefault(v.entries[0].abstract, v.head)  # every entry of a variant has its key
    else:
        variants = _variants(listings, akey_of)
        comps, scores, clusters = _join(variants)
        groups = [comps.find(i) for i in range(len(variants))]
        found = variants, groups, clusters, _scorer(variants, scores, {})
    variants, groups, clusters, score_of = found
    papers, pending, used = _papers(variants, groups, score_of)
    papers = _assign_ids(papers, akey_of, slug_of or slug_for, head_of)
    merges = sorted(
        (Merge(e.source, e.line, e.title, papers[n].id, papers[n].title, ts, abs_sim, exact)
         for e, n, ts, abs_sim, exact in pending),
        key=lambda m: (m.source, m.line),
    )
    papers.sort(key=lambda p: (_first_listed(p), p.id))
    catalog = Catalog(tuple(sorted(listings, key=lambda l: _oldest_first(l.date, l.source))), tuple(papers),
                      tuple(merges), tuple(problems), sum(len(listing.entries) for listing in listings))
    joined = Joined(prints, tuple((v.arxiv_id or "", v.tkey, v.head, tuple(v.refs)) for v in variants),
                    tuple(groups), tuple(clusters), tuple(used))
    return catalog, joined


_ENTRY_BITS = 32


def _ref(listing: int, entry: int) -> int:
    return listing << _ENTRY_BITS | entry


def _fingerprint(listing: Listing) -> str:
    """What dedupe reads of a listing: each entry's place, date, id, title and abstract. From
    the digest of each entry's whole record where the parser made them (`entry_digests`), which
    names all of these: the text is not encoded and digested again (at 100k papers, 150 MB of
    it on every build)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{listing.source}\0{listing.date}\0{len(listing.entries)}".encode("utf-8", "surrogatepass"))
    if len(listing.entry_digests) == len(listing.entries):
        h.update(("\0digests\0" + "".join(listing.entry_digests)).encode("ascii"))  # each of one length
        return h.hexdigest()
    for e in listing.entries:
        h.update(f"\0{e.source}\0{e.line}\0{e.listing_date}\0{e.arxiv_id}\0{e.title}\0{e.abstract}"
                 .encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _identity(v: _Variant) -> tuple[str, str, str]:
    return (v.arxiv_id or "", v.compact, v.akey)


def _variants(listings: list[Listing], akey_of) -> list[_Variant]:
    """1. Identical entries (same id, folded title and abstract) as one variant, in a fixed order."""
    by_identity: dict[tuple[str, str, str], _Variant] = {}
    for li, listing in enumerate(listings):
        for ei, e in enumerate(listing.entries):
            tkey, identity = _keys(e, akey_of)
            variant = by_identity.get(identity)
            if variant is None:
                variant = by_identity[identity] = _Variant(tkey, identity[1], identity[2], [], e.arxiv_id)
            variant.entries.append(e)
            variant.refs.append(_ref(li, ei))
    return [by_identity[k] for k in sorted(by_identity)]


def _keys(e: Entry, akey_of) -> tuple[str, tuple[str, str, str]]:
    """An entry's title key, and the identity (`_identity`) of the variant it belongs to."""
    tkey = title_key(e.title)
    return tkey, (e.arxiv_id or "", tkey.replace(" ", ""), akey_of(e.abstract))


def _join(variants: list[_Variant], blocks: dict | None = None) -> tuple[_Components, dict, list[int]]:
    """0, 2-4. One id, one paper; then blocking, comparison and union-find. The groups, the
    scores of the pairs that were joined, and each variant's candidate component: the lowest
    variant it is linked to through blocks that are compared and shared ids. (`blocks`, when
    `variants` are some of a catalogue's: the catalogue's blocks, whose sizes say which are
    too common to compare.)"""
    own: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, v in enumerate(variants):
        for key in _blocks(v):
            own[key].append(i)
    comps = _Components(variants)
    links = list(range(len(variants)))  # the candidate components, as a union-find that joins anything

    def link(i: int, j: int) -> None:
        ri, rj = _root(links, i), _root(links, j)
        if ri != rj:
            links[max(ri, rj)] = min(ri, rj)

    scores: dict[tuple[int, int], tuple[float, float | None]] = {}
    first_with_id: dict[str, int] = {}
    for i, v in enumerate(variants):  # 0. one id, one paper
        if v.arxiv_id:
            j = first_with_id.setdefault(v.arxiv_id, i)
            if j != i:
                comps.union(j, i, same_id=True)
                link(j, i)
    n = len(variants)
    pairs: set[int] = set()  # i * n + j for i < j: a pair in several blocks is compared once
    for key, members in own.items():  # members ascend: variants are blocked in order
        size = len(members) if blocks is None else len(blocks[key])
        if len(members) < 2 or (key[0] != "t" and size > BLOCK_MAX):
            continue
        for a in range(len(members) - 1):
            pairs.update(map((members[a] * n).__add__, members[a + 1:]))
            link(members[a], members[a + 1])
    # In order, so the result never depends on the blocks' order; ints, as they sort many times
    # faster than tuples (1.1M pairs at 100k papers: 0.5 s against 3 s).
    for i, j in map(divmod, sorted(pairs), repeat(n)):
        same, ts, abs_sim = compare(variants[i], variants[j])
        if same and comps.union(i, j):
            scores[(i, j)] = (ts, abs_sim)
    return comps, scores, [_root(links, i) for i in range(n)]


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _scorer(variants: list[_Variant], scores: dict, known: dict):
    """The (title, abstract similarity) of variant i to its paper's first variant f: as known
    from an earlier dedupe, else as joined, else compared now."""
    def score_of(i: int, f: int) -> tuple:
        found = known.get(i)
        if found is not None:
            return found
        return scores.get((min(i, f), max(i, f))) or _score(variants[i], variants[f])
    return score_of


def _rejoin(previous: Joined, listings: list[Listing], prints: tuple, akey_of):
    """`_variants` and `_join` from `previous`: the variants, groups, candidate components and
    scores, or None if `previous` does not fit `listings`. Exact because a candidate component's
    groups depend only on its own variants in their order (pairs are compared in order, and
    inserting variants keeps it): so only the components that new variants reach are joined
    again, with the new variants, and a block counts as too common by its size in the whole
    catalogue. A block that the new variants make too common loses its pairs, so the
    components of its old members are joined again too."""
    where = {p: n for n, p in enumerate(prints)}
    old_at = [where.get(p) for p in previous.listings]
    if None in old_at or any(b <= a for a, b in zip(old_at, old_at[1:])):
        return None
    mask = (1 << _ENTRY_BITS) - 1
    variants: list[_Variant] = []
    for aid, tkey, head, refs in previous.variants:
        refs = [_ref(old_at[r >> _ENTRY_BITS], r & mask) for r in refs]
        entries = [listings[r >> _ENTRY_BITS].entries[r & mask] for r in refs]
        variants.append(_Variant.kept(tkey, head, entries, aid or None, refs))
    old = len(variants)
    # A new entry joins the variant of its identity: found by id and title, then abstract key
    # (made only for the few variants that share the first two).
    by_title: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, v in enumerate(variants):
        by_title[v.arxiv_id or "", v.compact].append(n)
    touched: set[int] = set()  # old variants that gained entries
    seen = set(old_at)
    for li, listing in enumerate(listings):
        if li in seen:
            continue
        for ei, e in enumerate(listing.entries):
            tkey, identity = _keys(e, akey_of)
            ref = _ref(li, ei)
            same = by_title[identity[:2]]
            n = next((k for k in same if variants[k].akey == identity[2]), None)
            if n is None:
                n = len(variants)
                same.append(n)
                variants.append(_Variant(tkey, identity[1], identity[2], [], e.arxiv_id))
            elif n < old:
                touched.add(n)
            v = variants[n]
            at = _insertion(v.refs, ref)
            v.refs.insert(at, ref)
            v.entries.insert(at, e)
            if at == 0:
                v.tkey = tkey  # a variant's title key is its first entry's, in the order given
    # The kept variants are in order already: each new one goes where its identity sorts among
    # them (found by bisection, so only the variants it passes make their abstract keys).
    order, start = [], 0
    for k in sorted(range(old, len(variants)), key=lambda k: _identity(variants[k])):
        at = _kept_before(variants, old, _identity(variants[k]), start)
        order.extend(range(start, at))
        order.append(k)
        start = at
    order.extend(range(start, old))
    moved = [0] * len(variants)
    for to, k in enumerate(order):
        moved[k] = to
    variants = [variants[k] for k in order]
    fresh = [moved[k] for k in range(old, len(moved))]
    old_cluster = {moved[k]: moved[c] for k, c in enumerate(previous.clusters)}
    # The old components the new variants reach: through an old variant they joined, a shared
    # id, or a block (unless it was too common already).
    reached = {old_cluster[moved[n]] for n in touched}
    ids = {variants[i].arxiv_id for i in fresh if variants[i].arxiv_id}
    if ids:
        reached.update(old_cluster[i] for i in old_cluster if variants[i].arxiv_id in ids)
    blocks = _members(variants, {key for i in fresh for key in _blocks(variants[i])})
    for key, members in blocks.items():
        olds = [m for m in members if m in old_cluster]
        if key[0] == "t" or len(olds) <= BLOCK_MAX:
            reached.update(old_cluster[m] for m in olds)
    again = [i for i in range(len(variants)) if i not in old_cluster or old_cluster[i] in reached]
    blocks = _members(variants, {key for i in again for key in _blocks(variants[i])})
    comps, scores, clusters = _join([variants[i] for i in again], blocks)
    groups = [0] * len(variants)
    components = [0] * len(variants)
    known: dict[int, tuple] = {}
    for k, (group, cluster, score) in enumerate(zip(previous.groups, previous.clusters, previous.scores)):
        i = moved[k]
        groups[i], components[i] = moved[group], moved[cluster]
        if score:
            known[i] = score
    for s, i in enumerate(again):
        groups[i], components[i] = again[comps.find(s)], again[clusters[s]]
        known.pop(i, None)
    joined = {(again[a], again[b]): score for (a, b), score in scores.items()}
    return variants, groups, components, _scorer(variants, joined, known)


def _kept_before(variants: list[_Variant], old: int, identity: tuple, lo: int) -> int:
    """How many of the kept variants (the first `old`, in order) sort before `identity`: by id
    and title first, so that only those with the same two make their abstract keys."""
    def titled(i: int) -> tuple[str, str]:
        return variants[i].arxiv_id or "", variants[i].compact
    a = bisect.bisect_left(range(old), identity[:2], lo=lo, key=titled)
    b = bisect.bisect_right(range(old), identity[:2], lo=a, key=titled)
    return bisect.bisect_left(range(old), identity, lo=a, hi=b, key=lambda i: _identity(variants[i]))


def _members(variants: list[_Variant], keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """The blocks `keys` (as `_blocks` names them), each with its variants in order: one pass
    that cuts each variant's keys but makes lists only for these blocks."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for kind, value in keys:
        wanted[kind].add(value)
    titles, prefixes, suffixes, abstracts = (wanted.get(kind, set()) for kind in "tpsa")
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, v in enumerate(variants):
        c = v.compact
        if c in titles:
            members["t", c].append(i)
        if len(c) > BLOCK_AFFIX:
            if prefixes and c[:BLOCK_AFFIX] in prefixes:
                members["p", c[:BLOCK_AFFIX]].append(i)
            if suffixes and c[-BLOCK_AFFIX:] in suffixes:
                members["s", c[-BLOCK_AFFIX:]].append(i)
        if abstracts and len(v.head) >= ABSTRACT_BLOCK and v.head[:ABSTRACT_BLOCK] in abstracts:
            members["a", v.head[:ABSTRACT_BLOCK]].append(i)
    return members


def _insertion(refs: list[int], ref: int) -> int:
    """Where `ref` goes among a variant's refs, kept in the order given (new ones come last but
    for a listing put before one seen earlier)."""
    n = len(refs)
    while n and refs[n - 1] > ref:
        n -= 1
    return n


def _papers(variants: list[_Variant], groups: list[int], score_of) -> tuple[list[Paper], list[tuple], list[tuple]]:
    """Each group as one paper (its entries oldest first), each entry folded into a paper with
    the scores that put it there: (entry, paper index, title, abstract similarity, exact), and
    each variant's scores to its paper's first variant (() for that one)."""
    members_of: dict[int, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members_of[group].append(i)
    papers: list[Paper] = []
    pending: list[tuple[Entry, int, float, float | None, bool]] = []
    used: list[tuple] = [()] * len(variants)
    for members in members_of.values():
        if len(members) == 1 and len(variants[members[0]].entries) == 1:  # listed once: nothing folded in
            papers.append(_from_one(variants[members[0]].entries[0]))
            continue
        group_entries = sorted((e for i in members for e in variants[i].entries), key=lambda e: _oldest_first(e.listing_date, e.source, e.line))
        first = group_entries[0]
        first_variant = next(i for i in members if any(e is first for e in variants[i].entries))
        for i in members:
            if i == first_variant:
                ts, abs_sim, exact = 100.0, (100.0 if variants[i].head else None), True
            else:
                used[i] = score_of(i, first_variant)
                (ts, abs_sim), exact = used[i], False
            for e in variants[i].entries:
                if e is not first:
                    pending.append((e, len(papers), ts, abs_sim, exact))
        papers.append(_merge(group_entries))
    return papers, pending, used


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


def _from_one(e: Entry) -> Paper:
    """`_merge([e])` made directly, for the paper listed once (most papers of an archive: at
    10k papers merging took a third of the time of making the catalogue's papers)."""
    return Paper(
        id="",
        title=e.title,
        abstract=e.abstract,
        appearances=(Appearance(e.source, e.line, e.rank, e.listing_date, e.upvotes),),
        authors_count=e.authors_count,
        organization=e.organization,
        published=e.published,
        published_text=None if e.published else e.published_text,
        upvotes=e.upvotes,
        arxiv_id=e.arxiv_id,
        comments=e.comments,
        submitter=e.submitter,
        authors=e.authors,
        code_url=e.code_url,
        code_stars=e.code_stars,
        ai_summary=e.ai_summary,
    )


def slug_for(title: str) -> str:
    slug = slugify(text.plain(title), max_length=SLUG_MAX, word_boundary=True, save_order=True) or "paper"
    if slug in RESERVED_SLUGS:
        slug += "-paper"
    return slug


def _assign_ids(papers: list[Paper], akey_of=abstract_key, slug_of=None, head_of=None) -> list[Paper]:
    """Permalink slugs. On a clash the paper listed first keeps the plain slug; the others get
    a suffix hashed from their own title and abstract, so adding newer listings never moves a URL.
    (`head_of(abstract)`: its key's first ABSTRACT_HEAD characters, as `akey_of` would give.)"""
    slug_of = slug_of or slug_for
    head_of = head_of or (lambda abstract: akey_of(abstract)[:ABSTRACT_HEAD])
    by_slug: dict[str, list[int]] = defaultdict(list)
    for n, p in enumerate(papers):
        by_slug[slug_of(p.title)].append(n)
    ids: dict[int, str] = {}
    taken = set(by_slug)
    for slug, members in sorted(by_slug.items()):
        if len(members) > 1:
            _by_first_listed(members, papers, akey_of, head_of)
        ids[members[0]] = slug
        for n in members[1:]:
            digest = hashlib.sha1(f"{title_key(papers[n].title)}\0{head_of(papers[n].abstract)}".encode()).hexdigest()
            candidate, k = f"{slug}-{digest[:6]}", 6
            while candidate in taken:
                k += 1
                candidate = f"{slug}-{digest[:k]}"
            taken.add(candidate)
            ids[n] = candidate
    return [evolve(p, id=ids[n]) for n, p in enumerate(papers)]


def _by_first_listed(members: list[int], papers: list[Paper], akey_of, head_of) -> None:
    """`members` sorted by when each paper was first listed, then by its abstract key: by the
    key's opening, and the whole key only among those whose openings are the same (the same
    order, without making whole keys that a kept dedupe does not hold)."""
    def opening(n: int) -> tuple:
        return _first_listed(papers[n]), head_of(papers[n].abstract)

    members.sort(key=opening)
    ordered = []
    for _, alike in groupby(members, key=opening):
        alike = list(alike)
        ordered += sorted(alike, key=lambda n: akey_of(papers[n].abstract)) if len(alike) > 1 else alike
    members[:] = ordered
