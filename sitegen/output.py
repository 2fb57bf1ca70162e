"""The only stage that writes: one writer for every output file, staged, then put in place; a lock.

The site is written into a staging folder beside the output first, so a build that fails or is
killed before the end leaves the previous site as it was. Then either the whole staged site is
swapped in (a build killed between the two renames of the swap is recovered by the next one),
or, when the build knows the published site's manifest, only the changed files were staged and
are moved over their old versions, under a journal the next build finishes from if need be. A lock file beside the output keeps
two builds from interleaving. The marker file lists every file sitegen wrote: any other file in
the output (a `CNAME`, notes) is the user's, and is carried into the new site untouched. A
folder without the marker that holds files is never replaced.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
import zipfile
from pathlib import Path

from . import urls
from .errors import UserError

MARKER = ".sitegen"  # written into every output; its presence says "sitegen may replace this"
MARKER_HEAD = b"This folder was written by sitegen. The files listed below are replaced by each build;\n" \
    b"any other file here is yours and is kept.\n"
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


class OutputError(UserError):
    """The output cannot be written; the message says why and what to do."""


def check_path(rel: str) -> str:
    """An output path must stay inside the output folder: plain relative POSIX segments only."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") or not _SEGMENT.match(p) for p in parts):
        raise OutputError(f"unsafe output path {rel!r}")
    return rel


class Writer:
    """Writes output files into a folder, refusing two outputs that claim the same path.

    Given the manifest of the site already published in `published` (from the build cache), a
    file whose bytes are unchanged is not written: it is left where it is when the site is
    patched in place (`in_place`), else hard-linked into the new site; either way it keeps its
    modification time. The published file must still have the size and time the manifest
    recorded, else it is written afresh. `reuse` keeps a published file whose bytes the caller
    knows are right without making them. `manifest` describes the site as written."""

    def __init__(self, root: Path, published: Path | None = None, previous: dict[str, list] | None = None,
                 in_place: bool = False):
        self.root = root
        # In place (`publish` patching the published site): an unchanged file is left where it
        # is, not linked, and only new bytes are written into `root`.
        self.in_place = in_place
        self.origins: dict[str, str] = {}
        self.bytes_written = 0
        self._folders: set[str] = set()
        self.notes: list[str] = []  # remarks from stages about what they wrote (e.g. a large index)
        self.index_bytes: dict = {}
        self.published = published
        self.previous = previous or {}
        self.manifest: dict[str, list] = {}  # path -> [size, mtime_ns, digest]
        self.unchanged = 0  # files kept from the published site (left in place or linked) rather than written

    def _claim(self, rel: str, origin: str) -> None:
        check_path(rel)
        if rel in self.origins:
            raise OutputError(f"two outputs claim {rel}: {self.origins[rel]} and {origin}")

    def claim(self, rel: str, origin: str) -> None:
        """Reserve `rel` for `origin`, refusing a second claim; `put` or `reuse` then fills it."""
        self._claim(rel, origin)
        self.origins[rel] = origin

    def add(self, rel: str, data: bytes, origin: str) -> None:
        self.claim(rel, origin)
        self.put(rel, data)

    def put(self, rel: str, data: bytes) -> None:
        """The bytes of a claimed path."""
        self.bytes_written += len(data)
        self._store(rel, data)

    def put_chunks(self, rel: str, chunks) -> None:
        """`put` for a file made in pieces (an iterable of bytes), written as they come, so a
        large file is never whole in memory."""
        target = self._target(rel)
        folder, _, name = target.rpartition("/")
        part = f"{folder}/.{name}.part"
        digest = hashlib.blake2b(digest_size=16)
        with open(part, "wb") as f:
            for chunk in chunks:
                digest.update(chunk)
                f.write(chunk)
        digest = digest.hexdigest()
        if self._kept(rel, digest):
            os.unlink(part)
            self.bytes_written += self.manifest[rel][0]
            return
        os.replace(part, target)
        st = os.stat(target)
        self.bytes_written += st.st_size
        self.manifest[rel] = [st.st_size, st.st_mtime_ns, digest]

    def _target(self, rel: str) -> str:
        """The path of `rel` in the folder being written, its folder made (paths are strings
        here: pathlib costs more than the writing for 10k small files)."""
        folder = rel.rpartition("/")[0]
        if folder not in self._folders:
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)
            self._folders.add(folder)
        return f"{self.root}/{rel}"

    def _store(self, rel: str, data: bytes) -> None:
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        if self._kept(rel, digest):
            return
        target = self._target(rel)
        with open(target, "wb") as f:
            f.write(data)
        st = os.stat(target)
        self.manifest[rel] = [st.st_size, st.st_mtime_ns, digest]

    def reuse(self, rel: str, digest: str | None = None) -> bool:
        """Keep the published file for the claimed path `rel` (its bytes are known to be right,
        or to have `digest`) instead of adding bytes; False if there is none to keep, and the
        caller puts the bytes."""
        if not self._kept(rel, digest):
            return False
        self.bytes_written += self.manifest[rel][0]
        return True

    def part(self) -> "Writer":
        """A writer for a share of the claimed paths, filled in another process (the claims stay
        here, so it is sent without them): its `manifest`, `bytes_written` and `unchanged` cover
        only what it stored, for `merge` to add to this writer's."""
        return type(self)(self.root, self.published, self.previous, self.in_place)

    def merge(self, manifest: dict[str, list], bytes_written: int, unchanged: int) -> None:
        self.manifest.update(manifest)
        self.bytes_written += bytes_written
        self.unchanged += unchanged

    def _kept(self, rel: str, digest: str | None = None) -> bool:
        """Keep the published file for `rel` if it is still as the manifest recorded it (and
        holds bytes of `digest`, if given): left where it is when the site is patched in place,
        else linked into the new site. A kept file is counted and recorded as it was published
        (a link has the same size and time); False if there is none to keep."""
        before = self.previous.get(rel)
        if before is None or (digest is not None and before[2] != digest):
            return False
        source = f"{self.published}/{rel}"
        if not as_recorded(source, before):
            return False  # changed since it was published: write it afresh
        try:
            if not self.in_place:
                os.link(source, self._target(rel))
        except OSError:
            return False  # e.g. a filesystem without hard links: writing is always right
        self.unchanged += 1
        self.manifest[rel] = list(before)
        return True

    def copy_extra(self, source: Path, origin: str = "extra file") -> None:
        """Every file under `source` (dotfiles such as `.nojekyll` included, `.git` not) at the
        same path under the site root."""
        for rel, path in extra_files(source):
            self.add(rel, path.read_bytes(), f"{origin} {source.name}/{rel}")

    @property
    def paths(self) -> list[str]:
        return sorted(self.origins)


