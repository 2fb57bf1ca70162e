"""Related papers: TF-IDF cosine similarity of titles and abstracts, computed at build time.

Each paper becomes a sparse vector of stemmed words (title words count twice), weighted by
(1 + log tf) * idf and L2-normalised; similarities are sparse matrix products taken a block
of rows at a time, and only each row's top k survive, so memory stays O(n k), never n x n.
Words in more than MAX_DF of the papers say little about relatedness and are left out.
To bound the work per paper whatever the corpus, candidates are found by a product over pruned
postings: each paper keeps its TERMS_PER_PAPER heaviest words and each word the
POSTINGS_PER_TERM papers it weighs most in (rare shared words, which make two papers siblings,
keep all of theirs). Each paper's POOL best candidates are then scored again by the full cosine,
and its k best by that score are its related papers.

Why two steps: the pruned score moves whenever a new paper takes one of a word's
POSTINGS_PER_TERM places, since the paper it displaces loses that word's share of every score
it had. Ranked by pruned scores, adding a day of 30 papers to 10,000 reordered or changed 1,185
related lists (so as many paper pages were written again), only 142 of them because a new paper
truly ranked there. Ranked by the full cosine, the same day changed 258 lists, 133 of them for a
new paper: the rest moved with the words' weights, which moved with the archive.

So the weights come from a first tier that a day does not change: the documents before the last
multiple of TIER (in the order given: the build's papers in the order first listed). Its
statistics give every word's weight (a word it never saw weighs the most a word can, as one in none of
its documents), so its documents' rows, and the cosines among them, stay as they are until the
boundary moves. A first-tier document's candidates are its POOL best among the first tier
(fixed with it); a recent document's are its POOL best among the recent tier and its REACH best
among the first tier, each of which takes it as a candidate in turn (the cosine is symmetric).
So every pair compared involves a recent document, a new document changes a list only by
ranking in it (the same day: 134 lists, all for a new paper), and a build can keep the first
tier (`FirstTier`: rows, postings and each document's candidates among them) and compare only
the recent tier's documents (at 10k papers 0.25 s, against 1.8 s for all). With fewer than TIER
documents there is no first tier, and the weights are all the documents' own.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from itertools import count as numbers

import numpy as np
from lunr.stemmer import stemmer
from lunr.stop_word_filter import WORDS as STOP_WORDS
from lunr.token import Token
from scipy import sparse

TOP_K = 5
MAX_DF = 0.05  # fraction of papers; a word in more of them is too common to relate two papers
TERMS_PER_PAPER = 32  # a paper is compared through its most distinctive words only
POSTINGS_PER_TERM = 64  # ...and each word through the papers it matters most to
POOL = 2 * TOP_K  # candidates per paper from the pruned product, scored again by the full cosine
REACH = 32  # a recent document's candidates in the first tier, each of which has it as a candidate too
BLOCK = 2048  # rows per sparse product
SLICES = 64  # a row of a product is cut into this many slices to find a floor under its best scores
TIER = 1024  # the first tier holds the documents before the last multiple of this many
_WORD = re.compile(r"[a-z][a-z0-9]+")


def stem_key(title: str, abstract: str) -> bytes:
    """The key of a document in a stems memo (see `related`)."""
    return hashlib.blake2b(f"{title}\0{abstract}".encode(), digest_size=16).digest()


def document_stems():
    """A function from a document's (title, abstract) to the stems of their words in order,
    stop words left out; each distinct word is stemmed once (per function made). The build
    wraps it in its memo (keyed by `stem_key`), so only new text is split and stemmed."""
    stem_of: dict[str, str | None] = {}

    def stems(text: str) -> tuple[str, ...]:
        out = []
        for word in _WORD.findall(text.lower()):
            stem = stem_of.get(word, False)
            if stem is False:
                stem = stem_of[word] = None if word in STOP_WORDS else str(stemmer(Token(word)))
            if stem is not None:
                out.append(stem)
        return tuple(out)

    def document(title: str, abstract: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return stems(title), stems(abstract)

    return document


def _term_matrix(stemmed: list[tuple[tuple[str, ...], tuple[str, ...]]], columns: defaultdict | None = None,
                 chunk: int = 2048):
    """Papers x stems, as counts (title stems count twice).

    Columns are numbered in order of each stem's first occurrence (a stem not seen before gets
    the next number as it is looked up; `columns` may come with stems numbered already); every
    stem occurrence becomes one (paper, column, weight) triple and the sparse matrix sums the
    triples, so no Python loop runs per occurrence. Papers are read a chunk at a time."""
    columns = columns if columns is not None else defaultdict(numbers().__next__)
    parts = []
    for start in range(0, len(stemmed), chunk):
        block = stemmed[start:start + chunk]
        sizes = np.fromiter(chain.from_iterable((len(t), len(a)) for t, a in block), dtype=np.int64,
                            count=2 * len(block))  # title, abstract, title, ...
        cols = np.fromiter(map(columns.__getitem__, chain.from_iterable(chain.from_iterable(block))),
                           dtype=np.int64, count=int(sizes.sum()))
        weights = np.repeat(np.tile([2.0, 1.0], len(block)), sizes)
        rows = np.repeat(np.arange(len(block)), sizes[0::2] + sizes[1::2])
        part = sparse.csr_matrix((weights, (rows, cols)), shape=(len(block), len(columns) or 1))
        part.sum_duplicates()
        parts.append(part)
    width = max(len(columns), 1)
    parts = [sparse.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width)) for p in parts]
    return sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, width))


def _top_per_segment(indptr: np.ndarray, data: np.ndarray, limit: int) -> np.ndarray:
    """A mask keeping the `limit` largest values of each compressed row/column segment."""
    keep = np.ones(len(data), dtype=bool)
    for lo, hi in zip(indptr[:-1], indptr[1:]):
        if hi - lo > limit:
            seg = data[lo:hi]
            drop = np.argpartition(-seg, limit - 1)[limit:]
            keep[lo + drop] = False
    return keep


def _prune(x, limit: int):
    """Keep the `limit` largest values of each row of a CSR matrix, or each column of a CSC one."""
    x = x.copy()
    x.data[~_top_per_segment(x.indptr, x.data, limit)] = 0.0
    x.eliminate_zeros()
    return x


def related(documents: Iterable[tuple[str, str]], k: int = TOP_K,
            stems_of: Callable[[str, str], tuple] | None = None,
            first_tier_of: Callable[[list], FirstTier] | None = None) -> list[list[tuple[int, float]]]:
    """For each (title, abstract), the indices and scores of its k most similar documents,
    best first; ties go to the earlier document. Documents with nothing in common get fewer.

    Documents are stemmed by `stems_of` (`document_stems()` unless given). The documents before
    the last multiple of TIER make the first tier: `first_tier_of` gives it from their list
    (which it may empty as it reads it; the build's remembers it in its cache, since the tier
    changes only when its documents do), else `first_tier` of their stems. `documents` may be
    a stream: each text is let go of once stemmed (at 100k papers the texts are over 100 MB)."""
    stems_of = stems_of or document_stems()
    documents = list(documents)
    n = len(documents)
    if n < 2:
        return [[] for _ in range(n)]
    split = n - n % TIER
    first = documents[:split]
    del documents[:split]
    tier = (first_tier_of or (lambda texts: tier_of_texts(texts, stems_of)))(first) if first else None
    del first
    return _related(tier, [stems_of(*text) for text in drained(documents)], k)


def related_after(tier: FirstTier, documents: Iterable[tuple[str, str]], k: int = TOP_K,
                  stems_of: Callable[[str, str], tuple] | None = None) -> list[list[tuple[int, float]]]:
    """`related` of the first tier's documents and then `documents`, the first tier given (the
    build's kept one, `FirstTier`): the same lists, from the recent tier's texts alone."""
    stems_of = stems_of or document_stems()
    return _related(tier, [stems_of(*text) for text in drained(list(documents))], k)


def tier_of_texts(texts: list[tuple[str, str]], stems_of: Callable[[str, str], tuple]) -> FirstTier:
    """`first_tier` of these (title, abstract) texts, each stemmed by `stems_of` and let go of
    (the list ends empty)."""
    return first_tier([stems_of(*text) for text in drained(texts)])


def drained(items: list) -> Iterator:
    """The items of a list in order, each let go of as it is taken (the list ends empty)."""
    items.reverse()
    while items:
        yield items.pop()


@dataclass(frozen=True, eq=False)
class FirstTier:
    """What the first tier's documents give every related list: the words' columns and
    weights, the documents' unit rows, their pruned postings, and each document's candidates
    among them with full cosines. A function of the tier's stems alone, so a build that adds
    documents after it can keep it (`as_buffers`, `from_buffers`)."""

    columns: tuple[str, ...]  # the stems, in column order
    idf: np.ndarray  # each column's weight
    x: sparse.csr_matrix  # documents x columns, unit rows
    postings: sparse.csc_matrix  # columns x documents, pruned: what candidates are found through
    pool: tuple[np.ndarray, np.ndarray, np.ndarray]  # document, candidate, full cosine

    @property
    def size(self) -> int:
        return self.x.shape[0]

    def as_buffers(self) -> tuple[dict, list]:
        """The tier as a header of plain data and its arrays' bytes: the weights, the rows' and
        the postings' data, indices and pointers, and the pool's three arrays."""
        arrays = [self.idf, self.x.data, self.x.indices, self.x.indptr, self.postings.data,
                  self.postings.indices, self.postings.indptr, *self.pool]
        header = {"columns": list(self.columns), "shape": list(self.x.shape),
                  "dtypes": [a.dtype.str for a in arrays], "sizes": [len(a) for a in arrays]}
        return header, [memoryview(np.ascontiguousarray(a)).cast("B") for a in arrays]

    @classmethod
    def from_buffers(cls, header: dict, buffers: list) -> FirstTier:
        """`as_buffers` read back; ValueError if the parts do not fit together."""
        arrays = [np.frombuffer(b, dtype=np.dtype(t), count=c) for b, t, c in
                  zip(buffers, header["dtypes"], header["sizes"], strict=True)]
        idf, xd, xi, xp, pd, pi, pp, row, idx, score = arrays
        rows, width = header["shape"]
        columns = tuple(header["columns"])
        if not len(columns) == len(idf) == width or len(xp) != rows + 1 or len(pp) != rows + 1:
            raise ValueError("the kept tier's parts do not fit together")
        x = sparse.csr_matrix((xd, xi, xp), shape=(rows, width))
        postings = sparse.csc_matrix((pd, pi, pp), shape=(width, rows))
        return cls(columns, idf, x, postings, (row, idx, score))


def first_tier(stemmed: list) -> FirstTier:
    """The first tier of these documents' stems (see `FirstTier`): weights from these documents'
    statistics, and each document's POOL best candidates among them."""
    columns: defaultdict[str, int] = defaultdict(numbers().__next__)
    tf = _term_matrix(stemmed, columns)
    idf = _idf(tf, len(stemmed))
    x = _unit_rows(tf, idf)
    postings = _postings(x)
    return FirstTier(tuple(columns), idf, x, postings, _pool(x, postings, x, 0))


