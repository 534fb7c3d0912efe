"""Real processes for tests: a service under uvicorn, and a console read line by line in the background."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.embedded import free_port
from tests.support.identity import auth_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Console:
    """A process's merged stdout and stderr, read line by line in the background."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        """The first match of ``pattern`` in what the process printed, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            if self.process.poll() is not None:
                time.sleep(0.5)  # the reader may still hold the last lines
                if match := re.search(pattern, self.text()):
                    return match
                break
            time.sleep(0.1)
        state = "running" if self.process.poll() is None else f"exited with code {self.process.returncode}"
        raise AssertionError(f"no line matching {pattern!r} (the process {state}):\n{self.text()}")


@dataclass
class ServiceProcess:
    console: Console
    url: str

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.console.process


@contextmanager
def service_process(name: str, env: dict[str, str]) -> Iterator[ServiceProcess]:
    """``uvicorn services.<name>.api:create_app --factory`` on a free port, stopped (SIGTERM, then SIGKILL) at the end.

    It checks tokens against the test session's identity provider: send ``tests.support.identity.signed_in_headers()``.
    """
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", f"services.{name}.api:create_app", "--factory", "--port", str(port)]
    # The service checks the test session's provider's tokens unless ``env`` says otherwise.
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **auth_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield ServiceProcess(Console(process), f"http://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def failures_two_at_once(start_on: Callable[..., None], directory: Path, name: str, attempts: int = 8) -> list[str]:
    """Two spawned processes running ``start_on(url, start, errors)`` on each of ``attempts`` fresh SQLite files
    (``directory/<name>-<n>.db``) at once, as two uvicorn workers start on a new ``var/``: what they put on ``errors``.

    ``start_on`` opens what a worker opens, waits on the ``start`` barrier, then does the step that raced, putting one
    line on ``errors`` for an exception. A module-level function: the processes are spawned. The same two processes
    take the files one after the other, meeting at the barrier on each: a pair spawned for each file spent 2 s
    importing what ``start_on`` opens, 16 s of the 8 attempts.
    """
    context = multiprocessing.get_context("spawn")
    urls = [f"sqlite:///{directory / f'{name}-{attempt}.db'}" for attempt in range(attempts)]
    start, errors = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_on_each, args=(start_on, urls, start, errors)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120 * attempts)
    failures: list[str] = []
    while not errors.empty():
        failures.append(errors.get())
    return failures


def _on_each(start_on: Callable[..., None], urls: list[str], start: Any, errors: Any) -> None:
    """``start_on(url, start, errors)`` for each URL in turn, in one spawned process (the barrier is met once per URL)."""
    for url in urls:
        start_on(url, start, errors)
