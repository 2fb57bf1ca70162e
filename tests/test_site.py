"""Assembly and rendering: golden pages from fixtures, and the seed site's promises."""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
from conftest import catalogue

from sitegen import text
from sitegen.build import build
from sitegen.config import Config, ListingSettings

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("SITEGEN_UPDATE_GOLDEN") == "1"


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"</?(?:a|em|strong|code)\b[^>]*>", "", page)  # inline: no space where they stood
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def fixture_site() -> dict[str, bytes]:
    config = Config(title="Golden Digest", sources=("listings",), root=HERE / "fixtures", year=2025,
                    listings={"missing_abstract.txt": ListingSettings(year=2024)})
    return build(config, memory=True).memory


@pytest.mark.parametrize("page", [
    "index.html",
    "dates/2025-03-12.html",
    "dates/2025-12-11.html",
    "listings/compact.html",
    "papers/consistency-models.html",
    "papers/stable-video-infinity.html",
    "404.html",
    "dates/2025-12-11-top.html",
    "weeks/2025-W50.html",
    "months/2025-03.html",
    "archive.html",
])
def test_golden_pages(fixture_site, page):
    """Rendered pages equal the reviewed copies in tests/golden/ (SITEGEN_UPDATE_GOLDEN=1 rewrites them)."""
    golden = GOLDEN / page.replace("/", "__")
    actual = fixture_site[page].decode()
    if UPDATE:
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden copy of {page}: run with SITEGEN_UPDATE_GOLDEN=1 and review it"
    assert actual == golden.read_text(encoding="utf-8")


def test_fixture_site_layout(fixture_site):
    pages = sorted(p for p in fixture_site if p.endswith(".html"))
    assert pages == sorted([
        "404.html", "index.html", "search.html", "dates/2024-01-03.html", "dates/2025-03-12.html", "dates/2025-12-11.html",
        "listings/compact.html",
        "papers/another-title-here.html", "papers/consistency-models.html", "papers/grokking-at-the-edge-of-numerical-stability.html",
        "papers/last-title-alone.html", "papers/multistep-consistency-models.html", "papers/music-consistency-models.html",
        "papers/on-the-initialization-of-graph-neural-networks.html", "papers/stable-video-infinity.html",
        "papers/title-without-abstract.html",
        "email/2024-01-03.html", "email/2025-03-12.html", "email/2025-12-11.html",
        "archive.html", "dates/2025-12-11-top.html",
        "weeks/2024-W01.html", "weeks/2025-W11.html", "weeks/2025-W50.html", "weeks/2025-W50-top.html",
        "months/2024-01.html", "months/2025-03.html", "months/2025-12.html", "months/2025-12-top.html",
    ])
    assert "static/style.css" in fixture_site and "papers.json" in fixture_site


def test_every_internal_link_resolves(fixture_site):
    for path, data in fixture_site.items():
        if not path.endswith(".html"):
            continue
        for target in re.findall(r'(?:href|src)="([^"#?]+)', data.decode()):
            if target.startswith(("http://", "https://")):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), html.unescape(target)))
            assert resolved in fixture_site, f"{path} links to missing {target}"
            assert not target.endswith("/"), f"{path} links to a bare folder {target}"


def test_date_page_lists_papers_in_listing_order(fixture_site):
    page = fixture_site["dates/2025-12-11.html"].decode()
    order = [page.index(t) for t in ("On the Initialization", "Stable Video Infinity", "Grokking at the Edge")]
    assert order == sorted(order)


# -- the seed site ----------------------------------------------------------------------------

def test_seed_site_has_every_paper_and_date(seed_site, seed_report):
    papers = catalogue(seed_site)
    assert len(papers) == 508 == seed_report["papers"] == len(list((seed_site / "papers").glob("*.html")))
    assert sorted(p.name for p in (seed_site / "dates").glob("*.html")) == [
        "2025-03-11.html", "2025-03-12.html", "2025-12-11-top.html", "2025-12-11.html"]  # 002 shows upvotes
    assert len(list((seed_site / "listings").glob("*.html"))) == 2  # 003 and 004 carry no date
    assert (seed_report["entries"], seed_report["merged"]) == (557, 49)
    assert sum(len(p["appearances"]) for p in papers) == 557
    for p in papers:
        assert set(p) >= {"id", "title", "abstract", "url", "dates", "appearances", "authors_count",
                          "organization", "published", "upvotes"}
        assert (seed_site / p["url"]).is_file()


