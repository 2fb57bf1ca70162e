"""Compact JSON for the large files a build makes (the search index, `papers.json`).

orjson writes the index's long lists of numbers five to ten times faster than the json module
(at 10k papers, json.dumps was half the index worker's time); the json module is the fallback
for the one thing orjson refuses, a lone surrogate (a JSON listing's `\\ud800` escape can make
one), so a file is always written, and the same value always gives the same bytes.
"""
from __future__ import annotations

import json

import orjson


def compact(value) -> bytes:
    """`value` as compact UTF-8 JSON (no spaces; non-ASCII characters as they are)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
