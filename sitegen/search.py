"""The search index: Lunr shards built here with lunr.py, answered in the browser by lunr.js.

The archive is split into shards, one per month of the papers' newest listing (a month of
more than SHARD_PAPERS papers is split again), plus a small manifest. Every file is
JavaScript that assigns a global, so a `<script>` tag loads it from a web server and from
`file://` alike (browsers refuse `fetch()` of local files):

- `search/manifest.js`: `window.SITEGEN_SEARCH = {"papers": N, "shards": [...]}`, newest
  shard first, with each shard's file, label and paper count.
- `search/shard-<id>.js`: `window.SITEGEN_SHARDS["<id>"] = JSON.parse('...')`: a complete lunr
  index of the shard's papers in a compact form (see `compact`; `static/lunr-shard.js` turns it
  back into lunr's own JSON for `lunr.Index.load`, and never re-indexes anything), and what a
  result line needs (title, URL, dates, snippet), so results show without fetching paper pages.

Scores are comparable across shards. lunr weighs a term in a document (BM25) with the
inverse document frequency and the average field length of the whole index; each shard's
document vectors are computed with those statistics taken over the *whole archive*, so a
paper's term weights are the same as in one big index. The browser merges shards by lunr's
score without its division by the query vector's length (that length counts only the query
terms found in the shard's vocabulary, so it differs between shards); see static/search.js.

Refs are short base-36 numbers behind a letter (`p0`, `p1z`), unique across shards, not
slugs: every posting repeats its ref, so this keeps the index small. The letter matters:
JavaScript iterates integer-like object keys (`"47"`) before others (`"1i"`), which would
reorder tied results in lunr.js against lunr.py. No term positions are stored (lunr's
metadata whitelist stays empty); the browser highlights matched terms in the snippet by
stemming its words, using the terms lunr reports as matched.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from lunr import __TARGET_JS_VERSION__ as lunr_target_version
from lunr import __VERSION__ as lunr_version
from lunr import get_default_builder
from lunr.field_ref import FieldRef
from lunr.idf import idf as lunr_idf
from lunr.token import Token
from lunr.vector import Vector

from . import cache as build_cache
from . import periods, urls
from .views import PaperView

FIELDS = [
    {"field_name": "title", "boost": 10},
    {"field_name": "abstract"},
    {"field_name": "organization"},
]
SNIPPET = 280  # characters of abstract shipped per paper for the result list
SHARD_PAPERS = 1500  # at most this many papers in a shard: about 1 MB gzip, well under a second to load
TOO_LARGE_RAW = 16 * 1024 * 1024  # about 5 MB gzip: a shard this large is called out


@dataclass(frozen=True)
class SearchDocument:
    ref: str
    title: str
    abstract: str
    organization: str
    url: str
    dates: tuple[str, ...]
    snippet: str
    month: str | None = None  # "2025-03": the month of the paper's newest listing; None if never dated


@dataclass(frozen=True)
class Shard:
    """A part of the archive with an index of its own: papers last listed in one month."""

    id: str  # "2025-03", "2025-03-2" for a month split in parts, "undated"
    label: str  # "March 2025"
    docs: tuple[SearchDocument, ...]

    @property
    def path(self) -> str:
        return urls.search_shard(self.id)


def ref_for(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return "p" + out


def documents(papers: tuple[PaperView, ...], start: int = 0) -> list[SearchDocument]:
    """The papers' search documents; `start` is the first one's position in the catalogue (its
    ref), for documents made a slice of the catalogue at a time."""
    return documents_from(document_inputs(papers, start))


def document_inputs(papers: tuple[PaperView, ...], start: int = 0) -> list[tuple]:
    """What the papers' search documents are made of, as plain tuples: cheap to make, and to
    send to the index worker, which makes the documents (`documents_from`)."""
    return [(n, p.title_text, p.abstract_text, p.organization or "", p.path,
             tuple(a.digest.label for a in p.appearances), _newest_month(p))
            for n, p in enumerate(papers, start)]


def documents_from(inputs: list[tuple]) -> list[SearchDocument]:
    docs = []
    for n, title, abstract, organization, url, dates, month in inputs:
        abstract = " ".join(abstract.split())  # lunr.js splits on every Unicode space; lunr.py on fewer
        docs.append(SearchDocument(ref=ref_for(n), title=" ".join(title.split()), abstract=abstract,
                                   organization=organization, url=url, dates=dates, snippet=_snippet(abstract),
                                   month=month))
    return docs


def _newest_month(paper: PaperView) -> str | None:
    dated = [a.date for a in paper.appearances if a.date]
    return periods.month_key(max(dated)) if dated else None


def plan_shards(docs: list[SearchDocument], most: int = SHARD_PAPERS) -> list[Shard]:
    """Newest month first, undated papers last; a month of more than `most` papers is cut into
    equal parts in catalogue order, so every shard loads in about the same time."""
    months: dict[str | None, list[SearchDocument]] = defaultdict(list)
    for d in docs:
        months[d.month].append(d)
    shards = []
    order = sorted((m for m in months if m), reverse=True) + ([None] if None in months else [])
    for month in order:
        group = months[month]
        parts = math.ceil(len(group) / most)
        size = math.ceil(len(group) / parts)
        base_id = month or "undated"
        label = periods.month_label(month) if month else "Undated listings"
        for k in range(parts):
            shard_id = base_id if k == 0 else f"{base_id}-{k + 1}"
            shard_label = label if parts == 1 else f"{label} ({k + 1} of {parts})"
            shards.append(Shard(shard_id, shard_label, tuple(group[k * size:(k + 1) * size])))
    return shards


def _snippet(abstract: str) -> str:
    text = " ".join(abstract.split())
    if len(text) <= SNIPPET:
        return text
    return text[:SNIPPET].rsplit(" ", 1)[0] + "\u2026"


_SEPARATOR = re.compile(r"[ \t\n\r\f\v\xa0-]+")  # lunr.py's tokenizer separators, as a regex


class MemoBuilder:
    """lunr.py's Builder with `add` made fast: tokenise with one regex and run the pipeline
    (trimmer, stop words, Porter stemmer) once per distinct token instead of per occurrence.
    Everything else, and so the serialised index, is lunr.py's own: a test checks the output
    is identical to `lunr.lunr(...)`. Positions are not indexed (empty metadata whitelist)."""

    def __new__(cls, memo: dict | None = None):
        builder = get_default_builder()
        builder.add = _memo_add.__get__(builder)
        builder._create_field_vectors = _field_vectors.__get__(builder)
        builder._memo = memo if memo is not None else {}
        builder._single = {}
        # The memo is keyed by token alone: valid while no pipeline step is limited to a field.
        assert not any(builder.pipeline._skip.get(fn) for fn in builder.pipeline._stack)
        return builder


_MULTI = object()  # in a `single` map: the token becomes more than one term


def _field_terms(pipeline, memo: dict, value, field_name: str, single: dict | None = None) -> tuple[dict[str, int], int]:
    """A field's lunr terms with their counts (in first-occurrence order) and its length.
    The pipeline runs once per distinct token (memoised): the order is lunr.py's, so terms get
    their `_index` as lunr.py gives it.

    With `single` (token -> the one term the pipeline makes of it, None if it drops it), tokens
    are mapped and counted in C: a token's first occurrence is its term's first occurrence, so
    the order is the same. A field with a token that becomes several terms takes the general way."""
    if value is None:
        return {}, 0
    tokens = _SEPARATOR.split(str(value).lower())
    if single is not None:
        try:
            terms = Counter(map(single.__getitem__, tokens))
        except KeyError:
            single.setdefault("", None)  # the separator's empty strings are no tokens at all
            for token in tokens:
                if token not in single:
                    processed = _processed(pipeline, memo, token, field_name)
                    single[token] = processed[0] if len(processed) == 1 else _MULTI if processed else None
            terms = Counter(map(single.__getitem__, tokens))
        terms.pop(None, None)
        if _MULTI not in terms:
            return dict(terms), sum(terms.values())
    counted = Counter(tokens)
    counted.pop("", None)
    out: dict[str, int] = {}
    length = 0
    for token, count in counted.items():
        for term in _processed(pipeline, memo, token, field_name):
            out[term] = out.get(term, 0) + count
            length += count
    return out, length


def _processed(pipeline, memo: dict, token: str, field_name: str) -> list[str]:
    processed = memo.get(token)
    if processed is None:
        processed = memo[token] = [str(t) for t in pipeline.run([Token(token, {})], field_name)]
    return processed


def _memo_add(self, doc, attributes=None):
    assert not self.metadata_whitelist, "MemoBuilder does not record term metadata"
    doc_ref = str(doc[self._ref])
    self._documents[doc_ref] = attributes or {}
    self.document_count += 1
    memo, index = self._memo, self.inverted_index
    for field_name, field in self._fields.items():
        value = doc[field_name] if field.extractor is None else field.extractor(doc)
        field_terms, length = _field_terms(self.pipeline, memo, value, field_name, self._single)
        field_ref = str(FieldRef(doc_ref, field_name))
        self.field_term_frequencies[field_ref] = field_terms
        self.field_lengths[field_ref] = length
        for term in field_terms:
            posting = index.get(term)
            if posting is None:
                posting = index[term] = {name: {} for name in self._fields}
                posting["_index"] = self.term_index
                self.term_index += 1
            posting[field_name][doc_ref] = defaultdict(list)


def _field_vectors(self):
    """lunr.py's `_create_field_vectors` with the same arithmetic, but each vector sorted once
    instead of built by a binary-search insert per term."""
    idf_cache: dict[str, float] = {}
    k1, b = self._k1, self._b
    archive = getattr(self, "_archive", None)  # statistics of the whole archive, for a shard
    vectors = {}
    for field_ref, frequencies in self.field_term_frequencies.items():
        ref = FieldRef.from_string(field_ref)
        field_length = self.field_lengths[field_ref]
        field_boost = self._fields[ref.field_name].boost
        doc_boost = self._documents[ref.doc_ref].get("boost", 1)
        average = (archive or self).average_field_length[ref.field_name]
        pairs = []
        for term, tf in frequencies.items():
            posting = self.inverted_index[term]
            idf = idf_cache.get(term)
            if idf is None:
                idf = idf_cache[term] = archive.idf(term) if archive else lunr_idf(posting, self.document_count)
            score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (field_length / average)) + tf)
            score *= field_boost
            score *= doc_boost
            pairs.append((posting["_index"], round(score, 3)))
        pairs.sort()
        vectors[field_ref] = Vector([x for pair in pairs for x in pair])
    self.field_vectors = vectors


def lunr_documents(docs: list[SearchDocument]) -> list[dict]:
    return [{"ref": d.ref, "title": d.title, "abstract": d.abstract, "organization": d.organization} for d in docs]


def _builder(docs: list[SearchDocument], memo: dict):
    builder = MemoBuilder(memo)
    builder.ref("ref")
    for field in FIELDS:
        builder.field(field["field_name"], boost=field.get("boost", 1))
    for doc in lunr_documents(docs):
        builder.add(doc)
    return builder


class ArchiveStatistics:
    """What lunr's BM25 weights need from the whole index, summed over every shard's builder:
    the document count, each term's document frequency (counted per field, as lunr.py's and
    lunr.js's `idf` count it) and the average length of each field."""

    def __init__(self, builders):
        self.document_count = sum(b.document_count for b in builders)
        self.frequency: Counter = Counter()
        lengths: Counter = Counter()
        for b in builders:
            for term, posting in b.inverted_index.items():
                self.frequency[term] += sum(len(v) for k, v in posting.items() if k != "_index")
            for field_ref, length in b.field_lengths.items():
                lengths[FieldRef.from_string(field_ref).field_name] += length
        self.average_field_length = {f: lengths[f] / self.document_count for f in builders[0]._fields}

    def idf(self, term: str) -> float:
        # lunr.idf, with the archive's counts
        with_term = self.frequency[term]
        return math.log(1 + abs((self.document_count - with_term + 0.5) / (with_term + 0.5)))


