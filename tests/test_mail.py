"""Emailed digests: the email page, the size budget, MIME structure, and a real SMTP send."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from sitegen import mail, render
from sitegen.build import assemble_only, theme_dirs
from sitegen.config import load

BASE = "https://user.github.io/digest/"


@pytest.fixture(scope="module")
def seed_site_model():
    config = load(cwd=ROOT)
    config = dataclasses.replace(config, base_url=BASE)
    return assemble_only(config), theme_dirs(config)[0]


def test_largest_seed_date_fits_under_gmail_clipping(seed_site_model):
    site, templates = seed_site_model
    largest = max((d for d in site.digests if d.date), key=lambda d: len(d.papers))
    assert len(largest.papers) == 118
    composed = mail.compose(site, largest, templates)
    assert len(composed.html.encode()) <= mail.BUDGET < mail.GMAIL_CLIP
    assert composed.omitted == 0 and composed.html.count('class="title"') == 118


def test_email_html_is_mail_safe(seed_site_model):
    site, templates = seed_site_model
    digest = next(d for d in site.digests if d.date and d.date.isoformat() == "2025-12-11")
    html = mail.compose(site, digest, templates).html
    assert "<script" not in html.lower() and '<link rel="stylesheet"' not in html
    assert 'role="presentation"' in html and "<table" in html
    assert re.search(r'<p class="title" style="[^"]+"><a href="' + re.escape(BASE) + r'papers/', html)
    assert "prefers-color-scheme: dark" in html and "!important" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(BASE) for h in hrefs)


def test_a_huge_day_is_trimmed_and_links_to_the_full_page(seed_site_model, monkeypatch):
    site, templates = seed_site_model
    digest = max((d for d in site.digests if d.date), key=lambda d: len(d.papers))
    monkeypatch.setattr(mail, "BUDGET", 20 * 1024)
    composed = mail.compose(site, digest, templates)
    assert len(composed.html.encode()) <= 20 * 1024
    assert composed.omitted > 0 and composed.excerpt_length == 0
    assert f"And {composed.omitted} more papers" in composed.html and f"And {composed.omitted} more" in composed.text


def test_site_has_an_email_page_per_date(seed_site):
    assert sorted(p.name for p in (seed_site / "email").iterdir()) == [
        "2025-03-11.html", "2025-03-11.txt", "2025-03-12.html", "2025-03-12.txt", "2025-12-11.html", "2025-12-11.txt"]
    page = (seed_site / "email" / "2025-03-12.html").read_text()
    assert 'href="../papers/' in page  # no base URL: links relative to the email page


def test_eml_is_multipart_alternative_with_both_parts(tmp_path):
    out = tmp_path / "d.eml"
    proc = run_cli("email", "2025-03-12", "--base-url", BASE, "--out", str(out), check=True)
    assert "HTML" in proc.stdout and "KB" in proc.stdout
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Paper Digest: Mar 12, 2025 (33 papers)"
    text = msg.get_body(("plain",)).get_content()
    assert "Exploring Synaptic Resonance in Large Language Models" in text and BASE + "papers/" in text
    assert msg["Date"].datetime.isoformat() == "2025-03-12T12:00:00+00:00"  # the digest date, not the clock
    run_cli("email", "2025-03-12", "--base-url", BASE, "--out", str(tmp_path / "again.eml"), check=True)
    assert (tmp_path / "again.eml").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("args,message", [
    (["2025-03-12"], "needs absolute links"),
    (["2025-01-01", "--base-url", BASE], "no digest on 2025-01-01"),
    (["yesterday", "--base-url", BASE], "DATE must be YYYY-MM-DD"),
    (["latest", "--base-url", BASE, "--smtp", "127.0.0.1:1"], "sending needs --to and --from"),
])
def test_email_mistakes_are_one_line(args, message):
    proc = run_cli("email", *args)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr


# -- SMTP against a real server on localhost -------------------------------------------------

class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == b"digest" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _send(port: int, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sitegen", "email", "latest", "--base-url", BASE, "--to", "reader@example.org",
                           "--from", "digest@example.org", "--smtp", f"localhost:{port}", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def _check_received(inbox: Inbox):
    (sender, recipients, content), = inbox.messages
    assert (sender, recipients) == ("digest@example.org", ["reader@example.org"])
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "On the Initialization of Graph Neural Networks" in msg.get_body(("html",)).get_content()


def test_send_over_smtp(tmp_path):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        proc = _send(controller.port)
        assert proc.returncode == 0, proc.stderr
        assert "Sent 'Paper Digest: Dec 11, 2025 (44 papers)'" in proc.stdout
        _check_received(inbox)
    finally:
        controller.stop()


def test_send_with_starttls_and_login(tmp_path):
    from aiosmtpd.controller import Controller

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=context, require_starttls=True,
                            authenticator=_authenticator, auth_required=True)
    controller.start()
    try:
        port = controller.port
        refused = _send(port, env={"SSL_CERT_FILE": str(cert)})
        assert refused.returncode == 1 and "sending through localhost" in refused.stderr
        assert inbox.messages == []
        proc = _send(port, "--starttls", "--user", "digest", env={"SSL_CERT_FILE": str(cert), "SITEGEN_SMTP_PASSWORD": "s3cret"})
        assert proc.returncode == 0, proc.stderr
        _check_received(inbox)
    finally:
        controller.stop()


_WRAP_TEXT = st.lists(
    st.sampled_from(
        ["a", "bc", "word", "state-of-the-art", "-", "--", "x" * 30, " ", "  ", "\u00e9t\u00e9", "\u2009", "\n",
         "\t", "long-hyphenated-compound-word", "end.", "(paren)", "\u2028", "e-mail"]),
    max_size=40).map("".join)


@given(text=_WRAP_TEXT, width=st.integers(1, 90), hyphens=st.booleans())
def test_the_wordwrap_filter_wraps_exactly_as_jinjas(text, width, hyphens):
    """The email text's `wordwrap` takes a quick way for plain single-spaced text: the same
    lines as Jinja's filter (textwrap) for any text, width and hyphen setting."""
    import jinja2

    env = jinja2.Environment()
    assert render.wordwrap(env, text, width, True, "\n", hyphens) == \
        jinja2.filters.do_wordwrap(env, text, width, True, "\n", hyphens)


