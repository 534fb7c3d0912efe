"""After a case: wait until the system settles, then compare what clients were told with the feeds and with reporting.

- *acknowledged*: commands a client got a 2xx for (or the 409 saying it was
  carried out before the service died);
- *in the feeds*: acknowledged commands whose public event is in their
  service's ``GET /events``;
- *counted*: acknowledged commands whose event reporting counts (it is listed
  in the evidence of the indicator that counts it);
- *duplicates*: a command whose tag appears on two events (carried out twice,
  say by a retry), or an event that adds more to its indicator than it holds
  (counted twice);
- *lost*: acknowledged commands whose fact is missing from the feeds or from
  reporting.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from faults.load import KINDS, Command, Kind
from faults.processes import WRITERS, System


@dataclass
class Row:
    """One case's line of the table."""

    case: str
    sent: int = 0
    acknowledged: int = 0
    in_feeds: int = 0
    counted: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float | None = None
    """From the end of the fault until reporting applied everything stored by then; None: it never did, or never caught up with the feeds."""
    fault: str | None = None
    """What the case broke, as it happened (the position the stream refused, the node it killed…)."""
    notes: list[str] = field(default_factory=list)
    failure: str | None = None
    """The case could not run to its end (a process would not start…): it counts as failed."""

    @property
    def passed(self) -> bool:
        return self.failure is None and self.lost == 0 and self.duplicates == 0 and self.seconds is not None


def read_feed(url: str, headers: dict[str, str] | None = None, page: int = 1000) -> list[dict[str, Any]]:
    """Every event of a service's ``GET /events``, in order; ``headers`` sign the reads in."""
    events: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
        while True:
            body = http.get("/events", params={"after": after, "limit": page}).raise_for_status().json()
            events.extend(body["events"])
            if body["next_after"] == after:
                return events
            after = body["next_after"]


def last_public_positions(system: System) -> dict[str, int]:
    return {name: (feed[-1]["position"] if (feed := read_feed(system.url(name), system.headers)) else 0) for name in WRITERS}


def settled(system: System, heads: dict[str, int]) -> str | None:
    """None once every relay has published all it stored, and every view and reporting applied each source up to its head with nothing missing; else what is pending."""
    for name in WRITERS:
        for process in system.replicas[name]:
            health = process.health()
            relay = health.get("relay", {})
            if relay.get("lag", 1) != 0:
                return f"{process.label} relay lag {relay.get('lag')} ({relay.get('last_error')})"
            for view, sources in (health.get("views") or {}).items():
                for source, state in sources.items():
                    if state["missing"] or state["applied_floor"] < heads.get(source, 0):
                        return f"{process.label} view {view} applied {source} up to {state['applied_floor']} of {heads.get(source)}"
    for process in system.replicas["reporting"]:
        health = process.health()
        applied = health.get("applied_positions", {})
        for source, head in heads.items():
            if head and applied.get(source, 0) < head:
                return f"{process.label} applied {source} up to {applied.get(source, 0)} of {head}"
        missing = {source: state["missing"] for source, state in (health.get("sources") or {}).items() if state.get("missing")}
        if missing:
            return f"{process.label} misses {missing}"
    return None


def wait_settled(system: System, timeout: float) -> tuple[float | None, str | None]:
    """Seconds until :func:`settled`, or (None, what was still pending) after ``timeout``."""
    started = time.monotonic()
    heads = last_public_positions(system)
    pending: str | None = "not checked"
    while time.monotonic() - started < timeout:
        try:
            pending = settled(system, heads)
        except (httpx.HTTPError, ValueError) as error:
            pending = f"{type(error).__name__}: {error}"
        if pending is None:
            return time.monotonic() - started, None
        time.sleep(0.2)
    return None, pending


