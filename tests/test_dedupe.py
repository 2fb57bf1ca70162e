"""Dedupe: one paper per real paper, never two papers merged."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sitegen import dedupe, listing
from sitegen.config import ListingSettings
from sitegen.model import Entry, Listing, evolve

SEEDS = Path(__file__).parent.parent / "seeds"
A_CM = ("We propose consistency models, a new family of models that generate high quality samples by directly "
        "mapping noise to data. They support fast one-step generation by design, while still allowing multistep "
        "sampling to trade compute for sample quality, and zero-shot data editing such as inpainting.")
A_MUSIC = ("Music consistency models leverage consistency distillation for efficient music generation. We show that "
           "a few steps of sampling are enough for text-to-music at high fidelity, and we compare against diffusion "
           "baselines on standard benchmarks, reducing inference cost by an order of magnitude.")
A_MULTI = ("Multistep consistency models unify consistency models and TRACT, interpolating between a consistency "
           "model and a diffusion model: a trade-off between sampling speed and sampling quality, with results on "
           "ImageNet 64 and 128 at two to eight steps that approach the quality of diffusion models.")


def entry(title, abstract="", source="a.txt", line=1, date=None, **meta) -> Entry:
    return Entry(source=source, line=line, rank=line, title=title, abstract=abstract, listing_date=date, **meta)


def run(*entries: Entry):
    by_source: dict[str, list[Entry]] = {}
    for e in entries:
        by_source.setdefault(e.source, []).append(e)
    listings = [Listing(src, es[0].listing_date, tuple(es)) for src, es in by_source.items()]
    return dedupe.dedupe(listings)


def titles(catalog) -> list[str]:
    return sorted(p.title for p in catalog.papers)


# -- the seeds ------------------------------------------------------------------------------

def test_seeds_give_508_papers_from_557_entries():
    listings = [listing.parse(p.read_bytes(), p.name, ListingSettings(year=2025)) for p in sorted(SEEDS.glob("*.txt"))]
    catalog = dedupe.dedupe(listings)
    assert (catalog.entry_count, len(catalog.papers), len(catalog.merges)) == (557, 508, 49)
    assert sum(len(p.appearances) for p in catalog.papers) == 557
    assert len({p.id for p in catalog.papers}) == 508
    ids = {p.title: p.id for p in catalog.papers}
    assert {"Consistency Models", "Music Consistency Models", "Multistep Consistency Models"} <= set(ids)


def test_a_paper_listed_once_is_made_as_merging_its_one_entry_makes_it():
    fixtures = Path(__file__).parent / "fixtures"
    files = [*sorted(SEEDS.glob("*.txt")), *sorted((fixtures / "captures").iterdir()),
             fixtures / "api" / "2026-04-17.json"]
    entries = [e for p in files for e in listing.parse(p.read_bytes(), p.name, ListingSettings(year=2025)).entries]
    entries += [entry("Only a title"), entry("Cut short", "An abstract that stops ..."),
                entry("A date as printed", A_CM, published_text="Mar 2025", upvotes=0, comments=0),
                entry("A full date", A_CM, published=dt.date(2025, 3, 1), published_text="Mar 1, 2025")]
    assert {bool(e.arxiv_id) for e in entries} == {True, False} and any(e.authors for e in entries)
    for e in entries:
        assert dedupe._from_one(e) == dedupe._merge([e]), e


# -- positives ------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", [
    "consistency models",  # case
    "Consistency  Models ",  # spacing
    "Consistency\u00a0Models",  # no-break space
    "Consistency-Models",  # punctuation
    "\uff23onsistency Models",  # full-width letter (NFKC)
])
def test_typographic_variants_merge(variant):
    catalog = run(entry("Consistency Models", A_CM, "a.txt", 1), entry(variant, A_CM, "b.txt", 1))
    assert len(catalog.papers) == 1
    assert len(catalog.papers[0].appearances) == 2


def test_curly_and_straight_quotes_and_dashes_merge():
    a = entry("Let\u2019s Verify Step by Step \u2014 Revisited", A_CM, "a.txt")
    b = entry("Let's Verify Step by Step - Revisited", A_CM, "b.txt")
    assert len(run(a, b).papers) == 1


def test_truncated_abstract_merges_and_the_full_abstract_wins():
    short = A_CM[:150] + "..."
    catalog = run(entry("Consistency Models", short, "a.txt", 1), entry("Consistency Models", A_CM, "b.txt", 1))
    assert len(catalog.papers) == 1 and catalog.papers[0].abstract == A_CM


def test_one_letter_typo_in_a_long_title_merges_when_abstracts_agree():
    a = entry("Improved Techniques for Training Consistency Models at Scale", A_CM, "a.txt")
    b = entry("Improved Techniques for Trainng Consistency Models at Scale", A_CM, "b.txt")
    catalog = run(a, b)
    assert len(catalog.papers) == 1
    (merge,) = catalog.merges
    assert not merge.exact and 90 <= merge.title_similarity < 100 and merge.abstract_similarity == 100


def test_merged_paper_keeps_every_appearance_and_the_richest_metadata():
    d1, d2 = dt.date(2025, 3, 11), dt.date(2025, 3, 12)
    catalog = run(
        entry("Consistency Models", A_CM, "a.txt", 4, d1, upvotes=12),
        entry("Consistency Models", A_CM[:100] + "\u2026", "b.txt", 9, d2, authors_count=4, upvotes=48,
              published=dt.date(2023, 3, 2)),
    )
    (paper,) = catalog.papers
    assert [(a.source, a.line, a.date, a.upvotes) for a in paper.appearances] == [
        ("a.txt", 4, d1, 12), ("b.txt", 9, d2, 48)]
    assert (paper.abstract, paper.authors_count, paper.upvotes, paper.published) == (A_CM, 4, 48, dt.date(2023, 3, 2))
    assert paper.dates == (d1, d2)


def test_title_only_entry_joins_its_paper():
    catalog = run(entry("Consistency Models", A_CM, "a.txt"), entry("Consistency Models", "", "b.txt"))
    assert len(catalog.papers) == 1 and catalog.papers[0].abstract == A_CM


# -- negatives ------------------------------------------------------------------------------

def test_similar_titles_stay_apart():
    catalog = run(entry("Consistency Models", A_CM, line=1), entry("Music Consistency Models", A_MUSIC, line=2),
                  entry("Multistep Consistency Models", A_MULTI, line=3))
    assert titles(catalog) == ["Consistency Models", "Multistep Consistency Models", "Music Consistency Models"]


@pytest.mark.parametrize("a,b", [
    ("Llama 2: Open Foundation and Fine-Tuned Chat Models", "Llama 3: Open Foundation and Fine-Tuned Chat Models"),
    ("Target-Driven Distillation: Consistency Distillation with Target Timestep Selection and Decoupled Guidance Hydra Mask",
     "Target-Driven Distillation: Consistency Distillation with Target Timestep Selection and Decoupled Guidance Photo Layer"),
])
def test_titles_a_number_or_a_word_apart_stay_apart_even_over_one_abstract(a, b):
    assert len(run(entry(a, A_CM, "a.txt"), entry(b, A_CM, "b.txt")).papers) == 2


def test_similar_titles_stay_apart_even_without_abstracts():
    catalog = run(entry("Consistency Models", line=1), entry("Music Consistency Models", line=2))
    assert len(catalog.papers) == 2


def test_same_title_over_a_different_abstract_is_a_different_paper():
    catalog = run(entry("Consistency Models", A_CM, "a.txt"), entry("Consistency Models", A_MUSIC, "b.txt"))
    assert len(catalog.papers) == 2
    assert len({p.id for p in catalog.papers}) == 2


def test_a_title_only_entry_cannot_chain_two_different_papers():
    catalog = run(entry("Consistency Models", A_CM, "a.txt"), entry("Consistency Models", "", "b.txt"),
                  entry("Consistency Models", A_MUSIC, "c.txt"))
    assert len(catalog.papers) == 2
    assert sorted(len(p.appearances) for p in catalog.papers) == [1, 2]


def test_sibling_titles_with_different_abstracts_stay_apart():
    a = entry("A-SDM: Accelerating Stable Diffusion through Redundancy Removal and Performance Optimization", A_CM)
    b = entry("A-SDM: Accelerating Stable Diffusion through Model Assembly and Feature Inheritance Strategies", A_MULTI, line=2)
    assert len(run(a, b).papers) == 2


# -- order, ids -----------------------------------------------------------------------------

def test_listing_order_does_not_change_the_result():
    es = [entry("Consistency Models", A_CM, "a.txt", 1), entry("consistency models", A_CM[:120] + "...", "b.txt", 1),
          entry("Music Consistency Models", A_MUSIC, "c.txt", 1), entry("Consistency Models", "", "d.txt", 1)]
    forward, backward = run(*es), run(*reversed(es))
    assert forward.papers == backward.papers


@pytest.mark.parametrize("title,slug", [
    ("Consistency Models", "consistency-models"),
    ("../../etc/passwd", "etc-passwd"),
    ("CON", "con-paper"),
    ("\U0001f600\U0001f680", "paper"),
    ("?!...", "paper"),
    ("A $\\mathscr{W}_+$ Adapter", "a-w-adapter"),
    ("x" * 300, "x" * 80),
])
def test_slugs_are_safe(title, slug):
    assert dedupe.slug_for(title) == slug


def test_slug_clash_keeps_the_first_listed_plain_and_is_stable_when_newer_listings_arrive():
    old = entry("Consistency Models", A_CM, "a.txt", 1, dt.date(2025, 1, 1))
    new = entry("Consistency Models", A_MUSIC, "b.txt", 1, dt.date(2025, 2, 1))
    first = {p.abstract: p.id for p in run(old).papers}
    both = {p.abstract: p.id for p in run(old, new).papers}
    assert both[A_CM] == first[A_CM] == "consistency-models"
    assert both[A_MUSIC].startswith("consistency-models-") and len(both[A_MUSIC]) == len("consistency-models-") + 6
    newest = entry("Music Consistency Models", A_MUSIC, "c.txt", 1, dt.date(2025, 3, 1))
    assert {p.abstract: p.id for p in run(old, new, newest).papers}[A_CM] == "consistency-models"


def test_blocking_scales_without_all_pairs(monkeypatch):
    calls = 0
    real = dedupe.compare

    def counting(a, b):
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(dedupe, "compare", counting)
    es = [entry(f"Paper about topic {i} and its {i * 7} friends", A_CM.replace("noise", f"noise{i}"), line=i)
          for i in range(2000)]
    catalog = run(*es)
    assert len(catalog.papers) == 2000
    assert calls < 2000 * 5  # all pairs would be ~2,000,000


def test_slugs_known_from_an_earlier_build_are_reused_and_every_title_is_reported(monkeypatch, tmp_path):
    """The build cache's slugs memo, as a layer around `slug_for`: a title it knows is not
    slugged again; `used` gets every title's slug for the next build, and the catalogue is the
    one made without a memo."""
    from sitegen import cache

    es = [entry("Consistency Models", A_CM, "a.txt", 1), entry("Music Consistency Models", A_MUSIC, "a.txt", 5)]
    listing = Listing("a.txt", dt.date(2025, 3, 12), tuple(es))
    plain = dedupe.dedupe([listing])
    slugged = []
    memo = cache.Memo(None, "slugs")
    memo.known = {"Consistency Models": "consistency-models"}
    again = dedupe.dedupe([listing], memo.remembered(lambda title: slugged.append(title) or dedupe.slug_for(title),
                                                    lambda title: title))
    assert again == plain
    assert slugged == ["Music Consistency Models"]
    assert memo.used == {"Consistency Models": "consistency-models", "Music Consistency Models": "music-consistency-models"}


# -- arXiv ids as identity ----------------------------------------------------------------------
def test_the_same_arxiv_id_is_one_paper_whatever_the_titles():
    catalog = run(entry("Consistency Models", A_CM, "a.txt", 1, arxiv_id="2303.01469"),
                  entry("Consistency models: fast one-step generation", "", "b.txt", 1, arxiv_id="2303.01469",
                        upvotes=50, comments=3, code_url="https://github.com/openai/consistency_models"))
    (paper,) = catalog.papers
    assert paper.arxiv_id == "2303.01469" and paper.upvotes == 50 and paper.comments == 3
    assert paper.abstract == A_CM and paper.code_url == "https://github.com/openai/consistency_models"


def test_different_arxiv_ids_never_merge_even_with_equal_titles_and_abstracts():
    catalog = run(entry("Consistency Models", A_CM, "a.txt", 1, arxiv_id="2303.01469"),
                  entry("Consistency Models", A_CM, "b.txt", 1, arxiv_id="2310.14189"))
    assert len(catalog.papers) == 2 and {p.arxiv_id for p in catalog.papers} == {"2303.01469", "2310.14189"}


def test_an_id_less_entry_joins_its_id_bearing_capture_but_never_bridges_two_ids():
    catalog = run(entry("Consistency Models", A_CM, "seed.txt", 1),
                  entry("Consistency Models", "", "capture.md", 1, arxiv_id="2303.01469", upvotes=12),
                  entry("Music Consistency Models", A_MUSIC, "capture.md", 2, arxiv_id="2404.13358"))
    by_title = {p.title: p for p in catalog.papers}
    assert len(catalog.papers) == 2
    assert by_title["Consistency Models"].arxiv_id == "2303.01469" and by_title["Consistency Models"].abstract == A_CM
    assert by_title["Music Consistency Models"].arxiv_id == "2404.13358"
    two_ids = run(entry("Consistency Models", A_CM, "seed.txt", 1),
                  entry("Consistency Models", "", "x.md", 1, arxiv_id="2303.01469"),
                  entry("Consistency Models", "", "y.md", 1, arxiv_id="2310.14189"))
    assert sorted(p.arxiv_id or "" for p in two_ids.papers) == ["2303.01469", "2310.14189"]


def test_a_seed_entry_merges_with_the_same_paper_in_a_capture():
    """Seed 004 lists `Consistency Models` with its abstract; a daily capture shows the same paper
    by title only, with its id and upvotes: one paper, both appearances, the seed's abstract."""
    seed = listing.parse((SEEDS / "004_510b9bcdd8f4daed.txt").read_bytes(), "seeds/004.txt",
                         ListingSettings(title="Consistency"))
    capture = listing.parse(b"# Daily Papers\n\nMar 3, 2023\n\n### [Consistency Models]"
                            b"(https://huggingface.co/papers/2303.01469v2)\n\n[88](https://huggingface.co/papers/2303.01469)\n",
                            "2023-03-03.md")
    catalog = dedupe.dedupe([seed, capture])
    (paper,) = [p for p in catalog.papers if p.title == "Consistency Models"]
    assert paper.arxiv_id == "2303.01469" and paper.upvotes == 88 and len(paper.abstract) > 200
    assert {a.source for a in paper.appearances} == {"seeds/004.txt", "2023-03-03.md"}