def as_recorded(path: str | Path, entry) -> bool:
    """Whether `path` is a regular file (never a link, a pipe or a device) with the size and
    modification time a manifest's `entry` ([size, mtime_ns, digest]) records: unchanged since,
    as make and rsync judge a file."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and [st.st_size, st.st_mtime_ns] == entry[:2]


def extra_files(source: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of each regular file under `source`, sorted; `.git` left out."""
    found = []
    if source.is_dir():
        for path in source.rglob("*"):
            rel = path.relative_to(source)
            if ".git" not in rel.parts and path.is_file():
                found.append((rel.as_posix(), path))
    return sorted(found)


class MemoryWriter(Writer):
    """The same checks, into a dict: for tests."""

    def __init__(self):
        super().__init__(Path("/nonexistent"))
        self.files: dict[str, bytes] = {}

    def _store(self, rel: str, data: bytes) -> None:
        self.files[rel] = data

    def reuse(self, rel: str, digest: str | None = None) -> bool:
        return False

    def put_chunks(self, rel: str, chunks) -> None:
        self.put(rel, b"".join(chunks))


def check_replaceable(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out} exists and is not a folder: choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise OutputError(f"{out} holds files that sitegen did not write (no {MARKER} marker): "
                          f"refusing to replace it; empty it or choose another --out")
    if out.is_dir() and os.path.ismount(out):
        raise OutputError(f"{out} is a mount point, which cannot be swapped for a new site: "
                          f"build into a folder inside it (e.g. --out {out / 'site'})")


def is_site(out: Path) -> bool:
    """Whether `out` is a folder sitegen built (it holds the marker)."""
    return out.is_dir() and not out.is_symlink() and (out / MARKER).is_file()


def marker_bytes(paths) -> bytes:
    return MARKER_HEAD + b"\n" + json.dumps(sorted(paths), indent=0).encode("utf-8")


def written_by_sitegen(out: Path) -> set[str] | None:
    """The paths the marker of `out` lists, or None if it lists none (a site built before
    markers listed their files: then every file in it is taken as sitegen's)."""
    try:
        data = (out / MARKER).read_bytes()
        listed = json.loads(data.partition(b"\n\n")[2])
    except (OSError, ValueError):
        return None
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        return None
    return set(listed)


