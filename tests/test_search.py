"""The search index: split by term, answered in the browser as one lunr index would answer.

The oracle is the lunr package itself: `lunr.lunr(...)` builds one index of the whole archive,
lunr.js answers from it, and static/search-engine.js must give the same papers, in the same
order, with the same scores, from the partitioned files.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from lunr import get_default_builder, lunr

from sitegen import cache, config, search
from sitegen.build import assemble_only, build
from sitegen.config import Config
from sitegen.search_terms import BOOSTS, FIELDS, Analyzer

from conftest import catalogue, load_index_file, load_manifest, search_store

ROOT = Path(__file__).resolve().parent.parent
QUERIES = [
    # words
    "diffusion", "stable", "consistency models", "language", "graph neural networks", "quantization",
    "reinforcement learning", "video generation", "the", "transformer attention", "zzzznotaword",
    # prefixes and suffix wildcards
    "diffus*", "consist*", "stab*", "*former", "gen*ation", "lora*",
    # fuzzy
    "difusion~1", "stabel~2", "consistancy~1", "transformr~1",
    # field-scoped
    "title:stable", "abstract:stable", "title:consistency title:models", "title:diffus*", "organization:epfl",
    # presence
    "+stable +diffusion", "+stable -diffusion", "+consistency -music", "-diffusion +video", "+title:graph +networks",
    "-diffusion",
    # boosts and mixed
    "consistency^10 distillation", "stable diffusion^2 video", "training", "trained", "title:video^5 generation~1",
    # lunr syntax errors
    "title:", "+",
]


def node(*args: str, queries: list[str]) -> list:
    node = shutil.which("node")
    assert node, "Node.js is required for the search engine tests"
    proc = subprocess.run([node, str(ROOT / "tests" / "js" / "query.js"), *args], input=json.dumps(queries),
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def seed_documents() -> list[search.SearchDocument]:
    """The seed papers as the build gives them to the index, in catalogue order."""
    return search.documents(assemble_only(config.load(ROOT / "sitegen.toml")).papers)


@pytest.fixture(scope="module")
def one_index(seed_documents, tmp_path_factory) -> Path:
    """The oracle: one lunr.py index of the whole seed archive, as JSON for lunr.js."""
    index = lunr(ref="ref", fields=[{"field_name": f, "boost": b} for f, b in zip(FIELDS, BOOSTS)],
                 documents=search.lunr_documents(seed_documents))
    path = tmp_path_factory.mktemp("one") / "one.json"
    path.write_text(json.dumps(index.serialize()))
    return path


@pytest.fixture(scope="module")
def tiered_index(seed_documents, tmp_path_factory) -> Path:
    """The seed papers' search index in two tiers (the first 400 papers, and the other 108), as
    a site's search folder: the engine must answer from it as from one tier."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(search, "RECENT_PAPERS", 200)
        files = search.index_files(seed_documents)
    site = tmp_path_factory.mktemp("tiered")
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    return site


def index_files(site: Path) -> dict[str, object]:
    """Every file of a site's search index but the manifest, by key ("t0", "d3", ...)."""
    return dict(load_index_file(p.read_text()) for p in (site / "search").glob("*/*.js"))


@pytest.mark.parametrize("site", ["seed_site", "tiered_index"])
def test_the_engine_answers_every_query_as_one_lunr_index_of_the_archive(site, one_index, request):
    partitioned = node(str(request.getfixturevalue(site)), queries=QUERIES)
    single = node("--one", str(one_index), queries=QUERIES)
    compared = 0
    for query, mine, theirs in zip(QUERIES, partitioned, single):
        if isinstance(theirs, dict):
            assert mine == theirs, query  # the same syntax error, word for word
            continue
        assert [ref for ref, _ in mine] == [ref for ref, _ in theirs], f"{query!r}: not the same papers in the same order"
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-12, abs=1e-12), query
        compared += len(theirs)
    assert compared > 4000  # real result lists, not empty ones
    assert sum(isinstance(a, dict) for a in single) == 2