def build_indexes(groups: list[list[SearchDocument]], memo: dict | None = None) -> list:
    """One lunr index per group of documents, each weighted with the statistics of all groups.
    With one group this is exactly `lunr.lunr(...)` (a test checks it byte for byte)."""
    memo = memo if memo is not None else {}
    builders = [_builder(docs, memo) for docs in groups]
    if len(builders) > 1:
        archive = ArchiveStatistics(builders)
        for b in builders:
            b._archive = archive
    return [b.build() for b in builders]


def build_index(docs: list[SearchDocument], memo: dict | None = None):
    return build_indexes([docs], memo)[0]


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


def _save_memo(cache_dir: Path, memo: dict) -> None:
    try:
        build_cache.write_signed(_memo_path(cache_dir), json.dumps(memo, ensure_ascii=False, separators=(",", ":"))
                                 .encode("utf-8", "surrogatepass"))
    except OSError:
        pass  # a cache that cannot be written only costs time


def index_size(sizes: dict[str, int]) -> dict:
    """Sizes of the search files (`sizes`: bytes per output path) as the build reports them: the
    raw bytes of all shards, of the largest, and how many there are (gzip is measured by the
    benchmark, not on every build)."""
    shards = [size for path, size in sizes.items() if path != urls.SEARCH_MANIFEST]
    return {"raw": sum(shards), "shards": len(shards), "largest_raw": max(shards, default=0)}


