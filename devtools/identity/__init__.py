"""The embedded identity provider: a real OpenID Connect provider (Canaille) for ``make run`` and the tests.

:class:`IdentityProvider` runs Canaille in a child process on loopback, with
its data (SQLite database, signing keys, demo passwords) under a state folder
(``var/idp/`` for ``make run``). On every start it creates what is missing:

* one demo account per role: ``staff``, ``lead``, ``municipal-150132``,
  ``evaluator``, ``auditor``, ``dpo`` (each in the group of the same name),
  and a second evaluator, ``evaluator-2`` (group ``evaluator``): a round's
  evaluator codes are held by distinct people, and the demo's rounds have two;
* the machine client ``partner-150132`` (client credentials, role
  ``partner-150132``; another municipality's, ``partner-<ubigeo>``, once
  :meth:`IdentityProvider.add_partner_client` made it), made with a new state only: a partner's client
  :meth:`IdentityProvider.remove_partner_client` took out stays out; the services' own client ``osv-services`` (role
  ``service``), used to read each other's ``GET /events`` feeds, and the
  Kobo webhook's client ``osv-imports`` (role ``importer``: it records submissions, and reads nobody's data). A
  machine client's service account holds exactly the roles named here, on an older state too: a start takes it out
  of any other group (``osv-imports`` was in ``staff`` before 2026-12);
* the clients people sign in through: ``osv-dashboard`` (public, PKCE,
  redirect to reporting's ``/dashboard/callback``, and after signing out to
  its ``/dashboard/signed-out``), ``osv-docs-<service>``
  (public, PKCE, Swagger UI's ``/docs/oauth2-redirect`` of each service) and
  ``osv-cli`` (confidential, for ``make token``). A service on a loopback
  host gets its redirect URIs under both loopback names
  (:func:`loopback_aliases`): ``make run`` gives ``http://127.0.0.1:8004``,
  and a person who opens ``http://localhost:8004/dashboard`` is sent back
  there. A restart on an older state registers them too.

Passwords and client secrets are random, generated once into
``<state>/state.json`` (mode 0600) and printed by ``make run``: **for local use
only**. Every access token is a JWT signed with the provider's RSA key, with
``aud`` containing ``osv-api`` and the caller's roles in ``groups``;
``shared.auth`` validates them.

CLI: ``python -m devtools.identity token <user>`` (``make token USER=<user>``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devtools.identity.flows import SignInError, client_credentials_token, sign_in
from devtools.identity.provider import ACCESS_TOKEN_SECONDS, API_AUDIENCE, AccountSpec, ClientSpec
from devtools.identity.state import (
    CLI_CLIENT,
    DEMO_ACCOUNT_GROUPS,
    DEMO_ACCOUNTS,
    DEMO_PARTNER,
    MACHINE_CLIENTS,
    PARTNER_CLIENT,
    _machine_clients,
    _new_signing_key,
    _State,
)
from devtools.processes import free_port, probe_client
from shared.lifecycle import ending_with_this_process
from shared.municipalities import MML_ID, NOT_IN_LIMA

__all__ = [
    "API_AUDIENCE",
    "CLI_CLIENT",
    "DASHBOARD_CLIENT",
    "DEMO_ACCOUNTS",
    "DEMO_ACCOUNT_GROUPS",
    "DEMO_PARTNER",
    "MACHINE_CLIENTS",
    "SERVICE_CLIENT",
    "IdentityProvider",
    "IdentityProviderError",
    "IdentitySettings",
    "SignInError",
    "docs_client_id",
    "loopback_aliases",
    "partner_client_removed",
]

log = logging.getLogger(__name__)



SERVICE_CLIENT = "osv-services"
DASHBOARD_CLIENT = "osv-dashboard"
# The CLI's redirect target is never listened on: the scripted sign-in reads the code from the redirect itself.
CLI_REDIRECT_URI = "http://127.0.0.1/osv-cli/callback"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
LOCAL_USE_WARNING = (
    "WARNING: these demo accounts and secrets are for local use only. They are printed here and kept in "
    "plain text under {state_dir}; never use them, nor this provider, on a reachable network."
)


#: The names a browser reaches this machine's loopback interface by, and the services listen on (IPv4).
LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost")


def loopback_aliases(url: str) -> tuple[str, ...]:
    """``url`` and, when its host is a loopback name (:data:`LOOPBACK_NAMES`), the same URL under the other one.

    ``"http://127.0.0.1:8004/dashboard/callback"`` gives itself and
    ``"http://localhost:8004/dashboard/callback"``, in that order (``url``
    first: it stays the client's default redirect). Any other host, a
    deployment's public address, gives ``(url,)`` alone.
    """
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK_NAMES:
        return (url,)
    port = f":{parts.port}" if parts.port is not None else ""
    others = (urlunsplit(parts._replace(netloc=f"{name}{port}")) for name in LOOPBACK_NAMES if name != parts.hostname)
    return (url, *others)


def docs_client_id(service: str) -> str:
    """The public client Swagger UI of ``service`` signs in with (its Authorize button)."""
    return f"osv-docs-{service}"


class IdentitySettings(BaseSettings):
    """Where the embedded provider keeps its data and listens (environment prefix ``OSV_``)."""

    model_config = SettingsConfigDict(env_prefix="OSV_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="The provider's state goes in `<var_dir>/idp/`.")
    host: str = "127.0.0.1"
    idp_port: int = Field(default=8005, description="The provider's port; its issuer is `http://<host>:<idp_port>`.")
    service_urls: dict[str, str] = Field(
        default={
            "registry": "http://127.0.0.1:8001",
            "funding": "http://127.0.0.1:8002",
            "engagement": "http://127.0.0.1:8003",
            "reporting": "http://127.0.0.1:8004",
        },
        description="Each service's base URL (JSON object): the dashboard's and Swagger UI's redirect URIs are built from them.",
    )

    @property
    def state_dir(self) -> Path:
        return self.var_dir / "idp"


class IdentityProviderError(RuntimeError):
    """The provider could not be started, or did not answer."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@contextlib.contextmanager
def schema_check_quiet() -> Iterator[None]:
    """INFO lines off while a command opens the provider's database: Canaille's schema check logs alembic's (its env.py
    sets up logging itself), and the person running the command is told its own lines only."""
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def partner_client_removed(client_id: str, *, was_there: bool) -> str:
    """What a removal of the partner's machine client (:meth:`IdentityProvider.remove_partner_client`) tells: ``remove-partner`` and ``osv-partner revoke`` print it."""
    if not was_there:
        return f"No machine client {client_id} at the identity provider: nothing to remove there"
    return (
        f"Machine client {client_id} removed from the identity provider: no new token is issued to it; a token it "
        f"got before still reads GET /events until it expires (at most {ACCESS_TOKEN_SECONDS // 60} minutes)"
    )


class IdentityProvider:
    """A real Canaille OpenID Connect provider in a child process, on loopback.

    ``state_dir`` holds its SQLite database, keys and demo secrets; the same
    folder gives the same accounts, secrets and keys across restarts. ``port=0``
    picks a free port. ``service_urls`` (service name -> base URL) places the
    dashboard's and Swagger UI's redirect URIs. ``extra_accounts`` (login name
    -> groups) adds people beyond the demo ones, e.g. a test account holding
    several roles. ``read_only`` (a client of a provider started elsewhere,
    such as ``make demo``) only reads that state: none there raises
    :class:`IdentityProviderError` naming its path, and nothing is written.
    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        service_urls: Mapping[str, str] | None = None,
        extra_accounts: Mapping[str, tuple[str, ...]] | None = None,
        end_with_parent: bool = False,
        read_only: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.read_only = read_only
        """Only read the state a provider keeps under ``state_dir`` (a client of ``make run``'s): never create or complete it."""
        self.host = host
        self.port = port or free_port(host)
        self.service_urls = dict(service_urls or IdentitySettings().service_urls)
        self.extra_accounts = {name: tuple(groups) for name, groups in (extra_accounts or {}).items()}
        self.end_with_parent = end_with_parent
        """SIGTERM it when the process that started it dies (``make run``'s launcher; Linux): see ``shared.lifecycle.ending_with_this_process``."""
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    @classmethod
    def from_settings(cls, settings: IdentitySettings | None = None, *, end_with_parent: bool = False, read_only: bool = False) -> IdentityProvider:
        settings = settings or IdentitySettings()
        return cls(
            settings.state_dir, port=settings.idp_port, host=settings.host, service_urls=settings.service_urls,
            end_with_parent=end_with_parent, read_only=read_only,
        )

    # -- what clients need -------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The issuer URL (``iss`` of every token), also the base of discovery."""
        return f"http://{self.host}:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "provider.log"

    @property
    def _state_path(self) -> Path:
        return self.state_dir / "state.json"

    def _state(self) -> _State:
        if self.read_only:
            if not self._state_path.is_file():
                raise IdentityProviderError(f"no identity provider state at {self._state_path}")
            return _State.load(self._state_path)
        if getattr(self, "_holding", False):  # inside :meth:`provisioning`: the lock is this process's already
            return _State._load_or_create(self._state_path, tuple(self.extra_accounts))
        return _State.load_or_create(self._state_path, tuple(self.extra_accounts))

    def passwords(self) -> dict[str, str]:
        """Each demo account's password (login name -> password)."""
        return dict(self._state().passwords)

    def client_secret(self, client_id: str) -> str:
        """The secret of a confidential client (``osv-cli``, ``osv-services``, ``partner-150132``)."""
        return self._state().client_secrets[client_id]

    def signing_keys(self) -> list[dict[str, Any]]:
        """The private JWKs the provider signs with now (tests use them to forge tokens)."""
        return list(self._state().active_jwks)

    def clients(self) -> list[ClientSpec]:
        """Every OAuth client the platform needs, with this provider's secrets and the services' URLs.

        The browsers' clients (dashboard, Swagger UI) redirect to each service's
        URL, and to its :func:`loopback_aliases` twin on a loopback host.
        """
        state = self._state()
        specs = [
            ClientSpec(
                client_id=CLI_CLIENT,
                name="osv-platform command line (make token)",
                grant_types=("authorization_code", "refresh_token"),
                redirect_uris=(CLI_REDIRECT_URI,),
                client_uri=_origin(CLI_REDIRECT_URI),
                secret=state.client_secrets[CLI_CLIENT],
            ),
        ]
        specs += [self._machine_client(client_id, roles, state) for client_id, roles in _machine_clients(state).items()]
        if "reporting" in self.service_urls:
            reporting = self.service_urls["reporting"].rstrip("/")
            specs.append(
                ClientSpec(
                    client_id=DASHBOARD_CLIENT,
                    name="osv-platform dashboard",
                    grant_types=("authorization_code", "refresh_token"),
                    redirect_uris=loopback_aliases(f"{reporting}/dashboard/callback"),
                    post_logout_redirect_uris=loopback_aliases(f"{reporting}/dashboard/signed-out"),
                    client_uri=_origin(reporting),
                )
            )
        for service, url in self.service_urls.items():
            specs.append(
                ClientSpec(
                    client_id=docs_client_id(service),
                    name=f"{service} API documentation (Swagger UI)",
                    grant_types=("authorization_code",),
                    redirect_uris=loopback_aliases(f"{url.rstrip('/')}/docs/oauth2-redirect"),
                    client_uri=_origin(url),
                )
            )
        return specs

    @staticmethod
    def _machine_client(client_id: str, roles: tuple[str, ...], state: _State) -> ClientSpec:
        return ClientSpec(
            client_id=client_id,
            name=f"machine client {client_id}",
            grant_types=("client_credentials",),
            secret=state.client_secrets[client_id],
            scope=(),
            service_account_groups=roles,
        )

    def machine_clients(self) -> dict[str, tuple[str, ...]]:
        """Each machine client (client credentials) and its roles: :data:`MACHINE_CLIENTS` and the partners added since."""
        return _machine_clients(self._state())

    def accounts(self) -> list[AccountSpec]:
        passwords = self.passwords()
        demo = [
            AccountSpec(user_name=name, password=passwords[name], groups=DEMO_ACCOUNT_GROUPS.get(name, (name,))) for name in DEMO_ACCOUNTS
        ]
        return demo + [AccountSpec(user_name=name, password=passwords[name], groups=groups) for name, groups in self.extra_accounts.items()]

    # -- tokens ------------------------------------------------------------------------------------

    def token_response(self, name: str) -> dict[str, Any]:
        """The token endpoint's answer for a demo account or machine client.

        A person signs in through the provider's pages (authorization code +
        PKCE, client ``osv-cli``); a machine client uses client credentials.
        Raises :class:`SignInError` for an unknown name or a refusal.
        """
        machines = self.machine_clients()
        if name in machines:
            return client_credentials_token(issuer=self.issuer, client_id=name, client_secret=self.client_secret(name))
        passwords = self.passwords()
        if name not in passwords:
            known = ", ".join((*DEMO_ACCOUNTS, *machines))
            msg = f"no demo account or machine client named {name!r}; known: {known}"
            raise SignInError(msg)
        return sign_in(
            issuer=self.issuer,
            client_id=CLI_CLIENT,
            client_secret=self.client_secret(CLI_CLIENT),
            redirect_uri=CLI_REDIRECT_URI,
            user_name=name,
            password=passwords[name],
        )

    def token(self, name: str) -> str:
        """An access token the provider issued to ``name`` (see :meth:`token_response`)."""
        return str(self.token_response(name)["access_token"])

    # -- process -----------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The provider process's pid while it was started here."""
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """The exit code of a provider that ended without :meth:`stop` (a crash, a kill); None while it runs."""
        return self._process.poll() if self._process is not None else None

    def is_answering(self, timeout: float = 2.0) -> bool:
        """Whether a provider with this issuer answers discovery now."""
        try:
            response = probe_client().get(self.discovery_url, timeout=timeout)
            return response.status_code == 200 and response.json().get("issuer") == self.issuer
        except (httpx.HTTPError, ValueError):
            return False

    def start(self) -> Self:
        """Start the provider and wait until discovery answers; creates accounts and clients."""
        if self._process is not None and self._process.poll() is None:
            return self
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._state()  # keys, passwords and secrets exist before the child reads them
        command = [
            sys.executable,
            "-m",
            "devtools.identity",
            "serve",
            "--state-dir",
            str(self.state_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        for service, url in self.service_urls.items():
            command += ["--service", f"{service}={url}"]
        for name, groups in self.extra_accounts.items():
            command += ["--account", f"{name}={','.join(groups)}"]
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (kept open while the child runs)
        env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"}
        self._process = subprocess.Popen(  # noqa: PLW1509 - preexec only for the launcher, which has no other thread
            command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=ending_with_this_process() if self.end_with_parent else None,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._close()
                msg = f"the identity provider exited with code {code} while starting; see {self.log_path}:\n{self._tail()}"
                raise IdentityProviderError(msg)
            if self.is_answering(timeout=1.0):
                return self
            time.sleep(0.2)
        self.stop()
        msg = f"the identity provider did not answer {self.discovery_url} within {START_TIMEOUT:.0f}s; see {self.log_path}"
        raise IdentityProviderError(msg)

    def stop(self) -> None:
        """Stop the provider (SIGTERM, then SIGKILL); idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close()

    def restart(self) -> None:
        """Stop and start again on the same port with the same state."""
        self.stop()
        self.start()

    def rotate_signing_key(self) -> str:
        """Sign with a new RSA key from now on; the previous one stays published for tokens it signed.

        Restarts the provider if it runs. Returns the new key's ``kid``.
        """
        if self.read_only:
            raise IdentityProviderError(f"a read-only client of {self._state_path} cannot rotate its keys")

        def rotated(state: _State) -> dict[str, Any]:
            key = _new_signing_key()
            state.inactive_jwks = (state.active_jwks + state.inactive_jwks)[:2]
            state.active_jwks = [key]
            return key

        key = _State.change(self._state_path, tuple(self.extra_accounts), rotated)
        if self._process is not None:
            self.restart()
        return str(key["kid"])

    def rotate_client_secret(self, client_id: str) -> str:
        """Give the machine client ``client_id`` a new secret; the old one is refused from now on.

        The new secret is saved in the state (under its lock) and, when the provider's database exists, set there
        too, so a running provider (``make run``'s, in another process) takes only the new one from its next token
        request, without a restart. Access tokens issued before stay valid until their ``exp`` (1 hour): the
        services check tokens offline. Returns the new secret (print it once). Raises
        :class:`IdentityProviderError` for a read-only client or a name that is not a machine client.
        """
        if self.read_only:
            raise IdentityProviderError(f"a read-only client of {self._state_path} cannot rotate a client's secret")
        machines = self.machine_clients()
        if client_id not in machines:
            known = ", ".join(machines)
            raise IdentityProviderError(f"no machine client named {client_id!r}; known: {known}")

        from devtools.identity import provider as canaille_provider

        app = self.canaille_app() if self.database_path.exists() else None  # it reads the state: before the lock

        def rotated(state: _State) -> str:
            # The database is set under the state's lock, before the state is saved: rotations at once (tester 33, F3),
            # or a provider provisioning at its start (:meth:`provisioning`), never leave the two saying different
            # secrets, and a database that refuses leaves the state as it was.
            state.client_secrets[client_id] = secrets.token_urlsafe(32)
            if app is not None:
                canaille_provider.set_client_secret(app, client_id, state.client_secrets[client_id])
            return state.client_secrets[client_id]

        return _State.change(self._state_path, tuple(self.extra_accounts), rotated)

    def add_partner_client(self, municipality: str, known: Collection[str], table: str | None = None) -> tuple[str, str]:
        """A machine client ``partner-<municipality>`` (client credentials, role of the same name: ``GET /events`` of
        that municipality's events only), made with a new secret; for a client made before, its secret, unchanged.

        ``municipality`` is one of ``known``: ``mml`` or a district's ubigeo of the districts table the services map
        with (:func:`devtools.nats_accounts.municipalities`, as ``osv-partner`` takes them: the shipped table's, or
        those of a districts file, ``table``, which the refusal names: "the file … (REGISTRY_DISTRICTS_FILE)"). The
        client is saved in the state and, when the provider's database exists, registered there at once (a running
        provider serves it without a restart; a later start provisions it from the state). Returns (client id,
        secret): print the secret once. Raises :class:`IdentityProviderError` for a read-only client or a
        municipality not in ``known``.
        """
        if self.read_only:
            raise IdentityProviderError(f"a read-only client of {self._state_path} cannot add a client")
        code = municipality.strip().lower()
        client_id = f"partner-{code}"
        if code not in known or not PARTNER_CLIENT.match(client_id):
            if table is None:
                raise IdentityProviderError(NOT_IN_LIMA.format(municipality))
            example = next((other for other in sorted(known) if other != MML_ID), MML_ID)
            raise IdentityProviderError(
                f"'{municipality}' is not a municipality of the districts table, {table}: use 'mml' or one of its "
                f"districts' ubigeo (e.g. {example})"
            )

        from devtools.identity import provider as canaille_provider

        app = self.canaille_app() if self.database_path.exists() else None  # it reads the state: before the lock

        def added(state: _State) -> str:
            # Registered under the state's lock, before the state is saved, as a rotation is (:meth:`rotate_client_secret`).
            secret = state.client_secrets.setdefault(client_id, secrets.token_urlsafe(32))
            if app is not None:
                canaille_provider.provision(app, [], [self._machine_client(client_id, (client_id,), state)])
            return secret

        return client_id, _State.change(self._state_path, tuple(self.extra_accounts), added)

    def remove_partner_client(self, municipality: str) -> str | None:
        """Take the partner's machine client ``partner-<municipality>`` out, as ``osv-partner revoke`` does: from the
        provider's database when it exists (a running provider issues it no token from its next request on, without a
        restart) and from the state (no start brings it back, :data:`DEMO_PARTNER` included; ``add-partner`` makes it
        again, with a new secret). Access tokens issued to it before stay valid until their ``exp`` (at most
        :data:`~devtools.identity.provider.ACCESS_TOKEN_SECONDS`): the services check tokens offline.

        Returns the client id, or None when there was no such client. Raises :class:`IdentityProviderError` for a
        read-only client or a code that names no partner client (``partner-staff``).
        """
        if self.read_only:
            raise IdentityProviderError(f"a read-only client of {self._state_path} cannot remove a client")
        client_id = f"partner-{municipality.strip().lower()}"
        if not PARTNER_CLIENT.match(client_id):
            raise IdentityProviderError(NOT_IN_LIMA.format(municipality))

        from devtools.identity import provider as canaille_provider

        app = self.canaille_app() if self.database_path.exists() else None  # it reads the state: before the lock

        def removed(state: _State) -> str | None:
            # Out of the database under the state's lock, before the state is saved, as a rotation is set: a database that
            # refuses leaves the state as it was, and the command run again finds the client still there.
            found = state.client_secrets.pop(client_id, None) is not None
            if app is not None:
                found = canaille_provider.remove_client(app, client_id) or found
            return client_id if found else None

        return _State.change(self._state_path, tuple(self.extra_accounts), removed)

    @contextlib.contextmanager
    def provisioning(self) -> Iterator[None]:
        """Hold the state's lock for the block (the provider's start provisioning its database from the state): a
        rotation waits for it, and it for a rotation. :meth:`accounts` and :meth:`clients` read the state inside it."""
        with _State._locked(self._state_path):
            self._holding = True
            try:
                yield
            finally:
                self._holding = False

    @property
    def database_path(self) -> Path:
        """The provider's SQLite database (Canaille's), in the state folder."""
        return (self.state_dir / "canaille.sqlite").resolve()

    def canaille_app(self) -> Any:
        """Canaille's Flask application over this provider's state and database (the provider process serves it)."""
        from devtools.identity import provider as canaille_provider

        state = self._state()
        config = canaille_provider.canaille_config(
            host=self.host, port=self.port, database_path=str(self.database_path), secret_key=state.secret_key,
            active_jwks=state.active_jwks, inactive_jwks=state.inactive_jwks,
        )
        return canaille_provider.create_app(config)

    def _close(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def describe(self) -> str:
        """What ``make run`` prints: the issuer, the demo accounts with their passwords, and the warning."""
        passwords = self.passwords()
        lines = [f"  {'identity':<11} {self.issuer}   (OpenID Connect provider, Canaille; data in {self.state_dir})"]
        lines += [f"      {name:<18} password {passwords[name]}" for name in DEMO_ACCOUNTS]
        lines += [f"      {name:<18} client secret {self.client_secret(name)}" for name in self.machine_clients()]
        lines.append("    " + LOCAL_USE_WARNING.format(state_dir=self.state_dir))
        lines.append("    A token for any of them: make token USER=<name>")
        return "\n".join(lines)
