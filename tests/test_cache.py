"""The build cache (sitegen/cache.py): an incremental build gives the cold build's bytes after
every kind of change, keeps the files it did not change (mtimes), and does nothing at all
when nothing changed. Every build runs the CLI as a user would."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from sitegen import cache

from conftest import ROOT, catalogue, run_cli, tree_hash

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def stamps(site: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file: equal stamps mean the file was not touched."""
    return {p.relative_to(site).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """A project of its own: two listings, a copy of the theme, a settings file."""
    (tmp_path / "in").mkdir()
    for seed in SEEDS[:2]:
        shutil.copy(seed, tmp_path / "in" / seed.name)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "static", tmp_path / "static")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\ntitle = "Digest"\n')
    return tmp_path


def build(project: Path, *extra: str) -> dict:
    run_cli("build", "--out", "site", "--report", "report.json", *extra, cwd=project, check=True)
    return json.loads((project / "report.json").read_text())


def cold(project: Path) -> dict[str, str]:
    """The bytes a cold build (no cache at all) makes of the project as it is now."""
    shutil.rmtree(project / "cold", ignore_errors=True)
    run_cli("build", "--out", "cold", "--no-cache", cwd=project, check=True)
    return tree_hash(project / "cold")


def test_a_build_with_nothing_changed_does_nothing(project):
    first = build(project)
    assert not first["up_to_date"] and first["unchanged_files"] == 0
    before = stamps(project / "site")
    proc = run_cli("build", "--out", "site", "--report", "report.json", cwd=project, check=True)
    again = json.loads((project / "report.json").read_text())
    assert again["up_to_date"] and again["unchanged_files"] == first["files"] == len(before)
    assert proc.stdout.startswith("Up to date: ") and f"{first['papers']} papers" in proc.stdout
    assert stamps(project / "site") == before
    # The report repeats the last build's figures; the problems are printed again.
    assert {k: again[k] for k in ("papers", "entries", "pages", "warnings")} == \
        {k: first[k] for k in ("papers", "entries", "pages", "warnings")}


# Each change, as a user would make it; the incremental build must equal a cold build after it.
def add_listing(p: Path):
    shutil.copy(SEEDS[2], p / "in" / SEEDS[2].name)


def edit_listing(p: Path):
    f = p / "in" / SEEDS[0].name
    lines = f.read_text().splitlines()
    title = next(i for i, line in enumerate(lines) if i > 8 and len(line) > 20 and not line.startswith(" "))
    lines[title] += " Revisited"
    f.write_text("\n".join(lines) + "\n")


def delete_listing(p: Path):
    (p / "in" / SEEDS[1].name).unlink()


def edit_template(p: Path):
    f = p / "templates" / "paper.html"
    f.write_text(f.read_text().replace("</article>", "<p class=\"edited\">edited</p></article>", 1))


def edit_static(p: Path):
    with open(p / "static" / "style.css", "a") as f:
        f.write("\n.edited { color: red; }\n")


def edit_config(p: Path):
    f = p / "sitegen.toml"
    f.write_text(f.read_text().replace('title = "Digest"', 'title = "Renamed Digest"'))


def edit_excerpt_length(p: Path):
    """A setting that changes what every paper's cached text becomes."""
    with open(p / "sitegen.toml", "a") as f:
        f.write("excerpt_length = 90\n")


def edit_listing_settings(p: Path):
    """A listing's own settings: the same bytes parse to another digest date."""
    with open(p / "sitegen.toml", "a") as f:
        f.write(f'\n[listings."{SEEDS[0].name}"]\ndate = 2024-06-01\n')


def edit_default_year(p: Path):
    """The year for yearless header dates (`Mar 12`): the same bytes parse to other dates."""
    f = p / "sitegen.toml"
    f.write_text(f.read_text().replace("year = 2025", "year = 2023"))


CHANGES = [add_listing, edit_listing, delete_listing, edit_template, edit_static, edit_config, edit_excerpt_length,
           edit_listing_settings, edit_default_year]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_an_incremental_build_equals_a_cold_build(project, change):
    build(project)
    before_hash, before_stamps = tree_hash(project / "site"), stamps(project / "site")
    change(project)
    report = build(project)
    after = tree_hash(project / "site")
    assert not report["up_to_date"]
    assert after != before_hash, "the change must show in the output"
    assert after == cold(project)
    # Files whose bytes did not change were not touched; the others were written afresh.
    now = stamps(project / "site")
    kept = {rel for rel in after if before_hash.get(rel) == after[rel]}
    assert kept and all(now[rel] == before_stamps[rel] for rel in kept)
    assert all(now[rel] != before_stamps.get(rel) for rel in set(after) - kept)
    assert report["unchanged_files"] == len(kept)


def seed_papers(seed: Path) -> list[tuple[str, str]]:
    """(title, abstract) of each paper of a seed listing, in order."""
    blocks = [b.strip() for b in seed.read_text().split("\n\n") if b.strip()]
    start = next(i for i, b in enumerate(blocks) if b.startswith("Mar "))  # the date line
    body = blocks[start + 1:]
    return [(body[i], body[i + 1]) for i in range(0, len(body) - 1, 2)]


def add_day(project: Path, name: str, day: str, papers: list[tuple[str, str]]) -> None:
    """A new listing of the seed layout: the page header, the date, then title and abstract."""
    header = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
    body = "\n\n".join(f"{title}\n\n{abstract}" for title, abstract in papers)
    (project / "in" / name).write_text(f"{header}{day}\n\n{body}\n")


def page_of(site: Path, title: str) -> Path:
    """The paper page whose heading is `title`."""
    found = [p for p in (site / "papers").glob("*.html") if f">{title}</h1>" in p.read_text()]
    assert len(found) == 1, f"{title!r}: {len(found)} pages"
    return found[0]


