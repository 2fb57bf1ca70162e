"""Emailed digests: a day's papers as an email-safe HTML page, a plain-text twin, a MIME
message, and sending it over SMTP.

The HTML uses a table layout, no script and no external stylesheet: css-inline copies the
`<style>` rules onto each element (and keeps the dark-mode media query, whose rules win with
!important). Gmail clips messages over 102 KB, so excerpts are shortened, then dropped, then
the list is cut with a link to the full page, until the HTML fits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, make_msgid

import css_inline

from . import urls
from .errors import UserError
from .render import environment, rendering
from .text import excerpt
from .views import Digest, Site, noon_utc

GMAIL_CLIP = 102 * 1024
BUDGET = 100 * 1024  # bytes of the HTML part as encoded for sending (quoted-printable or base64)
WORST_EXPANSION = 1.4  # what encoding can make of the HTML's size at most (base64 with line breaks)
EXCERPT_STEPS = (280, 160, 80, 0)
_INLINER = css_inline.CSSInliner(keep_style_tags=True)


class MailError(UserError):
    """The digest cannot be mailed; the message says why."""


@dataclass(frozen=True)
class MailPaper:
    title: str
    href: str
    meta: str
    excerpt: str


@dataclass(frozen=True)
class Mail:
    digest: Digest
    subject: str
    html: str
    text: str
    omitted: int  # papers left out to stay under the clipping limit
    excerpt_length: int


def compose(site: Site, digest: Digest, templates, page_path: str | None = None) -> Mail:
    """The digest as an email. Links are absolute with a base URL, else relative to `page_path`."""
    config = site.config
    page_path = page_path or email_path(digest)
    env = environment(templates)
    inliner = _INLINER
    subject = f"{config.title}: {digest.short_label} ({len(digest.papers)} paper{'s' if len(digest.papers) != 1 else ''})"
    context = {"site": config, "digest": digest, "digest_href": urls.href(config.base_url, page_path, digest.path),
               "index_href": urls.href(config.base_url, page_path, urls.INDEX)}
    count = len(digest.papers)
    for limit in EXCERPT_STEPS:
        html, text = _render(env, inliner, context, digest, page_path, limit, count)
        if fits(html):
            return Mail(digest, subject, html, text, 0, limit)
    # Titles alone are still too many: halve the list until it fits.
    while count > 1:
        count //= 2
        html, text = _render(env, inliner, context, digest, page_path, 0, count)
        if fits(html):
            return Mail(digest, subject, html, text, len(digest.papers) - count, 0)
    return Mail(digest, subject, html, text, len(digest.papers) - count, 0)


def encoded_size(html: str) -> int:
    """Bytes of the HTML part's body as it is sent (the encoding Python's email picks for it)."""
    part = EmailMessage()
    part.set_content(html, subtype="html", charset="utf-8")
    return len(part.get_payload())


def fits(html: str) -> bool:
    """Whether the HTML part, as encoded for sending, stays under the budget (Gmail clips the
    rest). Encoded only when its size could matter: a 100 KB part takes 6 ms to encode."""
    size = len(html.encode("utf-8"))
    if size * WORST_EXPANSION <= BUDGET:
        return True
    return size <= BUDGET and encoded_size(html) <= BUDGET


def _render(env, inliner, context, digest: Digest, page_path: str, limit: int, count: int):
    config = context["site"]
    papers = [
        MailPaper(p.title_text, urls.href(config.base_url, page_path, p.path), " \u00b7 ".join(p.meta),
                  (excerpt(p.excerpt, limit) if limit else ""))
        for p in digest.papers[:count]
    ]
    values = {**context, "papers": papers, "omitted": len(digest.papers) - count}
    with rendering("email.html", page_path):
        html = inliner.inline(env.get_template("email.html").render(**values))
    with rendering("email.txt", page_path.removesuffix(".html") + ".txt"):
        text = env.get_template("email.txt").render(**values)
    return html, text




def email_path(digest: Digest) -> str:
    name = digest.path.rsplit("/", 1)[-1].removesuffix(".html")
    return f"email/{name}.html"


def check_address(address: str, what: str) -> str:
    """An address as given to --from or --to, refused (one line) unless it is one plain address:
    no line breaks (a header injection), no list, an @ with something on both sides."""
    from email.utils import parseaddr

    if any(c in address for c in "\r\n\0"):
        raise MailError(f"{what} {address!r} holds a line break: refused")
    name, addr = parseaddr(address)
    local, at, domain = addr.rpartition("@")
    if not (at and local and domain and "," not in address and " " not in addr):
        raise MailError(f"{what} {address!r} is not an email address")
    return address


def message(mail: Mail, sender: str | None = None, to: list[str] | None = None, date_now: bool = False,
            list_unsubscribe: str = "", fresh_id: bool = False) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the preferred part.
    A message to send (`fresh_id`) gets a Message-ID of its own, so no inbox takes a second send
    of a digest for the first; a message written to a file gets one made from its content, so
    the same digest gives the same bytes."""
    if sender:
        check_address(sender, "--from")
    for address in to or ():
        check_address(address, "--to")
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    if sender:
        msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    if date_now:
        msg["Date"] = formatdate(localtime=False, usegmt=True)
    elif mail.digest.date:
        msg["Date"] = format_datetime(noon_utc(mail.digest.date), usegmt=True)
    digest_id = hashlib.sha1(f"{mail.subject}\0{mail.html}".encode()).hexdigest()[:16]
    if fresh_id:
        domain = sender.rpartition("@")[2].strip(" >") if sender else "sitegen.invalid"
        msg["Message-ID"] = make_msgid("digest", domain=domain or "sitegen.invalid")
    else:
        msg["Message-ID"] = f"<digest-{digest_id}@sitegen.invalid>"
    if list_unsubscribe:
        msg["List-Unsubscribe"] = f"<{list_unsubscribe}>"
        if list_unsubscribe.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg.set_content(mail.text, subtype="plain", charset="utf-8")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    msg.set_boundary(f"=_sitegen_{digest_id}")  # not random: the same digest gives the same bytes
    return msg


