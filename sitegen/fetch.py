"""`sitegen fetch [DATE]`: a day from the Hugging Face daily-papers API into the listings.

The answer is saved untouched as `YYYY-MM-DD.json` in the first sources folder, so a build can
be redone offline and shows exactly what the API said. Nothing is written unless the whole
answer was read and is a daily-papers answer; a file already there with other content is kept
unless `force`. HTTP goes through httpx (a maintained client: timeouts, redirects, errors).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from . import listing
from .config import Config

ENDPOINT = "https://huggingface.co/api/daily_papers"
TIMEOUT = 30.0  # seconds for the whole answer to arrive


class FetchError(Exception):
    """The day could not be fetched or saved; the message is one line for the user."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    papers: int
    written: bool  # False when the same bytes were already there


def fetch(day: dt.date, config: Config, endpoint: str = ENDPOINT, force: bool = False,
          timeout: float = TIMEOUT) -> Fetched:
    import httpx  # only this command needs it

    if not config.sources:
        raise FetchError("the config names no sources folder to save the day into")
    folder = config.resolve(config.sources[0])
    if folder.exists() and not folder.is_dir():
        raise FetchError(f"{folder} is a file, not a folder: the first of `sources` must be a folder")
    url = f"{endpoint}?date={day.isoformat()}"
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True,
                             headers={"Accept": "application/json", "User-Agent": "sitegen"})
    except httpx.TimeoutException:
        raise FetchError(f"{url}: no answer within {timeout:g} s; nothing was saved") from None
    except httpx.HTTPError as e:
        raise FetchError(f"{url}: {type(e).__name__}: {e}; nothing was saved") from None
    if response.status_code != 200:
        raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}; nothing was saved")
    raw = response.content
    name = f"{day.isoformat()}.json"
    parsed = listing.parse(raw, name)
    if parsed.format != "api json" or any(p.line <= 1 and "JSON" in p.message for p in parsed.problems):
        detail = parsed.problems[0].message if parsed.problems else "not a JSON array of papers"
        raise FetchError(f"{url}: the answer is not a daily-papers list ({detail}); nothing was saved")
    target = folder / name
    if target.exists():
        if target.read_bytes() == raw:
            return Fetched(target, len(parsed.entries), written=False)
        if not force:
            raise FetchError(f"{target} already holds a different answer for {day.isoformat()}: kept it "
                             f"(--force replaces it)")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"{target}: cannot write it ({e.strerror or e})") from None
    return Fetched(target, len(parsed.entries), written=True)
