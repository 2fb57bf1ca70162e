"""Typed site settings, loaded from `sitegen.toml` or `[tool.sitegen]` in `pyproject.toml`.

Every key is optional. Unknown keys and wrong types are collected and reported together,
each naming the file and the key, before anything is built.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .model import XML_UNSAFE


class ConfigError(UserError):
    """The config file cannot be used; the message names the file and every bad key."""


@dataclass(frozen=True)
class ListingSettings:
    """Per-listing settings, keyed by the listing's file name."""

    date: dt.date | None = None  # the digest date, overriding the header
    year: int | None = None  # the year for a yearless header date such as `Mar 12`
    title: str | None = None  # a label for an undated listing


@dataclass(frozen=True)
class Config:
    title: str = "Paper Digest"
    description: str = "Research papers from the Daily Papers listings, deduplicated and searchable."
    base_url: str = ""  # absolute site URL, e.g. https://user.github.io/digest/ ("" = unknown)
    language: str = "en"
    sources: tuple[str, ...] = ("seeds",)
    out: str = "_site"
    extra: str = "extra"  # files copied as they are to the site root (CNAME, .nojekyll, ...)
    theme_dir: str = "."  # where the project's templates/ and static/ overrides live
    list_unsubscribe: str = ""  # an https:// or mailto: URL for emailed digests' List-Unsubscribe
    year: int | None = None  # default year for yearless header dates
    excerpt_length: int = 280
    email_days: int = 14  # the site carries email pages for the newest this many digest dates
    listings: dict[str, ListingSettings] = field(default_factory=dict)
    root: Path = Path(".")  # folder the config was read from; relative paths resolve against it
    path: Path | None = None  # the file it came from, if any

    def listing(self, name: str) -> ListingSettings:
        return self.listings.get(name, ListingSettings())

    def resolve(self, relative: str) -> Path:
        """A path from the config: `~` is the user's home; relative to the config's folder."""
        return (self.root / Path(relative).expanduser()).resolve()


_SCALARS: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "description": str,
    "base_url": str,
    "language": str,
    "out": str,
    "extra": str,
    "theme_dir": str,
    "list_unsubscribe": str,
    "year": int,
    "excerpt_length": int,
    "email_days": int,
}


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be the site's address, or None."""
    from urllib.parse import urlsplit

    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if any(c.isspace() or ord(c) < 32 or c in "<>\"'`\\" for c in url):
        return "must be one URL, without spaces, line breaks or quotes"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  raises on a port that is not a number
    except ValueError:
        return "is not a valid URL"
    if not parts.hostname or parts.query or parts.fragment:
        return "must name a host and have no ?query or #fragment"
    return None


def _check(errors: list[str], where: str, key: str, value, kind) -> bool:
    # bool is an int in Python; a TOML `true` is never a valid year.
    if isinstance(value, bool) or not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        errors.append(f"{where}: `{key}` must be a {name}, not {type(value).__name__} {value!r}")
        return False
    return True


def from_mapping(data: dict, where: str, root: Path, path: Path | None = None) -> Config:
    errors: list[str] = []
    values: dict = {}
    for key, value in data.items():
        if key in _SCALARS:
            if _check(errors, where, key, value, _SCALARS[key]):
                values[key] = value
        elif key == "sources":
            if isinstance(value, str):
                value = [value]
            if _check(errors, where, key, value, list) and all(
                _check(errors, where, f"{key}[{i}]", v, str) for i, v in enumerate(value)
            ):
                values[key] = tuple(value)
        elif key == "listings":
            if _check(errors, where, key, value, dict):
                values[key] = _listings(value, where, errors)
        else:
            errors.append(f"{where}: unknown key `{key}`")
    for key in ("title", "description", "language"):
        if key in values and XML_UNSAFE.search(values[key]):
            errors.append(f"{where}: `{key}` holds a control character or U+FFFE/U+FFFF, which no feed can hold")
    if "year" in values and not 1900 <= values["year"] <= 2999:
        errors.append(f"{where}: `year` must be a four-digit year, not {values['year']}")
    if "excerpt_length" in values and values["excerpt_length"] < 40:
        errors.append(f"{where}: `excerpt_length` must be at least 40")
    if "email_days" in values and values["email_days"] < 0:
        errors.append(f"{where}: `email_days` must be 0 (no email pages) or more")
    if "base_url" in values and values["base_url"]:
        url = values["base_url"]
        problem = _url_problem(url)
        if problem:
            errors.append(f"{where}: `base_url` {problem}, not {url!r}")
        values["base_url"] = url.rstrip("/") + "/"
    unsubscribe = values.get("list_unsubscribe", "")
    if unsubscribe and (not unsubscribe.startswith(("https://", "mailto:"))
                        or any(c.isspace() or c in "<>" for c in unsubscribe)):
        errors.append(f"{where}: `list_unsubscribe` must be one https:// or mailto: URL, not {unsubscribe!r}")
    if "title" in values and any(c in values["title"] for c in "\r\n"):
        errors.append(f"{where}: `title` must be one line (it is the email subject and the page titles)")
    if errors:
        raise ConfigError("\n".join(errors))
    return Config(**values, root=root, path=path)


def _listings(table: dict, where: str, errors: list[str]) -> dict[str, ListingSettings]:
    out = {}
    for name, settings in table.items():
        key = f"listings.{name!r}"
        if not _check(errors, where, key, settings, dict):
            continue
        fields: dict = {}
        for k, v in settings.items():
            if k == "date":
                if isinstance(v, dt.datetime):
                    v = v.date()
                if _check(errors, where, f"{key}.date", v, dt.date):
                    fields["date"] = v
            elif k == "year":
                if _check(errors, where, f"{key}.year", v, int):
                    fields["year"] = v
            elif k == "title":
                if _check(errors, where, f"{key}.title", v, str):
                    fields["title"] = v
            else:
                errors.append(f"{where}: unknown key `{key}.{k}`")
        out[name] = ListingSettings(**fields)
    return out


def load(path: str | Path | None = None, cwd: Path | None = None) -> Config:
    """Load the config: the given file, else ./sitegen.toml, else [tool.sitegen] in ./pyproject.toml, else defaults."""
    cwd = cwd or Path.cwd()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        config = _load_file(p)
        if config is None:
            raise ConfigError(f"{p}: no [tool.sitegen] table")
        return config
    for candidate in (cwd / "sitegen.toml", cwd / "pyproject.toml"):
        if candidate.is_file():
            cfg = _load_file(candidate)
            if cfg is not None:
                return cfg
    return Config(root=cwd)


def _load_file(p: Path) -> Config | None:
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: {e}") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror})") from None
    where = str(p)
    if p.name == "pyproject.toml":
        table = data.get("tool", {}).get("sitegen")
        if table is None:
            return None  # a pyproject.toml without sitegen settings: look further
        where = f"{p} [tool.sitegen]"
        data = table
    return from_mapping(data, where, root=p.parent.resolve(), path=p)
