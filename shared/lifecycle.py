"""Stopping what a service runs, in bounded time.

A task cannot be trusted to end on one ``cancel()``. On Python 3.11,
``asyncio.wait_for`` returns the inner result instead of raising when the
inner future completes in the same loop iteration as the cancellation (the
nats-py connect loop and the relay's waits use it), and nats-py swallows
``CancelledError`` while a publish waits for a forced flush to a server that
does not read. A task that lives on after its one cancellation keeps the
lifespan's teardown, and then the event loop's close, waiting for good.
So a task is cancelled again until it ends, and given up on after a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

log = logging.getLogger(__name__)

RECANCEL_SECONDS = 0.1


async def stop_tasks(tasks: Iterable[asyncio.Future[Any]], timeout: float, what: str = "tasks") -> list[asyncio.Future[Any]]:
    """Cancel ``tasks`` (again every 0.1 s) until they end or ``timeout`` seconds pass.

    Returns the tasks still running then, after logging them; their results
    and errors are consumed, so none is reported as never retrieved.
    """
    tasks = list(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_SECONDS, remaining))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # consumed: a failure on the way out is no longer news
    if pending:
        names = ", ".join(task.get_name() if isinstance(task, asyncio.Task) else repr(task) for task in pending)
        log.warning("%s: still running %.1f s after being cancelled, left behind: %s", what, timeout, names)
    return sorted(pending, key=id)


async def within(awaitable: Awaitable[Any], timeout: float, what: str) -> bool:
    """Await ``awaitable`` for at most ``timeout`` seconds; past that, cancel it (bounded too) and return False.

    An error it raises is logged, not raised: this is for teardown steps,
    each of which must not stop the next.
    """
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("%s: no end within %.1f s; given up", what, timeout)
        await stop_tasks([task], 1.0, what)
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.debug("%s: %s: %s", what, type(error).__name__, error)
    return True


@contextlib.contextmanager
def on_stop_signal(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM also call ``callback`` on the running event loop.

    The handler in place (uvicorn's, which asks the server to exit) still
    runs. Outside the main thread, where signals cannot be handled, nothing
    is installed. For waits in the lifespan's start-up, which uvicorn's own
    handler does not interrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:  # what the signal would have done: end the process
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal the kernel sends a process when the thread that started it ends (Linux)."""


def die_with_supervisor() -> None:
    """In a uvicorn worker (a process ``multiprocessing`` spawned), have the kernel SIGKILL it when its supervisor ends.

    uvicorn's supervisor stops its workers when it is asked to, but a ``kill -9``
    of it (or an out-of-memory kill) leaves them serving, holding the port and the
    relay lease against the supervisor ``make run`` starts again. Linux only; a
    process of its own (no supervisor) is left as it is. A supervisor already gone
    by the time this runs ends the worker at once.
    """
    supervisor = multiprocessing.parent_process()
    if supervisor is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("could not ask to end with uvicorn's supervisor: %s", os.strerror(ctypes.get_errno()))
        return
    if os.getppid() != supervisor.pid:  # it ended before the request above: nobody would send the signal
        os.kill(os.getpid(), signal.SIGKILL)


