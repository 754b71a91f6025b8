"""One sweep at a time in a folder: an exclusive lock file, released when the sweep's process ends.

Two sweeps writing the same ``runs.jsonl`` and tables at once would replace each other's
tables; the second one is told which process holds the folder and stops before writing anything.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dkvb_core.errors import DKVBError

LOCK_FILE = ".sweep.lock"

try:
    import fcntl
except ImportError:  # not on POSIX: no lock (the sweep still runs)
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s sweep lock for the block; DKVBError naming the holder if another sweep has it."""
    if fcntl is None:
        yield
        return
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            raise DKVBError(
                f"--out: another sweep (process {holder}) is running in {folder}; wait for it to end, "
                "or give another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
