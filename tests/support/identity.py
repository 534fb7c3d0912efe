"""Tokens for the tests: issued by the real embedded provider, cached per session; and forged ones.

:class:`IssuedTokens` asks the provider (``devtools.identity``) for an access
token per demo account or machine client, the way ``make token`` does, and
reuses it until a few minutes before it expires. :func:`forge` signs claims
with a key of the test's choosing: the provider's own private key (read from
its state folder) to change one claim of an otherwise valid token, or a key
the provider never published.
"""

from __future__ import annotations

import atexit
import base64
import json
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.identity import SERVICE_CLIENT, IdentityProvider
from shared.auth import AuthSettings

RENEW_BEFORE_EXPIRY_SECONDS = 300

TESTER = "tester"
"""The account the services' shared test clients sign in as: every role a person can hold at once.

The API tests are about what the services do; who may do it is the matrix's
(``tests/integration/test_authorization_matrix.py``) and each role's own tests.
An evaluator too, so a test assigns it rounds to score them.
"""
TESTER_ROLES = ("lead", "auditor", "dpo", "evaluator")
MML_FOCAL_POINT = "municipal-mml"
"""The MML's focal point (no demo account of the provider's): reads all of Lima, records the MML's RUOS decisions."""


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified (to read ``exp`` for caching, or to copy claims)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class IssuedTokens:
    """``tokens["staff"]``: an access token the provider issued to that account (or machine client)."""

    def __init__(self, provider: IdentityProvider) -> None:
        self.provider = provider
        self._tokens: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        token = self._tokens.get(name)
        if token is None or unverified_claims(token)["exp"] - time.time() < RENEW_BEFORE_EXPIRY_SECONDS:
            token = self._tokens[name] = self.provider.token(name)
        return token

    def headers(self, name: str) -> dict[str, str]:
        """``Authorization: Bearer <token>`` for that account."""
        return {"Authorization": f"Bearer {self[name]}"}


def forge(claims: Mapping[str, Any], key: Mapping[str, Any] | RSAKey, *, typ: str = "at+jwt") -> str:
    """A JWT with ``claims`` signed (RS256) by ``key``, a private JWK; its ``kid`` goes in the header."""
    signing_key = key if isinstance(key, RSAKey) else RSAKey.import_key(dict(key))
    header = {"alg": "RS256", "typ": typ, "kid": signing_key.kid}
    return jwt.encode(header, dict(claims), signing_key)


def valid_claims(issuer: str, audience: str = "osv-api", **changes: Any) -> dict[str, Any]:
    """Claims the platform accepts (a staff member's, one hour left), with ``changes`` applied."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": "staff",
        "aud": ["osv-cli", audience],
        "client_id": "osv-cli",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "groups": ["staff"],
    }
    claims.update(changes)
    return claims


# The session's provider ---------------------------------------------------------------------------

_session: dict[str, Any] = {}


def session_provider(state_dir: Path | None = None) -> IdentityProvider:
    """The test session's one identity provider, started the first time it is asked for (stopped at exit).

    ``state_dir`` places its state the first time (the ``identity_provider``
    fixture gives ``<var>/idp``); helpers that need tokens outside fixtures get
    the same provider.
    """
    provider = _session.get("provider")
    if provider is None:
        where = state_dir or Path(tempfile.mkdtemp(prefix="osv-test-var-")) / "idp"
        provider = IdentityProvider(where, port=0, extra_accounts={TESTER: TESTER_ROLES, MML_FOCAL_POINT: (MML_FOCAL_POINT,)}).start()
        atexit.register(provider.stop)
        _session["provider"] = provider
        _session["tokens"] = IssuedTokens(provider)
    return provider  # type: ignore[no-any-return]


def session_tokens() -> IssuedTokens:
    """Tokens the session's provider issued (see :class:`IssuedTokens`)."""
    session_provider()
    return _session["tokens"]  # type: ignore[no-any-return]


def session_auth() -> AuthSettings:
    """What a service under test needs to check the session provider's tokens and read other services' feeds."""
    provider = session_provider()
    return AuthSettings(issuer=provider.issuer, service_client_secret=provider.client_secret(SERVICE_CLIENT))


def signed_in_headers(name: str = TESTER) -> dict[str, str]:
    """``Authorization: Bearer`` for the tester (or ``name``): what the shared test clients send."""
    return session_tokens().headers(name)


def auth_env(auth: AuthSettings | None = None) -> dict[str, str]:
    """The environment a service process needs to check the session provider's tokens (``OSV_AUTH_*``)."""
    auth = auth or session_auth()
    env = {"OSV_AUTH_ISSUER": auth.issuer}
    if auth.service_client_secret is not None:
        env["OSV_AUTH_SERVICE_CLIENT_SECRET"] = auth.service_client_secret.get_secret_value()
    return env


SECOND_EVALUATOR = "evaluator-2"
"""A demo account with the role ``evaluator`` alone, a person other than the tester: a round's evaluator codes are held
by distinct people (409 ``one_code_per_person``), so a test whose round has two codes gives it the second."""


class SignedInAs:
    """A service's test client whose requests send ``name``'s token instead of the client's own (the tester's):
    another person calling the same service, as the story's ``Client`` (``get``, ``post``, ``put``)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def _signed(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, "headers": {**(kwargs.get("headers") or {}), **signed_in_headers(self.name)}}

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **self._signed(kwargs))

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, **self._signed(kwargs))

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.client.put(url, **self._signed(kwargs))
