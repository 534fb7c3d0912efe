"""Public events: what leaves a service, on NATS and in its ``GET /events`` feed.

A service's domain events are its own; the public events are its contract with
partners and with the other services. Each public event is a pydantic model
named as the catalogue names it (``OSVMapped``…): the model validates what goes
out, generates the JSON Schema in ``catalogue/schemas/``, and decides what
never leaves (personal data). Every message is a CloudEvents 1.0 structured
JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from typing import Annotated, Any, ClassVar, TypeVar
from uuid import UUID

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from eventsourcing.utils import get_topic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.restore import StreamTailAccepted, StreamTailLossNotice

SPEC_SOURCE_PREFIX = "urn:osv-platform:"

NO_MUNICIPALITY = "none"
"""The subject token of an event that belongs to no municipality (a phase, a round): ``osv.funding.none.PhaseOpened``."""

PROGRAMME_PREFIX = "osv-programme"
"""The first token of an event no partner reads (:attr:`PublicEvent.for_partners` False):
``osv-programme.<service>.<type>``. It lies outside ``osv.>``, so no partner's filter (``osv.<service>.<ubigeo>.>``,
the MML's ``osv.<service>.>``) matches it, and no partner account is given a consumer of it; the service's stream takes
it (:func:`shared.messaging.stream_subjects`)."""

PROGRAMME_AUDIENCE = "programme"
"""The ``audience`` attribute of an event no partner reads: what tells any reader, the feed's too, its subject."""

Locate = Callable[[dict[str, Any]], "str | None"]
"""Given a public event's ``data``, the municipality it belongs to (``mml`` or a district's ubigeo), or None."""


def subject_for(service: str, municipality: str | None, event_type: str, *, programme: bool = False) -> str:
    """The NATS subject of one event: ``osv.<service>.<municipality>.<type>``, ``none`` for no municipality;
    ``osv-programme.<service>.<type>`` for one no partner reads (``programme``, :data:`PROGRAMME_PREFIX`)."""
    if programme:
        return f"{PROGRAMME_PREFIX}.{service}.{event_type}"
    return f"osv.{service}.{municipality or NO_MUNICIPALITY}.{event_type}"


def subject_of_cloudevent(service: str, cloudevent: dict[str, Any]) -> str:
    """The subject a CloudEvent of ``service`` goes out on, from its ``type``, ``municipality`` and ``audience``."""
    programme = cloudevent.get("audience") == PROGRAMME_AUDIENCE
    return subject_for(service, cloudevent.get("municipality"), cloudevent["type"], programme=programme)


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


DistinctFrom = Annotated[list[UUID], BeforeValidator(_none_is_empty)]
"""An event's ``distinct_from``: the records staff said the fact is not a duplicate of, a list of ids; empty when none,
and for an event stored before the field was kept (absent, or ``null``)."""


class PublicEvent(BaseModel):
    """Base of every published event's data.

    ``occurred_on`` is when it happened in the world (staff may enter it late);
    the CloudEvent's ``time`` is when the store recorded it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_field: ClassVar[str | None] = "id"
    """Name under which the aggregate's id appears in the data; None when the domain event's own attributes carry every id
    (a municipality named by its ubigeo, a meeting's action in an OSV's follow-up)."""
    occurred_field: ClassVar[str] = "occurred_on"
    """The domain event's attribute that says when it happened in the world."""
    for_partners: ClassVar[bool] = True
    """False for an event the programme's services and auditors read and no municipal partner does: it goes out with
    ``audience`` ``programme`` and no ``municipality`` attribute, under ``osv-programme.<service>.<type>``
    (:data:`PROGRAMME_PREFIX`), outside every partner's filter, the MML's included, so no partner's stream, consumer or
    feed holds it, whatever OSV it is about (:meth:`EventCatalogue.to_cloudevent`)."""
    feed_permission: ClassVar[str] = "personal-data:read"
    """For an event no partner reads, the permission (a :class:`shared.roles.Permission` value) whose holders' ``GET
    /events`` gives it, besides the services': ``personal-data:read`` by default (``OSVDocumentsCounted``, read next to a
    member's event, tells that member's document type); ``proposals:read`` for funding's deliberation (a proposal and its
    evaluators' scores: auditors audit the scoring). Unused for an event partners read: every feed reader gets it."""

    every_service: ClassVar[bool] = False
    """True for an event every service's catalogue publishes under the same name (:class:`StreamTailLost`)."""

    occurred_on: date

    @classmethod
    def from_domain(cls, event: Any) -> PublicEvent:
        """Default translation: copy the domain event's attributes the model declares."""
        values = {
            name: getattr(event, name)
            for name in cls.model_fields
            if name != cls.id_field and hasattr(event, name)
        }
        if cls.id_field is not None:
            values[cls.id_field] = event.originator_id
        values["occurred_on"] = getattr(event, cls.occurred_field)
        return cls(**values)


