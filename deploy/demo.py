"""Load a small demo through the public APIs only (``make demo``, while ``make run`` runs).

Phase 1 maps and registers OSVs; phase 2 (October–December 2021) funds some of
them and records members joining and leaving. The names are invented.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OSV_DEMO_", extra="ignore")

    registry_url: str = "http://127.0.0.1:8001"
    funding_url: str = "http://127.0.0.1:8002"
    engagement_url: str = "http://127.0.0.1:8003"
    reporting_url: str = "http://127.0.0.1:8004"


OSVS = [
    ("Mujeres Emprendedoras de Los Olivos", "Los Olivos", "2021-02-12", "RUOS-LO-0311", "2021-06-30"),
    ("Asociación Venezolanos Unidos en Comas", "Comas", "2021-02-20", "RUOS-CO-0127", "2021-07-15"),
    ("Vecinos Solidarios de San Juan de Lurigancho", "San Juan de Lurigancho", "2021-03-03", None, None),
    ("Colectivo Cultural Arepa y Cebiche", "Breña", "2021-03-18", "RUOS-MML-1042", "2021-08-02"),
    ("Club Deportivo Integración Villa El Salvador", "Villa El Salvador", "2021-04-07", None, None),
]
MEMBERS = [
    ("María Alejandra Rondón", "CE", "003456781", "VE", "F", 1988),
    ("José Gregorio Pacheco", "PTP", "PTP2021558", "VE", "M", 1979),
    ("Rosa Quispe Huamán", "DNI", "41235678", "PE", "F", 1975),
    ("Luis Alberto Díaz", "CPP", "CPP0093311", "VE", "M", 1996),
]


def post(client: httpx.Client, path: str, body: dict[str, Any], retry_unknown_osv: bool = False) -> dict[str, Any]:
    for _ in range(100):
        response = client.post(path, json=body)
        if response.status_code in (200, 201):
            return response.json()
        unknown = response.status_code == 422 and "osv_mapped_in_registry" in response.text
        if not (retry_unknown_osv and unknown):
            sys.exit(f"{client.base_url}{path} answered {response.status_code}: {response.text}")
        time.sleep(0.1)  # the service has not received registry's OSVMapped yet
    sys.exit(f"{client.base_url}{path}: the service never learnt of OSV {body.get('osv_id')}")


def main() -> int:
    s = DemoSettings()
    registry, funding, engagement = (httpx.Client(base_url=u, timeout=10) for u in (s.registry_url, s.funding_url, s.engagement_url))
    if funding.get("/phases").json():
        print("The demo is already loaded (phases exist).")
        return 0
    post(funding, "/phases", {"code": "F1", "name": "Fase 1", "starts_on": "2021-01-15", "ends_on": "2021-09-30"})
    post(funding, "/phases", {"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"})
    osv_ids = []
    for name, district, mapped_on, ruos, registered_on in OSVS:
        osv = post(registry, "/osvs", {"name": name, "district": district, "mapped_on": mapped_on})
        osv_ids.append(osv["id"])
        if ruos:
            post(registry, f"/osvs/{osv['id']}/ruos-registration", {"ruos_number": ruos, "registered_on": registered_on})
    post(funding, "/grants", {"osv_id": osv_ids[0], "amount": "4000.00", "currency": "PEN", "granted_on": "2021-08-10", "kind": "seed_fund"}, True)
    post(funding, "/grants", {"osv_id": osv_ids[0], "amount": "2500.00", "currency": "PEN", "granted_on": "2021-10-22", "kind": "goods"}, True)
    post(funding, "/grants", {"osv_id": osv_ids[3], "amount": "3800.00", "currency": "PEN", "granted_on": "2021-10-25", "kind": "seed_fund"}, True)
    member_ids = []
    for i, (full_name, doc_type, doc_number, nationality, sex, birth_year) in enumerate(MEMBERS):
        member = post(
            engagement,
            "/members",
            {
                "osv_id": osv_ids[i % 2 * 3],
                "full_name": full_name,
                "document_type": doc_type,
                "document_number": doc_number,
                "nationality": nationality,
                "sex": sex,
                "joined_on": "2021-10-0" + str(i + 4),
                "birth_year": birth_year,
            },
            True,  # engagement, too, learns of OSVs from registry's events
        )
        member_ids.append(member["id"])
    post(engagement, f"/members/{member_ids[1]}/departure", {"left_on": "2021-12-01", "reason": "moved_abroad"})
    print(f"Loaded {len(OSVS)} OSVs, 2 phases, 3 grants, {len(MEMBERS)} members. See {s.reporting_url}/indicators")
    return 0


if __name__ == "__main__":
    sys.exit(main())
