"""An ``Idempotency-Key`` retried by its own caller gets the answer kept for it; by another caller, never that answer.

Real services in this process, the session's real identity provider and the tokens it issued to the demo accounts
(the roles' stories: ``test_roles_api.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem, created, ok
from tests.support.identity import IssuedTokens
from tests.support.roles import SJL, SMP, an_osv

pytestmark = pytest.mark.timeout(180)


# -- retries ------------------------------------------------------------------------------------------------


def test_an_answer_kept_for_an_idempotency_key_is_never_replayed_to_another_caller(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    registry = system["registry"]
    body = {"name": "OSV", "district": SJL, "mapped_on": "2021-02-01"}
    keyed = {"Idempotency-Key": "a-key-shared-by-accident"}
    first = created(registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("staff")}))
    again = registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("staff")})
    assert again.status_code == 201 and again.json() == first and again.headers["idempotent-replayed"] == "true"
    other = registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("lead")})
    assert_problem(other, 422, "Idempotency-Key", "idempotency_key_reused")
    assert other.json()["same_request"] is True and "another caller for this same request" in other.json()["detail"]
    nobody = registry.post("/osvs", json=body, headers={**keyed, "Authorization": ""})
    assert nobody.status_code == 401


def test_a_key_taken_first_by_another_caller_for_another_request_is_told_from_the_same_request(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Someone with write rights sends a request of their own under the key the Kobo import will use for a submission
    ("key squatting"). The import got the same 422 as for its own request sent by a colleague, and took the submission
    for recorded: the bogus request won without a word. The answer now says which it is (``same_request``)."""
    registry = system["registry"]
    key = {"Idempotency-Key": "kobo:3f2c8e1a-0b7d-4c55-9d1e-6a4f2b8c9e10:osv_mapping:osv"}
    created(registry.post("/osvs", json={"name": "Bogus", "district": SJL, "mapped_on": "2021-02-01"}, headers={**key, **tokens.headers("lead")}))

    submission = registry.post("/osvs", json={"name": "OSV", "district": SJL, "mapped_on": "2021-02-01"}, headers={**key, **tokens.headers("staff")})

    problem = assert_problem(submission, 422, "Idempotency-Key", "idempotency_key_reused")
    assert problem["same_request"] is False and "used for another request" in problem["detail"]