def user_files(out: Path) -> list[str]:
    """Files (and links) in the site `out` that sitegen did not write, as relative paths."""
    ours = written_by_sitegen(out)
    if ours is None or not out.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(out):
        rel = os.path.relpath(folder, out)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
            if path not in ours:
                found.append(path)
    return sorted(found)


def carry_user_files(out: Path, staging: Path, claimed) -> None:
    """Link (or copy) the user's files from the published site into the new one; refuse, naming
    them, if the new site has a file of the same name (nothing is deleted then)."""
    mine = user_files(out)
    _refuse_clash(out, [p for p in mine if p in claimed])
    for rel in mine:
        source, target = out / rel, staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _refuse_clash(out: Path, clash: list[str]) -> None:
    """OutputError naming the user's files in `out` where the new site has a file (if any)."""
    if clash:
        raise OutputError(f"{out} holds your file(s) {', '.join(sorted(clash)[:5])} where sitegen now writes a page: "
                          f"move them (files for the site root go in extra/); nothing was replaced")


_HELD_LOCKS: set[int] = set()  # descriptors of the locks this process holds


def release_inherited_locks() -> None:
    """In a forked worker: close the lock descriptors inherited from the build, so a worker that
    outlives its parent (killed) never keeps the lock. The parent's own lock is unaffected."""
    for fd in list(_HELD_LOCKS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


def lock_path(out: Path, lock_dir: Path | None = None) -> Path:
    """Where the lock for building `out` lives: in `lock_dir` (the build cache's `locks/`), named
    for the output's absolute path, else beside `out`."""
    if lock_dir is not None:
        try:
            lock_dir.mkdir(parents=True, exist_ok=True)
            return lock_dir / f"{urls.folder_key(out)}.lock"
        except OSError:
            pass  # a cache folder that cannot be made: the lock goes beside the output
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.parent / f".{out.name}.lock"


def written_by_builds(path: Path, out: Path) -> bool:
    """Whether `path` is something a build of `out` writes: the output folder and what is in it,
    or what a build keeps beside it while it works (`.<out>.staging-*`, `.old-*`, `.commit-*`,
    `.lock`). Both paths absolute."""
    for p in (path, *path.parents):
        if p.parent == out.parent:  # `..<out>.commit-*.tmp-*`: the journal, as `replacing` writes it
            return p == out or p.name.startswith((f".{out.name}.", f"..{out.name}."))
    return False


@contextlib.contextmanager
def locked(out: Path, wait_seconds: float = 120.0, lock_dir: Path | None = None):
    """Hold the build lock for `out`; wait for a running build, then give up with a clear error."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path_ = lock_path(out, lock_dir)
    fd = os.open(lock_path_, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise OutputError(f"another sitegen build of {out} is still running (lock {lock_path_}); "
                                      f"gave up after {wait_seconds:.0f} s") from None
                time.sleep(0.1)
        _HELD_LOCKS.add(fd)
        yield
    finally:
        _HELD_LOCKS.discard(fd)
        os.close(fd)  # closing releases the lock


def recover_swap(out: Path) -> None:
    """A build killed between the two renames of its swap left no `out`, only the previous site
    moved aside: move it back (hold the lock)."""
    if out.exists() or out.is_symlink():
        return
    olds = [p for p in out.parent.glob(f".{out.name}.old-*") if (p / MARKER).is_file()]
    if olds:
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        os.rename(newest, out)


def clear_leftovers(out: Path) -> None:
    """Remove the staging and old folders a killed build left beside `out`, after recovering
    the previous site if the build was killed mid-swap, or completing a patch it had begun to
    move into place (hold the lock; a build does this once, when it takes the lock)."""
    recover_swap(out)
    for journal in out.parent.glob(f".{out.name}.commit-*"):
        try:
            _apply_patch(out, journal)
        except (OSError, ValueError):
            pass  # what cannot be completed is rewritten: the build's record was dropped before it
        journal.unlink(missing_ok=True)
    for stale in out.parent.glob(f".{out.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def publish(out: Path, lock: bool = True, previous: dict[str, list] | None = None):
    """Yield a Writer into a staging folder; on success put it in place of `out`, on failure
    discard it. With lock=False the caller already holds `locked(out)` (a build holds it from
    its first read). The user's files in `out` (those its marker does not list) are kept.

    Without `previous` the staging folder holds the whole new site and is swapped in for `out`.
    With `previous` (the manifest of the site now in `out`, from the build cache) the site is
    patched in place: the staging folder holds only files whose bytes changed, each is moved
    over its old version, and files sitegen no longer writes are removed; unchanged files are
    not touched at all. A journal written before the first move lets the next build finish a
    patch that was killed midway (`clear_leftovers`)."""
    out = out.absolute()
    with (locked(out) if lock else contextlib.nullcontext()):
        if lock:
            clear_leftovers(out)  # a build that holds the lock cleared them when it took it
        check_replaceable(out)
        listed = written_by_sitegen(out) if previous is not None and is_site(out) else None
        in_place = listed is not None  # patched: the published site and what sitegen wrote in it are known
        staging = out.parent / f".{out.name}.staging-{os.getpid()}"
        staging.mkdir()
        try:
            writer = Writer(staging, out, previous, in_place)
            yield writer
            writer.add(MARKER, marker_bytes(writer.paths + [MARKER]), "sitegen")
            if in_place:
                _patch(out, staging, writer, listed)
                return
            carry_user_files(out, staging, writer.origins)
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            if out.exists():
                os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            if not list(out.parent.glob(f".{out.name}.commit-{os.getpid()}")):  # else the next build finishes it
                shutil.rmtree(staging, ignore_errors=True)
            raise


def _patch(out: Path, staging: Path, writer: Writer, listed: set[str]) -> None:
    """Move the staged files of `writer` into the published site `out` and remove the files
    sitegen wrote there before (`listed` by its marker, or in the last manifest) and no longer
    writes (see `publish`)."""
    ours = set(writer.previous) | listed
    _refuse_clash(out, [rel for rel in writer.origins if rel not in ours and os.path.lexists(out / rel)])
    journal = out.parent / f".{out.name}.commit-{os.getpid()}"
    write_file(journal, json.dumps({"staging": staging.name, "ours": sorted(ours | set(writer.origins)),
                                    "remove": sorted(rel for rel in ours if rel not in writer.origins)}).encode())
    _apply_patch(out, journal)
    journal.unlink()


def _apply_patch(out: Path, journal: Path) -> None:
    """Carry out what a patch's journal says: every file left in its staging folder moved into
    `out` (each replaces its old version whole), the files it lists removed (with the folders
    they leave empty), then the staging folder removed. Safe to repeat.

    While files move, the marker lists the old site's files and the new one's together (if the
    set changes), and the new marker goes in last: whenever the patch stops, every file sitegen
    wrote is known as sitegen's, so none is ever mistaken for the user's and kept for good."""
    plan = json.loads(journal.read_bytes())
    staging = out.parent / plan["staging"]
    if not (isinstance(plan["staging"], str) and staging.parent == out.parent
            and all(isinstance(plan[k], list) and all(isinstance(rel, str) for rel in plan[k])
                    for k in ("remove", "ours"))):
        raise ValueError(f"{journal}: not a journal sitegen wrote")
    marker = staging / MARKER
    if marker.is_file():  # the set of files changes: the old and the new, while both are there
        write_file(out / MARKER, marker_bytes(plan["ours"]))
    for folder, _dirs, files in os.walk(staging):
        rel_folder = os.path.relpath(folder, staging)
        target_folder = out if rel_folder == "." else out / rel_folder
        if files:
            target_folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            if rel_folder != "." or name != MARKER:
                os.replace(os.path.join(folder, name), target_folder / name)
    for rel in plan["remove"]:
        check_path(rel)
        path = out / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            folder = path.parent
            while folder != out and not any(folder.iterdir()):  # a folder only sitegen's files were in
                folder.rmdir()
                folder = folder.parent
    if marker.is_file():
        os.replace(marker, out / MARKER)
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def replacing(path: Path):
    """A temporary path beside `path` to write; renamed over `path` when the block ends, removed
    if it raises: the file is written whole or not at all (a reader sees the old or the new)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_file(path: Path, data: bytes) -> None:
    """Write one file whole or not at all; OSError if it cannot be written, nothing left behind."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def zip_site(out: Path, archive: Path) -> None:
    """Pack the built site into one zip, deterministically (sorted names, fixed timestamps)."""
    archive = archive.absolute()
    if archive.is_relative_to(out.absolute()):
        raise OutputError(f"{archive}: the archive cannot go inside the site it packs")
    try:
        with replacing(archive) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()):
                path = out / name
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes())
    except OSError as e:
        raise OutputError(f"{archive}: cannot write the archive ({e.strerror})") from None
