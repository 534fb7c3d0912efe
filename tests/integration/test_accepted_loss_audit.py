"""An auditor checks a store taken past its stream by ``osv-restore accept-tail``: the loss is named, never taken for tampering.

Registry's store is put back from an older backup while its stream and its chain heads went on (as in
:mod:`tests.integration.test_restored_store`), and an operator accepts the stream's tail. The heads given out in the
lost tail name events the store will never hold: ``osv-verify`` and ``GET /verify`` said "FAILED at position N: the
head given out … names position N, which the store no longer holds", for good, and nothing in it named the operator's
``StreamTailAccepted`` record (tester 245 F7).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from audit import verify as osv_verify
from audit.verify import heads_from_nats, verify_feed
from devtools.embedded import NatsServer
from devtools.restore import main as restore_main
from tests.support.identity import signed_in_headers
from tests.support.restoring import (
    Backups,
    given_out_past_its_stream,
    heads_at,
    highest_head,
    map_osv,
    restored_behind_its_stream,
)
from tests.support.served import served_system
from tests.support.system import eventually, running_system


def accepted_past_heads_given_out(
    backups: Backups, nats_url: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """Registry's store put back behind its stream and the heads given out (up to the lost store's last position), and
    ``osv-restore accept-tail`` run on it; what it printed (``--json``)."""
    given_out_past_its_stream(backups, nats_url, heads_every=0.2)
    capsys.readouterr()
    assert restore_main(["accept-tail", "--json", *backups.cli(nats_url)]) == 0
    accepted: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert accepted["lost"] and accepted["given_out"] > accepted["stream_position"] > accepted["shared_position"]
    return accepted


def restored_and_accepted(backups: Backups, nats_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[Any, dict[str, Any]]:
    """Registry's store put back behind its stream (three OSVs kept, three in the stream alone, in Ate) and ``osv-restore
    accept-tail`` run on it: what was restored, and what it printed (``--json``)."""
    restored = restored_behind_its_stream(backups, nats_url)
    capsys.readouterr()
    assert restore_main(["accept-tail", "--json", *backups.cli(nats_url)]) == 0
    return restored, json.loads(capsys.readouterr().out)


def tampered_copy(store: Path, name: str, statement: str) -> str:
    """A copy of the SQLite store ``store`` with ``statement`` run on it, as someone with the file could; its URL."""
    copy = store.with_name(name)
    with closing(sqlite3.connect(store)) as live, closing(sqlite3.connect(copy)) as target:
        live.backup(target)
    with closing(sqlite3.connect(copy)) as connection:
        connection.execute(statement)
        connection.commit()
    return f"sqlite:///{copy}"


def test_after_accept_tail_the_audit_names_the_operators_record_and_tampering_elsewhere_still_fails(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = Backups(tmp_path / "var", None, None)
    accepted = accepted_past_heads_given_out(backups, nats_server.url, capsys)
    record, shared = accepted["given_out"], accepted["shared_position"]
    lost_heads = asyncio.run(heads_from_nats(nats_server.url, "registry"))
    assert any(shared < h.position <= record for h in lost_heads)  # heads given out in the tail the store lost

    # Started again, the service takes commands; its relay gives out heads of the chain past the record.
    heads = {"registry": {"chain_head_seconds": 0.2}}
    with served_system(backups.var, nats_server.url, backups.database_urls, overrides=heads) as (system, _):
        assert map_osv(system, "Vecinos después de la restauración").status_code == 201
        system.wait_relayed()
        eventually(lambda: asyncio.run(highest_head(nats_server.url)) > record)

        # GET /verify: the chain holds; the loss the operator accepted is named, with the heads that named its events.
        answer = system.registry.get("/verify").json()
        assert (answer["ok"], answer["outcome"], answer["first_failure"]) == (False, "accepted_loss", None), answer
        [loss] = answer["accepted_losses"]
        assert (loss["position"], loss["shared_position"], loss["stream_position"]) == (
            record,
            shared,
            accepted["stream_position"],
        )
        assert loss["lost"] == len(accepted["lost"]) and loss["accepted_at"]
        assert loss["heads_in_it"] and all(shared < p <= record for p in loss["heads_in_it"])
        assert loss["heads_after"] >= 1

        # osv-verify --feed reads the records from GET /chain: the same verdict.
        by_feed = verify_feed("registry", system.registry, asyncio.run(heads_from_nats(nats_server.url, "registry")))
        assert by_feed.outcome == "accepted_loss" and by_feed.accepted[0].record.position == record

    # osv-verify --store: exit 3, "ok with an accepted loss", the record named; never "FAILED", never a silent "ok".
    store = backups.var / "registry" / "events.db"
    assert osv_verify.main(["--service", "registry", "--store", backups.store_url, "--nats", nats_server.url]) == 3
    said = capsys.readouterr().out
    assert "registry: ok with an accepted loss" in said and "FAILED" not in said
    assert f"StreamTailAccepted record, position {record}" in said
    assert f"after the shared position {shared} up to {accepted['stream_position']}" in said
    assert f"{len(accepted['lost'])} events of the stream" in said
    assert loss["accepted_at"] in said
    assert (
        osv_verify.main(["--service", "registry", "--store", backups.store_url, "--nats", nats_server.url, "--json"])
        == 3
    )
    assert json.loads(capsys.readouterr().out)["outcome"] == "accepted_loss"

    # A real tamper elsewhere fails as ever: a changed byte before the loss, an event deleted outside its gap.
    changed = tampered_copy(
        store, "changed.db", "UPDATE stored_events SET state = CAST(state || ' ' AS BLOB) WHERE rowid = 1"
    )
    assert osv_verify.main(["--service", "registry", "--store", changed, "--nats", nats_server.url]) == 1
    said = capsys.readouterr().out
    assert "FAILED at position 1" in said and "it was changed, moved or inserted" in said
    deleted = tampered_copy(store, "deleted.db", f"DELETE FROM stored_events WHERE rowid = {shared}")
    assert osv_verify.main(["--service", "registry", "--store", deleted, "--nats", nats_server.url]) == 1
    assert f"FAILED at position {shared}" in capsys.readouterr().out


def test_a_head_given_out_twice_in_the_lost_tail_is_named_once_and_none_is_put_beside_it_at_the_record(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tester 259 F8: the lost store's relay, started again, put its last head again (a second revision of its key), and
    # the verdict listed `heads_in_it: [274, 274]`, "the heads given out at 274, 274". Tester 256 F7: after an
    # accept-tail that moved no event, its record was the store's last event, and the relay put a second head, of
    # another hash, under the lost one's key. The notices of the loss now follow the record: the store's head is past
    # it from the start, and no head of the store is put there.
    backups = Backups(tmp_path / "var", None, None)
    given_out_past_its_stream(backups, nats_server.url, heads_every=0.2, public_last=True, given_again=True)
    capsys.readouterr()
    assert restore_main(["accept-tail", "--json", *backups.cli(nats_server.url)]) == 0
    accepted = json.loads(capsys.readouterr().out)
    record = accepted["given_out"]
    assert (accepted["moved"], accepted["head_given_out"]) == ([], record)  # at the lost store's last head; none moved
    lost = asyncio.run(heads_at(nats_server.url, record))
    assert len(lost) == 2 and len(set(lost)) == 1  # one head, put twice

    heads = {"registry": {"chain_head_seconds": 0.2}}
    with served_system(backups.var, nats_server.url, backups.database_urls, overrides=heads) as (system, _):
        # The first head the store's relay puts: past the record, or (before the notices followed it) at the record.
        url = nats_server.url
        eventually(lambda: asyncio.run(highest_head(url)) > record or len(asyncio.run(heads_at(url, record))) > len(lost))
        assert asyncio.run(heads_at(url, record)) == lost  # none beside the lost one
        answer = system.registry.get("/verify").json()
        assert (answer["outcome"], answer["first_failure"]) == ("accepted_loss", None), answer
        [loss] = answer["accepted_losses"]
        in_it = loss["heads_in_it"]
        assert in_it.count(record) == 1 and in_it == sorted(set(in_it)), loss
        assert (loss["heads_in_it_differing"], loss["heads_of_record"], loss["heads_after_failing"]) == ([], 0, 0)
        assert loss["heads_after"] >= 1
        store_head = answer["head"]["position"]

    # osv-verify says it as GET /verify does: each position once; exit 3.
    verify_args = ["--service", "registry", "--store", backups.store_url, "--nats", nats_server.url]
    assert osv_verify.main(verify_args) == 3
    said = capsys.readouterr().out
    assert "registry: ok with an accepted loss" in said and "FAILED" not in said
    assert f"given out at {', '.join(str(p) for p in in_it)} named that lost tail" in said and f"{record}, {record}" not in said
    assert " head given out after the record agrees with it" in said or " heads given out after the record agree with it" in said

    # A head given out after the record that the store does not give: exit 1, and the loss names it among those after
    # the record (it said "… heads given out after the record agree with it", as if the failure were none of them).
    rewritten = tmp_path / "rewritten.json"
    rewritten.write_text(json.dumps([{"service": "registry", "position": store_head, "hash": "0" * 64}]))
    assert osv_verify.main([*verify_args, "--heads", str(rewritten)]) == 1
    said = capsys.readouterr().out
    assert f"registry: FAILED at position {store_head}: the head given out ({rewritten})" in said
    assert said.rstrip().endswith(f"given out after the record {'agrees' if loss['heads_after'] == 1 else 'agree'} with it; the one at {store_head} does not"), said
    assert osv_verify.main([*verify_args, "--heads", str(rewritten), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["outcome"], verdict["first_failure"]["position"]) == ("failed", store_head)
    assert verdict["accepted_losses"][0]["heads_after_failing"] == 1


def test_a_record_lost_with_an_accepted_tail_is_404_that_names_the_restore_not_only_unknown(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # GET of an OSV mapped in the tail the operator accepted as lost said only "OSV … does not exist", while reporting's
    # evidence still listed its events (tester 245 F7).
    backups = Backups(tmp_path / "var", None, None)
    restored, accepted = restored_and_accepted(backups, nats_server.url, capsys)

    with running_system(backups.var, nats_server.url) as system:
        answer = system.registry.get(f"/osvs/{restored.lost[0]}")
        assert answer.status_code == 404, answer.text
        problem = answer.json()
        record = problem["accepted_loss"]
        assert record["position"] == accepted["given_out"] and record["shared_position"] == accepted["shared_position"]
        day = record["accepted_at"][:10]
        assert f"lost with the stream's tail accepted at the restore on {day}" in problem["detail"]
        assert f"recorded at position {accepted['given_out']}" in problem["detail"]
        assert problem["errors"][0]["field"] == "osv_id"  # the field and the rule, as ever

        # An id no tail ever held is unknown, as ever; one the store kept is found.
        unknown = system.registry.get(f"/osvs/{uuid4()}").json()
        assert "accepted_loss" not in unknown and "restore" not in unknown["detail"]
        assert system.registry.get(f"/osvs/{restored.kept[0]}").status_code == 200


def test_the_lost_tails_note_is_for_the_record_asked_for_and_for_callers_reaching_all_of_lima(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tester 256 F1: a focal point of San Juan de Lurigancho asking for an OSV of Ate lost in the tail was told it had
    # been real, and when the restore was, where an id naming nothing (or a record outside the caller's scope) gets
    # plain words. F2: the note went on any 404 whose path held a lost subject: an OSV kept but changed in the lost
    # tail made "no event at version 999" read as a record lost in the restore.
    backups = Backups(tmp_path / "var", None, None)
    with running_system(backups.var, nats_server.url) as system:
        changed = map_osv(system, "Vecinos de Huaycán").json()["id"]
        system.wait_relayed()
    backups.back_up()
    with running_system(backups.var, nats_server.url) as system:
        assert system.registry.patch(f"/osvs/{changed}", json={"kind": "vecinal"}).status_code == 200
        lost = map_osv(system, "Vecinos de Santa Clara").json()["id"]
        system.wait_relayed()
        system.wait_applied()
    backups.restore()
    capsys.readouterr()
    assert restore_main(["accept-tail", "--json", *backups.cli(nats_server.url)]) == 0
    assert {e.get("subject") for e in json.loads(capsys.readouterr().out)["lost"]} >= {changed, lost}

    with running_system(backups.var, nats_server.url) as system:
        told = system.registry.get(f"/osvs/{lost}").json()  # the programme's staff: all of Lima
        assert "accepted_loss" in told and "lost with the stream's tail" in told["detail"]
        for focal_point in ("municipal-150132",):  # San Juan de Lurigancho's: the OSV is Ate's
            nothing = str(uuid4())
            plain = system.registry.get(f"/osvs/{lost}", headers=signed_in_headers(focal_point))
            unknown = system.registry.get(f"/osvs/{nothing}", headers=signed_in_headers(focal_point))
            assert plain.status_code == unknown.status_code == 404
            assert "accepted_loss" not in plain.json() and "restore" not in plain.json()["detail"], plain.text
            assert plain.json()["detail"] == unknown.json()["detail"].replace(nothing, lost)  # the same plain words
        # The kept OSV is there; what a 404 is about (a version of its history) is no lost record.
        assert system.registry.get(f"/osvs/{changed}").status_code == 200
        no_version = system.registry.post(f"/osvs/{changed}/history/999/redaction")
        assert no_version.status_code == 404, no_version.text
        assert "accepted_loss" not in no_version.json() and "restore" not in no_version.json()["detail"]