def test_postings_are_what_lunr_py_counts(seed_documents):
    """Per paper and field: the terms and counts lunr.py's builder records, and the field
    length it uses for BM25; and each field's total, which gives lunr's average length."""
    reference = get_default_builder()
    reference.ref("ref")
    for f, b in zip(FIELDS, BOOSTS):
        reference.field(f, boost=b)
    for doc in search.lunr_documents(seed_documents):
        reference.add(doc)
    postings = search.Postings(Analyzer())
    for d in seed_documents:
        postings.add(d)
    rows, _ = postings.rows(postings.terms()[0])
    seen = Counter()
    for term, *fields in rows:
        for field, flat in zip(FIELDS, fields):
            paper = 0
            for i in range(0, len(flat), 3):
                paper += flat[i]
                ref = f"{field}/p{paper}"
                assert reference.field_term_frequencies[ref][term] == flat[i + 1], (ref, term)
                assert reference.field_lengths[ref] == flat[i + 2], ref
                seen[ref] += 1
    assert all(len(reference.field_term_frequencies[ref]) == n for ref, n in seen.items())
    assert sum(seen.values()) == sum(len(t) for t in reference.field_term_frequencies.values())
    for f, field in enumerate(FIELDS):
        assert postings.lengths[f] == sum(n for ref, n in reference.field_lengths.items() if ref.startswith(field + "/"))


def test_positions_are_where_each_term_occurs():
    analyzer = Analyzer()
    at, length = analyzer.field("The GPT-4 models and the GPT-4o model: text-to-image models")
    assert at["gpt"] == [1, 6] and at["4"] == [2] and at["4o"] == [7] and at["model"] == [3, 8, 12]
    assert at["text"] == [9] and at["imag"] == [11] and "to" not in at and "the" not in at
    assert length == 9  # terms the pipeline made: stop words are not counted


@pytest.mark.parametrize("site", ["seed_site", "tiered_index"])
def test_every_term_is_in_the_chunk_the_manifest_points_to(site, seed_documents, request):
    firsts = [0] if site == "seed_site" else [0, 400]  # 508 papers: one tier of 1024, or of 200 and the rest
    site = request.getfixturevalue(site)
    manifest = load_manifest((site / "search" / "manifest.js").read_text())
    files = index_files(site)
    tiers = manifest["tiers"]
    assert [t["first"] for t in tiers] == firsts and [t["name"] for t in tiers] == list(search.TIER_NAMES[:len(tiers)])
    every = set()
    for n, tier in enumerate(tiers):
        name, last = tier["name"], tiers[n + 1]["first"] if n + 1 < len(tiers) else len(seed_documents)
        terms = [row[0] for k in range(len(tier["terms"])) for row in files[f"t{name}{k}"]]
        js_order = sorted(terms, key=lambda t: t.encode("utf-16-be", "surrogatepass"))
        assert terms == js_order and len(set(terms)) == len(terms) > 1000
        for k, first in enumerate(tier["terms"]):
            rows = files[f"t{name}{k}"]
            assert rows[0][0] == first
            assert len(files[f"p{name}{k}"]) == len(rows)  # positions: one row per term of the chunk
            size = sum(len(json.dumps(row)) for row in rows)
            assert size < 2 * search.TERM_CHUNK or len(rows) == 1  # only a common word's postings are bigger
            for row in rows:  # a tier holds its own papers' postings, and only theirs
                for flat in row[1:]:
                    papers = [sum(flat[0:i + 1:3]) for i in range(0, len(flat), 3)]
                    assert all(tier["first"] <= p < last for p in papers), (name, row[0])
        words = [w for k in range(len(tier["words"])) for w in files[f"w{name}{k}"]]
        assert words == terms
        assert [files[f"w{name}{k}"][0] for k in range(len(tier["words"]))] == tier["words"]
        every.update(terms)
    assert len(every) > 5000
    assert manifest["papers"] == 508 and manifest["fields"] == list(FIELDS) and manifest["store"] == search.STORE_PAPERS