# -- from an earlier dedupe (what an incremental build does) ----------------------------------

D11, D12, D13 = dt.date(2025, 3, 11), dt.date(2025, 3, 12), dt.date(2025, 3, 13)


def dated(source: str, date, *titled: tuple[str, str]) -> Listing:
    return Listing(source, date, tuple(entry(t, a, source, n, date) for n, (t, a) in enumerate(titled, 1)))


def from_earlier(earlier: list[Listing], listings: list[Listing]):
    """A dedupe of `listings` started from one of `earlier`, checked against one from scratch."""
    _, joined = dedupe.dedupe_from(None, earlier)
    catalog, state = dedupe.dedupe_from(joined, listings)
    assert (catalog, state) == dedupe.dedupe_from(None, listings)
    return catalog


def test_an_older_entry_of_a_known_variant_makes_it_its_papers_first():
    """A new listing, dated before the others, repeats one of a paper's three variants: that
    variant now holds the paper's first appearance, so the others' scores are against it."""
    typo = A_CM.replace("directly", "diretcly")
    old = [dated("a.txt", D12, ("Consistency Models", A_CM)), dated("b.txt", D12, ("Consistency Models", typo)),
           dated("c.txt", D13, ("Consistency Models", A_CM[:120] + "..."))]
    new = dated("d.txt", D11, ("Consistency Models", typo))
    catalog = from_earlier(old, old + [new])
    assert [a.source for a in catalog.papers[0].appearances] == ["d.txt", "a.txt", "b.txt", "c.txt"]
    assert len(catalog.papers) == 1


