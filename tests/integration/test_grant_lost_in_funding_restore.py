"""A grant funding lost with its stream's tail (``osv-restore accept-tail``) takes no more enrolments or activities in engagement.

Funding's store put back from an older backup lacks the grants made after it, whose ``FundGranted`` stay on its stream;
an operator accepted the loss, and funding told it (``StreamTailLost``: positions, never ids) and answers 404 for them,
so no closing can ever be recorded for them. Engagement's grant directory built from the stream held such a grant and
went on enrolling people in its project and taking activities under it; one built from funding's feed never held it and
answered 422 "made a moment ago, retry after 1 s" for ever (tester 256 F5).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer
from devtools.restore import main as restore_main
from services.engagement.views.grants import GrantDirectory, GrantLostInFundingError, GrantNotInFundingError
from shared.errors import ConflictError
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.restoring import Backups, map_osv
from tests.support.system import eventually, running_system

ACCEPTED_AT = "2026-05-04T15:20:00+00:00"
OSV = str(uuid4())
KEPT, CLOSED_LATE, LOST = str(uuid4()), str(uuid4()), str(uuid4())


def funding_event(position: int, event_type: str, grant_id: str, **data: Any) -> dict[str, Any]:
    return {
        "id": f"funding:{position}", "source": "urn:osv-platform:funding", "type": event_type, "subject": grant_id,
        "time": "2021-06-01T12:00:00Z", "position": position, "data": {"grant_id": grant_id, **data},
    }


def granted(position: int, grant_id: str) -> dict[str, Any]:
    return funding_event(position, "FundGranted", grant_id, osv_id=OSV, kind="seed_fund", amount="1000.00", currency="PEN",
                         granted_on="2021-06-01", support="first_time", proposal_id=None, round_id=None, occurred_on="2021-06-01")


def told(position: int, municipality_id: str | None) -> dict[str, Any]:
    """Funding's notice of a tail lost after position 3 up to its record at 7 (the stream's last was 6): the programme's
    copy, or a district's."""
    event = funding_event(position, "StreamTailLost", "", service="funding", municipality_id=municipality_id, shared_position=3,
                          stream_position=6, record_position=7, lost=3, lost_here=3, accepted_at=ACCEPTED_AT, occurred_on="2026-05-04")
    del event["data"]["grant_id"]  # positions and counts only
    return event


SHARED = [granted(1, KEPT), granted(2, CLOSED_LATE), funding_event(3, "DisbursementMade", KEPT, tranche=1, occurred_on="2021-06-02")]
"""Funding's events its restored store holds still."""
LOST_TAIL = [
    granted(4, LOST),
    funding_event(5, "GrantClosed", CLOSED_LATE, osv_id=OSV, closed_on="2021-12-20", occurred_on="2021-12-20"),
    funding_event(6, "DisbursementMade", LOST, tranche=1, occurred_on="2021-06-03"),
]
"""The stream's events after position 3: the store lost them."""
NOTICES = [told(8, None), told(9, "150103")]


def directory(database_url: str) -> GrantDirectory:
    return GrantDirectory(make_engine(sqlalchemy_url(database_url)))


@pytest.mark.parametrize("notices_first", [False, True], ids=["in-stream-order", "notices-first"])
def test_a_directory_built_from_the_stream_refuses_a_grant_made_in_the_lost_tail_as_lost(database_url: str, notices_first: bool) -> None:
    grants = directory(database_url)
    for batch in ([NOTICES, SHARED, LOST_TAIL] if notices_first else [SHARED, LOST_TAIL, NOTICES]):
        grants.apply(batch)

    for dated in ("enrolled_on", "held_on"):  # an enrolment, an activity under the grant
        with pytest.raises(GrantLostInFundingError) as refused:
            grants.require_open(UUID(LOST), on=date(2021, 10, 20), dated=dated)
        lost = refused.value
        assert isinstance(lost, ConflictError) and not hasattr(lost, "retry_after")  # 409, no Retry-After: it never comes
        assert (lost.field, lost.rule) == ("grant_id", "grant_lost_in_funding_restore")
        assert f"funding's store lost grant {LOST} in a restore accepted on 2026-05-04" in lost.message
        assert "record the grant again in funding and record this with its new id" in lost.message
        assert lost.extensions == {"accepted_loss": {"accepted_at": ACCEPTED_AT, "record_position": 7, "shared_position": 3, "stream_position": 6}}

    # Funding holds the grants made before the lost tail: one closed in it (the closing lost) is open still.
    assert grants.require_open(UUID(KEPT), on=date(2021, 10, 20), dated="enrolled_on").grant_id == KEPT
    assert grants.require(UUID(CLOSED_LATE)).closed_on == date(2021, 12, 20)  # what the stream told stays applied