def test_a_tier_s_files_stay_the_same_when_papers_are_added_after_it(seed_documents, monkeypatch):
    """Adding papers (a new day) rewrites only the recent tier's files (and the manifest and the
    new papers' documents): the papers before the tier boundary keep their files byte for byte."""
    monkeypatch.setattr(search, "RECENT_PAPERS", 200)
    before, after = search.index_files(seed_documents[:450]), search.index_files(seed_documents)
    first_tier = {path for path in after if re.fullmatch(r"search/[tpw]/\d+\.js", path)}
    assert len(first_tier) > 20 and all(after[path] == before[path] for path in first_tier)
    recent = [path for path in after if re.fullmatch(r"search/[tpw]/r\d+\.js", path)]
    assert recent and any(after[path] != before.get(path) for path in recent)


def test_an_unchanged_first_tier_is_kept_as_published(seed_documents, tmp_path, monkeypatch):
    """With the last build's site, its manifest and its cache, a build whose first tier holds the
    same papers' text keeps that tier's files as published (`KeptFile`s, not read): with them,
    the files are the cold build's; a published file that was changed, or a changed paper of
    the tier, means the tier is made again, and the result is still the cold build's."""
    monkeypatch.setattr(search, "RECENT_PAPERS", 200)
    cache_dir, site = tmp_path / "cache", tmp_path / "site"

    def publish(files: dict) -> dict[str, list]:
        """The files written as the writer keeps them (a kept one as it was), and their manifest."""
        kept = {path: (site / path).read_bytes() for path, data in files.items() if isinstance(data, search.KeptFile)}
        assert all(hashlib.blake2b(kept[path], digest_size=16).hexdigest() == files[path].digest for path in kept)
        shutil.rmtree(site, ignore_errors=True)
        manifest = {}
        for path, data in {**files, **kept}.items():
            (site / path).parent.mkdir(parents=True, exist_ok=True)
            (site / path).write_bytes(data)
            st = (site / path).stat()
            manifest[path] = [st.st_size, st.st_mtime_ns, hashlib.blake2b(data, digest_size=16).hexdigest()]
        return manifest

    def site_files() -> dict[str, bytes]:
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*.js")}

    made = []
    original = search.Postings.rows
    monkeypatch.setattr(search.Postings, "rows", lambda self, run: made.append(run[0][0]) or original(self, run))
    manifest = publish(search.index_files(seed_documents[:450], cache_dir, site))
    made.clear()
    later = search.index_files(seed_documents, cache_dir, site, manifest)
    recent = len(made)  # term chunks made: the recent tier's only
    first_tier = [path for path, data in later.items() if isinstance(data, search.KeptFile)]
    assert all(re.fullmatch(r"search/[tpw]/\d+\.js", path) for path in first_tier) and len(first_tier) > 10
    manifest = publish(later)
    assert site_files() == search.index_files(seed_documents, None)
    assert 0 < recent and recent + len([p for p in first_tier if "/t/" in p]) == len(made) - recent  # (cold: both)
    (site / first_tier[3]).write_bytes(b"changed by hand")
    made.clear()
    again = search.index_files(seed_documents, cache_dir, site, manifest)
    assert not any(isinstance(data, search.KeptFile) for data in again.values())  # the first tier was made again
    assert again == search.index_files(seed_documents, None)
    manifest = publish(again)  # a file replaced by a link, even to the right bytes, is not kept
    (tmp_path / "elsewhere.js").write_bytes((site / first_tier[3]).read_bytes())
    (site / first_tier[3]).unlink()
    (site / first_tier[3]).symlink_to(tmp_path / "elsewhere.js")
    assert search.index_files(seed_documents, cache_dir, site, manifest) == again
    changed = [dataclasses.replace(seed_documents[5], title="A Changed Title")] + seed_documents[6:]
    renumbered_docs = renumbered(seed_documents[:5] + changed)
    assert search.index_files(renumbered_docs, cache_dir, site, manifest) == search.index_files(renumbered_docs, None)


