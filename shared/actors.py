"""Who made each command: the account a request's token names, kept beside every event the command saves, never published.

While a request is served, its authenticated caller (:class:`~shared.roles.Caller`)
is the :class:`Actor` of whatever it saves (:func:`acting_as_caller`, set by
:func:`shared.auth.current_caller`: a contextvar, copied into the thread pool
where a route calls its application). Work outside a request (a consumer
following another service, an erasure made again after a restore, a CLI
tool) names itself a system actor (:func:`acting_as_system`); a save with no
actor at all is recorded as ``system:<service>``, never as nothing.

Each stored event gets one row of :class:`ActorRecord` in the table
``command_actors``, keyed by the event's originator id and version, written
in the events' own transaction (:mod:`shared.siderows`, as the data keys): an
event is never stored without its actor, nor an actor without its event. A
dry run stores nothing (so no row); a keyed retry answered from the answer
book runs no command (so no row).

The rows are an audit record: never in an event's payload, so never in ``GET
/events``, the NATS stream or any export; read only where an auditor reads
the stored history (registry's ``GET /osvs/{id}/history`` and ``GET /municipalities/{id}/history``, funding's ``GET
/grants/{id}/history`` and ``GET /phases/{id}/history``, :mod:`shared.history`; engagement's ``GET
/members/{id}/personal-data-changes`` and access log). No erasure deletes them: a staff member's or official's account
id is not a member's personal data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Engine, Integer, String, Text, select, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.roles import Caller, Permission
from shared.views import create_tables, json_loads, json_text

SYSTEM_PREFIX = "system:"
"""How a system actor's ``client_id`` begins (``system:restore``, ``system:follower``…); its subject is null."""


@dataclass(frozen=True)
class Actor:
    """Who made a command: the token's ``sub`` (the identity provider's id of the account; null for the system), the
    OAuth client it was issued to (``system:<what>`` for work no request made) and the caller's platform roles, sorted."""

    subject: str | None
    client_id: str | None
    roles: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """``{"subject": ..., "client_id": ..., "roles": [...]}``: what an auditor reads."""
        return {"subject": self.subject, "client_id": self.client_id, "roles": list(self.roles)}

    def may(self, permission: Permission) -> bool:
        """Whether the actor's roles grant ``permission`` (:data:`~shared.roles.ROLE_PERMISSIONS`); the system, which no
        request made, may (what it runs is the service's own work)."""
        if self.subject is None and (self.client_id or "").startswith(SYSTEM_PREFIX):
            return True
        return Caller(subject=self.subject or "", roles=frozenset(self.roles)).may(permission)

    @classmethod
    def of_caller(cls, caller: Caller) -> Actor:
        return cls(subject=caller.subject, client_id=caller.client_id, roles=tuple(sorted(caller.roles)))

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(subject=None, client_id=SYSTEM_PREFIX + what, roles=())


_actor: ContextVar[Actor | None] = ContextVar("command_actor", default=None)


def current_actor() -> Actor | None:
    """The actor of the commands run now, or None when nobody said (a save then records ``system:<service>``)."""
    return _actor.get()


def acting_as_caller(caller: Caller) -> None:
    """Make ``caller`` the actor of the rest of this request (its task's context, and the threads it calls into).

    Set, never reset: the context is the request's own, and ends with it.
    """
    _actor.set(Actor.of_caller(caller))


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """``actor`` makes the commands run inside the block."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def acting_as_system(what: str) -> contextlib.AbstractContextManager[Actor]:
    """The system (``client_id`` ``system:<what>``, subject null) makes the commands run inside the block."""
    return acting_as(Actor.system(what))


class RecordedBy(BaseModel):
    """Who made a command, as an auditor reads it (:meth:`Actor.as_json`): the account as the identity provider names it,
    and the roles it held when it made the command."""

    subject: str | None = Field(description="The token's `sub`: the identity provider's opaque id of the account; null for the system.")
    client_id: str | None = Field(
        description="The OAuth client the token was issued to; `system:<what>` for work no request made (e.g. `system:erasures-again`)."
    )
    roles: list[str] = Field(description="The caller's platform roles when it made the command (e.g. `municipal-150132`, `staff`); empty for the system.")


class Base(DeclarativeBase):
    pass


class ActorRecord(Base):
    """Who made the command that saved one event (one row per stored event since this table exists)."""

    __tablename__ = "command_actors"

    originator_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    originator_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    roles: Mapped[str] = mapped_column(Text)
    """The roles as a JSON list of strings."""


class ActorBook:
    """The ``command_actors`` table in the event store's own database (the key ring's engine, as the bootstraps wire it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(Base.metadata, engine)

    @staticmethod
    def row(originator_id: UUID, originator_version: int, actor: Actor) -> dict[str, Any]:
        """The values of one event's row."""
        return {
            "originator_id": str(originator_id),
            "originator_version": int(originator_version),
            "subject": actor.subject,
            "client_id": actor.client_id,
            "roles": json_text(list(actor.roles)),
        }

    def rows_for(self, stored_events: Sequence[Any], default: Actor) -> list[tuple[Engine, Any, dict[str, Any]]]:
        """The side rows (:meth:`~shared.sealing.SideWrites.add`'s shape) recording the current actor (else ``default``) of each event.

        In the order of their keys, whatever the order of the save's events: two saves that reach the same new rows (two
        commands on one aggregate at one version) wait on each other in one order, never in a cycle (PostgreSQL); the
        second then fails on the first's row as the library's ``IntegrityError`` and its command runs again.
        """
        actor = current_actor() or default
        table = ActorRecord.__table__
        keys = sorted((str(s.originator_id), int(s.originator_version)) for s in stored_events)
        return [(self.engine, table, self.row(UUID(originator_id), version, actor)) for originator_id, version in keys]

    def actors_of(self, originator_id: UUID, versions: Iterable[int] | None = None) -> dict[int, Actor]:
        """Who made each of the aggregate's events, by version; an event stored before this table existed has none."""
        query = select(ActorRecord.originator_version, ActorRecord.subject, ActorRecord.client_id, ActorRecord.roles).where(
            ActorRecord.originator_id == str(originator_id)
        )
        if versions is not None:
            wanted = sorted(set(versions))
            if not wanted:
                return {}
            query = query.where(ActorRecord.originator_version.in_(wanted))
        with self.engine.connect() as connection:
            return {
                version: Actor(subject=subject, client_id=client_id, roles=tuple(json_loads(roles)))
                for version, subject, client_id, roles in connection.execute(query)
            }

    def actors_of_events(self, keys: Iterable[tuple[UUID, int]]) -> dict[tuple[UUID, int], Actor]:
        """Who made each of these events (originator id, version); those stored before this table existed are left out."""
        wanted = [(str(originator_id), int(version)) for originator_id, version in keys]
        found: dict[tuple[UUID, int], Actor] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                query = select(ActorRecord.originator_id, ActorRecord.originator_version, ActorRecord.subject, ActorRecord.client_id,
                               ActorRecord.roles).where(tuple_(ActorRecord.originator_id, ActorRecord.originator_version).in_(chunk))
                for originator_id, version, subject, client_id, roles in connection.execute(query):
                    found[(UUID(originator_id), version)] = Actor(subject=subject, client_id=client_id, roles=tuple(json_loads(roles)))
        return found