def test_a_directory_rebuilt_from_fundings_feed_names_the_restore_for_a_grant_it_never_heard_of(database_url: str) -> None:
    """The feed lacks the lost events, and the notice names no id: the directory cannot tell a lost grant from a wrong id
    or one made a moment ago; its 422 says all three, and what staff do, instead of promising the grant within seconds."""
    grants = directory(database_url)
    grants.apply(SHARED)
    with pytest.raises(GrantNotInFundingError) as before:
        grants.require(UUID(LOST))
    assert "restore" not in before.value.message  # no loss told: the plain words

    grants.apply(NOTICES)  # the feed: funding's store after the restore, the lost tail left out
    with pytest.raises(GrantNotInFundingError) as unknown:
        grants.require_open(UUID(LOST), on=date(2021, 10, 20), dated="enrolled_on")
    said = unknown.value
    assert (said.field, said.rule) == ("grant_id", "grant_made_in_funding") and said.retry_after
    assert "lost the grants made after the backup it was restored from (a restore accepted on 2026-05-04" in said.message
    assert "record the grant again in funding and use its new id" in said.message


def test_after_accept_tail_on_funding_engagement_refuses_a_lost_grant_as_lost_and_enrols_in_a_kept_one(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = Backups(tmp_path / "var", None, None, service="funding")
    member = {"full_name": "Yusmary Pérez", "document_type": "CPP", "document_number": "000371933", "nationality": "VE", "sex": "F",
              "joined_on": "2021-04-02"}

    def taken(client: Any, path: str, body: dict[str, Any]) -> Any:
        """The command once the other services' events it names have arrived (201), until then 422 with Retry-After."""
        answer = client.post(path, json=body)
        return answer if answer.status_code == 201 else None

    def grant(system: Any, osv_id: str, granted_on: str) -> str:
        body = {"osv_id": osv_id, "amount": "1000.00", "currency": "PEN", "granted_on": granted_on, "kind": "seed_fund"}
        return str(eventually(lambda: taken(system.funding, "/grants", body)).json()["id"])

    def enrolment(system: Any, member_id: str, grant_id: str, dry_run: bool = False) -> Any:
        return system.engagement.post(f"/members/{member_id}/participations", json={"grant_id": grant_id, "enrolled_on": "2021-06-01"},
                                      headers={"Dry-Run": "true"} if dry_run else {})

    with running_system(backups.var, nats_server.url) as system:
        osv_id = map_osv(system, "Vecinos de Ate").json()["id"]
        member_id = eventually(lambda: taken(system.engagement, "/members", {**member, "osv_id": osv_id})).json()["id"]
        kept = grant(system, osv_id, "2021-04-02")
        system.wait_relayed()
    backups.back_up()
    with running_system(backups.var, nats_server.url) as system:
        lost = grant(system, osv_id, "2021-05-03")
        eventually(lambda: enrolment(system, member_id, lost, dry_run=True).status_code == 201)  # engagement knows it
        system.wait_relayed()
    backups.restore()
    capsys.readouterr()
    assert restore_main(["accept-tail", "--json", *backups.cli(nats_server.url)]) == 0
    capsys.readouterr()

    with running_system(backups.var, nats_server.url) as system:
        system.wait_relayed()
        gone = system.funding.get(f"/grants/{lost}")
        assert gone.status_code == 404, gone.text
        loss = gone.json()["accepted_loss"]  # funding's 404 names the loss (its record at `position`): no closing can be recorded

        # A dry run (nothing recorded) until the notice has reached the directory: 201 before, then the 409.
        eventually(lambda: enrolment(system, member_id, lost, dry_run=True).status_code == 409)
        answer = enrolment(system, member_id, lost)
        assert answer.status_code == 409, answer.text
        assert "Retry-After" not in answer.headers, answer.headers
        problem = answer.json()
        assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("grant_id", "grant_lost_in_funding_restore")], problem
        assert f"funding's store lost grant {lost} in a restore accepted on {loss['accepted_at'][:10]}" in problem["detail"], problem
        said = problem["accepted_loss"]
        assert (said["record_position"], said["shared_position"]) == (loss["position"], loss["shared_position"]), problem

        assert enrolment(system, member_id, kept).status_code == 201


@pytest.mark.parametrize(
    ("service", "path", "rules"),
    [
        ("engagement", "/members/{member_id}/participations", ["grant_lost_in_funding_restore"]),
        ("engagement", "/activities", ["osv_lost_in_registry_restore", "grant_lost_in_funding_restore"]),
        ("funding", "/grants/{grant_id}/disbursements", ["osv_lost_in_registry_restore"]),
        ("funding", "/grants/{grant_id}/goods-deliveries", ["osv_lost_in_registry_restore"]),
    ],
)
def test_the_openapi_document_names_the_409_of_a_record_another_service_lost_in_a_restore(
    funding: TestClient, engagement: TestClient, service: str, path: str, rules: list[str]
) -> None:
    document = {"funding": funding, "engagement": engagement}[service].get("/openapi.json").json()

    answer = document["paths"][path]["post"]["responses"]["409"]

    assert all(f"`{rule}`" in answer["description"] for rule in rules), answer["description"]
    assert "headers" not in answer  # no Retry-After: the record will not come back
    assert "twice, too late, already done" in answer["description"]  # the generic 409 is still described
    assert "application/problem+json" in answer["content"]
