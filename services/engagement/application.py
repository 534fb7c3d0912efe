"""Engagement: the application every entry point goes through."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError

from services.engagement.domainmodel import DepartureReason, DocumentType, Member, MemberNotFoundError, Sex
from services.engagement.grantdirectory import GrantDirectory
from shared.osvdirectory import OSVDirectory
from shared.store import ServiceApplication

LIMA = ZoneInfo("America/Lima")
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


def cipher_env(key: str) -> dict[str, str]:
    """The event store settings that encrypt every stored event with ``key``."""
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key}


def today_in_lima() -> date:
    return datetime.now(LIMA).date()


class UnencryptedStoreError(RuntimeError):
    """Engagement holds personal data and refuses a store without a cipher."""


class Engagement(ServiceApplication):
    """Keeps the members of each OSV: who joined, who left and why."""

    name = "engagement"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        today: Callable[[], date] = today_in_lima,
        *,
        osvs: OSVDirectory,
        grants: GrantDirectory,
    ) -> None:
        super().__init__(env)
        self.osvs = osvs
        self.grants = grants
        if self.mapper.cipher is None:
            self.close()
            raise UnencryptedStoreError("engagement needs CIPHER_TOPIC and CIPHER_KEY in its env")
        self.today = today

    def join_member(
        self,
        osv_id: UUID,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        joined_on: date,
        birth_year: int | None = None,
    ) -> UUID:
        member = Member.join(
            osv_id=osv_id,
            full_name=full_name,
            document_type=document_type,
            document_number=document_number,
            nationality=nationality,
            sex=sex,
            joined_on=joined_on,
            birth_year=birth_year,
            today=self.today(),
        )
        self.save(member)
        return member.id

    def record_departure(self, member_id: UUID, left_on: date, reason: DepartureReason) -> Member:
        member = self.get_member(member_id)
        member.leave(left_on, reason)
        self.save(member)
        return member

    def get_member(self, member_id: UUID) -> Member:
        try:
            return self.repository.get(member_id)
        except AggregateNotFoundError:
            raise MemberNotFoundError(member_id) from None
