"""Discovery: related papers, appearance history, JSON Feed."""
from __future__ import annotations

import datetime as dt
import json

from sitegen import related
from sitegen.model import Appearance, Paper
from sitegen.site import history_line


def test_related_siblings_rank_first(seed_site):
    papers = json.loads((seed_site / "papers.json").read_text())
    by_title = {p["title"]: p for p in papers}
    a = by_title["A-SDM: Accelerating Stable Diffusion through Redundancy Removal and Performance Optimization"]
    b = by_title["A-SDM: Accelerating Stable Diffusion through Model Assembly and Feature Inheritance Strategies"]
    for this, sibling in ((a, b), (b, a)):
        page = (seed_site / this["url"]).read_text()
        section = page[page.index('id="related-heading"'):]
        first = section[section.index("<li>"):section.index("</li>")]
        assert f'href="{sibling["url"].removeprefix("papers/")}"' in first  # both pages live in papers/


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


def test_related_ties_go_to_the_earlier_paper():
    filler = [(f"topic{i} subject{i}", f"words{i} only{i}") for i in range(100)]
    docs = filler + [("alpha beta", "")] * 4
    assert [j for j, _ in related.related(docs, k=2)[103]] == [100, 101]


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
