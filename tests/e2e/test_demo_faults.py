"""`make demo` as a new user meets it: a load that stopped part-way, a wrong variable, a service elsewhere (tester 22)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.identity import IdentityProvider
from devtools.processes import free_port
from tests.e2e.test_demo_command import RefusesTokens
from tests.support.identity import signed_in_headers
from tests.support.processes import ROOT
from tests.support.served import ServedApp, served_system
from tests.support.system import System

pytestmark = pytest.mark.timeout(600)

SERVICES = ("registry", "funding", "engagement", "reporting")


def demo_env(var_dir: Path, idp_port: int, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """``make demo``'s environment with `make run`'s variables as given (none of the caller's OSV_* or *_PORT)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSV_") and not key.endswith("_PORT")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "OSV_HOST": "127.0.0.1",
        "OSV_VAR_DIR": str(var_dir),
        "OSV_IDP_PORT": str(idp_port),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **extra,
    }


def make_demo(var_dir: Path, idp_port: int, ports: dict[str, int], **extra: str) -> subprocess.CompletedProcess[str]:
    env = demo_env(var_dir, idp_port, ports, **extra)
    return subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-800:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def up_but_refusing() -> Iterator[int]:
    """A service whose /health answers (so the demo goes on to sign in) and that refuses every token."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesTokens)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_mistyped_osv_var_dir_is_named_and_nothing_is_written_there(identity_provider: IdentityProvider, up_but_refusing: int, tmp_path: Path) -> None:
    """OSV_VAR_DIR not the one `make run` used: the demo only reads the provider's state, and writes none (no new
    secret key, signing key or passwords) wherever the typo pointed."""
    wrong = tmp_path / "not-make-runs-var"

    result = make_demo(wrong, identity_provider.port, dict.fromkeys(SERVICES, up_but_refusing))

    assert result.returncode == 1
    line = the_one_line(result)
    assert "OSV_VAR_DIR" in line and str(wrong / "idp" / "state.json") in line
    assert not wrong.exists(), sorted(str(p.relative_to(wrong)) for p in wrong.rglob("*"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [("REGISTRY_PORT", "8O01"), ("OSV_HOST", "127.0.0.1:8001"), ("OSV_DEMO_REGISTRY_URL", "http://[::1"), ("OSV_IDP_PORT", "8oo5")],
    ids=["port-with-a-letter-O", "host-with-its-port", "url-cut-short", "provider-port-with-letters"],
)
def test_a_mistyped_variable_is_one_line_naming_it_not_a_traceback(tmp_path: Path, variable: str, value: str) -> None:
    ports = {name: free_port() for name in SERVICES}

    result = make_demo(tmp_path / "var", free_port(), ports, **{variable: value})

    assert result.returncode == 1
    assert variable in the_one_line(result)


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[System, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as served:
        yield served


def ports_of(served: dict[str, ServedApp]) -> dict[str, int]:
    return {name: app.port for name, app in served.items()}


def stopped_part_way(env: dict[str, str], registry: str) -> tuple[int, str]:
    """`make demo` stopped with Ctrl-C once registry holds a few of its OSVs (whatever step it is at then): its exit code
    and stderr."""
    demo = subprocess.Popen([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while demo.poll() is None:
            if len(httpx.get(f"{registry}/osvs", headers=signed_in_headers("lead"), timeout=30).json()) >= 5:
                demo.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        _, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    return demo.returncode, err


def said_it_stopped_part_way(stopped: tuple[int, str]) -> None:
    code, err = stopped
    assert code == 130, err
    assert "Traceback" not in err and "carries on where it stopped" in err, err


@pytest.mark.faults  # a demo load interrupted mid-way, then two full loads (20 s): `make faults`
def test_a_demo_stopped_part_way_is_finished_by_the_next_run_with_nothing_recorded_twice(
    system: tuple[System, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """A load stopped part-way (Ctrl-C, a service restarting) used to leave the phases, and every later run said
    "already loaded", exit 0, with no agents of change, beneficiaries or murals on the dashboard. Now the next run
    finishes the story: the steps done are answered again under their Idempotency-Keys, the rest carried out."""
    client, served = system
    env = demo_env(identity_provider.state_dir.parent, identity_provider.port, ports_of(served))
    stopped = stopped_part_way(env, served["registry"].url)

    finished = subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Finished the 2021 story, " in finished.stdout and "were recorded already (a run before this one, or beside it)" in finished.stdout
    client.wait_relayed()
    client.wait_applied()
    report = client.indicators()
    one, two = (phase["indicators"] for phase in report["phases"])
    assert [phase["code"] for phase in report["phases"]] == ["F1", "F2"]
    assert (one["osvs_identified"], one["osvs_registered_ruos"]) == (30, 7)
    assert (two["agents_of_change"]["total"], two["beneficiaries_direct"]["total"], two["murals"]) == (42, 496, 4)

    again = subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)
    assert (again.returncode, again.stdout.strip().startswith("The demo is already loaded")) == (0, True), again.stdout + again.stderr
    said_it_stopped_part_way(stopped)  # Ctrl-C: one line saying how to finish, no traceback


def test_a_demo_stopped_part_way_whose_answers_are_no_longer_kept_says_how_to_start_over(
    tmp_path: Path, nats_server: Any, identity_provider: IdentityProvider
) -> None:
    """Past the services' idempotency retention a stopped load cannot be finished (its steps' ids are gone with their
    answers): one line saying it is loaded only in part and how to start over, exit 1; never "already loaded"."""
    brief = {"idempotency_retention_hours": 1e-6}  # answers expire within milliseconds
    with served_system(tmp_path / "var", nats_server.url, overrides=dict.fromkeys(("registry", "funding", "engagement"), brief)) as (_, served):
        env = demo_env(identity_provider.state_dir.parent, identity_provider.port, ports_of(served))
        stopped = stopped_part_way(env, served["registry"].url)

        result = subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)

    assert result.returncode == 1
    line = the_one_line(result)
    assert "loaded only in part" in line and "start over" in line and "OSV_VAR_DIR" in line and "FUNDING_IDEMPOTENCY_RETENTION_HOURS" in line
    assert f"funding at {served['funding'].url}" in line and "FUNDING_PORT" in line
    said_it_stopped_part_way(stopped)


def test_phases_the_demo_did_not_record_are_a_refusal_naming_funding_not_an_already_loaded_demo(
    system: tuple[System, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """Phases entered by hand (or by a demo from before its writes carried keys): the story's first step is refused;
    the line names funding, its URL and its variable, and says how to start over."""
    _, served = system
    funding = served["funding"].url
    phase = {"code": "F1", "name": "Fase 1: mapeo y registro de OSV", "starts_on": "2021-03-01", "ends_on": "2021-09-30"}
    assert httpx.post(f"{funding}/phases", json=phase, headers=signed_in_headers("lead"), timeout=30).status_code == 201

    result = make_demo(identity_provider.state_dir.parent, identity_provider.port, ports_of(served))

    assert result.returncode == 1
    line = the_one_line(result)
    assert f"funding at {funding}" in line and "FUNDING_PORT" in line and "start over" in line
    assert "already loaded" not in line


class RefusesEveryToken(RefusesTokens):
    """Up (/health answers) but trusting another identity provider: 401 to every other GET and POST."""

    do_POST = RefusesTokens.do_GET


@pytest.fixture
def registry_refusing_tokens() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesEveryToken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_registry_that_refuses_the_token_is_named_with_its_url_and_variable_before_anything_is_written(
    system: tuple[System, dict[str, ServedApp]], identity_provider: IdentityProvider, registry_refusing_tokens: str
) -> None:
    """OSV_DEMO_REGISTRY_URL names another system's registry: the line names that URL and the variable, and funding
    holds no phases (the demo used to record them before registry's first 401)."""
    _, served = system

    result = make_demo(identity_provider.state_dir.parent, identity_provider.port, ports_of(served), OSV_DEMO_REGISTRY_URL=registry_refusing_tokens)

    assert result.returncode == 1
    line = the_one_line(result)
    assert registry_refusing_tokens in line and "OSV_DEMO_REGISTRY_URL" in line and "401" in line
    assert httpx.get(f"{served['funding'].url}/phases", headers=signed_in_headers("lead"), timeout=30).json() == []


def test_a_reporting_that_does_not_answer_is_said_with_its_variable_not_offered_as_the_dashboard(
    system: tuple[System, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """REPORTING_PORT not the one `make run` gave reporting (nothing there, then another service): the story loads (or
    is found loaded), but the demo says reporting does not answer there (URL and variable) instead of offering a
    dashboard nothing serves, and exits 1. One load of the story serves both cases: it is the costly part."""
    _, served = system
    for elsewhere, loads in ((free_port(), True), (served["registry"].port, False)):
        result = make_demo(identity_provider.state_dir.parent, identity_provider.port, ports_of(served) | {"reporting": elsewhere})

        assert result.returncode == 1
        said = "Loaded the 2021 story" if loads else "The demo is already loaded"
        assert result.stdout.startswith(said) and "Dashboard:" not in result.stdout, (result.stdout, result.stderr)
        line = the_one_line(result)
        assert f"reporting does not answer at http://127.0.0.1:{elsewhere}" in line and "REPORTING_PORT" in line


def test_someone_elses_request_under_the_demos_last_key_does_not_make_an_empty_system_loaded(
    system: tuple[System, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """The demo's keys are known to anyone: a staff member's own POST /osvs under the story's last key (a copied example)
    made `make demo` say "already loaded" and exit 0 with registry holding that one OSV (the second tester). Now one line
    says something other than the demo used its keys, names funding, and how to start over; exit 1."""
    _, served = system
    osv = {"name": "Olla Común Villa Hermosa", "district": "150132", "mapped_on": "2021-03-15"}
    headers = {**signed_in_headers("staff"), "Idempotency-Key": "osv-demo-2021-v1-2021-end"}
    assert httpx.post(f"{served['registry'].url}/osvs", json=osv, headers=headers, timeout=30).status_code == 201

    result = make_demo(identity_provider.state_dir.parent, identity_provider.port, ports_of(served))

    assert result.returncode == 1, result.stdout
    line = the_one_line(result)
    assert "none of the story's phases" in line and served["funding"].url in line and "start over" in line


class SlowHealth(BaseHTTPRequestHandler):
    """A service slow to answer /health (busy, starting): the demo waits on it with nothing of the story written."""

    asked = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the library's name
        SlowHealth.asked.set()
        SlowHealth.release.wait(60)
        self.send_response(503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_ctrl_c_before_any_write_says_nothing_was_written(tmp_path: Path) -> None:
    """Ctrl-C while the demo still checks that the services answer: nothing of the story was written, and the line
    says so (it said "the demo is loaded only in part", the second tester); exit 130, no traceback."""
    SlowHealth.asked.clear()
    SlowHealth.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHealth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = demo_env(tmp_path / "var", port, dict.fromkeys(("registry", "funding", "engagement", "reporting"), port))
    demo = subprocess.Popen([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert SlowHealth.asked.wait(120), "the demo never asked a service's /health"
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=120)
    finally:
        SlowHealth.release.set()
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        server.shutdown()
        server.server_close()
    assert demo.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "Stopped before the demo wrote anything.", err
