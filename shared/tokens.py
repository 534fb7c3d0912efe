"""Access tokens checked: the signature against the provider's published keys, then the claims; a :class:`Caller` made of them.

:class:`TokenValidator` checks a token with joserfc: its signature against the
provider's JWKS (found through OIDC discovery, cached, fetched again when a
token names a key it does not know, at most once per
``jwks_refetch_min_seconds``), its issuer, audience, expiry (with a small
leeway) and its JWT type (an ID token is not an access token). A token whose
signature was checked is remembered (``verified_tokens_cached``) while the key
set it was checked against is the one in use. The settings are
:class:`shared.auth.AuthSettings`; the FastAPI side (401/403/503 answers) is
:mod:`shared.auth`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from shared.roles import Caller, roles_from_claims
from shared.tls import default_tls

if TYPE_CHECKING:
    from shared.auth import AuthSettings

log = logging.getLogger(__name__)


class InvalidTokenError(Exception):
    """The token is not one the platform accepts; ``reason`` says why (it goes to the 401's description)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailableError(Exception):
    """The provider's discovery document or keys could not be fetched, and none are cached."""


@dataclass(frozen=True)
class _Verified:
    """A token whose signature was checked against ``keys`` (the key set object then in use), with what it stands for."""

    keys: KeySet
    kid: str | None
    claims: dict[str, Any]
    caller: Caller


class TokenValidator:
    """Validates access tokens and makes a :class:`Caller` of them. Thread-safe; no I/O until first used.

    ``http`` is the client used to reach the provider (default: a new
    ``httpx.Client``); ``clock`` gives the time in seconds since the epoch
    (``exp``, cache ages). ``jwks_fetches`` counts fetches of the key set.
    """

    def __init__(
        self, settings: AuthSettings, *, http: httpx.Client | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self._http = http or httpx.Client(timeout=settings.http_timeout_seconds, verify=default_tls())
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None
        self._role_map = dict(settings.role_map)
        self._times = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=settings.leeway_seconds,
            iss={"essential": True, "value": settings.issuer_url},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        self._verified: dict[str, _Verified] = {}
        self.jwks_fetches = 0
        self.signatures_checked = 0

    # The key set ------------------------------------------------------------------------------------

    def _fetch_keys(self) -> None:
        """Fetch discovery, then the key set it names; keep the old keys if the provider does not answer."""
        try:
            discovery = self._http.get(self.settings.discovery_url)
            discovery.raise_for_status()
            document = discovery.json()
            if document.get("issuer", "").rstrip("/") != self.settings.issuer_url:
                msg = f"discovery at {self.settings.discovery_url} names issuer {document.get('issuer')!r}"
                raise ProviderUnavailableError(msg)
            response = self._http.get(document["jwks_uri"])
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, KeyError, JoseError) as error:
            msg = f"cannot fetch the identity provider's keys from {self.settings.discovery_url}: {error}"
            raise ProviderUnavailableError(msg) from error
        finally:
            self._fetched_at = self._clock()
        self.jwks_fetches += 1
        self._keys = keys

    def _fresh_keys(self) -> KeySet | None:
        """The cached keys if they need no fetch now (present and younger than ``jwks_cache_seconds``), else None."""
        keys, fetched_at = self._keys, self._fetched_at
        if keys is None or fetched_at is None or self._clock() - fetched_at >= self.settings.jwks_cache_seconds:
            return None
        return keys

    def _key_set(self, kid: str | None) -> KeySet:
        """The cached keys, fetched again when stale or when ``kid`` is unknown.

        Fetches happen at most once per ``jwks_refetch_min_seconds``, failed ones
        included: a flood of tokens with made-up key ids, or a provider that is
        down, costs one request per interval.
        """
        with self._lock:
            age = None if self._fetched_at is None else self._clock() - self._fetched_at
            stale = self._keys is None or age is None or age >= self.settings.jwks_cache_seconds
            unknown = kid is not None and self._keys is not None and all(key.kid != kid for key in self._keys)
            rate_limited = age is not None and age < self.settings.jwks_refetch_min_seconds
            if (stale or unknown) and not rate_limited:
                try:
                    self._fetch_keys()
                except ProviderUnavailableError:
                    if self._keys is None:
                        raise
                    log.warning("identity provider unreachable; validating with the keys fetched before", exc_info=True)
            if self._keys is None:
                msg = f"no keys from {self.settings.discovery_url} yet; the last attempt failed {age:.0f}s ago"
                raise ProviderUnavailableError(msg)
            return self._keys

    # Tokens -----------------------------------------------------------------------------------------

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, type, issuer, audience and times are checked.

        Raises :class:`InvalidTokenError` (answer 401) or
        :class:`ProviderUnavailableError` (answer 503).
        """
        return self._verify(token).claims

    def caller(self, token: str) -> Caller:
        """The :class:`Caller` a valid token stands for (see :meth:`claims` for the errors). May fetch keys: blocks."""
        return self._verify(token).caller

    def known_caller(self, token: str) -> Caller | None:
        """The :class:`Caller` of a token checked before against the keys in use, or None when it needs checking (:meth:`caller`).

        Never does I/O, so an ``async`` route may call it: None when the token is
        not remembered or the keys are due to be fetched again. A remembered token
        past its expiry raises :class:`InvalidTokenError` as :meth:`caller` does.
        """
        keys = self._fresh_keys()
        verified = self._verified.get(token)
        if keys is None or verified is None or verified.keys is not keys:
            return None
        self._check_again(verified.claims)
        return verified.caller

    def _verify(self, token: str) -> _Verified:
        """The checked token: remembered if it was checked against the key set in use, else checked now (signature and all).

        The key set is asked for as an unremembered token would ask for it, so a
        stale key set is fetched again; fetched again, it is another key set, and
        every remembered token is checked afresh against it (a withdrawn key then
        signs nothing). Times (``exp``, ``nbf``, ``iat``) are checked at every use.
        """
        verified = self._verified.get(token)
        if verified is not None:
            if self._key_set(verified.kid) is verified.keys:
                self._check_again(verified.claims)
                return verified
            self._verified.pop(token, None)
        settings = self.settings
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError):
            raise InvalidTokenError("the token is not a signed JWT") from None
        if header.get("alg") not in settings.algorithms:
            raise InvalidTokenError(f"signature algorithm {header.get('alg')!r} is not accepted")
        if header.get("typ") not in settings.token_types:
            raise InvalidTokenError(f"token type {header.get('typ')!r} is not an access token")
        kid = header.get("kid")
        keys = self._key_set(kid)
        try:
            key = keys.get_by_kid(kid)
        except JoseError:
            raise InvalidTokenError("the token is signed with a key the provider does not publish") from None
        try:
            decoded = jwt.decode(token, key, algorithms=settings.algorithms)
        except BadSignatureError:
            raise InvalidTokenError("bad signature") from None
        except (JoseError, ValueError):
            raise InvalidTokenError("the token cannot be verified") from None
        finally:
            self.signatures_checked += 1
        claims = dict(decoded.claims)
        self._check_claims(claims)
        roles = roles_from_claims(claims, self._role_map, settings.roles_claim)
        client_id = claims.get("client_id") or claims.get("azp")
        verified = _Verified(keys, kid, claims, Caller(subject=str(claims["sub"]), roles=roles, client_id=client_id, claims=claims))
        self._remember(token, verified)
        return verified

    def _check_claims(self, claims: dict[str, Any]) -> None:
        """Issuer, audience, subject and times (with the leeway, at the clock's now); :class:`InvalidTokenError` naming the first wrong."""
        try:
            self._times.validate(claims)
        except ExpiredTokenError:
            raise InvalidTokenError("the token has expired") from None
        except (InvalidClaimError, MissingClaimError) as error:
            names = {"iss": "issuer", "aud": "audience", "exp": "expiry", "sub": "subject", "nbf": "not-before", "iat": "issue time"}
            claim = getattr(error, "claim", None) or str(error)
            raise InvalidTokenError(f"wrong or missing {names.get(claim, claim)} ({claim})") from None
        except JoseError:
            raise InvalidTokenError("the token's claims are not valid") from None

    def _check_again(self, claims: dict[str, Any]) -> None:
        """:meth:`_check_claims` for claims checked before: only the time can have made them wrong.

        Well inside its times (not expired even without the leeway, past ``nbf``
        and ``iat``) a token passes at once; near an edge the full check decides,
        with the leeway, and names what is wrong.
        """
        now = int(self._clock())
        exp, nbf, iat = claims.get("exp"), claims.get("nbf", 0), claims.get("iat", 0)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, nbf, iat))
        if numbers and nbf <= now < exp and iat <= now:
            return
        self._check_claims(claims)

    def _remember(self, token: str, verified: _Verified) -> None:
        """Keep at most ``verified_tokens_cached`` checked tokens; the oldest remembered go first."""
        limit = self.settings.verified_tokens_cached
        if limit <= 0:
            return
        with self._lock:
            while len(self._verified) >= limit:
                self._verified.pop(next(iter(self._verified)), None)
            self._verified[token] = verified

    def close(self) -> None:
        self._http.close()