def ending_with_this_process(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child gets ``signum`` when the thread starting it ends (Linux; else None).

    For a launcher that owns its children (``make run``'s): a ``kill -9`` of the
    launcher alone would leave nats-server and the services running, holding
    their ports against the next launch; this way they are told to stop
    (SIGTERM: each shuts down cleanly). Start the children from the thread that
    lives as long as the launcher, and only from a process without other
    threads (``preexec_fn`` runs between fork and exec). A launcher already
    gone by the time the child asks ends the child at once.
    """
    if not sys.platform.startswith("linux"):
        return None
    launcher = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork: the child only calls it

    def ask() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != launcher:
            os.kill(os.getpid(), signum)

    return ask


COLLECT_EVERY = 50_000
"""Allocations between two runs of Python's cycle collector in :func:`collect_less_often` (700 by default)."""


def collect_less_often() -> tuple[int, int, int]:
    """Run Python's cycle collector every :data:`COLLECT_EVERY` allocations instead of 700; returns the thresholds before.

    For a process that builds large object graphs in one go: a rebuild, and
    reporting, whose reports as of a moment load a checkpointed tally of
    hundreds of thousands of objects. With the default thresholds the
    collector ran full passes over them mid-report: at 200,000 events an
    as-of report's p99 was 117 ms, 60-69 ms with these. Every service runs
    with it (:meth:`shared.web.Runtime.lifespan`): a command's objects are
    freed by their reference counts, and in registry under load the
    collector's passes over its 175,000 long-lived objects (the framework's,
    the kept aggregates) took 0.11 ms of the 2.5-3 ms each ``POST /osvs``
    cost, none with these. Cycles are still collected, only less often.
    """
    before = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, 20, 20)
    return before  # type: ignore[return-value]


CONSOLE_FORMAT = "%(asctime)s %(levelname)s {service}[%(process)d] %(name)s: %(message)s"
"""A service's console line: when, how grave, which service and process, which module; then the message."""


class QueryOutOfAccessLines(logging.Filter):
    """uvicorn's access lines (``uvicorn.access``) with the query string left out: ``GET /members?… HTTP/1.1" 422``.

    A query may hold personal data a client put there (``GET /members?document_number=…``, refused since, helper 197),
    and an access line goes wherever a deployment sends its logs. The services' own launchers (``make run``,
    ``docker-compose.yml``: :data:`UVICORN_LOG_CONFIG`) write no access lines; a service started by ``uvicorn`` with its
    default logging writes one per request, and this keeps the path alone in it (the parameters' names too could be
    anything typed). Set on the logger itself, so that whatever handlers a deployment gives it, none sees the query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        # uvicorn's HTTP access line, '%s - "%s %s HTTP/%s" %d': client, method, path with its query, version, status;
        # its WebSocket handshake's line on uvicorn.error, '%s - "WebSocket %s" 403': client, path with its query (a
        # client's upgrade request needs no token to be logged so: tester 199 F3).
        place = 1 if isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket %s"') else 2 if len(args) == 5 else None
        if place is not None and len(args) > place and isinstance(args[place], str) and "?" in args[place]:
            record.args = (*args[:place], args[place].partition("?")[0] + "?…", *args[place + 1 :])
        return True


def keep_queries_out_of_access_lines(access: logging.Logger | None = None, error: logging.Logger | None = None) -> None:
    """Put :class:`QueryOutOfAccessLines` on uvicorn's access logger (``access``) and on its error logger (``error``,
    where its WebSocket handshakes' lines go), the process's by default, once each."""
    for logger in (access or logging.getLogger("uvicorn.access"), error or logging.getLogger("uvicorn.error")):
        if not any(isinstance(each, QueryOutOfAccessLines) for each in logger.filters):
            logger.addFilter(QueryOutOfAccessLines())


def log_to_console(
    service: str,
    *,
    root: logging.Logger | None = None,
    stream: TextIO | None = None,
    uvicorn: logging.Logger | None = None,
    access: logging.Logger | None = None,
) -> None:
    """Send the service's own log lines (WARNING and above, as uvicorn's ``--log-level warning``) to standard error
    as :data:`CONSOLE_FORMAT` reads: "2026-12-02 04:40:54,123 WARNING funding[4242] shared.following: view …"; and,
    whatever the logging set-up, keep query strings out of uvicorn's access and WebSocket lines (``access``, ``uvicorn.access`` by
    default: :func:`keep_queries_out_of_access_lines`).

    uvicorn sets up its own loggers only: the services' warnings reached the console as bare messages (Python's
    last resort), four workers' alike, with no time, level or service (tester 25). uvicorn's own lines (``uvicorn``,
    ``uvicorn.error``: an exception in the app, with its traceback) are given the same format on its own handlers.
    Nothing is changed when the root logger (``root``, the process's by default) has a handler already: a test's
    capture, or a deployment's own logging set-up, which wins.
    """
    keep_queries_out_of_access_lines(access)
    root = root or logging.getLogger()
    if root.handlers:
        return
    formatter = logging.Formatter(CONSOLE_FORMAT.format(service=service))
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    for own in (uvicorn or logging.getLogger("uvicorn")).handlers:  # set up by uvicorn before it calls the app factory
        own.setFormatter(formatter)
    if root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)


UVICORN_LOG_CONFIG = Path(__file__).parent / "data" / "uvicorn-logging.json"
"""uvicorn's ``--log-config`` for a service (``deploy/run_local.py``, ``docker-compose.yml``): its supervisor's lines in
:data:`CONSOLE_FORMAT`, WARNING and up, and a worker that died ("Child process [42] died"); no access lines."""


def console_formatter() -> logging.Formatter:
    """:data:`CONSOLE_FORMAT` for the service uvicorn serves, named by its app argument ``services.<service>.api:create_app``.

    Made by :data:`UVICORN_LOG_CONFIG` in uvicorn's own process, before any app factory runs: with ``--workers``, that
    process is the supervisor, which never calls :func:`log_to_console`. "uvicorn" when no such argument is given.
    """
    named = (re.fullmatch(r"services\.(\w+)\.api:\w+", argument) for argument in sys.argv)
    service = next((match.group(1) for match in named if match), "uvicorn")
    return logging.Formatter(CONSOLE_FORMAT.format(service=service))


class WorkerNews(logging.Filter):
    """uvicorn's WARNING and up, and its supervisor's "Child process [42] died", raised to WARNING.

    uvicorn tells of a worker that died, before starting another in its place, at INFO, which ``--log-level warning``
    hid: a worker killed (the kernel's out-of-memory killer, a crash in a C library) was replaced without a line on the
    console, and the requests it was serving were cut. Its other INFO lines (started, stopping) stay out.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if record.name == "uvicorn.error" and record.module == "multiprocess" and record.getMessage().endswith(" died"):
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            return True
        return False


class QuietRefusal(logging.Filter):
    """Drops uvicorn's traceback of a start-up refusal (logged already as one error line) and its "Application startup
    failed. Exiting.": the operator reads why, in one line (each worker said both: tester 252 F5). Put on uvicorn's
    logger only once the refusal is logged, in the process that refused: no other error is dropped."""

    STARTUP_FAILED = "Application startup failed. Exiting."

    def __init__(self, refusal: Exception) -> None:
        super().__init__()
        self.refusal = str(refusal)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not (text.startswith("Traceback") and text.rstrip().endswith(self.refusal)) and text != self.STARTUP_FAILED
