"""Configuration shared by every service: one pydantic-settings class each.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``
(``REGISTRY_``, ``FUNDING_``…) and default port. Nothing else in the code base
reads the environment.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import idna
from eventsourcing.cryptography import AESCipher
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.auth import AuthSettings
from shared.dates import EARLIEST_DATE
from shared.districts import DistrictsFileError, DistrictTable
from shared.files import PRIVATE_FILE, private_dir
from shared.sealing import MASTER_KEY_FORM, MASTER_KEY_SIZES, key_fault

KEY_BYTES = 32


def two_workers_if_cores() -> int:
    """The default :attr:`ServiceSettings.workers`: 2 on a machine with two cores or more, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_fault(origin: str) -> str | None:
    """Why ``origin`` is no origin a browser sends, or None: the serialisation of RFC 6454 and the WHATWG URL standard,
    ``scheme://host[:port]`` in lower case, a host in its ASCII form (an IDN's punycode, by ``idna``; an IPv4 address
    as four decimal numbers, an IPv6 one compressed), no default port, no path, no wildcard. Browsers compare origins
    as strings: any other form never matched, and every preflight was refused. A user name or password is never repeated."""
    if origin in ("*", "null"):
        return f"{origin!r} lets any page call the API: name each front end's origin"
    parts = urlsplit(origin)
    scheme = parts.scheme.lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) or not parts.hostname or any(c.isspace() for c in origin):
        return "an origin is scheme://host[:port], such as https://front.example.org" + ("" if "@" in origin else f", not {origin!r}")
    if "*" in parts.hostname or "%" in parts.hostname:
        return f"an origin names one host: no wildcard, no %-escape, not {origin!r}" if "@" not in origin else "an origin names one host"
    try:
        port = parts.port
        host = _ascii_host(parts.hostname)
    except (ValueError, idna.IDNAError) as error:
        return f"an origin's host and port are a host name or address and a number from 0 to 65535 ({error})"
    shown = f"{scheme}://{host}" + (f":{port}" if port is not None and port != DEFAULT_PORTS.get(scheme) else "")
    if "@" in parts.netloc:
        return f"an origin holds no user name or password: {shown!r}"
    if origin != shown:
        return f"write {origin!r} as a browser sends it, {shown!r} (no path, no trailing slash, lower case, no default port)"
    return None


def _ascii_host(hostname: str) -> str:
    """``hostname`` as a browser writes it in an origin; ValueError for an address it would write otherwise."""
    if ":" in hostname:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]"
    last = hostname.rstrip(".").rsplit(".", 1)[-1]
    if last.isdigit() or re.fullmatch(r"0[xX][0-9a-fA-F]*", last):  # the WHATWG URL standard reads it as an IPv4 address
        try:
            return str(ipaddress.IPv4Address(hostname))
        except ValueError:
            raise ValueError(f"write the IPv4 address {hostname!r} as four decimal numbers, such as 127.0.0.1") from None
    return hostname if hostname.isascii() else idna.encode(hostname, uts46=True).decode("ascii")