def test_a_caller_the_route_refuses_gets_its_403_never_the_keys_answer_about_another_callers_request(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33 F14: the key was looked up before the route's permission. A partner, an evaluator, an auditor or a focal
    point, sending a Kobo submission's predictable key with a guessed body, got 422 ``same_request: true`` for the right
    guess and ``false`` for a wrong one (a person's name or document confirmed field by field, even after their
    erasure), where without the key the route answers them 403."""
    engagement = system["engagement"]
    osv = an_osv(system, SJL)
    key = {"Idempotency-Key": "kobo:0d8c5f7e-2b1a-4c3d-9e8f-7a6b5c4d3e2f:osv_members:miembros/1"}
    body = {"osv_id": osv, "full_name": "Wilmer José Parra Linares", "document_type": "PTP", "document_number": "002345678",
            "nationality": "VE", "sex": "M", "joined_on": "2021-04-01"}
    member_id = created(engagement.post("/members", json=body, headers={**key, **tokens.headers("staff")}))["id"]

    for role in ("partner-150132", "evaluator", "auditor", "municipal-150132"):
        for guess in (body, {**body, "document_number": "002345679"}):
            answer = engagement.post("/members", json=guess, headers={**key, **tokens.headers(role)})
            assert answer.status_code == 403, (role, answer.text)
            assert "same_request" not in answer.json() and "Idempotency-Key" not in answer.text, (role, answer.text)
    lead = assert_problem(engagement.post("/members", json=body, headers={**key, **tokens.headers("lead")}), 422)
    assert lead["same_request"] is True  # a caller who may send it is told, as before
    # A key that is no key is judged once the caller may send the request too (tester 33c F7: 422 to anyone first).
    assert engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", "Authorization": ""}).status_code == 401
    assert engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", **tokens.headers("auditor")}).status_code == 403
    assert_problem(engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", **tokens.headers("lead")}), 422,
                   "Idempotency-Key", "idempotency_key_format")

    # Once the person is erased, the key's record (which outlives them) no longer compares anyone's guess with it:
    # neither another caller's (same_request) nor the first caller's (its replay, or 409, against a 422 for another
    # body: tester 33c F2, the Kobo webhook resending an edited submission).
    ok(engagement.post(f"/members/{member_id}/erasure", json={"erased_on": "2021-12-01"}, headers=tokens.headers("dpo")))
    assert_the_key_says_the_same_whatever_is_guessed(
        engagement, "/members", key, (body, {**body, "document_number": "002345679"}), ("lead", "staff"), tokens
    )


def assert_the_key_says_the_same_whatever_is_guessed(
    client: TestClient, path: str, key: dict[str, str], guesses: tuple[dict[str, Any], ...], roles: tuple[str, ...], tokens: IssuedTokens
) -> None:
    """A key whose request recorded something since forgotten: one answer to every role, for every guess, naming nothing."""
    answers = []
    for role in roles:
        for guess in guesses:
            answer = client.post(path, json=guess, headers={**key, **tokens.headers(role)})
            problem = assert_problem(answer, 409, "Idempotency-Key", "idempotent_request_completed")
            assert problem.get("forgotten") is True and "same_request" not in problem and "recorded" not in problem, problem
            answers.append(answer.content)
    assert len(set(answers)) == 1, answers


def test_a_key_whose_request_wrote_a_text_since_redacted_confirms_no_guess_of_it_to_anyone(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33c F3: a note naming a person, redacted for good, could still be confirmed word by word through its key:
    another writer got ``same_request: true`` for the right words and ``false`` for others, its first sender a 409
    against a 422."""
    registry, engagement = system["registry"], system["engagement"]
    osv = an_osv(system, SJL)
    key = {"Idempotency-Key": "t33c-contact-lost"}
    note = {"since": "2021-06-01", "note": "Presidenta Rosa Quispe, tel. 987111222, se mudó a Ica"}
    created(registry.post(f"/osvs/{osv}/contact-lost", json=note, headers={**key, **tokens.headers("staff")}))
    guesses = (note, {**note, "note": "Presidenta Ana Quispe"})
    before = assert_problem(registry.post(f"/osvs/{osv}/contact-lost", json=guesses[1], headers={**key, **tokens.headers("lead")}), 422)
    assert before["same_request"] is False  # while the words stand, a writer is told, as before
    version = max(e["version"] for e in ok(registry.get(f"/osvs/{osv}/history", headers=tokens.headers("auditor"))))
    ok(registry.post(f"/osvs/{osv}/history/{version}/redaction", headers=tokens.headers("staff")))
    assert_the_key_says_the_same_whatever_is_guessed(registry, f"/osvs/{osv}/contact-lost", key, guesses, ("lead", "staff"), tokens)

    meeting = {"held_on": "2021-05-10", "mode": "in_person", "attendee_member_ids": [], "other_attendees": 3,
               "topics": ["ruos_registration"], "notes": "La señora Carmen Huamán, 999888777, pidió ayuda", "action_items": []}
    meeting_key = {"Idempotency-Key": "t33c-meeting"}
    held = created(engagement.post(f"/osvs/{osv}/meetings", json=meeting, headers={**meeting_key, **tokens.headers("staff")}))
    ok(engagement.post(f"/osvs/{osv}/meetings/{held['meeting_id']}/redaction", headers=tokens.headers("staff")))
    assert_the_key_says_the_same_whatever_is_guessed(
        engagement, f"/osvs/{osv}/meetings", meeting_key, (meeting, {**meeting, "notes": "Otra"}), ("lead", "staff"), tokens
    )


def test_a_focal_point_reusing_a_key_another_caller_used_outside_their_district_gets_the_routes_404(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33c F1: a focal point of San Juan de Lurigancho sending the key staff used to register another district's
    OSV in its RUOS got 422 ``same_request: true`` for the right RUOS number and ``false`` for another, where without
    the key the route answers them 404: what another district's OSV was registered with, confirmed guess by guess."""
    registry = system["registry"]
    elsewhere, own = an_osv(system, SMP), an_osv(system, SJL)
    key = {"Idempotency-Key": "t33c-ruos-1"}
    body = {"municipality_id": "150135", "ruos_number": "RUOS-T33C-001", "registered_on": "2021-11-20"}
    created(registry.post(f"/osvs/{elsewhere}/ruos-registration", json=body, headers={**key, **tokens.headers("staff")}))
    for guess in (body, {**body, "ruos_number": "RUOS-T33C-002"}):
        answer = registry.post(f"/osvs/{elsewhere}/ruos-registration", json=guess, headers={**key, **tokens.headers("municipal-150132")})
        assert answer.status_code == 404 and "same_request" not in answer.json() and "Idempotency-Key" not in answer.text, answer.text
    renewal = registry.post(f"/osvs/{elsewhere}/board-renewal", json={"renewed_on": "2021-12-01", "term_ends_on": "2023-12-01"},
                            headers={**key, **tokens.headers("municipal-150132")})
    assert renewal.status_code == 404 and "Idempotency-Key" not in renewal.text, renewal.text
    lead = assert_problem(registry.post(f"/osvs/{elsewhere}/ruos-registration", json=body, headers={**key, **tokens.headers("lead")}), 422)
    assert lead["same_request"] is True  # a caller who reaches that district is told, as before

    # Their own district's record under a key they took: told as anyone is.
    own_key = {"Idempotency-Key": "t33c-ruos-own"}
    own_body = {"municipality_id": "150132", "ruos_number": "RUOS-T33C-003", "registered_on": "2021-11-20"}
    created(registry.post(f"/osvs/{own}/ruos-registration", json=own_body, headers={**own_key, **tokens.headers("staff")}))
    mine = registry.post(f"/osvs/{own}/ruos-registration", json=own_body, headers={**own_key, **tokens.headers("municipal-150132")})
    assert assert_problem(mine, 422, "Idempotency-Key", "idempotency_key_reused")["same_request"] is True
