"""Threads a test starts, stopped whatever happens to the test.

A test that gives up (a deadline passed, an assertion failed, an interrupt) must stop what it started:
a thread left running keeps a core busy, changes the process-wide state the next tests read (the
configured registry, the meter provider, a handler's caches), and, unless it is a daemon, keeps pytest
from exiting. Both helpers here start daemon threads, hand each the ``stop`` event its loops watch,
set ``stop`` on the way out, and join the threads again, so none outlives the test:

* :func:`run_threads` runs ``count`` threads released together and waits for them all;
* :func:`background` runs one thread beside the test's own work (a ``with`` block).

A thread still running ``NO_HANG`` seconds after it was started is a hang, not a slow machine: the
test fails saying which threads, after ``stop`` has been set and they have been given time to see it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["NO_HANG", "background", "run_threads"]

NO_HANG = 120.0
"""Seconds a test's threads may take: far beyond what the slowest machine needs, short of forever."""
STOPPING = 30.0
"""Seconds threads have, once ``stop`` is set, to see it and end."""


def run_threads(
    count: int,
    target: Callable[[int], object],
    *,
    stop: threading.Event | None = None,
    barrier: bool = True,
    timeout: float = NO_HANG,
) -> None:
    """Run ``target(number)`` for ``number`` in ``range(count)``, each on a daemon thread, released
    together (``barrier``), and wait for every one. A loop in ``target`` ends when ``stop`` is set:
    it is set when a thread fails (the others then end early, and the test fails on that error), when
    ``timeout`` passes, and on the way out whatever happened. Then every thread is joined again; the
    first error a thread raised is raised here."""
    stop = threading.Event() if stop is None else stop
    start = threading.Barrier(count) if barrier else None
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            if start is not None:
                start.wait(timeout)
            target(number)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
            stop.set()
            if start is not None:
                start.abort()  # the threads still waiting to be released are not left waiting

    threads = [threading.Thread(target=run, args=(n,), name=f"test-thread-{n}", daemon=True) for n in range(count)]
    try:
        for thread in threads:
            thread.start()
        _join(threads, time.monotonic() + timeout)
        hung = [thread.name for thread in threads if thread.is_alive()]
    finally:
        stop.set()
        if start is not None:
            start.abort()
        _join(threads, time.monotonic() + STOPPING)
    unstopped = [thread.name for thread in threads if thread.is_alive()]
    assert [] == hung, f"{len(hung)} of {count} threads still running after {timeout:.0f}s; after stop: {unstopped}"
    if failures:
        raise failures[0]  # the first: the others may only be threads it released early (BrokenBarrierError)


@contextmanager
def background(
    target: Callable[[threading.Event], object], *, timeout: float = NO_HANG
) -> Iterator[threading.Event]:
    """Run ``target(stop)`` on a daemon thread during the ``with`` block; ``stop`` is yielded. On the
    way out ``stop`` is set (``target``'s loop must watch it), and the thread is joined: it must end
    within ``timeout`` of the block's end, and an error it raised is raised here."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            target(stop)
        except BaseException as exc:  # raised in the test's thread below
            failures.append(exc)

    thread = threading.Thread(target=run, name="test-background", daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout)
    assert not thread.is_alive(), f"the background thread still runs {timeout:.0f}s after stop was set"
    if failures:
        raise failures[0]


def _join(threads: list[threading.Thread], deadline: float) -> None:
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
