"""The embedded nats-server's accounts: the programme's, and one per municipal partner.

``<store_dir>/accounts.json`` (mode 0600) is the record; ``<store_dir>/accounts.conf``
is written from it and included by ``nats.conf``. ``osv-partner`` changes the
record, writes the file again and has the running server reload it (SIGHUP).

Every municipality (the MML and the 43 districts) has its account, with its
imports and the programme's exports to it, from the server's start: nats-server
reloads users, but a stream sourced through exports and imports added by a
reload never starts (measured with nats-server 2.15: its sources stay inactive, without an
error). A partner is then only users and a stream: ``osv-partner add`` gives
the account its users, ``revoke`` takes them away. The server's start writes
which municipalities those are into ``accounts.json`` (:attr:`Accounts.municipalities`),
from the districts table it is given (``make run``: registry's ``REGISTRY_DISTRICTS_FILE``,
so a district added by file has its account); ``osv-partner`` takes those.

- **OSV**, the programme's account: JetStream for the services' streams. Its
  users: ``osv`` (the services; nothing may delete, purge or rewrite the chain
  heads' bucket ``KV_OSV_CHAIN_HEADS``) and ``auditor`` (reads the heads
  bucket, nothing else: its keys and a key's history too, as nats-py's
  ``kv.keys()`` and ``kv.history()`` list them, through ephemeral consumers
  on the bucket's stream alone, which it may not delete: :func:`auditor_reads`).
- **PARTNER_<ubigeo>**, one per partner: JetStream of its own, limited, with
  one stream, ``OSV_EVENTS``, sourced from the three service streams with the
  filter ``osv.<service>.<ubigeo>.>`` (``mml``: every event of Lima). The
  programme's account exports to it only the consumer-create subjects of
  *that* filter (``$JS.API.CONSUMER.CREATE.OSV_REGISTRY.*.osv.registry.<ubigeo>.>``:
  the server checks that the filter in the subject is the consumer's), the
  delivery subjects ``osv-partner.<ubigeo>.>`` and flow control. So the
  partner's account only ever holds its municipality's events. The events no
  partner reads, the MML included (an OSV's counts by document type), are on
  ``osv-programme.<service>.<type>`` in the same service streams: outside every
  partner's filter, so neither a partner's stream nor a consumer it may make
  takes them, and no export names them.
- The partner's user may read its own stream and make, read and delete
  consumers on it, and nothing else: no publishing to ``osv.>`` (nor
  ``osv-programme.>``), no
  JetStream API of the programme's account (the imported ``$JS.osv.API.>``
  is denied), no stream changes, no subscription but its own inboxes, and no
  permission to answer requests (``allow_responses`` is left off, so a reply
  subject cannot carry it anywhere). A second user, ``osv-admin-<ubigeo>``,
  whose password only ``accounts.json`` holds, is how ``osv-partner`` makes
  and deletes the partner's stream.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.events import PROGRAMME_PREFIX

PROGRAMME_ACCOUNT = "OSV"
PROGRAMME_USER = "osv"
AUDITOR_USER = "auditor"
PARTNER_STREAM = "OSV_EVENTS"
API_PREFIX = "$JS.osv.API"
"""Where the programme's JetStream API (only the consumer-create subjects of a partner's filter) appears in a partner's account."""
SERVICES = ("registry", "funding", "engagement")
STREAM_PREFIX = "OSV"
HEADS_STREAM = "KV_OSV_CHAIN_HEADS"


def municipalities(districts_file: Path | None = None, setting: str = "REGISTRY_DISTRICTS_FILE") -> dict[str, str]:
    """Every municipality a partner may be of, by id (``mml``, a district's ubigeo) with its name: the MML and the
    districts' municipalities of the shipped table, or of the districts file ``districts_file`` (a district added by law;
    ``make run`` gives registry's, the variable ``setting``).

    Raises :class:`~shared.districts.DistrictsFileError`, one line naming ``setting``, the file and what is wrong, for a
    file that does not hold a districts table."""
    from shared.districts import DistrictTable
    from shared.municipalities import MunicipalityTable

    table = DistrictTable.of_lima(districts_file, setting=setting)
    return {reference.id: reference.name for reference in MunicipalityTable(table).all()}


