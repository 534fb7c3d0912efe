"""Concurrent clients posting commands the way a careful front end does: an ``Idempotency-Key`` on each, retried until answered.

Each command is one POST with a fresh key. A client that gets no answer (the
connection broke, the service was killed), a 5xx, a 503 or a 409 "still in
progress" sends the very same request again, with the same key, after a short
wait, for as long as ``retry_for`` allows. So a command is *acknowledged*
once it got a 2xx, or a 409 ``idempotent_request_completed`` (the service had
carried it out and died before answering: the answer lists what it saved). A
4xx that says when to ask again (``Retry-After``, in seconds: a lag refusal,
such as 422 ``osv_mapped_in_registry`` for an OSV registry mapped a moment
ago that the service has not heard of yet) is sent again after that delay,
:data:`LAG_RETRIES` times at most, as ``osv-import`` does; a 4xx other than
those, or one still refused after its waits, is a *refusal*: nothing was
written, and the suite reports it (no case expects one).

Every command carries a *tag* its public event repeats (an OSV's name, or the
id of the OSV it is about, each OSV used by one command of its kind), so the
audit finds each command's fact in the feeds and in reporting, and notices a
command carried out twice.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.districts import DistrictTable

DISTRICTS = [d.name for d in DistrictTable.of_lima().districts]
BENEFICIARIES = [{"nationality": n, "sex": s, "count": 2} for n in ("VE", "PE", "CO") for s in ("F", "M")]
"""Twelve direct beneficiaries in six rows: an ActivityReported of some 900 bytes."""
RECENTLY = (date.today() - timedelta(days=2)).isoformat()


@dataclass(frozen=True)
class Kind:
    """A kind of command: where it goes, which public event it records, how the audit finds and counts that event."""

    name: str
    service: str
    event_type: str
    tag_field: str
    """The field of the event's data that repeats the command's tag."""
    indicator: str
    """Reporting's indicator that counts the event; its evidence lists the event."""


OSV = Kind("osv", "registry", "OSVMapped", "name", "osvs_identified")
GRANT = Kind("grant", "funding", "FundGranted", "osv_id", "seed_funds_granted_pen")
MEMBER = Kind("member", "engagement", "MemberJoined", "osv_id", "members_joined")
ACTIVITY = Kind("activity", "engagement", "ActivityReported", "osv_id", "beneficiaries_direct")
MEETING = Kind("meeting", "engagement", "FollowUpMeetingHeld", "osv_id", "follow_up_meetings")
KINDS = {kind.name: kind for kind in (OSV, GRANT, MEMBER, ACTIVITY, MEETING)}


@dataclass
class Command:
    """One POST, its key, and what became of it."""

    kind: Kind
    path: str
    body: dict[str, Any]
    tag: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "pending"
    """``pending``, ``acknowledged``, ``refused`` (a 4xx: nothing written) or ``unanswered`` (gave up retrying)."""
    answer: str | None = None
    attempts: int = 0
    replayed: bool = False
    """The acknowledgement came from a retry that the service recognised (``Idempotent-Replayed`` or ``idempotent_request_completed``)."""


def osv_command(label: str, i: int) -> Command:
    name = f"Faults {label} {i:05d} {uuid.uuid4().hex[:6]}"
    body = {"name": name, "district": DISTRICTS[i % len(DISTRICTS)], "mapped_on": "2021-04-01"}
    return Command(OSV, "/osvs", body, tag=name)