def test_the_catalogue_comes_in_parts_by_month_of_first_listing(seed_site):
    """`papers.json` lists one part per month a paper was first listed in, oldest first, then
    the papers listed only undated; each part's rows are in catalogue order."""
    index = json.loads((seed_site / "papers.json").read_text())
    assert [(p["month"], p["url"]) for p in index["parts"]] == [
        ("2025-03", "catalog/2025-03.json"), ("2025-12", "catalog/2025-12.json"), (None, "catalog/undated.json")]
    for part in index["parts"]:
        for row in json.loads((seed_site / part["url"]).read_text()):
            first = row["appearances"][0]["date"]
            assert (first[:7] if first else None) == part["month"], row["id"]
    assert index["papers"] == len(catalogue(seed_site)) == 508


def test_every_seed_title_and_abstract_is_on_its_paper_page(seed_site):
    papers = catalogue(seed_site)
    with_tex = 0
    for p in papers:
        page = visible_text((seed_site / p["url"]).read_text())
        for raw in (p["title"], p["abstract"]):
            if "$" in raw or "\\" in raw:
                with_tex += 1
                for word in re.findall(r"[A-Za-z]{3,}", re.sub(r"\$[^$]*\$|\\\(.*?\\\)|\\[A-Za-z]+", " ", raw)):
                    assert word in page, f"{p['url']}: {word!r} missing"
            else:
                raw = re.sub(r"``(.+?)''", "\u201c\\1\u201d", raw)  # TeX quotes become typographic ones
                assert " ".join(raw.split()) in page, f"{p['url']}: text missing"
    assert 0 < with_tex < 60  # most papers are checked verbatim


def test_seed_002_metadata_in_catalogue(seed_site):
    papers = {p["title"]: p for p in catalogue(seed_site)}
    p = papers["On the Initialization of Graph Neural Networks"]
    assert (p["authors_count"], p["published"], p["upvotes"], p["dates"]) == (4, "2023-12-05", None, ["2025-12-11"])
    svi = next(v for k, v in papers.items() if k.startswith("Stable Video Infinity"))
    assert (svi["organization"], svi["published"], svi["upvotes"]) == ("epfl-vita EPFL VITA Lab", "2025-10-10", 2)


def test_index_lists_dates_newest_first_with_counts(seed_site):
    page = visible_text((seed_site / "index.html").read_text())
    positions = [page.index(d) for d in ("December 11, 2025", "March 12, 2025", "March 11, 2025")]
    assert positions == sorted(positions)
    assert "44 papers" in page and "118 papers" in page
    assert page.index("Fine-tuning and model merging") > positions[-1]  # undated, named in sitegen.toml


def test_paper_page_links_every_digest_it_appeared_in(seed_site):
    papers = catalogue(seed_site)
    multi = next(p for p in papers if len(p["dates"]) >= 2)
    page = (seed_site / multi["url"]).read_text()
    for d in multi["dates"]:
        assert f'href="../dates/{d}.html"' in page
    assert text.plain(multi["title"]) in visible_text(page)


def test_relative_links_equal_posixpath_relpath_for_every_pair():
    """urls.relative takes shortcuts for pages at the root or one folder down; every answer must
    be what posixpath.relpath gives (quoted), for those and for deeper or odd paths."""
    import posixpath
    from urllib.parse import quote

    from sitegen import urls

    files = ["index.html", "search.html", "papers/a.html", "papers/b c.html", "papers/a.html.bak",
             "dates/2025-03-12.html", "static/style.css", "static/vendor/lunr.min.js", "papers",
             "paper/a.html", "papersx/a.html", "email/2025-03-12.html", "a/b/c.html", "a/b/d/e.html",
             "search/t/12.js", "feed.xml"]
    for page in files:
        for target in files:
            folder = posixpath.dirname(page) or "."
            expected = quote(posixpath.basename(target)) if target == page else quote(posixpath.relpath(target, folder))
            assert urls.relative(page, target) == expected, (page, target)


