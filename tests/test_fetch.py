"""`sitegen fetch` against a local HTTP server standing in for the daily-papers API, and the
API's answer read as a listing format."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from pathlib import Path

import pytest

from conftest import catalogue, run_cli
from sitegen import listing

FIXTURES = Path(__file__).parent / "fixtures" / "api"
DAY = (FIXTURES / "2026-04-17.json").read_bytes()


class API(http.server.BaseHTTPRequestHandler):
    """Answers by the `date` asked: a day, an empty day, HTTP 500, a slow answer, junk."""

    answers = {
        "2026-04-17": (200, DAY), "2026-04-18": (200, b"[]"), "2026-04-19": (500, b"oops"),
        "2026-04-20": (200, b"<html>not json</html>"), "2026-04-21": (200, b"{\"error\": \"no\"}"),
    }

    def do_GET(self):
        date = self.path.partition("date=")[2]
        if date == "2026-04-22":
            time.sleep(3)  # longer than the --timeout the test gives
        status, body = self.answers.get(date, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), API)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/daily_papers"
    server.shutdown()


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "sitegen.toml").write_text('sources = ["listings"]\n')
    return tmp_path


def test_the_api_answer_is_a_listing_format():
    result = listing.parse(DAY, "2026-04-17.json")
    assert result.format == "api json" and result.date == dt.date(2026, 4, 17)
    a, b = result.entries
    assert (a.arxiv_id, a.upvotes, a.comments, a.authors, a.authors_count, a.submitter, a.organization) == (
        "2604.14268", 1090, 4, ("Ada Lovelace", "Alan Turing"), 2, "Taesiri", "Example Org")
    assert (a.code_url, a.code_stars, a.published) == ("https://github.com/example/hy-world", 2500, dt.date(2026, 4, 16))
    assert a.abstract.startswith("We introduce a world model that reconstructs, generates and simulates 3D worlds from text, images")
    assert "\n\n" in a.abstract and a.ai_summary.startswith("A multi-modal world model")
    assert (b.arxiv_id, b.submitter) == ("2604.15308", "Hao605")
    assert [p.message for p in result.problems] == ["entry 2: not a paper (no title): skipped",
                                                     "entry 3: not a paper (no title): skipped"]


def test_an_empty_day_is_a_valid_empty_listing():
    result = listing.parse(b"[]", "2026-04-18.json")
    assert result.entries == () and result.date == dt.date(2026, 4, 18) and result.problems == ()


def test_fetch_saves_the_answer_untouched_and_the_build_publishes_it(project, endpoint):
    proc = run_cli("fetch", "2026-04-17", "--endpoint", endpoint, cwd=project, check=True)
    saved = project / "listings" / "2026-04-17.json"
    assert saved.read_bytes() == DAY and "2 papers for 2026-04-17" in proc.stdout
    again = run_cli("fetch", "2026-04-17", "--endpoint", endpoint, cwd=project, check=True)
    assert "Already there" in again.stdout
    run_cli("fetch", "2026-04-18", "--endpoint", endpoint, cwd=project, check=True)
    assert (project / "listings" / "2026-04-18.json").read_bytes() == b"[]"
    run_cli("build", "--out", "site", cwd=project, check=True)
    page = (project / "site" / "dates" / "2026-04-17.html").read_text()
    assert "HY-World 2.0" in page and "RAD-2" in page
    papers = {p["title"]: p for p in catalogue(project / "site")}
    world = papers["HY-World 2.0: A Multi-Modal World Model for Reconstructing, Generating, and Simulating 3D Worlds"]
    paper_page = (project / "site" / world["url"]).read_text()
    assert "Ada Lovelace, Alan Turing" in paper_page and 'href="https://arxiv.org/abs/2604.14268"' in paper_page


@pytest.mark.parametrize("date,expected", [
    ("2026-04-19", "HTTP 500"),
    ("2026-04-20", "not a daily-papers list"),
    ("2026-04-21", "not a daily-papers list"),
    ("2026-04-22", "no answer within 1 s"),
    ("2026-04-23", "HTTP 404"),
])
def test_fetch_failures_are_one_line_and_save_nothing(project, endpoint, date, expected):
    proc = run_cli("fetch", date, "--endpoint", endpoint, "--timeout", "1", cwd=project)
    assert proc.returncode == 1 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(project.glob("listings/*"))


def test_fetch_refuses_to_replace_a_different_answer(project, endpoint):
    (project / "listings").mkdir()
    mine = project / "listings" / "2026-04-17.json"
    mine.write_text("[]")
    proc = run_cli("fetch", "2026-04-17", "--endpoint", endpoint, cwd=project)
    assert proc.returncode == 1 and "--force" in proc.stderr and mine.read_text() == "[]"
    run_cli("fetch", "2026-04-17", "--endpoint", endpoint, "--force", cwd=project, check=True)
    assert mine.read_bytes() == DAY


def test_a_server_that_is_not_there_is_one_line(project):
    proc = run_cli("fetch", "2026-04-17", "--endpoint", "http://127.0.0.1:9/api", cwd=project)
    assert proc.returncode == 1 and "nothing was saved" in proc.stderr and "Traceback" not in proc.stderr


def test_a_json_file_that_is_not_an_api_answer_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "package.json").write_text('{"name": "x"}')
    (tmp_path / "in" / "2026-04-17.json").write_bytes(DAY)
    proc = run_cli("build", "in", "--out", "site", cwd=tmp_path, check=True)
    assert "in/package.json: warning: not a daily-papers API answer" in proc.stderr


def test_a_paste_that_starts_with_a_bracket_is_not_taken_for_json():
    abstract = "We study a problem that matters a great deal. Our method improves results on many benchmarks today."
    result = listing.parse(f"[Re] A Reproduction of a Paper\n{abstract}\n".encode(), "x.txt")
    assert result.format == "text" and [e.title for e in result.entries] == ["[Re] A Reproduction of a Paper"]
    broken = listing.parse(b'[{"paper": {"title": "x"}', "2026-04-17.json")
    assert broken.format == "api json" and broken.problems[0].code == "json-invalid"
