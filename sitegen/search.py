"""The search index: a Lunr index built here with lunr.py, answered in the browser by lunr.js.

Two files, both JavaScript that assigns a global, so a `<script>` tag loads them from a web
server and from `file://` alike (browsers refuse `fetch()` of local files):

- `search/index.js`: `window.SITEGEN_INDEX = <lunr.Index.toJSON()>`; the browser calls
  `lunr.Index.load` on it and never rebuilds anything.
- `search/store.js`: `window.SITEGEN_STORE = {"ref": [title, url, dates, snippet], ...}`:
  what a result line needs, so results show without fetching paper pages.

Refs are short base-36 numbers behind a letter (`p0`, `p1z`), not slugs: every posting
repeats its ref, so this keeps the index small. The letter matters: JavaScript iterates
integer-like object keys (`"47"`) before others (`"1i"`), which would reorder tied results
in lunr.js against lunr.py. No term positions are stored (lunr's metadata whitelist stays empty); the
browser highlights matched terms in the snippet by stemming its words, using the terms
lunr reports as matched.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from lunr import __VERSION__ as lunr_version
from lunr import get_default_builder
from lunr.field_ref import FieldRef
from lunr.idf import idf as lunr_idf
from lunr.token import Token
from lunr.vector import Vector

from . import urls
from .site import PaperView

FIELDS = [
    {"field_name": "title", "boost": 10},
    {"field_name": "abstract"},
    {"field_name": "organization"},
]
SNIPPET = 280  # characters of abstract shipped per paper for the result list
TOO_LARGE_GZIP = 10 * 1024 * 1024


@dataclass(frozen=True)
class SearchDocument:
    ref: str
    title: str
    abstract: str
    organization: str
    url: str
    dates: tuple[str, ...]
    snippet: str


def ref_for(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return "p" + out


def documents(papers: tuple[PaperView, ...]) -> list[SearchDocument]:
    docs = []
    for n, p in enumerate(papers):
        abstract = " ".join(p.abstract_text.split())  # lunr.js splits on every Unicode space; lunr.py on fewer
        docs.append(SearchDocument(
            ref=ref_for(n), title=" ".join(p.title_text.split()), abstract=abstract, organization=p.organization or "",
            url=p.path, dates=tuple(a.digest.label for a in p.appearances), snippet=_snippet(abstract)))
    return docs


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
        # The memo is keyed by token alone: valid while no pipeline step is limited to a field.
        assert not any(builder.pipeline._skip.get(fn) for fn in builder.pipeline._stack)
        return builder


def _memo_add(self, doc, attributes=None):
    assert not self.metadata_whitelist, "MemoBuilder does not record term metadata"
    doc_ref = str(doc[self._ref])
    self._documents[doc_ref] = attributes or {}
    self.document_count += 1
    memo, index = self._memo, self.inverted_index
    for field_name, field in self._fields.items():
        value = doc[field_name] if field.extractor is None else field.extractor(doc)
        # Count tokens in C, then do the per-term work once per distinct token. Counter keeps
        # first-occurrence order, so terms get their `_index` in the order lunr.py gives them.
        tokens = Counter(_SEPARATOR.split(str(value).lower())) if value is not None else Counter()
        tokens.pop("", None)
        field_terms = defaultdict(int)
        length = 0
        for token, count in tokens.items():
            processed = memo.get(token)
            if processed is None:
                processed = memo[token] = [str(t) for t in self.pipeline.run([Token(token, {})], field_name)]
            for term in processed:
                field_terms[term] += count
                length += count
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
    vectors = {}
    for field_ref, frequencies in self.field_term_frequencies.items():
        ref = FieldRef.from_string(field_ref)
        field_length = self.field_lengths[field_ref]
        field_boost = self._fields[ref.field_name].boost
        doc_boost = self._documents[ref.doc_ref].get("boost", 1)
        average = self.average_field_length[ref.field_name]
        pairs = []
        for term, tf in frequencies.items():
            posting = self.inverted_index[term]
            idf = idf_cache.get(term)
            if idf is None:
                idf = idf_cache[term] = lunr_idf(posting, self.document_count)
            score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (field_length / average)) + tf)
            score *= field_boost
            score *= doc_boost
            pairs.append((posting["_index"], round(score, 3)))
        pairs.sort()
        vectors[field_ref] = Vector([x for pair in pairs for x in pair])
    self.field_vectors = vectors


def lunr_documents(docs: list[SearchDocument]) -> list[dict]:
    return [{"ref": d.ref, "title": d.title, "abstract": d.abstract, "organization": d.organization} for d in docs]


def build_index(docs: list[SearchDocument], memo: dict | None = None):
    builder = MemoBuilder(memo)
    builder.ref("ref")
    for field in FIELDS:
        builder.field(field["field_name"], boost=field.get("boost", 1))
    for doc in lunr_documents(docs):
        builder.add(doc)
    return builder.build()


def _memo_path(cache_dir: Path) -> Path:
    return cache_dir / f"lunr-pipeline-{lunr_version}.json"


def _load_memo(cache_dir: Path | None) -> dict:
    if cache_dir is None:
        return {}
    try:
        data = json.loads(_memo_path(cache_dir).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: start afresh


def _save_memo(cache_dir: Path, memo: dict) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{_memo_path(cache_dir).name}.{os.getpid()}"
        tmp.write_text(json.dumps(memo, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, _memo_path(cache_dir))
    except OSError:
        pass  # a cache that cannot be written only costs time


def index_size(data: bytes) -> tuple[int, int | None]:
    """(raw, gzip) bytes of the index as a browser would download it (gzip level 6, as servers use).
    gzip is only measured when the raw size could be over the limit (gzip is never larger)."""
    return len(data), (len(gzip.compress(data, 6)) if len(data) > TOO_LARGE_GZIP else None)


def size_notes(raw: int, gzipped: int | None) -> list[str]:
    if gzipped is None or gzipped <= TOO_LARGE_GZIP:
        return []
    return [f"the search index is {gzipped / 1e6:.1f} MB gzipped ({raw / 1e6:.0f} MB raw): over 10 MB, "
            f"browsers load it slowly and phones may give up; see README, Search, on large archives"]


def _js_global(name: str, value) -> bytes:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    # JSON is JavaScript except for U+2028/2029 in strings (before ES2019); escape them anyway.
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.{name}={body};\n".encode("utf-8")


def index_files(docs: list[SearchDocument], cache_dir: Path | None = None) -> dict[str, bytes]:
    """{output path: bytes} for the index and the document store.

    With a cache folder, the pipeline's answer for each token (trimmer, stop words, stemmer:
    the same token always gives the same terms) is kept between builds in
    `cache_dir/lunr-pipeline-<version>.json`, so only new words are stemmed."""
    memo = _load_memo(cache_dir)
    known = len(memo)
    index = build_index(docs, memo)
    if cache_dir is not None and len(memo) != known:
        _save_memo(cache_dir, memo)
    store = {d.ref: [d.title, d.url, list(d.dates), d.snippet] for d in docs}
    return {
        urls.SEARCH_INDEX: _js_global("SITEGEN_INDEX", index.serialize()),
        urls.SEARCH_STORE: _js_global("SITEGEN_STORE", store),
    }
