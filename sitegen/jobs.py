"""What the build's workers do (`workers` says how they run): related papers, the search index,
and a render helper, each forked at the start of the build while its process is small, and each
with a fallback that does the same work in the build's own process where fork is unavailable.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache as build_cache
from . import mail, search
from .config import Config
from .errors import BuildError
from .model import Catalog
from .output import Writer
from .render import Renderer, RenderSettings
from .site import related_inputs, related_texts
from .workers import HELPER_COLLECT, ForkedJob, Then, received

if TYPE_CHECKING:
    from . import related as related_module


class _Job:
    """A worker forked at once and sent its arguments (the build cache folder) at once, so it
    readies itself (imports, memos) while the build parses; what the two jobs below share.
    `_local` is for where processes cannot be forked: the work the build then does itself."""

    def __init__(self, fn, cache: Path | None):
        self._job = ForkedJob(fn)
        self._cache = cache
        self._local = None
        self._job.send(cache)

    def join(self) -> None:
        self._job.join()

    def cancel(self) -> None:
        self._job.cancel()

    @property
    def cpu(self) -> float | None:
        """The worker's CPU seconds, once it has handed back its result (None without one)."""
        return self._job.cpu


class RelatedJob(_Job):
    """Related papers (every paper compared with every other), found in a worker forked at the
    start of the build, while it is small. Once the catalogue exists it is sent each paper's
    text (its plain text from the paper-text memo where known, else as listed), a slice at a
    time, and makes it plain itself while this process turns the papers' text into HTML. A
    worker forked after dedupe would inherit the catalogue, and come to hold a private copy of
    every page of it that it reads. The worker keeps its own memo in the build cache: each
    text's stems, so only new text is split and stemmed; and the first tier (`KeptTier`), so
    that when it is still the first papers' the worker is sent only the papers after it."""

    CHUNK = 2000  # papers per message to the worker

    def __init__(self, cache: Path | None = None):
        # The worker imports numpy and scipy and loads its memo (0.4 s at 10k) while the build
        # parses and dedupes, instead of after. Unforked, `_local` is what to compare in `result`.
        super().__init__(_related_papers, cache)
        self._sent = None  # every paper's inputs, for `result` to fall back on

    def send(self, catalog: Catalog, config: Config, saved_text) -> None:
        """The papers' text (`related_inputs`; `saved_text` is the paper-text memo's `peek`).
        If the first tier the cache keeps is of these papers' first texts (`kept_plan`), the
        worker is told so and sent only the recent tier's texts: at 10k papers 800 instead of
        10,000 (at 100k, 1 s of this process's time to send them all)."""
        inputs = related_inputs(catalog.papers, config, saved_text)
        if not self._job.forked:
            self._local = inputs
            return
        plan = kept_plan(self._cache, inputs)
        self._sent = inputs
        self._job.put((plan,))  # in a tuple: None alone ends what the worker receives
        self._job.feed(inputs[plan[1]:] if plan else inputs, lambda chunk, _start: chunk, self.CHUNK)

    def result(self) -> list[list[tuple[int, float]]]:
        if self._local is None:
            found = self._job.result()
            if found is not None:
                return found
            # The worker could not read the first tier the plan named (damaged since): all here.
            self._local = self._sent
        found = _similar(self._local, stems_memo(self._cache))
        found.after()
        return found.value


def tier_key(texts) -> str:
    """What names a first tier (`KeptTier`): a digest of its papers' (title, abstract) texts."""
    digest = hashlib.blake2b(digest_size=16)
    for title, abstract in texts:
        digest.update(f"{title}\0{abstract}\0".encode())
    return digest.hexdigest()


def kept_plan(cache: Path | None, inputs: list[tuple[str, str, bool]]) -> tuple[str, int] | None:
    """(key, size) of the first tier the cache keeps (`KeptTier`), if it is the tier of these
    papers (`related_inputs`): the tier size it was made with gives the same boundary for them,
    and its papers' texts, each known as plain, have its key; else None (the worker is sent
    every text and makes or checks the tier itself). Read from the tier's key alone, so this
    process never imports numpy for it."""
    found = build_cache.load_kept(cache, KeptTier.KEY)
    if not isinstance(found, dict):
        return None
    key, size, tier = found.get("key"), found.get("size"), found.get("tier")
    if not (isinstance(key, str) and type(size) is int and type(tier) is int and 0 < size and 0 < tier):
        return None
    if len(inputs) - len(inputs) % tier != size or not all(plain for _, _, plain in inputs[:size]):
        return None
    return (key, size) if tier_key((t, a) for t, a, _ in inputs[:size]) == key else None