def partner_account(municipality: str) -> str:
    return f"PARTNER_{municipality.upper()}"


def partner_user(municipality: str) -> str:
    return f"partner-{municipality}"


def admin_user(municipality: str) -> str:
    return f"osv-admin-{municipality}"


def deliver_prefix(municipality: str) -> str:
    return f"osv-partner.{municipality}"


def filter_token(municipality: str) -> str:
    """The subject token a partner takes: its ubigeo; ``mml`` (the metropolitan municipality) takes every event of Lima."""
    return "*" if municipality == "mml" else municipality


def source_filter(service: str, municipality: str) -> str:
    """A partner's filter of a service stream: ``osv.<service>.<ubigeo>.>``; the MML's, ``osv.<service>.>`` (every event
    of Lima, and the programme-wide ones under ``none``). Neither takes ``osv-programme.<service>.<type>``: no partner's."""
    return f"osv.{service}.>" if municipality == "mml" else f"osv.{service}.{municipality}.>"


def consumer_create(service: str, municipality: str) -> str:
    """The only consumer-create subject of the programme's API a partner's account may reach: its own filter's."""
    return f"$JS.API.CONSUMER.CREATE.{STREAM_PREFIX}_{service.upper()}.*.{source_filter(service, municipality)}"


def auditor_reads() -> list[str]:
    """What the ``auditor`` user may publish: the JetStream API requests with which nats-py 2.16's ``kv.get()``,
    ``kv.keys()`` and ``kv.history()`` (and ``osv-verify``'s :func:`shared.chainheads.read_heads`) read the heads
    bucket, and nothing else (the server's subjects: ``server/jetstream_api.go``).

    - ``STREAM.INFO`` of the bucket's stream: ``js.key_value()`` binds with it.
    - ``DIRECT.GET`` of it: ``kv.get(key)`` (``….<subject>``) and ``kv.get(key, revision=n)`` (the bare subject).
    - ``CONSUMER.CREATE.<stream>`` alone, the form nats-py makes ``kv.keys()``'s and ``kv.history()``'s ordered
      consumer with (and ``read_heads`` its pull consumer): the server refuses a ``durable_name`` on it
      (``JSConsumerEphemeralWithDurableNameErr``), so every consumer made through it is ephemeral. Not
      ``CONSUMER.CREATE.<stream>.<name>[.<filter>]``, which makes a durable when the request names one, nor
      ``CONSUMER.DURABLE.CREATE``. What no subject can narrow: the request's body still may name the consumer and
      ask for any ``inactive_threshold``; the heads stream caps that (:data:`shared.chainheads.HEADS_CONSUMER_SECONDS`).
    - ``CONSUMER.INFO`` and ``CONSUMER.MSG.NEXT`` of one consumer of the stream (``*``: a consumer name is one
      token): the watcher reads its consumer's pending count, ``read_heads`` fetches.
    - ``$JS.FC.<stream>.>``: an ordered consumer answers the server's flow control there.

    Not ``CONSUMER.DELETE``: nats-py never deletes these consumers (an unsubscribe leaves them to the server, which
    removes each once its ``inactive_threshold`` passes with no reader), and the subject names a consumer only by its
    name, the auditor's own or a service's alike. Not ``$JS.API.INFO`` (the account's totals), ``STREAM.NAMES``,
    ``CONSUMER.LIST`` or ``CONSUMER.NAMES``: none of the three calls asks for them.
    """
    return [
        f"$JS.API.STREAM.INFO.{HEADS_STREAM}",
        f"$JS.API.DIRECT.GET.{HEADS_STREAM}",
        f"$JS.API.DIRECT.GET.{HEADS_STREAM}.>",
        f"$JS.API.CONSUMER.CREATE.{HEADS_STREAM}",
        f"$JS.API.CONSUMER.INFO.{HEADS_STREAM}.*",
        f"$JS.API.CONSUMER.MSG.NEXT.{HEADS_STREAM}.*",
        f"$JS.FC.{HEADS_STREAM}.>",
    ]