def test_tiers_answer_phrases_prefixes_and_typos_as_one_tier(seed_site, tiered_index):
    texts = ["diffusion models ", "transfor", '"stable diffusion"', "GPT-4 ", "difusion ", "*former", "consistency mod"]
    one, two = (node("--find", str(site), queries=texts) for site in (seed_site, tiered_index))
    for text, a, b in zip(texts, one, two):
        assert a["results"] and a["results"] == b["results"], text
        assert a["mode"] == b["mode"], text


def test_document_chunks_have_what_a_result_shows(seed_site, seed_documents):
    store = search_store(seed_site)
    papers = catalogue(seed_site)
    assert len(store) == len(papers) == 508
    for d in seed_documents:
        title, url, dates, abstract = store[f"p{d.number}"]
        assert (title, url, tuple(dates), abstract) == (d.title, d.url, d.dates, d.abstract)
        assert (seed_site / url).is_file()
    assert {entry[1] for entry in store.values()} == {p["url"] for p in papers}
    assert not any(re.search(r"\d{3}_[0-9a-f]{16}\.txt", date) for entry in store.values() for date in entry[2])


def test_a_query_loads_only_the_files_its_words_need(seed_site):
    manifest = load_manifest((seed_site / "search" / "manifest.js").read_text())
    texts = ["diffusion models ", "transfor", '"stable diffusion"', "GPT-4 ", "difusion ", "*former"]
    answers = dict(zip(texts, node("--find", str(seed_site), queries=texts)))
    kinds = {t: Counter(key[0] for key in a["loaded"]) for t, a in answers.items()}
    assert kinds["diffusion models "] == {"t": 2}  # one term chunk a word, nothing else
    assert kinds["transfor"]["w"] == 1 and kinds["transfor"]["p"] == 0  # a prefix looks through one word chunk
    assert kinds['"stable diffusion"']["p"] >= 1 and kinds["GPT-4 "]["p"] >= 1  # positions for phrases, names
    assert kinds["difusion "]["w"] == 1  # a typo looks only among words starting with its letter
    assert kinds["*former"]["w"] == sum(len(t["words"]) for t in manifest["tiers"])  # a leading wildcard: every word


def find(site: Path, *texts: str) -> dict[str, dict]:
    return dict(zip(texts, node("--find", str(site), queries=list(texts))))


def titles(site: Path, answer: dict, n: int = 5) -> list[str]:
    store = search_store(site)
    return [store[ref][0] for ref, *_ in answer["results"][:n]]


def test_every_word_is_required_and_any_word_is_the_fallback(seed_site):
    answers = find(seed_site, "consistency models ", "consistency zebra ", "consistency")
    both, fallback, one = answers.values()
    assert both["mode"] == "all" and 0 < len(both["results"]) < len(one["results"])
    assert all({"consist", "model"} <= set(terms) for *_, terms in both["results"])
    assert fallback["mode"] == "any" and len(fallback["results"]) == len(one["results"])


def test_the_last_word_matches_as_a_prefix_while_typed(seed_site):
    answers = find(seed_site, "transfor", "quantiz", "segmen", "video gen", "transfor ")
    for text in ("transfor", "quantiz", "segmen", "video gen"):
        assert answers[text]["mode"] == "all" and answers[text]["results"], text
    assert any("Transformer" in t for t in titles(seed_site, answers["transfor"], 20))
    assert all("video" in terms for *_, terms in answers["video gen"]["results"])
    assert answers["transfor "]["mode"] != "all"  # a finished word is a word: taken as a typo


