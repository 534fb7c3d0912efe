"""Sealing personal data on its own: keys derived from the master key, fields sealed per person.

No database: the key ring here is a ``FakeKeyRing`` that keeps keys in a dict.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import date
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex

from services.engagement.domain.documents import DocumentIndex
from services.engagement.domain.memberrules import Sex
from services.engagement.domain.members import Member
from services.engagement.personaldata import (
    ANSWERS_PURPOSE,
    SEALED_FIELDS,
    STORE_PURPOSE,
    WRAPPING_PURPOSE,
    InvalidMasterKeyError,
    MasterKey,
    SealingMapper,
)
from shared.documents import DocumentType
from shared.store import DateAsISO

NAME = "Yusmary Cordero Palacios"


class FakeKeyRing:
    """The key ring's contract, in memory."""

    def __init__(self) -> None:
        self.keys: dict[UUID, bytes] = {}

    def key_of(self, owner_id: UUID) -> bytes | None:
        return self.keys.get(owner_id)

    def key_for_sealing(self, owner_id: UUID) -> bytes:
        return self.keys.setdefault(owner_id, os.urandom(32))

    def forget(self, *owner_ids: UUID) -> None:
        for owner_id in owner_ids:
            self.keys.pop(owner_id, None)


def a_mapper(keys: FakeKeyRing) -> SealingMapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return SealingMapper(transcoder, keys=keys, sealed_fields=SEALED_FIELDS)  # type: ignore[arg-type]


def a_member() -> Member:
    return Member.register(
        full_name=NAME,
        document_type=DocumentType.CE,
        document_number="001234567",
        nationality="VE",
        sex=Sex.F,
        birth_year=1991,
        osv_id=uuid4(),
        joined_on=date(2024, 3, 1),
        today=date(2025, 1, 1),
        phone="+51987654321",
    )


def test_each_purpose_has_its_own_subkey_always_the_same_for_one_master_key() -> None:
    master = MasterKey(os.urandom(32))

    subkeys = [master.subkey(p) for p in (WRAPPING_PURPOSE, STORE_PURPOSE, ANSWERS_PURPOSE)]

    assert len(set(subkeys)) == 3
    assert all(len(k) == 32 for k in subkeys)
    assert master.subkey(ANSWERS_PURPOSE) == subkeys[2]
    assert MasterKey(os.urandom(32)).subkey(ANSWERS_PURPOSE) != subkeys[2]
    assert base64.b64decode(master.store_cipher_key()) == subkeys[1]


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"too short").decode()])
def test_a_master_key_that_is_not_base64_of_an_aes_key_is_refused(text: str) -> None:
    with pytest.raises(InvalidMasterKeyError):
        MasterKey.from_text(text)


def test_personal_fields_are_sealed_on_the_way_to_the_store_and_read_back_with_the_persons_key() -> None:
    keys = FakeKeyRing()
    mapper = a_mapper(keys)
    member = a_member()
    registered, joined = member.collect_events()

    stored = mapper.to_stored_event(registered)

    for secret in (NAME.encode(), b"001234567", b"51987654321", b'"birth_year":1991'):
        assert secret not in stored.state
    # the birth year sealed as the others are (four digits alone turn up in the event's timestamp: ".319918" once in CI)
    assert set(json.loads(stored.state)["birth_year"]) == {"sealed"}
    assert b"CE" in stored.state and b"VE" in stored.state  # what is not personal stays readable to the store cipher
    back = mapper.to_domain_event(stored)
    assert (back.full_name, back.document_number, back.phone, back.birth_year) == (NAME, "001234567", "+51987654321", 1991)
    assert registered.full_name == NAME  # the domain event itself is left as it was
    assert mapper.to_domain_event(mapper.to_stored_event(joined)).osv_id == joined.osv_id


def test_once_the_key_is_forgotten_the_sealed_fields_read_as_redacted() -> None:
    keys = FakeKeyRing()
    mapper = a_mapper(keys)
    member = a_member()
    stored = mapper.to_stored_event(member.collect_events()[0])

    keys.forget(member.id)

    back = mapper.to_domain_event(stored)
    assert (back.full_name, back.document_number, back.phone, back.birth_year) == ("[erased]", None, None, None)
    assert (back.document_type, back.nationality) == ("CE", "VE")


def test_a_field_sealed_under_a_replaced_key_reads_as_redacted() -> None:
    keys = FakeKeyRing()
    mapper = a_mapper(keys)
    member_id = uuid4()
    index = DocumentIndex(id=DocumentIndex.id_for("d"), member_id=member_id)
    stored = mapper.to_stored_event(index.collect_events()[0])
    assert mapper.to_domain_event(stored).member_id == member_id

    # The holder is forgotten and the document registered again: the entry has a new key.
    keys.forget(index.id)
    keys.key_for_sealing(index.id)

    assert mapper.to_domain_event(stored).member_id is None


def test_staffs_words_are_withheld_on_every_path_a_seal_names_and_nothing_else_changes() -> None:
    from services.registry.application import SEALED_FIELDS
    from services.registry.domain.osvs import OSV
    from shared.roles import WITHHELD_TEXT, Caller, shown_text
    from shared.sealing import withheld

    observed = {
        "application_id": "a1",
        "observed_on": date(2021, 5, 3),
        "reasons": [{"code": "other", "detail": "Falta la firma de la Sra. Carmen Ñañez"}, {"code": "missing_document", "detail": None}],
        "amend_by": date(2021, 5, 17),
    }
    shown = withheld(observed, SEALED_FIELDS[OSV.RUOSApplicationObserved], WITHHELD_TEXT)

    assert shown == {**observed, "reasons": [{"code": "other", "detail": "[withheld]"}, {"code": "missing_document", "detail": None}]}
    assert observed["reasons"][0]["detail"] == "Falta la firma de la Sra. Carmen Ñañez"  # a copy: the event is untouched
    assert withheld({"since": date(2021, 6, 1)}, None, WITHHELD_TEXT) == {"since": date(2021, 6, 1)}
    readers = {role: Caller(role, frozenset({role})).may_read_staff_text for role in ("staff", "lead", "municipal-150132", "auditor", "evaluator", "dpo", "partner-150132")}
    assert readers == {"staff": True, "lead": True, "municipal-150132": False, "auditor": False, "evaluator": False, "dpo": False, "partner-150132": False}
    assert (shown_text("notas", False), shown_text(None, False), shown_text("notas", True)) == ("[withheld]", None, "notas")
    # Tester 33 F13: a text forgotten holds no words; an auditor reading "[withheld]" could not see it was destroyed.
    forgotten = {**observed, "reasons": [{"code": "other", "detail": "[redacted]"}, {"code": "missing_document", "detail": None}]}
    assert withheld(forgotten, SEALED_FIELDS[OSV.RUOSApplicationObserved], WITHHELD_TEXT) == forgotten
    assert shown_text("[redacted]", False) == "[redacted]"
