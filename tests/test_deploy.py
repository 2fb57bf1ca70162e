"""Static hosting: sub-path base URLs, 404, sitemap, robots, feed, metadata, zip, serve."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from linkcheck import crawl_files, crawl_http
from sitegen import serve

BASE = "https://user.github.io/digest/"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hosted") / "_site"
    run_cli("build", "--out", str(out), "--base-url", BASE, "--zip", str(out.parent / "site.zip"), check=True)
    return out


@pytest.fixture(scope="module")
def subpath_server(hosted):
    server = serve.make_server(hosted, BASE, "127.0.0.1", 0, serve.State())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/digest/"
    server.shutdown()


def test_every_link_resolves_under_a_sub_path(subpath_server, hosted):
    reached, broken = crawl_http(subpath_server + "index.html")
    assert broken == []
    pages = {u.removeprefix(subpath_server) for u in reached if u.endswith(".html")}
    assert len([p for p in pages if p.startswith("papers/")]) == 508
    assert {"search.html", "dates/2025-03-12.html", "listings/003-0cff7f7095663720.html"} <= pages


def test_every_link_resolves_from_disk_and_every_page_is_reachable(hosted):
    reached, broken = crawl_files(hosted)
    assert broken == []
    on_disk = {p.relative_to(hosted).as_posix() for p in hosted.rglob("*.html")}
    assert on_disk - reached <= {"404.html"} | {p for p in on_disk if p.startswith("email/")}


def test_404_resolves_links_from_any_depth(subpath_server, hosted):
    assert f'<base href="{BASE}">' in (hosted / "404.html").read_text()  # as published
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(subpath_server + "papers/deep/missing/page.html")
    assert e.value.code == 404
    page = e.value.read().decode()
    assert '<base href="/digest/">' in page  # as previewed by serve
    assert 'href="index.html"' in page  # resolved against the base, it is the site's index


def test_canonical_open_graph_and_json_ld(hosted):
    page = (hosted / "papers/consistency-models.html").read_text()
    assert f'<link rel="canonical" href="{BASE}papers/consistency-models.html">' in page
    assert '<meta property="og:type" content="article">' in page
    assert '<meta property="og:title" content="Consistency Models \u2013 Paper Digest">' in page
    assert re.search(r'<meta name="description" content="Diffusion models have made significant', page)
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)[1])
    assert data["@type"] == "ScholarlyArticle" and data["name"] == "Consistency Models"
    assert data["url"] == BASE + "papers/consistency-models.html" and data["abstract"].startswith("Diffusion models")


def test_feed_is_valid_atom_and_links_to_existing_pages(hosted):
    feed = ET.parse(hosted / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == BASE + "feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 50
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 50 and all(i.startswith("urn:uuid:") for i in ids)
    dates = [e.find(f"{ATOM}updated").text for e in entries]
    assert dates == sorted(dates, reverse=True) and dates[0].startswith("2025-12-11")
    for e in entries:
        href = e.find(f"{ATOM}link").get("href")
        assert href.startswith(BASE) and (hosted / href.removeprefix(BASE)).is_file()
        assert e.find(f"{ATOM}title").text and e.find(f"{ATOM}summary").text
    for page in ("index.html", "papers/consistency-models.html", "404.html"):
        assert 'rel="alternate" type="application/atom+xml"' in (hosted / page).read_text()


def test_sitemap_and_robots(hosted):
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = [u.find(f"{ns}loc").text for u in ET.parse(hosted / "sitemap.xml").getroot()]
    pages = {p.relative_to(hosted).as_posix() for p in hosted.rglob("*.html")}
    expected = {p for p in pages if p != "404.html" and not p.startswith("email/") and not p.endswith("-top.html")}
    assert sorted(loc.removeprefix(BASE) for loc in locs) == sorted(expected)
    assert len(expected) == 520  # 508 papers, 3 dates, 2 listings, 2 weeks, 2 months, index, archive, search
    assert all(loc.startswith(BASE) and (hosted / loc.removeprefix(BASE)).is_file() for loc in locs)
    assert BASE + "404.html" not in locs
    assert (hosted / "robots.txt").read_text() == f"User-agent: *\nAllow: /\nSitemap: {BASE}sitemap.xml\n"
    assert (hosted / ".nojekyll").is_file()


def test_without_a_base_url_there_is_no_sitemap_but_a_relative_feed(seed_site):
    assert not (seed_site / "sitemap.xml").exists()
    assert "Sitemap" not in (seed_site / "robots.txt").read_text()
    first = ET.parse(seed_site / "feed.xml").getroot().find(f"{ATOM}entry/{ATOM}link").get("href")
    assert first.startswith("papers/") and (seed_site / first).is_file()
    assert "<base" not in (seed_site / "404.html").read_text()


def test_no_network_resources_anywhere(hosted):
    for page in hosted.rglob("*.html"):
        html = page.read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//(?!user\.github\.io)', html), page


def test_zip_holds_the_whole_site_deterministically(hosted, tmp_path):
    with zipfile.ZipFile(hosted.parent / "site.zip") as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {"index.html", "papers.json", "search/manifest.js", "static/vendor/lunr.min.js"} <= set(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    run_cli("build", "--out", str(tmp_path / "again"), "--base-url", BASE, "--zip", str(tmp_path / "again.zip"), check=True)
    assert (tmp_path / "again.zip").read_bytes() == (hosted.parent / "site.zip").read_bytes()


def test_workflow_builds_with_the_pages_base_url():
    workflow = (ROOT / ".github/workflows/pages.yml").read_text()
    for needed in ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages",
                   "--base-url \"${{ steps.pages.outputs.base_url }}/\"", "make setup"):
        assert needed in workflow


def test_serve_rebuilds_on_change_and_tells_the_browser(tmp_path):
    (tmp_path / "in").mkdir()
    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried today."
    (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nFirst Paper\n{abstract}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nbase_url = "https://x.org/sub/"\n')
    with _serving(tmp_path) as url:
        assert url.endswith("/sub/")
        page = urllib.request.urlopen(url + "dates/2024-01-05.html").read().decode()
        assert "First Paper" in page and "__sitegen__/build" in page
        _rebuilt(url, lambda: (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nSecond Paper\n{abstract}\n"))
        assert "Second Paper" in urllib.request.urlopen(url + "dates/2024-01-05.html").read().decode()
        assert "__sitegen__" not in (tmp_path / "_site" / "index.html").read_text()


def test_a_change_made_before_the_watcher_is_in_place_is_caught_up(tmp_path):
    """`serve` builds, then starts watching: an edit made in between is never reported by the
    watcher, so once it is in place (its first report) `catch_up` is called to build it; a
    change reported as usual goes to `rebuild` alone."""
    listings = tmp_path / "in"
    listings.mkdir()
    day = listings / "day.txt"
    day.write_text("Jan 5, 2024\nFirst Paper\n")
    day.write_text("Jan 5, 2024\nSecond Paper\n")  # after the build, before the watcher
    calls, stop = [], threading.Event()
    watcher = threading.Thread(target=serve.watch, args=(lambda: ([listings], []), lambda changes: calls.append("rebuild"),
                                                         stop, tmp_path / "_site", (), lambda: calls.append("catch up")))
    watcher.start()
    try:
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls == ["catch up"]
        day.write_text("Jan 5, 2024\nThird Paper\n")
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls == ["catch up", "rebuild"], "caught up once; then the watcher's own reports"
    finally:
        stop.set()
        watcher.join(10)


@contextlib.contextmanager
def _serving(project: Path):
    """`sitegen serve` on a free port in `project`: its URL, until the block ends."""
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", "--port", "0"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            m = re.search(r"at (http://\S+) ", proc.stdout.readline())
            url = m[1] if m else None
        assert url, "serve did not start"
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _rebuilt(url: str, edit) -> None:
    """Make `edit` and wait until the server says it has built again (its build number, at the
    server's root whatever the base path)."""
    builds = url[:url.index("/", len("http://")) + 1] + "__sitegen__/build"
    before = urllib.request.urlopen(builds).read()
    time.sleep(0.5)
    edit()
    deadline = time.monotonic() + 30
    while urllib.request.urlopen(builds).read() == before:
        assert time.monotonic() < deadline, "no rebuild after the edit"
        time.sleep(0.2)


def test_serve_rebuilds_when_a_theme_override_or_an_extra_file_changes(tmp_path):
    """The project's templates under `theme_dir` and its extra files are watched as the
    listings are: an edited template reaches the page (the build makes its templates afresh,
    though `serve` builds again in one process), an edited extra file the site root."""
    import shutil

    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried today."
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nFirst Paper\n{abstract}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\ntheme_dir = "look"\n')
    (tmp_path / "look" / "templates").mkdir(parents=True)
    template = tmp_path / "look" / "templates" / "digest.html"
    shutil.copy(ROOT / "templates" / "digest.html", template)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "notes.txt").write_text("first\n")
    with _serving(tmp_path) as url:
        assert "edited-template" not in urllib.request.urlopen(url + "dates/2024-01-05.html").read().decode()
        text = template.read_text()
        at = text.rindex("{% endblock %}")
        _rebuilt(url, lambda: template.write_text(text[:at] + '<p class="edited-template">edited</p>' + text[at:]))
        assert "edited-template" in urllib.request.urlopen(url + "dates/2024-01-05.html").read().decode()
        assert urllib.request.urlopen(url + "notes.txt").read() == b"first\n"
        _rebuilt(url, lambda: (tmp_path / "extra" / "notes.txt").write_text("second\n"))
        assert urllib.request.urlopen(url + "notes.txt").read() == b"second\n"


