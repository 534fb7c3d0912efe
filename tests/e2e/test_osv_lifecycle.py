"""One OSV's whole life through registry and engagement, on real NATS, as programme staff live it.

Comas, 2021: the programme maps an OSV of Venezuelan and Peruvian neighbours,
the municipality's focal point changes, the OSV applies to the RUOS and is
observed because its president's Venezuelan cédula is not accepted, the board
changes, the application is amended and registered. Staff meet the OSV, it
paints a mural with its neighbours, one member emigrates and another asks to
be forgotten. Nothing of that person stays readable anywhere, and the report
does not move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.embedded import NatsServer
from tests.integration.test_faults import stream_messages
from tests.support.api import created, ok
from tests.support.ruos import ALL_DOCUMENTS
from tests.support.system import System, eventually, running_system

COMAS = "150110"
FORGOTTEN = {
    "full_name": "Rosmery del Valle Guerrero Lugo",
    "document_type": "PASAPORTE",
    "document_number": "VE0098877",
    "phone": "+51 987 654 321",
}


def join(system: System, osv_id: str, **person: Any) -> dict[str, Any]:
    """Engagement learns of the OSV from registry's events, so the first join may have to wait."""
    body = {"osv_id": osv_id, "nationality": "VE", "sex": "F", "joined_on": "2021-04-10", **person}
    return eventually(lambda: (r := system.engagement.post("/members", json=body)).status_code == 201 and r.json())


