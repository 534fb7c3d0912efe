"""The AsyncAPI 3.0 document of the events: every channel, message and schema, from the public event models.

Each public event type is a channel, ``osv.<service>.{municipality}.<type>``
(one no partner reads: ``osv-programme.<service>.<type>``),
whose one message is the CloudEvent (structured JSON) carrying the event's
``data``; the data's JSON Schema is the model's, as in ``catalogue/schemas/``.
What the NATS binding cannot say (the JetStream streams, de-duplication,
ordering, the partners' streams, the chain heads' bucket) is in ``x-jetstream``
fields. ``make catalogue`` writes the whole document to
``catalogue/asyncapi.json`` (its server: ``make run``'s default); each write
service serves its own channels at ``GET /asyncapi.json``, reporting all of
them, naming the NATS server(s) the service is configured with.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from shared.events import (
    PROGRAMME_AUDIENCE,
    PROGRAMME_PREFIX,
    SPEC_SOURCE_PREFIX,
    EventCatalogue,
    PublicEvent,
    subject_for,
)
from shared.messaging import stream_subjects
from shared.municipalities import MunicipalityTable
from shared.roles import Permission, holders_of

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
"""The services' default ``nats_url``: where ``make run``'s embedded nats-server listens unless told otherwise."""
NATS_PORT = 4222


RECEIVERS = {True: "A partner's or a service's", False: "Never a partner's: a programme service's"}
"""Whose consumer receives an event, by :attr:`~shared.events.PublicEvent.for_partners`."""

DEFAULT_PORTS = {"ws": 80, "wss": 443}
"""The port of a WebSocket URL that names none (nats-server's websocket listener behind its usual port); 4222 otherwise."""
SCHEME_PROTOCOLS = {"nats": "nats", "tls": "nats", "ws": "ws", "wss": "wss"}
"""AsyncAPI's ``protocol`` of each scheme a NATS URL may have: NATS over TLS is still NATS; over WebSocket, ``ws``/``wss``."""


def nats_servers(nats_url: str) -> list[tuple[str, str]]:
    """``(host:port, protocol)`` of each server a NATS URL (or comma-separated list) names, without user or password:
    ``nats://osv:secret@10.0.0.5:10052,wss://nats.example.org`` → ``[("10.0.0.5:10052", "nats"), ("nats.example.org:4222", "wss")]``."""
    schemes = [urlsplit(url.strip() if "://" in url else f"nats://{url.strip()}").scheme for url in nats_url.split(",") if url.strip()]
    return [(host, SCHEME_PROTOCOLS.get(scheme, "nats")) for host, scheme in zip(nats_hosts(nats_url), schemes, strict=True)]


def nats_hosts(nats_url: str) -> list[str]:
    """``host:port`` of each server a NATS URL (or comma-separated list) names, without user or password:
    ``nats://osv:secret@10.0.0.5:10052,nats://nats-2`` → ``["10.0.0.5:10052", "nats-2:4222"]``."""
    hosts = []
    for url in nats_url.split(","):
        url = url.strip()
        if not url:
            continue
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        host = parts.hostname or "127.0.0.1"
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, NATS_PORT)
        except ValueError:  # not a number: said as configured (the service cannot reach it either)
            port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        hosts.append(f"{f'[{host}]' if ':' in host else host}:{port}")
    return hosts


def _servers(nats_url: str | None) -> dict[str, Any]:
    """The document's ``servers``: the NATS server(s) of ``nats_url``, or ``make run``'s default one for None."""
    servers = nats_servers(nats_url or DEFAULT_NATS_URL)
    if nats_url is None:
        where = ("The embedded nats-server `make run` starts, at its default address; each service's `GET /asyncapi.json` "
                 "names the server it is configured with.")
    else:
        where = "A NATS server partners connect to (the service's `partner_nats_url`, else its `nats_url`)."
    return {
        ("nats" if len(servers) == 1 else f"nats-{n}"): {
            "host": host,
            "protocol": protocol,
            "description": f"{where} A partner signs in with the user and password `osv-partner add` printed.",
            "security": [{"$ref": "#/components/securitySchemes/partner"}],
        }
        for n, (host, protocol) in enumerate(servers, start=1)
    }


def _summary(public: type[PublicEvent]) -> str:
    return " ".join((public.__doc__ or "").strip().split("\n\n", 1)[0].split())


def _description(public: type[PublicEvent]) -> str:
    return " ".join((public.__doc__ or "").strip().split())