class StreamTailLost(PublicEvent):
    """The service's store no longer holds its stream's events after `shared_position` up to `stream_position`: an operator accepted their loss in a restore (osv-restore accept-tail).

    The facts stand as published: partners and reporting keep them, and
    reporting counts them; but the service answers 404 for a record they alone
    made, and its `GET /events` lacks them. Every service publishes it. One
    goes out under `none` (the MML's partners, reporting: `lost` events in all)
    and one under each district whose partners held some of them
    (`municipality_id`, `lost_here` of them). `record_position` is the store's
    private record of the acceptance (what `GET /verify` names); the moved
    events the store publishes next come after these notices. Counts and
    positions only: no record id, nothing of a person.
    """

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "accepted_on"
    every_service: ClassVar[bool] = True

    service: str
    municipality_id: str | None = None
    shared_position: int
    stream_position: int
    record_position: int
    lost: int
    lost_here: int
    accepted_at: datetime


E = TypeVar("E", bound=type[PublicEvent])


class UnpublishedEventError(LookupError):
    """A domain event has no public form: the catalogue is incomplete."""


class EventCatalogue:
    """Maps one service's domain event classes to their public events."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.source = SPEC_SOURCE_PREFIX + service
        self._by_domain: dict[type, type[PublicEvent]] = {}
        self._private: set[type] = {StreamTailAccepted.Recorded}  # every store's: osv-restore's record (shared.restore)
        self._by_domain[StreamTailLossNotice.Announced] = StreamTailLost  # and its public notices

    def publishes(self, *domain_events: type) -> Callable[[E], E]:
        """Class decorator: this public event is how ``domain_events`` go out."""

        def register(public: E) -> E:
            for domain_event in domain_events:
                self._by_domain[domain_event] = public
            return public

        return register

    def keeps_private(self, *domain_events: type) -> None:
        """These domain events never leave the service (an index, a key's bookkeeping).

        The relay steps over them and ``GET /events`` leaves them out; stating
        it here keeps the catalogue complete: every domain event is either
        published or declared private.
        """
        self._private.update(domain_events)

    def is_private(self, event: Any) -> bool:
        return type(event) in self._private

    @property
    def private_topics(self) -> frozenset[str]:
        """The stored topics of the private events: the relay steps over them without decoding them."""
        return frozenset(get_topic(cls) for cls in self._private)

    @property
    def private_events(self) -> Iterable[type]:
        return set(self._private)

    @property
    def not_for_partners(self) -> frozenset[str]:
        """The public events no partner reads (:attr:`PublicEvent.for_partners` False), by type name."""
        return frozenset(c.__name__ for c in self._by_domain.values() if not c.for_partners)

    @property
    def not_for_partners_topics(self) -> frozenset[str]:
        """The stored topics of the domain events published as :attr:`not_for_partners` ones."""
        return frozenset(get_topic(domain) for domain, public in self._by_domain.items() if not public.for_partners)

    def withheld_topics(self, permissions: Iterable[str] = ()) -> frozenset[str]:
        """The stored topics of the events no partner reads whose :attr:`PublicEvent.feed_permission` is not among
        ``permissions`` (a feed reader's, as values such as ``proposals:read``): what its ``GET /events`` leaves out
        beside the private events. A partner's (``events:read`` alone): every one; an auditor's: ``OSVDocumentsCounted``."""
        held = frozenset(permissions)
        return frozenset(
            get_topic(domain) for domain, public in self._by_domain.items() if not public.for_partners and public.feed_permission not in held
        )

    @property
    def public_events(self) -> list[type[PublicEvent]]:
        return sorted(set(self._by_domain.values()), key=lambda c: c.__name__)

    @property
    def domain_events(self) -> Iterable[type]:
        return self._by_domain.keys()

    def subject(self, public: type[PublicEvent], municipality: str = "*") -> str:
        """The subject (or, with the default ``*``, the subject filter) of one public event type; one no partner reads
        has one subject, ``osv-programme.<service>.<type>``, whatever ``municipality``."""
        return subject_for(self.service, municipality, public.__name__, programme=not public.for_partners)

    def subject_of(self, cloudevent: dict[str, Any]) -> str:
        """The NATS subject a CloudEvent of this service goes out on: ``osv.<service>.<municipality>.<type>``.

        The municipality is the CloudEvent's ``municipality`` attribute (``mml``
        or a district's ubigeo); an event that belongs to none goes out under
        ``none``. A partner's account takes ``osv.*.<ubigeo>.>`` only (the MML's,
        ``osv.<service>.>``). An event no partner reads (``audience``
        ``programme``) goes out under ``osv-programme.<service>.<type>``.
        """
        return subject_of_cloudevent(self.service, cloudevent)

    def to_cloudevent(
        self,
        position: int,
        event: Any,
        previous: int | None = None,
        *,
        locate: Locate | None = None,
        chainhash: str | None = None,
    ) -> dict[str, Any] | None:
        """The CloudEvent (as a JSON-ready dict) for the domain event at ``position``; None if private.

        ``previous`` is the position of the previous public event of the log
        (see :meth:`ServiceApplication.previous_public`); it goes out as the
        ``previousposition`` extension attribute. ``locate`` says which
        municipality the event belongs to (the ``municipality`` attribute, and
        the subject's third token); ``chainhash`` is the store's hash chain at
        this position (see :mod:`shared.chain`). An event no partner reads
        (:attr:`PublicEvent.for_partners` False) has no ``municipality`` and
        ``audience`` ``programme`` (its subject: :data:`PROGRAMME_PREFIX`).
        """
        if type(event) in self._private:
            return None
        try:
            public = self._by_domain[type(event)]
        except KeyError:
            raise UnpublishedEventError(type(event).__qualname__) from None
        data = public.from_domain(event).model_dump(mode="json")
        recorded = event.timestamp
        if recorded.tzinfo is None:
            recorded = recorded.replace(tzinfo=timezone.utc)
        municipality = locate(data) if locate is not None and public.for_partners else None
        return {
            "specversion": "1.0",
            "id": f"{self.service}:{position}",
            "source": self.source,
            "type": public.__name__,
            "subject": str(event.originator_id),
            "time": recorded.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "position": position,
            **({} if previous is None else {"previousposition": previous}),
            **({} if municipality is None else {"municipality": municipality}),
            **({} if public.for_partners else {"audience": PROGRAMME_AUDIENCE}),
            **({} if chainhash is None else {"chainhash": chainhash}),
            "data": data,
        }


class EventPage(BaseModel):
    """A page of the service's log as its reader may read it (`GET /events`): the events, as CloudEvents 1.0 structured
    JSON, of the positions after `after` up to `next_after`. Read on with `after` set to `next_after` until `next_after`
    is at least `head`, whatever a page holds: then you have every event stored when that page was read that you may
    read. A page whose `next_after` equals its `after` below `head` has nothing for you yet: ask again later."""

    after: int = Field(description="The position this page starts after.")
    next_after: int = Field(
        description="The last position this page covered: pass it as `after` to read on. It moves over the positions the "
        "page leaves out (private events, those withheld from its reader and, for a partner, other municipalities'), so "
        "an empty page is not the end. It equals `after` only when the page covered nothing: the log ends there, or (a "
        "partner's page) the next event is of an OSV the service does not know yet, held back as the relay holds it."
    )
    head: int = Field(
        description="The highest position stored when the page was read. `next_after` may pass it (events stored "
        "while the page was read)."
    )
    events: list[dict[str, Any]] = Field(
        description="The events this reader may read, in log order. Each one's `previousposition` is the position of "
        "the log's previous event not private or withheld from this reader, whatever its municipality (0 if none); on "
        "NATS the same event names the previous event published, perhaps one this reader's pages leave out."
    )


_FORMAT = JSONFormat()


def encode(cloudevent: dict[str, Any]) -> bytes:
    """Structured-mode JSON bytes, validated by the CloudEvents SDK."""
    attributes = {k: v for k, v in cloudevent.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    return _FORMAT.write(CloudEvent(attributes, cloudevent.get("data")))


def decode(payload: bytes) -> dict[str, Any]:
    """Parse and validate a structured CloudEvent into a plain dict."""
    event = _FORMAT.read(None, payload)
    attributes = dict(event.get_attributes())
    attributes["time"] = attributes["time"].isoformat().replace("+00:00", "Z")
    attributes["data"] = event.get_data()
    return attributes


def source_service(cloudevent: dict[str, Any]) -> str:
    return str(cloudevent["source"]).removeprefix(SPEC_SOURCE_PREFIX)


def parse_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def parse_uuid(value: str | UUID) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def json_schema_document(public: type[PublicEvent], service: str) -> str:
    """The catalogue file for one public event (JSON Schema of its ``data``)."""
    schema = public.model_json_schema()
    if public.every_service:  # one file for every service's: the service a token of its subject and source
        service = "{service}"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:osv-platform:schema:{public.__name__}",
        "x-subject": subject_for(service, "{municipality}", public.__name__, programme=not public.for_partners),
        "x-source": SPEC_SOURCE_PREFIX + service,
        **schema,
    }
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