def outgoing(mail: Mail, sender: str, recipients: list[str], bcc: bool = False,
             list_unsubscribe: str = "") -> list[tuple[EmailMessage, list[str]]]:
    """(message, envelope recipients) to send: one message per recipient, each To: only them,
    or with `bcc` one message to all, its To: the sender, so no recipient sees the others."""
    if bcc:
        for address in recipients:
            check_address(address, "--to")
        return [(message(mail, sender, [sender], True, list_unsubscribe, fresh_id=True), list(recipients))]
    return [(message(mail, sender, [address], True, list_unsubscribe, fresh_id=True), [address])
            for address in recipients]


def send(messages: list[tuple[EmailMessage, list[str]]], host: str, port: int, starttls: bool = False,
         user: str | None = None, password: str | None = None, timeout: float = 30.0) -> None:
    """Send each (message, envelope recipients) over one SMTP session; a one-line MailError if
    the server cannot be reached or refuses."""
    import smtplib  # here: a build, which composes emails but never sends them, needs neither
    import ssl

    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if user:
                smtp.login(user, password or "")
            for msg, recipients in messages:
                smtp.send_message(msg, to_addrs=recipients)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        raise MailError(f"sending through {host}:{port} failed: {' '.join(str(e).split())}") from None


# -- the email pages of a built site ----------------------------------------------------------
def email_files(digest: Digest) -> dict[str, str]:
    """The output paths of a digest's email page and text, each with what it is."""
    html_path = email_path(digest)
    return {html_path: "email page", html_path.removesuffix(".html") + ".txt": "email text"}


def email_pages(site, digest: Digest, templates) -> dict[str, bytes]:
    """A digest's email page and text as the site carries them: output path -> bytes."""
    message = compose(site, digest, templates)
    return dict(zip(email_files(digest), (message.html.encode("utf-8"), message.text.encode("utf-8"))))
