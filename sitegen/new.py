"""`sitegen new DIR`: a digest project of its own, as `mkdocs new` or `hugo new site` make one.

The files come from `sitegen/project_files/`: a commented `sitegen.toml`, an empty `listings/`,
the GitHub Pages workflow, a `.gitignore` for the output and cache, and a README for the
digest's owner. The workflow installs sitegen the way this one was installed, where pip
recorded it (a git URL), else by name.
"""
from __future__ import annotations

import datetime as dt
import json
from importlib import metadata
from pathlib import Path

from .errors import UserError

FILES = Path(__file__).resolve().parent / "project_files"
LAYOUT = {  # what is written -> where it comes from in project_files/
    "sitegen.toml": "sitegen.toml",
    ".gitignore": "gitignore",
    "README.md": "README.md",
    ".github/workflows/pages.yml": "workflows/pages.yml",
    ".github/workflows/daily.yml": "workflows/daily.yml",
}


class NewError(UserError):
    """The project cannot be made there; the message says why."""


PLACEHOLDER = "sitegen @ git+https://github.com/OWNER/sitegen"  # where pip should find sitegen: edit


def install_spec() -> str | None:
    """How the workflow should install sitegen: the git URL (and commit) this copy came from
    when pip recorded one (PEP 610), else None (the project's README and `new` say to edit it:
    the name alone would find another package on PyPI)."""
    try:
        direct = json.loads(metadata.distribution("sitegen").read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError):
        direct = None
    if isinstance(direct, dict) and "vcs_info" in direct and direct.get("url"):
        commit = direct["vcs_info"].get("commit_id")
        return f"sitegen @ git+{direct['url']}" + (f"@{commit}" if commit else "")
    return None


def new(folder: Path, title: str | None = None, force: bool = False) -> list[Path]:
    """Write a new project into `folder`; NewError if it holds anything (unless `force`)."""
    if folder.exists() and not folder.is_dir():
        raise NewError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise NewError(f"{folder} is not empty: refusing to write into it (--force writes anyway, "
                       f"replacing only the files sitegen new makes)")
    title = title or folder.resolve().name.replace("-", " ").replace("_", " ").strip().title() or "Paper Digest"
    values = {"@YEAR@": str(dt.date.today().year), "@TITLE@": title, "@INSTALL@": install_spec() or PLACEHOLDER}
    made = []
    for target, source in LAYOUT.items():
        text = (FILES / source).read_text(encoding="utf-8")
        for token, value in values.items():
            text = text.replace(token, value)
        if target == "sitegen.toml":
            text = text.replace('title = "Paper Digest"', f"title = {json.dumps(title)}", 1)
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        made.append(path)
    (folder / "listings").mkdir(exist_ok=True)
    made.append(folder / "listings")
    return made
