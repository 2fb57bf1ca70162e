"""The build cache: what one build leaves for the next, in `.sitegen-cache/` beside the config
(never inside the published output; deleting it only costs time).

For each output folder the cache keeps a record of its last build:
- the fingerprint of everything the output depends on: the listing files (names and bytes),
  the templates, the static files, lunr.js, the settings, the sitegen code and the versions of
  the libraries that shape the output;
- the manifest of the files it wrote: size, modification time and a digest of the bytes;
- the build's report, problems and notes, so an up-to-date build can repeat them.

Three uses: a build whose fingerprint matches the record of an intact output folder has nothing
to do; any other build skips rendering a page whose render key (`RenderCache`) is the one the
published page was rendered from, and links each file whose bytes did not change to the file
already published (`output.Writer`), so unchanged files keep their modification time and an
rsync or Pages deploy only carries what changed.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import os
import pickle
import re
import secrets
import sys
import threading
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import msgpack
import orjson
from markupsafe import Markup

from . import urls
from .model import Entry, Listing, Problem, made
from .jsonio import compact, record_bytes
from .output import as_recorded, replacing

RECORD_VERSION = 2
# Libraries whose version can change the bytes of the output.
OUTPUT_LIBRARIES = ("jinja2", "markupsafe", "markdown-it-py", "mdit-py-plugins", "msgpack", "lunr", "rapidfuzz",
                    "python-slugify", "latex2mathml", "pylatexenc", "feedgen", "css-inline", "numpy", "scipy")
CODE = Path(__file__).resolve().parent


@dataclass
class Record:
    """What the cache remembers of the last build of one output folder."""

    fingerprint: str
    manifest: dict[str, list]  # output path -> [size, mtime_ns, digest]
    report: dict
    problems: list[dict]
    notes: list[str]
    renders: dict[str, str]  # output path -> the render key it was rendered from (see RenderCache)

    def problem_list(self) -> tuple[Problem, ...]:
        return tuple(Problem(**p) for p in self.problems)


class Fingerprint:
    """A running hash of named parts; each part is length-prefixed so parts cannot run together."""

    def __init__(self):
        self._hash = hashlib.blake2b(digest_size=20)

    def add(self, name: str, data: bytes) -> None:
        label = name.encode("utf-8", "surrogateescape")
        self._hash.update(len(label).to_bytes(4, "little") + label + len(data).to_bytes(8, "little"))
        self._hash.update(data)

    def add_tree(self, name: str, folder: Path) -> None:
        """Every file under `folder` the build would read: relative names and bytes."""
        if not folder.is_dir():
            self.add(name, b"(none)")
            return
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                self.add(f"{name}/{rel.as_posix()}", path.read_bytes())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def code_identity() -> bytes:
    """The sitegen code and the versions of the libraries (and Python) that shape the output:
    read once per process (a build asks for it up to three times; `serve` on every rebuild)."""
    return _identity(CODE, OUTPUT_LIBRARIES)


@functools.lru_cache(maxsize=4)
def _identity(code_dir: Path, libraries: tuple[str, ...]) -> bytes:
    found = installed_versions(libraries)
    parts = [sys.version] + [f"{name}=={found[name]}" if found[name] else f"{name} missing" for name in libraries]
    code = hashlib.blake2b(digest_size=20)
    for path in sorted(code_dir.rglob("*.py")):  # the formats package too
        code.update(path.relative_to(code_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return "\n".join(parts + [code.hexdigest()]).encode()


def installed_versions(names) -> dict[str, str | None]:
    """The installed version of each distribution in `names` (None if it is not installed), as
    `importlib.metadata.version` gives it. Every build asks, the one that finds nothing to do
    included, and importing `importlib.metadata` alone took 50-60 ms of that build's 0.5 s (it
    loads the email package to read METADATA files): so the versions are read from the names
    of the `<name>-<version>.dist-info` folders on `sys.path` (the first folder that holds the
    name, as `importlib.metadata` searches), and only a name found no such way (an egg, a zip,
    two folders of one name side by side) is asked of `importlib.metadata`."""
    wanted = {_dist_name(n): n for n in names}
    versions: dict[str, str | None] = {}
    unsure: set[str] = set()
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except NotADirectoryError:  # a zip file: ask importlib.metadata for the rest
            unsure.update(n for n in wanted.values() if n not in versions)
            break
        except OSError:
            continue
        here: dict[str, list[str]] = {}
        for entry in entries:
            if entry.endswith(".dist-info"):
                dist, _, version = entry[: -len(".dist-info")].partition("-")
            elif entry.endswith((".egg-info", ".egg")):  # an older layout: ask importlib.metadata
                dist, version = entry.rsplit(".", 1)[0].partition("-")[0], ""
            else:
                continue
            name = wanted.get(_dist_name(dist))
            if name is None or name in versions or name in unsure:
                continue
            if version:
                here.setdefault(name, []).append(version)
            else:
                unsure.add(name)
        for name, found in here.items():
            if len(found) == 1 and name not in unsure:
                versions[name] = found[0]
            else:
                unsure.add(name)
        if len(versions) + len(unsure) == len(wanted):
            break
    missing = [n for n in names if n not in versions]
    if missing:
        from importlib import metadata

        for name in missing:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
    return versions


def _dist_name(name: str) -> str:
    """A distribution's name as its dist-info folder spells it, folded (PEP 503 and 427)."""
    return re.sub(r"[-_.]+", "_", name).lower()