def test_quoted_phrases_match_words_in_sequence(seed_site):
    answers = find(seed_site, '"stable diffusion"', "stable diffusion ", '"diffusion stable"')
    phrase, words, reversed_ = answers.values()
    assert phrase["results"] and len(phrase["results"]) < len(words["results"])
    store = search_store(seed_site)
    for ref, *_ in phrase["results"]:
        title, _, _, abstract = store[ref]
        assert re.search(r"stable[\s-]+diffusion", f"{title} {abstract}", re.I), ref
    assert phrase["mode"] == "all" and reversed_["mode"] == "any"  # no paper says "diffusion stable": any word


@pytest.mark.parametrize("name,whole", [("GPT-4", r"GPT-4\b"), ("Llama-3", r"Llama-3\b"), ("4-bit", r"4-bit"),
                                        ("Text-to-Image", r"text\W+\w+\W+image")])  # a stop word's place takes any word
def test_hyphenated_names_rank_papers_holding_them_whole_first(seed_site, name, whole):
    (answer,) = find(seed_site, name + " ").values()
    store = search_store(seed_site)
    flags = [w for _, _, w, _ in answer["results"]]
    assert flags and flags[0] and flags == sorted(flags, reverse=True)  # whole matches, then the rest
    for ref, _, is_whole, _ in answer["results"]:
        title, _, _, abstract = store[ref]
        assert bool(re.search(whole, f"{title} {abstract}", re.I)) == is_whole, (name, title)


def test_gpt_4_no_longer_ranks_a_4_bit_paper_first(seed_site):
    (answer,) = find(seed_site, "GPT-4").values()
    first = titles(seed_site, answer, 1)[0]
    assert "4-Bit" not in first and "4-bit" not in first


def test_a_typo_finds_its_word(seed_site):
    answers = find(seed_site, "difusion", "difusion ", "consistancy models", "xqzzyv")
    assert answers["difusion"]["mode"] == "typo" and "diffus" in answers["difusion"]["results"][0][3]
    assert answers["difusion "]["results"] == answers["difusion"]["results"]
    assert answers["consistancy models"]["results"]
    assert answers["xqzzyv"]["results"] == []


def test_titles_outrank_abstracts(seed_site):
    (answer,) = find(seed_site, "consistency ").values()
    store = search_store(seed_site)
    analyzer = Analyzer()
    in_title = ["consist" in analyzer.field(store[ref][0])[0] for ref, *_ in answer["results"]]
    assert 20 < sum(in_title) < len(in_title)
    assert in_title == sorted(in_title, reverse=True)


def test_lunr_syntax_is_lunr_and_its_errors_are_messages(seed_site):
    answers = find(seed_site, "title:", "+stable -diffusion", "difusion~1")
    assert answers["title:"]["mode"] == "syntax" and "expecting term" in answers["title:"]["error"]
    assert answers["+stable -diffusion"]["mode"] == "syntax" and answers["+stable -diffusion"]["results"]
    assert answers["difusion~1"]["results"]


def test_stop_words_are_not_required(seed_site):
    answers = find(seed_site, "the diffusion of ", "diffusion ")
    assert answers["the diffusion of "]["results"] == answers["diffusion "]["results"]


def test_hostile_titles_are_data_in_the_search_files(tmp_path):
    (tmp_path / "l").mkdir()
    abstract = "We study </script><script>alert(1)</script> and \u2028 line separators in abstracts. " * 3
    (tmp_path / "l" / "x.txt").write_text(f"</script><img src=x onerror=alert(1)>\n{abstract}\n")
    files = build(Config(root=tmp_path, sources=("l",)), memory=True).memory
    texts = [data.decode() for path, data in files.items() if path.startswith("search/")]
    assert not any("\u2028" in t for t in texts) and any("</script>" in t for t in texts)
    assert search_store(files)["p0"][0] == "</script><img src=x onerror=alert(1)>"


def test_known_words_are_not_stemmed_again_and_the_files_stay_the_same(seed_documents, tmp_path, monkeypatch):
    cold = search.index_files(seed_documents, tmp_path)
    assert (tmp_path / "lunr-pipeline-0.8.0.json").is_file()
    calls = []
    original = Analyzer.terms
    monkeypatch.setattr(Analyzer, "terms", lambda self, token: calls.append(token) or original(self, token))
    warm = search.index_files(seed_documents, tmp_path)
    assert warm == cold
    assert not [t for t in calls if t not in search._load_memo(tmp_path)]


