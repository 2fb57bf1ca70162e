"""The search index: built with lunr.py, answered identically by lunr.js."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lunr import lunr
from lunr.index import Index
from lunr.token import Token

from sitegen import cache, config, search
from sitegen.build import assemble_only, build
from sitegen.config import Config

from conftest import load_manifest, load_shard, search_store

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
    # boosts and mixed
    "consistency^10 distillation", "stable diffusion^2 video", "training", "trained",
]


def node(*args: str, queries: list[str]) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is required for the lunr.js parity tests"
    proc = subprocess.run([node, str(ROOT / "tests" / "js" / "query.js"), *args], input=json.dumps(queries),
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


def shards(site: Path) -> list[tuple[dict, Path]]:
    manifest = load_manifest((site / "search" / "manifest.js").read_text())
    return [(entry, site / "search" / entry["file"]) for entry in manifest["shards"]]


@pytest.fixture(scope="module")
def seed_documents() -> list[search.SearchDocument]:
    """The seed papers as the build gives them to the index, in catalogue order (refs p0, p1, ...)."""
    return search.documents(assemble_only(config.load(ROOT / "sitegen.toml")).papers)


def test_shards_expand_in_the_browser_to_exactly_what_lunr_py_wrote(seed_site, seed_documents):
    plan = search.plan_shards(seed_documents)
    for shard, index in zip(plan, search.build_indexes([list(s.docs) for s in plan])):
        expanded = node("--expand", str(seed_site / shard.path), queries=[])
        wrote = index.serialize()
        assert expanded["fieldVectors"] == wrote["fieldVectors"], shard.id
        assert dict(expanded["invertedIndex"]) == dict(wrote["invertedIndex"]), shard.id
        assert [t for t, _ in expanded["invertedIndex"]] == sorted(t for t, _ in wrote["invertedIndex"])
        assert {k: v for k, v in expanded.items() if k not in ("fieldVectors", "invertedIndex")} == \
            {k: v for k, v in wrote.items() if k not in ("fieldVectors", "invertedIndex")}


def test_lunr_js_answers_exactly_as_lunr_py_in_every_shard(seed_site, seed_documents):
    assert len(QUERIES) >= 30
    nonempty = 0
    plan = search.plan_shards(seed_documents)
    indexes = search.build_indexes([list(s.docs) for s in plan])
    for (entry, path), index in zip(shards(seed_site), indexes):
        js = node(str(path), queries=QUERIES)["answers"]
        for query, js_answer in zip(QUERIES, js):
            py = [[r["ref"], r["score"]] for r in index.search(query)]
            js_refs = [ref for ref, _ in js_answer]
            assert js_refs == [ref for ref, _ in py], f"{entry['id']}: {query!r}: lunr.js and lunr.py disagree"
            for (_, js_score), (_, py_score) in zip(js_answer, py):
                assert js_score == pytest.approx(py_score, abs=0.002), query
            nonempty += bool(py)
    assert nonempty >= 60  # the comparison is about real result lists, not empty ones


def test_merged_shards_score_every_paper_as_one_index_would(seed_site, seed_documents, tmp_path):
    """The point of archive-wide statistics: whatever shard a paper is in, its score for a query
    is the one a single index of the whole archive gives it, so merged results rank alike."""
    assert len(shards(seed_site)) == 3
    one = search.build_index(seed_documents)
    (tmp_path / "one.json").write_text(json.dumps(one.serialize()))
    answers = node("--merged", str(seed_site), str(tmp_path / "one.json"), queries=QUERIES)
    compared = 0
    for query, merged, single in zip(QUERIES, answers["merged"], answers["single"]):
        if isinstance(single, dict):
            assert merged == single, query  # the same syntax error
            continue
        assert dict(merged) == pytest.approx(dict(single), abs=1e-5), query
        assert [s for _, s in merged] == sorted((s for _, s in merged), reverse=True)
        compared += len(single)
    assert compared > 2000


def test_shard_vectors_equal_the_vectors_of_one_index():
    docs = [search.SearchDocument(search.ref_for(n), f"paper {n} about {w}", f"we study {w} and {v} at length {n % 7}",
                                  "lab" if n % 3 else "", "", (), "")
            for n, (w, v) in enumerate(zip(["diffusion", "models", "graphs", "video"] * 10, ["music", "text"] * 20))]
    one = search.build_index(docs)
    parts = search.build_indexes([docs[:5], docs[5:23], docs[23:]])

    def weights(index):
        terms = {posting["_index"]: term for term, posting in index.inverted_index.items()}
        return {ref: {terms[i]: s for i, s in zip(v.elements[::2], v.elements[1::2])} for ref, v in index.field_vectors.items()}
    merged = {}
    for part in parts:
        merged.update(weights(part))
    assert merged == weights(one)


def test_the_fast_shard_builder_writes_what_lunr_py_builds(seed_documents):
    """The build makes shards directly (two passes, one shard held at a time); the reference is
    lunr.py's own builder with the archive's statistics. Equal, shard by shard."""
    plan = search.plan_shards(seed_documents, most=200)
    groups = [list(s.docs) for s in plan]
    assert len(groups) == 4
    fast = list(search.compact_shards(groups))
    reference = [search.compact(index, docs) for index, docs in zip(search.build_indexes(groups), groups)]
    assert fast == reference
    one = list(search.compact_shards([seed_documents]))
    assert one == [search.compact(lunr(ref="ref", fields=search.FIELDS, documents=search.lunr_documents(seed_documents)),
                                  seed_documents)]


def test_known_documents_are_not_tokenised_again_and_the_files_stay_the_same(seed_documents, tmp_path, monkeypatch):
    """The build cache keeps each document's terms (`TermsMemo`): the next build tokenises only
    new or changed documents, and writes exactly what a build without the memo writes."""
    import dataclasses

    changed = list(seed_documents)
    changed[7] = dataclasses.replace(changed[7], abstract=changed[7].abstract + " Plus a zeugmatic coda.")
    del changed[100:140]  # papers gone: their terms leave the memo's vocabulary
    first = search.index_files(list(seed_documents), tmp_path)
    assert first == search.index_files(list(seed_documents))
    tokenised = []
    of = search._Terms.of
    monkeypatch.setattr(search._Terms, "of", lambda self, doc: tokenised.append(doc["title"]) or of(self, doc))
    assert search.index_files(list(seed_documents), tmp_path) == first
    assert tokenised == []
    with_memo = search.index_files(list(changed), tmp_path)
    assert tokenised == [changed[7].title]
    assert with_memo == search.index_files(list(changed))
    memo = search.TermsMemo(cache.load_memo(tmp_path, "search-terms"))
    assert len(memo.known) == len(changed)
    assert "zeugmat" in memo.ids
    fresh = search.TermsMemo()
    list(search.compact_shards([list(changed)], terms=fresh))
    assert set(memo.ids) == set(fresh.ids)  # the vocabulary holds only the terms still in use


def test_scores_are_rounded_to_thousandths_exactly_as_python_rounds_them():
    """`thousandths` takes numpy's fast way except beside a half, where Python's `round` decides:
    the same integers as `round(x, 3) * 1000` for random scores, exact halves (0.0625 is 62.5
    thousandths: ties go to even) and the floats either side of them."""
    import random

    import numpy as np

    rng = random.Random(6)
    values = [rng.uniform(0, 60) for _ in range(20000)] + [rng.uniform(0, 1) for _ in range(20000)]
    halves = [k / 16 for k in range(1, 800)] + [(2 * k + 1) / 2000 for k in range(5000)]
    values += halves + [np.nextafter(h, 0) for h in halves] + [np.nextafter(h, 100) for h in halves]
    values += [0.0, 1e-9, 123456.0005, 2.0 ** 45 + 0.5]
    expected = [int(np.rint(round(float(v), 3) * 1000)) for v in values]
    assert search.thousandths(np.asarray(values, dtype=np.float64)).tolist() == expected


def test_the_index_worker_frees_the_documents_it_was_sent(seed_documents):
    """The worker's copy of the archive's text is let go once tokenised (`consume`): the files
    are the same, and no document outlives the call."""
    import dataclasses
    import gc
    import weakref

    expected = search.index_files(list(seed_documents))
    own = [dataclasses.replace(d) for d in seed_documents]  # the worker's copy: nothing else holds it
    first = weakref.ref(own[0])
    assert search.index_files(own, consume=True) == expected
    assert own == []
    gc.collect()
    assert first() is None


def test_the_index_job_hands_back_what_index_files_makes(seed_documents):
    """The build's index worker is sent the documents in slices, writes the files into a
    temporary file as it makes them, and the build reads them back one at a time: the same
    paths and bytes, in the same order."""
    from sitegen.jobs import IndexJob

    expected = search.index_files(list(seed_documents))
    views = assemble_only(config.load(ROOT / "sitegen.toml")).papers
    job = IndexJob()
    job.CHUNK = 100  # several messages: the documents' refs go on counting across them
    job.send(views)
    assert list(job.files()) == list(expected.items())


def test_memo_builder_writes_exactly_what_lunr_py_writes(seed_documents):
    docs = search.lunr_documents(seed_documents)
    assert len(docs) == 508
    stock = lunr(ref="ref", fields=search.FIELDS, documents=docs)
    builder = search.MemoBuilder()
    builder.ref("ref")
    for field in search.FIELDS:
        builder.field(field["field_name"], boost=field.get("boost", 1))
    for doc in docs:
        builder.add(doc)
    assert json.dumps(builder.build().serialize()) == json.dumps(stock.serialize())


class _Pipeline:
    """A pipeline whose tokens become no term, one, two, or the empty term."""

    def run(self, tokens, field_name):
        out = []
        for t in tokens:
            word = str(t)
            if word == "the":
                continue
            if word == "coop":
                out += [Token("co"), Token("op")]
            elif word == "'":
                out.append(Token(""))
            else:
                out.append(Token(word.rstrip("s")))
        return out


@pytest.mark.parametrize("value", [
    "Cats and the dogs  chase cats' tails",
    "the the the",
    "A ' B '  coop\tmodels coop model",  # a token that becomes two terms: the general way
    "",
    None,
])
def test_terms_counted_in_c_equal_the_token_by_token_count(value):
    """`_field_terms` with a `single` map gives the same terms, in the same first-occurrence
    order, with the same counts and field length, as the token-by-token way."""
    general = search._field_terms(_Pipeline(), {}, value, "title")
    single: dict = {}
    fast = search._field_terms(_Pipeline(), {}, value, "title", single)
    again = search._field_terms(_Pipeline(), {}, value, "title", single)  # every token known now
    assert list(fast[0].items()) == list(general[0].items()) and fast[1] == general[1]
    assert list(again[0].items()) == list(general[0].items()) and again[1] == general[1]
    assert (search._MULTI in single.values()) == ("coop" in (value or ""))


def test_store_has_what_a_result_line_needs(seed_site):
    store = search_store(seed_site)
    papers = json.loads((seed_site / "papers.json").read_text())
    assert len(store) == len(papers) == 508
    title, url, dates, snippet = store["p0"]
    assert (seed_site / url).is_file()
    assert title and snippet and dates
    assert all(len(entry[3]) <= search.SNIPPET + 1 for entry in store.values())
    assert {entry[1] for entry in store.values()} == {p["url"] for p in papers}


def test_manifest_lists_the_shards_newest_first(seed_site):
    manifest = load_manifest((seed_site / "search" / "manifest.js").read_text())
    assert [(s["id"], s["label"]) for s in manifest["shards"]] == [
        ("2025-12", "December 2025"), ("2025-03", "March 2025"), ("undated", "Undated listings")]
    assert sum(s["papers"] for s in manifest["shards"]) == manifest["papers"] == 508
    for entry, path in shards(seed_site):
        data = load_shard(path.read_text())
        assert len(data["store"]) == len(data["refs"]) == len(data["vectors"]) == entry["papers"]
        assert entry["bytes"] == path.stat().st_size
    papers = {p["url"]: p for p in json.loads((seed_site / "papers.json").read_text())}
    for _, url, dates, _ in load_shard((seed_site / "search" / "shard-2025-12.js").read_text())["store"]:
        assert "2025-12-11" in papers[url]["dates"]


def test_index_has_no_positions_and_short_refs(seed_site):
    for _, path in shards(seed_site):
        raw = path.read_text()
        assert '"position"' not in raw
        assert all(re.fullmatch(r"p[0-9a-z]{1,3}", ref) for ref in load_shard(raw)["refs"])


def test_search_page_and_assets_exist(seed_site):
    page = (seed_site / "search.html").read_text()
    for asset in ("static/vendor/lunr.min.js", "static/lunr-shard.js", "search/manifest.js", "static/search.js"):
        assert f'src="{asset}"' in page and (seed_site / asset).is_file()
    assert "shard-" not in page  # shards are loaded by the script, newest first
    assert (seed_site / "static/vendor/lunr.min.js").read_bytes() == (ROOT / "node_modules/lunr/lunr.min.js").read_bytes()


def doc(n: int, month: str | None):
    return search.SearchDocument(search.ref_for(n), f"t{n}", "", "", "", (), "", month)


def test_shards_are_months_newest_first_undated_last_and_big_months_split():
    docs = [doc(0, "2024-01"), doc(1, None), doc(2, "2025-02"), doc(3, "2024-01")] + [doc(n, "2024-12") for n in range(4, 11)]
    plan = search.plan_shards(docs, most=3)
    assert [(s.id, s.label, [d.ref for d in s.docs]) for s in plan] == [
        ("2025-02", "February 2025", ["p2"]),
        ("2024-12", "December 2024 (1 of 3)", ["p4", "p5", "p6"]),
        ("2024-12-2", "December 2024 (2 of 3)", ["p7", "p8", "p9"]),
        ("2024-12-3", "December 2024 (3 of 3)", ["pa"]),
        ("2024-01", "January 2024", ["p0", "p3"]),
        ("undated", "Undated listings", ["p1"]),
    ]
    assert plan[0].path == "search/shard-2025-02.js"
    assert search.plan_shards([]) == []


def test_hostile_titles_are_data_in_the_search_files(tmp_path):
    (tmp_path / "l").mkdir()
    abstract = "We study </script><script>alert(1)</script> and \u2028 line separators in abstracts. " * 3
    (tmp_path / "l" / "x.txt").write_text(f"</script><img src=x onerror=alert(1)>\n{abstract}\n")
    files = build(Config(root=tmp_path, sources=("l",)), memory=True).memory
    (shard,) = [data.decode() for path, data in files.items() if path.startswith("search/shard-")]
    assert "\u2028" not in shard and "</script>" in shard  # inside a JSON string in a .js file: harmless
    assert search_store(files)["p0"][0] == "</script><img src=x onerror=alert(1)>"


@pytest.mark.parametrize("n,ref", [(0, "p0"), (35, "pz"), (36, "p10"), (1295, "pzz"), (1296, "p100")])
def test_refs_are_base36(n, ref):
    assert search.ref_for(n) == ref


def test_a_large_shard_is_called_out():
    sizes = search.index_size({"search/manifest.js": 10, "search/shard-a.js": 100, "search/shard-b.js": 50})
    assert sizes == {"raw": 150, "shards": 2, "largest_raw": 100}
    assert search.size_notes(sizes) == []
    (note,) = search.size_notes({"raw": 40_000_000, "shards": 2, "largest_raw": 20_000_000})
    assert note.startswith("a search shard is 20 MB raw")