def test_evolve_copies_a_record_as_dataclasses_replace_does():
    import dataclasses

    from sitegen.model import evolve
    from sitegen.views import PaperSummary

    summary = PaperSummary("x", "papers/x.html", "X", "X", "about x", ("2 authors",), rank=1, upvotes=4)
    moved = evolve(summary, rank=7)
    assert moved == dataclasses.replace(summary, rank=7) and moved.rank == 7 and summary.rank == 1
    assert hash(moved) == hash(dataclasses.replace(summary, rank=7))
    with pytest.raises(dataclasses.FrozenInstanceError):
        moved.rank = 8
    with pytest.raises(TypeError, match="no field"):
        evolve(summary, rnak=7)


def test_a_record_is_made_as_a_frozen_dataclass_is_in_one_step():
    """`model.record`: the same arguments, defaults, default factories, equality, hashing,
    pickling, `replace` and frozenness as `@dataclass(frozen=True)`, with the fields set in one
    step (no `__setattr__` per field); a class whose `__init__` does more keeps the dataclass's."""
    import dataclasses
    import pickle

    from sitegen import model, search, site, views

    @model.record
    class Fast:
        a: int
        b: str = "b"
        c: list = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class Slow:
        a: int
        b: str = "b"
        c: list = dataclasses.field(default_factory=list)

    for args, kwargs in (((1,), {}), ((1, "x"), {}), ((), {"a": 1, "c": [2]}), ((1,), {"b": "y"})):
        fast, slow = Fast(*args, **kwargs), Slow(*args, **kwargs)
        assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
        assert repr(fast).removeprefix("test_a_record_is_made_as_a_frozen_dataclass_is_in_one_step.<locals>.Fast") == \
            repr(slow).removeprefix("test_a_record_is_made_as_a_frozen_dataclass_is_in_one_step.<locals>.Slow")
    assert Fast(1).c is not Fast(1).c, "a default factory is called for each record"
    assert Fast(1, "x") == Fast(a=1, b="x") and hash(Fast(1, "x", ())) == hash(Fast(1, "x", ()))
    assert dataclasses.replace(Fast(1), b="z") == Fast(1, "z")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Fast(1).a = 2
    with pytest.raises(TypeError):
        Fast()
    with pytest.raises(TypeError):
        Fast(1, "x", [], 4)
    with pytest.raises(TypeError):
        Fast(1, d=4)
    paper = model.Paper("p", "T", "A", ())
    assert pickle.loads(pickle.dumps(paper)) == paper

    @model.record
    class Checked:
        a: int

        def __post_init__(self):
            if self.a < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError):
        Checked(-1)
    assert "_record_set" not in Checked.__init__.__code__.co_names
    for cls in (model.Entry, model.Paper, model.Appearance, views.Page, views.PaperSummary, views.PaperParts,
                views.PaperView, views.Link, search.SearchDocument, site.Papers):
        assert "_record_set" in cls.__init__.__code__.co_names, cls
        assert "__setattr__" not in cls.__init__.__code__.co_names, cls


def test_undated_listings_have_display_names_never_hashed_file_names(tmp_path):
    from conftest import run_cli, search_store
    from sitegen.site import readable_name

    assert readable_name("seeds/004_510b9bcdd8f4daed.txt") == "Listing 004"
    assert readable_name("in/my_reading-list.md") == "My reading list"
    (tmp_path / "in").mkdir()
    abstract = "We study a problem that matters a great deal. Our method improves results on many benchmarks today."
    (tmp_path / "in" / "004_510b9bcdd8f4daed.txt").write_text(f"A Paper Title\n{abstract}\n")
    (tmp_path / "in" / "clip.md").write_text(f"# Papers on Agents\n\n### Another Paper Title\n\n{abstract}\n\n[x](https://a.b)\n")
    run_cli("build", "in", "--out", "site", cwd=tmp_path, check=True)
    index = visible_text((tmp_path / "site" / "index.html").read_text())
    assert "Listing 004" in index and "Papers on Agents" in index and "510b9bcd" not in index
    labels = {tuple(entry[2]) for entry in search_store(tmp_path / "site").values()}
    assert labels == {("Listing 004",), ("Papers on Agents",)}
