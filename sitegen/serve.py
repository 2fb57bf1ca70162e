"""`sitegen serve`: build, serve the output on localhost under the configured base path,
rebuild when listings, the project's templates or static files, its extra files or the config
change, and reload the browser.

Live reload is the dev server's own business: it adds a small polling script to HTML as it
serves it, so nothing of it reaches the built files.

It serves only a folder sitegen built (one with the marker), never a hidden file in it, only to
requests whose `Host` names the address it listens on (so a web page cannot reach it through
DNS rebinding), and it closes idle connections.
"""
from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .config import Config
from .output import MARKER, OutputError, is_site, written_by_builds
from .sources import LISTING_SUFFIXES

RELOAD_ENDPOINT = "/__sitegen__/build"
MAX_PATH = 2048  # characters of a request path; longer ones get 414
IDLE_SECONDS = 15  # a connection that sends nothing for this long is closed
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
RELOAD_SCRIPT = (
    "<script>(function(){var v=null;function poll(){fetch('%s',{cache:'no-store'}).then(function(r){return r.text()})"
    ".then(function(t){if(v!==null&&t!==v){location.reload()}v=t}).catch(function(){}).finally(function(){"
    "setTimeout(poll,700)})}poll()})();</script>" % RELOAD_ENDPOINT
)


class State:
    def __init__(self):
        self.build_id = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        with self.lock:
            self.build_id += 1


