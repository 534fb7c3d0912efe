"""Who uses reporting's read model: the running service, or a rebuild emptying and refilling it; never both.

A rebuild into the read model the service answers from would have it answer
from a read model half filled (and its consumers apply events into one being
emptied). So each of the service's workers holds a shared lock on the read
model while it runs, and a rebuild an exclusive one: a rebuild is refused while
reporting runs on that database (or waits for it to stop, ``--wait``), and
reporting started while a rebuild runs on it waits for the rebuild to end
(:class:`~shared.errors.StartupWaitsError`). The lock goes with its holder,
however it ends:

- SQLite: ``flock`` on the database file itself, whatever its name (a symbolic
  link, a ``file:`` URI): the lock is the inode's, and SQLite's own locks are
  ``fcntl``'s, which ``flock`` leaves alone;
- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock_shared``,
  ``pg_try_advisory_lock``) on a connection of its own;
- an in-memory database: nothing to share, always taken.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from shared.files import PRIVATE_FILE

KEY = zlib.crc32(b"osv-platform reporting read model")
"""The advisory lock's key on PostgreSQL (the relay leases take theirs from the service's name)."""


class ReadModelInUse:
    """The read model behind ``engine`` taken for the service (:meth:`share`) or for a rebuild (:meth:`take_alone`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._fd: int | None = None
        self._connection: Any = None

    @property
    def database_file(self) -> Path | None:
        """The SQLite database's file (a ``file:`` URI's path too); None for a server's database or an in-memory one."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:"):  # sqlite:///file:/path?mode=rwc&uri=true
            parts = urlsplit(database)
            if "mode=memory" in parts.query or not parts.path or parts.path == ":memory:":
                return None
            return Path(unquote(parts.path))
        return Path(database)

    def share(self) -> bool:
        """Taken beside the service's other workers; False while a rebuild holds it."""
        return self._take(alone=False)

    def take_alone(self) -> bool:
        """Taken for a rebuild; False while the service (any of its workers) or another rebuild holds it."""
        return self._take(alone=True)

    def _take(self, alone: bool) -> bool:
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            function = "pg_try_advisory_lock" if alone else "pg_try_advisory_lock_shared"
            if connection.execute(text(f"SELECT {function}(:key)"), {"key": KEY}).scalar():
                self._connection = connection
                return True
            connection.close()
            return False
        path = self.database_file
        if path is None:
            return True
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE)  # an empty new file is a new database to SQLite
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if alone else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Given up (its holder stopping); nothing when not held."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
        if self._connection is not None:
            try:  # at once: a closed connection's locks go only once the server has seen it end
                self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
            except DBAPIError:
                self._connection.invalidate()  # broken: its locks went with it, and it goes back to no pool
            self._connection.close()
            self._connection = None