# -- cache files that cannot run code, signed so that no other hand can change a page ---------
# Nothing in the cache is pickled: a file that unpickles can run any code, and caches get
# restored from shared places (a CI cache restored across branches). A memo is MessagePack whose
# values decode only to plain data and the records the memo declares (`loads`), a build record is
# JSON, and each carries an HMAC of its bytes under a key kept outside the project (`cache_key`):
# a file this user's builds did not write, or one changed since, fails the check and the cache is
# treated as absent.
KEY_ENV = "SITEGEN_CACHE_KEY"


@functools.lru_cache(maxsize=1)
def cache_key() -> bytes | None:
    """The key that signs cache files: $SITEGEN_CACHE_KEY (e.g. a CI secret, so a CI cache is
    reused across runs), else one made once per user in $XDG_CACHE_HOME/sitegen/ (or
    ~/.cache/sitegen/), readable by that user only. None if neither can be had: then no cache
    file is trusted or written, and builds are cold."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode("utf-8", "surrogateescape")
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(home) / "sitegen" / "cache-key"
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    tmp = path.with_name(f".cache-key.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)  # refused if another build made one meanwhile: then theirs is used
    except FileExistsError:
        pass
    except OSError:
        return None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


MAC_BYTES = 64  # hex digits of an HMAC-SHA256, written after the data with a newline before


def _hmac():
    key = cache_key()
    return hmac.new(key, digestmod=hashlib.sha256) if key else None


def write_signed(path: Path, data) -> None:
    """Write `data` (bytes, or an iterable of bytes written as they come, so a large memo is
    never whole in memory) and then its signature, atomically (a reader sees the old file or
    the new)."""
    mac = _hmac()
    if mac is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, open(tmp, "wb") as f:
        for chunk in ([data] if isinstance(data, bytes) else data):
            mac.update(chunk)
            f.write(chunk)
        f.write(b"\n" + mac.hexdigest().encode("ascii"))


def read_signed(path: Path) -> bytes | None:
    """The data `write_signed` wrote, or None: missing, unreadable, or not signed by this key."""
    try:
        with open(path, "rb") as f:  # the data and the trailer read apart: no copy of the data
            data = f.read(max(0, os.fstat(f.fileno()).st_size - MAC_BYTES - 1))  # (500 MB at 100k)
            tail = f.read()
    except OSError:
        return None
    newline, trailer = tail[:1], tail[1:]
    mac = _hmac()
    if mac is None or newline != b"\n":
        return None
    mac.update(data)
    return data if hmac.compare_digest(trailer, mac.hexdigest().encode("ascii")) else None


class ReadAhead:
    """Signed cache files read, and their signatures checked, in a thread ahead of the build,
    which meanwhile decodes the file before (or does other work): reading a file and hashing it
    let other threads run. At 100k papers the build's memos take 1.4 s to read and check (the
    paper-text memo alone 480 MB, 0.8 s), all of it decoding time before.

    `take(path)` gives what `read_signed(path)` gives. The files are read in the order given;
    the next is begun only while what the thread holds and the build has not taken is under
    `HELD` bytes (so a memo's small additions do not hold it back, and at most one large file
    waits): what a build would read anyway, a little earlier. A file the build asks for before
    the thread began it is read by the build itself (the thread then skips it), so the build
    never waits for a file it is not next to get. `close` ends the thread and lets go of a file
    not taken."""

    HELD = 64 << 20

    def __init__(self, paths):
        self._order = list(paths)
        self._state: dict[Path, object] = {}  # path -> _READING, _DONE, or its bytes (None: unreadable)
        self._closed = False
        self._ready = threading.Condition()
        threading.Thread(target=self._read, name="sitegen-read-ahead", daemon=True).start()

    def _held(self) -> int:
        return sum(len(v) for v in self._state.values() if isinstance(v, bytes))

    def _read(self) -> None:
        for path in self._order:
            with self._ready:
                self._ready.wait_for(lambda: self._closed or self._held() < self.HELD)
                if self._closed:
                    return
                if path in self._state:  # the build read it itself
                    continue
                self._state[path] = _READING
            data = read_signed(path)
            with self._ready:
                if not self._closed:
                    self._state[path] = data
                self._ready.notify_all()

    def take(self, path: Path) -> bytes | None:
        with self._ready:
            state = self._state.setdefault(path, _DONE)  # not begun: the thread will skip it
            if state is not _DONE:
                self._ready.wait_for(lambda: self._state[path] is not _READING)
                data, self._state[path] = self._state[path], _DONE
                self._ready.notify_all()
                return data
        return read_signed(path)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._state.clear()
            self._ready.notify_all()


_READING, _DONE = object(), object()  # a file being read; one taken, or read by the build itself


# Values a memo may hold, as MessagePack (its C codec: JSON of the same took 1.7 s and 400 MB at
# 10k papers): plain data, bytes, tuples (every array decodes as a tuple), dates, safe-HTML
# strings, dicts with any keys, and the dataclasses a memo names (`types`); nothing else decodes.
_BASE_TYPES = (Listing, Entry, Problem)
_DATE, _RECORD, _MARKUP = 1, 2, 3  # MessagePack extension codes


def _pack_default(value):
    if isinstance(value, Markup):
        return msgpack.ExtType(_MARKUP, str(value).encode("utf-8", "surrogatepass"))
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return msgpack.ExtType(_DATE, value.isoformat().encode("ascii"))
    if is_dataclass(value) and not isinstance(value, type):
        values = [getattr(value, f.name) for f in fields(value)]
        return msgpack.ExtType(_RECORD, _packb([type(value).__name__, values]))
    raise TypeError(f"a cache memo cannot hold {type(value).__name__}")


def dump_chunks(memo: dict, to_keep=None):
    """`memo` as MessagePack, a key and value at a time, so a large memo is never whole in
    memory as bytes; each value as `to_keep(key, value)` gives it, if given (`Memo`'s codec)."""
    packer = msgpack.Packer(default=_pack_default, strict_types=True, use_bin_type=True)
    yield packer.pack_map_header(len(memo))
    for key, value in memo.items():
        yield packer.pack(key) + packer.pack(value if to_keep is None else to_keep(key, value))


def loads(data: bytes, types: tuple[type, ...] = ()):
    """What `dump_chunks` made, or None if it is not that, or holds a record not of `types` (or
    the model's) or with other fields than its class has."""
    return decoder(types)(data)


def decoder(types: tuple[type, ...] = ()):
    """`loads` for `types`, made once for many values (a packed memo's, `Memo`)."""
    records = {t.__name__: (t, tuple(f.name for f in fields(t))) for t in _BASE_TYPES + tuple(types)}
    markup = str.__new__
    dates: dict[bytes, dt.date] = {}  # a memo holds few dates, many times over

    def ext(code: int, data: bytes):
        if code == _DATE:
            day = dates.get(data)
            if day is None:
                day = dates[data] = dt.date.fromisoformat(data.decode("ascii"))
            return day
        if code == _MARKUP:  # what Markup(s) makes of a str, without its checks for other types
            return markup(Markup, data.decode("utf-8", "surrogatepass"))
        if code == _RECORD:
            name, values = unpack(data)
            cls, names = records.get(name, (None, ()))
            if cls is None or not isinstance(values, tuple) or len(values) != len(names):
                raise ValueError(f"not a cache record: {name!r}")
            return made(cls, dict(zip(names, values)))
        raise ValueError(f"not a cache value (extension {code})")

    def unpack(data: bytes):
        return msgpack.unpackb(data, ext_hook=ext, use_list=False, strict_map_key=False, raw=False)

    def decode(data: bytes):
        try:
            return unpack(data)
        except (ValueError, TypeError, RecursionError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
                UnicodeDecodeError):
            return None
    return decode


def record_path(cache_dir: Path, out: Path) -> Path:
    return cache_dir / "builds" / f"{urls.folder_key(out)}.json"


def load_record(cache_dir: Path, out: Path) -> Record | None:
    """The record of `out`'s last build, or None (no cache, another version's, a damaged one,
    or one not signed by this user's key)."""
    data = read_signed(record_path(cache_dir, out))
    if data is None:
        return None
    try:
        data = _json_loads(data)
        if data.pop("version") != RECORD_VERSION or data.pop("out") != str(out.absolute()):
            return None
        record = Record(**data)
        if not (isinstance(record.fingerprint, str) and isinstance(record.manifest, dict)
                and isinstance(record.report, dict) and isinstance(record.problems, list)
                and isinstance(record.notes, list) and isinstance(record.renders, dict)):
            return None
        record.problem_list()  # every problem must be one
        return record
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def save_record(cache_dir: Path, out: Path, record: Record) -> None:
    try:
        write_signed(record_path(cache_dir, out),
                     compact({"version": RECORD_VERSION, "out": str(out.absolute()), **_shallow(record)}))
    except OSError:
        pass  # a cache that cannot be written only costs time next build


def _json_loads(data: bytes):
    """JSON read by orjson, or by the json module where orjson refuses it (a lone surrogate, which
    `compact` writes through the json module)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8", "surrogatepass"))


def _shallow(record: Record) -> dict:
    # Its fields are already plain JSON values: no deep copy of an 11k-file manifest (asdict).
    return {f.name: getattr(record, f.name) for f in fields(record)}


def forget(cache_dir: Path, out: Path) -> None:
    """Drop `out`'s record: its folder is about to change in a way the record does not describe."""
    try:
        record_path(cache_dir, out).unlink()
    except OSError:
        pass


def intact(out: Path, manifest: dict[str, list]) -> bool:
    """Whether `out` holds every file of `manifest`, each with its recorded size and modification
    time (as make and rsync judge a file unchanged). Other files are the user's: they are kept
    by every build, so they do not make the output out of date."""
    seen = 0
    stack = [(out, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return False
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), rel + "/"))
                continue
            expected = manifest.get(rel)
            if expected is None:
                continue
            if not as_recorded(entry.path, expected):
                return False
            seen += 1
    return seen == len(manifest)