@dataclass
class Partner:
    municipality: str
    password_bcrypt: str
    admin_password: str
    added_at: str


@dataclass
class Accounts:
    """The record the config is written from."""

    programme_password: str
    auditor_password: str
    partners: dict[str, Partner] = field(default_factory=dict)
    municipalities: dict[str, str] = field(default_factory=dict)
    """The municipalities (id → name) whose accounts the running server's config holds, as its start wrote them from
    its districts table (:class:`devtools.nats_server.NatsServer`); empty in a record no start wrote them to: then the
    shipped table's."""

    def known(self) -> dict[str, str]:
        """The municipalities with an account in the config (id → name): :attr:`municipalities`, and every partner's."""
        known = dict(self.municipalities or municipalities())
        for municipality in self.partners:
            known.setdefault(municipality, municipality)  # a partner of a district taken out of the table keeps its account
        return known

    @classmethod
    def load(cls, store_dir: Path) -> Accounts:
        """The record in ``store_dir``; made (with random passwords) the first time."""
        path = store_dir / "accounts.json"
        if not path.exists():
            accounts = cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
            accounts.save(store_dir)
            return accounts
        raw = json.loads(path.read_text("utf-8"))
        return cls(
            raw["programme_password"],
            raw["auditor_password"],
            {m: Partner(**p) for m, p in raw.get("partners", {}).items()},
            dict(raw.get("municipalities", {})),
        )

    def save(self, store_dir: Path) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        path = store_dir / "accounts.json"
        body = {
            "programme_password": self.programme_password,
            "auditor_password": self.auditor_password,
            "partners": {m: vars(p) for m, p in sorted(self.partners.items())},
            "municipalities": self.municipalities,
        }
        temporary = path.with_suffix(".tmp")
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            json.dump(body, out, indent=2)
        temporary.replace(path)

    def add(self, municipality: str, password: str) -> Partner:
        import bcrypt

        partner = Partner(
            municipality=municipality,
            password_bcrypt=bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=11)).decode(),
            admin_password=secrets.token_urlsafe(24),
            added_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        self.partners[municipality] = partner
        return partner

    def rotate(self, municipality: str, password: str) -> Partner:
        """The partner's user gets ``password`` (kept as a bcrypt hash); its account, stream and admin stay."""
        import bcrypt

        partner = self.partners[municipality]
        partner.password_bcrypt = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=11)).decode()
        return partner

    # The config -----------------------------------------------------------------------

    def config(self) -> str:
        """``accounts.conf``: the accounts block nats.conf includes (JSON is valid nats-server config)."""
        accounts: dict[str, Any] = {PROGRAMME_ACCOUNT: self._programme()}
        for municipality in self.known():
            accounts[partner_account(municipality)] = self._partner(municipality, self.partners.get(municipality))
        return "accounts: " + json.dumps(accounts, indent=2) + "\n"

    def _programme(self) -> dict[str, Any]:
        heads_api = [f"$JS.API.STREAM.{action}.{HEADS_STREAM}" for action in ("DELETE", "PURGE", "UPDATE", "MSG.DELETE")]
        exports: list[dict[str, Any]] = []
        partners = list(self.known())
        for municipality in partners:
            account = [partner_account(municipality)]
            exports += [{"service": consumer_create(service, municipality), "accounts": account} for service in SERVICES]
            exports.append({"stream": f"{deliver_prefix(municipality)}.>", "accounts": account})
        if partners:
            exports.append({"service": "$JS.FC.>", "accounts": [partner_account(m) for m in partners]})
        return {
            "jetstream": "enabled",
            "users": [
                {"user": PROGRAMME_USER, "password": self.programme_password, "permissions": {"publish": {"deny": heads_api}}},
                {
                    "user": AUDITOR_USER,
                    "password": self.auditor_password,
                    "permissions": {"publish": {"allow": auditor_reads()}, "subscribe": {"allow": ["_INBOX.>"]}},
                },
            ],
            "exports": exports,
        }

    def _partner(self, municipality: str, partner: Partner | None) -> dict[str, Any]:
        own = PARTNER_STREAM
        return {
            # One stream, filled only by the sourcing; storage is not reserved per account (44 of them).
            "jetstream": {"max_streams": 1, "max_consumers": 100},
            "users": [] if partner is None else [
                {
                    "user": partner_user(municipality),
                    "password": partner.password_bcrypt,
                    "permissions": {
                        "publish": {
                            "allow": [
                                "$JS.API.INFO",
                                "$JS.API.STREAM.NAMES",
                                f"$JS.API.STREAM.INFO.{own}",
                                f"$JS.API.STREAM.MSG.GET.{own}",
                                f"$JS.API.DIRECT.GET.{own}",
                                f"$JS.API.DIRECT.GET.{own}.>",
                                f"$JS.API.CONSUMER.CREATE.{own}",
                                f"$JS.API.CONSUMER.CREATE.{own}.>",
                                f"$JS.API.CONSUMER.DURABLE.CREATE.{own}.>",
                                f"$JS.API.CONSUMER.INFO.{own}.>",
                                f"$JS.API.CONSUMER.DELETE.{own}.>",
                                f"$JS.API.CONSUMER.LIST.{own}",
                                f"$JS.API.CONSUMER.NAMES.{own}",
                                f"$JS.API.CONSUMER.MSG.NEXT.{own}.>",
                                f"$JS.ACK.{own}.>",
                                f"$JS.FC.{own}.>",
                            ],
                            # Spelled out although nothing above allows them: the programme's API as imported,
                            # the delivery subjects that fill the partner's stream, and the events' subjects.
                            "deny": [
                                f"{API_PREFIX}.>", "osv-partner.>", "osv.>", f"{PROGRAMME_PREFIX}.>", "$JS.API.STREAM.CREATE.>",
                                "$JS.API.STREAM.DELETE.>",
                            ],
                        },
                        "subscribe": {"allow": ["_INBOX.>"], "deny": ["osv-partner.>", f"{PROGRAMME_PREFIX}.>"]},
                    },
                },
                {"user": admin_user(municipality), "password": partner.admin_password},
            ],
            "imports": [
                *(
                    {
                        "service": {"account": PROGRAMME_ACCOUNT, "subject": consumer_create(service, municipality)},
                        "to": consumer_create(service, municipality).replace("$JS.API", API_PREFIX, 1),
                    }
                    for service in SERVICES
                ),
                {"stream": {"account": PROGRAMME_ACCOUNT, "subject": f"{deliver_prefix(municipality)}.>"}},
                {"service": {"account": PROGRAMME_ACCOUNT, "subject": "$JS.FC.>"}},
            ],
        }

    def write(self, store_dir: Path) -> None:
        """Save the record and write ``accounts.conf`` beside it (mode 0600)."""
        self.save(store_dir)
        path = store_dir / "accounts.conf"
        temporary = path.with_suffix(".tmp")
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(self.config())
        temporary.replace(path)


def partner_stream_config(municipality: str) -> Any:
    """The partner's own stream: sourced from the three service streams through its filter; kept for good (no age limit)."""
    from nats.js.api import ExternalStream, RetentionPolicy, StorageType, StreamConfig, StreamSource

    return StreamConfig(
        name=PARTNER_STREAM,
        description=f"The programme's events of municipality {municipality}, sourced from OSV_REGISTRY, OSV_FUNDING and OSV_ENGAGEMENT",
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        allow_direct=True,
        sources=[
            StreamSource(
                name=f"{STREAM_PREFIX}_{service.upper()}",
                filter_subject=source_filter(service, municipality),
                external=ExternalStream(api=API_PREFIX, deliver=f"{deliver_prefix(municipality)}.{service}"),
            )
            for service in SERVICES
        ],
    )