def size_notes(sizes: dict) -> list[str]:
    largest = sizes.get("largest_raw", 0)
    if largest <= TOO_LARGE_RAW:
        return []
    return [f"a search shard is {largest / 1e6:.0f} MB raw: browsers load it slowly and phones may give up; "
            f"lower SHARD_PAPERS or shorten the abstracts; see README, Search"]


def compact(index, docs) -> dict:
    """A shard's lunr index in a compact form that loses nothing (static/lunr-shard.js expands it
    back to `index.serialize()`, and a test checks that they are equal), with its store.

    The inverted index is not shipped: which documents hold a term in a field is exactly which
    field vectors have that term, so the browser rebuilds it from the vectors. Terms are listed
    once, at their lunr `_index`; each document's vector in each field is a flat list of
    (term index minus the previous one, score in thousandths) pairs: lunr rounds scores to 3
    decimals, so thousandths are exact."""
    terms = [""] * len(index.inverted_index)
    for term, posting in index.inverted_index.items():
        terms[posting["_index"]] = term
    fields = index.fields
    vectors = []
    for d in docs:
        per_field = []
        for f in fields:
            elements = index.field_vectors[f"{f}/{d.ref}"].elements
            flat, previous = [], 0
            for k in range(0, len(elements), 2):
                flat += (elements[k] - previous, round(elements[k + 1] * 1000))
                previous = elements[k]
            per_field.append(flat)
        vectors.append(per_field)
    return {
        "version": lunr_target_version, "fields": fields, "pipeline": index.pipeline.serialize(),
        "terms": terms, "refs": [d.ref for d in docs], "vectors": vectors,
        "store": [[d.title, d.url, list(d.dates), d.snippet] for d in docs],
    }


