"""Plain text with the URLs on their own lines: what note-taking tools export from a page.

Each link becomes its text, a blank line, then its URL alone on a line:

    Submitted by taesiri

    HY-World 2.0: A Multi-Modal World Model ...

    https://huggingface.co/papers/2604.14268

    45 authors

    https://huggingface.co/papers/2604.14268

A URL alone is joined back to the text before it, making the same links a Markdown capture
has; a link to a paper whose text reads as a title starts a card. The rest is `cards`' work.
"""
from __future__ import annotations

import re

from .cards import Assembler, Block, Piece, clean
from .common import AUTHORS, Reading, count, date_parts, is_chrome, is_prose, paper_link
from .markdown import page_date_url

NAME = "linked text"

URL_LINE = re.compile(r"^\s*<?(https?://\S+?)>?\s*$")


def detect(text: str) -> float:
    if "\nhttp" not in text[:200_000]:
        return 0.0  # no URL at the start of a line
    lines = text[:200_000].splitlines()[:5000]
    urls = sum(1 for line in lines if URL_LINE.match(line))
    markdown_links = text[:200_000].count("](http")
    return 0.85 if urls >= 3 and markdown_links < 2 else 0.0


def read(text: str, source: str) -> Reading:
    reading = Reading()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assembler = Assembler(source, reading)
    for block in _blocks(lines):
        assembler.add(block)
    assembler.finish()
    reading.dated = page_date_url(lines)
    return reading


def _paragraphs(lines: list[str]):
    """(first line number, text) of each run of non-blank lines."""
    start, run = 0, []
    for number, line in enumerate(lines, 1):
        if line.strip():
            if not run:
                start = number
            run.append(line.strip())
        elif run:
            yield start, "\n".join(run)
            run = []
    if run:
        yield start, "\n".join(run)


def _blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    linked = True  # whether the last block already has its URL
    title_id = None
    for number, paragraph in _paragraphs(lines):
        m = URL_LINE.match(paragraph)
        if m:
            url = m[1]
            if not linked and blocks:
                block = blocks[-1]
                words = block.pieces[0].text
                block.pieces = [Piece(words, url)]
                paper_id, rest = paper_link(url)
                if paper_id and not rest and _title_like(words) and paper_id != title_id:
                    block.kind, title_id = "title", paper_id
            else:
                blocks.append(Block("para", number, [Piece("", url, image=True)]))  # a thumbnail's link
            linked = True
            continue
        blocks.append(Block("para", number, [Piece(paragraph)]))
        linked = False
    return blocks


def _title_like(text: str) -> bool:
    text = clean(text)
    return bool(text) and not (is_chrome(text) or is_prose(text) or count(text) is not None or text == "-"
                               or AUTHORS.match(text) or date_parts(text) or text.lower() == "view paper")
