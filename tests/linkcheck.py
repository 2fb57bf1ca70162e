"""A link crawler for built sites: from index.html, follow every internal href/src, as a web
server and as file:// would resolve them, and report what is broken or unreachable."""
from __future__ import annotations

import posixpath
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

ATTRS = {("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("form", "action"), ("iframe", "src")}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag == "base" and d.get("href"):
            self.base = d["href"]
        for t, attr in ATTRS:
            if tag == t and d.get(attr) is not None:
                self.found.append(d[attr])


def links(html: str) -> tuple[list[str], str | None]:
    parser = _Links()
    parser.feed(html)
    return parser.found, parser.base


def _internal(url: str) -> bool:
    scheme = urlsplit(url).scheme
    return scheme == "" and not url.startswith(("//", "#"))


def crawl_files(root: Path, start: str = "index.html", skip: tuple[str, ...] = ("404.html",)):
    """(reached pages, broken [(page, link)]) resolving links on disk, as file:// does."""
    reached, broken, queue = set(), [], [start]
    while queue:
        page = queue.pop()
        if page in reached:
            continue
        reached.add(page)
        if not page.endswith(".html") or page in skip:
            continue
        found, _ = links((root / page).read_text(encoding="utf-8"))
        for link in found:
            if not _internal(link):
                continue
            target = unquote(urlsplit(link).path)
            if not target:
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
            if resolved.startswith("..") or not (root / resolved).is_file():
                broken.append((page, link))
            elif resolved.endswith(".html"):
                queue.append(resolved)
            else:
                reached.add(resolved)
    return reached, broken


def crawl_http(start_url: str):
    """(reached URLs, broken [(page, link, status)]) following same-site links over HTTP."""
    origin = urlsplit(start_url)
    prefix = start_url.rsplit("/", 1)[0] + "/"
    reached, broken, queue = set(), [], [start_url]
    while queue:
        url = queue.pop()
        if url in reached:
            continue
        reached.add(url)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                ctype = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            broken.append((url, url, e.code))
            continue
        if "html" not in ctype:
            continue
        found, base = links(body.decode("utf-8"))
        for link in found:
            if not _internal(link):
                continue
            absolute = urljoin(base or url, link).split("#")[0]
            parts = urlsplit(absolute)
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc) or not absolute.startswith(prefix):
                broken.append((url, link, "outside the site"))
                continue
            if absolute not in reached:
                queue.append(absolute)
    return reached, broken