class RenderCache:
    """Which pages need rendering. A page's render key digests everything its bytes depend on:
    the theme (templates, settings, sitegen code and library versions: `theme`) and the page
    record itself (path, template, and the whole view: `render_record`), or, for a page made from a few
    smaller records (a paper's page: `PaperParts.inputs`), those records. Site-wide
    navigation, related papers and neighbours are part of the view or of its records, so they
    are recomputed every build and a page whose neighbours changed gets a new key. Equal keys
    mean equal bytes, so a page whose key is the one the published file was rendered from is
    kept as published, not rendered."""

    def __init__(self, theme: str, previous: dict[str, str] | None = None):
        self.theme = theme.encode()
        self.previous = previous or {}
        self.keys: dict[str, str] = {}  # this build's keys, for the next build's record

    def unchanged(self, path: str, record: bytes) -> bool:
        """Whether `path` was last rendered from the same record (`render_record`), and remember this
        build's key."""
        digest = hashlib.blake2b(self.theme, digest_size=16)
        digest.update(record)
        self.keys[path] = key = digest.hexdigest()
        return self.previous.get(path) == key


def pickled(*inputs) -> bytes:
    """A page's record as bytes, as a render helper is sent it (and an email's render key)."""
    return pickle.dumps(inputs, protocol=5)


