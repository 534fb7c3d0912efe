"""The system started the way `make run` starts it, used over HTTP like a front end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import httpx

from devtools.embedded import free_port
from devtools.identity import DEMO_ACCOUNTS, IdentityProvider
from devtools.processes import port_accepts
from tests.integration.test_event_flow import map_register_grant_and_enrol
from tests.support.system import System, eventually

ROOT = Path(__file__).resolve().parents[2]
SAME_KEY_ROUNDS = 10
SAME_KEY_AT_ONCE = 30


def launcher_env(var_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    """What `make run` reads (``OSV_VAR_DIR``, ``OSV_NATS_PORT``, ``OSV_IDP_PORT``, ``<SERVICE>_PORT``); `make demo` and `make token` too.

    Registry is served by two workers whatever the machine's cores, as `make run` serves it on two or more;
    funding and engagement by one each, to start sooner (the fault case ``replicas`` runs two of each).
    """
    return {
        **os.environ,
        "OSV_VAR_DIR": str(var_dir),
        "OSV_NATS_PORT": str(ports["nats"]),
        "OSV_IDP_PORT": str(ports["idp"]),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items() if name not in ("nats", "idp")},
        "REGISTRY_WORKERS": "2",
        "FUNDING_WORKERS": "1",
        "ENGAGEMENT_WORKERS": "1",
    }


@contextmanager
def launched(var_dir: Path, ports: dict[str, int], stop: signal.Signals = signal.SIGINT) -> Iterator[System]:
    """The launched system, its clients signed in at its own provider as ``lead`` (the feeds' reads as ``auditor``);
    stopped at the end by ``stop`` (Ctrl-C; SIGHUP when its terminal closes), which must stop it cleanly."""
    env = launcher_env(var_dir, ports)
    process = subprocess.Popen(
        [sys.executable, "deploy/run_local.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "osv-platform is running" in line:
                break
        else:
            raise AssertionError("the launcher stopped before it was running:\n" + "".join(banner))
        assert any(f"http://127.0.0.1:{ports['registry']}" in line for line in banner)
        # It names its provider, each demo account with its password, and warns they are for local use.
        printed = "".join(banner)
        assert f"http://127.0.0.1:{ports['idp']}" in printed and "for local use only" in printed
        assert all(re.search(rf"^\s+{name}\s+password \S+$", printed, re.MULTILINE) for name in DEMO_ACCOUNTS), printed
        # The partner command it prints runs as printed in a fresh shell: its PATH has no virtual environment (tester 226
        # F3), and none of make run's settings (tester 225 F9: without OSV_NATS_PORT it signed in at 4222).
        partner_command = re.search(r"^\s+partners\s+`([^`]+)`", printed, re.MULTILINE)
        assert partner_command, printed
        shell = {key: value for key, value in os.environ.items() if not key.startswith("OSV_")} | {"PATH": "/usr/bin:/bin", "VIRTUAL_ENV": ""}
        added = subprocess.run(partner_command.group(1), shell=True, env=shell, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        added_now = added.returncode == 0 and f"nats://127.0.0.1:{ports['nats']}" in added.stdout
        added_before = added.returncode == 1 and "150132 is already a partner" in added.stderr  # launched again on this var
        assert added_now or added_before, added.stdout + added.stderr
        provider = IdentityProvider(var_dir / "idp", port=ports["idp"])
        signed_in = {"Authorization": f"Bearer {provider.token('lead')}"}
        clients = [
            httpx.Client(base_url=f"http://127.0.0.1:{ports[name]}", headers=signed_in, timeout=10)
            for name in ("registry", "funding", "engagement", "reporting")
        ]
        yield System(*clients, feed_headers={"Authorization": f"Bearer {provider.token('auditor')}"})  # type: ignore[arg-type]
        for client in clients:
            client.close()
    finally:
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "osv-platform stopped" in output
        assert not [name for name, port in ports.items() if port_accepts("127.0.0.1", port)], output  # nothing left behind


def feeds_read(system: System, names: tuple[str, ...]) -> bool:
    """Whether each service's views last read every source's ``GET /events`` feed without an error (``/health``)."""
    for name in names:
        health = getattr(system, name).get("/health").json()
        if name == "reporting":  # its read model's sources
            feeds = [source["feed"] for source in health["sources"].values()]
        else:  # each view's sources
            feeds = [source["feed"] for view in health["views"].values() for source in view.values()]
        if not feeds or any(feed != "ok" for feed in feeds):
            return False
    return True


def test_the_launched_system_follows_an_osv_into_the_indicators_and_keeps_it_across_a_restart(tmp_path: Path) -> None:
    """Also: a closed terminal (SIGHUP) stops it as Ctrl-C does, and one Idempotency-Key sent to both registry
    workers at once maps one OSV and gets its answer."""
    ports = {name: free_port() for name in ("idp", "nats", "registry", "funding", "engagement", "reporting", "imports")}
    var_dir = tmp_path / "var"
    with launched(var_dir, ports, stop=signal.SIGHUP) as system:  # stopped as when its terminal closes
        map_register_grant_and_enrol(system)
        system.wait_relayed()
        system.wait_applied()
        before = system.indicators()
        assert before["total"]["osvs_registered_ruos"] == 1
        assert before["total"]["members_left_by_reason"] == {"moved_abroad": 1}

    assert (var_dir / "registry" / "events.db").exists() and (var_dir / "nats").is_dir()

    with launched(var_dir, ports) as system:
        assert system.indicators() == before
        assert len(system.registry.get("/osvs").json()) == 1
        osv = system.registry.post("/osvs", json={"name": "Nueva", "district": "Surco", "mapped_on": "2022-01-10"})
        assert osv.status_code == 201
        eventually(lambda: system.indicators()["total"]["osvs_identified"] == 2)

        # A client retrying a request it thinks lost can reach either registry worker while the other still runs
        # the first. Each worker's in-flight guard is its own: the second used to run the command and be refused as
        # a `possible_duplicate` of the OSV its own key had just mapped, or told "completed" before the answer was kept.
        answers: Counter[tuple[int, str]] = Counter()
        with ThreadPoolExecutor(SAME_KEY_AT_ONCE) as pool:
            for attempt in range(SAME_KEY_ROUNDS):
                body = {"name": f"Comedor Popular Virgen de Chapi {attempt}", "district": "Los Olivos", "mapped_on": "2026-11-20"}
                headers = {"Idempotency-Key": str(uuid4())}
                replies = list(pool.map(lambda _: system.registry.post("/osvs", json=body, headers=headers, timeout=60), range(SAME_KEY_AT_ONCE)))
                assert len({r.json()["id"] for r in replies if r.status_code == 201}) == 1, [r.text for r in replies]
                answers.update((r.status_code, "" if r.status_code == 201 else r.json()["errors"][0]["rule"]) for r in replies)
        assert set(answers) <= {(201, ""), (409, "idempotent_request_in_progress")}, answers
        assert len(system.registry.get("/osvs", params={"district": "Los Olivos"}).json()) == SAME_KEY_ROUNDS


def test_make_demo_loads_the_2021_story_into_the_launched_system_and_its_dashboard_shows_it(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("idp", "nats", "registry", "funding", "engagement", "reporting", "imports")}
    with launched(tmp_path / "var", ports) as system:
        # `make demo` with the variables given to `make run`, and nothing else: it finds every service and the provider from them.
        demo_env = {key: value for key, value in launcher_env(tmp_path / "var", ports).items() if not key.startswith("OSV_DEMO_")}
        demo = subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=demo_env, capture_output=True, text=True, timeout=300)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "Loaded the 2021 story: 30 OSVs" in demo.stdout
        assert f"Dashboard: http://127.0.0.1:{ports['reporting']}/dashboard" in demo.stdout
        system.wait_relayed()
        system.wait_applied()
        phase2 = system.indicators()["phases"][1]["indicators"]
        assert (phase2["projects_active"], phase2["beneficiaries_indirect"]) == (4, 1215)
        dashboard = system.reporting.get("/dashboard")
        assert dashboard.status_code == 200 and "Fase 2: proyectos de integración socioeconómica" in dashboard.text
        # On ports other than 8001-8003 too, every view reads its sources' feeds where the launcher put them.
        eventually(lambda: feeds_read(system, ("registry", "funding", "engagement", "reporting")), timeout=60)

        again = subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=demo_env, capture_output=True, text=True)
        assert again.returncode == 0 and "already loaded" in again.stdout