def _js_global(name: str, value) -> bytes:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # JSON is JavaScript except for U+2028/2029 in strings (before ES2019); escape them anyway.
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.{name}={body};\n".encode("utf-8")


def _js_shard(shard_id: str, value) -> bytes:
    """A shard as a script: its JSON in a string given to JSON.parse, which a browser reads much
    faster than the same data as an object literal (JSON's grammar is simpler than JavaScript's).
    Only backslash, quote and the two line separators need escaping in the string."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    literal = (body.replace("\\", "\\\\").replace("'", "\\'")
               .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return f"(window.SITEGEN_SHARDS=window.SITEGEN_SHARDS||{{}})[{json.dumps(shard_id)}]=JSON.parse('{literal}');\n".encode("utf-8")


class _Terms:
    """Documents to lunr terms, as lunr.py's builder makes them (tokenizer, then the pipeline
    once per distinct token, memoised), field by field."""

    def __init__(self, memo: dict):
        # lunr.py's builder lends its pipelines and BM25 parameters, so nothing here is restated
        self.builder, self.memo, self.single = MemoBuilder(memo), memo, {}
        self.fields = [f["field_name"] for f in FIELDS]
        self.boosts = [f.get("boost", 1) for f in FIELDS]

    def of(self, doc: dict):
        """[(terms with counts in first-occurrence order, length)] for each field."""
        return [_field_terms(self.builder.pipeline, self.memo, doc[name], name, self.single) for name in self.fields]


class TermsMemo:
    """What the first pass of `compact_shards` makes of each document, kept between builds (the
    build cache's "search-terms" memo), so only new or changed documents are tokenised: by a
    digest of the document's indexed text, its fields' terms as numbers into a vocabulary, with
    their counts and the fields' lengths, packed as int32s (per field: term count; per field:
    length; then every term number, then every count). `used` gets the documents of this build;
    `saved` is the memo to keep, vocabulary pruned to the terms they use."""

    def __init__(self, saved: dict | None = None):
        saved = saved or {}
        vocabulary, known = saved.get("vocabulary"), saved.get("documents")
        if not isinstance(vocabulary, (list, tuple)) or not isinstance(known, dict):
            vocabulary, known = [], {}
        self.ids: dict[str, int] = defaultdict(itertools.count(len(vocabulary)).__next__,
                                               zip(vocabulary, itertools.count()))
        self.known = known
        self.used: dict[bytes, bytes] = {}

    @staticmethod
    def key(doc: SearchDocument) -> bytes:
        text = f"{doc.title}\0{doc.abstract}\0{doc.organization}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(text, digest_size=16).digest()

    def get(self, key: bytes) -> bytes | None:
        blob = self.used.get(key) or self.known.get(key)
        if blob is not None:
            self.used[key] = blob
        return blob

    def put(self, key: bytes, fields: list[tuple[dict[str, int], int]]) -> array:
        """Pack a document's fields (`_Terms.of`), numbering new terms; the packed numbers."""
        numbers = array("i", [len(terms) for terms, _ in fields])
        numbers.extend(length for _, length in fields)
        for terms, _ in fields:
            numbers.extend(map(self.ids.__getitem__, terms))  # in C, numbering new terms as it goes
        for terms, _ in fields:
            numbers.extend(terms.values())
        self.used[key] = numbers.tobytes()
        return numbers

    @staticmethod
    def term_numbers(numbers, nfields: int) -> slice:
        """Where a packed document's term numbers lie (its counts follow them)."""
        return slice(2 * nfields, 2 * nfields + int(sum(numbers[:nfields])))

    @property
    def changed(self) -> bool:
        return self.used.keys() != self.known.keys()

    def saved(self, nfields: int = len(FIELDS)) -> dict:
        """This build's documents for the next build, over a vocabulary of only the terms they
        use: renumbered in place if some terms went unused (`used` is given away: at 100k papers
        it is about 100 MB, so no second copy is made)."""
        import numpy as np  # imported by the index worker only (see `build.IndexJob`)
        vocabulary = list(self.ids)
        seen = np.zeros(len(vocabulary), dtype=bool)
        for blob in self.used.values():
            numbers = np.frombuffer(blob, dtype=np.int32)
            seen[numbers[self.term_numbers(numbers, nfields)]] = True
        if not seen.all():
            renumber = np.cumsum(seen, dtype=np.int32) - 1
            for key, blob in self.used.items():
                numbers = np.frombuffer(blob, dtype=np.int32).copy()
                at = self.term_numbers(numbers, nfields)
                numbers[at] = renumber[numbers[at]]
                self.used[key] = numbers.tobytes()
            vocabulary = [t for t, keep in zip(vocabulary, seen.tolist()) if keep]
        return {"vocabulary": vocabulary, "documents": self.used}


