"""The pipeline's plumbing: work handed to forked workers, and what it must give back."""
from __future__ import annotations

import os
import pickle
import time

import pytest

from sitegen import config as config_mod
from sitegen.build import load_catalog
from sitegen.errors import BuildError
from sitegen.workers import ForkedJob, Then, received
from sitegen.site import assemble_papers, related_papers

from conftest import ROOT


def _run(fn, *args):
    """A job as the build starts one: forked at once, sent its arguments, told there is no more."""
    job = ForkedJob(fn)
    job.send(*args)
    job.finish()
    return job


def _double(items, x):
    return 2 * x


def _fail(items, message):
    raise ValueError(message)


def _die(items):
    os._exit(3)


def _sleep_then_mark(items, path):
    time.sleep(1.0)
    open(path, "w").close()


def test_a_forked_job_returns_its_result_and_raises_its_error():
    assert _run(_double, 21).result() == 42
    with pytest.raises(ValueError, match="broken on purpose"):
        _run(_fail, "broken on purpose").result()


def test_a_worker_that_dies_is_a_build_error_not_a_hang():
    with pytest.raises(BuildError, match=r"stopped unexpectedly \(exit code 3\)"):
        _run(_die).result()


def _answer_then_save(items, go, saved):
    def save():
        while not go.exists():  # held until the test says so: the result must not wait for this
            time.sleep(0.01)
        saved.write_text("memo")
    return Then(42, save)


def test_a_worker_hands_back_its_result_before_its_after_work_and_join_waits_for_that(tmp_path):
    """The related-papers worker saves its memo after handing back its result (`Then`): the
    build gets the result at once, and `join` at the end of the build waits for the save."""
    job = _run(_answer_then_save, tmp_path / "go", tmp_path / "saved")
    assert job.result() == 42
    assert not (tmp_path / "saved").exists()
    (tmp_path / "go").touch()
    job.join()
    assert (tmp_path / "saved").read_text() == "memo"


def test_cancel_kills_the_worker_before_it_does_anything_more(tmp_path):
    job = _run(_sleep_then_mark, tmp_path / "late")
    job.cancel()
    time.sleep(1.5)  # a worker left running would have written the file by now
    assert not (tmp_path / "late").exists()


def _large_result(items, size):
    return b"x" * size


def test_a_worker_with_a_large_result_exits_before_the_result_is_read():
    """The index worker's result is megabytes; through a pipe the worker would wait, holding its
    memory, until the build read it at the end. It is written to a file instead: the worker is
    gone as soon as it is done."""
    job = _run(_large_result, 20_000_000)
    deadline = time.monotonic() + 30
    while job._proc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not job._proc.is_alive()
    assert job.result() == b"x" * 20_000_000


def _unpicklable_error(items):
    class Local(Exception):
        pass
    raise Local("a local exception class")


def test_an_error_that_does_not_pickle_still_reports_its_message():
    with pytest.raises(BuildError, match="a local exception class"):
        _run(_unpicklable_error).result()


def _collect(items, prefix):
    return [prefix + item for item in received(items)]


def test_a_job_takes_what_fits_and_returns_at_the_end():
    """The render helper's shape: forked early, given its settings, then offered work; what
    does not fit in its pipe is refused at once (the build renders it itself), never waited on."""
    job = ForkedJob(_collect)
    job.send("x")
    assert [s for s in ("a", "b", "c") if job.offer(s)] == ["a", "b", "c"]
    assert not job.offer("y" * (1 << 20))  # more than the pipe is counted on to hold
    job.finish()
    assert job.result() == ["xa", "xb", "xc"]


def _slow_count(items):
    total = 0
    for chunk in received(items):
        time.sleep(0.2)  # a worker busy with each slice before it reads the next
        total += len(chunk)
    return total


def _slices(items, start):
    return [b"d" * 1000 for _ in items]  # 1 MB a slice of 1,000: the pipe holds one at most


def _broken_slices(items, start):
    if start:
        raise ValueError("no second slice")
    return list(items)


def test_a_job_fed_behind_lets_the_build_go_on_and_still_gets_every_slice():
    """The index worker's shape: sent its documents a slice at a time by a thread, so the build
    does not wait while the worker takes each one; `result` waits for the sending and gives
    the worker's answer, and what the sending raised is the build's error."""
    job = ForkedJob(_slow_count)
    job.send()
    started = time.monotonic()
    job.feed(range(5_000), _slices, 1_000, behind=True)
    assert time.monotonic() - started < 0.5  # five slices the worker takes 0.2 s each
    assert job.result() == 5_000 and time.monotonic() - started >= 0.8
    failing = ForkedJob(_slow_count)
    failing.send()
    failing.feed(range(5_000), _broken_slices, 1_000, behind=True)
    with pytest.raises(ValueError, match="no second slice"):
        failing.result()
    unread = ForkedJob(_slow_count)  # a failed build cancels a worker its thread is still feeding
    unread.send()
    unread.feed(range(50_000), _slices, 1_000, behind=True)
    unread.cancel()
    assert unread._feeder is None