def test_serve_watches_a_source_added_to_the_config_while_it_runs(tmp_path):
    """A folder added to `sources` while serving is read at once (the config is watched) and
    watched from then on: a listing edited in it is rebuilt too."""
    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried today."
    for folder in ("in", "more"):
        (tmp_path / folder).mkdir()
    (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nFirst Paper\n{abstract}\n")
    (tmp_path / "more" / "day.txt").write_text(f"Jan 6, 2024\nSecond Paper\n{abstract}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\n')
    with _serving(tmp_path) as url:
        _rebuilt(url, lambda: (tmp_path / "sitegen.toml").write_text('sources = ["in", "more"]\n'))
        assert "Second Paper" in urllib.request.urlopen(url + "dates/2024-01-06.html").read().decode()
        time.sleep(0.5)  # the watcher starts watching the new folder after the rebuild
        _rebuilt(url, lambda: (tmp_path / "more" / "day.txt").write_text(f"Jan 6, 2024\nThird Paper\n{abstract}\n"))
        assert "Third Paper" in urllib.request.urlopen(url + "dates/2024-01-06.html").read().decode()


def test_serve_watches_a_theme_folder_made_while_it_runs(tmp_path):
    """`templates/` under `theme_dir` made while serving (as `sitegen theme export` makes it)
    is built from at once, with no other change, and watched from then on."""
    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried today."
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "day.txt").write_text(f"Jan 5, 2024\nFirst Paper\n{abstract}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\n')
    text = (ROOT / "templates" / "digest.html").read_text()
    at = text.rindex("{% endblock %}")

    def make_theme() -> None:
        staged = tmp_path / "staged"
        staged.mkdir()
        (staged / "digest.html").write_text(text[:at] + '<p class="made">made</p>' + text[at:])
        staged.rename(tmp_path / "templates")  # the folder appears whole, as a copy's rename makes it

    with _serving(tmp_path) as url:
        page = url + "dates/2024-01-05.html"
        assert "made" not in urllib.request.urlopen(page).read().decode()
        _rebuilt(url, make_theme)
        assert 'class="made"' in urllib.request.urlopen(page).read().decode()
        time.sleep(0.5)
        template = tmp_path / "templates" / "digest.html"
        _rebuilt(url, lambda: template.write_text(template.read_text().replace('class="made"', 'class="edited"')))
        assert 'class="edited"' in urllib.request.urlopen(page).read().decode()


def test_serve_with_the_project_folder_as_a_source_rebuilds_once_per_edit(tmp_path):
    """With `sources = ["."]` the site and the cache are inside a watched folder: what a build
    writes there (pages, staging folders, the journal, locks) does not set off another build (a
    log written there set off one every 200 ms, forever, and the open pages reloaded with each),
    nor does a file that is not a listing."""
    abstract = "We study things that matter a great deal. Our results are strong on all of the benchmarks we tried today."
    (tmp_path / "day.txt").write_text(f"Jan 5, 2024\nFirst Paper\n{abstract}\n")
    (tmp_path / "sitegen.toml").write_text('sources = ["."]\n')
    with _serving(tmp_path) as url:
        builds = url + "__sitegen__/build"
        first = int(urllib.request.urlopen(builds).read())
        _rebuilt(url, lambda: (tmp_path / "day.txt").write_text(f"Jan 5, 2024\nSecond Paper\n{abstract}\n"))
        assert "Second Paper" in urllib.request.urlopen(url + "dates/2024-01-05.html").read().decode()
        time.sleep(2)
        assert int(urllib.request.urlopen(builds).read()) == first + 1
        (tmp_path / "notes.log").write_text("not a listing\n")  # nothing a build reads
        time.sleep(1.5)
        assert int(urllib.request.urlopen(builds).read()) == first + 1


def _raw_request(port: int, request: bytes, timeout: float = 5) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_serve_refuses_a_folder_sitegen_did_not_build(tmp_path):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("SECRET")
    with pytest.raises(serve.OutputError, match="not a site sitegen built"):
        serve.make_server(tmp_path, "", "127.0.0.1", 0, serve.State())
    proc = run_cli("serve", "--out", str(tmp_path), "--port", "0", cwd=tmp_path)
    assert proc.returncode == 1 and "not serving it" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_answers_only_its_own_host_and_no_hidden_files(hosted, subpath_server):
    port = int(subpath_server.split(":")[2].split("/")[0])
    (hosted / ".secret").write_text("SECRET")  # a user's hidden file kept in the site
    try:
        ok = _raw_request(port, f"GET /digest/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        assert ok.startswith(b"HTTP/1.0 200") or ok.startswith(b"HTTP/1.1 200")
        local = _raw_request(port, f"GET /digest/ HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        assert b" 200 " in local.split(b"\r\n")[0]
        rebound = _raw_request(port, b"GET /digest/ HTTP/1.1\r\nHost: attacker.example:80\r\nConnection: close\r\n\r\n")
        assert b" 421 " in rebound.split(b"\r\n")[0]
        for hidden in ("/digest/.secret", "/digest/.sitegen", "/digest/%2esecret"):
            reply = _raw_request(port, f"GET {hidden} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            assert b" 404 " in reply.split(b"\r\n")[0] and b"SECRET" not in reply
        head = _raw_request(port, f"HEAD /digest/.secret HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        assert b" 404 " in head.split(b"\r\n")[0] and b"SECRET" not in head
        long = _raw_request(port, f"GET /digest/{'a' * 5000} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert b" 414 " in long.split(b"\r\n")[0]
    finally:
        (hosted / ".secret").unlink()


def test_serve_closes_idle_connections(subpath_server, monkeypatch):
    import socket

    port = int(subpath_server.split(":")[2].split("/")[0])
    monkeypatch.setattr(serve.Handler, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /digest/ HTTP/1.1\r\n")  # ...and then nothing
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 5


def test_serve_port_in_use_or_out_of_range_is_one_line(tmp_path, subpath_server):
    port = subpath_server.split(":")[2].split("/")[0]
    for bad in (port, "70000", "-1"):
        proc = run_cli("serve", "--out", str(tmp_path / "_site"), "--port", bad, "--no-cache")
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr
        assert "cannot listen" in proc.stderr or "--port: must be a number from 0 to 65535" in proc.stderr


def test_serve_points_the_404_page_at_the_local_preview(subpath_server):
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(subpath_server + "no/such/page.html")
    body = e.value.read().decode()
    assert e.value.code == 404 and '<base href="/digest/">' in body and BASE not in body.split("<body")[0]
