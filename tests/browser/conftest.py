"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Without a browser these tests skip with the reason, except under CI=true, where they fail:
a CI run that silently skipped the browser would prove nothing.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SITEGEN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-quic", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]


def require_browser() -> None:
    problem = None
    try:
        import playwright.sync_api  # noqa: F401  (only asks whether it is installed)
    except ImportError:
        problem = "the playwright package is not installed (make setup installs it)"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"no Chromium at {CHROMIUM} (make browser installs Debian's chromium)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI=true: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path):
    """Serve a folder on 127.0.0.1 in a thread; returns (base URL, server)."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


@pytest.fixture(scope="session")
def http_site(seed_site):
    url, server = serve(seed_site)
    yield url
    server.shutdown()


@pytest.fixture(params=["http", "file"])
def site_url(request, seed_site) -> str:
    """The seed site's root URL, served over HTTP and opened from disk."""
    if request.param == "http":
        return request.getfixturevalue("http_site")
    return seed_site.as_uri() + "/"


class Watched:
    """A page plus everything that went wrong on it: console errors, page errors, failed requests."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)


    def _failed(self, request) -> None:
        # A navigation cancels loads still in flight (net::ERR_ABORTED): not a broken link.
        # Missing files show as HTTP 404 or net::ERR_FILE_NOT_FOUND and are recorded.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"failed request: {request.url} {request.failure}")


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    w = Watched(context.new_page())
    yield w
    context.close()
    assert w.errors == [], "errors while browsing"


@pytest.fixture
def page(watched):
    return watched.page