def grant_command(osv_id: str) -> Command:
    body = {"osv_id": osv_id, "amount": "1000.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
    return Command(GRANT, "/grants", body, tag=osv_id)


_documents = itertools.count(random.randrange(10_000_000, 80_000_000))


def member_command(osv_id: str, i: int) -> Command:
    nationality = ("VE", "PE", "CO")[i % 3]
    body = {
        "osv_id": osv_id,
        "full_name": f"Persona de prueba {i}",
        # A Peruvian's DNI (8 digits), a foreigner's CE (9): a CE with PE is 422 document_for_foreigners.
        **({"document_type": "DNI", "document_number": f"{next(_documents):08d}"} if nationality == "PE"
           else {"document_type": "CE", "document_number": f"{next(_documents):09d}"}),
        "nationality": nationality,
        "sex": "F" if i % 2 else "M",
        "joined_on": "2021-10-05",
        "birth_year": 1970 + i % 40,
    }
    return Command(MEMBER, "/members", body, tag=osv_id)


def activity_command(osv_id: str, district: str) -> Command:
    body = {"osv_id": osv_id, "held_on": RECENTLY, "kind": "workshop", "district": district, "direct_beneficiaries": BENEFICIARIES}
    return Command(ACTIVITY, "/activities", body, tag=osv_id)


def meeting_command(osv_id: str, actions: int = 0) -> Command:
    body: dict[str, Any] = {"held_on": RECENTLY, "mode": "in_person", "topics": ["ruos_registration"]}
    if actions:
        body["action_items"] = [{"description": "x", "owner": "junta", "due_on": RECENTLY} for _ in range(actions)]
    return Command(MEETING, f"/osvs/{osv_id}/meetings", body, tag=osv_id)


RETRIED_STATUSES = {500, 502, 503, 504}
LAG_RETRIES = 2
"""How many times a 4xx with ``Retry-After`` is sent again: a mistyped id gets the same answer for ever (``osv-import``'s number)."""
MAX_RETRY_AFTER_SECONDS = 5.0
"""The longest ``Retry-After`` waited on; a longer one is waited for this long (``osv-import``'s bound)."""


def lag_wait(response: httpx.Response, waited: int, lag_retries: int = LAG_RETRIES) -> float | None:
    """Seconds to wait before sending again a 4xx that carries ``Retry-After`` (in seconds, at most
    :data:`MAX_RETRY_AFTER_SECONDS`), ``waited`` times already; None when it is final: another status, no header (or
    an HTTP date), or ``lag_retries`` waits spent."""
    value = response.headers.get("retry-after", "").strip()
    if not 400 <= response.status_code < 500 or not value.isdigit() or waited >= lag_retries:
        return None
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


class Load:
    """Posts ``commands`` from ``clients`` threads; each client sends to replica ``client % replicas`` of the command's service.

    ``urls(service, client)`` gives the base URL a client uses. Clients take
    commands from one shared queue, in order. :attr:`acknowledged` grows as
    answers come; a case waits on it to strike mid-load. ``headers`` go with
    every request (the case's ``Authorization``). ``lag_retries``: how many times a
    4xx with ``Retry-After`` is sent again (:func:`lag_wait`); ``sleep`` waits between tries.
    """

    def __init__(
        self,
        commands: Sequence[Command],
        urls: Callable[[str, int], str],
        clients: int = 4,
        retry_for: float = 120.0,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        lag_retries: int = LAG_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.commands = list(commands)
        self.lag_retries = lag_retries
        self.sleep = sleep
        self.headers = dict(headers or {})
        self.urls = urls
        self.clients = clients
        self.retry_for = retry_for
        self.timeout = timeout
        self._next = iter(self.commands)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.acknowledged = 0
        self.errors: list[str] = []
        """Transport errors and retried statuses seen (not failures: each was retried)."""
        self.started_at = 0.0
        self.finished_at = 0.0

    def start(self) -> Load:
        self.started_at = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(n,), name=f"client-{n}", daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Load:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self.finished_at = time.monotonic()
        return self

    def run(self) -> Load:
        return self.start().wait()

    def wait_acknowledged(self, count: int, timeout: float = 120.0) -> None:
        """Block until ``count`` commands were acknowledged (or every client finished)."""
        deadline = time.monotonic() + timeout
        while self.acknowledged < count and any(t.is_alive() for t in self._threads):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.acknowledged} of {count} commands acknowledged in {timeout:.0f} s")
            time.sleep(0.01)

    def _take(self) -> Command | None:
        with self._lock:
            return next(self._next, None)

    def _client(self, number: int) -> None:
        with httpx.Client(timeout=self.timeout, headers=self.headers) as http:
            while (command := self._take()) is not None:
                self._send(http, number, command)
                if command.status == "acknowledged":
                    with self._lock:
                        self.acknowledged += 1

    def _send(self, http: httpx.Client, client: int, command: Command) -> None:
        """Send until answered, with the same key every time; see the module docstring."""
        deadline = time.monotonic() + self.retry_for
        wait = 0.1
        lagged = 0
        while True:
            command.attempts += 1
            url = self.urls(command.kind.service, client) + command.path
            try:
                response = http.post(url, json=command.body, headers={"Idempotency-Key": command.key})
            except httpx.TransportError as error:
                self._note(f"{command.kind.service}: {type(error).__name__}")
            else:
                if 200 <= response.status_code < 300:
                    command.status, command.answer = "acknowledged", str(response.json().get("id", ""))
                    command.replayed = response.headers.get("idempotent-replayed") == "true"
                    return
                rule = _rule_of(response)
                if response.status_code == 409 and rule == "idempotent_request_completed":
                    recorded = response.json().get("recorded") or [{}]
                    command.status, command.answer, command.replayed = "acknowledged", str(recorded[0].get("id", "")), True
                    return
                if response.status_code not in RETRIED_STATUSES and rule != "idempotent_request_in_progress":
                    pause = lag_wait(response, lagged, self.lag_retries)
                    if pause is None:
                        command.status, command.answer = "refused", f"{response.status_code} {response.text[:300]}"
                        return
                    # Not heard of yet: the record's event reaches the service within the delay it asks.
                    lagged += 1
                    self._note(f"{command.kind.service}: {response.status_code} {rule or ''}".rstrip() + f" (Retry-After {pause:g} s)")
                    self.sleep(pause)
                    continue
                self._note(f"{command.kind.service}: {response.status_code} {rule or ''}".rstrip())
            if time.monotonic() > deadline:
                command.status = "unanswered"
                return
            self.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, 1.0)

    def _note(self, error: str) -> None:
        with self._lock:
            self.errors.append(error)

    def by_status(self, status: str) -> list[Command]:
        return [command for command in self.commands if command.status == status]


def _rule_of(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None
    return errors[0].get("rule") if errors else None