def _related_papers(items, cache: Path | None) -> Then:
    """The related-papers worker: ready itself while the build parses (imports, memo), receive
    every paper's text, then compare them."""
    from . import related  # noqa: F401  numpy and scipy: imported in the worker that needs them

    stems = stems_memo(cache)
    messages = received(items)
    (plan,) = next(messages)  # the first tier the build found kept (`kept_plan`), or None
    inputs = [text for chunk in messages for text in chunk]  # all before any work: the build never waits
    if plan is None:
        return _similar(inputs, stems)
    tier = KeptTier(cache, None).kept(*plan)
    if tier is None:
        return None  # not readable after all: the build does the work (`RelatedJob.result`)
    return _similar(inputs, stems, tier)


def stems_memo(cache: Path | None) -> build_cache.Memo:
    """The memo of each text's stems, packed (`build_cache.Memo`): a build that keeps the first
    tier (`KeptTier`) asks it for the recent tier's papers only."""
    return build_cache.Memo(cache, "related-stems", packed=True)


def _similar(inputs: list[tuple[str, str, bool]], stems: build_cache.Memo,
             first: related_module.FirstTier | None = None) -> Then:
    """The related papers, then saving the stems memo (after the build has them). With `first`
    (the kept first tier), `inputs` are the texts of the papers after it."""
    from . import related

    texts = related_texts(inputs)
    inputs.clear()  # the worker's own: the texts as listed are done with once made plain
    stems_of = stems.remembered(related.document_stems(), related.stem_key)
    if first is not None:  # kept as it is: only the stems memo may have grown
        return Then(related.related_after(first, related.drained(texts), stems_of=stems_of), stems.save)
    tier = KeptTier(stems.cache_dir, stems_of)
    found = related.related(related.drained(texts), stems_of=stems_of, first_tier_of=tier)

    def save() -> None:
        stems.save()
        tier.save()
    return Then(found, save)


class KeptTier:
    """`related.first_tier` remembered in the build cache: the first tier of the related papers
    (the papers before the last multiple of `related.TIER`, with their weights, rows, postings
    and candidates) is made again only when its papers' text changes, so a build that adds a
    day stems and compares only the recent tier's papers (at 10k papers, 0.25 s against 1.8 s)."""

    NAME = "related-tier"
    KEY = "related-tier-key"  # its key, size and the tier size it was made with (`kept_plan`)

    def __init__(self, cache: Path | None, stems_of):
        self.cache, self.stems_of = cache, stems_of
        self.made = None  # (key, tier) made by this build, for `save`
        self.used: tuple[str, int] | None = None  # (key, size) of the tier this build used

    def __call__(self, texts: list[tuple[str, str]]) -> related_module.FirstTier:
        from . import related

        key = tier_key(texts)
        tier = self.kept(key, len(texts))
        if tier is None:
            tier = related.tier_of_texts(texts, self.stems_of)
            self.made = (key, tier)
        self.used = (key, tier.size)
        return tier

    def kept(self, key: str, size: int) -> related_module.FirstTier | None:
        """The kept tier, if it has this key and size; else None."""
        from . import related

        kept = build_cache.load_buffers(self.cache, self.NAME)
        if kept is None or kept[0].get("key") != key:
            return None
        try:
            tier = related.FirstTier.from_buffers(kept[0], kept[1])
        except (KeyError, TypeError, ValueError):
            return None
        return tier if tier.size == size else None

    def save(self) -> None:
        from . import related

        if self.made is not None:
            key, tier = self.made
            header, buffers = tier.as_buffers()
            build_cache.keep_buffers(self.cache, self.NAME, {**header, "key": key}, buffers)
        if self.used is not None:
            named = {"key": self.used[0], "size": self.used[1], "tier": related.TIER}
            if build_cache.load_kept(self.cache, self.KEY) != named:
                build_cache.keep(self.cache, self.KEY, named)