class Recovery:
    """How long after a fault reporting took to apply everything the services had stored when it ended.

    :meth:`start` notes each write service's log head (``/health``'s
    ``relay.stored_position``) and watches, in a thread, every reporting
    replica's floors (``applied_positions``) until each reaches those heads.
    """

    def __init__(self, system: System, timeout: float = 120.0) -> None:
        self.system = system
        self.timeout = timeout
        self.seconds: float | None = None
        self._thread = threading.Thread(target=self._watch, name="recovery", daemon=True)

    def start(self) -> Recovery:
        self._started = time.monotonic()
        self._heads = {name: eventually_health(self.system, name)["relay"]["stored_position"] for name in WRITERS}
        self._thread.start()
        return self

    def _watch(self) -> None:
        while time.monotonic() - self._started < self.timeout:
            try:
                floors = [p.health().get("applied_positions", {}) for p in self.system.replicas["reporting"]]
            except (httpx.HTTPError, ValueError):
                floors = []
            if floors and all(f.get(name, 0) >= head for f in floors for name, head in self._heads.items()):
                self.seconds = time.monotonic() - self._started
                return
            time.sleep(0.1)

    def wait(self) -> float | None:
        self._thread.join()
        return self.seconds


def eventually_health(system: System, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """The first replica's ``/health`` once it answers (the service may be restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return system.first(name).health()
        except (httpx.HTTPError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def out_of_order(ids: Sequence[str]) -> str | None:
    """What is wrong with a stream's message ids (``<service>:<position>``), if anything: each service's positions must rise."""
    last: dict[str, int] = {}
    for message_id in ids:
        service, _, position = message_id.rpartition(":")
        if int(position) <= last.get(service, 0):
            return f"{message_id} after {service}:{last[service]}"
        last[service] = int(position)
    return None


def evidence(reporting_url: str, indicator: str, headers: dict[str, str] | None = None) -> dict[str, Decimal]:
    """Per event id, how much it adds to the indicator's total (``value``, or ``total`` for a figure with parts)."""
    with httpx.Client(base_url=reporting_url, timeout=120, headers=headers) as http:
        body = http.get(f"/indicators/{indicator}/evidence", params={"phase": "total"}).raise_for_status().json()
    return {event["event_id"]: Decimal(str(event["adds"].get("total", event["adds"].get("value", 0)))) for event in body["events"]}


def expected_add(kind: Kind, cloudevent: dict[str, Any]) -> Decimal:
    data = cloudevent["data"]
    if kind.event_type == "FundGranted":
        return Decimal(str(data["amount"]))
    if kind.event_type == "ActivityReported":
        return Decimal(sum(row["count"] for row in data["direct_beneficiaries"]))
    return Decimal(1)


def audit(case: str, system: System, commands: Sequence[Command], seconds: float | None, reporting: Iterable[str] | None = None) -> Row:
    """The row for ``commands`` (see the module docstring); every reporting replica's answer is checked."""
    row = Row(case, sent=len(commands), seconds=seconds)
    feeds = {name: read_feed(system.url(name), system.headers) for name in WRITERS}
    index: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for events in feeds.values():
        for cloudevent in events:
            for kind in KINDS.values():
                if cloudevent["type"] == kind.event_type:
                    index[(kind.event_type, str(cloudevent["data"].get(kind.tag_field)))].append(cloudevent)
    kinds = {command.kind.name: command.kind for command in commands}
    replicas = list(reporting) if reporting is not None else [p.url for p in system.replicas["reporting"]]
    counted_by = [{name: evidence(url, kind.indicator, system.headers) for name, kind in kinds.items()} for url in replicas]
    for command in commands:
        found = index.get((command.kind.event_type, command.tag), [])
        if len(found) > 1:
            row.duplicates += len(found) - 1
            row.notes.append(f"{command.kind.name} {command.key} carried out {len(found)} times: {[e['id'] for e in found]}")
        if command.status != "acknowledged":
            continue
        row.acknowledged += 1
        row.in_feeds += bool(found)
        counted_everywhere = bool(found)
        for adds in counted_by:
            counted = [e for e in found if e["id"] in adds[command.kind.name]]
            counted_everywhere &= bool(counted)
            for cloudevent in counted:
                if adds[command.kind.name][cloudevent["id"]] > expected_add(command.kind, cloudevent):
                    row.duplicates += 1
                    row.notes.append(f"{cloudevent['id']} counted more than once in {command.kind.indicator}")
        row.counted += counted_everywhere
        row.lost += not counted_everywhere
    refused = [c for c in commands if c.status == "refused"]
    unanswered = [c for c in commands if c.status in ("unanswered", "pending")]
    if refused:
        row.notes.append(f"{len(refused)} refused, e.g. {refused[0].kind.name}: {refused[0].answer}")
    if unanswered:
        row.notes.append(f"{len(unanswered)} never answered")
    return row
