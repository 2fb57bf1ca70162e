"""Paper cards from the blocks of a captured page: what the Markdown and the linked-text readers
share once they have turned their syntax into `Block`s of `Piece`s.

Today's Papers pages show each paper as a card: a title (a heading, or a link to the paper),
perhaps an abstract or a one-line AI summary, and metadata, each piece recognised by what it
is and where it links: `Submitted by NAME` and a thumbnail come before the title they belong
to; author counts, an organisation, upvotes (`1.09k`, `-` for none), comments
(`.../papers/ID#community`), a published date and a code link (`LINK: GitHub 11.3k`) after it.
Page chrome is dropped; anything else is a warning with its line, never a paper.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..model import Problem
from .common import (AUTHORS, CODE_LINK, SUBMITTED, Reading, count, date_parts, is_chrome, is_prose, paper_link,
                     short)

SUMMARY_MAX = 320  # characters: a card's text this short, of one sentence, is the page's AI summary
HF_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")
HF_NOT_ORGS = {"papers", "login", "join", "models", "datasets", "spaces", "docs", "blog", "pricing", "settings",
               "collections", "posts", "learn", "api", "enterprise", "chat", "new", "organizations", "search"}
CODE_HOSTS = ("github.com", "www.github.com", "gitlab.com", "codeberg.org", "bitbucket.org")
MEDIA = re.compile(r"<(?:video|img|source|picture)\b|^\s*$", re.IGNORECASE)
JOIN_ARTIFACT = re.compile(r"\\\s+")  # `\  ` where a clipper joined two lines of one title


@dataclass
class Piece:
    """A run of text, or a link (with its text), or an image, within a block."""

    text: str
    url: str | None = None
    image: bool = False  # an image, or a link whose content is an image or a video


@dataclass
class Block:
    kind: str  # "heading", "para", "item" (a list item), "title" (a link that is a title: linked text)
    line: int
    pieces: list[Piece]
    level: int = 0  # a heading's level

    @property
    def text(self) -> str:
        return clean(" ".join(p.text for p in self.pieces if not p.image))


def clean(s: str) -> str:
    return " ".join(JOIN_ARTIFACT.sub(" ", s).split())


@dataclass
class _Card:
    line: int
    title: str
    fields: dict = field(default_factory=dict)
    title_line: int = 0  # the last line of the title, for a title continued on the next line
    texts: list[str] = field(default_factory=list)
    open: bool = True  # still taking title continuations


class Assembler:
    """Blocks in page order -> the cards of a `Reading`."""

    def __init__(self, source: str, reading: Reading):
        self.source, self.reading = source, reading
        self.cards: list[_Card] = []
        self.pending: dict = {}  # fields that come before their title: submitter, id from a thumbnail
        self.after_title = False  # whether the last block was the current card's title
        self.ended = False  # past the page's Previous/Next links: the footer

    def warn(self, line: int, message: str, code: str) -> None:
        self.reading.problems.append(Problem(self.source, line, message, code=code))

    @property
    def card(self) -> _Card | None:
        return self.cards[-1] if self.cards else None

    # -- blocks ----------------------------------------------------------------------------
    def add(self, block: Block) -> None:
        if self.ended:
            return
        text = block.text
        after_title, self.after_title = self.after_title, False
        if block.kind == "heading":
            self._heading(block, text, after_title)
        elif block.kind == "title":
            self._start(block.line, text, block.line, next((paper_link(p.url)[0] for p in block.pieces if p.url), None))
        elif all(p.image for p in block.pieces):
            self._images(block)
        else:
            self._content(block, text)

    def _heading(self, block: Block, text: str, after_title: bool) -> None:
        if not text or is_chrome(text) or text.lower().startswith(("by ak", "byak")):
            return
        if block.level == 1:
            if self.reading.heading is None:
                self.reading.heading = text
            return
        card = self.card
        if card is not None and after_title and not any(p.url for p in block.pieces):
            card.title = clean(f"{card.title} {text}")  # one title split over two headings
            card.title_line = block.line
            self.after_title = True
            return
        paper_id = next((paper_link(p.url)[0] for p in block.pieces if p.url), None)
        self._start(block.line, text, block.line, paper_id)

    def _start(self, line: int, title: str, title_line: int, paper_id: str | None) -> None:
        card = _Card(line, title, title_line=title_line)
        card.fields.update(self.pending)
        self.pending = {}
        if paper_id:
            card.fields["arxiv_id"] = paper_id
        self.cards.append(card)
        self.after_title = True

    def _images(self, block: Block) -> None:
        """A thumbnail or a video (before its title: its link names the paper), or avatars."""
        names = tuple(p.text for p in block.pieces if p.text and not MEDIA.search(p.text))
        for p in block.pieces:
            paper_id = paper_link(p.url)[0] if p.url else None
            if paper_id:
                self.pending["arxiv_id"] = paper_id
        if names and self.card is not None:
            self.card.fields.setdefault("authors", ())
            self.card.fields["authors"] += names

    def _content(self, block: Block, text: str) -> None:
        """A paragraph or list item: an abstract, or metadata and text (each line of page chrome
        dropped)."""
        card = self.card
        links = [p for p in block.pieces if p.url]
        if links and len(text) >= 40 and is_prose(text):  # an abstract, perhaps as a link's text
            for p in links:
                paper_id = paper_link(p.url)[0]
                if card is not None and paper_id:
                    card.fields.setdefault("arxiv_id", paper_id)
            self._text(block, text)
            return
        rest = []
        for p in block.pieces:
            if p.url is None or not self._link(block, p):
                rest.append(p)
        raw = "".join(p.text for p in rest if not p.image)
        prose: list[str] = []
        for line in raw.splitlines():  # metadata on a line of its own; the other lines are one text
            line = clean(line)
            if not line or is_chrome(line):
                continue
            if SUBMITTED.match(line) or date_parts(line) or AUTHORS.match(line):
                if prose:
                    self._text(block, clean(" ".join(prose)))
                    prose = []
                self._text(block, line)
            else:
                prose.append(line)
        if prose:
            self._text(block, clean(" ".join(prose)))

    def _link(self, block: Block, p: Piece) -> bool:
        """Take one link as the metadata it is; False to treat it as text."""
        text, url = clean(p.text), p.url.strip()
        card = self.card
        paper_id, rest = paper_link(url)
        parts = urlsplit(url)
        host, path = parts.netloc.lower(), parts.path.strip("/")
        if p.image:
            if paper_id:
                self.pending["arxiv_id"] = paper_id
            return True
        if text.lower() in ("previous", "next", "prev", "older", "newer") or (
                host in HF_HOSTS and path.startswith("papers/date/")):
            self.ended = bool(self.cards)  # the day's pagination: what follows is the footer
            return True
        if is_chrome(text) or (host in HF_HOSTS and (path.startswith("login") or path == "papers")
                               and count(text) is None and text != "-"):
            return True
        number = count(text)
        if paper_id and card is not None:
            card.fields.setdefault("arxiv_id", paper_id)  # every link to the paper names it
        if paper_id and rest.startswith("#community"):
            if card is not None and number is not None:
                card.fields["comments"] = number
            return True
        if (paper_id or (host in HF_HOSTS and path.startswith("login"))) and (number is not None or text == "-"):
            if card is not None and number is not None:
                card.fields["upvotes"] = number
            return True
        m = AUTHORS.match(text)
        if m:
            if card is not None:
                card.fields["authors_count"] = int(m["n"])
            return True
        code = CODE_LINK.match(text)
        if host in CODE_HOSTS or code:
            if card is not None and parts.scheme in ("http", "https"):
                card.fields["code_url"] = url
                stars = count(code["stars"]) if code and code["stars"] else None
                if stars is not None:
                    card.fields["code_stars"] = stars
            return True
        if paper_id:
            if card is not None and text and text != card.title and not is_prose(text):
                return False  # a link to the paper with other words: read them as text
            return bool(card is not None or not text)
        if host in HF_HOSTS and path and "/" not in path and path.lower() not in HF_NOT_ORGS:
            if card is not None and text and number is None:
                card.fields["organization"] = text
            return True
        return False

    def _text(self, block: Block, text: str) -> None:
        card = self.card
        if is_chrome(text) or all(c in "·•-|" for c in text.replace(" ", "")):
            return
        m = SUBMITTED.match(text)
        if m:
            self.pending["submitter"] = m["name"]
            return
        parts = date_parts(text)
        if parts:
            month, day, year, trailing = parts
            if card is None:
                if self.reading.header is None:
                    self.reading.header = (month, day, year, block.line)
                return
            if "published_parts" not in card.fields:
                card.fields["published_parts"] = (month, day, year, block.line)
                card.open = False
                return
            self.warn(block.line, f"second date for the paper at line {card.line}: ignored: {text!r}", "second-date")
            return
        m = AUTHORS.match(text)
        if m:
            if card is not None:
                card.fields["authors_count"] = int(m["n"])
                card.open = False
            return
        if card is None:
            if is_prose(text):
                self.warn(block.line, f"text before the first paper: skipped: {short(text)!r}", "text-before-first-paper")
            elif len(text.split()) > 3 and block.kind != "heading":
                self.warn(block.line, f"not a paper or page chrome: skipped: {short(text)!r}", "not-understood")
            return
        if (card.open and not card.texts and block.line == card.title_line + 1 and not is_prose(text)
                and block.kind == "para"):
            card.title = clean(f"{card.title} {text}")  # a title wrapped onto the next line
            card.title_line = block.line
            return
        card.open = False
        if is_prose(text) or len(text.split()) >= 6:
            card.texts.append(text)
            return
        self.warn(block.line, f"not understood in the paper at line {card.line}: ignored: {short(text)!r}",
                  "not-understood")

    # -- the result -----------------------------------------------------------------------
    def finish(self) -> None:
        """Each card as an entry; a card captured twice (a page's narrow and wide layouts) once."""
        seen: dict[tuple, dict] = {}
        for card in self.cards:
            entry = {"line": card.line, "title": card.title, **card.fields}
            if card.texts:
                joined = "\n\n".join(card.texts)
                if len(card.texts) == 1 and len(joined) <= SUMMARY_MAX and _sentences(joined) <= 1:
                    entry["ai_summary"] = joined
                else:
                    entry["abstract"] = joined
            key = (" ".join(card.title.casefold().split()), entry.get("arxiv_id"))
            first = seen.get(key)
            if first is not None:
                for k, v in entry.items():
                    first.setdefault(k, v)
                continue
            seen[key] = entry
            self.reading.entries.append(entry)


def _sentences(text: str) -> int:
    return len(re.findall(r"[a-z0-9)\]][.!?](?:\s+[A-Z]|$)", text.strip()))
