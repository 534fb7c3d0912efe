"""Tokens for the tests: issued by the real embedded provider, cached per session; and forged ones.

:class:`IssuedTokens` asks the provider (``devtools.identity``) for an access
token per demo account or machine client, the way ``make token`` does, and
reuses it until a few minutes before it expires. :func:`forge` signs claims
with a key of the test's choosing: the provider's own private key (read from
its state folder) to change one claim of an otherwise valid token, or a key
the provider never published.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from devtools.identity import IdentityProvider

RENEW_BEFORE_EXPIRY_SECONDS = 300


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
