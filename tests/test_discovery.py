"""Discovery: related papers, appearance history, JSON Feed."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from sitegen import related

from conftest import ROOT, catalogue
from sitegen.model import Appearance, Paper
from sitegen.site import history_line


def test_related_siblings_rank_first(seed_site):
    papers = catalogue(seed_site)
    by_title = {p["title"]: p for p in papers}
    a = by_title["A-SDM: Accelerating Stable Diffusion through Redundancy Removal and Performance Optimization"]
    b = by_title["A-SDM: Accelerating Stable Diffusion through Model Assembly and Feature Inheritance Strategies"]
    for this, sibling in ((a, b), (b, a)):
        page = (seed_site / this["url"]).read_text()
        section = page[page.index('id="related-heading"'):]
        first = section[section.index("<li>"):section.index("</li>")]
        assert f'href="{sibling["url"].removeprefix("papers/")}"' in first  # both pages live in papers/


def test_related_lists_are_precise_on_papers_with_obvious_siblings():
    """A wider check than the A-SDM pair: 300 seed papers each get five siblings (the title
    with two other words, the abstract's sentences reordered and one in five swapped for a
    sentence of another paper, as follow-ups and versions read), among the other seed papers
    as distractors. Each family member's related list should be its siblings: precision of
    the top 5 at least 0.95 over the 1,800 family members."""
    import random

    from sitegen import config
    from sitegen.build import assemble_only

    papers = [(p.text.title_text, p.text.abstract_text) for p in assemble_only(config.load(ROOT / "sitegen.toml")).papers]
    rng = random.Random(29)
    words = sorted({w for title, _ in papers for w in title.split() if w.isalpha() and len(w) > 3})
    sentences = [s for _, abstract in papers for s in abstract.split(". ")]
    docs, family = [], []
    for f, (title, abstract) in enumerate(papers):
        members = 6 if f < 300 else 1
        for m in range(members):
            if m == 0:
                docs.append((title, abstract))
            else:
                parts = abstract.split(". ")
                rng.shuffle(parts)
                parts = [rng.choice(sentences) if rng.random() < 0.2 else part for part in parts]
                docs.append((f"{title} {rng.choice(words)} {rng.choice(words)}", ". ".join(parts)))
            family.append(f)
    found = related.related(docs)
    members = [i for i in range(len(docs)) if family[i] < 300]
    hits = [sum(family[j] == family[i] for j, _ in found[i]) / 5 for i in members]
    precision = sum(hits) / len(hits)
    assert len(members) == 1800 and precision >= 0.95, f"precision of related lists {precision:.3f}"


def test_related_is_top_k_best_first_and_never_itself():
    docs = [("Stable diffusion distillation", "We distil a stable diffusion model into one step."),
            ("Stable diffusion distillation revisited", "We distil stable diffusion again, better."),
            ("Graph neural networks", "Message passing on graphs."),
            ("Graph networks for molecules", "Message passing for molecular graphs."),
            ("Unrelated topic", "Nothing in common whatsoever.")]
    result = related.related(docs, k=2)
    assert [j for j, _ in result[0]][:1] == [1] and [j for j, _ in result[2]][:1] == [3]
    assert all(i not in [j for j, _ in r] for i, r in enumerate(result))
    assert all(len(r) <= 2 for r in result)
    assert result[4] == []  # nothing shared, nothing related
    scores = [s for _, s in result[0]]
    assert scores == sorted(scores, reverse=True)


def test_related_scores_are_full_cosines_whatever_the_pruning(monkeypatch):
    """Candidates come from pruned postings, but each related paper's score (and so its rank)
    is the full cosine of the two papers' weighted words: a paper that loses its place in a
    word's postings to a new paper keeps its scores, so a new day reaches only the lists it
    truly enters (ranked by pruned sums, about 930 more lists moved per day at 10k papers)."""
    import random

    import numpy as np

    monkeypatch.setattr(related, "POSTINGS_PER_TERM", 2)
    monkeypatch.setattr(related, "TERMS_PER_PAPER", 4)
    rng = random.Random(7)
    vocabulary = [f"w{n}x" for n in range(400)]
    docs = [(" ".join(rng.choices(vocabulary[:100], k=3)), " ".join(rng.choices(vocabulary, k=15))) for _ in range(80)]
    stems = related.document_stems()
    x = related.weighted([stems(t, a) for t, a in docs])
    cosine = (x @ x.T).toarray()
    found = related.related(docs)
    best_found = 0
    for i, best in enumerate(found):
        assert best, f"document {i} has no related documents"
        assert [s for _, s in best] == [round(float(cosine[i, j]), 6) for j, _ in best], f"document {i}"
        best_found += best[0][1] == round(float(np.delete(cosine[i], i).max()), 6)
    assert best_found >= 0.75 * len(docs), best_found  # even pruned this hard, the pool nearly always holds the best


def test_related_reads_its_documents_as_a_stream():
    """The build's worker gives `related` its texts one at a time, each let go of once taken
    (to free them before the products); the result is the same as from a list."""
    from sitegen.related import drained

    docs = [(f"topic{i % 7} subject{i % 5}", f"words{i % 3} only{i % 11} shared") for i in range(60)]
    own = list(docs)
    assert related.related(drained(own)) == related.related(docs)
    assert own == [] and len(docs) == 60


def test_related_ties_go_to_the_earlier_paper():
    filler = [(f"topic{i} subject{i}", f"words{i} only{i}") for i in range(100)]
    docs = filler + [("alpha beta", "")] * 4
    assert [j for j, _ in related.related(docs, k=2)[103]] == [100, 101]


def _best_per_row_plainly(block, start, k):
    """The rule `related._best_per_row` applies, one row at a time, as it was first written."""
    import numpy as np
    out = []
    for r in range(block.shape[0]):
        lo, hi = block.indptr[r], block.indptr[r + 1]
        idx, score = block.indices[lo:hi], block.data[lo:hi]
        mask = (idx != start + r) & (score > 0)
        idx, score = idx[mask], score[mask]
        if len(idx) > k:
            kth = np.partition(score, len(score) - k)[len(score) - k]
            idx, score = idx[score >= kth], score[score >= kth]
        order = np.lexsort((idx, -np.round(score, 9)))[:k]
        out.append([(int(idx[o]), round(float(score[o]), 6)) for o in order])
    return out


@pytest.mark.parametrize("seed", range(12))
def test_best_per_row_keeps_what_a_row_by_row_search_keeps(seed):
    """Rows crowded and sparse, ties at every rank (scores drawn from a few values), zeros
    stored explicitly, each row's own document among its columns: the block-wide search with
    its floors keeps exactly what a plain search of each row keeps."""
    import numpy as np
    from scipy import sparse
    rng = np.random.default_rng(seed)
    rows, cols = 40, 700
    counts = rng.choice([0, 1, 3, 6, 20, related.SLICES - 1, related.SLICES, 150, 700], size=rows)
    data, indices, indptr = [], [], [0]
    for n in counts:
        columns = np.sort(rng.choice(cols, size=n, replace=False))
        rng.shuffle(columns)  # a product's columns come in no order
        values = rng.choice([0.0, 0.1, 0.25, 0.5, 0.5000000001, 0.9, 1.0], size=n) if seed % 2 else rng.random(n)
        indices.append(columns)
        data.append(values)
        indptr.append(indptr[-1] + n)
    block = sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)), shape=(rows, cols))
    start = int(rng.integers(0, cols - rows))
    for k in (1, 2, 5, 9):
        assert related._best_per_row(block, start, k) == _best_per_row_plainly(block, start, k)


def test_history_line():
    d = dt.date
    p = Paper("x", "T", "", (Appearance("a", 1, 3, d(2025, 3, 11), 12), Appearance("b", 1, 2, d(2025, 3, 12), 30),
                            Appearance("c", 1, 1, d(2025, 3, 13), 48), Appearance("u", 4, 9, None, None)))
    assert history_line(p) == "listed on 3 days; in 1 undated listing; upvotes 12 \u2192 30 \u2192 48"


def test_json_feed_is_valid_1_1(seed_site):
    feed = json.loads((seed_site / "feed.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and isinstance(feed["items"], list) and len(feed["items"]) == 50
    for item in feed["items"]:
        assert item["id"] and (item.get("content_text") or item.get("content_html"))
        assert (seed_site / item["url"]).is_file()
        dt.datetime.fromisoformat(item["date_published"])
    dates = [i["date_published"] for i in feed["items"]]
    assert dates == sorted(dates, reverse=True)
    assert 'type="application/feed+json"' in (seed_site / "index.html").read_text()


# -- weeks, months, top ordering ------------------------------------------------------------

import pytest

from sitegen import periods
from sitegen.views import Digest, Link, PaperSummary


@pytest.mark.parametrize("day,week,month", [
    (dt.date(2024, 12, 30), "2025-W01", "2024-12"),  # a Monday in December that belongs to week 1
    (dt.date(2025, 1, 1), "2025-W01", "2025-01"),
    (dt.date(2021, 1, 3), "2020-W53", "2021-01"),  # a Sunday in January in the previous year's week 53
    (dt.date(2020, 12, 31), "2020-W53", "2020-12"),
    (dt.date(2025, 3, 12), "2025-W11", "2025-03"),
])
def test_week_and_month_keys_across_year_boundaries(day, week, month):
    assert (periods.week_key(day), periods.month_key(day)) == (week, month)


def test_week_labels():
    assert periods.week_label("2020-W53") == "Week 53, 2020"
    assert periods.week_range("2020-W53") == "Dec 28, 2020 \u2013 Jan 3, 2021"
    assert periods.week_range("2025-W11") == "Mar 10 \u2013 Mar 16, 2025"
    assert periods.month_label("2025-03") == "March 2025"


def _summary(pid, rank, upvotes):
    return PaperSummary(pid, f"papers/{pid}.html", pid, pid, "", (), rank=rank, upvotes=upvotes)


def test_top_order_highest_first_ties_and_unknowns_in_listing_order():
    papers = [_summary("a", 1, 5), _summary("b", 2, None), _summary("c", 3, 12), _summary("d", 4, 5), _summary("e", 5, 0)]
    assert [p.id for p in periods.top_order(papers)] == ["c", "a", "d", "e", "b"]


def test_roll_up_keeps_each_paper_once_with_its_best_upvotes():
    d1 = Digest("dates/2025-03-10.html", "Mon", "Mar 10", dt.date(2025, 3, 10), ("a",), (_summary("x", 1, 3), _summary("y", 2, None)))
    d2 = Digest("dates/2025-03-12.html", "Wed", "Mar 12", dt.date(2025, 3, 12), ("b",), (_summary("z", 1, 1), _summary("x", 2, 9)))
    d3 = Digest("dates/2025-03-17.html", "Mon", "Mar 17", dt.date(2025, 3, 17), ("c",), (_summary("w", 1, None),))
    weeks = periods.roll_up([d1, d2, d3], "week", Link)
    assert [w.key for w in weeks] == ["2025-W11", "2025-W12"]
    assert [(p.id, p.rank, p.upvotes) for p in weeks[0].papers] == [("x", 1, 9), ("y", 2, None), ("z", 3, 1)]
    assert weeks[0].next == Link("weeks/2025-W12.html", "Week 12, 2025") and weeks[1].previous.path == "weeks/2025-W11.html"
    assert weeks[0].days == (Link("dates/2025-03-10.html", "Mar 10"), Link("dates/2025-03-12.html", "Mar 12"))
    assert weeks[0].last_date == dt.date(2025, 3, 12)
    (month,) = periods.roll_up([d1, d2, d3], "month", Link)
    assert [p.id for p in month.papers] == ["x", "y", "z", "w"]
    (plan,) = periods.plans([d1, d2, d3], "month", Link)  # what the site knows before rolling up
    assert plan.view() == month and (plan.count, plan.upvotes) == (4, True)
    assert periods.summary(plan) == periods.Summary("months/2025-03.html", "March 2025", "", 4, 3)
    listing, top = periods.with_top(weeks[0], Link)
    assert top.path == "weeks/2025-W11-top.html" and [p.id for p in top.papers] == ["x", "z", "y"]
    assert listing.alternate.path == top.path and top.alternate.path == listing.path
    assert periods.with_top(weeks[1], Link) == [weeks[1]]  # no upvotes known: one ordering only
    week_plans = periods.plans([d1, d2, d3], "week", Link)
    assert [p.upvotes for p in week_plans] == [True, False]
    assert periods.ordered_view(week_plans[0], "top", Link) == top
    assert periods.ordered_view(week_plans[0], "listing", Link) == listing


def _topic_documents(n: int, seed: int) -> list[tuple[str, str]]:
    """n documents drawn from a few topics' words, so that each has near neighbours."""
    import random
    rng = random.Random(seed)
    topics = [[f"t{t}w{w}" for w in range(60)] for t in range(9)]  # each word in a few documents
    common = [f"c{w}" for w in range(40)]
    docs = []
    for _ in range(n):
        topic = rng.choice(topics)
        docs.append((" ".join(rng.choices(topic, k=3)), " ".join(rng.choices(topic, k=8) + rng.choices(common, k=8))))
    return docs


