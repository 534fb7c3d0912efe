"""A correction of a person's document whose save collides with another command on them, and is then refused.

Two staff at once on one member: the correction's save collides, it runs again and is refused (412 on its stale
``If-Match``, 409 when the new number was registered meanwhile). A refused command writes nothing: the person keeps
their document, a lookup by it finds them and a second registration with it is 409 (tester 233 F1: the old document's
rows were deleted before the save, so the person was found by neither number and registered twice). Runs on SQLite and
on PostgreSQL, as the store and the document index live on the database under test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.engagement.application import Engagement, cipher_env
from services.engagement.bootstrap import bootstrap
from services.engagement.domain.memberrules import Role, Sex
from services.engagement.personaldata import WRAPPING_PURPOSE, DataKey, DocumentDirectory, KeyRing, MasterKey
from services.engagement.settings import EngagementSettings
from services.engagement.views import GrantDirectory
from services.engagement.views import OSVDirectory as EngagementOSVs
from shared.documents import DocumentType
from shared.errors import PreconditionFailedError
from shared.views import make_engine
from tests.integration.test_engagement_api import map_osv
from tests.integration.test_kept_aggregates import mapped_osv
from tests.integration.test_personal_data import register_zoraida
from tests.integration.test_rectification import NEW_DNI, OLD_CE, _person, correct, lookup, shown
from tests.support.api import assert_problem
from tests.support.clients import application_of, service_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def meanwhile(client: TestClient, monkeypatch: pytest.MonkeyPatch, command: Callable[[Any], Any]) -> list[Any]:
    """Have ``command(engagement)`` made in full by another worker once the correction has read the member and claimed
    its new document, before it saves (at its check that the store is not behind its stream); what it did comes back
    (its result, or the error it raised)."""
    engagement = application_of(client)
    real = engagement.refuse_while_behind
    happened: list[Any] = []

    def then_another_command() -> None:
        if not happened:
            happened.append(None)

            def run() -> None:
                try:
                    happened[0] = command(engagement)
                except Exception as error:  # noqa: BLE001 - what the other command did is the test's to judge
                    happened[0] = error

            worker = threading.Thread(target=run)  # a context of its own, as another request's
            worker.start()
            worker.join()
        real()

    monkeypatch.setattr(engagement, "refuse_while_behind", then_another_command)
    return happened


def assert_still_holds_the_old_document(client: TestClient, member: dict[str, Any]) -> None:
    """The person still holds their document: their read shows it, a lookup by it finds them, and registering them again
    with it is 409 naming them."""
    after = shown(client, member["id"])
    assert (after["document_type"], after["document_number"]) == ("CE", OLD_CE)
    found = lookup(client, "CE", OLD_CE)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == member["id"]
    again = client.post(
        "/members", json={**_person(member["osv_id"]), "document_type": "CE", "document_number": OLD_CE}
    )
    assert_problem(again, 409, "document_number", "person_already_registered")
    assert member["id"] in again.json()["detail"]


def test_a_correction_refused_on_its_stale_etag_after_its_save_collided_leaves_the_document_found(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = register_zoraida(client, map_osv(client), role="member")
    tag = client.get(f"/members/{member['id']}", params={"purpose": "correction"}).headers["ETag"]
    membership_id = UUID(member["memberships"][0]["membership_id"])
    happened = meanwhile(
        client,
        monkeypatch,
        lambda engagement: engagement.change_role(
            UUID(member["id"]), membership_id, Role.BOARD_MEMBER, date(2024, 4, 1)
        ),
    )

    refused = correct(client, member["id"], headers={"If-Match": tag}, document_type="DNI", document_number=NEW_DNI)

    assert not isinstance(happened[0], Exception), happened  # the role was given meanwhile
    assert_problem(refused, 412, "If-Match", "current_version")
    assert_still_holds_the_old_document(client, member)
    assert lookup(client, "DNI", NEW_DNI).status_code == 404

    # Read again and sent again, the correction re-keys the index as it would have.
    monkeypatch.undo()
    tag = client.get(f"/members/{member['id']}", params={"purpose": "correction"}).headers["ETag"]
    taken = correct(client, member["id"], headers={"If-Match": tag}, document_type="DNI", document_number=NEW_DNI)
    assert taken.status_code == 200, taken.text
    assert lookup(client, "DNI", NEW_DNI).json()["id"] == member["id"]
    assert lookup(client, "CE", OLD_CE).status_code == 404


def test_a_correction_to_a_number_registered_meanwhile_is_409_and_leaves_the_document_found(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = register_zoraida(client, map_osv(client))
    happened = meanwhile(
        client,
        monkeypatch,
        lambda engagement: engagement.register_member(
            UUID(member["osv_id"]), "Luis Alberto Díaz", DocumentType.DNI, NEW_DNI, "VE", Sex.M, date(2024, 3, 1)
        ),
    )

    refused = correct(client, member["id"], document_type="DNI", document_number=NEW_DNI)

    assert not isinstance(happened[0], Exception), happened  # the number's holder was registered meanwhile
    assert_problem(refused, 409, "document_number", "person_already_registered")
    assert_still_holds_the_old_document(client, member)
    assert lookup(client, "DNI", NEW_DNI).json()["id"] != member["id"]


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", f"sqlite:///{tmp_path / 'events.db'}") as client:
        yield client


def test_the_old_documents_row_and_key_deleted_with_the_correction_leave_no_bytes_in_the_sqlite_file(sqlite_client: TestClient) -> None:
    # Deleted in the events' transaction now, not by an erasure's own: SQLite must still overwrite them and truncate its
    # log, or the old number's digest and its entry's wrapped key stay readable in the file. (The bytes of an SQLite
    # file: PostgreSQL's table is vacuumed as an erasure's is.)
    client = sqlite_client
    member = register_zoraida(client, map_osv(client))
    engagement = application_of(client)
    entry_id = engagement.documents.entry_of(f"CE:{OLD_CE}")
    digest = engagement.documents.digest(f"CE:{OLD_CE}").encode()
    with engagement.keys.engine.connect() as connection:
        wrapped = connection.execute(select(DataKey.wrapped).where(DataKey.owner_id == str(entry_id))).scalar_one()
    path = Path(str(engagement.keys.engine.url.database))

    assert correct(client, member["id"], document_type="DNI", document_number=NEW_DNI).status_code == 200

    assert lookup(client, "CE", OLD_CE).status_code == 404
    held = path.read_bytes() + (wal.read_bytes() if (wal := path.with_name(path.name + "-wal")).exists() else b"")
    assert digest not in held and wrapped not in held


def test_where_the_directory_lives_apart_from_the_store_a_refused_correction_forgets_nothing_and_a_taken_one_forgets(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key ring and directory given a database of their own: their rows are deleted just after the events are stored.
    settings = EngagementSettings(
        var_dir=tmp_path / "var", database_url=database_url, index_key_file=tmp_path / "index.key"
    )
    master = MasterKey.from_text(settings.resolve_master_key())
    views, apart = make_engine(f"sqlite:///{tmp_path / 'views.db'}"), make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    engagement = Engagement(
        {**bootstrap(settings).application_env(), **cipher_env(master.store_cipher_key())},
        osvs=EngagementOSVs(views, "engagement"),
        grants=GrantDirectory(views),
        keys=KeyRing(apart, master.subkey(WRAPPING_PURPOSE)),
        documents=DocumentDirectory(apart, settings.resolve_index_key()),
    )
    try:
        assert not engagement._in_store_database(apart)
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        member_id = engagement.register_member(
            osv.id, "Zoraida Pérez Quispe", DocumentType.CE, OLD_CE, "VE", Sex.F, date(2024, 3, 1)
        )
        member = engagement.get_member(member_id)
        tag = frozenset({engagement.version_of(member)})
        entry_id = engagement.documents.entry_of(f"CE:{OLD_CE}")
        real = engagement.refuse_while_behind

        def then_a_role() -> None:
            monkeypatch.undo()
            worker = threading.Thread(
                target=engagement.change_role,
                args=(member_id, member.latest_membership.membership_id, Role.BOARD_MEMBER, date(2024, 4, 1)),
            )
            worker.start()
            worker.join()
            real()

        monkeypatch.setattr(engagement, "refuse_while_behind", then_a_role)
        with pytest.raises(PreconditionFailedError):
            engagement.correct_personal_data(member_id, document=(DocumentType.DNI, NEW_DNI), expected=tag)
        assert engagement.find_member(DocumentType.CE, OLD_CE).id == member_id

        engagement.correct_personal_data(member_id, document=(DocumentType.DNI, NEW_DNI))
        assert engagement.find_member(DocumentType.DNI, NEW_DNI).id == member_id
        assert engagement.documents.entry_of(f"CE:{OLD_CE}") is None and engagement.keys.key_of(entry_id) is None
    finally:
        engagement.close()