def test_a_new_days_entry_merged_into_an_old_paper_equals_a_cold_build(project):
    """A new day lists a paper an old day listed (same title and abstract) beside a new one:
    the old paper gains the date, nothing is duplicated, and the output is the cold build's."""
    first = build(project)
    old_title, old_abstract = seed_papers(SEEDS[0])[3]
    before = page_of(project / "site", old_title).read_text()
    assert "Listed on 1 day" in before
    add_day(project, "zz-new-day.txt", "Mar 20", [
        ("A Genuinely New Paper About Tidal Energy Forecasting",
         "We forecast tidal energy output with a small recurrent model and report errors per site."),
        (old_title, old_abstract),
    ])
    report = build(project)
    assert report["papers"] == first["papers"] + 1 and report["merged"] == first["merged"] + 1
    after = page_of(project / "site", old_title).read_text()
    assert "Listed on 2 days" in after and after != before
    assert tree_hash(project / "site") == cold(project)


def test_a_new_paper_that_enters_an_old_papers_related_list_equals_a_cold_build(project):
    """A new day's paper close to an old one (a follow-up with its predecessor's abstract): the
    old paper's related list now leads with it, and the output is the cold build's."""
    build(project)
    old_title, old_abstract = seed_papers(SEEDS[0])[0]
    sequel = "Synaptic Resonance Two: Scaling Contextual Memory to Million-Token Documents"
    page = page_of(project / "site", old_title)
    assert sequel not in page.read_text()
    add_day(project, "zz-new-day.txt", "Mar 20", [(sequel, old_abstract + " We scale it to a million tokens.")])
    build(project)
    related = page_of(project / "site", old_title).read_text().split('class="related"', 1)[1]
    assert sequel in related.split("</a>", 1)[0], "the sequel is the old paper's first related paper"
    assert tree_hash(project / "site") == cold(project)


def test_a_paper_page_is_a_function_of_its_render_inputs(project):
    """A paper page's render key digests its parts' `inputs` (the paper's record and the links
    of its digests and related papers), not its view: across a new day that merges an entry
    into an old paper and brings a new paper into an old paper's related list, paper pages with
    equal inputs have equal views (so a page that changed always has new inputs, and a new key)."""
    from sitegen.build import assemble_only
    from sitegen.config import load
    from sitegen.site import paper_view

    def paper_pages() -> dict:
        site = assemble_only(load(project / "sitegen.toml"))
        return {p.path: ((p, paper_view(p.view, site.config)), cache.render_record(p.view.inputs, site.has_feed))
                for p in site.pages if p.kind == "paper"}

    before = paper_pages()
    (_, abstract), merged = seed_papers(SEEDS[0])[0], seed_papers(SEEDS[0])[3]
    add_day(project, "zz-new-day.txt", "Mar 20", [
        ("Synaptic Resonance Two: Scaling Contextual Memory to Million-Token Documents",
         abstract + " We scale it to a million tokens."), merged])
    same, new_inputs, changed_pages = keyed_by_inputs(before, paper_pages())
    assert same > 100 and changed_pages >= 2 and new_inputs >= changed_pages


def keyed_by_inputs(before: dict, after: dict) -> tuple[int, int, int]:
    """Pages as (view, inputs) by path, before and after a change: every page whose inputs are
    unchanged has its view unchanged. How many kept their inputs, got new ones, changed."""
    same = new_inputs = changed = 0
    for path in before.keys() & after.keys():
        (view_before, inputs_before), (view_after, inputs_after) = before[path], after[path]
        if inputs_before == inputs_after:
            assert view_before == view_after, path
            same += 1
        else:
            new_inputs += 1
            changed += view_before != view_after
    return same, new_inputs, changed


def test_a_period_page_is_a_function_of_its_deferred_inputs(project):
    """A date's, week's or month's view is made only when its page is rendered; its render key
    digests what the view is made from (`Deferred.inputs`: the page's place and the names of
    its digests' papers). Across new days (one merging an entry into an old paper) and an edited
    abstract, such pages with equal inputs have equal views, and those whose views changed
    have new inputs."""
    from sitegen.build import assemble_only
    from sitegen.config import load
    from sitegen.views import Deferred

    def period_pages() -> dict:
        site = assemble_only(load(project / "sitegen.toml"))
        pages = [p for p in site.pages if p.kind in ("digest", "week", "month")]
        assert pages and all(isinstance(p.view, Deferred) for p in pages)
        return {p.path: (p.view.make(), cache.render_record(p.view.inputs)) for p in pages}

    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried."
    merged = seed_papers(SEEDS[0])[3]  # an old paper listed again: its month's papers change
    same = changed = 0
    listing = project / "in" / SEEDS[0].name

    def revise() -> None:  # an abstract edited: the same days, a paper's summary changed
        listing.write_text(listing.read_text().replace("Contextual memory integration remains", "Contextual memory fusion remains", 1))

    for change in (lambda: add_day(project, "zz-april.txt", "Apr 2", [("A Paper of April", abstract)]),
                   lambda: add_day(project, "zz-march.txt", "Mar 20", [merged, ("A Late March Paper", abstract)]),
                   revise):
        before = period_pages()
        change()
        kept, _, differ = keyed_by_inputs(before, period_pages())
        same, changed = same + kept, changed + differ
    assert same >= 1 and changed >= 1  # April's month is as it was after the second day