def test_a_variant_takes_its_title_key_from_its_first_entry_in_the_order_given():
    """`GraphNeural Networks` and `Graph Neural Networks` fold to one variant, keyed by the title
    of its first entry: a new listing read before the old one gives it its title."""
    old = [dated("b.txt", D12, ("GraphNeural Networks", A_MULTI))]
    new = dated("a.txt", D13, ("Graph Neural Networks", A_MULTI))
    from_earlier(old, [new] + old)


def test_an_added_listing_compares_only_what_it_reaches(monkeypatch):
    """Papers the new entries share no block and no id with are not compared again."""
    old = [dated("a.txt", D11, ("Consistency Models", A_CM), ("Music Consistency Models", A_MUSIC))]
    new = dated("b.txt", D12, ("Consistency Model", A_CM))
    _, joined = dedupe.dedupe_from(None, old)
    joins = []
    real = dedupe._join
    monkeypatch.setattr(dedupe, "_join", lambda variants, *rest: joins.append(len(variants)) or real(variants, *rest))
    catalog, _ = dedupe.dedupe_from(joined, old + [new])
    assert joins == [2]  # Consistency Models and its new variant, not Music Consistency Models
    assert [len(p.appearances) for p in catalog.papers] == [2, 1]
    assert catalog.merges[0].paper_title == "Consistency Models"