def _fail_on_first(items):
    pickle.loads(items.recv_bytes())
    raise ValueError("broken mid-stream")


def test_a_worker_that_fails_midway_is_reported_and_never_blocks_the_build():
    job = ForkedJob(_fail_on_first)
    job.send()
    started = time.monotonic()
    taken = sum(job.offer(b"z" * 10_000) for _ in range(2_000))  # 20 MB: far more than the pipe
    assert taken < 2_000 and time.monotonic() - started < 20
    job.finish()
    with pytest.raises(ValueError, match="broken mid-stream"):
        job.result()


_STATE = {"size": "small"}


def _state_and_sum(items, numbers):
    return _STATE["size"], sum(numbers)


def test_a_job_is_forked_at_once_and_given_its_inputs_later():
    """The workers are forked before the build's data exists (so they never hold a copy of
    it) and are sent their inputs later: a worker sees what it was sent, not what came after."""
    job = ForkedJob(_state_and_sum)
    _STATE["size"] = "grown after the fork"
    try:
        job.send(range(5))
        job.finish()
        assert job.result() == ("small", 10)
    finally:
        _STATE["size"] = "small"
    failing = _run(_fail, "sent, then broken")
    with pytest.raises(ValueError, match="sent, then broken"):
        failing.result()


def test_a_job_cancelled_before_its_inputs_does_nothing(tmp_path):
    job = ForkedJob(_sleep_then_mark)
    job.cancel()
    job.send(tmp_path / "late")  # a failed build may still reach this: nothing happens
    time.sleep(1.5)
    assert not (tmp_path / "late").exists()


def test_a_worker_sees_its_inbox_end_though_later_workers_were_forked(tmp_path):
    """No worker keeps the build's end of any job's inbox (its own or an earlier job's), so a
    worker whose build closed its inbox without sending anything ends at once."""
    first = ForkedJob(_sleep_then_mark)
    later = ForkedJob(_sleep_then_mark)
    try:
        first._inbox.close()  # the build's end, closed with nothing sent
        first._inbox = None
        first._proc.join(10)
        assert first._proc.exitcode == 0
        assert not (tmp_path / "late").exists()
    finally:
        first.cancel()
        later.cancel()


def _text_memo(catalog, cfg) -> dict:
    """The paper-text memo a build leaves: (title, abstract, excerpt length) -> PaperText."""
    from sitegen import cache
    from sitegen.site import paper_text

    memo = cache.Memo(None, "paper-text")
    assemble_papers(catalog, cfg, memo.remembered(paper_text))
    return memo.used


def test_the_paper_text_memo_keeps_what_does_not_follow_from_its_key(tmp_path):
    """The paper-text memo's file leaves out each part of a text that follows from its key and
    the other parts (`views.text_to_keep`), and reads back every text as made: the seeds' and
    texts with TeX, links, markup, quotes, a short abstract and none."""
    import dataclasses
    import html

    from markupsafe import Markup

    from sitegen import cache
    from sitegen import text as text_module
    from sitegen.site import paper_text
    from sitegen.views import PaperText, text_from_kept, text_to_keep

    cfg = config_mod.load(None, cwd=ROOT)
    catalog = load_catalog(cfg, [str(ROOT / "seeds")], {})
    made = dict(_text_memo(catalog, cfg))
    odd = [("Scaling $O(n^2)$ attention <fast>", "We show *that* $x^2$ & <b>more</b> at https://example.org/a?b=1."),
           ("Quotes \"and\" 'marks'", 'An abstract with "quotes", an ampersand & and a <tag>. ' * 8),
           ("Short", "Too short to cut."), ("Title only", ""), ("Spaces", "Two  spaces\nand a line " * 30)]
    for title, abstract in odd:
        made[(title, abstract, cfg.excerpt_length)] = paper_text(title, abstract, cfg.excerpt_length)
    memo = cache.Memo(tmp_path, "paper-text", codec=(text_to_keep, text_from_kept))
    memo.used.update(made)
    memo.save()
    again = cache.Memo(tmp_path, "paper-text", codec=(text_to_keep, text_from_kept))
    assert again.known == made
    for key, text in again.known.items():
        assert type(text) is PaperText and type(text.title_html) is Markup and type(text.abstract_html) is Markup
        assert dataclasses.astuple(text) == dataclasses.astuple(made[key])
    kept = cache.load_memo(tmp_path, "paper-text")
    left_out = sum(v[1] is None for v in kept.values()), sum(type(v[4]) is int for v in kept.values())
    assert left_out[0] > 0.8 * len(kept) and left_out[1] > 0.8 * len(kept)  # most abstracts: plain as given, cut
    assert again.known[("Title only", "", cfg.excerpt_length)].abstract_text == ""
    # An abstract that is one plain paragraph holds no copy of itself as HTML until a page asks.
    for key, text in made.items():
        assert text.abstract_html == text_module.block_html(key[1])
        assert (text.own_html is None) == (text.abstract_html == f"<p>{html.escape(text.abstract_text, quote=False)}</p>")
    assert sum(text.own_html is None for text in made.values()) > 0.6 * len(made)  # the seeds: 351 of 513
    assert text_from_kept(("t", "a", 300), (None, None, None, None, 10**6, "")) is None  # an opening too long
    assert text_from_kept(("t", "a", 300), ("x",)) is None


