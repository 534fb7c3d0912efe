"""A municipality's history: who assigned each focal point and recorded its departure, who changed the accepted identity
documents, who recorded each agreement, read by auditors as an OSV's history is.

Focal points rotate: an auditor, or the official who takes the post over, needs to
see who appointed whom and who changed what the municipality accepts. Each command
records its caller beside its events (``command_actors``), and ``GET
/municipalities/{id}/history`` shows it as ``recorded_by``, with the roles, paging,
404 and free text (an agreement's commitments: ``[withheld]`` to auditors,
``[redacted]`` to everyone once forgotten) of ``GET /osvs/{id}/history``. Real
registry, the session's identity provider and its tokens; on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry.application import Registry
from services.registry.history import SEALED_FIELDS as HISTORY_SEALED_FIELDS
from tests.integration.test_command_actors import account
from tests.support.api import assert_problem, created, ok
from tests.support.clients import feed, service_client
from tests.support.identity import IssuedTokens, SignedInAs

pytestmark = pytest.mark.timeout(180)

SJL, COMAS = "150132", "150110"
HISTORY = f"/municipalities/{SJL}/history"
COMMITMENT = "Yésica Ñáñez coordina las mesas"
AGREEMENT = {"title": "Convenio RUOS", "signed_on": "2021-05-01", "commitments": [COMMITMENT, "Difundir el RUOS"], "document_reference": "CONV-7"}
WITHHELD, REDACTED = "[withheld]", "[redacted]"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def commitments_in_history(registry: TestClient, who: str) -> list[str]:
    """The agreement's commitments as ``who`` reads them in the municipality's history."""
    history = ok(SignedInAs(registry, who).get(HISTORY))
    return next(e["data"]["commitments"] for e in history if e["type"] == "AgreementSigned")


def test_the_history_shows_who_appointed_each_focal_point_changed_the_documents_and_signed_the_agreement(
    var_dir: Path, database_url: str, tokens: IssuedTokens
) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        staff, lead = SignedInAs(registry, "staff"), SignedInAs(registry, "lead")
        first = created(staff.post(f"/municipalities/{SJL}/focal-points", json={"office": "Participación vecinal", "role": "Subgerente",
                                                                                "assigned_on": "2021-01-15"}))
        created(lead.post(f"/municipalities/{SJL}/focal-points", json={"office": "Participación vecinal", "role": "Gerente",
                                                                       "assigned_on": "2021-06-01"}))  # a rotation: the first leaves that day
        ok(staff.put(f"/municipalities/{SJL}/accepted-documents", json={"accepted": ["DNI", "CE", "PTP", "CPP", "PASAPORTE"],
                                                                        "changed_on": "2021-03-01"}))
        agreement = created(lead.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT))

        history = ok(SignedInAs(registry, "auditor").get(HISTORY))
        by_staff, by_lead = account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"])
        assert [(e["version"], e["type"], e["recorded_by"]) for e in history] == [
            (1, "MunicipalityRecordOpened", by_staff),
            (2, "FocalPointAssigned", by_staff),
            (3, "FocalPointLeft", by_lead),
            (4, "FocalPointAssigned", by_lead),
            (5, "AcceptedDocumentsChanged", by_staff),
            (6, "AgreementSigned", by_lead),
        ]
        assert history[2]["data"]["focal_point_id"] == first["focal_point_id"]
        assert history[3]["data"]["role"] == "Gerente" and history[4]["data"]["accepted"][-1] == "PASAPORTE"
        assert {k: history[5]["data"][k] for k in ("agreement_id", "title", "document_reference")} == {
            "agreement_id": agreement["agreement_id"], "title": "Convenio RUOS", "document_reference": "CONV-7",
        }

        # The commitments are staff's words: [withheld] to the auditor, as written to staff and leads.
        assert commitments_in_history(registry, "auditor") == [WITHHELD, WITHHELD]
        for reader in ("staff", "lead"):
            assert commitments_in_history(registry, reader) == AGREEMENT["commitments"]

        # Forgotten: [redacted] to everyone, and the redaction is on the record with who made it.
        ok(staff.post(f"/municipalities/{SJL}/agreements/{agreement['agreement_id']}/redaction"))
        for reader in ("staff", "lead", "auditor"):
            assert commitments_in_history(registry, reader) == [REDACTED, REDACTED]
        last = ok(SignedInAs(registry, "auditor").get(HISTORY))[-1]
        assert (last["type"], last["data"], last["recorded_by"]) == (
            "AgreementCommitmentsRedacted", {"municipality_id": SJL, "agreement_id": agreement["agreement_id"]}, by_staff,
        )
        assert "recorded_by" not in repr(feed(registry))  # who recorded each is never published


def test_only_those_who_read_osvs_histories_read_a_municipalitys_and_a_focal_point_not_even_its_own(var_dir: Path) -> None:
    with service_client("registry", var_dir) as registry:
        created(registry.post(f"/municipalities/{SJL}/focal-points", json={"office": "Gerencia", "role": "Gerente", "assigned_on": "2021-01-15"}))
        for reader in ("staff", "lead", "auditor"):
            assert [e["type"] for e in ok(SignedInAs(registry, reader).get(HISTORY))] == ["MunicipalityRecordOpened", "FocalPointAssigned"]
        for refused in (f"municipal-{SJL}", "evaluator", "dpo", f"partner-{SJL}"):
            assert_problem(SignedInAs(registry, refused).get(HISTORY), 403)  # as for an OSV of its district: no audit:read
        assert_problem(registry.get(HISTORY, headers={"Authorization": ""}), 401)


def test_the_history_is_paged_empty_for_a_municipality_nothing_was_recorded_about_and_404_for_none(var_dir: Path) -> None:
    with service_client("registry", var_dir) as registry:
        for day in ("2021-01-15", "2021-02-15", "2021-03-15"):
            created(registry.post(f"/municipalities/{SJL}/focal-points", json={"office": "Gerencia", "role": "Gerente", "assigned_on": day}))
        whole = ok(registry.get(HISTORY))
        assert len(whole) == 6  # opened, assigned, then twice (left, assigned)

        first = registry.get(HISTORY, params={"limit": 4})
        assert [e["version"] for e in ok(first)] == [1, 2, 3, 4]
        following = first.links["next"]["url"]
        assert [e["version"] for e in ok(registry.get(following))] == [5, 6]

        assert ok(registry.get(f"/municipalities/{COMAS}/history")) == []
        assert ok(registry.get("/municipalities/mml/history")) == []
        assert_problem(registry.get("/municipalities/070101/history"), 404, "municipality_id", "known_municipality")
        assert_problem(registry.get("/municipalities/callao/history"), 404, "municipality_id", "known_municipality")


def test_commitments_stored_in_clear_before_they_were_sealed_read_redacted_in_the_history_once_forgotten(
    var_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their words stay in the stored event (the log is append-only): the municipality's record of the redaction is what
    makes the history read them ``[redacted]``, as it makes ``GET /municipalities/{id}`` read them so."""
    with monkeypatch.context() as before_sealing:  # registry as it was: only an OSV's history's words sealed
        before_sealing.setattr(Registry, "SEALED_FIELDS", HISTORY_SEALED_FIELDS)
        with service_client("registry", var_dir, database_url) as registry:
            agreement: dict[str, Any] = created(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT))

    with service_client("registry", var_dir, database_url) as registry:
        assert commitments_in_history(registry, "staff") == AGREEMENT["commitments"]
        assert commitments_in_history(registry, "auditor") == [WITHHELD, WITHHELD]
        ok(registry.post(f"/municipalities/{SJL}/agreements/{agreement['agreement_id']}/redaction"))
        for reader in ("staff", "lead", "auditor"):
            assert commitments_in_history(registry, reader) == [REDACTED, REDACTED]
        assert COMMITMENT not in repr(ok(registry.get(HISTORY)))
