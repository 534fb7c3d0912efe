"""What the development servers share: errors, ports, processes, and starting and stopping as context managers."""

from __future__ import annotations

import errno
import functools
import os
import random
import socket
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

LOG_TAIL_LINES = 40


class EmbeddedServerError(RuntimeError):
    """A server could not be found, started or stopped."""


class PortTakenError(EmbeddedServerError):
    """A server's port is held by another process: starting it there fails, or worse, answers with the other's voice."""

    def __init__(self, server: str, host: str, port: int, variable: str) -> None:
        super().__init__(
            f"the port {port} of {server} on {host} is taken by another process: stop that process, or set {variable} to a "
            "free port"  # "of imports", not "imports's" (tester 252 F5)
        )
        self.port = port
        self.variable = variable


@functools.cache
def probe_client() -> httpx.Client:
    """The process's one client for asking a local server whether it answers yet (``make run``'s ``/health`` checks, the
    identity provider's discovery while it starts); give each request its timeout. No connection is kept between probes.

    ``httpx.get`` makes a client, and loads the CA bundle, for each call: 30 ms of CPU a probe, three quarters of a core
    taken from the services starting beside the launcher's checks.
    """
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORTS_BELOW_EPHEMERAL = 12_000
"""How many ports below the kernel's ephemeral range :func:`free_port` picks from."""
PORT_SLICE_VARIABLE = "OSV_PORT_SLICE"
"""``k/n``: :func:`free_port` picks from the ``k``-th of ``n`` equal slices of its range (0-based), so that the processes
of one run given different slices (the test suite's workers, :func:`port_slice_of_worker`) never pick the same port."""


def _port_slice(bottom: int, top: int) -> tuple[int, int]:
    """The part of ``[bottom, top)`` :data:`PORT_SLICE_VARIABLE` gives this process; the whole range when unset or
    malformed (a mistyped value must not stop a local run)."""
    index, _, count = os.environ.get(PORT_SLICE_VARIABLE, "").partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        return bottom, top
    if not 0 <= k < n:
        return bottom, top
    width = (top - bottom) // n
    return bottom + k * width, bottom + (k + 1) * width


def port_slice_of_worker(worker: str, workers: int) -> str:
    """The :data:`PORT_SLICE_VARIABLE` value for pytest-xdist's worker ``worker`` (``gw0``, ``gw1``, ...) of ``workers``."""
    return f"{int(worker.removeprefix('gw')) % workers}/{workers}"


def _ephemeral_start() -> int:
    """The first port the kernel gives outgoing connections (Linux's ``ip_local_port_range``; 32768 elsewhere)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1", avoid: Collection[int] = ()) -> int:
    """Return a TCP port on ``host`` that was free a moment ago, below the kernel's ephemeral range, and not one of
    ``avoid`` (ports a server is given but has not bound yet: a nats-server's client port, when its monitoring port is
    picked, was picked again as that once in some 12,000 starts, and the server failed to start).

    The port is released before returning, so another process may take it in
    between; that race is accepted for local runs and tests. It is not one
    the kernel hands out to outgoing connections, though: a port it picked
    (``bind(0)``) was taken by any process's connection as often, on a busy
    machine ("address already in use" when the server started on it, ``make
    test`` beside other runs). Picked at random among :data:`PORTS_BELOW_EPHEMERAL`
    ports, each tried by binding it; the kernel's pick if none is free.

    Within that range, the slice :data:`PORT_SLICE_VARIABLE` names: two test
    workers each launching a system on seven such ports, one of them took a
    port the other's launcher had released a moment before to start again on
    it ("the port of reporting is taken by another process", CI after session 63).
    """
    top = _ephemeral_start()
    bottom, top = _port_slice(max(1024, top - PORTS_BELOW_EPHEMERAL), top)
    for _ in range(50):
        port = random.randrange(bottom, top)
        if port in avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a note if unreadable."""
    if path is None:
        return "(no log file)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(could not read {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"({path} is empty)"


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_taken(host: str, port: int) -> bool:
    """Whether another socket holds ``host:port`` (a listener, or one bound there): a bind of our own there fails.

    A connection a former run left in TIME_WAIT does not count (``SO_REUSEADDR``), nor does an address this machine
    does not have (the server's own start says so).
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


class ChildServer:
    """A server run as a child process: ``start()`` it and ``stop()`` it, or use it as a context manager.

    ``stop()`` is idempotent. A port given as 0 is chosen on the first start.
    """

    _port: int | None = None

    @property
    def port(self) -> int:
        """The port it listens on (known after the first ``start()`` when it was given as 0)."""
        if self._port is None:
            raise EmbeddedServerError("port not chosen yet: call start() first")
        return self._port

    def start(self) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
