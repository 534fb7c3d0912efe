"""`make run` keeps the system up: a process that dies is started again, and the console says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devtools.embedded import free_port
from devtools.identity import IdentityProvider
from devtools.processes import port_accepts
from tests.support.api import a_districts_file
from tests.support.processes import ROOT, Console
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(300)


def pid_running(*argument: str) -> int:
    """The pid of the one live process whose command line holds these arguments in a row."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(args[i : i + len(argument)] == list(argument) for i in range(len(args))):
            found.append(int(entry.name))
    assert len(found) == 1, f"processes with {argument}: {found}"
    return found[0]


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (uvicorn's workers, under its supervisor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def started_workers(supervisor: int, without: int) -> list[int] | None:
    """uvicorn's two workers under ``supervisor`` once both have opened their store (past the app factory, which asks the
    kernel to end them with their parent), none of them ``without``; None before."""
    workers = [pid for pid in children_of(supervisor) if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def opened_store(pid: int) -> bool:
        try:
            return any(str(os.readlink(fd)).endswith("events.db") for fd in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            return False

    return workers if len(workers) == 2 and without not in workers and all(opened_store(pid) for pid in workers) else None


@contextmanager
def launcher(var_dir: Path, ports: dict[str, int]) -> Iterator[Console]:
    env = {
        **os.environ,
        "OSV_VAR_DIR": str(var_dir),
        "OSV_NATS_PORT": str(ports["nats"]),
        "OSV_IDP_PORT": str(ports["idp"]),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items() if name not in ("nats", "idp")},
        "FUNDING_WORKERS": "2",  # whatever the machine's cores: a supervisor and its workers
        "REGISTRY_WORKERS": "1",  # the others as one process each: quicker to start
        "ENGAGEMENT_WORKERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "deploy/run_local.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    console = Console(process)
    try:
        yield console
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.faults  # kills processes mid-run (44 s): `make faults`, keeping `make test` within its 15 minutes
def test_a_killed_service_and_a_killed_nats_server_are_started_again_and_a_killed_launcher_leaves_nothing_running(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("idp", "nats", "registry", "funding", "engagement", "reporting", "imports")}
    with launcher(tmp_path / "var", ports) as console:
        console.wait_for("osv-platform is running")
        funding = f"http://127.0.0.1:{ports['funding']}"

        # A service is killed: the launcher says so, starts it again, and the rest keeps running.
        killed = pid_running("--port", str(ports["funding"]))
        workers = [pid for pid in children_of(killed) if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2, f"funding's workers under uvicorn {killed}: {workers}"

        # One of its workers is killed (the out-of-memory killer's way): uvicorn starts another, and the console says so
        # in the services' format. It said nothing: uvicorn tells it at INFO.
        os.kill(workers[0], signal.SIGKILL)
        console.wait_for(rf"\S+ \S+ WARNING funding\[{killed}\] uvicorn\.error: Child process \[{workers[0]}\] died")
        workers = eventually(lambda: started_workers(killed, without=workers[0]), timeout=60)
        os.kill(killed, signal.SIGKILL)  # uvicorn's supervisor: it cannot stop its workers
        console.wait_for(rf"funding \(pid {killed}\) exited with code -9 \(killed by SIGKILL\); restarting it in [\d.]+ s")
        console.wait_for(r"funding is healthy again after restart 1")
        assert not [pid for pid in workers if alive(pid)], "the killed supervisor's workers still run"
        assert httpx.get(f"{funding}/health", timeout=10).status_code == 200
        assert pid_running("--port", str(ports["funding"])) != killed
        assert console.process.poll() is None

        # nats-server is killed: it comes back on its port with its store, and events flow again.
        nats = pid_running("-c", str(tmp_path / "var" / "nats" / "nats.conf"))
        os.kill(nats, signal.SIGKILL)
        console.wait_for(rf"nats-server \(pid {nats}\) exited with code -9 \(killed by SIGKILL\); restarting it in [\d.]+ s")
        console.wait_for(r"nats-server restarted \(pid \d+, restart 1\)")
        signed_in = {"Authorization": f"Bearer {IdentityProvider(tmp_path / 'var' / 'idp', port=ports['idp']).token('staff')}"}
        registry = httpx.Client(base_url=f"http://127.0.0.1:{ports['registry']}", headers=signed_in, timeout=10)
        reporting = httpx.Client(base_url=f"http://127.0.0.1:{ports['reporting']}", headers=signed_in, timeout=10)
        created = registry.post("/osvs", json={"name": "Olla Común Las Flores", "district": "Comas", "mapped_on": "2021-04-01"})
        assert created.status_code == 201, created.text
        eventually(lambda: reporting.get("/indicators").json()["total"]["osvs_identified"] == 1, timeout=60)

        # Every service is in the launcher's process group: a signal to the job (`kill -9 %1`) reaches them all.
        children = [pid_running("--port", str(ports[name])) for name in ("registry", "funding", "engagement", "reporting", "imports")]
        assert {os.getpgid(pid) for pid in children} == {os.getpgid(console.process.pid)}

        # A `kill -9` of the launcher alone (not of its job): every process it started is told to stop, so the next
        # launch finds its ports free. Ctrl-C's clean stop is the system test's (tests/e2e/test_system.py).
        assert console.text().count("exited with") == 2, f"a stop was taken for a crash:\n{console.text()}"
        started = children_of(console.process.pid)
        assert len(started) == 7, started  # the identity provider, nats-server, the four services, the Kobo webhook
        descendants = started + [worker for child in started for worker in children_of(child)]
        # Requests still arriving (a phone on a slow link, or anyone holding a socket open) once kept uvicorn waiting for good.
        arriving = [request_still_arriving(ports[name]) for name in ("registry", "reporting")]
        os.kill(console.process.pid, signal.SIGKILL)
        console.process.wait(timeout=10)
        eventually(lambda: not [pid for pid in descendants if alive(pid)], timeout=60)
        assert not [name for name, port in ports.items() if port_accepts("127.0.0.1", port)]
        for client in arriving:
            client.close()


def request_still_arriving(port: int) -> socket.socket:
    """A POST whose body is promised and never finished, its connection left open."""
    client = socket.create_connection(("127.0.0.1", port))
    client.sendall(b"POST /osvs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": ")
    return client


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("ENGAGEMENT_CORS_ALLOW_ORIGINS", '["https://front.example.org/"]', "ENGAGEMENT_CORS_ALLOW_ORIGINS is refused: write 'https://front.example.org/'"),
    ("FUNDING_FEED_URLS", '{"registryy": "http://127.0.0.1:8001"}', "FUNDING_FEED_URLS is refused: 'registryy' names no write service"),
    ("REGISTRY_PORT", "abc", "REGISTRY_PORT is refused: Input should be a valid integer"),
])
def test_a_setting_that_does_not_read_stops_make_run_at_once_in_one_line_naming_it(tmp_path: Path, variable: str, value: str, said: str) -> None:
    """A service's setting refused was pydantic's traceback, the launcher's or, once started, a worker's again and again."""
    env = {**os.environ, "OSV_VAR_DIR": str(tmp_path / "var"), variable: value}
    done = subprocess.run([sys.executable, "deploy/run_local.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr.startswith(f"osv-platform: {said}") and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "var" / "nats").exists()  # nothing was started


DUPLICATE_UBIGEO = {"ubigeo": "150132", "name": "Nuevo Horizonte", "zone": "Lima Este"}
"""A district added with San Juan de Lurigancho's ubigeo by mistake: taken, it placed that ubigeo's OSVs in it (tester 314 F3)."""


@pytest.mark.parametrize(("added", "said"), [
    (DUPLICATE_UBIGEO, "the districts 'San Juan de Lurigancho' and 'Nuevo Horizonte' have one ubigeo, 150132: each district has its own"),
    ({"ubigeo": "150144", "name": "Nuevo Horizonte"}, "the district 'Nuevo Horizonte' has no zone (every district has ubigeo, name, zone)"),
])
@pytest.mark.parametrize("started_by", ["make run", "uvicorn"])
def test_a_districts_file_that_breaks_a_rule_stops_the_start_in_one_line_naming_the_variable_file_and_district(
    tmp_path: Path, added: dict[str, str], said: str, started_by: str
) -> None:
    """Tester 314 F3: a file without a district's zone crashed `make run` with nats-server's 40-line traceback
    (``KeyError: 'zone'``), naming neither the file nor the variable; one with a repeated ubigeo was taken. A service
    started by uvicorn itself (the image) stops the same way."""
    districts = a_districts_file(tmp_path, added)
    env = {**os.environ, "OSV_VAR_DIR": str(tmp_path / "var"), "REGISTRY_VAR_DIR": str(tmp_path / "var" / "registry"),
           "REGISTRY_DISTRICTS_FILE": str(districts)}
    if started_by == "make run":
        command = [sys.executable, "deploy/run_local.py"]
        line = f"osv-platform: REGISTRY_DISTRICTS_FILE is refused: the districts file {districts}: {said}"
    else:
        port = free_port("127.0.0.1")
        command = [sys.executable, "-m", "uvicorn", "services.registry.api:create_app", "--factory", "--port", str(port)]
        line = f"REGISTRY_DISTRICTS_FILE is refused: the districts file {districts}: {said}"
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr == line + "\n", done.stderr
    assert not (tmp_path / "var").exists()  # nothing was started


@pytest.mark.parametrize(("argument", "code"), [("--help", 0), ("-h", 0), ("--bogus", 2), ("registry", 2)])
def test_make_runs_launcher_takes_no_argument_and_help_starts_nothing(tmp_path: Path, argument: str, code: int) -> None:
    """``python -m deploy.run_local --help`` started the whole system on the default ports and ``./var`` (tester 199 F9):
    any argument was ignored. ``--help`` prints the usage and the variables that set it up; anything else is refused."""
    env = {**os.environ, "OSV_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "deploy.run_local", argument], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stdout + done.stderr
    assert ("OSV_VAR_DIR" in done.stdout) if code == 0 else ("usage: python -m deploy.run_local" in done.stderr), done.stdout + done.stderr
    assert not (tmp_path / "var").exists()  # nothing was started
