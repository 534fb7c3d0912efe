"""An OSV registry lost with its stream's tail (``osv-restore accept-tail``) gets one true answer in funding and engagement.

Registry's store put back from an older backup lacks the OSVs mapped after it, whose ``OSVMapped`` stay on its stream;
an operator accepted the loss, and registry told it (``StreamTailLost``: positions, never ids) and answers 404 for them.
Funding's OSV directory built from the stream held such an OSV and took grants for it; one built from registry's feed
never held it and answered 422 "mapped a moment ago, retry after 1 s" for ever (tester 259 F7). A grant taken for such an
OSV before the notice arrived went on taking tranches and deliveries: funding checked only the OSV's dissolution there.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from devtools.embedded import NatsServer
from services.funding.application import Funding
from services.funding.domain.deliveries import DeliveredItem
from services.funding.domain.grants import GrantKind
from shared.errors import ConflictError
from shared.money import Currency
from shared.settings import sqlalchemy_url
from shared.store import persistence_env
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory, OSVLostInRegistryError, OSVNotInRegistryError
from tests.integration.test_accepted_loss_audit import restored_and_accepted
from tests.integration.test_stores import registry_event
from tests.support.restoring import Backups
from tests.support.system import eventually, running_system

ACCEPTED_AT = "2026-05-04T15:20:00+00:00"
KEPT, CHANGED, LOST = str(uuid4()), str(uuid4()), str(uuid4())


def mapped(position: int, osv_id: str) -> dict[str, Any]:
    return registry_event(position, "OSVMapped", osv_id, name="Vecinos", district="Ate", zone="Lima Este", mapped_on="2021-04-01",
                          occurred_on="2021-04-01")


def told(position: int, municipality_id: str | None) -> dict[str, Any]:
    """Registry's notice of a tail lost after position 3 up to its record at 7 (the stream's last was 6): the programme's
    copy, or a district's."""
    event = registry_event(position, "StreamTailLost", "", service="registry", municipality_id=municipality_id, shared_position=3,
                           stream_position=6, record_position=7, lost=3, lost_here=3, accepted_at=ACCEPTED_AT, occurred_on="2026-05-04")
    del event["data"]["osv_id"]  # positions and counts only
    return event


SHARED = [mapped(1, KEPT), mapped(2, CHANGED), registry_event(3, "OSVNameCorrected", KEPT, name="Vecinos de Ate", occurred_on="2021-04-02")]
"""Registry's events its restored store holds still."""
LOST_TAIL = [
    mapped(4, LOST),
    registry_event(5, "RUOSRegistered", CHANGED, ruos_number="R-9", registered_on="2021-05-01", occurred_on="2021-05-01"),
    registry_event(6, "RUOSRegistered", LOST, ruos_number="R-10", registered_on="2021-05-02", occurred_on="2021-05-02"),
]
"""The stream's events after position 3: the store lost them."""
NOTICES = [told(8, None), told(9, "150103")]


def directory(database_url: str) -> OSVDirectory:
    return OSVDirectory(make_engine(sqlalchemy_url(database_url)), "funding")


def refused_as_lost(osvs: OSVDirectory, osv_id: str) -> OSVLostInRegistryError:
    with pytest.raises(OSVLostInRegistryError) as refused:
        osvs.require_active(UUID(osv_id), on=date(2021, 10, 20), dated="granted_on")
    return refused.value


@pytest.mark.parametrize("notices_first", [False, True], ids=["in-stream-order", "notices-first"])
def test_a_directory_built_from_the_stream_refuses_an_osv_mapped_in_the_lost_tail_as_lost(database_url: str, notices_first: bool) -> None:
    osvs = directory(database_url)
    for batch in ([NOTICES, SHARED, LOST_TAIL] if notices_first else [SHARED, LOST_TAIL, NOTICES]):
        osvs.apply(batch)

    lost = refused_as_lost(osvs, LOST)
    assert isinstance(lost, ConflictError) and not hasattr(lost, "retry_after")  # 409, no Retry-After: it never comes
    assert (lost.field, lost.rule) == ("osv_id", "osv_lost_in_registry_restore")
    assert f"registry's store lost OSV {LOST} in a restore accepted on 2026-05-04" in lost.message
    assert "map the organisation again in registry" in lost.message
    assert lost.extensions == {"accepted_loss": {"accepted_at": ACCEPTED_AT, "record_position": 7, "shared_position": 3, "stream_position": 6}}

    # Registry holds the OSVs mapped before the lost tail: one changed in it (its RUOS registration lost) is active still.
    assert osvs.require_active(UUID(KEPT), on=date(2021, 10, 20), dated="granted_on").osv_id == KEPT
    assert osvs.require_active(UUID(CHANGED), on=date(2021, 10, 20), dated="granted_on").ruos_number == "R-9"


