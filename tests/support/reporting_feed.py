"""Hand-built CloudEvents for reporting's read model, applied through its real consumer handler.

The dashboard's tests tell the programme's story in events, the way registry,
funding and engagement would publish them, without running those services.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

from services.reporting.views.readmodel import ReadModel
from shared.districts import DistrictTable

SJL = "150132"
COMAS = "150110"


class ReportingFeed:
    """Publishes events to one read model as the NATS consumer would hand them over."""

    def __init__(self, readmodel: ReadModel, today: date) -> None:
        self.readmodel = readmodel
        self.today = today
        self.positions: dict[str, int] = defaultdict(int)
        self.published: list[dict[str, Any]] = []
        """Every event published, in order: the log a rebuild applies again."""
        self.recorded_at: datetime | None = None
        """The moment the events published are stamped as recorded (their ``time``); None: when each is published."""

    def day(self, offset: int) -> str:
        """The ISO day ``offset`` days from today (negative: in the past)."""
        return (self.today + timedelta(days=offset)).isoformat()

    def publish(self, source: str, event_type: str, occurred_on: str, /, subject: str | None = None, **data: Any) -> None:
        """One event as ``source`` publishes it; its subject is ``subject``, else the OSV, municipality or phase it is about."""
        self.positions[source] += 1
        position = self.positions[source]
        cloudevent = {
            "id": f"{source}:{position}",
            "type": event_type,
            "source": f"urn:osv-platform:{source}",
            "subject": subject or str(data.get("osv_id") or data.get("municipality_id") or data.get("phase_id") or ""),
            "position": position,
            "time": (self.recorded_at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "data": {"occurred_on": occurred_on, **data},
        }
        assert self.readmodel.apply([cloudevent]) == 1
        self.published.append(cloudevent)

    def phase(self, code: str, name: str, starts: int, ends: int) -> None:
        starts_on, ends_on = self.day(starts), self.day(ends)
        phase_id = str(uuid4())
        self.publish("funding", "PhaseOpened", starts_on, phase_id=phase_id, code=code, name=name, starts_on=starts_on, ends_on=ends_on)

    def osv_mapped(self, name: str, district: str, zone: str, on: int) -> str:
        osv_id, day = str(uuid4()), self.day(on)
        self.publish("registry", "OSVMapped", day, osv_id=osv_id, name=name, district=district, zone=zone, mapped_on=day)
        return osv_id

    def ruos_registered(self, osv_id: str, on: int, board_term_ends: int, municipality_id: str | None = None) -> None:
        """The OSV registered in ``municipality_id``'s RUOS (`mml` or its district's ubigeo); left out, as a registration
        recorded directly before registrations named their municipality was published (read as its district's)."""
        named = {} if municipality_id is None else {"municipality_id": municipality_id}
        self.publish(
            "registry",
            "RUOSRegistered",
            self.day(on),
            osv_id=osv_id,
            ruos_number=f"RUOS-{osv_id[:6]}",
            registered_on=self.day(on),
            board_term_ends_on=self.day(board_term_ends),
            **named,
        )

    def board_renewed(self, osv_id: str, on: int, term_ends: int) -> None:
        self.publish("registry", "BoardRenewed", self.day(on), osv_id=osv_id, renewed_on=self.day(on), term_ends_on=self.day(term_ends))

    def dissolved(self, osv_id: str, on: int) -> None:
        self.publish("registry", "OSVDissolved", self.day(on), osv_id=osv_id, dissolved_on=self.day(on), reason="inactive")

    def granted(self, osv_id: str, amount: str, on: int) -> str:
        """A seed fund granted directly (funding's ``FundGranted``, its subject the grant); returns the grant's id."""
        grant_id, day = str(uuid4()), self.day(on)
        self.publish(
            "funding",
            "FundGranted",
            day,
            subject=grant_id,
            grant_id=grant_id,
            osv_id=osv_id,
            amount=amount,
            currency="PEN",
            kind="seed_fund",
            support="first_time",
            proposal_id=None,
            round_id=None,
            granted_on=day,
        )
        return grant_id

    def focal_point_assigned(self, municipality_id: str, on: int) -> str:
        post = str(uuid4())
        self.publish(
            "registry",
            "FocalPointAssigned",
            self.day(on),
            municipality_id=municipality_id,
            focal_point_id=post,
            office="Gerencia de Participación Vecinal",
            role="Subgerente",
            assigned_on=self.day(on),
        )
        return post

    def focal_point_left(self, municipality_id: str, post: str, on: int) -> None:
        day = self.day(on)
        self.publish("registry", "FocalPointLeft", day, municipality_id=municipality_id, focal_point_id=post, left_on=day)

    def meeting_held(self, osv_id: str, on: int) -> None:
        self.publish(
            "engagement",
            "FollowUpMeetingHeld",
            self.day(on),
            osv_id=osv_id,
            meeting_id=str(uuid4()),
            held_on=self.day(on),
            mode="in_person",
            attendee_count=6,
            topics=["ruos"],
            action_items=[],
        )

    def activity(self, osv_id: str, on: int, district: str, zone: str) -> str:
        """A workshop the OSV held in ``district`` (engagement's ``ActivityReported``, its subject the activity); its id."""
        activity_id, day = str(uuid4()), self.day(on)
        self.publish(
            "engagement",
            "ActivityReported",
            day,
            subject=activity_id,
            activity_id=activity_id,
            osv_id=osv_id,
            held_on=day,
            kind="workshop",
            district=district,
            zone=zone,
            direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 12}],
            indirect_beneficiaries=30,
            outputs=[],
            grant_id=None,
        )
        return activity_id

    def member_joined(self, osv_id: str, nationality: str, on: int) -> None:
        self.publish(
            "engagement",
            "MemberJoined",
            self.day(on),
            member_id=str(uuid4()),
            osv_id=osv_id,
            nationality=nationality,
            sex="F",
            age_band="30-44",
        )