def _data_schema(public: type[PublicEvent], schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON Schema, its nested definitions moved into ``components.schemas``."""
    schema = public.model_json_schema(ref_template=REF)
    for name, definition in schema.pop("$defs", {}).items():
        if name in schemas and schemas[name] != definition:
            msg = f"two public models define {name} differently: rename one"
            raise ValueError(msg)
        schemas[name] = definition
    return schema


def feed_readers(public: type[PublicEvent]) -> str:
    """Who, besides the services, reads an event no partner reads in ``GET /events``: the holders of its
    :attr:`~shared.events.PublicEvent.feed_permission`, named with the roles that hold it."""
    wanted = Permission(public.feed_permission)
    roles = ", ".join(f"`{kind}`" for kind in holders_of(Permission.EVENTS_READ, wanted) if kind != "service")
    return f"callers holding `{wanted}` beside `events:read` ({roles or 'no single role holds both'})"


def _envelope(service: str, public: type[PublicEvent]) -> dict[str, Any]:
    """The CloudEvent a message is: its attributes, and ``data`` as the event's schema."""
    name = public.__name__
    return {
        "type": "object",
        "description": f"A CloudEvents 1.0 structured JSON document whose `data` is a {name}.",
        "required": [
            "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "position",
            *([] if public.for_partners else ["audience"]), "data",
        ],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {
                "type": "string", "pattern": f"^{'[a-z]+' if public.every_service else service}:[0-9]+$",
                "description": "`<service>:<position>`; also the Nats-Msg-Id header.",
            },
            "source": {"const": SPEC_SOURCE_PREFIX + service} if not public.every_service else {
                "type": "string", "pattern": f"^{SPEC_SOURCE_PREFIX}[a-z]+$", "description": "The service whose store it is about.",
            },
            "type": {"const": name},
            "subject": {"type": "string", "description": "The id of the record that recorded it; the ids to join on are in `data`."},
            "time": {
                "type": "string", "format": "date-time",
                "description": "When the service's store recorded it (UTC); the events stored together (one command's) share it, "
                "`position` orders them.",
            },
            "datacontenttype": {"const": "application/json"},
            "position": {"type": "integer", "minimum": 1, "description": "Its place in the service's log; with `source`, its identity."},
            "previousposition": {
                "type": "integer",
                "minimum": 0,
                "description": "The position of the previous public event of the same log (0 for the first): nothing published "
                "lies between. It may name one a partner never receives: another municipality's, one for the programme alone, "
                "or one the relay stepped over (in no stream: only in GET /events). In GET /events the same event names the "
                "previous one its reader's pages may give, which may be an earlier position.",
            },
            "municipality": {
                "type": "string",
                "pattern": "^(mml|[0-9]{6})$",
                "description": "The municipality the event belongs to (its OSV's district, or the municipality it is about); absent for none.",
            },
            **({} if public.for_partners else {"audience": {
                "const": PROGRAMME_AUDIENCE,
                "description": f"For the programme only: the event goes out under `{PROGRAMME_PREFIX}.{service}.{name}`, which no partner "
                               f"receives; `GET /events` gives it to the services and to {feed_readers(public)}.",
            }}),
            "chainhash": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "The service log's hash chain at this position (SHA-256 hex): evidence an auditor checks with osv-verify.",
            },
            "data": {"$ref": REF.format(model=name)},
        },
    }