def test_a_directory_rebuilt_from_registrys_feed_names_the_restore_for_an_osv_it_never_heard_of(database_url: str) -> None:
    """The feed lacks the lost events, and the notice names no id: the directory cannot tell a lost OSV from a wrong id or
    one mapped a moment ago; its 422 says all three, and what staff do, instead of promising the OSV within seconds."""
    osvs = directory(database_url)
    osvs.apply(SHARED)
    with pytest.raises(OSVNotInRegistryError) as before:
        osvs.require_active(UUID(LOST), on=date(2021, 10, 20), dated="granted_on")
    assert "restore" not in before.value.message  # no loss told: the plain words

    osvs.apply(NOTICES)  # the feed: registry's store after the restore, the lost tail left out
    with pytest.raises(OSVNotInRegistryError) as unknown:
        osvs.require_active(UUID(LOST), on=date(2021, 10, 20), dated="granted_on")
    said = unknown.value
    assert (said.field, said.rule) == ("osv_id", "osv_mapped_in_registry")
    assert "lost the OSVs mapped after the backup it was restored from (a restore accepted on 2026-05-04" in said.message
    assert "map it again in registry and use its new id" in said.message
    assert osvs.not_in_registry(UUID(LOST)).message == said.message  # engagement's look-up says the same


def test_a_grant_taken_for_an_osv_registry_then_lost_takes_no_tranche_nor_delivery(database_url: str) -> None:
    """Funding took grants for the OSV mapped in the tail while it was registry's; once the notice arrives, a fact on
    such a grant is refused as the OSV is, and the grants of an OSV registry kept take theirs as ever."""
    osvs = directory(database_url)
    osvs.apply([*SHARED, *LOST_TAIL])
    funding = Funding(persistence_env(database_url), osvs=osvs)
    try:
        seed, goods, kept = (
            funding.grant_fund(UUID(osv), Decimal("1000.00"), Currency.PEN, date(2021, 6, 1), kind)
            for osv, kind in ((LOST, GrantKind.SEED_FUND), (LOST, GrantKind.GOODS), (KEPT, GrantKind.SEED_FUND))
        )
        osvs.apply(NOTICES)  # registry's store put back, the loss accepted: registry answers 404 for LOST

        with pytest.raises(OSVLostInRegistryError) as tranche:
            funding.disburse(seed, 1, Decimal("400.00"), date(2021, 7, 1))
        with pytest.raises(OSVLostInRegistryError) as delivery:
            funding.deliver_goods(goods, [DeliveredItem("plancha", 2, Decimal("150.00"))], date(2021, 7, 1))
        for refused in (tranche.value, delivery.value):
            assert (refused.field, refused.rule) == ("osv_id", "osv_lost_in_registry_restore")
            assert f"registry's store lost OSV {LOST} in a restore accepted on 2026-05-04" in refused.message
            assert refused.extensions["accepted_loss"]["record_position"] == 7
        assert not funding.get_grant(seed).disbursements and not funding.get_grant(goods).deliveries  # nothing written

        funding.disburse(kept, 1, Decimal("400.00"), date(2021, 7, 1))
        assert len(funding.get_grant(kept).disbursements) == 1
    finally:
        funding.close()


def test_after_accept_tail_funding_and_engagement_refuse_a_lost_osv_as_lost_and_take_a_kept_one(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = Backups(tmp_path / "var", None, None)
    restored, accepted = restored_and_accepted(backups, nats_server.url, capsys)
    grant = {"amount": "1000.00", "currency": "PEN", "granted_on": "2021-04-02", "kind": "seed_fund"}
    member = {"full_name": "Yusmary Pérez", "document_type": "CPP", "document_number": "000371933", "nationality": "VE", "sex": "F",
              "joined_on": "2021-04-02"}

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        system.wait_relayed()
        lost = restored.lost[0]
        gone = system.registry.get(f"/osvs/{lost}").json()
        day = gone["accepted_loss"]["accepted_at"][:10]  # the day registry's 404 names

        def refused(client: Any, path: str, body: dict[str, Any]) -> Any:
            """A dry run (nothing recorded) until the notice has reached the directory: 201 before, then the 409."""
            answer = client.post(path, json={**body, "osv_id": lost}, headers={"Dry-Run": "true"})
            return answer if answer.status_code == 409 else None

        for client, path, body in ((system.funding, "/grants", grant), (system.engagement, "/members", member)):
            eventually(lambda client=client, path=path, body=body: refused(client, path, body))
            answer = client.post(path, json={**body, "osv_id": lost})
            assert answer.status_code == 409, answer.text
            assert "Retry-After" not in answer.headers, answer.headers
            problem = answer.json()
            assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("osv_id", "osv_lost_in_registry_restore")], problem
            assert f"registry's store lost OSV {lost} in a restore accepted on {day}" in problem["detail"], problem
            assert problem["accepted_loss"]["record_position"] == accepted["given_out"], problem

        assert system.funding.post("/grants", json={**grant, "osv_id": restored.kept[0]}).status_code == 201
