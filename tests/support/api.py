"""What the API tests share: reading answers, and the other services' events fed to a service's local views.

A service learns of OSVs and grants from registry's and funding's events on
NATS. An API test of one service stands the others in with hand-built
CloudEvents given to the real consumer handlers (``osvs.apply``,
``grants.apply``): the same code path, without the other services running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

NUEVO_HORIZONTE = {"ubigeo": "150144", "name": "Nuevo Horizonte", "zone": "Lima Este", "valid_from": "2021-01-01"}
"""A district as a law could create one: not in the shipped table."""


SJL_ALTO = {"ubigeo": "150146", "name": "San Juan de Lurigancho Alto", "zone": "Lima Este", "valid_from": "2021-01-01"}
"""A district a law could create whose name is a near miss of another's (San Juan de Lurigancho, 150132) for a table without it."""


def a_districts_file(directory: Path, *added: dict[str, str]) -> Path:
    """The shipped districts table plus Nuevo Horizonte (150144), or the districts ``added``, written to ``directory``:
    a ``districts_file`` setting."""
    table = json.loads((Path(__file__).parents[2] / "shared" / "data" / "districts.json").read_text("utf-8"))
    table["districts"].extend(added or [NUEVO_HORIZONTE])
    path = directory / "districts.json"
    path.write_text(json.dumps(table), "utf-8")
    return path


def ok(response: Any, status: int = 200) -> Any:
    """The answer's JSON, once it is known to have this status."""
    assert response.status_code == status, response.text
    return response.json()


def look_up(client: Any, document_type: str, document_number: str, purpose: str | None = "duplicate_check", **request: Any) -> Any:
    """Engagement's lookup by document, ``POST /members/lookup`` (the number in its body, never in a URL); ``request``:
    the client's other arguments (``headers``, ``params``)."""
    body = {"document_type": document_type, "document_number": document_number}
    if purpose is not None:
        body["purpose"] = purpose
    return client.post("/members/lookup", json=body, **request)


def created(response: Any) -> dict[str, Any]:
    """The answer's JSON, once it is known to be 201 Created."""
    return ok(response, 201)  # type: ignore[no-any-return]


def assert_problem(response: Any, status: int, field: str | None = None, rule: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status, naming ``field`` (and its ``rule``) among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"], body
    if field is not None:
        fields = [e["field"] for e in body["errors"]]
        assert field in fields, body
        if rule is not None:
            assert body["errors"][fields.index(field)]["rule"] == rule, body
    elif rule is not None:
        assert rule in [e["rule"] for e in body["errors"]], body
    return body


def cloudevent(service: str, kind: str, position: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{service}:{position}", "source": f"urn:osv-platform:{service}", "type": kind, "position": position, "data": data}


@dataclass
class Upstream:
    """Registry (and funding) as a service hears them, one hand-built CloudEvent at a time."""

    app: Any
    """The application whose views are fed: funding's or engagement's (``osvs``, and ``grants`` if it has them)."""
    mapped_on: str = "2021-02-01"
    dissolved_on: str = "2021-12-01"

    def _hear_registry(self, kind: str, data: dict[str, Any]) -> None:
        position = self.app.osvs.applied_position() + 1
        self.app.osvs.apply([cloudevent("registry", kind, position, data)])

    def osv_mapped(
        self, district: str = "Comas", zone: str = "Lima Norte", mapped_on: str | None = None, osv_id: str | None = None,
        name: str | None = None,
    ) -> str:
        """Registry's ``OSVMapped`` of a new OSV (or of ``osv_id``, one a command named before it arrived), named ``name``
        (default: ``Asociación <district> <first 8 of its id>``); returns its id."""
        osv_id, on = osv_id or str(uuid4()), mapped_on or self.mapped_on
        data = {"osv_id": osv_id, "name": name or f"Asociación {district} {osv_id[:8]}", "district": district, "zone": zone}
        self._hear_registry("OSVMapped", {**data, "mapped_on": on, "occurred_on": on})
        return osv_id

    def ruos_registered(self, osv_id: str, registered_on: str = "2021-06-01") -> None:
        data = {"osv_id": osv_id, "ruos_number": f"RUOS-{osv_id[:6]}", "registered_on": registered_on, "occurred_on": registered_on}
        self._hear_registry("RUOSRegistered", data)

    def osv_registered(self, registered_on: str = "2021-06-01") -> str:
        osv_id = self.osv_mapped()
        self.ruos_registered(osv_id, registered_on)
        return osv_id

    def osv_dissolved(self, osv_id: str, dissolved_on: str | None = None) -> None:
        on = dissolved_on or self.dissolved_on
        self._hear_registry("OSVDissolved", {"osv_id": osv_id, "dissolved_on": on, "reason": "members_emigrated", "occurred_on": on})

    def osv_merged(self, duplicate_id: str, into_osv_id: str, merged_on: str = "2021-07-01") -> None:
        """Registry found ``duplicate_id`` a second record of ``into_osv_id`` and merged it there."""
        data = {"osv_id": duplicate_id, "into_osv_id": into_osv_id, "merged_on": merged_on, "occurred_on": merged_on}
        self._hear_registry("OSVMerged", data)

    def fund_granted(self, osv_id: str, granted_on: str = "2024-06-01", grant_id: str | None = None) -> str:
        grant_id = grant_id or str(uuid4())
        data = {
            "grant_id": grant_id,
            "osv_id": osv_id,
            "kind": "seed_fund",
            "granted_on": granted_on,
            "amount": "3000.00",
            "currency": "PEN",
            "occurred_on": granted_on,
        }
        position = self.app.grants.applied_position() + 1
        self.app.grants.apply([cloudevent("funding", "FundGranted", position, data)])
        return grant_id

    def grant_withdrawn(self, grant_id: str, osv_id: str, granted_on: str = "2024-06-01", withdrawn_on: str = "2024-09-02") -> None:
        """Funding's ``GrantWithdrawn`` of a grant :meth:`fund_granted` made (it repeats what that said)."""
        data = {
            "grant_id": grant_id, "osv_id": osv_id, "kind": "seed_fund", "amount": "3000.00", "currency": "PEN",
            "granted_on": granted_on, "proposal_id": None, "round_id": None, "reason": "duplicate",
            "withdrawn_on": withdrawn_on, "occurred_on": withdrawn_on,
        }
        position = self.app.grants.applied_position() + 1
        self.app.grants.apply([cloudevent("funding", "GrantWithdrawn", position, data)])
