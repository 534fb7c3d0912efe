"""What the roles' stories (``test_roles_api``, ``test_roles_retries``, ``test_roles_browser``) share: the districts,
a person to enrol, and an OSV every service has heard of. The services are the ``system`` fixture of
``tests/integration/conftest.py``.
"""

from __future__ import annotations

from itertools import count

from fastapi.testclient import TestClient

from tests.support.api import created
from tests.support.clients import application_of, feed

SJL, SMP = "San Juan de Lurigancho", "San Martín de Porres"
PERSON = {
    "full_name": "Yusmary Cordero Palacios",
    "document_type": "CE",
    "document_number": "001234567",
    "nationality": "VE",
    "sex": "F",
    "joined_on": "2021-03-01",
    "phone": "+51987654321",
}


_numbers = count(1)


def an_osv(system: dict[str, TestClient], district: str) -> str:
    """An OSV mapped in registry, and heard of by funding's and engagement's views; each another organisation,
    numbered so that registry does not take it for a possible duplicate of the district's others."""
    registry = system["registry"]
    name = f"OSV N.º {next(_numbers)} de {district}"
    osv = created(registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-02-01"}))
    events = feed(registry)
    application_of(system["funding"]).osvs.apply(events)
    application_of(system["engagement"]).osvs.apply(events)
    return str(osv["id"])