def test_a_changed_or_lost_listing_means_a_dedupe_from_scratch():
    old = [dated("a.txt", D11, ("Consistency Models", A_CM)), dated("b.txt", D12, ("Music Consistency Models", A_MUSIC))]
    changed = dated("a.txt", D11, ("Consistency Models", A_CM[:100] + "..."))
    for listings in ([changed, old[1]], [old[1]], old[::-1]):
        from_earlier(old, listings)


def test_a_parsed_listing_is_known_by_its_entries_digests(monkeypatch):
    """A listing the parser made is named by its entries' digests (`Listing.entry_digests`),
    not by its text encoded again: the same listing parsed again is known, and a dedupe from
    the kept state is the cold one; a listing whose entry changed is not, and is deduped from
    scratch."""
    def page(day: str, title: str, abstract: str) -> bytes:
        return (f"# Daily Papers\n\n{day}\n\n### [{title}](https://huggingface.co/papers/2303.01469)\n\n"
                f"{abstract}\n").encode()
    old = [listing.parse(page("Mar 11, 2025", "Consistency Models", A_CM), "a.md"),
           listing.parse(page("Mar 12, 2025", "Music Consistency Models", A_MUSIC), "b.md")]
    assert all(len(li.entry_digests) == len(li.entries) == 1 for li in old)
    _, joined = dedupe.dedupe_from(None, old)
    again = [listing.parse(page("Mar 11, 2025", "Consistency Models", A_CM), "a.md"), old[1]]
    hollow = evolve(old[0], entries=tuple(evolve(e, title="", abstract="") for e in old[0].entries))
    assert dedupe._fingerprint(hollow) == dedupe._fingerprint(old[0]), "named by the digests, not the text"
    read = []
    real = dedupe._keys
    monkeypatch.setattr(dedupe, "_keys", lambda e, akey_of: read.append(e.source) or real(e, akey_of))
    new = listing.parse(page("Mar 13, 2025", "Consistency Model", A_CM), "c.md")
    catalog, state = dedupe.dedupe_from(joined, again + [new])
    assert read == ["c.md"], "only the new listing's entries are read again"
    assert (catalog, state) == dedupe.dedupe_from(None, again + [new])
    changed = listing.parse(page("Mar 11, 2025", "Consistency Models", A_CM[:150] + "..."), "a.md")
    assert dedupe._fingerprint(changed) != dedupe._fingerprint(old[0])
    read.clear()
    catalog, state = dedupe.dedupe_from(joined, [changed, old[1], new])
    assert sorted(read) == ["a.md", "b.md", "c.md"], "a changed listing: every entry deduped again"
    assert (catalog, state) == dedupe.dedupe_from(None, [changed, old[1], new])


