"""Where work runs: a worker process forked at the start of a build, fed through a pipe, its
result handed back through a temporary file; and the garbage collector's settings for a build.

This is the process model, apart from what the workers do (`jobs`): the pipeline's stages never
see a pipe, a fork or a collector threshold.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
import pickle
import struct
import tempfile
import termios
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import BuildError
from .output import release_inherited_locks


class ForkedJob:
    """`fn(items, *args)` run in a worker forked at once, while this process goes on: `send`
    gives it `args`, then it is fed items through `items` (`put` waits for room in the pipe,
    `offer` never does) up to `finish`; `result()` waits for what it returns. The worker reads
    them with `received(items)`.

    Forked early, while this process is small, a worker holds only what it is sent. One forked
    late would inherit the whole build's memory and end up with a private copy of every page it
    or this process touches (CPython's reference counts write to every object read). The
    result (or the exception) comes back pickled into a temporary file: the worker writes it
    and exits at once, even if this process reads it much later (through a pipe, a large
    result would keep the worker, and all its memory, alive until then). The worker gives up
    the build's lock and dies with its parent; `cancel` kills it, so nothing it does outlives a
    failed build. Where fork is unavailable there is no worker (`forked` is False), and the
    caller does the work itself."""

    def __init__(self, fn):
        self._proc = self._inbox = self._spill = None
        self._capacity = 0
        self._feeder: threading.Thread | None = None  # sending items behind the build (`feed`)
        self._feed_error: BaseException | None = None
        self.cpu: float | None = None  # the worker's CPU seconds up to its result (`result`)
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self._results, sender = context.Pipe(duplex=False)
        self._spill = tempfile.TemporaryFile(prefix="sitegen-result-")
        inbox, self._inbox = context.Pipe(duplex=False)
        gc.freeze()  # see `_build`: the build's data stays out of the collector's sweeps
        _JOBS.add(self)
        self._proc = context.Process(target=_run_forked, args=(fn, sender, self._spill, inbox))
        self._proc.start()
        sender.close()
        inbox.close()
        self._widen_inbox()

    def _widen_inbox(self) -> None:
        """The pipe holds up to 1 MB (64 KB by default), so the worker has work queued while
        this process is busy elsewhere; `offer` sends only what fits."""
        fd = self._inbox.fileno()
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        except (OSError, AttributeError):
            pass  # a smaller pipe only means this process renders more itself
        try:
            self._capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        except (OSError, AttributeError):
            self._capacity = 0  # unknown: nothing is said to fit, and this process does the work

    def _queued(self) -> int:
        """Bytes sent to the worker that it has not read yet."""
        return struct.unpack("i", fcntl.ioctl(self._inbox.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]

    def _close_in_worker(self, own_spill) -> None:
        """In a worker just forked: let go of this job's ends that belong to the build's process
        (its own job's too), so that a worker waiting on its inbox sees it end when the build
        closes it, not when every later worker has exited too."""
        for end in (self._inbox, self._results):
            if end is not None:
                end.close()
        if self._spill is not None and self._spill is not own_spill:
            self._spill.close()

    @property
    def forked(self) -> bool:
        return self._proc is not None

    def _write(self, data: bytes) -> None:
        try:
            self._inbox.send_bytes(data)
        except OSError:  # the worker is gone: `result` says why
            self._inbox.close()
            self._inbox = None

    def send(self, *args) -> None:
        """The worker's arguments, before any item (sent as one: `_run_forked` reads them first)."""
        self.put(args)

    def put(self, item) -> None:
        """Send the worker `item`, waiting for room in the pipe if need be. If the worker is
        gone, nothing is sent: `result` says why."""
        if self._inbox is not None:
            self._write(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

    def offer(self, item) -> bool:
        """Send the worker `item` if it fits in the pipe beside what is queued, so this never
        waits for the worker; False if it does not fit (or the worker is gone), and the caller
        does the work itself. A pipe keeps data in page-sized buffers, and a write that does not
        fit in the last one's free space starts a new one, so the bytes it holds can be half
        its size: only that half is counted on."""
        if self._inbox is None or not self._capacity:
            return False
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if len(data) + _FRAME + self._queued() > self._capacity // 2:
                return False
        except OSError:
            return False
        self._write(data)
        return self._inbox is not None

    def feed(self, items, make, chunk: int, behind: bool = False) -> None:
        """Send `make(items[start:start + chunk], start)` for each slice of `items`, then
        `finish`: a large sequence goes to the worker a slice at a time, so neither process ever
        holds it all pickled. A slice waits in the pipe until the worker has read the one before,
        that is, until it has done with it what it does between reads.

        With `behind`, a thread sends the slices and this returns at once: the build goes on
        while the worker takes them, instead of waiting on each. `make` then runs in that
        thread, so it may read only what no one changes meanwhile (the papers' frozen
        records). `result` and `cancel` wait for the thread; what it raised, `result` raises."""
        if not behind or self._inbox is None:
            self._send_all(items, make, chunk)
            return
        self._feeder = threading.Thread(target=self._send_behind, args=(items, make, chunk), name="sitegen-feed",
                                        daemon=True)
        self._feeder.start()

    def _send_all(self, items, make, chunk: int) -> None:
        for start in range(0, len(items), chunk):
            self.put(make(items[start:start + chunk], start))
        self.finish()

    def _send_behind(self, items, make, chunk: int) -> None:
        """`_send_all` in the feeding thread: what it raises is kept for `result`, and the
        worker sees its inbox end without `finish`."""
        try:
            self._send_all(items, make, chunk)
        except BaseException as e:
            self._feed_error = e
            if self._inbox is not None:
                self._inbox.close()
                self._inbox = None

    def _fed(self) -> None:
        """Wait for the thread that sends items (`feed`), if there is one; raise what it raised."""
        if self._feeder is not None:
            self._feeder.join()
            self._feeder = None
        if self._feed_error is not None:
            error, self._feed_error = self._feed_error, None
            raise error

    def finish(self) -> None:
        """Tell the worker there is nothing more."""
        if self._inbox is not None:
            self.put(None)
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None

    def result(self):
        if self._proc is None:
            raise RuntimeError("no worker was forked: the caller does the work itself (see `forked`)")
        self._fed()
        try:
            self._results.recv()  # the worker's word that its outcome is in the file
            self._spill.seek(0)
            status, value, self.cpu = pickle.load(self._spill)
        except (EOFError, pickle.UnpicklingError):  # the worker died without a (whole) word
            status, value = None, None
        finally:
            self._results.close()
            self._spill.close()
        if status != "ok":
            self._proc.join()  # the pipe closes before the worker is reaped: its exit code comes after
        if status is None:
            raise BuildError(f"a build worker stopped unexpectedly (exit code {self._proc.exitcode}); "
                             f"the site was not written")
        if status == "error":
            raise value
        return value

    def join(self) -> None:
        """Wait for the worker to exit: after `result`, it may still be finishing what it does
        once its result is handed back (`Then`)."""
        if self._proc is not None:
            self._proc.join()

    def cancel(self) -> None:
        """A failed build neither waits for the worker nor lets it go on."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        if self._feeder is not None:  # its sending fails at once now that the worker is gone
            self._feeder.join()
            self._feeder = self._feed_error = None
        if self._spill is not None:
            self._spill.close()
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None


_FRAME = 4  # bytes a connection adds before each message it sends (under 2 GB)
_JOBS: "weakref.WeakSet[ForkedJob]" = weakref.WeakSet()  # every job forked by this process


@dataclass(frozen=True)
class Then:
    """What a worker returns to hand back `value` at once and then run `after` (e.g. saving a
    build cache memo), so the build does not wait for it; the build `join`s the worker at its end."""

    value: object
    after: object  # a callable; what it raises is ignored: it may only cost the next build time


def received(items) -> Iterator:
    """In a worker: each item `put` or `offer`ed to it, until `finish`."""
    while (item := pickle.loads(items.recv_bytes())) is not None:
        yield item


def _run_forked(fn, sender, spill, inbox) -> None:
    _worker_init()
    for job in list(_JOBS):
        job._close_in_worker(spill)
    try:
        args = pickle.loads(inbox.recv_bytes())
    except EOFError:  # the build ended (or failed) without sending any: nothing to do
        return
    after = None
    try:
        outcome = ("ok", fn(inbox, *args))
        if isinstance(outcome[1], Then):
            outcome, after = ("ok", outcome[1].value), outcome[1].after
    except BaseException as e:  # handed to the parent, which raises it
        outcome = ("error", e)
    cpu = cpu_seconds()
    try:
        pickle.dump((*outcome, cpu), spill, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its message still gets through
        spill.seek(0)
        spill.truncate()
        pickle.dump(("error", BuildError(f"a build worker failed: {outcome[1]!r}"), cpu), spill)
    spill.flush()
    sender.send("written")  # a few bytes: the pipe takes them without waiting for a reader
    sender.close()
    if after is not None:
        outcome = None  # handed back: keep only what `after` needs
        # ...and return the freed heap to the system before working on while the build grows
        # (the allocator keeps it otherwise): the related-papers worker at 10k, 109 MB to 87 MB.
        _glibc("malloc_trim", 0)
        try:
            after()
        except Exception:
            pass


def cpu_seconds() -> float:
    """CPU time (user and kernel) this process has used; a forked worker counts from its fork."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _glibc(name: str, *args) -> None:
    """Call the C library's function `name` where it is glibc (Linux); elsewhere do nothing."""
    try:
        import ctypes

        getattr(ctypes.CDLL("libc.so.6"), name)(*args)
    except (OSError, AttributeError):
        pass


def _worker_init() -> None:
    """A forked worker gives up the build's lock and dies with its parent (Linux; elsewhere it
    ends when it finds its parent gone)."""
    import signal

    release_inherited_locks()
    _glibc("prctl", 1, signal.SIGKILL)  # PR_SET_PDEATHSIG


COLLECT_AFTER = (200_000, 30, 30)  # gc thresholds during a build: mypy's (`mypy/build.py`)
# ...but Python's defaults in the render helper, which holds little but makes garbage cycles
# with every page (Jinja): there collections cost as little either way (0.5 s at 100k papers),
# and the default ones kept it at 70 MB, against 120 MB.
HELPER_COLLECT = (700, 10, 10)


@contextlib.contextmanager
def fewer_collections():
    """Run the cyclic garbage collector less often while building (its workers, forked
    meanwhile, inherit this). The build allocates millions of objects and frees few of them in
    cycles; by default a collection runs every 700 allocations, and a full one, which scans
    everything not yet frozen (see `_build`), whenever a quarter more survives: at 100k papers
    24 full collections took 8.9 s, and all of them 11 s, against 0.8 s at 10k. What the
    collector finds is garbage Jinja leaves in cycles, tens of thousands of objects in a whole
    build, so collecting it later costs little memory.

    At the end, what the build froze (`gc.freeze`) is handed back to the collector: a process
    that builds again (`serve`) would otherwise keep every build's cycles (the last build's
    Jinja environment among them) for good."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECT_AFTER)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