WRITE_SERVICES = ("registry", "funding", "engagement")
"""The services whose events others follow: the keys of ``<SERVICE>_FEED_URLS``."""


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``service_name`` and the prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default_factory=two_workers_if_cores,
        ge=1,
        le=32,
        description=(
            "Processes serving the API, started by the launchers (`make run`, the bench) as uvicorn's `--workers`. Python runs "
            "one thread at a time per process, so a second process is how a service uses a second core. They share the store "
            "(and, on SQLite, its files): one holds the relay lease and publishes, the others stand by."
        ),
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="Where embedded-default files live (SQLite stores, keys).",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "Event store (and local views). Unset: an SQLite file under var_dir. "
            "PostgreSQL: postgresql://user:password@host:port/dbname"
        ),
    )
    idempotency_retention_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long the answer of a POST sent with an Idempotency-Key is kept to be given again.",
    )
    nats_url: str = "nats://127.0.0.1:4222"
    partner_nats_url: str | None = Field(
        default=None,
        description="The NATS address partners connect to, when not the service's own `nats_url` (a proxy, a public name, "
        "a `wss://` gateway): what `GET /asyncapi.json` names in its `servers` (host and port, never a user or password). "
        "Comma-separated for several. Unset: the servers of `nats_url`.",
    )
    nats_stream: str = "OSV"
    nats_stream_replicas: int = 1
    nats_duplicate_window_seconds: float = 600.0
    nats_ping_seconds: float = Field(
        default=10.0, gt=0, le=120,
        description="How often the service pings NATS; two pings unanswered and the connection counts as lost (`/health` then says "
        "`disconnected`, and it reconnects): a server that hangs without closing its sockets is seen within about three times this.",
    )
    relay_batch_size: int = 1000
    relay_poll_seconds: float = Field(
        default=0.1,
        gt=0,
        le=60,
        description="How often an idle relay looks at the store for new events. Saves in its own process wake it at once; saves by "
        "another worker or replica (make run's two workers each save half the commands) are seen at the next look. Each look costs "
        "about 1 ms of CPU.",
    )
    relay_ack_timeout_seconds: float = 5.0
    relay_linger_seconds: float = Field(
        default=0.05,
        ge=0,
        le=60,
        description="After publishing a batch, seconds the relay waits before reading the next, so that events saved meanwhile go out "
        "together (a lone event goes out at once); 0 reads again at once.",
    )
    relay_stall_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long events may wait while the relay's published position does not move before `/health` says `degraded`, "
        "whichever replica (worker) answers: a standby knows only the store's positions, not the active relay's errors. Each replica "
        "counts from its own first health check that saw them waiting.",
    )
    postgres_lock_timeout_seconds: int = 5
    commands_on_the_loop: bool = Field(
        default=True,
        description="On an SQLite file, run the most frequent commands (`POST /osvs`, `/grants`, `/members`) on the event loop when "
        "the store takes their save at once, else in a worker thread (README, \"Each write service\"): a third less CPU per "
        "command. False runs every command in a thread: for a disk whose fsync is slow enough that the loop should not wait for it.",
    )
    chain_head_seconds: float = Field(
        default=30.0, gt=0, le=60, description="How often the relay puts the store's hash-chain head into the OSV_CHAIN_HEADS bucket when the store moved: "
        "within a minute of an event stored; an idle store's head is not put again."
    )
    relay_refusal_attempts: int = Field(
        default=8, description="Times in a row the stream may refuse an event before the relay steps over it (consumers then fetch it from the feed)."
    )
    max_body_bytes: int = Field(
        default=262_144, description="Largest request body a command takes (bytes); larger ones get 413. Keeps every event under NATS's 1 MB payload."
    )
    feed_urls: dict[str, str] = Field(
        default={
            "registry": "http://127.0.0.1:8001",
            "funding": "http://127.0.0.1:8002",
            "engagement": "http://127.0.0.1:8003",
        },
        description=(
            "Each write service's base URL (JSON object), for reading its `GET /events` feed: the service's views fetch "
            "from it the events the stream did not deliver, and reporting rebuilds from it."
        ),
    )
    follow_interval_seconds: float = Field(
        default=5.0, description="How often each view compares what it applied with its sources' feeds."
    )

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins_as_browsers_send_them(cls, origins: list[str]) -> list[str]:
        """Each an origin as a browser's ``Origin`` header gives it (``https://front.example.org``, a port if not the
        scheme's own): one with a path, a trailing slash or capitals never matched, and every preflight was refused
        without a word at start; ``*`` and ``null`` (any page, a file's or a sandbox's) are refused for an API of
        personal data (tester 163 F9)."""
        for origin in origins:
            if (why := origin_fault(origin)) is not None:
                raise ValueError(why)
        return origins

    @field_validator("master_key")
    @classmethod
    def _master_key_reads(cls, key: SecretStr | None) -> SecretStr | None:
        """Refused at start unless base64 of 16, 24 or 32 bytes: it was refused only once the service opened its store,
        in a traceback that never named the variable (tester 166 F3)."""
        if key is not None and (why := key_fault(key.get_secret_value(), MASTER_KEY_SIZES, MASTER_KEY_FORM)):
            raise ValueError(why)
        return key

    @field_validator("database_url")
    @classmethod
    def _database_url_reads(cls, url: str | None) -> str | None:
        """Refused at start unless SQLAlchemy reads it (a port that is no number, a URL that is none), never repeated: it
        may hold a password (tester 166 F3: a traceback once the service opened its store)."""
        if url:
            try:
                _ = make_url(url).port
            except (ArgumentError, ValueError):
                raise ValueError("is no database URL: write postgresql://user:password@host:port/dbname, or sqlite:///path") from None
        return url

    @field_validator("feed_urls")
    @classmethod
    def _feeds_of_write_services(cls, urls: dict[str, str]) -> dict[str, str]:
        """Refused when a key names no write service: a typo's feed (``registryy``) went unread, the service's own key
        missing, and the views could not fetch what the stream did not deliver, without a word."""
        if unknown := [name for name in urls if name not in WRITE_SERVICES]:
            raise ValueError(f"{' and '.join(map(repr, unknown))} name{'s' if len(unknown) == 1 else ''} no write service: "
                             f"its keys are {', '.join(WRITE_SERVICES)}")
        return urls
    database_connect_timeout_seconds: int = Field(
        default=5,
        ge=2,
        description="PostgreSQL: how long a request waits to connect (or for a pooled connection) before it answers 503.",
    )
    districts_file: Path | None = Field(
        default=None,
        description="A districts list (JSON, as shared/data/districts.json) to use instead of the shipped one: a district created by law is added there without a release.",
    )

    @field_validator("districts_file")
    @classmethod
    def _districts_file_holds_a_table(cls, path: Path | None) -> Path | None:
        """Refused, naming the file and what is wrong (the district, the field, the rule), for a file that does not read
        as a districts table (:class:`~shared.districts.DistrictsFileError`): one with a repeated ubigeo placed one
        district's OSVs under another, and one without a district's zone crashed ``make run`` (tester 314 F3)."""
        if path is not None:
            try:
                DistrictTable.of_lima(path)
            except DistrictsFileError as error:
                raise ValueError(error.of_file) from None
        return path
    earliest_date: date = Field(
        default=EARLIEST_DATE,
        description="The earliest plausible date of any fact a command records (a registration or a membership may precede the "
        "programme, not this); earlier dates get 422, rule `not_before_earliest_date`.",
    )
    health_timeout_seconds: float = Field(default=1.5, gt=0, description="How long `/health` waits for each probe (store, views) before it calls it unreachable.")
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="How tokens are checked: the `OSV_AUTH_` settings every service shares (issuer, audience, roles claim...).",
    )
    cors_allow_origins: list[str] = Field(
        default=[],
        description=(
            "Origins (JSON list, e.g. `[\"https://osv.example.org\"]`) whose browser front ends may call this API "
            "(CORS). Empty: none; the service's own pages (`/docs`, the dashboard) need no entry."
        ),
    )

    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Master key (base64 of 16, 24 or 32 bytes): wraps the data keys that seal staff's free text (and, in "
            "engagement, each person's data). Unset: read from, or first generated into, <var_dir>/<service>/master.key "
            "(mode 0600). Losing it loses what it seals: back it up apart from the database."
        ),
    )

    @property
    def service_dir(self) -> Path:
        return self.var_dir / self.service_name

    @property
    def master_key_file(self) -> Path:
        return self.service_dir / "master.key"

    def resolve_master_key(self) -> str:
        """The configured key, else the key file's, generating the file the first time."""
        if self.master_key is not None:
            return self.master_key.get_secret_value()
        return read_or_create_key(self.master_key_file)

    def store_url(self) -> str:
        """The event store's URL, defaulting to an SQLite file under ``var_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.service_dir / 'events.db').as_posix()}"

    def view_url(self) -> str:
        """SQLAlchemy URL of the service's own read tables (local views, positions)."""
        if self.database_url:
            return with_connect_timeout(sqlalchemy_url(self.database_url), self.database_connect_timeout_seconds)
        return f"sqlite:///{(self.service_dir / 'views.db').as_posix()}"

    def key_url(self) -> str:
        """SQLAlchemy URL of the key table (and engagement's document directory): the event store's own database.

        There a command's new keys and entries are inserted in its events'
        transaction (:class:`shared.siderows.SideRowsInTransaction`): on
        PostgreSQL the service's database (:meth:`view_url`, the same
        database), on SQLite the store's file (``events.db`` by default).
        """
        if self.database_url:
            return self.view_url()
        return self.store_url()

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field`` for this service: ``districts_file`` is ``REGISTRY_DISTRICTS_FILE``."""
        return f"{self.model_config.get('env_prefix') or ''}{field}".upper()

    def districts_table(self) -> DistrictTable:
        """Lima's districts as this service reads them: the file ``districts_file`` names, else the shipped table; it
        knows which it is and the setting's variable, for what the service says of a district it lacks."""
        return DistrictTable.of_lima(self.districts_file, setting=self.env_name("districts_file"))

    @property
    def idempotency_retention(self) -> timedelta:
        """``idempotency_retention_hours`` as a duration."""
        return timedelta(hours=self.idempotency_retention_hours)


