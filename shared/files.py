"""Files the services keep under ``var/``: only their owner may read them (folders 0700, files 0600).

The stores, the views, the keys and the leases hold personal data or what
unlocks it. Each is made private when it is made, whatever the process's
umask; SQLite gives a database's ``-wal`` and ``-shm`` files the database
file's own mode.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OWNER_ONLY_UMASK = 0o077
"""The umask `make run` gives its processes, so that whatever else they write (nats-server's JetStream files) is private too."""


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """``path`` and every folder made on the way to it, mode 0700; with ``tighten``, an existing ``path`` too.

    Only a folder the service owns is tightened (``var/<service>``): one it
    was merely given (a database file's folder named in a URL) keeps its mode.
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent start
            folder.mkdir(mode=PRIVATE_DIR)
        os.chmod(folder, PRIVATE_DIR)
    if tighten and path.is_dir() and path.stat().st_mode & 0o777 != PRIVATE_DIR:
        with contextlib.suppress(PermissionError):  # not ours: leave it
            os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """``path`` made (empty, if it is not there) in a private folder, mode 0600, before anyone writes to it."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return path


def private_sqlite(url: str) -> str:
    """An SQLite URL's file made private before SQLite opens it (its WAL and shared memory files follow its mode)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///").split("?", 1)[0]
        if path and path != ":memory:":
            private_file(Path(path))
    return url
