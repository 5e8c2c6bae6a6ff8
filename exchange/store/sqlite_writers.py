"""SQLite's transactions one at a time: the threads of a process behind a lock, its processes behind an flock.

SQLite has one writer at a time, and a writer that finds the file locked sleeps and polls in its
busy handler (up to the busy timeout), so of several waiting the one that polls at the right
moment goes next. Threads woken in turn by a lock do not starve each other that way, and
neither do the processes of `coalition serve --processes N` when each takes an exclusive
``flock`` on a file beside the database (``<database>-writer.lock``) once it holds its own
thread lock: the kernel queues them on it. With two hub processes on one file
(``bench/run.py --short --hub-processes 2``), p99 went from 1 367 ms, writers waiting in the busy
handler, to 162-176 ms, as with one process; conversions/s stayed about one process's (147-165),
the transactions themselves being one at a time.

Only the hub's transactions take the flock (exchange.store.database.Database.run). Anything
else on the file (a migration, another tool) still meets SQLite's own locking, which is what
keeps the data correct; the flock only orders the hub's writers fairly. Where ``fcntl`` does not
exist (Windows) only the thread lock is taken.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = "-writer.lock"


class OneWriterAtATime:
    """A context manager held around each SQLite transaction of a process.

    The lock file is opened on first use in each process, never inherited across a fork: an
    flock belongs to an open file, which a forked child would share with its parent.
    """

    def __init__(self, database_file: Path | None) -> None:
        self._threads = threading.Lock()
        self._path = database_file.with_name(database_file.name + LOCK_SUFFIX) if database_file else None
        self._file: IO[bytes] | None = None
        self._opened_by: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._path is None or fcntl is None:
            return
        try:
            fcntl.flock(self._lock_file().fileno(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        try:
            if self._file is not None and fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock_file(self) -> IO[bytes]:
        if self._file is None or self._opened_by != os.getpid():
            assert self._path is not None
            self._file = self._path.open("ab")  # a forked child's inherited file is left to the parent
            self._opened_by = os.getpid()
        return self._file

    def close(self) -> None:
        """Close the lock file (the next transaction opens it again)."""
        if self._file is not None and self._opened_by == os.getpid():
            self._file.close()
        self._file = None