def a_programme_year(feed: ReportingFeed) -> dict[str, str]:
    """Two phases, four OSVs and the municipalities' focal points; returns the OSVs' ids by name.

    - "Olla Común Las Flores" was mapped 300 days ago and never met: overdue.
    - "Comedor Popular Santa Rosa" was met 10 days ago: not overdue.
    - "Club de Madres Nueva Esperanza" is in the RUOS; its board's term ends in 30 days.
    - "Asociación Vecinal El Sol" was dissolved 250 days ago: never overdue. Funding granted it S/ 2,500.00
      dated 200 days ago all the same (its copy of registry lagged): recorded after its dissolution.
    - Every municipality has a focal point but San Juan de Lurigancho (never had one)
      and Comas (its focal point left 20 days ago).
    """
    feed.phase("F1", "Fase 1", -400, -201)
    feed.phase("F2", "Fase 2", -200, 165)
    osvs = {
        "Olla Común Las Flores": feed.osv_mapped("Olla Común Las Flores", "Comas", "Lima Norte", -300),
        "Comedor Popular Santa Rosa": feed.osv_mapped("Comedor Popular Santa Rosa", "San Juan de Lurigancho", "Lima Este", -300),
        "Asociación Vecinal El Sol": feed.osv_mapped("Asociación Vecinal El Sol", "Ate", "Lima Este", -350),
        "Club de Madres Nueva Esperanza": feed.osv_mapped("Club de Madres Nueva Esperanza", "Ate", "Lima Este", -100),
    }
    feed.dissolved(osvs["Asociación Vecinal El Sol"], -250)
    feed.granted(osvs["Asociación Vecinal El Sol"], "2500.00", -200)
    feed.meeting_held(osvs["Comedor Popular Santa Rosa"], -10)
    feed.ruos_registered(osvs["Club de Madres Nueva Esperanza"], -90, board_term_ends=30)
    feed.meeting_held(osvs["Club de Madres Nueva Esperanza"], -5)
    for nationality in ("VE", "VE", "PE"):
        feed.member_joined(osvs["Club de Madres Nueva Esperanza"], nationality, -80)
    municipalities = ["mml", *(d.ubigeo for d in DistrictTable.of_lima().districts)]
    posts = {m: feed.focal_point_assigned(m, -380) for m in municipalities if m != SJL}
    feed.focal_point_left(COMAS, posts[COMAS], -20)
    return osvs