def asyncapi_document(catalogues: Iterable[EventCatalogue], stream_prefix: str = "OSV", nats_url: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of these services' events (a plain JSON-ready dict, in a stable order).

    Its ``servers`` name the NATS servers of ``nats_url`` (host and port, never a user or password); None: ``make run``'s
    default one, as ``catalogue/asyncapi.json`` says.
    """
    catalogues = list(catalogues)
    municipalities = [reference.id for reference in MunicipalityTable.of_lima().all()]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for catalogue in catalogues:
        service = catalogue.service
        stream = f"{stream_prefix}_{service.upper()}"
        for public in catalogue.public_events:
            name = public.__name__
            channel = f"{service}.{name}"
            schemas[name] = _data_schema(public, schemas)
            schemas[f"{name}CloudEvent"] = _envelope(service, public)
            messages[name] = {
                "name": name,
                "title": name,
                "summary": _summary(public),
                "description": _description(public),
                "contentType": "application/cloudevents+json",
                "headers": {"$ref": "#/components/schemas/NatsHeaders"},
                "payload": {"$ref": REF.format(model=f"{name}CloudEvent")},
            }
            channels[channel] = {
                "address": subject_for(service, "{municipality}", name),
                "title": f"{service}: {name}",
                "summary": _summary(public),
                "parameters": {"municipality": {"$ref": "#/components/parameters/municipality"}},
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
                "x-jetstream": {"stream": stream, "partner_stream": "OSV_EVENTS", "source": SPEC_SOURCE_PREFIX + service},
            }
            if not public.for_partners:  # outside every partner's filter, the MML's too (PublicEvent.for_partners)
                channels[channel]["address"] = subject_for(service, None, name, programme=True)
                channels[channel]["description"] = (
                    f"No partner receives it, not even the MML: it goes out under `{PROGRAMME_PREFIX}.{service}.{name}`, outside "
                    f"`osv.>`, so no partner's stream (OSV_EVENTS) is sourced with it and no consumer a partner may make on "
                    f"{stream} takes it; nor does a partner's `GET /events`. For the programme's services, and in `GET /events` "
                    f"for {feed_readers(public)}."
                )
                del channels[channel]["parameters"]
                channels[channel]["x-jetstream"] = {"stream": stream, "source": SPEC_SOURCE_PREFIX + service}
            operation = f"receive{name}From{service.capitalize()}" if public.every_service else f"receive{name}"
            operations[operation] = {
                "action": "receive",
                "title": f"Receive {name}",
                "summary": (
                    f"{RECEIVERS[public.for_partners]} durable consumer receives {name} "
                    "(ack after committing; skip what was applied, by source and position)."
                ),
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
                "bindings": {"nats": {"bindingVersion": "0.1.0"}},
                "x-jetstream": {"consumer": "durable pull consumer, explicit acks", "deliver_policy": "all, or by_start_sequence to replay"},
            }
    schemas["NatsHeaders"] = {
        "type": "object",
        "properties": {"Nats-Msg-Id": {"type": "string", "description": "`<service>:<position>`: JetStream stores a message once per id."}},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "osv-platform events",
            "version": VERSION,
            "description": (
                "What the programme's services publish, for municipal partners, donors' systems and auditors: every fact a "
                "CloudEvent on NATS JetStream, in the order of its service's log, without personal data. A partner's account "
                "holds one stream, OSV_EVENTS, of its municipality's events only (`osv.*.<ubigeo>.>`)."
            ),
            "x-jetstream": {
                "streams": {
                    f"{stream_prefix}_{c.service.upper()}": {
                        "subjects": stream_subjects(c.service),
                        "storage": "file",
                        "retention": "limits, no age limit: every event of the log",
                        "deduplication": "Nats-Msg-Id = <service>:<position>",
                        "ordering": "the service's log order (the relay publishes with Nats-Expected-Last-Sequence)",
                    }
                    for c in catalogues
                },
                "partner_stream": {
                    "name": "OSV_EVENTS",
                    "account": "PARTNER_<ubigeo> (PARTNER_MML for the MML, which takes every event of Lima)",
                    "sources": (
                        "each service stream, filtered by osv.<service>.<ubigeo>.> (the MML's by osv.<service>.>); never "
                        f"{PROGRAMME_PREFIX}.<service>.<type>, the events no partner receives"
                    ),
                    "retention": "limits, no age limit: resume after any time offline with a durable consumer",
                    "permissions": "read the stream, make, read and delete consumers on it; nothing else",
                },
                "chain_heads": {
                    "bucket": "OSV_CHAIN_HEADS",
                    "key": "<service>.<position, 12 digits>",
                    "value": "{service, position, hash, published_at}",
                    "published": (
                        "by each write service's relay (reporting: by the service itself) when its store moved: the head every "
                        "<SERVICE>_CHAIN_HEAD_SECONDS (30, at most 60), so within a minute of an event stored; an idle store's head "
                        "is not put again (once more after a restart, as another revision of its key)"
                    ),
                },
                "dead_letters": "OSV_PARKED (subject parked.<consumer>): the programme's only",
            },
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": _servers(nats_url),
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": messages,
            "parameters": {
                "municipality": {
                    "description": "`mml`, a district's ubigeo, or `none` for events that belong to no municipality (phases, rounds).",
                    "enum": [*municipalities, "none"],
                }
            },
            "securitySchemes": {
                "partner": {"type": "userPassword", "description": "A partner's NATS user, `partner-<ubigeo>`, in its own account."}
            },
        },
    }


_SERVED: dict[tuple[tuple[str, ...], str], dict[str, Any]] = {}


def document_for(catalogues: Iterable[EventCatalogue], nats_url: str) -> dict[str, Any]:
    """The document a service serves, naming the NATS server it is configured with (made once per process and URL): a
    copy, so that nobody changes the cached one."""
    catalogues = list(catalogues)
    key = (tuple(c.service for c in catalogues), nats_url)
    if key not in _SERVED:
        _SERVED[key] = asyncapi_document(catalogues, nats_url=nats_url)
    return copy.deepcopy(_SERVED[key])
