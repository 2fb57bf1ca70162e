"""`sitegen serve`: build, serve the output on localhost under the configured base path,
rebuild when listings, templates, static files or the config change, and reload the browser.

Live reload is the dev server's own business: it adds a small polling script to HTML as it
serves it, so nothing of it reaches the built files.
"""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlsplit

RELOAD_ENDPOINT = "/__sitegen__/build"
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


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves `out` at `prefix`; everything else is the site's 404 page."""

    def __init__(self, *args, out: Path, prefix: str, state: State, **kwargs):
        self.out, self.prefix, self.state = out, prefix, state
        super().__init__(*args, directory=str(out), **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urlsplit(self.path).path
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
        target = (self.out / rel).resolve()
        if not target.is_relative_to(self.out.resolve()) or not target.is_file():
            return self._not_found()
        data = target.read_bytes()
        ctype = self.guess_type(str(target))
        if ctype == "text/html":
            data = data.replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
            ctype = "text/html; charset=utf-8"
        return self._send(200, data, ctype)

    def _not_found(self):
        page = self.out / "404.html"
        body = page.read_bytes().replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1) if page.is_file() else b"Not found"
        return self._send(404, body, "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def make_server(out: Path, base_url: str, host: str, port: int, state: State) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(Handler, out=out.resolve(), prefix=base_path(base_url), state=state)
    return http.server.ThreadingHTTPServer((host, port), handler)


def watch(paths: list[Path], rebuild, stop: threading.Event) -> None:
    """Call `rebuild(changes)` after each burst of file changes under `paths` (watchfiles)."""
    from watchfiles import watch as watch_changes

    existing = [str(p) for p in paths if p.exists()]
    for changes in watch_changes(*existing, stop_event=stop, debounce=200, raise_interrupt=False):
        rebuild(changes)