def render_record(*inputs) -> bytes:
    """What a page's render key digests: its record (or the records it is made from) as
    `jsonio.record_bytes` makes them (pickling every page for its key was 0.5-0.8 s of a 10k
    add-a-day; JSON takes about half that)."""
    return record_bytes(inputs)


def theme_identity(config_repr: str, templates) -> str:
    """What every rendered page depends on beyond its own record: code, settings, templates (a
    folder, or the folders searched in order)."""
    fp = Fingerprint()
    fp.add("code", code_identity())
    fp.add("config", config_repr.encode())
    for n, folder in enumerate([templates] if isinstance(templates, Path) else templates):
        fp.add_tree(f"templates{n}", folder)
    return fp.hexdigest()


MEMO_ADDITIONS = 8  # a memo is saved whole again after this many additions...
MEMO_STALE = 0.25  # ...or when more than this share of what it holds went unused


def memo_path(cache_dir: Path, name: str, addition: int = 0) -> Path:
    """A memo (or any cache file made by the code) is valid for one version of the code and
    libraries: its name says which. What later builds added to a memo is kept beside it, numbered."""
    code = hashlib.blake2b(code_identity(), digest_size=8).hexdigest()
    return cache_dir / (f"{name}-{code}.msgpack" if not addition else f"{name}-{code}+{addition}.msgpack")


