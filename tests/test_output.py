"""The write stage: one writer, safe paths, atomic swap, refusing foreign folders, the lock."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from sitegen import output


@pytest.mark.parametrize("path", ["../etc/passwd", "/abs.html", "a//b.html", "./x.html", "a/../../b", "a\\b.html", "", "p/\u00e9.html"])
def test_unsafe_paths_are_refused(path):
    with pytest.raises(output.OutputError, match="unsafe output path"):
        output.check_path(path)


def test_two_outputs_cannot_claim_one_path():
    w = output.MemoryWriter()
    w.add("index.html", b"a", "page index")
    with pytest.raises(output.OutputError, match="two outputs claim index.html: page index and page paper"):
        w.add("index.html", b"b", "page paper")


def test_publish_swaps_the_new_site_in(tmp_path):
    out = tmp_path / "_site"
    with output.publish(out) as w:
        w.add("index.html", b"one", "t")
    with output.publish(out) as w:
        w.add("other.html", b"two", "t")
    assert sorted(p.name for p in out.iterdir()) == [".sitegen", "other.html"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("._site.")] == ["._site.lock"]


def test_failed_build_leaves_the_previous_site_untouched(tmp_path):
    out = tmp_path / "_site"
    with output.publish(out) as w:
        w.add("index.html", b"old", "t")
    with pytest.raises(RuntimeError):
        with output.publish(out) as w:
            w.add("index.html", b"new", "t")
            raise RuntimeError("template exploded")
    assert (out / "index.html").read_bytes() == b"old"
    assert not list(tmp_path.glob("._site.staging-*"))


def test_a_folder_of_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(output.OutputError, match="holds files that sitegen did not write"):
        with output.publish(out) as w:
            w.add("index.html", b"x", "t")
    assert (out / "precious.txt").read_text() == "keep me"


def test_an_empty_folder_may_be_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    with output.publish(out) as w:
        w.add("index.html", b"x", "t")
    assert (out / "index.html").is_file()


def test_a_second_build_waits_for_the_first(tmp_path):
    out = tmp_path / "_site"
    events = []
    first_in = threading.Event()

    def slow():
        with output.publish(out) as w:
            events.append("first in")
            first_in.set()
            time.sleep(0.5)
            w.add("index.html", b"first", "t")
            events.append("first out")

    t = threading.Thread(target=slow)
    t.start()
    assert first_in.wait(10)
    with output.publish(out) as w:
        events.append("second in")
        w.add("index.html", b"second", "t")
    t.join()
    assert events == ["first in", "first out", "second in"]
    assert (out / "index.html").read_bytes() == b"second"


def test_lock_gives_up_with_a_clear_message(tmp_path):
    out = tmp_path / "_site"
    with output.locked(out):
        with pytest.raises(output.OutputError, match="another sitegen build .* is still running"):
            with output.locked(out, wait_seconds=0.2):
                pass


def test_the_users_files_in_the_output_are_kept(tmp_path):
    """A CNAME or notes put into a built site survive every later build; files sitegen wrote
    and no longer writes are removed."""
    out = tmp_path / "_site"
    with output.publish(out) as w:
        w.add("index.html", b"one", "t")
        w.add("old/page.html", b"gone next time", "t")
    (out / "CNAME").write_text("digest.example.org\n")
    (out / "notes").mkdir()
    (out / "notes" / "todo.md").write_text("mine")
    with output.publish(out) as w:
        w.add("index.html", b"two", "t")
    assert (out / "CNAME").read_text() == "digest.example.org\n"
    assert (out / "notes" / "todo.md").read_text() == "mine"
    assert (out / "index.html").read_bytes() == b"two"
    assert not (out / "old" / "page.html").exists()
    assert output.user_files(out) == ["CNAME", "notes/todo.md"]


def test_a_user_file_where_sitegen_now_writes_is_refused_and_nothing_replaced(tmp_path):
    out = tmp_path / "_site"
    with output.publish(out) as w:
        w.add("index.html", b"one", "t")
    (out / "about.html").write_text("my page")
    with pytest.raises(output.OutputError, match="about.html"):
        with output.publish(out) as w:
            w.add("index.html", b"two", "t")
            w.add("about.html", b"generated", "t")
    assert (out / "about.html").read_text() == "my page" and (out / "index.html").read_bytes() == b"one"


def test_a_build_killed_mid_swap_is_recovered_by_the_next(tmp_path):
    """Killed between moving the old site aside and moving the new one in: no `_site`, only
    `._site.old-PID`. The next build puts the old one back first (and keeps the user's files)."""
    out = tmp_path / "_site"
    with output.publish(out) as w:
        w.add("index.html", b"one", "t")
    (out / "CNAME").write_text("x.org")
    out.rename(tmp_path / "._site.old-999")
    output.clear_leftovers(out)
    assert (out / "index.html").read_bytes() == b"one" and (out / "CNAME").read_text() == "x.org"
    assert not list(tmp_path.glob("._site.old-*"))


def _site_with_user_files(out: Path) -> dict[str, list]:
    """A published site (with the user's CNAME beside it); its manifest, as the cache keeps it."""
    with output.publish(out) as w:
        w.add("index.html", b"one", "t")
        w.add("papers/a.html", b"paper a", "t")
        w.add("papers/b.html", b"paper b", "t")
        w.add("old/gone.html", b"no longer written", "t")
    (out / "CNAME").write_text("x.org")
    return w.manifest


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_a_patched_site_touches_only_what_changed(tmp_path):
    """Given the published site's manifest, publish patches it in place: a changed file is
    replaced, a new one added, one no longer written removed (and its emptied folder), and an
    unchanged file is not touched (same inode, same time); the user's file stays."""
    out = tmp_path / "_site"
    manifest = _site_with_user_files(out)
    kept = _stamp(out / "papers" / "a.html")
    with output.publish(out, previous=manifest) as w:
        assert w.in_place
        w.add("index.html", b"two", "t")
        w.add("papers/a.html", b"paper a", "t")
        w.add("papers/b.html", b"paper b, edited", "t")
        w.add("papers/c.html", b"paper c", "t")
    assert _stamp(out / "papers" / "a.html") == kept
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        "index.html": b"two", "papers/a.html": b"paper a", "papers/b.html": b"paper b, edited",
        "papers/c.html": b"paper c", "CNAME": b"x.org", ".sitegen": (out / ".sitegen").read_bytes()}
    assert not (out / "old").exists()
    assert output.written_by_sitegen(out) == {"index.html", "papers/a.html", "papers/b.html", "papers/c.html", ".sitegen"}
    assert w.manifest["papers/a.html"] == manifest["papers/a.html"] and w.unchanged == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["._site.lock", "_site"]  # no staging folder or journal left


