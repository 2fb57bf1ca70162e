"""The write stage: one writer, safe paths, atomic swap, refusing foreign folders, the lock."""
from __future__ import annotations

import threading
import time

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
