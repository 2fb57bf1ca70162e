"""What Lunr makes of a paper's text: terms, with where they occur, and each field's length.

The lunr package's own pipeline (trimmer, stop words, Porter stemmer) turns tokens into terms,
exactly as `lunr.lunr(...)` does when it builds an index; a test checks the counts and lengths
against lunr.py's builder. Nothing here is BM25: the browser computes each paper's weights at
query time from the counts and lengths stored in the index (see static/search-engine.js), so
the numbers it needs are the archive's, whatever was built before.

The tokenizer is lunr.py's (lower case, split on whitespace and hyphens), as one regex; a
token's terms are computed once per build (and kept between builds by the cache), since the
pipeline gives the same token the same terms whatever the field.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from lunr import get_default_builder
from lunr.token import Token

FIELDS = ("title", "abstract", "organization")
BOOSTS = (10, 1, 1)  # lunr field boosts: a title match outweighs the same word in an abstract

_SEPARATOR = re.compile(r"[ \t\n\r\f\v\xa0-]+")  # lunr.py's tokenizer separators, as a regex
_MULTI = object()  # a token that becomes more than one term


class Analyzer:
    """Text to lunr terms, field by field. `memo` (token -> its terms) may come from an earlier
    build; `memo_grew` says whether this one added to it."""

    def __init__(self, memo: dict[str, list[str]] | None = None, names: Iterable[str] = ()):
        builder = get_default_builder()
        self.pipeline, self.search_pipeline = builder.pipeline, builder.search_pipeline
        self.k1, self.b = builder._k1, builder._b
        # The memo is keyed by token alone: valid while no pipeline step is limited to a field.
        assert not any(self.pipeline._skip.get(fn) for fn in self.pipeline._stack)
        self.memo = memo if memo is not None else {}
        self._known = len(self.memo)
        self._single: dict[str, object] = {}  # token -> its one term's number, -1 if dropped, _MULTI
        self.numbers: dict[str, int] = {}  # term -> its number in this build
        self.names: list[str] = []  # number -> term (`names`: numbered as an earlier build did, first)
        for term in names:
            self.number(term)

    @property
    def memo_grew(self) -> bool:
        return len(self.memo) != self._known

    def terms(self, token: str) -> list[str]:
        processed = self.memo.get(token)
        if processed is None:
            processed = self.memo[token] = [str(t) for t in self.pipeline.run([Token(token, {})])]
        return processed

    def field(self, text: str) -> tuple[dict[str, list[int]], int]:
        """Each term of a field with the token positions it occurs at (in first-occurrence
        order), and the field's length in lunr's sense: how many terms the pipeline made."""
        at: dict[str, list[int]] = {}
        numbers, positions = self.numbered(text)
        for number, position in zip(numbers, positions):
            if number >= 0:
                at.setdefault(self.names[number], []).append(position)
        return at, sum(map(len, at.values()))

    def numbered(self, text: str) -> tuple[list[int], range | list[int]]:
        """The field's terms by number (`names` has the terms), one a token in text order with
        -1 for a token the pipeline drops, and each one's position. A position counts every
        token, stop words included, so words that follow each other in the text have
        consecutive positions. Done in C where every token is known and makes at most one
        term (`_single`: token -> number, -1, or _MULTI; filled as tokens are met)."""
        tokens = [t for t in _SEPARATOR.split(text.lower()) if t]
        single = self._single
        try:
            numbers = list(map(single.__getitem__, tokens))
        except KeyError:
            for token in tokens:
                if token not in single:
                    made = self.terms(token)
                    single[token] = self.number(made[0]) if len(made) == 1 else (_MULTI if made else -1)
            numbers = list(map(single.__getitem__, tokens))
        if _MULTI in numbers:  # rare: a token with several terms, each at the token's position
            pairs = [(self.number(term), i) for i, token in enumerate(tokens) for term in self.terms(token)]
            return [n for n, _ in pairs], [i for _, i in pairs]
        return numbers, range(len(numbers))

    def number(self, term: str) -> int:
        n = self.numbers.get(term)
        if n is None:
            n = self.numbers[term] = len(self.names)
            self.names.append(term)
        return n
