"""The theme: Jinja templates and static files, packaged with sitegen, overridable per file.

An installed sitegen carries its default theme inside the package (`sitegen/default_theme/`: the wheel's
build copies the repository's `templates/` and `static/` there, and lunr.js from npm); a checkout
uses those folders where they are. A project overrides any file of the same name with its own
`templates/` and `static/` (beside its config, or under the `theme_dir` key's folder), as MkDocs'
`custom_dir` does: every other file still comes from the package.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import BuildError, UserError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent  # where the repository keeps templates/ and static/


class ThemeError(UserError):
    """The theme cannot be found or copied; the message says what to do."""


def packaged() -> Path:
    """The folder that holds the default theme's templates/ and static/: inside the installed
    package, else the checkout this sitegen runs from."""
    inside = PACKAGE / "default_theme"
    return inside if (inside / "templates").is_dir() else CHECKOUT


@dataclass(frozen=True)
class Theme:
    templates: tuple[Path, ...]  # searched in order: the project's overrides first
    static: tuple[Path, ...]  # likewise: a file in an earlier folder hides one of its name later

    def static_files(self) -> list[tuple[str, Path]]:
        """(path under static/, file) for every static file, overrides applied, sorted."""
        chosen: dict[str, Path] = {}
        for folder in self.static:
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    chosen.setdefault(rel.as_posix(), path)
        return sorted(chosen.items())


def load_theme(config: Config) -> Theme:
    """The project's templates/ and static/ (under `theme_dir`, default the config's folder) over
    the packaged theme's."""
    base = packaged()
    own = config.resolve(config.theme_dir)
    templates = _layers(own / "templates", base / "templates")
    static = _layers(own / "static", base / "static")
    if not templates:
        raise ThemeError(f"no templates folder: expected {base / 'templates'} (a broken install?)")
    return Theme(templates, static)


def _layers(own: Path, base: Path) -> tuple[Path, ...]:
    folders = [own] if own.is_dir() else []
    if base.is_dir() and (not folders or own.resolve() != base.resolve()):
        folders.append(base)
    return tuple(folders)


def find_lunr(config: Config) -> Path | None:
    """lunr.js: a project's own `node_modules` (npm), else the one packaged with sitegen, else
    the checkout's `node_modules` (`npm ci`, which `make setup` runs); None if none is there."""
    for candidate in (config.root / "node_modules" / "lunr" / "lunr.min.js",
                      PACKAGE / "default_theme" / "vendor" / "lunr.min.js",
                      CHECKOUT / "node_modules" / "lunr" / "lunr.min.js"):
        if candidate.is_file():
            return candidate
    return None


def lunr_js(config: Config) -> Path:
    """lunr.js from the npm registry (`npm ci`) or as packaged with sitegen: never a committed copy."""
    path = find_lunr(config)
    if path is None:
        raise BuildError("lunr.js is not installed: run `npm ci` in the sitegen folder (`make setup` does it)")
    return path


def export(dest: Path, force: bool = False) -> list[Path]:
    """Copy the packaged templates/ and static/ into `dest`, for a project that changes all of
    them; refuses a folder that holds either unless `force`."""
    base = packaged()
    made = []
    for name in ("templates", "static"):
        target = dest / name
        if target.exists() and any(target.iterdir()) and not force:
            raise ThemeError(f"{target} is not empty: refusing to overwrite it (--force does)")
    for name in ("templates", "static"):
        source, target = base / name, dest / name
        for path in sorted(source.rglob("*")):
            if path.is_file():
                out = target / path.relative_to(source)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out)
                made.append(out)
    return made