def base_path(base_url: str) -> str:
    path = urlsplit(base_url).path if base_url else "/"
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The `Host` header values a server bound to `host` answers (None: any, when it listens
    on every address and so has no one name)."""
    if host in ("", "0.0.0.0", "::"):
        return None
    names = {host} | (LOOPBACK_NAMES if host in LOOPBACK_NAMES or host.startswith("127.") else set())
    return {n for name in names for n in (name, f"{name}:{port}", f"[{name}]", f"[{name}]:{port}")}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves `out` at `prefix`; everything else is the site's 404 page."""

    timeout = IDLE_SECONDS

    def __init__(self, *args, out: Path, prefix: str, state: State, hosts: set[str] | None = None, **kwargs):
        self.out, self.prefix, self.state, self.hosts = out, prefix, state, hosts
        super().__init__(*args, directory=str(out), **kwargs)

    def log_message(self, *args):
        pass

    head_only = False

    def do_HEAD(self):  # as GET, without the body (the base class would serve any file)
        self.head_only = True
        return self.do_GET()

    def do_GET(self):
        if self.hosts is not None and (self.headers.get("Host") or "").lower() not in self.hosts:
            return self._send(421, b"This server answers only for the address it listens on", "text/plain")
        if len(self.path) > MAX_PATH:
            return self._send(414, b"Request path too long", "text/plain")
        path = unquote(urlsplit(self.path).path)
        if path == RELOAD_ENDPOINT:
            return self._send(200, str(self.state.build_id).encode(), "text/plain")
        if self.prefix != "/" and path in ("/", self.prefix.rstrip("/")):
            self.send_response(302)
            self.send_header("Location", self.prefix)
            self.end_headers()
            return None
        if not path.startswith(self.prefix):
            return self._not_found()
        rel = path[len(self.prefix):] or "index.html"
        if rel.endswith("/"):
            rel += "index.html"
        if "\0" in rel or any(part.startswith(".") and part != ".well-known" for part in rel.split("/")):
            return self._not_found()  # the marker, and anything hidden a user keeps in the folder
        try:
            target = (self.out / rel).resolve()
            if not target.is_relative_to(self.out.resolve()) or not target.is_file():
                return self._not_found()
            data = target.read_bytes()
        except OSError:  # a name too long for the filesystem, a file gone meanwhile
            return self._not_found()
        ctype = self.guess_type(str(target))
        if ctype == "text/html":
            data = data.replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
            ctype = "text/html; charset=utf-8"
        return self._send(200, data, ctype)

    def _not_found(self):
        page = self.out / "404.html"
        if not page.is_file():
            return self._send(404, b"Not found", "text/plain")
        body = page.read_bytes().replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
        # The page's <base> names the published site: here it is the local preview.
        body = re.sub(rb'<base href="[^"]*">', f'<base href="{self.prefix}">'.encode(), body, count=1)
        return self._send(404, body, "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self.head_only:
            self.wfile.write(body)


def make_server(out: Path, base_url: str, host: str, port: int, state: State) -> http.server.ThreadingHTTPServer:
    """A server for the site in `out`; OutputError (one line) if `out` is not a site sitegen
    built, or the address cannot be had."""
    if not is_site(out):
        raise OutputError(f"{out} is not a site sitegen built (no {MARKER} marker): not serving it")
    if not 0 <= port <= 65535:
        raise OutputError(f"--port must be from 0 to 65535, not {port}")
    handler = functools.partial(Handler, out=out.resolve(), prefix=base_path(base_url), state=state)
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise OutputError(f"cannot listen on {host}:{port} ({e.strerror or e}): "
                          f"is another server using it? try --port 0 for any free port") from None
    handler.keywords["hosts"] = allowed_hosts(host, server.server_address[1])
    server.daemon_threads = True
    return server


def watched(config: Config, inputs: list[str]) -> tuple[list[Path], list[Path]]:
    """What rebuilds the site when it changes: the listing files in the sources and the inputs
    named on the command line; and any file of the project's theme overrides (`templates/` and
    `static/` under `theme_dir`), the extra files copied to the site root, and the config file."""
    theme = config.resolve(config.theme_dir)
    listings = [config.resolve(s) for s in config.sources] + [Path(i) for i in inputs]
    others = [theme / "templates", theme / "static", config.resolve(config.extra)]
    return listings, others + ([config.path] if config.path else [])


def watch(paths, rebuild, stop: threading.Event, out: Path, caches: tuple[Path, ...] = (), catch_up=None) -> None:
    """Call `rebuild(changes)` after each burst of changes (watchfiles) to the files `paths()`
    names (`watched`); watch anew if `paths()` now names other folders (a source added to the
    config) or a folder it names was made or removed (a theme's templates made), rebuilding
    for the latter. A change made before the watcher was in place (between the last build and
    its first report: a change, or a second without one) is not reported: `catch_up()` is
    called then, to build whatever changed meanwhile. Only what a build reads counts: in a
    source folder, listing files (a log or an editor's swap file there is not a change), and
    never what a build itself writes: the site `out` and what it keeps beside it, and the cache
    folders `caches` (with the project folder among the sources, each build would otherwise set
    off the next, forever)."""
    from watchfiles import DefaultFilter
    from watchfiles import watch as watch_changes

    out, caches, usual = out.resolve(), tuple(c.resolve() for c in caches), DefaultFilter()

    def under(path: Path, folders) -> bool:
        return any(f == path or f in path.parents for f in folders)

    def present() -> list[list[Path]]:  # the listing folders and the others, those that exist
        return [[p for p in group if p.exists()] for group in paths()]

    while not stop.is_set():
        listings, others = watching = present()
        rest = [p.resolve() for p in others]

        def wanted(change, path: str) -> bool:
            where = Path(path).resolve()
            if not usual(change, path) or written_by_builds(where, out) or under(where, caches):
                return False
            if under(where, rest):
                return True
            return not where.name.startswith(".") and where.suffix.lower() in LISTING_SUFFIXES

        existing = [str(p) for p in listings + others]
        # Every second without changes, look again for the folders named but not there when
        # watching began (a theme's `templates/` made by `sitegen theme export`, an `extra/`).
        first = True
        for changes in watch_changes(*existing, watch_filter=wanted, stop_event=stop, debounce=200,
                                     rust_timeout=1000, yield_on_timeout=True, raise_interrupt=False):
            if changes:
                rebuild(changes)
            elif first and catch_up is not None:
                catch_up()
            first = False
            if present() != watching:
                if not changes:  # a folder was made or removed: what the build reads changed
                    rebuild(set())
                break
        else:
            return
