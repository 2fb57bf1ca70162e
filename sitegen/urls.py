"""The URL policy in one place.

Pages link to each other *relatively* and always to files (`dates/2025-03-12.html`, never a
bare folder), so one build works at a domain root, under a sub-path, and from `file://`.
Absolute URLs (canonical links, feeds, sitemap, mail) join the configured base URL.
"""
from __future__ import annotations

import datetime as dt
import posixpath
from functools import lru_cache
from urllib.parse import quote

INDEX = "index.html"
ARCHIVE = "archive.html"
SEARCH = "search.html"
NOT_FOUND = "404.html"
CATALOG = "papers.json"
FEED = "feed.xml"
JSON_FEED = "feed.json"
SITEMAP = "sitemap.xml"
ROBOTS = "robots.txt"
NOJEKYLL = ".nojekyll"
STYLESHEET = "static/style.css"
FAVICON = "static/favicon.svg"
SITE_SCRIPT = "static/site.js"
SEARCH_SCRIPT = "static/search.js"
ENGINE_SCRIPT = "static/search-engine.js"
WORKER_SCRIPT = "static/search-worker.js"
LUNR = "static/vendor/lunr.min.js"
SEARCH_MANIFEST = "search/manifest.js"


def search_file(kind: str, k: int | str) -> str:
    """One file of the search index: `kind` is t, p, w or d, `k` its number, after its tier's
    name for t, p and w (see `search`)."""
    return f"search/{kind}/{k}.js"


def paper(paper_id: str) -> str:
    return f"papers/{paper_id}.html"


def catalog_part(month: str | None) -> str:
    """A month's share of the catalogue (papers first listed that month, YYYY-MM), or of
    the papers listed only undated: `papers.json` lists them."""
    return f"catalog/{month or 'undated'}.json"


def date(day: dt.date) -> str:
    return f"dates/{day.isoformat()}.html"


def week(key: str) -> str:
    return f"weeks/{key}.html"


def month(key: str) -> str:
    return f"months/{key}.html"


def listing(slug: str) -> str:
    return f"listings/{slug}.html"


def relative(from_page: str, to_file: str) -> str:
    """The link from one output file to another, both given relative to the site root."""
    if to_file == from_page:
        return quote(to_file.rpartition("/")[2])
    return _relative_from(from_page.rpartition("/")[0], to_file)


@lru_cache(maxsize=65536)
def _relative_from(folder: str, to_file: str) -> str:
    # Pages in one folder share their links (../index.html, ../static/...): computed once each.
    # Every page sits at the root or one folder down, where the link is a prefix away; deeper
    # or unusual paths take posixpath.relpath (a test compares the two on many pairs).
    if not folder:
        if not to_file.startswith(("/", "./", "../")):
            return quote(to_file)
    elif "/" not in folder and folder not in (".", "..", to_file) and not to_file.startswith(("/", ".")):
        if to_file.startswith(folder + "/") and "/" not in to_file[len(folder) + 1:]:
            return quote(to_file[len(folder) + 1:])
        if "/" not in to_file or not to_file.startswith(folder + "/"):
            return quote("../" + to_file)
    return quote(posixpath.relpath(to_file, folder or "."))


def href(base_url: str, from_page: str, path: str) -> str:
    """A link to `path` from the output file `from_page`: absolute with a base URL (feeds and
    mail are read away from the site), else relative."""
    return absolute(base_url, path) or relative(from_page, path)


def absolute(base_url: str, path: str) -> str | None:
    """The absolute URL of an output file, or None when no base URL is configured."""
    if not base_url:
        return None
    return base_url.rstrip("/") + "/" + quote(path)


def folder_key(folder) -> str:
    """A short name for an output folder, from its absolute path: its build record and its build
    lock are filed under it in the build cache."""
    import hashlib

    return hashlib.blake2b(str(folder.absolute()).encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
