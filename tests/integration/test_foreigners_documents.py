"""A Peruvian (nationality PE) with a document Peru gives foreigners only (a CE, a PTP, a CPP, an asylum claim's) over
HTTP: 422 ``document_for_foreigners`` on ``document_type`` (tester 262 F5), in the same answer as the body's other
mistakes (tester 266 F2), at registration and at a correction; nothing recorded. The rule itself: the domain's tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_engagement_api import a_person, client, join  # noqa: F401 - the fixture
from tests.support.clients import head

pytestmark = pytest.mark.timeout(60)


def rules(answer: object) -> list[tuple[str, str]]:
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    return [(e["field"], e["rule"]) for e in answer.json()["errors"]]  # type: ignore[attr-defined]


def test_a_peruvian_with_a_ce_is_told_so_with_the_forms_other_mistakes_in_one_answer(client: TestClient) -> None:  # noqa: F811
    before = head(client)
    form = a_person(document_type="CE", document_number="12345", nationality="pe", phone="12", full_name="Rosa Quispe Mamani")
    for params in ({}, {"dry_run": "true"}):
        said = rules(client.post("/members", json=form, params=params))
        assert ("document_type", "document_for_foreigners") in said and ("phone", "phone_6_to_15_digits") in said, said
        assert any(field == "document_number" for field, _ in said), said  # the CE's five digits, in the same answer
    # The number put right, the rule alone; the form's words never carry the number.
    answer = client.post("/members", json=a_person(document_type="CE", document_number="001234567", nationality="PE"))
    assert rules(answer) == [("document_type", "document_for_foreigners")] and "001234567" not in answer.text
    assert head(client) == before
    assert join(client, document_type="DNI", document_number="45678912", nationality="PE")["id"]  # her DNI


def test_a_correction_to_peruvian_of_a_ce_holder_is_refused_and_both_corrected_together_are_taken(client: TestClient) -> None:  # noqa: F811
    member = join(client, document_type="CE", document_number="001234567", nationality="VE")
    before = head(client)
    assert rules(client.post(f"/members/{member['id']}/correction", json={"nationality": "PE"})) == [("document_type", "document_for_foreigners")]
    assert head(client) == before
    both = client.post(f"/members/{member['id']}/correction", json={"nationality": "PE", "document_type": "DNI", "document_number": "45678912"})
    assert both.status_code == 200, both.text
