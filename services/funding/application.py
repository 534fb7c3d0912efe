"""Funding: the application every entry point goes through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.funding.domainmodel import (
    Currency,
    Grant,
    GrantKind,
    GrantNotFoundError,
    Phase,
    PhaseCodeTakenError,
    PhaseNotFoundError,
    grant_fund,
    open_phase,
)
from shared.osvdirectory import OSVDirectory
from shared.store import ServiceApplication


class Funding(ServiceApplication):
    """Runs the programme's phases and grants support to OSVs."""

    name = "funding"

    def __init__(self, env: Mapping[str, str] | None = None, *, osvs: OSVDirectory) -> None:
        super().__init__(env)
        self.osvs = osvs

    def open_phase(self, code: str, name: str, starts_on: date, ends_on: date) -> UUID:
        if Phase.id_for(code) in self.repository:
            raise PhaseCodeTakenError(code)
        phase = open_phase(code, name, starts_on, ends_on, self.list_phases())
        self.save(phase)
        return phase.id

    def get_phase(self, phase_id: UUID) -> Phase:
        try:
            return self.repository.get(phase_id)
        except AggregateNotFoundError:
            raise PhaseNotFoundError(phase_id) from None

    def list_phases(self) -> list[Phase]:
        phases = [self.get_phase(i) for i in self.ids_created_by(Phase.PhaseOpened)]
        return sorted(phases, key=lambda p: p.starts_on)

    def grant_fund(self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> UUID:
        self.osvs.require_active(osv_id)
        grant = grant_fund(osv_id, amount, currency, granted_on, kind)
        self.save(grant)
        return grant.id

    def get_grant(self, grant_id: UUID) -> Grant:
        try:
            return self.repository.get(grant_id)
        except AggregateNotFoundError:
            raise GrantNotFoundError(grant_id) from None
