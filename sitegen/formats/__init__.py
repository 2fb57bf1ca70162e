"""Listing formats, one module each: how readers saved the Papers pages.

Each module has `NAME`, `detect(text) -> confidence` (0 to 1) and `read(text, source) ->
Reading`. `pick` asks each and takes the surest, so the format is told from the content of
each file, never from its name. To add a format: a module with those three, and a line in
`FORMATS`.
"""
from __future__ import annotations

from . import api, linked, markdown, seed

FORMATS = (api, markdown, linked, seed)


def pick(text: str):
    """The format module surest that `text` is its own (the seed layout reads anything)."""
    best, sure = seed, 0.0
    for fmt in FORMATS:
        confidence = fmt.detect(text)
        if confidence > sure:
            best, sure = fmt, confidence
    return best
