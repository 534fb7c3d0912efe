"""uvicorn as ``make run`` starts a service: uvicorn's own command line, its port listened on from the moment it is bound.

``python -m deploy.serve services.registry.api:create_app --factory --port 8001 --workers 2 …`` takes every argument
``python -m uvicorn`` takes and does what it does, with one difference. With ``--workers``, uvicorn's supervisor binds
the port (with ``SO_REUSEADDR``) and leaves listening to its workers, which listen only once the app has started: the
store opened, NATS reached, seconds later. Meanwhile another process's socket with ``SO_REUSEADDR`` (``python3 -m
http.server``) could bind the same port and listen on it; the workers' own ``listen()`` then failed, silently under
uvloop (under asyncio with a traceback, the worker kept alive by the app's threads), and the service ran on with no
listener, the other server answering in its place, and nothing said so (tester 252 F1). Listened on at once, the port
is refused to any other process (Linux lets nobody bind where a socket listens), and a connection made while the workers
start waits in the backlog until one accepts it. A port another process holds before the bind is uvicorn's own error,
one line and exit code 3, as before.
"""

from __future__ import annotations

import importlib
import socket

from uvicorn.config import Config

UVICORN_MAIN = importlib.import_module("uvicorn.main")
"""uvicorn's command-line module (``uvicorn.main`` as an attribute is its click command, which the package puts there)."""


class ListeningConfig(Config):
    """uvicorn's configuration, whose socket (the one ``--workers`` share) listens as soon as it is bound."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        sock.listen(self.backlog)
        return sock


def main() -> None:
    """Run uvicorn's command line (``sys.argv``) with :class:`ListeningConfig`; exits as uvicorn does."""
    UVICORN_MAIN.Config = ListeningConfig  # the name uvicorn.main.run builds its configuration from
    UVICORN_MAIN.main()


if __name__ == "__main__":
    main()
