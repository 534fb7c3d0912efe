"""``osv-restore`` as an operator runs it: against ``make run``'s nats-server, with ``make run`` stopped, and its words.

Registry's store is put back from an older backup, behind its stream, as in
:mod:`tests.integration.test_restored_store`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.embedded import NatsServer
from devtools.processes import port_accepts
from devtools.restore import main as restore_main
from tests.support.api import a_districts_file
from tests.support.clients import NATS_OUT_OF_REACH
from tests.support.restoring import Backups, map_osv, restored_behind_its_stream
from tests.support.system import running_system


@pytest.fixture
def make_run_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The environment ``make run`` is run with (``OSV_VAR_DIR``), none of a service's own variables set; its ``var/``."""
    var = tmp_path / "var"
    for name in ("REGISTRY_NATS_URL", "REGISTRY_VAR_DIR", "REGISTRY_DATABASE_URL", "OSV_HOST", "OSV_NATS_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OSV_VAR_DIR", str(var))
    return var


def test_osv_restore_finds_make_runs_nats_on_its_port_and_starts_it_alone_once_make_run_is_stopped(
    make_run_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `make run` on another port than 4222 (OSV_NATS_PORT): osv-restore read 4222 all the same; and `make run` stops its
    # nats-server with the services, so with registry stopped there was no NATS to read (tester 28b, M3).
    var = make_run_env
    backups = Backups(var, None, None)
    with NatsServer(var / "nats", port=0) as server:  # make run's: its JetStream store and accounts under var/nats
        restored = restored_behind_its_stream(backups, server.url)
        port = server.port
        monkeypatch.setenv("OSV_NATS_PORT", str(port))
        assert restore_main(["check", "--service", "registry"]) == 1
        assert f"its stream OSV_REGISTRY holds events up to {restored.stream_position}" in capsys.readouterr().out

    assert not port_accepts("127.0.0.1", port)  # make run stopped, nats-server with it
    assert restore_main(["accept-tail", "--service", "registry"]) == 0
    said = capsys.readouterr()
    assert f"started make run's nats-server alone on 127.0.0.1:{port}" in said.err
    assert "Done:" in said.out
    assert not port_accepts("127.0.0.1", port)  # and stopped it again

    with NatsServer(var / "nats", port=port) as server, running_system(var, server.url) as system:  # make run again
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text


def test_osv_restore_takes_a_plain_path_as_the_sqlite_store_and_refuses_other_urls_in_one_line(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--store /…/var/funding/events.db` ended in a traceback (ValueError: unsupported database URL scheme '') (tester 28b, L).
    backups = Backups(tmp_path / "var", None, None)
    restored = restored_behind_its_stream(backups, nats_server.url)
    capsys.readouterr()
    nats = ["--nats-url", nats_server.url]
    assert restore_main(["check", "--service", "registry", "--store", str(backups.var / "registry" / "events.db"), *nats]) == 1
    assert f"holds events up to {restored.stream_position}" in capsys.readouterr().out
    monkeypatch.chdir(backups.var)
    assert restore_main(["check", "--service", "registry", "--store", "registry/events.db", *nats]) == 1
    capsys.readouterr()

    assert restore_main(["check", "--service", "registry", "--store", "registry/nothing.db", *nats]) == 2
    assert f"no store at {backups.var / 'registry' / 'nothing.db'}" in capsys.readouterr().err
    assert restore_main(["check", "--service", "registry", "--store", "mysql://osv@db/registry", *nats]) == 2
    said = capsys.readouterr().err
    assert "--store mysql://osv@db/registry" in said and "sqlite:///" in said and "Traceback" not in said
    assert len(said.strip().splitlines()) == 1


def test_check_says_the_stores_private_events_stay_private(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # `check` said of the store's never-published events that "the relay publishes them", private ones too (tester 28b, L).
    backups = Backups(tmp_path / "var", None, None)
    restored_behind_its_stream(backups, nats_server.url)  # the backup ends with a private event: the district's roll
    with running_system(backups.var, NATS_OUT_OF_REACH) as system:  # and takes a command before its relay looks
        assert map_osv(system, "Vecinos sin NATS").status_code == 201
    capsys.readouterr()
    assert restore_main(["check", *backups.cli(nats_server.url)]) == 1
    unpublished = next(line for line in capsys.readouterr().out.splitlines() if "never published" in line)
    assert "the relay publishes the 1 public one" in unpublished, unpublished
    assert "private ones never leave the store" in unpublished, unpublished


def test_osv_restore_given_a_districts_file_that_breaks_a_rule_stops_in_one_line_naming_it(
    make_run_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It reads registry's file, as ``make run`` gives it to nats-server: a district without its zone was a traceback
    (tester 314 F3). Nothing is started nor read."""
    districts = a_districts_file(tmp_path, {"ubigeo": "150144", "name": "Nuevo Horizonte"})
    monkeypatch.setenv("REGISTRY_DISTRICTS_FILE", str(districts))
    assert restore_main(["check", "--service", "funding"]) == 2
    said = capsys.readouterr().err
    assert said == (f"osv-restore: REGISTRY_DISTRICTS_FILE is refused: the districts file {districts}: the district 'Nuevo Horizonte' "
                    "has no zone (every district has ubigeo, name, zone)\n"), said
    assert not make_run_env.exists()