def test_a_kept_first_tier_gives_the_lists_a_cold_computation_gives(monkeypatch):
    """The documents before the last multiple of TIER make the first tier, a record of arrays
    that the build keeps (`as_buffers`, `from_buffers`); related lists made from the kept tier
    are those made from scratch, and a new document's words unseen in the tier still count."""
    monkeypatch.setattr(related, "TIER", 32)
    docs = _topic_documents(150, 3) + [("fresh unseen words", "entirely unseen vocabulary t1w1")] * 2
    docs.append((docs[5][0], docs[5][1] + " again"))  # a recent near-copy of a first-tier document
    stems = related.document_stems()
    tier = related.first_tier([stems(*d) for d in docs[:128]])
    header, buffers = tier.as_buffers()
    kept = related.FirstTier.from_buffers(header, [bytes(b) for b in buffers])
    given = []
    found = related.related(docs, first_tier_of=lambda texts: given.append(list(texts)) or kept)
    assert given == [docs[:128]]
    assert found == related.related(docs)
    assert [j for j, _ in found[150]][:1] == [151]  # the two fresh documents share unseen words
    assert found[5][0][0] == 152 and found[152][0][0] == 5  # a first-tier list takes in what reaches it
    with pytest.raises(ValueError):
        related.FirstTier.from_buffers({**header, "shape": [127, header["shape"][1]]}, buffers)