def renumbered(docs: list[search.SearchDocument]) -> list[search.SearchDocument]:
    return [dataclasses.replace(d, number=n) for n, d in enumerate(docs)]


def edits(docs: list[search.SearchDocument]) -> dict[str, list[search.SearchDocument]]:
    """What a later build's papers may be, against an earlier one's: each as a user's change
    makes it (a new day appended, a paper gone, an abstract edited, papers in another order,
    a paper merged into an earlier one, new words nobody indexed before)."""
    new = [dataclasses.replace(docs[n], title=f"Fresh {docs[n].title} zyxwordnew{n}") for n in range(5)]
    edited = list(docs)
    edited[7] = dataclasses.replace(edited[7], abstract=edited[7].abstract + " With a new closing sentence.")
    return {
        "day added": renumbered(docs + new),
        "paper removed": renumbered(docs[:20] + docs[21:]),
        "abstract edited": edited,
        "order changed": renumbered(docs[100:] + docs[:100]),
        "paper dropped and words gone": renumbered(docs[1:]),
        "same": list(docs),
    }


@pytest.mark.parametrize("change", ["day added", "paper removed", "abstract edited", "order changed",
                                    "paper dropped and words gone", "same"])
def test_postings_reused_from_the_last_build_give_the_cold_builds_files(seed_documents, tmp_path, change):
    """The index copies each paper's occurrences from the last build where its text is the
    same, and analyses only the rest: the files are byte for byte those of a build without."""
    docs = list(seed_documents)
    search.index_files(docs, tmp_path)  # the last build: its postings saved in the cache
    assert search._load_postings(tmp_path).keys
    later = edits(docs)[change]
    analysed = []
    original = search.Postings.add

    def add(self, doc):
        before = self.reused + (self._run[2] if self._run else 0)
        original(self, doc)
        if self.reused + (self._run[2] if self._run else 0) == before:
            analysed.append(doc.number)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(search.Postings, "add", add)
        warm = search.index_files(later, tmp_path)
    assert warm == search.index_files(later, None)
    expected = {"day added": 5, "abstract edited": 1}.get(change, 0)
    assert len(analysed) == expected, "only papers whose text is new are analysed"
    assert search.index_files(later, tmp_path) == warm  # and again, from what this build saved


def test_irregular_positions_are_reused_as_saved(seed_documents, tmp_path, monkeypatch):
    """A token the pipeline turns into two terms (none does today: a step may) keeps both at
    the token's place when its paper is copied from the last build."""
    original = Analyzer.terms
    monkeypatch.setattr(Analyzer, "terms", lambda self, token: ["split", "token"] if token == "diffusion"
                        else original(self, token))
    docs = list(seed_documents)
    search.index_files(docs, None)
    first = search.index_files(docs, tmp_path)
    assert search._load_postings(tmp_path).irregular
    later = edits(docs)["order changed"]
    assert search.index_files(later, tmp_path) == search.index_files(later, None)
    search.index_files(later, tmp_path / "fresh")  # what is saved of the same papers analysed afresh
    assert search._load_postings(tmp_path).irregular == search._load_postings(tmp_path / "fresh").irregular
    again = renumbered(later[50:] + later[:50])  # copied from the positions the last build copied
    assert search.index_files(again, tmp_path) == search.index_files(again, None)
    assert first == search.index_files(docs, None)


@pytest.fixture(scope="module")
def seed_parts() -> tuple:
    """The seed papers' parts, in catalogue order, as the build sends them to the index worker."""
    return assemble_only(config.load(ROOT / "sitegen.toml")).papers