def test_the_wordwrap_filter_wraps_every_seed_excerpt_as_jinjas():
    import jinja2

    env = jinja2.Environment()
    site = assemble_only(load(ROOT / "sitegen.toml"))
    excerpts = {p.excerpt for d in site.digests for p in d.papers} | {p.text.abstract_text for p in site.papers}
    assert len(excerpts) > 900
    for text in excerpts:
        for width in (20, 72):
            assert render.wordwrap(env, text, width, wrapstring="\n") == jinja2.filters.do_wordwrap(env, text, width, wrapstring="\n")


def test_several_recipients_each_get_a_message_with_its_own_id(tmp_path):
    from aiosmtpd.controller import Controller

    (tmp_path / "sitegen.toml").write_text(
        (ROOT / "sitegen.toml").read_text().replace('sources = ["seeds"]', f'sources = ["{ROOT / "seeds"}"]')
        + 'list_unsubscribe = "https://x.org/unsubscribe?list=digest"\n')
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        def send(*extra):
            return subprocess.run([sys.executable, "-m", "sitegen", "email", "latest", "--base-url", BASE,
                                   "--from", "digest@example.org", "--smtp", f"localhost:{controller.port}", *extra],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=120)
        proc = send("--to", "a@example.org,b@example.org", "--to", "c@example.org")
        assert proc.returncode == 0, proc.stderr
        assert [r for _, r, _ in inbox.messages] == [["a@example.org"], ["b@example.org"], ["c@example.org"]]
        messages = [email.message_from_bytes(c, policy=email.policy.default) for _, _, c in inbox.messages]
        assert [m["To"] for m in messages] == ["a@example.org", "b@example.org", "c@example.org"]
        assert messages[0]["List-Unsubscribe"] == "<https://x.org/unsubscribe?list=digest>"
        assert messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        send("--to", "a@example.org")  # the same digest again: a new Message-ID
        ids = [email.message_from_bytes(c, policy=email.policy.default)["Message-ID"] for _, _, c in inbox.messages]
        assert len(set(ids)) == 4 and all(i.endswith("@example.org>") for i in ids)
        inbox.messages.clear()
        assert send("--to", "a@example.org", "--to", "b@example.org", "--bcc").returncode == 0
        (_, recipients, content), = inbox.messages
        bcc = email.message_from_bytes(content, policy=email.policy.default)
        assert recipients == ["a@example.org", "b@example.org"] and bcc["To"] == "digest@example.org"
        assert b"a@example.org" not in content and b"b@example.org" not in content  # nobody sees the list
        inbox.messages.clear()
        bad = send("--to", "a@example.org", "--to", "not-an-address")
        assert bad.returncode == 1 and "not-an-address" in bad.stderr and inbox.messages == []  # checked first
    finally:
        controller.stop()


def test_the_largest_seed_day_fits_gmails_clip_as_encoded(tmp_path):
    """Mar 11, 2025 (118 papers) was 105,047 bytes of HTML as sent (quoted-printable): over the
    102 KB Gmail clips at. Measured as encoded, it now fits."""
    out = tmp_path / "m.eml"
    proc = subprocess.run([sys.executable, "-m", "sitegen", "email", "2025-03-11", "--base-url", BASE,
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    html_part = msg.get_body(("html",))
    assert len(html_part.get_payload()) <= mail.BUDGET < 102 * 1024


def test_the_site_carries_emails_for_the_newest_dates_and_any_date_can_be_composed(tmp_path):
    """`email_days`: the site has email pages for the newest dates only; `sitegen email` still
    composes an older date's, from the listings."""
    (tmp_path / "in").mkdir()
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        (tmp_path / "in" / seed.name).write_bytes(seed.read_bytes())
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\nemail_days = 1\n')
    run_cli("build", cwd=tmp_path, check=True)
    dated = sorted(p.stem for p in (tmp_path / "_site" / "dates").glob("????-??-??.html"))
    assert len(dated) >= 3
    assert sorted(p.name for p in (tmp_path / "_site" / "email").iterdir()) == [f"{dated[-1]}.html", f"{dated[-1]}.txt"]
    run_cli("email", dated[0], "--base-url", "https://example.org/d/", "--out", str(tmp_path / "old.eml"), cwd=tmp_path,
            check=True)
    assert f"dates/{dated[0]}.html" in (tmp_path / "old.eml").read_text()
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\nemail_days = 0\n')
    run_cli("build", cwd=tmp_path, check=True)
    assert not (tmp_path / "_site" / "email").exists()
    (tmp_path / "sitegen.toml").write_text('sources = ["in"]\nyear = 2025\nemail_days = -1\n')
    proc = run_cli("build", cwd=tmp_path)
    assert proc.returncode == 1 and "`email_days` must be 0" in proc.stderr