def _related(tier: FirstTier | None, stemmed: list, k: int) -> list[list[tuple[int, float]]]:
    """Every document's k best, the first tier's documents (`tier`, or none) then these (the
    recent tier's stems). Weights are the first tier's, so its documents' rows and their
    cosines with each other stay as the tier made them whatever comes after it (a word it
    never saw weighs as one in none of its documents); with no first tier, they are these
    documents' own. Candidates (ranked again by full cosine): a first-tier document's are the
    tier's, and the recent documents that reach it; a recent document's are its POOL best among
    the recent tier and the REACH best it reaches among the first tier."""
    known = tier.columns if tier else ()
    columns: defaultdict[str, int] = defaultdict(numbers(len(known)).__next__, zip(known, range(len(known))))
    tf = _term_matrix(stemmed, columns)
    width, size = tf.shape[1], tier.size if tier else 0
    if tier:
        idf = np.concatenate((tier.idf, np.full(width - len(tier.idf), np.log(1 + size) + 1.0)))
    else:
        idf = _idf(tf, len(stemmed))
    recent = _unit_rows(tf, idf)
    del tf
    recent_postings = _postings(recent)
    found = [_pool(recent, recent_postings, recent, 0, size, size)]
    if tier:
        reach = _pool(recent, _widened(tier.postings.T, width).T.tocsc(), _widened(tier.x, width), None, size, 0, REACH)
        found += [tier.pool, reach, (reach[1], reach[0], reach[2])]  # each pair both ways: the cosine is symmetric
    row, idx, score = (np.concatenate(parts) for parts in zip(*found))
    n = size + len(stemmed)
    candidates = sparse.csr_matrix((score, (row, idx)), shape=(n, n))  # each pair once: the pools do not overlap
    out: list[list[tuple[int, float]]] = []
    for start in range(0, n, BLOCK):
        out += _best_per_row(candidates[start:start + BLOCK], start, k)
    return out