class IndexJob(_Job):
    """The search index, built in a worker forked at the start of the build (it inherits none of
    the build's data) and sent the search documents as soon as the papers' parts exist
    (`assemble_papers`), a slice of the catalogue at a time, so neither process ever holds the
    whole archive pickled; it builds while this process finishes assembling and renders. A
    thread sends the slices (`ForkedJob.feed(behind=True)`): the worker takes each slice once
    it has indexed the one before, and this process no longer waits for that.

    The worker writes each file into an anonymous temporary file as it makes it, and hands back
    only where each one is: it never holds the whole index (140 MB at 100k papers), and `files`
    gives this process one file at a time.

    A paper whose document chunk is as the last build made it and published (`search.Stored`,
    the last build's manifest) is sent as its number alone, and that chunk comes back as a
    `search.KeptFile`: kept as published, or made here (`remake`) if it is not."""

    CHUNK = 2000  # papers per message to the worker: whole document chunks
    assert CHUNK % search.STORE_PAPERS == 0

    def __init__(self, cache: Path | None = None, published: Path | None = None,
                 manifest: dict[str, list] | None = None):
        self._file = tempfile.TemporaryFile(prefix="sitegen-index-")
        self._published = published  # the site the last build wrote, which may hold files to keep
        self._manifest = manifest or {}  # what the last build published, with each file's digest
        self._parts: tuple = ()
        # Unforked, `_local` is the documents, indexed in `files`.
        super().__init__(functools.partial(_search_index, self._file, published, self._manifest), cache)

    def send(self, parts: tuple) -> None:
        """The papers' parts (`assemble_papers`), sent a slice at a time as what their search
        documents are made of (`search.sent_inputs`); the worker makes the documents."""
        self._parts = parts
        if not self._job.forked:
            self._local = search.documents(parts)
            return
        stored = search.load_stored(self._cache) if self._manifest else None
        make = functools.partial(search.sent_inputs, total=len(parts), stored=stored, published=self._manifest)
        self._job.feed(parts, make, self.CHUNK, behind=True)

    def files(self) -> Iterator[tuple[str, bytes | search.KeptFile]]:
        """(output path, bytes or `search.KeptFile`) of each search file, once the worker is done."""
        if self._local is not None:
            yield from search.iter_index_files(self._local, self._cache, self._published, self._manifest)
            return
        try:
            places = self._job.result()
        except search.StaleIndex:  # (rare: a build stopped between two cache writes) made here instead
            self._file.close()
            yield from search.iter_index_files(search.documents(self._parts), self._cache, self._published,
                                               self._manifest)
            return
        try:
            for path, offset, length in places:
                if offset is None:  # kept: the `search.KeptFile` in the length's place
                    yield path, length
                    continue
                data = os.pread(self._file.fileno(), length, offset)
                if len(data) != length:
                    raise BuildError(f"the search index worker's {path} came back cut short; the site was not written")
                yield path, data
        finally:
            self._file.close()

    def remake(self, kept: search.KeptFile) -> bytes:
        """The bytes of a kept document chunk that is not published as it was made."""
        k, size = kept.number, search.STORE_PAPERS
        return search.store_file(k, search.documents(self._parts[k * size:(k + 1) * size], k * size))[1]

    def cancel(self) -> None:
        super().cancel()
        self._file.close()


def _search_index(out, published: Path | None, manifest: dict[str, list], items,
                  cache: Path | None) -> list[tuple[str, int | None, object]]:
    """The index worker: receive the documents, then write each search file into `out` as it
    is made; [(path, offset, length)], or (path, None, the `KeptFile`) for a file kept."""
    docs = (doc for keys, chunk in received(items) for doc in search.documents_from(chunk, keys))
    places, offset = [], 0
    for path, data in search.iter_index_files(docs, cache, published, manifest):  # indexed as the documents arrive
        if isinstance(data, search.KeptFile):
            places.append((path, None, data))
            continue
        out.write(data)
        places.append((path, offset, len(data)))
        offset += len(data)
    out.flush()
    return places


def write_email(site, digest, templates: tuple[Path, ...], paths: tuple[str, ...], writer: Writer) -> None:
    """Write the email files of `digest` that `paths` names (the others are already published)."""
    pages = mail.email_pages(site, digest, templates)
    for path in paths:
        writer.put(path, pages[path])


def RenderHelper() -> ForkedJob | None:
    """A second process for rendering, forked at the start of the build, while this process is
    small. It is sent each page to render (`render_site`), so unlike a worker forked after
    assembling, it never holds (and, by touching it, copies) the build's data: at 100k papers
    that copy was a gigabyte. None where processes cannot be forked."""
    job = ForkedJob(_render_stream)
    return job if job.forked else None


def _render_stream(items, writer: Writer, templates: tuple[Path, ...], settings: RenderSettings) -> tuple:
    """The render helper: render and write each page or email it is sent, until None; returns
    what it wrote, for the build to merge into its writer."""
    gc.set_threshold(*HELPER_COLLECT)
    renderer = Renderer(settings, templates)
    for kind, paths, record in received(items):
        inputs = pickle.loads(record)
        if kind == "page":
            writer.put(paths[0], renderer.render(inputs[0]))
        else:
            write_email(settings, inputs[0], templates, paths, writer)
    return writer.manifest, writer.bytes_written, writer.unchanged