def test_a_kept_dedupe_makes_the_abstract_keys_only_of_what_a_new_day_reaches(monkeypatch):
    """What is kept of each variant is its abstract key's opening (`_Variant.head`), not the
    whole key: a dedupe from it makes the whole key only of the variants it compares, and
    the catalogue and what it keeps are a cold dedupe's."""
    tidal = ("We forecast tidal energy output with a small recurrent model and report the errors per site, "
             "over three years of measurements at twelve sites, against the harmonic models used today.")
    old = [dated("a.txt", D11, ("Consistency Models", A_CM), ("Music Consistency Models", A_MUSIC),
                 ("Multistep Consistency Models", A_MULTI), ("Forecasting Tidal Energy", tidal))]
    _, joined = dedupe.dedupe_from(None, old)
    assert [head for _, _, head, _ in joined.variants] == [dedupe.abstract_key(a)[:dedupe.ABSTRACT_HEAD]
                                                          for a in (A_CM, tidal, A_MULTI, A_MUSIC)]
    made = []
    real = dedupe.abstract_key
    monkeypatch.setattr(dedupe, "abstract_key", lambda abstract: made.append(abstract) or real(abstract))
    new = dated("b.txt", D12, ("Consistency Model", A_CM))
    catalog, state = dedupe.dedupe_from(joined, old + [new])
    assert A_CM in made and tidal not in made, "keys of what the new entry reaches, not of the rest"
    assert (catalog, state) == dedupe.dedupe_from(None, old + [new])