def test_a_patch_that_would_overwrite_a_users_file_is_refused_and_nothing_replaced(tmp_path):
    out = tmp_path / "_site"
    manifest = _site_with_user_files(out)
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(output.OutputError, match="CNAME"):
        with output.publish(out, previous=manifest) as w:
            w.add("index.html", b"two", "t")
            w.add("CNAME", b"generated", "t")
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["._site.lock", "_site"]


class Killed(BaseException):
    """The process killed at this point (nothing after it runs, in the build's own code)."""


@pytest.mark.parametrize("moves", [0, 1, 2, 3, 4, 5])
def test_a_patch_killed_while_moving_files_in_is_finished_by_the_next_build(tmp_path, monkeypatch, moves):
    """Killed after `moves` files were moved in: until the next build the marker names every
    file sitegen wrote, old and new, so none is taken for the user's; the next build's
    `clear_leftovers` completes the patch from its journal."""
    out = tmp_path / "_site"
    manifest = _site_with_user_files(out)
    real, done = os.replace, []

    def replace(src, dst):
        if Path(dst).parent != tmp_path and len(done) >= moves:  # a move into the site, not the journal's
            raise Killed
        done.append(dst)
        return real(src, dst)

    with pytest.raises(Killed):
        with output.publish(out, previous=manifest) as w:
            w.add("index.html", b"two", "t")
            w.add("papers/a.html", b"paper a", "t")
            w.add("papers/b.html", b"paper b, edited", "t")
            w.add("papers/c.html", b"paper c", "t")
            monkeypatch.setattr(output.os, "replace", replace)
    monkeypatch.setattr(output.os, "replace", real)
    assert output.user_files(out) == ["CNAME"]  # every file sitegen wrote, old or new, is known as its own
    output.clear_leftovers(out)
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".sitegen"} == {
        "index.html": b"two", "papers/a.html": b"paper a", "papers/b.html": b"paper b, edited",
        "papers/c.html": b"paper c", "CNAME": b"x.org"}
    assert output.written_by_sitegen(out) == {"index.html", "papers/a.html", "papers/b.html", "papers/c.html", ".sitegen"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["._site.lock", "_site"]


def test_an_output_folder_that_is_a_mount_point_is_refused(monkeypatch, tmp_path):
    out = tmp_path / "mnt"
    out.mkdir()
    monkeypatch.setattr(output.os.path, "ismount", lambda p: str(p) == str(out))
    with pytest.raises(output.OutputError, match="mount point"):
        with output.publish(out) as w:
            w.add("index.html", b"x", "t")


def test_what_builds_write_is_the_output_and_its_siblings_of_a_build(tmp_path):
    from sitegen.output import written_by_builds

    out = tmp_path / "_site"
    for path in (out, out / "index.html", out / "papers" / "a.html", tmp_path / "._site.staging-12" / "x.html",
                 tmp_path / "._site.old-3", tmp_path / "._site.commit-4", tmp_path / "._site.lock"):
        assert written_by_builds(path, out), path
    for path in (tmp_path / "day.txt", tmp_path / "_site2" / "x", tmp_path / ".git" / "HEAD", tmp_path / "._site",
                 tmp_path.parent / "elsewhere", out.parent):
        assert not written_by_builds(path, out), path
