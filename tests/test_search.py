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

from sitegen import search
from sitegen.build import build
from sitegen.config import Config

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


def js_answers(site: Path, queries: list[str]) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is required for the lunr.js parity test"
    proc = subprocess.run([node, str(ROOT / "tests" / "js" / "query.js"), str(site)], input=json.dumps(queries),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def load_js_global(path: Path, name: str):
    text = path.read_text(encoding="utf-8")
    prefix = f"window.{name}="
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix):-2])


def test_lunr_js_answers_exactly_as_lunr_py(seed_site):
    assert len(QUERIES) >= 30
    index = Index.load(load_js_global(seed_site / "search" / "index.js", "SITEGEN_INDEX"))
    js = js_answers(seed_site, QUERIES)["answers"]
    nonempty = 0
    for query, js_answer in zip(QUERIES, js):
        py = [[r["ref"], r["score"]] for r in index.search(query)]
        js_refs = [ref for ref, _ in js_answer]
        assert js_refs == [ref for ref, _ in py], f"{query!r}: lunr.js and lunr.py disagree"
        for (_, js_score), (_, py_score) in zip(js_answer, py):
            assert js_score == pytest.approx(py_score, abs=0.002), query
        nonempty += bool(py)
    assert nonempty >= 30  # the comparison is about real result lists, not empty ones


def test_memo_builder_writes_exactly_what_lunr_py_writes(seed_site):
    store = load_js_global(seed_site / "search" / "store.js", "SITEGEN_STORE")
    assert len(store) == 508
    docs = [{"ref": ref, "title": title, "abstract": "", "organization": ""} for ref, (title, *_rest) in store.items()]
    papers = json.loads((seed_site / "papers.json").read_text())
    for doc, paper in zip(docs, papers):
        doc["abstract"] = paper["abstract"]
        doc["organization"] = paper["organization"] or ""
    stock = lunr(ref="ref", fields=search.FIELDS, documents=docs)
    builder = search.MemoBuilder()
    builder.ref("ref")
    for field in search.FIELDS:
        builder.field(field["field_name"], boost=field.get("boost", 1))
    for doc in docs:
        builder.add(doc)
    assert json.dumps(builder.build().serialize()) == json.dumps(stock.serialize())


def test_store_has_what_a_result_line_needs(seed_site):
    store = load_js_global(seed_site / "search" / "store.js", "SITEGEN_STORE")
    papers = json.loads((seed_site / "papers.json").read_text())
    title, url, dates, snippet = store["p0"]
    assert (seed_site / url).is_file()
    assert title and snippet and dates
    assert all(len(entry[3]) <= search.SNIPPET + 1 for entry in store.values())
    assert {entry[1] for entry in store.values()} == {p["url"] for p in papers}


def test_index_has_no_positions_and_short_refs(seed_site):
    raw = (seed_site / "search" / "index.js").read_text()
    assert '"position"' not in raw
    index = load_js_global(seed_site / "search" / "index.js", "SITEGEN_INDEX")
    assert all(re.fullmatch(r"(title|abstract|organization)/p[0-9a-z]{1,3}", ref) for ref, _ in index["fieldVectors"])


def test_search_page_and_assets_exist(seed_site):
    page = (seed_site / "search.html").read_text()
    for asset in ("static/vendor/lunr.min.js", "search/index.js", "search/store.js", "static/search.js"):
        assert f'src="{asset}"' in page and (seed_site / asset).is_file()
    assert (seed_site / "static/vendor/lunr.min.js").read_bytes() == (ROOT / "node_modules/lunr/lunr.min.js").read_bytes()


def test_hostile_titles_are_data_in_the_search_files(tmp_path):
    (tmp_path / "l").mkdir()
    abstract = "We study </script><script>alert(1)</script> and \u2028 line separators in abstracts. " * 3
    (tmp_path / "l" / "x.txt").write_text(f"</script><img src=x onerror=alert(1)>\n{abstract}\n")
    files = build(Config(root=tmp_path, sources=("l",)), memory=True).memory
    store = files["search/store.js"].decode()
    assert "\u2028" not in store
    title = load_js_global_text(store, "SITEGEN_STORE")["p0"][0]
    assert title == "</script><img src=x onerror=alert(1)>"


def load_js_global_text(text: str, name: str):
    return json.loads(text[len(f"window.{name}="):-2])


@pytest.mark.parametrize("n,ref", [(0, "p0"), (35, "pz"), (36, "p10"), (1295, "pzz"), (1296, "p100")])
def test_refs_are_base36(n, ref):
    assert search.ref_for(n) == ref


def test_a_large_index_is_called_out():
    assert search.size_notes(4_000_000, None) == []
    assert search.size_notes(30_000_000, 9_000_000) == []
    (note,) = search.size_notes(40_000_000, 11_000_000)
    assert note.startswith("the search index is 11.0 MB gzipped (40 MB raw)")
    raw, gzipped = search.index_size(b"x" * 100)
    assert (raw, gzipped) == (100, None)
