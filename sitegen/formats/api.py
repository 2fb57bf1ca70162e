"""The Hugging Face daily-papers API's answer, as `sitegen fetch` saves it (`YYYY-MM-DD.json`):
a JSON array of objects with `title`, `publishedAt`, `numComments`, `submittedBy`, and `paper`
holding `id`, `title`, `summary`, `authors` (`name`), `upvotes`, `publishedAt`, and where
present `ai_summary`, `githubRepo`, `githubStars`, `organization`. Unknown fields are ignored;
an entry that is not a paper is a warning naming its index; `[]` is an empty day.
"""
from __future__ import annotations

import datetime as dt
import json

from ..model import Problem
from .common import Reading, normalize_id

NAME = "api json"


def detect(text: str) -> float:
    head = text.lstrip()
    if not head.startswith("[") or head[1:].lstrip()[:1] not in ("{", "]"):
        return 0.0  # not an array of objects (a paste may start with a title like `[Re] ...`)
    try:
        data = json.loads(text)
    except ValueError:
        return 0.5  # an array of objects gone wrong: `read` says what is wrong with it
    if not isinstance(data, list):
        return 0.0
    papers = [d for d in data if isinstance(d, dict) and ("paper" in d or "title" in d)]
    return 1.0 if papers or not data else 0.0


def read(text: str, source: str) -> Reading:
    reading = Reading()
    try:
        data = json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", 0)
        reading.problems.append(Problem(source, line, f"not valid JSON ({getattr(e, 'msg', e)}): no papers read",
                                        code="json-invalid"))
        return reading
    if not isinstance(data, list):
        reading.problems.append(Problem(source, 1, "not a daily-papers answer (a JSON array of papers): no papers read",
                                        code="not-api-json"))
        return reading
    for index, item in enumerate(data):
        entry = _entry(item)
        if entry is None:
            reading.problems.append(Problem(source, 0, f"entry {index}: not a paper (no title): skipped",
                                            code="api-entry-not-a-paper"))
            continue
        entry["line"] = index + 1  # the entry's place in the array stands in for a line
        reading.entries.append(entry)
    return reading


def _entry(item) -> dict | None:
    if not isinstance(item, dict):
        return None
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}
    title = _text(paper.get("title")) or _text(item.get("title"))
    if not title:
        return None
    entry: dict = {"title": title, "abstract": _text(paper.get("summary"), lines=True)}
    paper_id = normalize_id(str(paper.get("id") or "")) if paper.get("id") else None
    if paper_id:
        entry["arxiv_id"] = paper_id
    authors = paper.get("authors")
    if isinstance(authors, list):
        names = tuple(n for a in authors if isinstance(a, dict) and (n := _text(a.get("name"))))
        entry["authors"] = names
        entry["authors_count"] = len(authors)
    for key, field in (("upvotes", paper), ("githubStars", paper), ("numComments", item)):
        value = field.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            entry[{"upvotes": "upvotes", "githubStars": "code_stars", "numComments": "comments"}[key]] = value
    repo = paper.get("githubRepo")
    if isinstance(repo, str) and repo.startswith(("https://", "http://")):
        entry["code_url"] = repo
    summary = _text(paper.get("ai_summary"))
    if summary:
        entry["ai_summary"] = summary
    submitter = item.get("submittedBy") or paper.get("submittedOnDailyBy")
    name = _name(submitter)
    if name:
        entry["submitter"] = name
    organization = _name(paper.get("organization") or item.get("organization"))
    if organization:
        entry["organization"] = organization
    published = _date(paper.get("publishedAt") or item.get("publishedAt"))
    if published:
        entry["published"] = published
    return entry


def _text(value, lines: bool = False) -> str:
    if not isinstance(value, str):
        return ""
    if lines:  # an abstract keeps its paragraphs
        return "\n\n".join(" ".join(p.split()) for p in value.split("\n\n") if p.strip())
    return " ".join(value.split())


def _name(value) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return _text(value.get("fullname")) or _text(value.get("name"))
    return ""


def _date(value) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
