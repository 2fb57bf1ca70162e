"""Markdown captures of today's Papers pages: web clippers (Obsidian Web Clipper), page-to-Markdown
tools (firecrawl, html2text) and "copy as Markdown" extensions.

The text goes through markdown-it-py; its block tokens, with their line numbers, become
`cards.Block`s. Before that, a few things clippers do that Markdown cannot read are undone, line
by line: YAML front matter (read for the page's own date), a link whose text spans lines
(`[` ... `](url)` around an author count or an organisation), reference definitions kept inside
a fenced block, and a `[Content truncated]` mark (the cards before it are kept, one warning
says what was cut).
"""
from __future__ import annotations

import datetime as dt
import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference

from ..model import Problem
from .cards import Assembler, Block, Piece
from .common import DATE_URL, TRUNCATED, Reading

NAME = "markdown"

HEADING = re.compile(r"^ {0,3}#{1,6}\s+\S", re.MULTILINE)
INLINE_LINK = re.compile(r"\]\((?:https?:)?//")
REFERENCE = re.compile(r"^ {0,3}\[(?P<label>[^\]]{1,100})\]:\s*<?(?P<url>\S+?)>?(?:\s+[\"'(].*)?\s*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
FRONT_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
WRAP_SPAN = 12  # lines a link's text may span

def _markdown() -> MarkdownIt:
    """CommonMark as markdown-it-py reads it, less what a capture never needs and what costs:
    links are read for their targets, not written out, so they are not normalised (that was a
    fifth of the time); indented text is text, not code; emphasis and code spans stay as typed
    (the titles' own Markdown is the renderer's business)."""
    md = MarkdownIt("commonmark", {"html": False})
    md.disable(["code", "emphasis", "backticks", "autolink", "html_inline", "entity"])
    md.normalizeLink = lambda url: url.strip()
    md.validateLink = lambda url: True
    return md


_MD = _markdown()


def detect(text: str) -> float:
    head = text[:200_000]
    if "#" not in head and "](" not in head and "]:" not in head and not head.startswith("---"):
        return 0.0  # no heading, link or definition: plain text (every seed file)
    headings = len(HEADING.findall(head))
    links = len(INLINE_LINK.findall(head))
    if "]:" in head:
        links += sum(1 for line in head.splitlines()[:5000] if REFERENCE.match(line))
    if head.startswith("---") and "\n---" in head[:4000]:
        return 0.9
    if headings >= 2 or (headings >= 1 and links >= 1) or links >= 3:
        return 0.8
    return 0.0


def read(text: str, source: str) -> Reading:
    reading = Reading()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    _front_matter(lines, reading)
    cut = _truncation(lines)
    references = _fenced_references(lines)
    references.update((m["label"], m["url"]) for line in lines if "]:" in line and (m := REFERENCE.match(line)))
    _join_wrapped_links(lines)
    env = {"references": {normalizeReference(label): {"href": url, "title": ""} for label, url in references.items()}}
    assembler = Assembler(source, reading)
    for start, end in _chunks(lines):
        for block in blocks(_MD.parse("\n".join(lines[start:end]), env), start):
            assembler.add(block)
    if cut is not None:
        last = assembler.card
        if last is not None and last.line < cut and not last.fields.get("upvotes") and not last.texts:
            assembler.cards.pop()  # the card the capture was cut in
        reading.problems.append(Problem(source, cut + 1, "the capture is cut off here ([Content truncated]): "
                                                         "the cards before it are kept, the rest is missing",
                                        code="capture-cut-off"))
    assembler.finish()
    if reading.dated is None:
        reading.dated = page_date_url(lines)
    return reading


def page_date_url(lines: list[str]) -> dt.date | None:
    """The page's own `/papers/date/YYYY-MM-DD` link, if one is there: not a Previous or Next
    link to the day before or after."""
    for line in lines:
        m = DATE_URL.search(line)
        if m and not re.search(r"\b(?:prev(?:ious)?|next|older|newer)\b", line, re.IGNORECASE):
            return _iso(m["date"])
    return None


def _front_matter(lines: list[str], reading: Reading) -> None:
    """Read `---` front matter's scalar keys (`source:`, `created:`, `title:`), then blank it."""
    if not lines or lines[0].strip() != "---":
        return
    end = next((i for i in range(1, min(len(lines), 200)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return
    for i in range(1, end):
        m = FRONT_KEY.match(lines[i])
        if m:
            key, value = m["key"].lower(), m["value"].strip().strip("\"'")
            if key in ("source", "url") and (d := DATE_URL.search(value)):
                reading.dated = _iso(d["date"])
            elif key in ("created", "date", "published", "saved") and value:
                reading.created = reading.created or _iso(value[:10])
            elif key == "title" and value:
                reading.heading = value
        lines[i] = ""
    lines[0] = lines[end] = ""


def _iso(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _truncation(lines: list[str]) -> int | None:
    """The 0-based line of a `[Content truncated]` mark, with it and all after it blanked."""
    for i, line in enumerate(lines):
        if TRUNCATED.match(line.strip()):
            for j in range(i, len(lines)):
                lines[j] = ""
            return i
    return None


def _fenced_references(lines: list[str]) -> dict[str, str]:
    """Reference definitions a tool put inside a fenced block, which Markdown would show as code:
    taken out (the fence blanked) so `[text][32]` in the body finds them."""
    found: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(m[1])), len(lines))
        body = [line for line in lines[i + 1:end] if line.strip()]
        if body and all(REFERENCE.match(line) for line in body):
            for line in body:
                ref = REFERENCE.match(line)
                found.setdefault(ref["label"], ref["url"])
            for j in range(i, min(end + 1, len(lines))):
                lines[j] = ""
        i = end + 1
    return found


def _join_wrapped_links(lines: list[str]) -> None:
    """`[` alone on a line, some lines, then `](url)`: one link whose text is those lines
    (a clipper's rendering of a card's author count or organisation). Joined onto the first
    line; the others are blanked so line numbers stay."""
    i = 0
    while i < len(lines):
        if lines[i].strip() != "[":
            i += 1
            continue
        for j in range(i + 1, min(i + 1 + WRAP_SPAN, len(lines))):
            if lines[j].lstrip().startswith("]("):
                inner = " ".join(re.sub(r"^\s*(?:[-*+]\s+)?", "", line).strip() for line in lines[i + 1:j])
                lines[i] = "[" + " ".join(inner.split()) + lines[j].strip()
                for k in range(i + 1, j + 1):
                    lines[k] = ""
                i = j
                break
            if lines[j].strip() == "[":
                break
        i += 1


CHUNK_LINES = 2000  # lines markdown-it reads at once (see `_chunks`)
SECTION = re.compile(r"^ {0,3}#{2,6}\s")


def _chunks(lines: list[str]):
    """(start, end) line ranges of about CHUNK_LINES lines, each ending right before a heading
    of level 2 or more outside a fence: a heading always starts a new block, so the chunks read
    apart give the tokens the whole would (reference definitions are shared: `read` collects them
    first). Reading a 10 MB capture whole kept every token alive to the end, and the garbage
    collector's passes over them made it superlinear (0.59 s/MB at 2.5 MB, 0.69 at 10)."""
    start, fence = 0, None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m:
            fence = None if fence and line.strip().startswith(fence) else (fence or m[1])
        elif fence is None and i - start >= CHUNK_LINES and SECTION.match(line):
            yield start, i
            start = i
    yield start, len(lines)


def blocks(tokens, offset: int = 0) -> list[Block]:
    """markdown-it's block tokens -> Blocks with their first line (1-based), `offset` lines on."""
    out: list[Block] = []
    kind, level = "para", 0
    in_item = 0
    for token in tokens:
        t = token.type
        if t == "heading_open":
            # An underlined (setext) heading is page text a tool set off with a rule, never a
            # paper's title: it counts as the page's own heading.
            kind, level = "heading", (int(token.tag[1]) if token.markup.startswith("#") else 1)
        elif t == "list_item_open":
            in_item += 1
        elif t == "list_item_close":
            in_item -= 1
        elif t == "paragraph_open":
            kind, level = ("item" if in_item else "para"), 0
        elif t == "inline" and token.map:
            pieces = _pieces(token.children or [])
            if pieces:
                out.append(Block(kind, token.map[0] + 1 + offset, pieces, level))
            kind, level = "para", 0
    return out


def _pieces(children) -> list[Piece]:
    pieces: list[Piece] = []
    text: list[str] = []
    link: list | None = None  # [href, texts, has media]

    def flush() -> None:
        if text:
            pieces.append(Piece("".join(text)))
            text.clear()

    for child in children:
        t = child.type
        if t == "link_open":
            flush()
            link = [child.attrGet("href") or "", [], False]
        elif t == "link_close" and link is not None:
            words = "".join(link[1]).strip()
            pieces.append(Piece(words, link[0], image=link[2] or not words))
            link = None
        elif t == "image":
            if link is not None:
                link[2] = True
            else:
                flush()
                pieces.append(Piece(child.content or "", child.attrGet("src"), image=True))
        elif t in ("text", "code_inline", "html_inline"):
            content = child.content
            if link is not None:
                if t == "html_inline" or "<video" in content or "<img" in content:
                    link[2] = True
                    continue
                link[1].append(content)
            else:
                text.append(content)
        elif t in ("softbreak", "hardbreak"):
            (link[1] if link is not None else text).append("\n")
    flush()
    return [p for p in pieces if p.text.strip() or p.url]
