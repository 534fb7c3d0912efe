"""After ``osv-restore accept-tail``, reporting and partners are told: the service publishes ``StreamTailLost``.

Registry's store is put back from an older backup while its stream kept three OSVs more (as in
:mod:`tests.integration.test_restored_store`), and an operator accepts the stream's tail. Registry answers 404 for
those OSVs, naming its private ``StreamTailAccepted`` record; but reporting's evidence went on citing them, with
nothing on its side saying why the service no longer knows them, and no partner learnt of the loss (tester 245 F7).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
import pytest

from devtools.embedded import NatsServer
from devtools.nats_accounts import source_filter
from services.reporting.rebuild import main as rebuild_main
from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from tests.integration.test_accepted_loss_audit import restored_and_accepted
from tests.support.restoring import STREAM, Backups, osvs_identified
from tests.support.system import eventually, running_system

ATE = "150103"


async def messages_of(url: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The subject and CloudEvent of each message of registry's stream of type ``kind``, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(STREAM, sequence)
            cloudevent = json.loads(message.data)
            if cloudevent["type"] == kind:
                found.append((message.subject, cloudevent))
        return found
    finally:
        await nc.close()


def taken_by(subject: str, filter_subject: str) -> bool:
    """Whether a NATS filter (``*`` one token, ``>`` the rest) takes ``subject``."""
    tokens, wanted = subject.split("."), filter_subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or token not in ("*", tokens[i]):
            return False
    return len(tokens) == len(wanted)


def evidence_rows(answer: dict[str, Any]) -> dict[str, Any]:
    """Each evidence row's subject → its ``lost_from_source``."""
    return {row["subject"]: row.get("lost_from_source", "absent") for row in answer["events"]}


def test_after_accept_tail_the_loss_is_published_to_partners_and_reporting_marks_the_lost_facts_evidence(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = Backups(tmp_path / "var", None, None)
    restored, accepted = restored_and_accepted(backups, nats_server.url, capsys)
    record, shared = accepted["given_out"], accepted["shared_position"]

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        system.wait_relayed()
        # Published like any event: one for the programme (under none: the MML's partners and reporting), one for Ate,
        # whose partners held the lost OSVs; right after the private record, before anything the store takes next.
        told = eventually(lambda: asyncio.run(messages_of(nats_server.url, "StreamTailLost")) or None)
        assert [subject for subject, _ in told] == [
            "osv.registry.none.StreamTailLost",
            f"osv.registry.{ATE}.StreamTailLost",
        ]
        assert [e["position"] for _, e in told] == [record + 1, record + 2]
        programme, ate = (e["data"] for _, e in told)
        lost = len(accepted["lost"])
        assert programme == {
            "service": "registry",
            "municipality_id": None,
            "shared_position": shared,
            "stream_position": restored.stream_position,
            "record_position": record,
            "lost": lost,
            "lost_here": lost,
            "accepted_at": programme["accepted_at"],
            "occurred_on": programme["occurred_on"],
        }
        assert (ate["municipality_id"], ate["lost_here"], ate["record_position"]) == (ATE, 3, record)
        assert ate["accepted_at"] == programme["accepted_at"]
        for _, cloudevent in told:  # counts and positions only: no record id
            assert not any(osv_id in json.dumps(cloudevent) for osv_id in [*restored.lost, *restored.kept])
        # Every partner of Ate's, and the MML's, takes its notice in its stream.
        ate_filter = source_filter("registry", ATE)
        assert taken_by(told[1][0], ate_filter) and not taken_by(told[0][0], ate_filter)
        assert taken_by(told[0][0], source_filter("registry", "mml"))

        # Registry's 404 names its record; reporting's evidence says the same of each lost OSV, and counts it still.
        missing = system.registry.get(f"/osvs/{restored.lost[0]}").json()
        assert missing["accepted_loss"]["position"] == record
        marker = {"accepted_at": programme["accepted_at"], "record_position": record}

        def marked() -> dict[str, Any] | None:
            rows = evidence_rows(system.reporting.get("/indicators/osvs_identified/evidence").json())
            return rows if rows.get(restored.lost[0]) == marker else None

        rows = eventually(marked)
        assert all(rows[osv_id] == marker for osv_id in restored.lost), rows
        assert all(rows[osv_id] is None for osv_id in restored.kept), rows
        assert osvs_identified(system) == 6  # figures do not change: the facts stand as published

    # A rebuild from the stream marks the same rows.
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    assert rebuild_main(["--database-url", rebuilt, "--nats-url", nats_server.url]) == 0
    engine = make_engine(rebuilt)
    try:
        assert evidence_rows(ReadModel(engine).evidence("osvs_identified", "total")) == rows
    finally:
        engine.dispose()