def test_a_paper_record_is_named_by_its_permalink_and_entries(project):
    """A paper page's render key digests the paper's `origin` (its permalink and the digests of
    the entries dedupe made it from) instead of its record: across an edit of two entries'
    abstracts, equal origins are equal records, and only the edited papers' origins change."""
    from sitegen.build import load_catalog
    from sitegen.config import load
    from sitegen.site import assemble_papers

    def papers() -> dict:
        config = load(project / "sitegen.toml")
        return {pp.path: pp for pp in assemble_papers(load_catalog(config, None, {}), config).parts}

    before = papers()
    assert all(pp.origin and pp.origin[0] == pp.paper.id and len(pp.origin) == len(pp.paper.appearances) + 1
               for pp in before.values())
    listing = project / "in" / SEEDS[0].name
    lines = listing.read_text().splitlines()
    abstracts = [i for i, line in enumerate(lines) if len(line) > 400]
    for i in abstracts[1:3]:  # two papers' abstracts
        lines[i] += " Revised."
    listing.write_text("\n".join(lines) + "\n")
    after = papers()
    assert after.keys() == before.keys()
    same = changed = 0
    for path in before:
        if before[path].origin == after[path].origin:
            assert before[path].paper == after[path].paper, path
            same += 1
        else:
            assert before[path].paper != after[path].paper, path
            changed += 1
    assert same > 100 and changed == 2


def test_an_entry_json_cannot_hold_is_digested_all_the_same():
    """A JSON listing's lone surrogate escape reaches an entry that orjson refuses: its digest
    is made from its pickle, and it still tells the entry from others."""
    from sitegen.listing import entry_digests
    from sitegen.model import Entry

    odd, plain = Entry("a.json", 1, 1, "Title \ud800"), Entry("a.json", 1, 1, "Title")
    assert entry_digests((odd, plain, odd)) == entry_digests((odd, plain, odd))
    first, second, third = entry_digests((odd, plain, odd))
    assert first == third != second


def test_template_and_static_changes_reach_only_what_uses_them(project):
    build(project)
    before = tree_hash(project / "site")
    edit_static(project)
    build(project)
    after = tree_hash(project / "site")
    assert {rel for rel in after if after[rel] != before.get(rel)} == {"static/style.css"}
    edit_template(project)
    build(project)
    again = tree_hash(project / "site")
    changed = {rel for rel in again if again[rel] != after.get(rel)}
    assert changed and all(rel.startswith("papers/") for rel in changed)


def test_a_process_that_builds_again_renders_with_the_templates_as_edited(project):
    """`serve` builds again in its own process on every edit: a template edited between two
    builds reaches the output, and the output is then the cold build's."""
    from sitegen import config
    from sitegen.build import build as run_build

    settings = config.load(None, cwd=project)
    run_build(settings, out=project / "site")
    edit_template(project)
    run_build(config.load(None, cwd=project), out=project / "site")
    assert 'class="edited"' in next((project / "site" / "papers").glob("*.html")).read_text()
    assert tree_hash(project / "site") == cold(project)


def test_an_output_changed_by_hand_is_rebuilt_whole(project):
    build(project)
    site = project / "site"
    expected = tree_hash(site)
    (site / "index.html").write_text("edited by hand")
    (site / "404.html").unlink()
    (site / "stray.txt").write_text("not ours")
    assert not build(project)["up_to_date"]
    kept = tree_hash(site)
    assert kept.pop("stray.txt") and kept == expected  # the user's file is kept, ours rebuilt
    assert build(project)["up_to_date"]  # a file of the user's does not make the site out of date


def test_a_damaged_or_missing_cache_costs_only_time(project):
    build(project)
    expected = tree_hash(project / "site")
    records = list((project / ".sitegen-cache" / "builds").glob("*.json"))
    assert len(records) == 1
    records[0].write_text("{not json")
    for memo in (project / ".sitegen-cache").glob("paper-text-*.msgpack"):
        memo.write_bytes(memo.read_bytes()[:100])  # truncated
    assert not build(project)["up_to_date"]
    assert tree_hash(project / "site") == expected
    shutil.rmtree(project / ".sitegen-cache")
    assert not build(project)["up_to_date"]
    assert build(project)["up_to_date"]
    assert tree_hash(project / "site") == expected


def test_no_cache_and_cache_dir(project, tmp_path_factory):
    build(project, "--no-cache")
    cache_files = lambda: [p for p in (project / ".sitegen-cache").rglob("*") if "locks" not in p.parts]
    assert not cache_files()  # only the build lock, which every build of the project takes there
    assert not build(project, "--no-cache")["up_to_date"]
    elsewhere = tmp_path_factory.mktemp("cache")
    build(project, "--cache-dir", str(elsewhere))
    assert build(project, "--cache-dir", str(elsewhere))["up_to_date"]
    assert list((elsewhere / "builds").glob("*.json")) and not cache_files()


def test_strict_still_fails_when_nothing_changed(project):
    (project / "sitegen.toml").write_text('sources = ["in"]\n')  # no year: yearless headers warn
    report = build(project)
    assert report["warnings"]
    before = stamps(project / "site")
    proc = run_cli("build", "--out", "site", "--strict", cwd=project)
    assert proc.returncode == 1 and "--strict" in proc.stderr and "warning:" in proc.stderr
    assert stamps(project / "site") == before


def test_each_output_folder_has_its_own_record(project):
    build(project)
    run_cli("build", "--out", "other", cwd=project, check=True)
    assert build(project)["up_to_date"]
    assert tree_hash(project / "other") == tree_hash(project / "site")
    assert len(list((project / ".sitegen-cache" / "builds").glob("*.json"))) == 2


def test_a_sitegen_upgrade_invalidates_the_record(project, monkeypatch):
    from sitegen import cache

    identity = cache.code_identity()
    assert identity == cache.code_identity()  # stable from run to run
    monkeypatch.setattr(cache, "OUTPUT_LIBRARIES", cache.OUTPUT_LIBRARIES + ("no-such-library",))
    assert cache.code_identity() != identity
    monkeypatch.undo()
    copy = project / "code"
    shutil.copytree(cache.CODE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "render.py", "a") as f:
        f.write("\n# a change to the code\n")
    monkeypatch.setattr(cache, "CODE", copy)
    assert cache.code_identity() != identity