def _idf(tf, n: int) -> np.ndarray:
    """Each column's weight from n documents' counts: words in more than MAX_DF of them weigh
    nothing."""
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    keep = df <= max(2, MAX_DF * n)
    return np.where(keep, np.log((1 + n) / (1 + df)) + 1.0, 0.0)


def _unit_rows(tf, idf: np.ndarray) -> sparse.csr_matrix:
    """Counts as unit rows of (1 + log tf) * idf weights."""
    tf = tf.copy()
    tf.data = 1.0 + np.log(tf.data)
    x = tf.multiply(idf.reshape(1, -1)).tocsr()
    x.eliminate_zeros()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return (sparse.diags(1.0 / norms) @ x).tocsr()


def _postings(x) -> sparse.csc_matrix:
    """Columns x documents: each document's TERMS_PER_PAPER heaviest words, and of those each
    word's POSTINGS_PER_TERM heaviest documents."""
    return _prune(_prune(x, TERMS_PER_PAPER).tocsc(), POSTINGS_PER_TERM).T.tocsc()


def _widened(x, width: int):
    """A matrix with columns added (empty) up to `width`."""
    x = x.tocsr()
    return sparse.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], width))


def _pool(rows, postings, others, selves: int | None, row_offset: int = 0, idx_offset: int = 0, size: int = POOL):
    """Each of `rows`' `size` best candidates among `others` (through their `postings`), with
    full cosines: (row, candidate, cosine) arrays, offset as given. `selves` is where row 0's
    own document is among the candidates (the same tier), else None."""
    parts = []
    for start in range(0, rows.shape[0], BLOCK):
        block = rows[start:start + BLOCK]
        row, idx, _ = _best((block @ postings).tocsr(), None if selves is None else selves + start, size)
        row = row + start
        score = np.asarray(rows[row].multiply(others[idx]).sum(axis=1)).ravel()
        parts.append((row + row_offset, idx + idx_offset, score))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return tuple(np.concatenate(p) for p in zip(*parts))