def test_the_related_worker_sent_the_texts_in_slices_finds_what_related_papers_finds(tmp_path):
    """The build's related-papers worker is forked before the catalogue exists and sent each
    paper's text a slice at a time, some plain from the memo and some as listed."""
    from sitegen.jobs import RelatedJob

    cfg = config_mod.load(None, cwd=ROOT)
    catalog = load_catalog(cfg, [str(ROOT / "seeds")], {})
    fresh = related_papers(catalog, cfg)
    texts = _text_memo(catalog, cfg)
    half = dict(list(texts.items())[: len(texts) // 2])  # a memo that knows half the papers
    job = RelatedJob(tmp_path / "cache")
    job.CHUNK = 100
    job.send(catalog, cfg, half.get)
    assert job.result() == fresh
    job.join()  # the worker saves its stems after handing back its result (`Then`)
    assert (tmp_path / "cache").is_dir()  # the worker kept its stems for the next build


def test_related_papers_from_the_memos_equal_those_computed_afresh():
    """The build finds related papers in a worker that reuses the plain texts of the
    paper-text memo and the stems of its own memo; with or without them the lists are the same."""
    cfg = config_mod.load(None, cwd=ROOT)
    catalog = load_catalog(cfg, [str(ROOT / "seeds")], {})
    fresh = related_papers(catalog, cfg)
    memo = _text_memo(catalog, cfg)
    assert related_papers(catalog, cfg, memo.get) == fresh
    from sitegen import related
    from sitegen.jobs import stems_memo

    stems = stems_memo(None)
    assert related_papers(catalog, cfg, memo.get, stems.remembered(related.document_stems(), related.stem_key)) == fresh
    again = stems_memo(None)
    again.known = dict(stems.used)
    calls = []
    counted = related.document_stems()
    assert related_papers(catalog, cfg, memo.get, again.remembered(lambda t, a: calls.append(t) or counted(t, a),
                                                                   related.stem_key)) == fresh
    assert again.used == stems.used and calls == []  # every paper's stems came from the memo


def test_a_build_collects_garbage_less_often_and_restores_the_collector_after(tmp_path):
    """While a build runs, the cyclic garbage collector's thresholds are raised (its workers
    inherit them); after it, done or failed, they are what they were."""
    import gc

    from sitegen.build import QUIET, build
    from sitegen.workers import COLLECT_AFTER

    seen = []

    class Spy(type(QUIET)):
        def __call__(self, stage, total):
            seen.append(gc.get_threshold())
            return super().__call__(stage, total)

    before = gc.get_threshold()
    assert before != COLLECT_AFTER
    cfg = config_mod.load(None, cwd=ROOT)
    build(cfg, [str(ROOT / "seeds")], memory=True, progress=Spy())
    assert seen and set(seen) == {COLLECT_AFTER}
    assert gc.get_threshold() == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError):
        build(config_mod.load(None, cwd=tmp_path), [str(tmp_path / "empty")], memory=True)
    assert gc.get_threshold() == before


def test_building_again_in_one_process_frees_what_the_last_build_left(tmp_path):
    """`serve` builds again in its own process: what a build froze for speed is handed back to
    the collector, so the last build's cycles (its Jinja environment among them) are freed; they
    were kept for good, about 0.2 MB a build on the seeds."""
    import gc
    import weakref

    from sitegen import render
    from sitegen.build import build, theme_dirs

    cfg = config_mod.load(None, cwd=ROOT)
    build(cfg, [str(ROOT / "seeds")], out=tmp_path / "site", cache=None)
    assert gc.get_freeze_count() == 0
    last = weakref.ref(render.environment(theme_dirs(cfg)[0]))
    build(cfg, [str(ROOT / "seeds")], out=tmp_path / "site", cache=None)
    gc.collect()
    assert last() is None


def test_reading_the_catalogue_outside_a_build_freezes_nothing():
    """`sitegen check` and `sitegen email` read and assemble without building: nothing they
    make is kept from the collector (only a build freezes, and unfreezes at its end)."""
    import gc

    from sitegen.build import assemble_only, load_catalog

    cfg = config_mod.load(None, cwd=ROOT)
    load_catalog(cfg, [str(ROOT / "seeds")], {})
    assemble_only(cfg, [str(ROOT / "seeds")])
    assert gc.get_freeze_count() == 0
