"""A bare FastAPI app for the bench: the HTTP stack alone, no store, no NATS.

``bench/run.py`` serves it under uvicorn exactly as it serves the services and
drives it with the same client, to show what the framework alone allows on
this machine. Its body and answer are shaped like registry's ``POST /osvs``.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import FastAPI, status
from pydantic import BaseModel, ConfigDict


class OSVCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    district: str
    mapped_on: date
    kind: str | None = None


class OSVPublic(BaseModel):
    id: uuid.UUID
    name: str
    district: str
    mapped_on: date
    version: int


def create_app() -> FastAPI:
    api = FastAPI(title="bench: bare FastAPI")

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/osvs", status_code=status.HTTP_201_CREATED, response_model=OSVPublic)
    def map_osv(body: OSVCreate) -> OSVPublic:  # a plain def route, run in the thread pool like the services'
        return OSVPublic(id=uuid.uuid4(), name=body.name, district=body.district, mapped_on=body.mapped_on, version=1)

    return api