def compact_shards(groups: list[list[SearchDocument]], memo: dict | None = None, consume: bool = False,
                   terms: "TermsMemo | None" = None):
    """The compact form of each group's lunr index (what `compact(build_indexes(groups)[i], ...)`
    gives; a test checks they are equal), made directly in two passes. The first tokenises every
    document once and keeps only numbers: each field's terms as archive-wide term ids with their
    counts, in flat arrays (a few bytes per term occurrence), plus what the archive-wide
    statistics need, and each document's store entry. The second scores each group from those
    arrays. Yields one dict per group, in order. With `consume`, each group is dropped from
    `groups` once tokenised, so the documents' full text can be freed before the second pass.

    With `terms` (a `TermsMemo` from an earlier build), a document whose text it knows is not
    tokenised again: its numbers are copied from the memo, which gets every document of this build."""
    import numpy as np  # imported by the index worker only (see `build.IndexJob`)
    terms_of = _Terms(memo if memo is not None else {})
    fields, boosts, nfields = terms_of.fields, terms_of.boosts, len(terms_of.fields)
    terms = terms if terms is not None else TermsMemo()
    # term -> archive-wide id: the memo's vocabulary, then each new term the next number. Which
    # number a term gets does not matter: a shard's terms are ordered by first occurrence.
    ids: dict[str, int] = terms.ids
    term_ids, tfs = array("i"), array("i")  # per field of each document: its terms' ids and counts
    counts, lengths = array("i"), array("q")  # per field of each document: how many terms, its length
    refs, stores = [], []  # per group: what the second pass needs of its documents
    for g, docs in enumerate(groups):
        for d in docs:
            key = TermsMemo.key(d)
            blob = terms.get(key)
            if blob is None:
                numbers = terms.put(key, terms_of.of({"title": d.title, "abstract": d.abstract,
                                                      "organization": d.organization}))
            else:
                numbers = array("i")
                numbers.frombytes(blob)
            at = TermsMemo.term_numbers(numbers, nfields)
            counts.extend(numbers[:nfields])
            lengths.extend(numbers[nfields:2 * nfields].tolist())
            term_ids.extend(numbers[at])
            tfs.extend(numbers[at.stop:])
        refs.append([d.ref for d in docs])
        stores.append([[d.title, d.url, list(d.dates), d.snippet] for d in docs])
        if consume:
            groups[g] = None
    docs = None
    names = list(ids)
    del ids
    term_ids_np, tfs_np = np.frombuffer(term_ids, dtype=np.int32), np.frombuffer(tfs, dtype=np.int32)
    counts_np, lengths_np = np.frombuffer(counts, dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)
    count = len(counts) // nfields if nfields else 0
    frequency = np.bincount(term_ids_np, minlength=len(names)).tolist()  # fields holding each term
    average = [int(lengths_np[f::nfields].sum()) / count if count else 0 for f in range(nfields)]
    k1, b = terms_of.builder._k1, terms_of.builder._b

    def idf(g: int) -> float:  # lunr.idf, with the archive's counts
        with_term = frequency[g]
        return math.log(1 + abs((count - with_term + 0.5) / (with_term + 0.5)))

    pipeline = terms_of.builder.search_pipeline.serialize()
    ends = np.cumsum(counts_np, dtype=np.int64)
    group_start = 0
    for group_refs, store in zip(refs, stores):
        group_end = group_start + len(group_refs) * nfields
        lo = int(ends[group_start - 1]) if group_start else 0
        hi = int(ends[group_end - 1]) if group_end > group_start else lo
        shard_terms, vectors = _shard_vectors(
            term_ids_np[lo:hi], tfs_np[lo:hi], counts_np[group_start:group_end],
            lengths_np[group_start:group_end], nfields, idf, average, boosts, k1, b)
        group_start = group_end
        yield {
            "version": lunr_target_version, "fields": fields, "pipeline": pipeline,
            "terms": [names[g] for g in shard_terms], "refs": group_refs, "vectors": vectors, "store": store,
        }