def test_chunks_as_the_last_build_made_them_are_sent_by_number_and_kept(seed_parts, tmp_path):
    """What the build sends the index worker (`sent_inputs`) and what the worker makes of it
    (`iter_index_files`): a paper goes by its number alone where its whole document chunk is
    as the last build made and published it, and that chunk comes back as a `KeptFile`; every
    other file is made, and with the kept ones as published, the files are the cold build's.
    A grown last chunk, a changed paper, a published chunk that is not as made, or a build
    without the last one's postings, each means what it reaches is made again."""
    def sent(papers, manifest) -> list:
        stored = search.load_stored(tmp_path) if manifest else None
        out = []
        for start in range(0, len(papers), 8):  # (the build sends 2,000 papers a message)
            keys, items = search.sent_inputs(papers[start:start + 8], start, len(papers), stored, manifest)
            out.extend(search.documents_from(items, keys))
        return out

    def manifest(files: dict[str, bytes]) -> dict[str, list]:
        return {path: [len(data), 0, hashlib.blake2b(data, digest_size=16).hexdigest()] for path, data in files.items()}

    def published(files: dict, before: dict[str, bytes]) -> dict[str, bytes]:
        return {path: before[path] if isinstance(data, search.KeptFile) else data for path, data in files.items()}

    parts = seed_parts
    first = search.index_files(sent(parts[:-5], {}), tmp_path)
    docs = sent(parts, manifest(first))
    by_number = [d for d in docs if type(d) is int]
    assert by_number == list(range((len(parts) - 5) // 4 * 4)), "every chunk but the last, which grew"
    later = search.index_files(docs, tmp_path)
    assert published(later, first) == search.index_files(search.documents(parts), None)
    assert [search.KeptFile(k, hashlib.blake2b(first[p], digest_size=16).hexdigest()) for k, p in
            enumerate(sorted((p for p in first if p.startswith("search/d/")), key=lambda p: int(p[9:-3])))
            ][:len(by_number) // 4] == [d for d in later.values() if isinstance(d, search.KeptFile)]
    later = published(later, first)

    edited = list(parts)
    text = edited[9].text
    edited[9] = dataclasses.replace(edited[9], text=dataclasses.replace(text, abstract_text=text.abstract_text + " More."))
    changed = dict(manifest(later), **{"search/d/20.js": [1, 0, "0" * 32]})  # as if changed by hand
    docs = sent(tuple(edited), changed)
    assert [n for n in range(len(parts)) if n not in docs] == [8, 9, 10, 11, 80, 81, 82, 83]
    again = search.index_files(docs, tmp_path)
    assert published(again, later) == search.index_files(search.documents(tuple(edited)), None)

    mixed = sent(tuple(edited), manifest(published(again, later)))
    assert mixed[:4] == [0, 1, 2, 3]
    mixed[0] = search.documents(tuple(edited[:1]))[0]  # a chunk of a document and numbers
    with pytest.raises(search.StaleIndex):
        search.index_files(mixed, tmp_path)

    path = cache.memo_path(tmp_path, search.POSTINGS)
    path.write_bytes(path.read_bytes()[:-200])  # the postings of another build than `Stored` says
    with pytest.raises(search.StaleIndex):
        search.index_files(sent(tuple(edited), manifest(published(again, later))), tmp_path)


def test_a_kept_file_changed_while_the_site_is_built_is_made_again_or_one_line(tmp_path):
    """A kept file the writer does not find as the last build published it: a document chunk is
    made by the build (`IndexJob.remake`); a first tier's file, which only the worker can make,
    stops the build with one line (the worker found it as made a moment before)."""
    from sitegen.build import QUIET
    from sitegen.errors import BuildError
    from sitegen.output import Writer
    from sitegen.rendering import _add_index

    site = tmp_path / "site"
    (site / "search" / "t").mkdir(parents=True)
    (site / "search" / "d").mkdir(parents=True)
    manifest = {}
    for path in ("search/t/0.js", "search/d/0.js"):
        (site / path).write_bytes(b"as made")
        st = (site / path).stat()
        manifest[path] = [st.st_size, st.st_mtime_ns, hashlib.blake2b(b"as made", digest_size=16).hexdigest()]
        (site / path).write_bytes(b"changed meanwhile")

    class Index:
        def __init__(self, path, number):
            self.path, self.number = path, number

        def files(self):
            yield self.path, search.KeptFile(self.number, manifest[self.path][2])

        def remake(self, kept):
            return b"made again %d" % kept.number

    writer = Writer(tmp_path / "new", site, manifest)
    _add_index(writer, Index("search/d/0.js", 0), QUIET)
    assert (tmp_path / "new" / "search/d/0.js").read_bytes() == b"made again 0"
    with pytest.raises(BuildError) as e:
        _add_index(writer, Index("search/t/0.js", None), QUIET)
    assert str(e.value) == "search/t/0.js in the output folder changed while the site was being built; build again"


def test_damaged_saved_postings_cost_only_time(seed_documents, tmp_path):
    docs = list(seed_documents)
    search.index_files(docs, tmp_path)
    path = cache.memo_path(tmp_path, search.POSTINGS)
    path.write_bytes(path.read_bytes()[:-200] + b"x" * 200)
    assert search._load_postings(tmp_path) is None
    assert search.index_files(renumbered(docs[1:]), tmp_path) == search.index_files(renumbered(docs[1:]), None)


def test_chunks_are_cut_by_size_in_order():
    assert search.chunk(list("abcdef"), lambda x: 4 if x == "c" else 1, 3) == [["a", "b"], ["c"], ["d", "e", "f"]]
    assert search.chunk([], len, 3) == []


def test_the_build_reports_the_index_size():
    sizes = search.index_size({"search/manifest.js": 10, "search/t/0.js": 100, "search/t/1.js": 50, "search/d/0.js": 7})
    assert sizes == {"raw": 167, "files": 4, "largest_raw": 100}


def test_search_page_and_assets_exist(seed_site):
    page = (seed_site / "search.html").read_text()
    for asset in ("search/manifest.js", "static/search.js"):
        assert f'src="{asset}"' in page and (seed_site / asset).is_file()
    # loaded by search.js where the engine runs: in the worker, or on the page
    for attribute, asset in (("data-lunr", "static/vendor/lunr.min.js"), ("data-engine", "static/search-engine.js"),
                             ("data-worker", "static/search-worker.js")):
        assert f'{attribute}="{asset}"' in page and (seed_site / asset).is_file()
    assert (seed_site / "static/vendor/lunr.min.js").read_bytes() == (ROOT / "node_modules/lunr/lunr.min.js").read_bytes()


def test_terms_outside_the_bmp_are_ordered_and_found_as_javascript_compares(tmp_path, monkeypatch):
    """Chunks are cut in JavaScript's string order (UTF-16 code units), where U+1D400 (a
    surrogate pair, D835 DC00) sorts before U+FF21, unlike Python's code point order; with a
    chunk per term, the engine finds every term through the manifest's binary search."""
    monkeypatch.setattr(search, "TERM_CHUNK", 1)
    monkeypatch.setattr(search, "WORD_CHUNK", 1)
    words = ["\U0001d400bold", "\uff21wide", "plain", "zebra", "\u00e9t\u00e9"]
    docs = [search.SearchDocument(n, f"{w} paper", f"about {w}", "", f"papers/{n}.html", ())
            for n, w in enumerate(words)]
    files = search.index_files(docs)
    site = tmp_path / "site"
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    manifest = load_manifest(files["search/manifest.js"].decode())
    firsts = manifest["tiers"][0]["terms"]
    assert firsts == sorted(firsts, key=lambda t: t.encode("utf-16-be", "surrogatepass"))
    assert firsts != sorted(firsts)  # the two orders differ here
    answers = node("--find", str(site), queries=[w + " " for w in words])
    for n, (word, answer) in enumerate(zip(words, answers)):
        assert [ref for ref, *_ in answer["results"]] == [f"p{n}"], (word, answer)
