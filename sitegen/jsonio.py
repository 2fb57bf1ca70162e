"""Compact JSON for the large files a build makes (the search index, `papers.json`), and a
record as bytes to digest (`record_bytes`).

orjson writes the index's long lists of numbers five to ten times faster than the json module
(at 10k papers, json.dumps was half the index worker's time); the json module is the fallback
for the one thing orjson refuses, a lone surrogate (a JSON listing's `\\ud800` escape can make
one), so a file is always written, and the same value always gives the same bytes.
"""
from __future__ import annotations

import json
import pickle

import orjson


def compact(value) -> bytes:
    """`value` as compact UTF-8 JSON (no spaces; non-ASCII characters as they are)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def record_bytes(value) -> bytes:
    """A record (frozen dataclasses, tuples, strings, numbers, dates) as bytes to digest: JSON,
    which orjson makes in C in about half pickle's time; each field of a record class holds one
    type (a safe-HTML field is always Markup), so equal JSON is an equal record. A record JSON
    cannot hold (a lone surrogate, a set, a key that is not a string, an integer past 64 bits)
    is pickled instead."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        return b"pickle:" + pickle.dumps(value, protocol=5)
