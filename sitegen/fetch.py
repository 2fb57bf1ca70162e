"""`sitegen fetch [DATE]`: a day from the Hugging Face daily-papers API into the listings.

The answer is saved untouched as `YYYY-MM-DD.json` in the first sources folder, so a build can
be redone offline and shows exactly what the API said. Nothing is written unless the whole
answer was read and is a daily-papers answer; a file already there with other content is kept
unless `force`. HTTP goes through httpx (a maintained client: timeouts, redirects, errors).
"""
from __future__ import annotations

import datetime as dt

from . import listing
from .config import Config
from .sources import SaveError, Saved, first_folder, save_listing

ENDPOINT = "https://huggingface.co/api/daily_papers"
TIMEOUT = 30.0  # seconds for the whole answer to arrive


class FetchError(SaveError):
    """The day could not be fetched or saved; the message is one line for the user."""


def fetch(day: dt.date, config: Config, endpoint: str = ENDPOINT, force: bool = False,
          timeout: float = TIMEOUT) -> Saved:
    import httpx  # only this command needs it

    folder = first_folder(config)
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
    return Saved(folder / name, parsed, written=save_listing(folder / name, raw, force))