def weighted(stemmed: list) -> sparse.csr_matrix:
    """Papers x stems as unit rows of (1 + log tf) * idf weights, from these documents' own
    statistics; the list of stems is emptied."""
    tf = _term_matrix(stemmed)
    n = len(stemmed)
    stemmed.clear()
    return _unit_rows(tf, _idf(tf, n))


def _best_per_row(block, start: int, k: int) -> list[list[tuple[int, float]]]:
    """Each row's k best columns of a block of similarities (row r is document start + r), as
    (index, score) best first: itself and zero scores left out; of the k highest scores and
    everything tied with the k-th, the best by score to 9 places, ties to the lower index."""
    return _as_lists(*_best(block.tocsr(), start, k), block.shape[0])


def _best(block, start: int | None, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_best_per_row` as arrays: row (from the block's first), index and score of each row's
    k best, by row, best first. With `start` None, no column is a row's own document.

    A row holds thousands of scores (13 million in all at 10k papers), too many to sort, or even
    to pass over often. Each row of more than SLICES scores is cut into SLICES slices, and the
    (k + 1)-th highest of their highest scores is a floor under the row's k-th highest: those
    are k + 1 different entries, at most one of them the row's own document, so at least k
    others score that much. Only the slices that reach the floor are read, and only what
    reaches it, a few dozen per row, is sorted. Every step runs on a whole block at once."""
    rows = block.shape[0]
    indptr, idx, score = block.indptr, block.indices, block.data
    counts = np.diff(indptr)
    slices = max(SLICES, k + 1)
    crowded = counts >= slices
    floor = np.full(rows, -np.inf)
    # Ranges of each row's entries worth reading: a whole row if not crowded, else good slices.
    starts, ends, owner = indptr[:-1][~crowded], indptr[1:][~crowded], np.flatnonzero(~crowded)
    if crowded.any():
        many = np.flatnonzero(crowded)
        cuts = indptr[many, None] + (counts[many, None] * np.arange(slices)) // slices
        cut_ends = np.concatenate((cuts[:, 1:], indptr[many + 1, None]), axis=1)
        # Each row's end is a cut too, so no slice runs on into the rows after it; the maximum
        # from an end to the next row's first cut is left out.
        bounds = np.concatenate((cuts[:, :1], cut_ends), axis=1).ravel()
        whole = bounds[-1] == len(score)  # reduceat takes no cut at the very end: the last slice ends there anyway
        highest = np.maximum.reduceat(score, bounds[:-1] if whole else bounds)
        highest = np.append(highest, 0.0) if whole else highest
        highest = highest.reshape(-1, slices + 1)[:, :slices]
        floor[many] = np.partition(highest, slices - k - 1, axis=1)[:, slices - k - 1]
        good = highest >= floor[many, None]
        starts = np.concatenate((starts, cuts[good]))
        ends = np.concatenate((ends, cut_ends[good]))
        owner = np.concatenate((owner, np.broadcast_to(many[:, None], cuts.shape)[good]))
    lengths = ends - starts
    at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    row = np.repeat(owner, lengths)
    idx, score = idx[at], score[at]
    keep = (score >= floor[row]) & (score > 0)
    if start is not None:
        keep &= idx != row + start
    row, idx, score = row[keep], idx[keep], score[keep]
    # The k-th highest score of each row with more than k: everything below it is left out.
    counts = np.bincount(row, minlength=rows)
    firsts = _firsts(counts)
    by_score = np.lexsort((-score, row))
    crowded = counts > k
    kth = np.full(rows, -np.inf)
    kth[crowded] = score[by_score[firsts[crowded] + k - 1]]
    keep = score >= kth[row]
    row, idx, score = row[keep], idx[keep], score[keep]
    order = np.lexsort((idx, -np.round(score, 9), row))
    row, idx, score = row[order], idx[order], score[order]
    counts = np.bincount(row, minlength=rows)
    best = np.arange(len(row)) - _firsts(counts)[row] < k
    return row[best], idx[best], score[best]


def _as_lists(row: np.ndarray, idx: np.ndarray, score: np.ndarray, rows: int) -> list[list[tuple[int, float]]]:
    """`_best`'s arrays as a list per row of (index, score to 6 places)."""
    ends = np.cumsum(np.bincount(row, minlength=rows)).tolist()
    pairs = list(zip(idx.tolist(), map(round, score.tolist(), repeat(6))))
    return [pairs[start:end] for start, end in zip([0] + ends[:-1], ends)]


def _firsts(counts: np.ndarray) -> np.ndarray:
    """Where each row's entries start, for rows of `counts` entries laid end to end."""
    return np.concatenate(([0], np.cumsum(counts)[:-1]))