def test_clashing_slugs_go_by_first_listed_then_by_the_whole_abstract_key():
    """Papers whose slugs clash are ordered by when each was first listed, then by abstract
    key: the kept opening of the key orders them, and the whole key where openings agree."""
    day = dt.date(2025, 3, 11)
    shared = "x" * dedupe.ABSTRACT_HEAD
    abstracts = [shared + " beta", shared + " alpha", "b" + shared, "a" + shared, shared + " alpha beta"]
    papers = [dedupe._from_one(entry("Same Title", a, "s.txt", 1, day)) for a in abstracts]  # (listed alike)
    papers.append(dedupe._from_one(entry("Same Title", "a", "z.txt", 1, dt.date(2025, 3, 10))))
    members = list(range(len(papers)))
    whole = []
    dedupe._by_first_listed(members, papers, lambda a: whole.append(a) or dedupe.abstract_key(a),
                            lambda a: dedupe.abstract_key(a)[:dedupe.ABSTRACT_HEAD])
    assert sorted(whole) == sorted(abstracts[n] for n in (0, 1, 4)), "whole keys only where openings agree"
    assert members == sorted(range(len(papers)), key=lambda n: (dedupe._first_listed(papers[n]),
                                                                dedupe.abstract_key(papers[n].abstract)))
    assert members == [5, 3, 2, 1, 4, 0]  # (the last three agree over their openings)