def cache_files(cache_dir: Path, names) -> list[Path]:
    """The files of the memos and kept files `names` (as `load_memo` and `load_kept` read
    them, in that order): what a `ReadAhead` is given."""
    return [path for name in names for path in _memo_parts(cache_dir, name)]


def _memo_parts(cache_dir: Path, name: str) -> list[Path]:
    """The saved memo, then each addition in order, up to the first one missing."""
    parts, n = [], 0
    while (path := memo_path(cache_dir, name, n)).is_file():
        parts.append(path)
        n += 1
    return parts


def load_memo(cache_dir: Path, name: str, types: tuple[type, ...] = (), read=read_signed) -> dict:
    """A dict earlier builds saved (the memo and what later builds added to it), or {} if there
    is none, or any part is damaged, unsigned or holds other than plain data and `types`. Memos
    of other code versions are left for `save_memo` to remove. `read` reads a signed file
    (`read_signed`, or a `ReadAhead`'s `take`)."""
    memo: dict = {}
    for path in _memo_parts(cache_dir, name):
        data = read(path)
        part = loads(data, types) if data is not None else None
        if not isinstance(part, dict):
            return {}
        memo.update(part)
    return memo


def memo_keys(memo: dict) -> frozenset[int]:
    """What `save_memo` needs to know of a memo as loaded: the hash of each key (not the keys,
    which would keep their text alive through the build)."""
    return frozenset(map(hash, memo))