def sqlalchemy_url(url: str) -> str:
    """Make a PostgreSQL URL use the psycopg 3 driver under SQLAlchemy."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def with_connect_timeout(url: str, seconds: int) -> str:
    """Give a PostgreSQL URL libpq's ``connect_timeout`` (unless it has one): a host that does not answer fails in seconds."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or "connect_timeout" in parsed.query:
        return url
    return parsed.update_query_dict({"connect_timeout": str(seconds)}).render_as_string(hide_password=False)


def read_or_create_key(path: Path) -> str:
    """Read the key file; if there is none, write a new key (base64 of 32 random bytes) readable by the owner only.

    The new key is written and synced to a private temporary file, then linked
    into place, so a concurrent start never reads a half-written key: whoever
    links second reads the first one's key.
    """
    if not path.exists():
        private_dir(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)
            os.write(fd, (AESCipher.create_key(KEY_BYTES) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip()


def refused_setting(error: ValidationError | SettingsError, classes: Iterable[type[BaseSettings]]) -> str:
    """One line naming the environment variable one of ``classes`` refused, and why (``REGISTRY_PORT is refused: Input
    should be a valid integer…``), for a command line to print instead of pydantic's traceback. The value is not
    repeated: it may be a secret.

    A :class:`~pydantic.ValidationError` names its class (its ``title``) and field; a
    :class:`~pydantic_settings.SettingsError` (a value that is not the JSON a list or a mapping is read from) only its
    field, and its class is the first of ``classes`` that refuses to be read again.
    """
    by_name = {cls.__name__: cls for cls in classes}
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        owner, field, why = by_name.get(error.title), str(first["loc"][0]) if first["loc"] else "", str(first["msg"]).removeprefix("Value error, ")
    else:
        found = re.search(r'field "(\w+)"', str(error))
        field = found.group(1) if found else ""
        owner = next((cls for cls in classes if _refuses(cls)), None)
        cause = error.__cause__
        why = f"not JSON ({type(cause).__name__}: {cause})" if isinstance(cause, ValueError) else str(error)
    if owner is not None and field and field not in owner.model_fields:  # a field's own variable (validation_alias="OSV_HOST")
        variable = field.upper()
    elif field:
        prefix = str(owner.model_config.get("env_prefix") or "") if owner is not None else ""
        variable = f"{prefix}{field}".upper()
    else:
        variable = owner.__name__ if owner is not None else "a setting"
    return " ".join(f"{variable} is refused: {why}".split())


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def read_or_exit(cls: type[SettingsT]) -> SettingsT:
    """``cls()``, the settings read from the environment; a variable that does not read ends the process (exit 2) after
    one error line naming it and why (:func:`refused_setting`, never its value).

    For a service started by uvicorn itself (the image, ``docker-compose.yml``): its app factory reads the settings, and
    a bad one was pydantic's traceback, twenty lines to find the variable in (tester 164 F2). ``make run`` checks every
    service's settings before starting anything (:mod:`deploy.run_local`).
    """
    try:
        return cls()
    except (ValidationError, SettingsError) as error:
        logging.getLogger("osv-platform").error("%s", refused_setting(error, (cls, AuthSettings)))
        raise SystemExit(2) from None


def _refuses(cls: type[BaseSettings]) -> bool:
    try:
        cls()
    except (ValidationError, SettingsError):
        return True
    return False
