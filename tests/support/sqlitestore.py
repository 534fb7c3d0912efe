"""An SQLite store's file as the tests hold it: its write lock taken by another connection, its hash chain checked."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.chaincheck import entries_of_store, verify


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection (another worker, say) holds the file's write lock for the block: the store's saves wait for it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def chain_is_valid(app: Any, service: str = "test") -> bool:
    """Whether the store's hash chain verifies (an assertion naming the first break, if not)."""
    verdict = verify(service, entries_of_store(app), [])
    assert verdict.ok, verdict.describe()
    return True