@pytest.mark.parametrize("seed", range(4))
def test_new_documents_reach_a_first_tier_list_only_by_ranking_in_it(monkeypatch, seed):
    """Weights come from the first tier alone, and its documents' candidates among themselves
    are fixed, so documents added after it change a first-tier document's list only where
    they rank: what is left of its first-tier entries is the start of what it had."""
    monkeypatch.setattr(related, "TIER", 64)
    docs = _topic_documents(190, seed)  # the first tier: the first 128 (2 x 64), before and after
    before = related.related(docs[:140])
    after = related.related(docs)
    changed = kept = 0
    for i in range(128):
        old = [(j, s) for j, s in before[i] if j < 128]
        new = [(j, s) for j, s in after[i] if j < 128]
        assert new == old[:len(new)], f"document {i}"
        changed += before[i] != after[i]
        kept += len(new)
    assert changed and kept >= 128, (changed, kept)  # some lists take in new documents, and old ones stay


def test_right_at_a_tier_boundary_the_recent_tier_is_empty(monkeypatch):
    """With a multiple of TIER documents every one is in the first tier and the recent tier
    has none: the lists are the first tier's own, from scratch or kept."""
    monkeypatch.setattr(related, "TIER", 32)
    docs = _topic_documents(64, 1)
    stems = related.document_stems()
    tier = related.first_tier([stems(*d) for d in docs])
    found = related.related(docs)
    assert found == related._related(tier, [], related.TOP_K) == related.related(docs, first_tier_of=lambda _: tier)
    assert sum(map(len, found)) > 64 and all(i not in [j for j, _ in found[i]] for i in range(64))