def test_library_versions_are_those_importlib_metadata_gives(tmp_path, monkeypatch):
    from importlib import metadata

    def dist(folder: Path, name: str, version: str, suffix: str = ".dist-info") -> None:
        info = folder / f"{name}-{version}{suffix}"
        info.mkdir(parents=True)
        (info / ("METADATA" if suffix == ".dist-info" else "PKG-INFO")).write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")

    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "Shadowed_Lib", "2.0")  # a name spelt otherwise, found first on the path...
    dist(second, "shadowed_lib", "1.0")  # ...hides this one, as for importlib.metadata
    dist(first, "twice_lib", "1.0")  # two of one name side by side: importlib.metadata decides
    dist(first, "twice_lib", "1.1")
    dist(second, "old_lib", "0.3", ".egg-info")  # an older layout: importlib.metadata reads it
    plain = first / "plain_lib.egg-info"  # one without a version in its name...
    plain.mkdir()
    (plain / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: plain-lib\nVersion: 0.9\n")
    dist(second, "plain_lib", "2.0")  # ...hides this one too
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    names = cache.OUTPUT_LIBRARIES + ("shadowed.lib", "twice-lib", "old-lib", "plain-lib", "no-such-library")
    found = cache.installed_versions(names)
    assert found["shadowed.lib"] == "2.0" and found["old-lib"] == "0.3" and found["no-such-library"] is None
    assert found["plain-lib"] == "0.9"
    for name in names[:-1]:
        assert found[name] == metadata.version(name), name


def test_only_pages_whose_inputs_changed_are_rendered(project, monkeypatch):
    from sitegen import build as build_module
    from sitegen import config as config_module
    from sitegen.render import Renderer

    # Pages are rendered in this process and in a forked helper: each render appends its path
    # to a file, which both processes share.
    log = project.parent / "rendered.log"
    real = Renderer.render

    def render(self, page):
        with open(log, "a") as f:
            f.write(page.path + "\n")
        return real(self, page)

    monkeypatch.setattr(Renderer, "render", render)
    monkeypatch.chdir(project)
    rendered: list[str] = []

    def build_here():
        log.write_text("")
        result = build_module.build(config_module.load(None), out=project / "site")
        rendered[:] = log.read_text().split()
        return result

    first = build_here()
    assert sorted(rendered) == sorted(p.path for p in first.site.pages)  # each page once, by one process
    before = tree_hash(project / "site")
    edit_listing(project)
    build_here()
    after = tree_hash(project / "site")
    changed_pages = {rel for rel in after if rel.endswith(".html") and after[rel] != before.get(rel)
                     and not rel.startswith("email/")}
    assert changed_pages and changed_pages <= set(rendered)
    assert len(rendered) < len(first.site.pages) / 4  # one title edited: most pages are linked
    assert after == cold(project)


def _day(title_abstracts: list[tuple[str, str]], day: str) -> str:
    return day + "\n\n" + "".join(f"{t}\n\n{a}\n\n" for t, a in title_abstracts)


def test_a_day_added_rewrites_only_the_catalogue_parts_it_reaches(tmp_path, monkeypatch):
    """`papers.json` lists the catalogue's parts, a month of first listing each; a day added
    makes its month's part and the part of an older paper it lists again, and keeps the rest as
    published without making it (same file, same time); the result is a cold build's."""
    from sitegen import build as build_module
    from sitegen import config as config_module
    from sitegen import rendering

    topics = {"Alpha": "protein folding with diffusion priors", "Beta": "tokenizer-free speech translation",
              "Gamma": "sparse retrieval for code search", "Delta": "robot grasping from a single video"}

    def paper(name: str) -> tuple[str, str]:
        return (f"{name}: {topics[name].capitalize()}",
                f"{name} is a new method for {topics[name]}. Experiments across many settings show "
                f"clear gains over strong baselines, and we release the {name.lower()} code.")

    made: list[list[str]] = []
    real = rendering.catalog_json
    monkeypatch.setattr(rendering, "catalog_json", lambda papers: made.append([p.title for p in papers]) or real(papers))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\ntitle = "Digest"\n')
    (tmp_path / "in" / "a.txt").write_text(_day([paper("Alpha"), paper("Beta")], "Jan 10, 2025"))
    (tmp_path / "in" / "b.txt").write_text(_day([paper("Gamma")], "Feb 10, 2025"))
    build_module.build(config_module.load(None), out=tmp_path / "site")
    before = stamps(tmp_path / "site")
    assert [(p["month"], p["papers"]) for p in json.loads((tmp_path / "site" / "papers.json").read_text())["parts"]] \
        == [("2025-01", 2), ("2025-02", 1)]
    made.clear()
    (tmp_path / "in" / "c.txt").write_text(_day([paper("Delta"), paper("Gamma")], "Mar 10, 2025"))
    build_module.build(config_module.load(None), out=tmp_path / "site")
    assert made == [[paper("Gamma")[0]], [paper("Delta")[0]]]  # not January's
    after = stamps(tmp_path / "site")
    assert after["catalog/2025-01.json"] == before["catalog/2025-01.json"]  # kept as published
    gamma = json.loads((tmp_path / "site" / "catalog" / "2025-02.json").read_text())
    assert [a["date"] for a in gamma[0]["appearances"]] == ["2025-02-10", "2025-03-10"]
    assert [p["title"] for p in catalogue(tmp_path / "site")] == [paper(n)[0] for n in ("Alpha", "Beta", "Gamma", "Delta")]
    assert tree_hash(tmp_path / "site") == cold(tmp_path)


def test_only_listings_whose_bytes_or_settings_changed_are_parsed_again(project, monkeypatch):
    from sitegen import build as build_module
    from sitegen import config as config_module
    from sitegen import listing

    parsed: list[str] = []
    real = listing.parse
    monkeypatch.setattr(listing, "parse", lambda raw, source, *a: parsed.append(source) or real(raw, source, *a))
    monkeypatch.chdir(project)

    def build_here() -> list[str]:
        parsed.clear()
        build_module.build(config_module.load(None), out=project / "site")
        return sorted(parsed)

    assert build_here() == sorted(f"in/{s.name}" for s in SEEDS[:2])
    edit_listing(project)
    assert build_here() == [f"in/{SEEDS[0].name}"]
    edit_listing_settings(project)
    assert build_here() == [f"in/{SEEDS[0].name}"]
    add_listing(project)
    assert build_here() == [f"in/{SEEDS[2].name}"]
    assert tree_hash(project / "site") == cold(project)


def test_a_memo_grows_by_additions_and_is_saved_whole_when_they_pile_up_or_go_stale(tmp_path):
    """A build that adds a few entries to a large memo writes only those; the memo is written
    whole again (holding only what that build used) when a quarter of it went unused or after
    MEMO_ADDITIONS additions, so the cache neither rewrites everything each day nor grows without end."""
    def files():
        return sorted(p.name.split("-")[-1] for p in tmp_path.glob("texts-*.msgpack"))

    base = {("paper", n): f"text {n}" for n in range(100)}
    cache.save_memo(tmp_path, "texts", base)
    assert len(files()) == 1 and cache.load_memo(tmp_path, "texts") == base
    loaded = cache.load_memo(tmp_path, "texts")
    used = {**base, ("paper", 100): "text 100"}
    cache.save_memo(tmp_path, "texts", used, cache.memo_keys(loaded))
    assert len(files()) == 2 and any("+1" in f for f in files())
    assert cache.load_memo(tmp_path, "texts") == used
    for n in range(101, 101 + cache.MEMO_ADDITIONS - 2):
        loaded = cache.load_memo(tmp_path, "texts")
        used = {**loaded, ("paper", n): f"text {n}"}
        cache.save_memo(tmp_path, "texts", used, cache.memo_keys(loaded))
    assert len(files()) == cache.MEMO_ADDITIONS
    assert cache.load_memo(tmp_path, "texts") == used
    loaded = used
    used = {**loaded, ("paper", 999): "text 999"}
    cache.save_memo(tmp_path, "texts", used, cache.memo_keys(loaded))  # one addition too many
    assert len(files()) == 1 and cache.load_memo(tmp_path, "texts") == used
    loaded = used
    used = {k: v for k, v in loaded.items() if k[1] < 60} | {("paper", 1000): "text 1000"}
    cache.save_memo(tmp_path, "texts", used, cache.memo_keys(loaded))  # 40% went unused
    assert len(files()) == 1 and cache.load_memo(tmp_path, "texts") == used
    loaded = used
    cache.save_memo(tmp_path, "texts", {k: v for k, v in loaded.items() if k[1] != 7}, cache.memo_keys(loaded))
    assert cache.load_memo(tmp_path, "texts") == loaded  # nothing new and little unused: nothing written


def test_a_damaged_memo_is_saved_whole_again_not_added_to(tmp_path):
    """A memo part that cannot be read makes the whole memo unreadable: the next save replaces
    it whole, so the build after that reads it again (an addition beside it would be lost too)."""
    first = {("paper", n): f"text {n}" for n in range(10)}
    cache.save_memo(tmp_path, "texts", first)
    (base,) = tmp_path.glob("texts-*.msgpack")
    base.write_bytes(b"not a memo")
    loaded = cache.load_memo(tmp_path, "texts")
    assert loaded == {}
    used = {**first, ("paper", 10): "text 10"}
    cache.save_memo(tmp_path, "texts", used, cache.memo_keys(loaded))
    assert len(list(tmp_path.glob("texts-*.msgpack"))) == 1
    assert cache.load_memo(tmp_path, "texts") == used


def test_a_build_saves_a_memo_only_when_what_it_used_differs_from_what_it_found(tmp_path):
    """`Memo`: what a build found and used; `release` frees what it found, and `save` writes only
    when the keys differ (whether released or not); no cache folder, nothing written."""
    memo = cache.Memo(tmp_path, "texts")
    assert memo.known == {}
    memo.used.update({"a": 1, "b": 2})
    memo.release()
    assert memo.known == {}
    memo.save()
    assert cache.load_memo(tmp_path, "texts") == {"a": 1, "b": 2}
    before = sorted(p.stat().st_mtime_ns for p in tmp_path.glob("texts-*.msgpack"))
    same = cache.Memo(tmp_path, "texts")
    same.used.update(same.known)
    same.save()  # nothing changed: nothing written
    assert sorted(p.stat().st_mtime_ns for p in tmp_path.glob("texts-*.msgpack")) == before
    more = cache.Memo(tmp_path, "texts")
    more.used.update({**more.known, "c": 3})
    more.release()
    more.save()
    assert cache.load_memo(tmp_path, "texts") == {"a": 1, "b": 2, "c": 3}
    nowhere = cache.Memo(None, "texts")
    nowhere.used["d"] = 4
    nowhere.save()
    assert cache.load_memo(tmp_path, "texts") == {"a": 1, "b": 2, "c": 3}


def test_a_packed_memo_decodes_only_the_values_a_build_asks_for(tmp_path):
    """`Memo(packed=True)`: each value is kept as its own bytes, in the file and in memory, and
    decoded when asked for; what a build did not ask for stays bytes and is left out of what it
    saves; a value that does not decode is made again."""
    made = []

    def stems(text):
        made.append(text)
        return (tuple(text.split()), (text.upper(),))

    first = cache.Memo(tmp_path, "stems", packed=True)
    words = first.remembered(stems)
    assert [words(f"text {n}") for n in range(4)] == [(("text", str(n)), (f"TEXT {n}",)) for n in range(4)]
    assert all(isinstance(v, bytes) for v in first.used.values())
    first.save()

    again = cache.Memo(tmp_path, "stems", packed=True)
    assert len(again.known) == 4 and all(isinstance(v, bytes) for v in again.known.values())
    made.clear()
    words = again.remembered(stems)
    assert words("text 2") == (("text", "2"), ("TEXT 2",)) and made == []  # decoded, not made
    assert again.peek(("text 3",)) == (("text", "3"), ("TEXT 3",)) and list(again.used) == [("text 2",)]
    again.known[("text 1",)] = b"\xc1"  # a value MessagePack cannot read
    assert words("text 1") == (("text", "1"), ("TEXT 1",)) and made == ["text 1"]
    again.save()
    assert sorted(cache.load_memo(tmp_path, "stems")) == [("text 1",), ("text 2",)]  # what it used, packed
    assert cache.loads(cache.load_memo(tmp_path, "stems")[("text 1",)]) == (("text", "1"), ("TEXT 1",))


def test_the_render_helper_inherits_the_templates_compiled(project, monkeypatch):
    """Every template is compiled once, in the build's process before the workers are forked:
    the render helper renders its share (most of a first build's pages) without compiling any."""
    import os

    import jinja2

    from sitegen import build as build_module
    from sitegen import config as config_module

    log = project.parent / "compiled.log"
    real = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, *args, **kwargs):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {name}\n")
        return real(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    monkeypatch.chdir(project)
    build_module.build(config_module.load(None), out=project / "site")
    compiled = [line.split() for line in log.read_text().splitlines()]
    names = [name for _, name in compiled]
    assert {pid for pid, _ in compiled} == {str(os.getpid())}
    assert sorted(names) == sorted(set(names)) and {"paper.html", "base.html", "email.txt"} <= set(names)


def test_where_processes_cannot_be_forked_the_build_does_the_work_itself(project, monkeypatch):
    """Without fork (another OS), related papers, the search index and rendering run in the
    build's own process, memos and all: the same bytes as a cold build, before and after a change."""
    from sitegen import build as build_mod
    from sitegen import config as config_mod

    import multiprocessing

    from sitegen import jobs, workers
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn", "forkserver"])
    assert not workers.ForkedJob(len).forked and jobs.RenderHelper() is None
    for step in (None, add_listing, edit_listing):
        if step:
            step(project)
        result = build_mod.build(config_mod.load(None, cwd=project), out=project / "site")
        assert tree_hash(project / "site") == cold(project)
    assert result.unchanged > 0  # the last build linked what it did not change
    memos = {p.name.split("-")[0] for p in (project / ".sitegen-cache").glob("*-*.*") if p.is_file()}
    assert memos == {"dedupe", "listings", "lunr", "paper", "related", "search", "slugs"}  # each stage kept its memo


def test_a_build_dedupes_from_what_the_last_build_found(project, monkeypatch):
    """The catalogue's groups are kept (`dedupe.Joined`): the next build keys only the new
    day's entries and joins again only what they reach (its output is the cold build's, above)."""
    from sitegen import config, dedupe
    from sitegen.build import build as run_build

    settings = config.load(None, cwd=project)
    run_build(settings, out=project / "site")
    old_title, old_abstract = seed_papers(SEEDS[0])[3]
    add_day(project, "zz-new-day.txt", "Mar 20", [(old_title, old_abstract)])
    rejoined, real = [], dedupe._rejoin
    monkeypatch.setattr(dedupe, "_rejoin", lambda *args: rejoined.append(found := real(*args)) or found)
    result = run_build(settings, out=project / "site")
    assert len(rejoined) == 1 and rejoined[0] is not None
    variants, groups = rejoined[0][0], rejoined[0][1]
    assert len(set(groups)) == len(result.catalog.papers)
    assert sum(len(v.entries) for v in variants) == result.catalog.entry_count


def test_a_render_record_is_json_of_the_page_records_else_their_pickle():
    """Render keys digest page records as JSON (`render_record`); what JSON cannot hold is
    pickled, behind a prefix no JSON starts with, so the two never give one key."""
    import datetime as dt

    from markupsafe import Markup

    from sitegen.views import Link, PaperSummary

    card = PaperSummary("p", "papers/p.html", Markup("<em>T</em>"), "T", "e", ("1 author",), 3, 5)
    assert cache.render_record(card, True) == (b'[{"id":"p","path":"papers/p.html","title_html":"<em>T</em>",'
                                                b'"title_text":"T","excerpt":"e","meta":["1 author"],"rank":3,'
                                                b'"upvotes":5,"repeat":""},true]')
    assert cache.render_record(Link("a", "b"), dt.date(2025, 3, 11)) == b'[{"path":"a","label":"b"},"2025-03-11"]'
    assert cache.render_record(Link("a", "b")) != cache.render_record(Link("a", "c"))
    for odd in ({"x"}, {1: "a"}, "\ud800", 2 ** 70):  # a set, a key not a string, a lone surrogate, a big int
        assert cache.render_record(Link("a", "b"), odd).startswith(b"pickle:")


def test_a_build_keeps_the_related_papers_first_tier_until_its_papers_change(project, monkeypatch):
    """The related papers' first tier (`related.FirstTier`, the papers before the last multiple
    of `related.TIER`) is kept in the cache: a new day's build uses it as kept (the file is not
    written again), a change to one of its papers makes it again, and each output is the cold
    build's. (A tier of 32 papers here; the build's worker is forked from this process.)"""
    from sitegen import config, jobs, related
    from sitegen.build import build as run_build

    monkeypatch.setattr(related, "TIER", 32)
    sent = project.parent / "sent.log"  # how many texts were made plain, and where
    build_pid = os.getpid()  # the worker is a fork of this process
    real_texts = jobs.related_texts

    def related_texts(inputs):
        with open(sent, "a") as f:
            f.write(f"{len(inputs)} {'build' if os.getpid() == build_pid else 'worker'}\n")
        return real_texts(inputs)

    monkeypatch.setattr(jobs, "related_texts", related_texts)
    settings = config.load(None, cwd=project)
    first = run_build(settings, out=project / "site")
    assert len(first.catalog.papers) > 2 * related.TIER
    assert sent.read_text().split() == [str(len(first.catalog.papers)), "worker"]

    def kept_tier() -> tuple[bytes, int]:
        (path,) = [p for p in (project / ".sitegen-cache").glob("related-tier-*") if "-key-" not in p.name]
        return path.read_bytes(), path.stat().st_mtime_ns

    def cold_hash() -> dict[str, str]:
        shutil.rmtree(project / "cold", ignore_errors=True)
        run_build(settings, out=project / "cold", cache=None)
        return tree_hash(project / "cold")

    made = kept_tier()
    old_title, old_abstract = seed_papers(SEEDS[0])[0]
    add_day(project, "zz-new-day.txt", "Mar 20", [("Synaptic Resonance Two: Scaling Contextual Memory",
                                                    old_abstract + " We scale it to a million tokens.")])
    sent.write_text("")
    day = run_build(settings, out=project / "site")
    assert kept_tier() == made
    # The build found the kept tier its own and sent the worker only the papers after it.
    assert sent.read_text().split() == [str(len(day.catalog.papers) % related.TIER), "worker"]
    assert tree_hash(project / "site") == cold_hash()
    # A kept tier damaged since its key was written: the worker cannot read what the build
    # planned with, and the build finds the related papers itself, the same as cold.
    (path,) = [p for p in (project / ".sitegen-cache").glob("related-tier-*") if "-key-" not in p.name]
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 1
    path.write_bytes(bytes(damaged))
    add_day(project, "zz-second-day.txt", "Mar 21", [("Tidal Locking of Exoplanets Seen by a Small Telescope",
                                                       "We observe tidal locking on three exoplanets with a small "
                                                       "telescope and model their rotation over ten years.")])
    sent.write_text("")
    second = run_build(settings, out=project / "site")
    assert sent.read_text().split() == [str(len(second.catalog.papers)), "build"]
    assert tree_hash(project / "site") == cold_hash()
    edit_listing(project)  # a paper of the first tier
    run_build(settings, out=project / "site")
    assert kept_tier()[0] != made[0]
    assert tree_hash(project / "site") == cold_hash()


def test_a_build_keeps_the_search_document_chunks_a_new_day_does_not_reach(project, monkeypatch):
    """A new day's build sends the index worker only the numbers of the papers whose document
    chunk it does not reach (`search.sent_inputs`), and those chunks stay as published (their
    files untouched); the others are made again. A kept chunk changed by hand is made again by
    the build, and so is the whole index when the worker's saved postings are not the last
    build's. Each output is the cold build's. (The worker is forked from this process; the
    thread that sends it the papers runs here.)"""
    from sitegen import config, search
    from sitegen.build import build as run_build

    by_number: list[int] = []
    real = search.sent_inputs

    def sent_inputs(*args, **kwargs):
        keys, items = real(*args, **kwargs)
        by_number.extend(i for i in items if type(i) is int)
        return keys, items

    monkeypatch.setattr(search, "sent_inputs", sent_inputs)
    monkeypatch.setattr(search, "RECENT_PAPERS", 16)  # a first tier of term files, kept too
    settings = config.load(None, cwd=project)

    def cold_hash() -> dict[str, str]:
        shutil.rmtree(project / "cold", ignore_errors=True)
        run_build(settings, out=project / "cold", cache=None)
        return tree_hash(project / "cold")

    first = run_build(settings, out=project / "site")
    assert by_number == []
    before = stamps(project / "site")
    first_tier = [p for p in before if re.fullmatch(r"search/[tpw]/\d+\.js", p)]
    assert len(first_tier) >= 3
    old_title, old_abstract = seed_papers(SEEDS[0])[3]
    add_day(project, "zz-new-day.txt", "Mar 20", [
        ("A Genuinely New Paper About Tidal Energy Forecasting",
         "We forecast tidal energy output with a small recurrent model and report errors per site."),
        (old_title, old_abstract),  # merged into an old paper: its chunk changes (a new date)
    ])
    day = run_build(settings, out=project / "site")
    merged = next(n for n, p in enumerate(day.catalog.papers) if p.title == old_title)
    new = next(n for n, p in enumerate(day.catalog.papers) if p.title.startswith("A Genuinely New Paper"))
    reached = {merged // 4, new // 4} | set(range(len(first.catalog.papers) // 4, -(-len(day.catalog.papers) // 4)))
    chunks = -(-len(day.catalog.papers) // 4)
    assert sorted({n // 4 for n in by_number}) == [k for k in range(chunks) if k not in reached]
    after = stamps(project / "site")
    for k in range(chunks):
        path = f"search/d/{k}.js"
        assert (after[path] == before.get(path)) == (k not in reached), path
    assert all(after[p] == before[p] for p in first_tier)  # the same papers before the tier's end
    assert tree_hash(project / "site") == cold_hash()

    kept = f"search/d/{min(set(range(chunks)) - reached)}.js"
    (project / "site" / kept).write_text("changed by hand")
    add_day(project, "zz-second-day.txt", "Mar 21", [("Tidal Locking of Exoplanets Seen by a Small Telescope",
                                                       "We observe tidal locking on three exoplanets.")])
    by_number.clear()
    run_build(settings, out=project / "site")
    assert int(kept[9:-3]) * 4 in by_number  # sent by number, and made by the build when not found as made
    assert tree_hash(project / "site") == cold_hash()

    postings = cache.memo_path(project / ".sitegen-cache", search.POSTINGS)
    postings.write_bytes(postings.read_bytes()[:-100])
    add_day(project, "zz-third-day.txt", "Mar 22", [("Coral Reef Sound Maps From Hydrophone Arrays",
                                                      "We map coral reef sounds with hydrophone arrays.")])
    by_number.clear()
    run_build(settings, out=project / "site")
    assert by_number, "the worker was sent papers by number, and could not index them"
    assert tree_hash(project / "site") == cold_hash()


def test_kept_buffers_come_back_as_written_or_not_at_all(tmp_path):
    """`keep_buffers` writes a header and raw buffers, signed; `load_buffers` gives them back,
    or None for a file that was changed, cut short or never written."""
    cache.keep_buffers(tmp_path, "arrays", {"key": "k1"}, [b"abc", memoryview(b"\x00\x01" * 4), b""])
    header, buffers = cache.load_buffers(tmp_path, "arrays")
    assert header == {"key": "k1"} and [bytes(b) for b in buffers] == [b"abc", b"\x00\x01" * 4, b""]
    assert cache.load_buffers(tmp_path, "other") is None and cache.load_buffers(None, "arrays") is None
    (path,) = tmp_path.glob("arrays-*")
    data = path.read_bytes()
    path.write_bytes(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    assert cache.load_buffers(tmp_path, "arrays") is None


def test_a_build_record_round_trips_even_with_a_lone_surrogate(tmp_path):
    """The record is compact JSON (orjson), read back as written; a file name that is not UTF-8
    (a lone surrogate in a note or problem) takes the json module's way, both ways."""
    out = tmp_path / "site"
    problem = {"source": "bad-\udcff.txt", "line": 3, "message": "odd", "severity": "warning", "code": "x"}
    for notes in (["plain"], ["skipped bad-\udcff.txt"]):
        record = cache.Record("fp", {"index.html": [10, 123, "ab"]}, {"papers": 1}, [problem], notes, {"index.html": "k"})
        cache.save_record(tmp_path, out, record)
        assert cache.load_record(tmp_path, out) == record


def test_read_ahead_gives_what_read_signed_gives_within_its_byte_budget(tmp_path, monkeypatch):
    """The build's cache files read in a thread (`ReadAhead`): `take` gives each file's bytes as
    `read_signed` does (None for a damaged one), asked for in order, out of order or twice; the
    thread begins a file only while it holds fewer than `HELD` bytes the build has not taken
    (here 1: one file ahead), and holds nothing once closed."""
    import threading
    import time

    for n, name in enumerate(("first", "second", "third")):
        cache.save_memo(tmp_path, name, {("paper", n): f"text {n}"})
    cache.save_memo(tmp_path, "second", {("paper", 1): "text 1", ("paper", 9): "added"},
                    cache.memo_keys(cache.load_memo(tmp_path, "second")))  # an addition: a part of its own
    cache.keep(tmp_path, "kept", {"state": 1})
    damaged = cache.memo_path(tmp_path, "third")
    damaged.write_bytes(damaged.read_bytes().replace(b"text 2", b"text X"))
    paths = cache.cache_files(tmp_path, ("first", "second", "third", "kept"))
    assert len(paths) == 5
    expected = {p: cache.read_signed(p) for p in paths}
    assert expected[damaged] is None and sum(v is None for v in expected.values()) == 1

    read, real = [], cache.read_signed
    gate = threading.Event()

    def recorded(path):
        gate.wait(5)
        read.append(path)
        return real(path)
    monkeypatch.setattr(cache, "read_signed", recorded)

    def settled(count):  # the thread's reads, once it has done `count` (or a second has gone by)
        deadline = time.monotonic() + 1
        while len(read) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        return list(read)

    monkeypatch.setattr(cache.ReadAhead, "HELD", 1)
    ahead = cache.ReadAhead(paths)
    gate.set()
    assert settled(1) == paths[:1]  # one file ahead, no more
    assert ahead.take(paths[0]) == expected[paths[0]]
    assert settled(2) == paths[:2]
    assert ahead.take(paths[2]) == expected[paths[2]]  # out of order: file 2 read here, the thread skips it
    assert ahead.take(paths[1]) == expected[paths[1]]
    assert ahead.take(paths[1]) == expected[paths[1]]  # twice: read again
    assert ahead.take(damaged) is None
    assert ahead.take(paths[4]) == expected[paths[4]]
    assert read.count(paths[2]) == 1 and read.count(paths[1]) == 2
    ahead.close()
    assert ahead.take(paths[0]) == expected[paths[0]]

    closed = cache.ReadAhead(paths)
    closed.close()
    time.sleep(0.1)
    assert closed._state == {}  # closed: nothing held, whatever the thread had begun
    monkeypatch.setattr(cache.ReadAhead, "HELD", 1 << 20)  # room for them all: read before any is taken
    read.clear()
    ahead = cache.ReadAhead(paths)
    assert settled(len(paths)) == paths
    assert [ahead.take(p) for p in paths] == [expected[p] for p in paths] and len(read) == len(paths)
    ahead.close()
    monkeypatch.setattr(cache, "read_signed", real)
    again = cache.ReadAhead(paths)
    assert cache.load_memo(tmp_path, "second", read=again.take) == {("paper", 1): "text 1", ("paper", 9): "added"}
    assert cache.load_kept(tmp_path, "kept", read=again.take) == {"state": 1}
    again.close()