def test_an_osv_goes_from_mapping_to_registration_through_an_observation_and_a_forgotten_member_leaves_no_trace(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        # The programme's phases, so the report has somewhere to put each fact.
        created(system.funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30"}))
        created(system.funding.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}))

        # Mapping.
        osv = created(
            system.registry.post(
                "/osvs",
                json={
                    "name": "Vecinos Unidos de Collique",
                    "district": "comas",
                    "mapped_on": "2021-03-15",
                    "kind": "vecinal",
                    "composition": "mixed",
                    "focus_areas": ["employment", "anti_discrimination"],
                    "contact_channel": "whatsapp",
                },
            )
        )
        osv_id = osv["id"]

        # The municipality's focal point changes: continuity is not broken, the history shows both.
        first = created(
            system.registry.post(
                f"/municipalities/{COMAS}/focal-points",
                json={"office": "Subgerencia de Participación Vecinal", "role": "especialista", "assigned_on": "2021-02-01"},
            )
        )
        second = created(
            system.registry.post(
                f"/municipalities/{COMAS}/focal-points",
                json={"office": "Subgerencia de Participación Vecinal", "role": "coordinadora", "assigned_on": "2021-05-03"},
            )
        )
        comas = ok(system.registry.get(f"/municipalities/{COMAS}"))
        assert comas["current_focal_point"]["focal_point_id"] == second["focal_point_id"]
        assert [f["focal_point_id"] for f in comas["focal_points"]] == [first["focal_point_id"], second["focal_point_id"]]
        assert comas["focal_points"][0]["left_on"] == "2021-05-03"
        without = ok(system.registry.get("/municipalities", params={"without_focal_point": "true"}))
        assert COMAS not in [m["id"] for m in without]

        # Members: the president holds a Venezuelan cédula, which Comas does not accept.
        president = join(
            system, osv_id, full_name="Yajaira Coromoto Díaz", document_type="CEDULA_VE", document_number="V-14.556.789", role="president"
        )
        treasurer = join(
            system, osv_id, full_name="Juana Quispe Huamán", document_type="DNI", document_number="41236587", nationality="PE", role="board_member"
        )
        cpp_holder = join(
            system, osv_id, full_name="Luis Alfonso Rojas Pérez", document_type="CPP", document_number="CPP123456", sex="M"
        )
        forgotten = join(system, osv_id, birth_year=1988, **FORGOTTEN)
        assert (forgotten["full_name"], forgotten["document_number"]) == ("[masked]", None)  # a command's answer shows none
        shown = ok(system.engagement.get(f"/members/{forgotten['id']}?purpose=contact"))
        assert (shown["full_name"], shown["document_number"]) == (FORGOTTEN["full_name"], FORGOTTEN["document_number"])
        emigrant = join(system, osv_id, full_name="Carlos Eduardo Marcano", document_type="PTP", document_number="PTP998877", sex="M")

        # Registry learns the counts (never the people) and says what is missing.
        for document in ALL_DOCUMENTS:
            created(system.registry.post(f"/osvs/{osv_id}/documents", json={"document": document, "prepared_on": "2021-06-01"}))
        readiness = eventually(
            lambda: (r := ok(system.registry.get(f"/osvs/{osv_id}/ruos-readiness")))["counts_known"]
            and r["members_total"] == 5
            and r
        )
        assert readiness["missing_documents"] == []
        assert readiness["board_members_with_unaccepted_documents"] == 1
        assert readiness["members_with_unaccepted_documents"] == 2  # the cédula and the passport
        assert readiness["ready"] is False

        # Applying anyway is allowed, and flagged.
        application = created(
            system.registry.post(
                f"/osvs/{osv_id}/ruos-applications",
                json={"municipality_id": COMAS, "submitted_on": "2021-06-14", "documents": ALL_DOCUMENTS},
            )
        )
        application_id = application["application_id"]
        assert application["id_documents_flagged"] is True

        # Observed on Thursday 24 June: five working days, skipping the weekend and Tuesday 29 June (San Pedro y San Pablo).
        observed = ok(
            system.registry.post(
                f"/osvs/{osv_id}/ruos-applications/{application_id}/observation",
                json={"observed_on": "2021-06-24", "reasons": [{"code": "id_document_not_accepted"}]},
            ),
            201,
        )
        assert observed["amend_by"] == "2021-07-02"

        # The board changes so that the president holds an accepted document; the OSV amends in time.
        ok(
            system.engagement.post(
                f"/members/{president['id']}/memberships/{president['memberships'][0]['membership_id']}/role",
                json={"role": "member", "changed_on": "2021-06-28"},
            )
        )
        ok(
            system.engagement.post(
                f"/members/{cpp_holder['id']}/memberships/{cpp_holder['memberships'][0]['membership_id']}/role",
                json={"role": "president", "changed_on": "2021-06-28"},
            )
        )
        eventually(
            lambda: ok(system.registry.get(f"/osvs/{osv_id}/ruos-readiness"))["board_members_with_unaccepted_documents"] == 0
        )
        created(
            system.registry.post(
                f"/osvs/{osv_id}/ruos-applications/{application_id}/amendment",
                json={"amended_on": "2021-07-01", "documents": ["nomina_junta_directiva", "acta_eleccion_junta_directiva"]},
            )
        )
        created(
            system.registry.post(
                f"/osvs/{osv_id}/ruos-applications/{application_id}/registration",
                json={
                    "registered_on": "2021-07-12",
                    "ruos_number": "RUOS-COMAS-2021-017",
                    "resolution_number": "RGM-0456-2021-MDC",
                    "board_term_ends_on": "2023-07-11",
                },
            )
        )
        registered = ok(system.registry.get(f"/osvs/{osv_id}"))
        assert registered["ruos"]["status"] == "registered"
        assert registered["ruos"]["number"] == "RUOS-COMAS-2021-017"

        # Follow-up: a meeting with two actions, one done.
        meeting = created(
            system.engagement.post(
                f"/osvs/{osv_id}/meetings",
                json={
                    "held_on": "2021-07-20",
                    "mode": "in_person",
                    "attendee_member_ids": [cpp_holder["id"], treasurer["id"]],
                    "other_attendees": 1,
                    "topics": ["ruos_registration", "project_follow_up"],
                    "action_items": [
                        {"description": "Enviar padrón actualizado", "owner": "junta directiva", "due_on": "2021-08-03"},
                        {"description": "Preparar propuesta de proyecto", "owner": "junta directiva", "due_on": "2021-09-01"},
                    ],
                },
            )
        )
        first_action = meeting["action_items"][0]["action_id"]
        ok(system.engagement.post(f"/osvs/{osv_id}/actions/{first_action}/completion", json={"completed_on": "2021-08-02"}), 200)
        follow_up = ok(system.engagement.get(f"/osvs/{osv_id}/follow-up"))
        assert follow_up["last_contact"] == {"on": "2021-07-20", "kind": "meeting"}
        assert len(follow_up["open_actions"]) == 1

        # An activity with neighbours: a mural and a recovered public space.
        created(
            system.engagement.post(
                "/activities",
                json={
                    "osv_id": osv_id,
                    "held_on": "2021-11-06",
                    "kind": "mural_painting",
                    "district": "Comas",
                    "direct_beneficiaries": [
                        {"nationality": "VE", "sex": "F", "count": 18},
                        {"nationality": "VE", "sex": "M", "count": 11},
                        {"nationality": "PE", "sex": "F", "count": 9},
                        {"nationality": "PE", "sex": "M", "count": 7},
                    ],
                    "indirect_beneficiaries": 160,
                    "outputs": [{"kind": "mural", "count": 1}, {"kind": "public_space_recovered", "count": 1}],
                },
            )
        )

        # One member emigrates.
        ok(system.engagement.post(f"/members/{emigrant['id']}/departure", json={"left_on": "2021-11-20", "reason": "moved_abroad"}))

        system.wait_relayed()
        system.wait_applied()
        before = system.indicators()

        # Another asks to be forgotten.
        ok(system.engagement.post(f"/members/{forgotten['id']}/erasure", json={"erased_on": "2021-12-01"}), 200)
        erased = ok(system.engagement.get(f"/members/{forgotten['id']}?purpose=contact"))
        assert erased["full_name"] != FORGOTTEN["full_name"] and erased["document_number"] is None
        assert erased["personal_data"] == "erased"

        system.wait_relayed()
        system.wait_applied()
        after = system.indicators()
        assert after["heads"] != before["heads"]  # the erasure's events moved the chain heads reporting knows
        assert {**after, "heads": None} == {**before, "heads": None}  # and no figure, so not the digest either
        feeds = {name: client.get("/events", params={"limit": 1000}).text for name, client in system.writers().items()}

    secrets = [FORGOTTEN["full_name"], "Rosmery", FORGOTTEN["document_number"], "987 654 321", "987654321"]
    for root in (tmp_path / "var", Path(nats_server.store_dir)):
        for path in root.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in content, f"{secret!r} in {path}"
    for payload in stream_messages(nats_server.url):
        assert not any(secret.encode() in payload for secret in secrets)
    for feed in feeds.values():
        assert not any(secret in feed for secret in secrets)
