"""One active outbox relay per event store, however many replicas of a service run.

Every replica runs a relay, but only the one holding the store's *relay
lease* publishes; the others stand by. The lease is a lock the operating
system or the database frees when its holder dies, so a standby takes over
within its next retry:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on
  a connection of its own; the server frees it when that connection ends.
- SQLite: an exclusive ``flock`` on a file beside the database; the kernel
  frees it when the process ends.
- An in-memory store (tests): nothing to share, always held.

Even two relays publishing at once would store nothing twice (each message's
``Nats-Msg-Id`` and ``Nats-Expected-Last-Sequence``): the lease keeps them from
wasting work and from racing on the relay's recorded position.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shared.files import PRIVATE_FILE, private_dir
from shared.relay import RelayLease

log = logging.getLogger(__name__)


class FileLease(RelayLease):
    """An exclusive ``flock`` on ``path``, taken without waiting and kept until release or death."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def hold(self) -> bool:
        if self._fd is not None:
            return True
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class PostgresLease(RelayLease):
    """A PostgreSQL advisory lock named after the service, on a connection of its own."""

    def __init__(self, url: str, name: str, connect_timeout: int = 2) -> None:
        parts = urlsplit(url)
        self.params: dict[str, Any] = {
            "dbname": parts.path.lstrip("/"),
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or ""),
            "connect_timeout": connect_timeout,
            "autocommit": True,
        }
        self.key = zlib.crc32(f"osv-platform relay {name}".encode())
        self.check_every = 1.0
        self._connection: Any = None
        self._checked = 0.0

    def hold(self) -> bool:
        import psycopg

        if self._connection is not None:
            if time.monotonic() - self._checked < self.check_every:
                return True
            try:
                self._connection.execute("SELECT 1")
                self._checked = time.monotonic()
                return True
            except psycopg.Error:
                log.warning("relay lease: the connection holding the lock broke; the lock is gone with it")
                self.release()
        try:
            connection = psycopg.connect(**self.params)
            held = connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]
        except psycopg.Error as error:
            log.warning("relay lease: PostgreSQL unreachable (%s)", error)
            return False
        if not held:
            connection.close()
            return False
        self._connection, self._checked = connection, time.monotonic()
        return True

    def held(self) -> bool:
        return self._connection is not None and time.monotonic() - self._checked < self.check_every

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._connection = None


def lease_for(store_url: str, service: str) -> RelayLease:
    """The relay lease that fits the event store at ``store_url``."""
    scheme = urlsplit(store_url).scheme.split("+", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return PostgresLease(store_url, service)
    if scheme == "sqlite":
        path = store_url.split(":///", 1)[1] if ":///" in store_url else ""
        if path and path != ":memory:":
            return FileLease(Path(path + ".relay.lock"))
    return RelayLease()
