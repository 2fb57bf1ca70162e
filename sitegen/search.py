"""The search index's layout: which files there are and what each holds.

The index is split by term, so a query loads only what its words need. Every file is
JavaScript that files its data under a global, so a `<script>` tag loads it from a web server
and from `file://` alike (browsers refuse `fetch()` of local files). Under `search/`:

- `manifest.js`: `window.SITEGEN_SEARCH = {...}`: the number of papers, the fields and their
  boosts, lunr's BM25 parameters, the total length of each field (for lunr's average field
  length), and the first term of every term and word chunk, so the browser knows which chunk
  holds a term without loading any other.
- `t/<k>.js`, term chunks: terms in order, each with its postings per field: for every paper
  holding the term, the paper's number, how often the term occurs and the field's length. That
  is all lunr's BM25 needs: the browser computes each weight at query time with the archive's
  statistics from the manifest (static/search-engine.js), so a paper's score is the one a
  single lunr index over the whole archive gives it, and a chunk changes only when its terms do.
- `p/<k>.js`, positions: for the terms of term chunk `k`, where each occurrence is (token
  numbers), loaded only for quoted phrases and hyphenated names.
- `w/<k>.js`, word chunks: the terms alone, in order, for a prefix (`transfor`), a wildcard or
  a typo to find the terms it stands for.
- `d/<k>.js`, document chunks: what a result shows, STORE_PAPERS papers a file: title, URL,
  digest dates and listing names, and the abstract (the snippet is cut around the match).

Chunks are cut by size, so a common word's postings fill a chunk of their own and rare words
share one. Terms are ordered by UTF-16 code units, as JavaScript compares strings.

Term, position and word chunks come in two tiers: the papers before the last multiple of
RECENT_PAPERS, and the rest (`t/3.js`, `t/r3.js`; the manifest's `tiers`). Papers are numbered
in the order they were first listed, so a new day's papers join the recent tier and the first
tier's files stay as they were until the boundary moves; the browser joins a term's rows from
both tiers, so the postings are those of one index.

With a cache folder, each build keeps its postings (`Saved`) and the next copies those of
every paper whose text is unchanged, analysing only the rest (the files are the same either way).
It also keeps a digest of what each paper's document was made of and of each document chunk it
made (`Stored`): the build then sends the index worker only the number of a paper whose
document is unchanged, in a chunk whose papers all are (`sent_inputs`), and that chunk is kept
as published instead of made and compared again (`KeptFile`), a day's few among 25,000 at 100k.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import marshal
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lunr import __TARGET_JS_VERSION__ as lunr_target_version
from lunr import __VERSION__ as lunr_version
import msgpack

from . import cache as build_cache
from . import urls
from .jsonio import compact
from .model import record
from .output import as_recorded
from .search_terms import BOOSTS, FIELDS, Analyzer
from .views import PaperParts

TERM_CHUNK = 24_000  # about this many characters of postings in a term chunk (8 to 10 KB gzip)
WORD_CHUNK = 16_000  # characters of terms in a word chunk
STORE_PAPERS = 4  # papers in a document chunk: a result page of 10 loads at most 10 of them
RECENT_PAPERS = 1024  # the recent tier holds the papers after the last multiple of this many
TIER_NAMES = ("", "r")  # in file names and keys: t/3.js (the first tier), t/r3.js (the second)
GLOBAL = "SITEGEN_INDEX"
POSTINGS = "search-postings"  # the cache file of the last build's postings (`Saved`)


@record
class SearchDocument:
    number: int  # the paper's place in the catalogue: its number in the index
    title: str
    abstract: str
    organization: str
    url: str
    dates: tuple[str, ...]  # where the paper is listed, as the reader knows it
    key: bytes | None = None  # `input_key` of what it was made of, where known (for `Stored`)


def documents(papers: tuple[PaperParts, ...], start: int = 0) -> list[SearchDocument]:
    """The papers' search documents; `start` is the first one's place in the catalogue."""
    return documents_from(document_inputs(papers, start))


def document_inputs(papers: tuple[PaperParts, ...], start: int = 0) -> list[tuple]:
    """What the papers' search documents are made of, as plain tuples: cheap to make, and to
    send to the index worker, which makes the documents (`documents_from`)."""
    return [(n, p.text.title_text, p.text.abstract_text, p.paper.organization or "", p.path,
             tuple(digest.label for digest in p.digests)) for n, p in enumerate(papers, start)]


def documents_from(inputs: list, keys: bytes | None = None) -> list:
    """The search documents of `document_inputs`' tuples, with their `input_key`s if given (one
    per input, in order); a paper sent as its number alone (`sent_inputs`: its document is the
    last build's) stays a number."""
    # lunr.js splits on every Unicode space, lunr.py on fewer: make them all one space
    return [SearchDocument(i[0], " ".join(i[1].split()), " ".join(i[2].split()), *i[3:],
                           keys[j * KEY_BYTES:(j + 1) * KEY_BYTES] if keys is not None else None)
            if type(i) is tuple else i for j, i in enumerate(inputs)]


def input_key(inputs: tuple) -> bytes:
    """A digest of what a paper's search document is made of (a `document_inputs` tuple, its
    number left out): equal keys, an equal document, postings and place in its chunk."""
    return hashlib.blake2b(marshal.dumps(inputs[1:]), digest_size=KEY_BYTES).digest()


DOCS = "search-docs"  # the cache file of what the last build's documents and chunks were (`Stored`)


@record
class Stored:
    """What the last build's documents were made of: each paper's `input_key` (`inputs`, in
    order), the digest of each document chunk it made (`files`, in order), and `token`, the
    digest of its papers' text keys, which is what its saved postings (`Saved`) hold too."""

    token: bytes
    inputs: bytes
    files: bytes

    @property
    def papers(self) -> int:
        return len(self.inputs) // KEY_BYTES

    def file_digest(self, k: int) -> str:
        return self.files[k * KEY_BYTES:(k + 1) * KEY_BYTES].hex()


@record
class KeptFile:
    """In place of a search file's bytes: the file is the one the last build made (its digest
    `digest`), to be kept as published (`Writer.reuse`). `number` is a document chunk's (which
    the build can make itself if need be: `IndexJob.remake`), None for a first tier's file."""

    number: int | None
    digest: str


class StaleIndex(Exception):
    """The index worker was sent a paper by number alone, and its saved postings are not those
    of the build the number refers to (a build stopped between writing the two): the build then
    makes the index itself."""


def load_stored(cache_dir: Path | None) -> Stored | None:
    """What the last build kept of its documents (`Stored`), or None: none, damaged, another version."""
    try:
        stored = Stored(**build_cache.load_kept(cache_dir, DOCS))
    except TypeError:
        return None
    if not (all(isinstance(v, bytes) for v in (stored.token, stored.inputs, stored.files))
            and len(stored.token) == KEY_BYTES and len(stored.inputs) % KEY_BYTES == 0
            and len(stored.files) == -(-stored.papers // STORE_PAPERS) * KEY_BYTES):
        return None
    return stored


def sent_inputs(papers: tuple[PaperParts, ...], start: int, total: int, stored: Stored | None,
                published: dict[str, list]) -> tuple[bytes, list]:
    """What the index worker is sent of `papers` (the first being paper `start` of `total`; a
    whole number of document chunks, or the last ones): each paper's `input_key`, and each
    paper's `document_inputs`, or its number alone where its whole chunk is as the last build
    made it (`stored`) and still published as made (`published`: the last build's manifest)."""
    inputs = document_inputs(papers, start)
    keys = [input_key(i) for i in inputs]
    sent = inputs
    if stored is not None:
        sent = []
        for g in range(0, len(inputs), STORE_PAPERS):
            k, n = (start + g) // STORE_PAPERS, len(inputs[g:g + STORE_PAPERS])
            at = (start + g) * KEY_BYTES
            same = (min(stored.papers, start + g + STORE_PAPERS) == min(total, start + g + STORE_PAPERS)
                    and stored.inputs[at:at + n * KEY_BYTES] == b"".join(keys[g:g + n])
                    and (published.get(urls.search_file("d", k)) or [None] * 3)[2] == stored.file_digest(k))
            sent.extend(range(start + g, start + g + n) if same else inputs[g:g + n])
    return b"".join(keys), sent


def lunr_documents(docs: list[SearchDocument]) -> list[dict]:
    """The documents as `lunr.lunr(ref="ref", fields=...)` takes them (tests build one big
    index of the archive from these, the reference every score is checked against)."""
    return [{"ref": f"p{d.number}", "title": d.title, "abstract": d.abstract, "organization": d.organization}
            for d in docs]


KEY_BYTES = 16


def text_key(doc: SearchDocument) -> bytes:
    """A digest of what the index analyses of a paper (its fields' text): equal keys, equal postings."""
    return hashlib.blake2b("\0".join((doc.title, doc.abstract, doc.organization)).encode("utf-8", "surrogatepass"),
                           digest_size=KEY_BYTES).digest()


@dataclass
class Saved:
    """The postings of the last build, for the next to copy from (`Postings`): the terms as it
    numbered them, each paper's `text_key`, and the occurrences: term numbers in text order,
    tokens per paper and field (`counts`), field lengths, and the positions that are not simply
    0, 1, 2... (`irregular`). `place` and `starts` are found from them when a build copies."""

    names: list[str]
    keys: bytes
    numbers: object  # numpy int32 arrays from here on
    counts: object
    field_lengths: object
    irregular: dict[int, bytes]

    @functools.cached_property
    def place(self) -> dict[bytes, int]:
        """Each paper's `text_key` -> the paper's number in the last build."""
        return {self.keys[i:i + KEY_BYTES]: n for n, i in enumerate(range(0, len(self.keys), KEY_BYTES))}

    @functools.cached_property
    def starts(self):
        """Where each paper's field starts among the occurrences (one more: where they end)."""
        import numpy as np

        starts = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=starts[1:])
        return starts

    def pack(self):
        """As MessagePack, in pieces: the arrays go out as they are in memory, never copied (at
        100k papers the occurrences are 90 MB, while the index worker holds all its postings)."""
        packer = msgpack.Packer(use_bin_type=True)
        yield packer.pack_map_header(6)
        for key, value in (("names", self.names), ("keys", self.keys), ("irregular", self.irregular)):
            yield packer.pack(key) + packer.pack(value)
        for key, values in (("numbers", self.numbers), ("counts", self.counts), ("field_lengths", self.field_lengths)):
            data = memoryview(values).cast("B")
            yield packer.pack(key) + b"\xc6" + len(data).to_bytes(4, "big")  # MessagePack's bin 32 header
            yield data

    @classmethod
    def unpack(cls, data: bytes) -> "Saved | None":
        """What `pack` made, or None for anything else (a damaged cache costs only time)."""
        import numpy as np

        try:
            d = msgpack.unpackb(data, raw=False, strict_map_key=False)
            names, keys, irregular = d["names"], d["keys"], d["irregular"]
            numbers, counts, lengths = (np.frombuffer(d[k], dtype=np.int32) for k in ("numbers", "counts", "field_lengths"))
        except (ValueError, TypeError, KeyError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            return None
        nf, papers = len(FIELDS), len(keys) // KEY_BYTES
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and isinstance(irregular, dict)
                and len(keys) == papers * KEY_BYTES and len(counts) == len(lengths) == nf * papers
                and (counts >= 0).all() and int(counts.sum()) == len(numbers)
                and (len(numbers) == 0 or (numbers.min() >= -1 and numbers.max() < len(names)))
                and all(isinstance(k, int) and 0 <= k < nf * papers and isinstance(v, bytes)
                        and len(v) == 4 * int(counts[k]) for k, v in irregular.items())):
            return None
        return cls(names, keys, numbers, counts, lengths, irregular)


class Postings:
    """Every occurrence of every term of the archive, in text order, as flat arrays: the
    term's number (`analyzer.names`), the paper, the field and the token's position; and,
    per paper and field, the field's length. `terms` groups them by term (with numpy).

    With `saved` (the `Saved` postings of the last build), a paper whose analysed text is the
    same as one the last build indexed takes that paper's occurrences from there instead of
    analysing its text again; papers met in the order they were saved are copied as one run.
    `state` gives what the next build can take: the output does not depend on it."""

    def __init__(self, analyzer: Analyzer, saved: "Saved | None" = None):
        self.analyzer = analyzer
        self.numbers, self.paper, self.position = array("i"), array("i"), array("i")
        self.field = bytearray()
        self._parts: list[tuple] = []  # (numbers, paper, field, position) arrays: the occurrences so far
        self.field_lengths = array("i")  # per paper, per field
        self.lengths = [0] * len(FIELDS)  # each field's total length over the archive
        self.papers = 0
        self.keys = bytearray()  # per paper: `text_key` of what was analysed
        self.counts = array("i")  # per paper, per field: tokens (those the pipeline drops included)
        self.irregular: dict[int, bytes] = {}  # paper * fields + field -> positions, where not 0, 1, 2...
        assert saved is None or analyzer.names[:len(saved.names)] == saved.names, "the analyser numbers terms as saved"
        self._saved = saved
        self._run: list[int] | None = None  # [first saved paper, first paper here, papers] being copied
        self.reused = 0  # papers taken from `saved`

    def add(self, doc: SearchDocument) -> None:
        assert doc.number == self.papers, "papers are numbered in the order they are added"
        self.papers += 1
        key = text_key(doc)
        self.keys += key
        at = self._saved.place.get(key) if self._saved is not None else None
        if at is not None:
            self._take(at, doc.number)
            return
        self._copy()
        nf = len(FIELDS)
        for f, text in enumerate((doc.title, doc.abstract, doc.organization)):
            numbers, positions = self.analyzer.numbered(text)
            k = len(numbers)
            self.numbers.extend(numbers)
            self.paper.extend(array("i", [doc.number]) * k)
            self.field.extend(bytes([f]) * k)
            self.position.extend(positions)
            if not isinstance(positions, range):
                self.irregular[doc.number * nf + f] = array("i", positions).tobytes()
            self.counts.append(k)
            length = k - numbers.count(-1)
            self.field_lengths.append(length)
            self.lengths[f] += length

    def add_saved(self, at: int) -> None:
        """The next paper is the saved paper `at`, its text unchanged: its occurrences are copied."""
        number = self.papers
        self.papers += 1
        self.keys += self._saved.keys[at * KEY_BYTES:(at + 1) * KEY_BYTES]
        self._take(at, number)

    def _take(self, at: int, number: int) -> None:
        run = self._run
        if run is not None and run[0] + run[2] == at:
            run[2] += 1
        else:
            self._copy()
            self._run = [at, number, 1]

    def _copy(self) -> None:
        """Add the run of saved papers being copied (`_run`), if any: their occurrences as the
        last build analysed them, renumbered."""
        import numpy as np

        if self._run is None:
            return
        at, first, n = self._run
        self._run = None
        self.reused += n
        saved, nf = self._saved, len(FIELDS)
        self._flush()
        counts = saved.counts[nf * at:nf * (at + n)]
        a, b = int(saved.starts[nf * at]), int(saved.starts[nf * (at + n)])
        per_paper = counts.reshape(n, nf).sum(axis=1)
        segment = np.repeat(saved.starts[nf * at:nf * (at + n)] - a, counts)
        position = np.arange(b - a, dtype=np.int32) - segment.astype(np.int32)
        for s in range(nf * at, nf * (at + n)):
            positions = saved.irregular.get(s)
            if positions is not None:  # rare: a token of several terms, each at the token's place
                lo = int(saved.starts[s]) - a
                position[lo:lo + int(saved.counts[s])] = np.frombuffer(positions, dtype=np.int32)
                self.irregular[s + nf * (first - at)] = positions
        self._parts.append((saved.numbers[a:b], np.repeat(np.arange(first, first + n, dtype=np.int32), per_paper),
                            np.repeat(np.tile(np.arange(nf, dtype=np.uint8), n), counts), position))
        self.counts.extend(counts.tolist())
        lengths = saved.field_lengths[nf * at:nf * (at + n)]
        self.field_lengths.extend(lengths.tolist())
        for f, total in enumerate(lengths.reshape(n, nf).sum(axis=0).tolist()):
            self.lengths[f] += total

    def _flush(self) -> None:
        """Move the occurrences added one paper at a time into `_parts`."""
        import numpy as np

        if self.numbers:
            self._parts.append((np.frombuffer(self.numbers, dtype=np.int32), np.frombuffer(self.paper, dtype=np.int32),
                                np.frombuffer(self.field, dtype=np.uint8), np.frombuffer(self.position, dtype=np.int32)))
            self.numbers, self.paper, self.position = array("i"), array("i"), array("i")
            self.field = bytearray()

    def _occurrences(self) -> tuple:
        """The four arrays of occurrences, whole (and the parts let go of)."""
        import numpy as np

        self._copy()
        self._flush()
        parts, self._parts = self._parts, []
        if not parts:
            return (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(0, np.int32))
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate(column) for column in zip(*parts))

    def state(self) -> "Saved":
        """What the next build can reuse (see `Saved`); call before `terms`."""
        import numpy as np

        self._parts = [self._occurrences()]
        numbers, names = self._parts[0][0], list(self.analyzer.names)
        used = np.zeros(len(names) + 1, dtype=bool)
        used[numbers + 1] = True  # (-1, a dropped token, lands on the extra first place)
        if not used[1:].all():  # terms no paper has now (an earlier build's): numbered without them
            renumber = np.cumsum(used[1:], dtype=np.int32) - 1
            numbers = np.where(numbers >= 0, renumber[numbers], -1).astype(np.int32)
            names = [name for name, u in zip(names, used[1:].tolist()) if u]
        return Saved(names, bytes(self.keys), numbers, np.frombuffer(self.counts, dtype=np.int32),
                     np.frombuffer(self.field_lengths, dtype=np.int32), dict(self.irregular))

    def terms(self, split: int | None = None, first_tier: bool = True) -> list[list[tuple[str, list[int]]]]:
        """The postings of each tier (`split`: the first paper of the second tier; None, one
        tier): each term the tier's papers hold, in JavaScript's order (UTF-16 code units, as
        lunr.js's token set needs), with its group in each field (a group: the term's
        postings in one field; 0 where it has none, else the group's number plus one). `rows`
        gives a run of one tier's terms' postings. Without `first_tier`, the first tier's
        papers are left out (its files are already known), and its list is empty."""
        import numpy as np  # the index worker's alone: the build's process does not need it

        names = self.analyzer.names
        numbers, paper, field, position = self._occurrences()
        keep = numbers >= 0
        if split is not None and not first_tier:
            keep &= paper >= split
        by_name = sorted(range(len(names)), key=lambda i: names[i].encode("utf-16-be", "surrogatepass"))
        nf = len(FIELDS)
        rank = np.empty(len(names), dtype=np.int32)  # a term's place in that order, times nf
        rank[by_name] = np.arange(0, nf * len(names), nf, dtype=np.int32)
        numbers = numbers[keep]  # (each step lets go of what it replaces: the worker is at its largest here)
        key = rank[numbers]  # (tier, term, field)
        del rank, numbers
        key += field[keep]
        del field
        tier_size = nf * len(names)
        if split is not None:
            key += (paper[keep] >= split).astype(np.int32) * np.int32(tier_size)
        paper, position = paper[keep], position[keep]
        del keep
        # A stable sort by key (each group stays in text order): key and place as one number,
        # sorted in place (`_keyed_places`); then the places are the order.
        keyed = _keyed_places(key)
        del key
        keyed.sort()
        places, key = _halves(keyed)
        paper, position = paper[places], position[places]
        key = key.astype(np.int32)
        del places, keyed
        # From here on, per posting (one term in one field of one paper): int32 throughout, and
        # each array let go of as soon as it is used, since this is the index worker's peak.
        occurrences = len(key)
        run = np.ones(occurrences, dtype=bool)  # where a posting starts
        run[1:] = (key[1:] != key[:-1]) | (paper[1:] != paper[:-1])
        starts = np.flatnonzero(run).astype(np.int32)
        del run
        run_key, run_paper = key[starts], paper[starts]
        del key, paper
        count = np.diff(starts, append=np.int32(occurrences))
        length = np.frombuffer(self.field_lengths, dtype=np.int32)[run_paper * nf + run_key % nf]
        group = np.ones(len(run_key), dtype=bool)
        group[1:] = run_key[1:] != run_key[:-1]
        step = np.diff(run_paper, prepend=np.int32(0))  # a posting's paper, from the previous posting's
        step[group] = run_paper[group]
        del run_paper
        self._triples = np.stack([step, count, length], axis=1).ravel()
        del step, count, length
        self._steps = np.diff(position, prepend=np.int32(0))  # a position, from the posting's previous one
        self._steps[starts] = position[starts]
        del position
        groups = np.flatnonzero(group)
        self._runs = np.append(groups, len(run_key)).tolist()  # each group's first posting
        self._places = np.append(starts[groups], occurrences).tolist()  # and its first position
        tiers: list[list[tuple[str, list[int]]]] = [[], []] if split is not None else [[]]
        for g, k in enumerate(run_key[groups].tolist()):
            tier, k = divmod(k, tier_size)
            term, out = names[by_name[k // nf]], tiers[tier]
            if not out or out[-1][0] != term:
                out.append((term, [0] * nf))
            out[-1][1][k % nf] = g + 1
        return tiers

    def rows(self, run: list[tuple[str, list[int]]]) -> tuple[list, list]:
        """A term chunk of `run` (consecutive entries of a tier of `terms()`): [term, postings per field]
        with postings as flat (paper step, count, field length) triples; and its positions
        chunk: per term, per field, every posting's positions (steps from the previous)."""
        groups = [g - 1 for _, fields in run for g in fields if g]
        lo, hi = min(groups), max(groups) + 1
        r0, p0 = self._runs[lo], self._places[lo]
        triples = self._triples[3 * r0:3 * self._runs[hi]].tolist()
        steps = self._steps[p0:self._places[hi]].tolist()
        terms, positions = [], []
        for term, fields in run:
            postings, where = [term], []
            for g in fields:
                a, b = (self._runs[g - 1] - r0, self._runs[g] - r0) if g else (0, 0)
                c, d = (self._places[g - 1] - p0, self._places[g] - p0) if g else (0, 0)
                postings.append(triples[3 * a:3 * b])
                where.append(steps[c:d])
            terms.append(postings)
            positions.append(where)
        return terms, positions

    def size(self, entry: tuple[str, list[int]]) -> int:
        """About how many characters a term's postings take in its chunk."""
        term, fields = entry
        return len(term) + 4 + sum(12 * (self._runs[g] - self._runs[g - 1]) for g in fields if g)


def _keyed_places(key):
    """Each of `key` (int32, not negative) in the high half of an unsigned 64-bit number and
    its place in the low half: sorting these sorts `key` stably, and the low halves are then
    the order. One in-place sort of one array: `np.argsort(kind="stable")` gives the same
    order but needs an int64 result and a merge buffer beside it, and took three times as long
    (2.9 s against 1.0 s for 23M random keys)."""
    import numpy as np

    keyed = key.astype(np.uint64)
    keyed <<= np.uint64(32)
    block = 1 << 22
    for start in range(0, len(keyed), block):  # the places a block at a time: never a whole int64 range
        keyed[start:start + block] |= np.arange(start, min(len(keyed), start + block), dtype=np.uint64)
    return keyed


def _halves(keyed):
    """The low and high 32-bit halves of `_keyed_places`'s numbers, as views (no copies)."""
    import sys

    import numpy as np

    halves = keyed.view(np.uint32)
    return (halves[0::2], halves[1::2]) if sys.byteorder == "little" else (halves[1::2], halves[0::2])


def chunk(items: list, size_of, target: int) -> list[list]:
    """`items` in order, cut into runs of about `target` (by `size_of`); none empty."""
    runs, run, filled = [], [], 0
    for item in items:
        size = size_of(item)
        if run and filled + size > target:
            runs.append(run)
            run, filled = [], 0
        run.append(item)
        filled += size
    if run:
        runs.append(run)
    return runs


def _js(key: str, value) -> bytes:
    """A file of the index: its JSON in a string given to JSON.parse, which a browser reads much
    faster than the same data as an object literal. Only backslash, quote and the two line
    separators need escaping in the string."""
    body = compact(value)
    literal = (body.replace(b"\\", b"\\\\").replace(b"'", b"\\'")
               .replace(_LS, b"\\u2028").replace(_PS, b"\\u2029"))
    return f"(window.{GLOBAL}=window.{GLOBAL}||{{}})[{json.dumps(key)}]=JSON.parse('".encode() + literal + b"');\n"


_LS, _PS = "\u2028".encode(), "\u2029".encode()  # the line separators a JavaScript string cannot hold raw


def _manifest(value) -> bytes:
    body = compact(value).replace(_LS, b"\\u2028").replace(_PS, b"\\u2029")
    return b"window.SITEGEN_SEARCH=" + body + b";\n"


def iter_index_files(docs: Iterable[SearchDocument], cache_dir: Path | None = None, published: Path | None = None,
                     manifest: dict[str, list] | None = None):
    """(output path, bytes or `KeptFile`) of every search file, the manifest last. `docs` may
    be a stream: each document is indexed and its result data written as it comes, so its text
    need not be held (the index worker reads documents from the build as the build makes them).
    With a cache folder, the pipeline's terms for each token are kept between builds (only new
    words are stemmed), and so is what the first tier's files were: if its papers' text is
    unchanged and `published` (the site the last build wrote) still holds those files as its
    `manifest` records them, each is a `KeptFile` instead of made again. So is a document chunk
    whose papers came by number (`sent_inputs`)."""
    memo = _load_memo(cache_dir)
    saved = _load_postings(cache_dir)
    stored = load_stored(cache_dir)
    if stored is not None and (saved is None or hashlib.blake2b(saved.keys, digest_size=KEY_BYTES).digest()
                               != stored.token):
        stored = None  # not the postings of the build it describes: a paper sent by number cannot be indexed
    analyzer = Analyzer(memo, saved.names if saved else ())
    postings = Postings(analyzer, saved)
    stream = iter(docs)
    inputs, files = bytearray(), bytearray()  # what is kept of this build's documents (`Stored`)
    for k in itertools.count():
        group = list(itertools.islice(stream, STORE_PAPERS))
        if not group:
            break
        if any(type(d) is int for d in group):  # a chunk of papers sent by number: as the last build made it
            if stored is None or group != list(range(k * STORE_PAPERS, k * STORE_PAPERS + len(group))):
                raise StaleIndex("the saved postings are not those of the last build")
            for n in group:
                postings.add_saved(n)
            inputs += stored.inputs[group[0] * KEY_BYTES:(group[-1] + 1) * KEY_BYTES]
            files += stored.files[k * KEY_BYTES:(k + 1) * KEY_BYTES]
            yield urls.search_file("d", k), KeptFile(k, stored.file_digest(k))
            continue
        for d in group:
            postings.add(d)
            inputs += d.key if d.key is not None else bytes(KEY_BYTES)
        path, data = store_file(k, group)
        files += hashlib.blake2b(data, digest_size=KEY_BYTES).digest()
        yield path, data
    # The same papers' text as last time (each then copied from it): what is saved stays as it is.
    if cache_dir is not None and (saved is None or saved.keys != bytes(postings.keys)):
        _save_postings(cache_dir, postings.state())
    if cache_dir is not None:  # (a paper without its input key matches none: it is sent whole next time)
        build_cache.keep(cache_dir, DOCS, {"token": hashlib.blake2b(bytes(postings.keys), digest_size=KEY_BYTES)
                                           .digest(), "inputs": bytes(inputs), "files": bytes(files)})
    del saved, stored
    split = postings.papers - postings.papers % RECENT_PAPERS
    # The first tier as the last build made it, if its papers' text is the same (then so are its
    # files) and its files are still published as they were: kept, not made again.
    tier_key = hashlib.blake2b(bytes(postings.keys[:split * KEY_BYTES]), digest_size=16).hexdigest()
    kept = _kept_tier(cache_dir, published, manifest, tier_key) if split else None
    tiers, first_tier = [], {}  # first_tier: the digest of each file of a first tier made here
    if kept is not None:
        files, tier = kept
        yield from ((path, KeptFile(None, digest)) for path, digest in files.items())
        tiers.append(tier)
    for entries, first in zip(postings.terms(split, first_tier=kept is None), (0, split)):
        if not entries:  # a tier without papers (the recent one, just after a boundary) has no files
            continue
        name = TIER_NAMES[len(tiers)]
        digests = first_tier if first == 0 and split else None  # kept for the next build
        term_chunks = chunk(entries, postings.size, TERM_CHUNK)
        for k, run in enumerate(term_chunks):
            rows, positions = postings.rows(run)
            yield _tier_file("t", f"{name}{k}", rows, digests)
            yield _tier_file("p", f"{name}{k}", positions, digests)
        word_chunks = chunk([term for term, _ in entries], lambda t: len(t) + 3, WORD_CHUNK)
        for k, run in enumerate(word_chunks):
            yield _tier_file("w", f"{name}{k}", run, digests)
        tiers.append({"name": name, "first": first,
                      "terms": [run[0][0] for run in term_chunks], "words": [run[0] for run in word_chunks]})
    if cache_dir is not None and first_tier:
        _save_tier(cache_dir, tier_key, first_tier, tiers[0])
    if cache_dir is not None and analyzer.memo_grew:
        _save_memo(cache_dir, memo)
    yield urls.SEARCH_MANIFEST, _manifest({
        "version": lunr_target_version, "papers": postings.papers, "fields": list(FIELDS), "boosts": list(BOOSTS),
        "k1": analyzer.k1, "b": analyzer.b, "lengths": postings.lengths,
        "pipeline": analyzer.search_pipeline.serialize(), "store": STORE_PAPERS, "tiers": tiers,
    })


def store_file(k: int, docs: list[SearchDocument]) -> tuple[str, bytes]:
    """Document chunk `k` (path, bytes): what a result shows of each of its papers."""
    return urls.search_file("d", k), _js(f"d{k}", [[d.title, d.url, list(d.dates), d.abstract] for d in docs])


def index_files(docs: list[SearchDocument], cache_dir: Path | None = None, published: Path | None = None,
                manifest: dict[str, list] | None = None) -> dict:
    return dict(iter_index_files(docs, cache_dir, published, manifest))


TIER = "search-tier"  # the cache file of the first tier's files as the last build made them
_TIER_FILE = re.compile(r"search/[tpw]/[a-z]?[0-9]+\.js")


def _tier_file(kind: str, name: str, value, digests: dict | None) -> tuple[str, bytes]:
    """A tier's file (path, bytes); its digest noted in `digests`, if given."""
    path, data = urls.search_file(kind, name), _js(f"{kind}{name}", value)
    if digests is not None:
        digests[path] = hashlib.blake2b(data, digest_size=16).hexdigest()
    return path, data


def _save_tier(cache_dir: Path, key: str, files: dict[str, str], tier: dict) -> None:
    build_cache.keep(cache_dir, TIER, {"key": key, "files": files, "tier": tier})


def _kept_tier(cache_dir: Path | None, published: Path | None, manifest: dict[str, list] | None,
               key: str) -> tuple[dict[str, str], dict] | None:
    """The first tier's files (path -> digest) and its manifest entry, if the last build saved a
    tier of the same papers' text (`key`) and every one of its files is published as `manifest`
    (the last build's) records it, with the bytes the tier's build made; else None (and the
    tier is made). The files are not read: the writer keeps them as published (`KeptFile`)."""
    if cache_dir is None or published is None or not manifest:
        return None
    saved = build_cache.load_kept(cache_dir, TIER)
    try:
        if not isinstance(saved, dict) or saved.get("key") != key:
            return None
        files, tier = saved["files"], saved["tier"]
        for path, digest in files.items():
            entry = manifest.get(path)
            if not _TIER_FILE.fullmatch(path) or entry is None or entry[2] != digest:
                return None
            if not as_recorded(published / path, entry):
                return None  # changed since it was published
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
    if not (isinstance(tier, dict) and tier.get("first") == 0 and isinstance(tier.get("name"), str)):
        return None
    return files, tier


def index_size(sizes: dict[str, int]) -> dict:
    """The search files' sizes as the build reports them (`sizes`: bytes per output path): all
    of them, how many, and the largest term chunk (gzip is measured by the benchmark)."""
    terms = [size for path, size in sizes.items() if path.startswith("search/t/")]
    return {"raw": sum(sizes.values()), "files": len(sizes), "largest_raw": max(terms, default=0)}


def _memo_path(cache_dir: Path) -> Path:
    return cache_dir / f"lunr-pipeline-{lunr_version}.json"


def _load_memo(cache_dir: Path | None) -> dict:
    if cache_dir is None:
        return {}
    data = build_cache.read_signed(_memo_path(cache_dir))
    try:
        memo = json.loads(data) if data is not None else None
    except ValueError:
        return {}
    # token -> its terms: anything else is a damaged cache, and costs only time
    if not isinstance(memo, dict) or not all(
            isinstance(v, list) and all(isinstance(t, str) for t in v) for v in memo.values()):
        return {}
    return memo


def _load_postings(cache_dir: Path | None) -> Saved | None:
    """The last build's postings (`Saved`), or None: no cache, another code version, damaged."""
    if cache_dir is None:
        return None
    data = build_cache.read_signed(build_cache.memo_path(cache_dir, POSTINGS))
    return Saved.unpack(data) if data is not None else None


def _save_postings(cache_dir: Path, saved: Saved) -> None:
    try:
        build_cache.write_versioned(cache_dir, POSTINGS, saved.pack())
    except OSError:
        pass  # a cache that cannot be written only costs time


def _save_memo(cache_dir: Path, memo: dict) -> None:
    try:
        build_cache.write_signed(_memo_path(cache_dir), json.dumps(memo, ensure_ascii=False, separators=(",", ":"))
                                 .encode("utf-8", "surrogatepass"))
    except OSError:
        pass  # a cache that cannot be written only costs time
