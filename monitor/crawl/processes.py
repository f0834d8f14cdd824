"""Process plumbing for crawls: their own process group, and dying with the parent."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from functools import cache

_PR_SET_PDEATHSIG = 1


@cache
def _libc():
    """libc, resolved once in the parent (find_library runs programs: never between fork and exec)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (a killed `monitor crawl`
    must not leave an orphaned crawler writing beside the next run). A no-op elsewhere.

    A worker process asks only once it has started (a spawned one after seconds of imports): a
    parent that died before then sends nothing, so the parent multiprocessing names is checked after.
    """
    libc = _libc()
    if libc is not None:
        try:
            libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except AttributeError:
            pass
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os.kill(os.getpid(), sig)  # the parent is gone already: end as its death would have ended us


def child_setup():
    """A preexec_fn for crawl subprocesses: own process group (to kill it whole), dying with the parent.

    Everything it needs is resolved here, before the fork; in the child it only makes two system calls.
    """
    libc = _libc()

    def setup() -> None:
        os.setsid()
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return setup
