"""The embedded provider's secrets and who holds them: ``<state>/state.json`` (mode 0600), under one lock.

The demo accounts, the machine clients and their roles are named here; :class:`_State` keeps their passwords and
secrets, and the signing keys (see :mod:`devtools.identity`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from shared.districts import UBIGEO
from shared.municipalities import MML_ID

T = TypeVar("T")

#: The demo people, by login name; each belongs to the group (role) of the same name, unless :data:`DEMO_ACCOUNT_GROUPS` says otherwise.
DEMO_ACCOUNTS: tuple[str, ...] = ("staff", "lead", "municipal-150132", "evaluator", "evaluator-2", "auditor", "dpo")
#: The groups of a demo account not named after its role: a second person with the role.
#: ``evaluator-2``: a round's evaluator codes are held by distinct people (one code per person per round).
DEMO_ACCOUNT_GROUPS: Mapping[str, tuple[str, ...]] = {"evaluator-2": ("evaluator",)}
#: Machine clients (client-credentials grant) and the roles of their service accounts.
MACHINE_CLIENTS: Mapping[str, tuple[str, ...]] = {
    "osv-services": ("service",),
    # The Kobo webhook (services.imports): it records submissions and nothing else (shared.roles explains `importer`).
    "osv-imports": ("importer",),
}
PARTNER_CLIENT = re.compile(rf"^partner-({UBIGEO.pattern}|{MML_ID})$")
"""A municipal partner's machine client: ``partner-<ubigeo>``, or ``partner-mml``, with the role of its name. Which
municipalities may have one is the districts table's, as ``osv-partner`` takes them
(:meth:`~devtools.identity.IdentityProvider.add_partner_client`'s ``known``): it was Lima's ubigeo alone, and another
programme's districts file (``REGISTRY_DISTRICTS_FILE``) got its partners' NATS streams and no ``GET /events`` client
(tester 314 F4)."""


DEMO_PARTNER = "partner-150132"
"""The demo's partner client (San Juan de Lurigancho's ``GET /events``): made with a new state, and kept in it as any
partner client :meth:`~devtools.identity.IdentityProvider.add_partner_client` makes. It was one of
:data:`MACHINE_CLIENTS`, given a secret again at every start: a partner revoked (``osv-partner revoke``,
:meth:`~devtools.identity.IdentityProvider.remove_partner_client`) came back at the next (tester 225 F2)."""


def _machine_clients(state: _State) -> dict[str, tuple[str, ...]]:
    """:data:`MACHINE_CLIENTS`, and the partner clients ``state`` holds a secret for (:data:`DEMO_PARTNER`, and those
    :meth:`~devtools.identity.IdentityProvider.add_partner_client` made and no removal took out)."""
    added = {client_id: (client_id,) for client_id in state.client_secrets if PARTNER_CLIENT.match(client_id)}
    return {**MACHINE_CLIENTS, **added}

CLI_CLIENT = "osv-cli"


@dataclass
class _State:
    """The provider's secrets, kept in ``state.json`` (0600) beside its database."""

    secret_key: str
    active_jwks: list[dict[str, Any]]
    inactive_jwks: list[dict[str, Any]]
    passwords: dict[str, str]
    client_secrets: dict[str, str]

    @classmethod
    def load_or_create(cls, path: Path, extra_accounts: tuple[str, ...] = ()) -> _State:
        """The state at ``path``, made (or completed with accounts and clients it lacks) and saved when needed.

        Under an exclusive ``flock`` on ``state.lock`` beside it: threads or processes asking at once (a test's
        clients signing in together, ``make token`` beside ``make run``) get the same state, made once.
        """
        with cls._locked(path):
            return cls._load_or_create(path, extra_accounts)

    @classmethod
    def change(cls, path: Path, extra_accounts: tuple[str, ...], edit: Callable[[_State], T]) -> T:
        """:meth:`load_or_create`, ``edit`` the state, and save it, all under the one lock; returns what ``edit`` returns.

        A change read, made and saved outside the lock would write back a copy read before another's change (a
        rotation lost, an account's password handed out and then replaced).
        """
        with cls._locked(path):
            state = cls._load_or_create(path, extra_accounts)
            made = edit(state)
            state.save(path)
            return made

    @staticmethod
    @contextlib.contextmanager
    def _locked(path: Path) -> Iterator[None]:
        """An exclusive ``flock`` on ``state.lock`` beside ``path``, held for the block."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield

    @classmethod
    def _load_or_create(cls, path: Path, extra_accounts: tuple[str, ...]) -> _State:
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        state = cls(
            secret_key=data.get("secret_key") or secrets.token_urlsafe(32),
            active_jwks=data.get("active_jwks") or [_new_signing_key()],
            inactive_jwks=data.get("inactive_jwks") or [],
            passwords=dict(data.get("passwords") or {}),
            client_secrets=dict(data.get("client_secrets") or {}),
        )
        for name in (*DEMO_ACCOUNTS, *extra_accounts):
            state.passwords.setdefault(name, _new_password())
        for client_id in (*MACHINE_CLIENTS, CLI_CLIENT, *([] if data else [DEMO_PARTNER])):  # the demo's partner: a new state's
            state.client_secrets.setdefault(client_id, secrets.token_urlsafe(32))
        if state.__dict__ != data:
            state.save(path)
        return state

    @classmethod
    def load(cls, path: Path) -> _State:
        """The state as ``path`` holds it, written by nothing; raises :class:`FileNotFoundError` when there is none."""
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(
            secret_key=data.get("secret_key") or "",
            active_jwks=list(data.get("active_jwks") or []),
            inactive_jwks=list(data.get("inactive_jwks") or []),
            passwords=dict(data.get("passwords") or {}),
            client_secrets=dict(data.get("client_secrets") or {}),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix="state.", suffix=".tmp")  # 0600, a name of its own
        with os.fdopen(fd, "w") as file:
            json.dump(self.__dict__, file, indent=2)
        os.replace(temporary, path)


def _new_signing_key() -> dict[str, Any]:
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, auto_kid=True)
    return dict(key.as_dict(private=True))


def _new_password() -> str:
    # Readable, and long enough: four groups of four lowercase letters and digits.
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