def thousandths(values):
    """Each float as lunr.py stores it, in thousandths: `round(x, 3) * 1000` as an integer, where
    Python's `round` rounds the float's exact value to 3 decimals (ties to even). x * 1000 in
    floating point is within a rounding error of that exact value, so numpy's `rint` of it is the
    same integer except right beside a half: those few are left to Python's `round`."""
    import numpy as np  # imported by the index worker only (see `build.IndexJob`)
    product = values * 1000.0
    scaled = np.rint(product)
    beside_half = (np.abs(product - np.floor(product) - 0.5) < 1e-6) | ~(np.abs(product) < 2.0 ** 40)
    for i in np.flatnonzero(beside_half).tolist():
        scaled[i] = np.rint(round(float(values[i]), 3) * 1000)
    return scaled.astype(np.int64)


def _shard_vectors(term_ids, tfs, counts, lengths, nfields: int, idf, average: list[float],
                   boosts: list[float], k1: float, b: float) -> tuple[list[int], list[list[list[int]]]]:
    """One group's terms (archive ids, in lunr's `_index` order: first occurrence) and each
    document's delta-encoded field vectors. The arithmetic is lunr.py's BM25 in the same order
    of operations, over numpy arrays, so every float is the same; idf uses Python's math.log and
    the 3-digit rounding Python's own `round`, so both match lunr.py digit for digit."""
    import numpy as np  # imported by the index worker only (see `build.IndexJob`)
    if len(term_ids):
        distinct, first = np.unique(term_ids, return_index=True)
        order = np.argsort(first)
        rank = np.empty(len(distinct), dtype=np.int64)
        rank[order] = np.arange(len(distinct))
        t = rank[np.searchsorted(distinct, term_ids)]  # the shard's own term index
        shard_terms = distinct[order].tolist()
    else:
        t, shard_terms = np.zeros(0, dtype=np.int64), []
    field = np.repeat(np.tile(np.arange(nfields), len(counts) // nfields), counts)
    length = np.repeat(lengths.astype(np.float64), counts)
    tf = tfs.astype(np.float64)
    term_idf = np.asarray([idf(g) for g in shard_terms], dtype=np.float64)
    score = term_idf[t] * ((k1 + 1) * tf) / (
        k1 * (1 - b + b * (length / np.asarray(average, dtype=np.float64)[field])) + tf)
    boosted = score * np.asarray(boosts, dtype=np.float64)[field]
    scaled = thousandths(boosted)
    group = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((t, group))  # each field's terms by index; fields stay in their order
    t, scaled = t[order], scaled[order]
    ends = np.cumsum(counts, dtype=np.int64)
    starts = ends - counts
    delta = np.diff(t, prepend=0)
    nonempty = starts[counts > 0]
    delta[nonempty] = t[nonempty]
    pairs = np.empty(2 * len(t), dtype=np.int64)
    pairs[0::2], pairs[1::2] = delta, scaled
    flat = pairs.tolist()
    bounds = (2 * ends).tolist()
    per_field = [flat[2 * lo:hi] for lo, hi in zip(starts.tolist(), bounds)]
    vectors = [per_field[d:d + nfields] for d in range(0, len(per_field), nfields)]
    return shard_terms, vectors


def index_files(docs: list[SearchDocument], cache_dir: Path | None = None, consume: bool = False) -> dict[str, bytes]:
    """{output path: bytes}: the manifest and one file per shard (compact index and store).
    See `iter_index_files`."""
    return dict(iter_index_files(docs, cache_dir, consume))


def iter_index_files(docs: list[SearchDocument], cache_dir: Path | None = None, consume: bool = False):
    """(output path, bytes) of each shard (compact index and store) as it is made, then of the
    manifest.

    With a cache folder, the pipeline's answer for each token (trimmer, stop words, stemmer:
    the same token always gives the same terms) is kept between builds in
    `cache_dir/lunr-pipeline-<version>.json`, so only new words are stemmed, and so is what each
    document's text became (`TermsMemo`), so only new documents are tokenised. With `consume`,
    `docs` is emptied and each document freed once tokenised (see `compact_shards`): the index
    worker's copy of the archive's text (at 100k papers, hundreds of MB) is gone before it
    writes the shards."""
    memo = _load_memo(cache_dir)
    known = len(memo)
    terms = TermsMemo(build_cache.load_memo(cache_dir, "search-terms") if cache_dir is not None else None)
    papers = len(docs)
    shards = plan_shards(docs)
    groups = [list(s.docs) for s in shards]
    shards = [(s.id, s.label, len(s.docs), s.path) for s in shards]
    if consume:
        docs.clear()
    sizes = {}
    for (shard_id, _, _, path), data in zip(shards, compact_shards(groups, memo, consume, terms)):
        data = _js_shard(shard_id, data)
        sizes[path] = len(data)
        yield path, data
    if cache_dir is not None and len(memo) != known:
        _save_memo(cache_dir, memo)
    if cache_dir is not None and terms.changed:
        build_cache.save_memo(cache_dir, "search-terms", terms.saved())
    manifest = {
        "papers": papers,
        "shards": [{"id": shard_id, "label": label, "papers": count, "file": path.split("/")[-1],
                    "bytes": sizes[path]} for shard_id, label, count, path in shards],
    }
    yield urls.SEARCH_MANIFEST, _js_global("SITEGEN_SEARCH", manifest)