def save_memo(cache_dir: Path, name: str, memo: dict, known: frozenset[int] | None = None, to_keep=None) -> None:
    """Keep `memo` (what this build used) for the next build. With `known` (`memo_keys` of the
    memo as `load_memo` gave it), only the entries it lacked are written, as an addition, unless
    too many additions piled up or too much of what is kept went unused: then the memo is saved
    whole, holding only what this build used, so the cache does not grow without end. Nothing
    known beside saved parts means they could not be read (damaged): the memo is saved whole,
    replacing them, rather than added to parts no build can read. `to_keep` (a memo's codec)
    makes what is written of each value, so only what is written is made: an addition is a
    day's texts, not the archive's."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        parts = _memo_parts(cache_dir, name)
        if known and 0 < len(parts) < MEMO_ADDITIONS:
            hashes = [hash(k) for k in memo]
            unused = len(known.difference(hashes))
            if unused <= MEMO_STALE * len(known):
                new = {k: memo[k] for k, h in zip(memo, hashes) if h not in known}
                if new:
                    write_signed(memo_path(cache_dir, name, len(parts)), dump_chunks(new, to_keep))
                return
        write_versioned(cache_dir, name, dump_chunks(memo, to_keep))
    except OSError:
        pass


def write_versioned(cache_dir: Path, name: str, data) -> None:
    """`data` (as `write_signed` takes it) as the cache file `name` of this code version
    (`memo_path`), and the files of that name other versions left (and their additions)
    removed. OSError if it cannot be written."""
    path = memo_path(cache_dir, name)
    write_signed(path, data)
    for stale in cache_dir.glob(f"{name}-*"):
        if stale != path and stale.suffix in (".msgpack", ".json", ".pickle"):
            stale.unlink()


def load_kept(cache_dir: Path | None, name: str, types: tuple[type, ...] = (), read=read_signed):
    """What `keep` saved as `name` for this code version, or None (none, damaged, unsigned, or
    holding other than plain data and `types`). `read` as for `load_memo`."""
    data = _read_kept(cache_dir, name, read)
    return loads(data, types) if data is not None else None


def keep(cache_dir: Path | None, name: str, value) -> None:
    """Keep `value` (plain data and dataclasses, as a memo holds) for the next build, replacing
    what was kept as `name`; nothing if there is no cache folder or it cannot be written."""
    _write_kept(cache_dir, name, lambda: _packb(value))


def keep_buffers(cache_dir: Path | None, name: str, header: dict, buffers: list) -> None:
    """Keep large arrays for the next build as `keep` keeps plain data: `header` (plain data) and
    then each buffer's bytes as they are (no copy made: the related papers' first tier is 75 MB
    at 100k papers), for `load_buffers`."""
    def chunks() -> list:
        head = _packb({"header": header, "lengths": [memoryview(b).nbytes for b in buffers]})
        return [b"%016x" % len(head), head, *buffers]
    _write_kept(cache_dir, name, chunks)


def load_buffers(cache_dir: Path | None, name: str) -> tuple[dict, list[memoryview]] | None:
    """What `keep_buffers` kept as `name` for this code version: the header and each buffer
    (read-only views of the file's bytes), or None (none, damaged or unsigned)."""
    data = _read_kept(cache_dir, name)
    try:
        size = int(data[:16], 16)
        kept = loads(data[16:16 + size])
        at, buffers, view = 16 + size, [], memoryview(data)
        for length in kept["lengths"]:
            buffers.append(view[at:at + length])
            at += length
        if at != len(data) or not isinstance(kept["header"], dict):
            return None
        return kept["header"], buffers
    except (TypeError, ValueError, KeyError, msgpack.UnpackException):
        return None


def _packb(value) -> bytes:
    return msgpack.packb(value, default=_pack_default, strict_types=True, use_bin_type=True)


def _read_kept(cache_dir: Path | None, name: str, read=read_signed) -> bytes | None:
    return read(memo_path(cache_dir, name)) if cache_dir is not None else None


def _write_kept(cache_dir: Path | None, name: str, data) -> None:
    """`data()` (bytes or chunks, as `write_signed` takes them) as the kept file `name`; nothing
    without a cache folder, or if it cannot be written (a cache only saves time)."""
    if cache_dir is None:
        return
    try:
        write_versioned(cache_dir, name, data())
    except OSError:
        pass


class Memo:
    """One build's use of a memo: `known` is what earlier builds saved (`load_memo`; {} with no
    cache folder), `used` gets what this build uses, and `save` keeps that for the next build
    when it differs. `release`, once `used` is complete, lets go of `known` (at 10k papers the
    paper-text memo is 55 MB), keeping only what `save` needs.

    A `codec` (to_keep, from_kept) turns each value into what the file holds and back, given
    its key: for the paper-text memo, which left out what follows from its key, is a third of
    the size (`views.text_to_keep`). A value it cannot read back is made again.

    A `packed` memo keeps each value as its own MessagePack bytes, in the file and in `known`
    and `used`, and decodes one only when the build asks for it: for a memo of which a build
    may use a small part. The related papers' stems are one: a build that keeps the first tier
    stems only the recent tier's papers, and decoding all 10k papers' stems took 0.14 s and
    100 MB to use 800 of them. A value that does not decode is made again."""

    def __init__(self, cache_dir: Path | None, name: str, types: tuple[type, ...] = (), read=read_signed,
                 packed: bool = False, codec=None):
        self.cache_dir, self.name = cache_dir, name
        self.known: dict = load_memo(cache_dir, name, () if packed else types, read) if cache_dir is not None else {}
        self._codec = codec  # (to_keep(key, value), from_kept(key, kept)): what the file holds of each value
        if codec is not None:
            from_kept = codec[1]
            self.known = {k: value for k, kept in self.known.items() if (value := from_kept(k, kept)) is not None}
        self.used: dict = {}
        self._released: tuple[bool, frozenset[int]] | None = None  # (changed, memo_keys(known))
        self._decode = decoder(types) if packed else None

    def remembered(self, fn, key=lambda *args: args):
        """`fn` (a pure stage function) remembered through this memo: the answer an earlier
        build saved for the same `key(*args)`, or one this build made, is reused; every answer
        this build uses goes into `used`. The stage itself never sees the memo."""
        def call(*args):
            k = key(*args)
            stored = self._stored(k)
            value = self._value(stored)
            if value is None:
                value = fn(*args)
                stored = value if self._decode is None else _packb(value)
            self.used[k] = stored
            return value
        return call

    def peek(self, key):
        """What an earlier build saved (or this one made) for `key`, or None; nothing recorded."""
        return self._value(self._stored(key))

    def _stored(self, key):
        found = self.used.get(key)
        return found if found is not None else self.known.get(key)

    def _value(self, stored):
        if self._decode is None or stored is None:
            return stored
        return self._decode(stored) if isinstance(stored, bytes) else None

    def release(self) -> None:
        if self._released is None:
            self._released = (self.used.keys() != self.known.keys(), memo_keys(self.known))
            self.known = {}

    def save(self) -> None:
        self.release()  # `used` is complete by now
        changed, known = self._released
        if self.cache_dir is not None and changed:
            save_memo(self.cache_dir, self.name, self.used, known, self._codec[0] if self._codec else None)
