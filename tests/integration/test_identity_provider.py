"""The embedded provider issues real tokens, and the services' validator takes exactly the good ones.

Everything here talks to the real Canaille provider that ``devtools.identity``
starts in a child process (the session's ``identity_provider``, or one of the
test's own where the test restarts it). Tokens come from its sign-in pages
(authorization code + PKCE) or from client credentials, as ``make token`` gets
them. A refused token is one valid token with one thing changed: forged ones
are signed with the provider's own private key, so only the changed claim can
be the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey

from devtools.embedded import free_port
from devtools.identity import (
    CLI_CLIENT,
    CLI_REDIRECT_URI,
    DASHBOARD_CLIENT,
    IdentityProvider,
    SignInError,
    docs_client_id,
    loopback_aliases,
)
from devtools.identity.flows import sign_in
from shared.auth import AuthSettings, InvalidTokenError, TokenValidator
from tests.support.identity import IssuedTokens, forge, unverified_claims, valid_claims

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]

ROLES_OF = {
    "staff": {"staff"},
    "lead": {"lead"},
    "municipal-150132": {"municipal-150132"},
    "evaluator": {"evaluator"},
    "auditor": {"auditor"},
    "dpo": {"dpo"},
    "partner-150132": {"partner-150132"},
    "osv-services": {"service"},
    "osv-imports": {"importer"},
}


class FakeClock:
    """Seconds since the epoch that move only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def validator(auth_settings: AuthSettings) -> TokenValidator:
    return TokenValidator(auth_settings)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def header_of(token: str) -> dict[str, str]:
    encoded = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))


# -- tokens the provider issues ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ROLES_OF))
def test_the_token_issued_to_each_demo_account_validates_and_maps_to_its_role(
    name: str, tokens: IssuedTokens, validator: TokenValidator
) -> None:
    caller = validator.caller(tokens[name])
    assert caller.roles == ROLES_OF[name]
    assert caller.subject == name
    assert caller.is_machine == (name in ("partner-150132", "osv-services", "osv-imports"))


def test_the_provider_refuses_a_wrong_password_on_its_sign_in_page(identity_provider: IdentityProvider) -> None:
    with pytest.raises(SignInError, match="refused the sign-in of 'staff'"):
        sign_in(
            issuer=identity_provider.issuer,
            client_id=CLI_CLIENT,
            client_secret=identity_provider.client_secret(CLI_CLIENT),
            redirect_uri=CLI_REDIRECT_URI,
            user_name="staff",
            password="not-the-password",
        )


def test_the_provider_refuses_a_machine_client_with_a_wrong_secret(identity_provider: IdentityProvider) -> None:
    from devtools.identity.flows import client_credentials_token

    with pytest.raises(SignInError, match="partner-150132"):
        client_credentials_token(issuer=identity_provider.issuer, client_id="partner-150132", client_secret="wrong")


def test_an_id_token_is_not_taken_for_an_access_token(identity_provider: IdentityProvider, validator: TokenValidator) -> None:
    id_token = identity_provider.token_response("staff")["id_token"]
    with pytest.raises(InvalidTokenError, match="not an access token"):
        validator.caller(id_token)


# -- time ---------------------------------------------------------------------------------------------


def test_a_token_is_taken_until_its_expiry_plus_the_leeway_and_refused_after(
    tokens: IssuedTokens, auth_settings: AuthSettings
) -> None:
    token = tokens["staff"]
    expiry = unverified_claims(token)["exp"]
    leeway = auth_settings.leeway_seconds
    assert TokenValidator(auth_settings, clock=lambda: expiry + leeway - 1).caller(token).roles == {"staff"}
    with pytest.raises(InvalidTokenError, match="expired"):
        TokenValidator(auth_settings, clock=lambda: expiry + leeway + 1).caller(token)


def test_a_remembered_token_keeps_the_same_expiry_and_leeway_as_one_checked_afresh(
    tokens: IssuedTokens, auth_settings: AuthSettings
) -> None:
    token = tokens["staff"]
    claims = unverified_claims(token)
    clock = FakeClock(claims["iat"])
    validator = TokenValidator(auth_settings, clock=clock)
    assert validator.caller(token).roles == {"staff"}

    clock.now = claims["exp"] + auth_settings.leeway_seconds - 1  # past exp, within the leeway: still taken
    assert validator.caller(token).roles == {"staff"}
    assert validator.known_caller(token) is not None
    clock.now = claims["exp"] + auth_settings.leeway_seconds + 1
    with pytest.raises(InvalidTokenError, match="expired"):
        validator.known_caller(token)
    with pytest.raises(InvalidTokenError, match="expired"):
        validator.caller(token)
    clock.now = claims["iat"] - auth_settings.leeway_seconds - 60  # a clock far behind the provider's: issued in the future
    with pytest.raises(InvalidTokenError, match="issue time"):
        validator.caller(token)


# -- one thing changed --------------------------------------------------------------------------------


def test_a_token_forged_with_the_providers_key_and_every_claim_right_is_taken(
    identity_provider: IdentityProvider, validator: TokenValidator
) -> None:
    # The control for the refusals below: the forging itself is not what they refuse.
    token = forge(valid_claims(identity_provider.issuer), identity_provider.signing_keys()[0])
    assert validator.caller(token).roles == {"staff"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "http://127.0.0.1:1"}, "issuer"),
        ({"aud": ["osv-cli"]}, "audience"),
        ({"aud": "another-api"}, "audience"),
        ({"exp": 1_600_000_000, "iat": 1_599_996_400}, "expired"),
        ({"exp": None}, "expiry"),
        ({"sub": None}, "subject"),
        ({"nbf": 4_000_000_000}, "not-before"),
    ],
    ids=["other-issuer", "not-for-the-apis", "other-audience", "expired", "no-expiry", "no-subject", "not-yet-valid"],
)
def test_a_token_signed_by_the_provider_with_one_claim_wrong_is_refused(
    change: dict[str, object], reason: str, identity_provider: IdentityProvider, validator: TokenValidator
) -> None:
    claims = {k: v for k, v in valid_claims(identity_provider.issuer, **change).items() if v is not None}
    token = forge(claims, identity_provider.signing_keys()[0])
    with pytest.raises(InvalidTokenError, match=reason):
        validator.caller(token)


def test_a_token_whose_claims_were_changed_after_signing_is_refused(tokens: IssuedTokens, validator: TokenValidator) -> None:
    header, payload, signature = tokens["evaluator"].split(".")
    claims = unverified_claims(tokens["evaluator"]) | {"groups": ["lead"]}
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(InvalidTokenError, match="bad signature"):
        validator.caller(f"{header}.{raised}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidTokenError, match="bad signature"):
        validator.caller(f"{header}.{payload}.{flipped}")


def test_a_shared_secret_or_unsigned_token_is_refused_whatever_it_claims(
    identity_provider: IdentityProvider, validator: TokenValidator
) -> None:
    # HS256 keyed with the provider's public key: the classic algorithm confusion (joserfc won't even
    # sign one, so the attacker's side is written out here).
    public = RSAKey.import_key(identity_provider.signing_keys()[0]).as_pem(private=False)
    body = b64(json.dumps(valid_claims(identity_provider.issuer)).encode())
    signed = b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode()) + "." + body
    mac = b64(hmac.new(public, signed.encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidTokenError, match="HS256"):
        validator.caller(f"{signed}.{mac}")
    unsigned = b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()) + "." + body + "."
    with pytest.raises(InvalidTokenError, match="none"):
        validator.caller(unsigned)
    with pytest.raises(InvalidTokenError, match="not a signed JWT"):
        validator.caller("not-a-jwt")


def test_a_key_the_provider_never_published_is_refused_and_its_kid_fetches_keys_at_most_once_per_interval(
    identity_provider: IdentityProvider, tokens: IssuedTokens, auth_settings: AuthSettings
) -> None:
    clock = FakeClock(unverified_claims(tokens["staff"])["iat"])
    validator = TokenValidator(auth_settings, clock=clock)
    validator.caller(tokens["staff"])
    assert validator.jwks_fetches == 1

    stranger = RSAKey.generate_key(2048, auto_kid=True)
    forged = forge(valid_claims(identity_provider.issuer), stranger)
    with pytest.raises(InvalidTokenError, match="key the provider does not publish"):
        validator.caller(forged)
    assert validator.jwks_fetches == 1  # the keys were fetched just now: no second request

    clock.advance(auth_settings.jwks_refetch_min_seconds)
    for _ in range(3):
        with pytest.raises(InvalidTokenError, match="key the provider does not publish"):
            validator.caller(forged)
    assert validator.jwks_fetches == 2  # one look for the unknown kid, then quiet again
    assert validator.caller(tokens["staff"]).roles == {"staff"}  # known keys still work meanwhile


# -- key rotation and restarts -------------------------------------------------------------------------


def test_a_key_rotation_is_followed_and_tokens_signed_before_it_stay_valid(tmp_path: Path) -> None:
    with IdentityProvider(tmp_path / "idp") as provider:
        settings = AuthSettings(issuer=provider.issuer)
        before = provider.token("municipal-150132")
        clock = FakeClock(unverified_claims(before)["iat"])
        validator = TokenValidator(settings, clock=clock)
        assert validator.caller(before).roles == {"municipal-150132"}

        new_kid = provider.rotate_signing_key()  # restarts the provider on the same port and state
        after = provider.token("municipal-150132")  # the same password still signs in
        assert header_of(after)["kid"] == new_kid != header_of(before)["kid"]

        clock.advance(settings.jwks_refetch_min_seconds)
        assert validator.caller(after).roles == {"municipal-150132"}
        assert validator.jwks_fetches == 2
        assert validator.caller(before).roles == {"municipal-150132"}  # the old key is still published



def test_clients_asking_for_the_providers_secrets_at_once_get_one_state_made_once(tmp_path: Path) -> None:
    """`make faults` lost two of eight clients of a test that signed in together: each thread made or saved the state
    (``state.tmp`` renamed under another's feet, FileNotFoundError), and threads that made it each had other secrets."""
    provider = IdentityProvider(tmp_path / "idp")
    start = threading.Barrier(8)
    secrets: list[str] = []
    failures: list[BaseException] = []

    def ask() -> None:
        start.wait()
        try:
            secrets.append(provider.client_secret(CLI_CLIENT))
        except BaseException as error:  # noqa: BLE001 - counted below
            failures.append(error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(set(secrets)) == 1 and secrets[0] == json.loads((tmp_path / "idp" / "state.json").read_text())["client_secrets"][CLI_CLIENT]
    assert sorted(path.name for path in (tmp_path / "idp").iterdir()) == ["state.json", "state.lock"]  # no temporary left

# -- make token ---------------------------------------------------------------------------------------


def _make_token(user: str, var_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OSV_VAR_DIR": str(var_dir), "OSV_IDP_PORT": str(port)}
    # -o: the suite runs inside the installed venv; don't let make reinstall it. PY: this interpreter.
    command = ["make", "-s", "-o", ".venv/.installed", "token", f"USER={user}", f"PY={sys.executable}"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_make_token_prints_as_its_last_line_a_token_the_running_provider_issued(
    identity_provider: IdentityProvider, validator: TokenValidator
) -> None:
    result = _make_token("staff", identity_provider.state_dir.parent, identity_provider.port)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert validator.caller(token).roles == {"staff"}


def test_make_token_for_an_unknown_name_fails_and_names_the_known_ones(identity_provider: IdentityProvider) -> None:
    result = _make_token("nobody", identity_provider.state_dir.parent, identity_provider.port)
    assert result.returncode != 0
    assert "no demo account or machine client named 'nobody'" in result.stderr
    assert "municipal-150132" in result.stderr


def test_make_token_starts_a_provider_when_none_runs_and_the_token_stays_valid_after(tmp_path: Path) -> None:
    port = free_port()
    result = _make_token("partner-150132", tmp_path, port)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    with IdentityProvider(tmp_path / "idp", port=port) as provider:  # the same state: the same keys and issuer
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(token).roles == {"partner-150132"}


def test_make_token_with_another_var_dir_than_the_running_providers_says_so_and_writes_nothing_there(
    identity_provider: IdentityProvider, tmp_path: Path
) -> None:
    """A mistyped OSV_VAR_DIR used to get a new state made there (other passwords and keys), then a sign-in refusal."""
    elsewhere = tmp_path / "var-mistyped"

    result = _make_token("staff", elsewhere, identity_provider.port)

    assert result.returncode != 0
    assert "OSV_VAR_DIR" in result.stderr and str(elsewhere / "idp" / "state.json") in result.stderr, result.stderr
    assert not elsewhere.exists()


# -- a machine client's secret rotated -----------------------------------------------------------------


def test_a_provider_started_on_a_state_where_the_webhooks_client_was_staff_gives_it_the_importer_role_alone(tmp_path: Path) -> None:
    """``osv-imports`` was in the group ``staff`` (tester 192 F5: its token read every person's plain data). A start only
    added missing groups, so a ``make run`` on such a ``var/idp`` would have kept it staff beside its new role."""
    from devtools.identity.flows import client_credentials_token

    state = tmp_path / "idp"
    with IdentityProvider(state):
        pass
    # What a provider before 2026-12 left in var/idp: the webhook's service account in the group staff, and nothing else.
    with sqlite3.connect(state / "canaille.sqlite") as db:
        [account] = db.execute("SELECT id FROM user WHERE user_name = 'service-account-osv-imports'").fetchone()
        [staff] = db.execute("SELECT id FROM \"group\" WHERE display_name = 'staff'").fetchone()
        db.execute("DELETE FROM membership_association_table WHERE user_id = ?", (account,))
        db.execute("INSERT INTO membership_association_table (user_id, group_id) VALUES (?, ?)", (account, staff))

    with IdentityProvider(state) as provider:
        token = client_credentials_token(
            issuer=provider.issuer, client_id="osv-imports", client_secret=provider.client_secret("osv-imports")
        )["access_token"]
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(token).roles == {"importer"}
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(provider.token("staff")).roles == {"staff"}  # a person keeps theirs


# -- browsers on the platform's pages ----------------------------------------------------------------


def preflight(provider: IdentityProvider, origin: str) -> httpx.Response:
    """What a browser asks before Swagger UI's token request (a cross-origin POST with its own headers)."""
    return httpx.options(
        f"{provider.issuer}/oauth/token",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "accept,content-type,x-requested-with",
        },
        timeout=30,
    )


def test_the_token_endpoint_lets_a_services_docs_page_send_swagger_uis_headers_and_no_other_origin(
    identity_provider: IdentityProvider,
) -> None:
    registry = identity_provider.service_urls["registry"].rstrip("/")  # the origin of client osv-docs-registry
    allowed = preflight(identity_provider, registry)
    assert allowed.headers["access-control-allow-origin"] == registry
    sent = {h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")}
    assert {"accept", "content-type", "x-requested-with"} <= sent

    elsewhere = preflight(identity_provider, "http://127.0.0.1:1")
    assert "access-control-allow-origin" not in elsewhere.headers
    assert "access-control-allow-headers" not in elsewhere.headers


def test_the_token_endpoint_answers_a_docs_page_opened_on_localhost_as_on_127_0_0_1(identity_provider: IdentityProvider) -> None:
    registry = identity_provider.service_urls["registry"].rstrip("/")
    (on_localhost,) = [url for url in loopback_aliases(registry) if url != registry]
    allowed = preflight(identity_provider, on_localhost)
    assert allowed.headers["access-control-allow-origin"] == on_localhost
    sent = {h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")}
    assert {"accept", "content-type", "x-requested-with"} <= sent

    # The exchange itself (a wrong code here): its answer is the page's to read, refusal included.
    refused = httpx.post(
        f"{identity_provider.issuer}/oauth/token",
        headers={"Origin": on_localhost},
        data={"grant_type": "authorization_code", "code": "not-a-code", "client_id": docs_client_id("registry"),
              "redirect_uri": f"{on_localhost}/docs/oauth2-redirect", "code_verifier": "v" * 43},
        timeout=30,
    )
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == on_localhost
    assert "access-control-allow-origin" not in httpx.post(
        f"{identity_provider.issuer}/oauth/token", headers={"Origin": "http://localhost:1"}, data={}, timeout=30
    ).headers


# -- the browsers' clients on loopback ------------------------------------------------------------------


def test_loopback_aliases_name_a_loopback_url_by_both_names_and_any_other_by_itself() -> None:
    assert loopback_aliases("http://127.0.0.1:8004/dashboard/callback") == (
        "http://127.0.0.1:8004/dashboard/callback",
        "http://localhost:8004/dashboard/callback",
    )
    assert loopback_aliases("http://localhost:8001/docs/oauth2-redirect") == (
        "http://localhost:8001/docs/oauth2-redirect",
        "http://127.0.0.1:8001/docs/oauth2-redirect",
    )
    assert loopback_aliases("http://127.0.0.1/osv-cli/callback") == ("http://127.0.0.1/osv-cli/callback", "http://localhost/osv-cli/callback")
    for elsewhere in ("https://reporting.osv.example.org/dashboard/callback", "http://127.0.0.1.example.org/x", "http://10.0.0.4:8004/x"):
        assert loopback_aliases(elsewhere) == (elsewhere,)


def test_the_browsers_clients_go_back_to_a_loopback_service_under_both_names_and_to_a_deployment_under_its_own_alone(tmp_path: Path) -> None:
    provider = IdentityProvider(
        tmp_path / "idp",
        service_urls={"reporting": "http://127.0.0.1:8004", "registry": "http://localhost:8001/", "funding": "https://funding.osv.example.org"},
    )
    clients = {client.client_id: client for client in provider.clients()}

    dashboard = clients[DASHBOARD_CLIENT]
    assert dashboard.redirect_uris == ("http://127.0.0.1:8004/dashboard/callback", "http://localhost:8004/dashboard/callback")
    assert dashboard.client_uri == "http://127.0.0.1:8004"  # as make run gave it: the URL the provider names the client by
    assert dashboard.post_logout_redirect_uris == (
        "http://127.0.0.1:8004/dashboard/signed-out",
        "http://localhost:8004/dashboard/signed-out",
    )
    assert clients[docs_client_id("reporting")].redirect_uris == (
        "http://127.0.0.1:8004/docs/oauth2-redirect",
        "http://localhost:8004/docs/oauth2-redirect",
    )
    assert clients[docs_client_id("registry")].redirect_uris == (
        "http://localhost:8001/docs/oauth2-redirect",
        "http://127.0.0.1:8001/docs/oauth2-redirect",
    )
    assert clients[docs_client_id("funding")].redirect_uris == ("https://funding.osv.example.org/docs/oauth2-redirect",)
    assert clients[docs_client_id("funding")].client_uri == "https://funding.osv.example.org"
    assert clients[CLI_CLIENT].redirect_uris == (CLI_REDIRECT_URI,)  # never listened on: no second name needed


def registered_redirects(state_dir: Path) -> dict[str, list[str]]:
    """Each browser client's redirect URIs as the provider's database holds them (Canaille's ``client`` table)."""
    with sqlite3.connect(state_dir / "canaille.sqlite") as db:
        rows = db.execute("SELECT client_id, redirect_uris FROM client WHERE client_id LIKE 'osv-d%'").fetchall()
    return {client_id: json.loads(uris) for client_id, uris in rows}


def test_a_provider_started_on_an_older_state_registers_both_loopback_names_and_signs_in_through_localhost(tmp_path: Path) -> None:
    port = free_port()
    urls = {"reporting": f"http://127.0.0.1:{port}"}
    state = tmp_path / "idp"
    with IdentityProvider(state, service_urls=urls):
        pass
    # What a provider before 2026-12 left in var/idp: each browser client with its one 127.0.0.1 redirect.
    with sqlite3.connect(state / "canaille.sqlite") as db:
        for client_id, path in ((DASHBOARD_CLIENT, "/dashboard/callback"), (docs_client_id("reporting"), "/docs/oauth2-redirect")):
            db.execute("UPDATE client SET redirect_uris = ? WHERE client_id = ?", (json.dumps([urls["reporting"] + path]), client_id))
    assert registered_redirects(state)[DASHBOARD_CLIENT] == [f"{urls['reporting']}/dashboard/callback"]

    with IdentityProvider(state, service_urls=urls) as provider:
        assert registered_redirects(state) == {
            DASHBOARD_CLIENT: [f"http://127.0.0.1:{port}/dashboard/callback", f"http://localhost:{port}/dashboard/callback"],
            docs_client_id("reporting"): [f"http://127.0.0.1:{port}/docs/oauth2-redirect", f"http://localhost:{port}/docs/oauth2-redirect"],
        }
        for client_id, path in ((DASHBOARD_CLIENT, "/dashboard/callback"), (docs_client_id("reporting"), "/docs/oauth2-redirect")):
            answer = sign_in(
                issuer=provider.issuer, client_id=client_id, redirect_uri=f"http://localhost:{port}{path}",
                user_name="staff", password=provider.passwords()["staff"],
            )
            assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(answer["access_token"]).roles == {"staff"}


def test_a_token_checked_before_is_refused_once_the_provider_no_longer_publishes_its_key(tmp_path: Path) -> None:
    with IdentityProvider(tmp_path / "idp") as provider:
        settings = AuthSettings(issuer=provider.issuer)
        before = provider.token("staff")
        clock = FakeClock(unverified_claims(before)["iat"])
        validator = TokenValidator(settings, clock=clock)
        assert validator.caller(before).roles == {"staff"}
        assert validator.known_caller(before) is not None  # remembered: the next request skips the signature
        assert validator.signatures_checked == 1

        # Three rotations: the provider keeps publishing only the two keys before the one it signs with. Made while it is
        # stopped, it starts once on the last (a rotation restarts a running provider: test_a_key_rotation_is_followed...).
        provider.stop()
        for _ in range(3):
            provider.rotate_signing_key()
        provider.start()
        after = provider.token("staff")

        # A token with the new key makes the keys be fetched again: the old key is gone from them, and the
        # token it signed is refused at once, though it was checked before and has not expired.
        clock.advance(settings.jwks_refetch_min_seconds)
        assert validator.caller(after).roles == {"staff"}
        assert validator.jwks_fetches == 2
        assert validator.known_caller(before) is None  # checked against other keys: not taken without a check
        with pytest.raises(InvalidTokenError, match="key the provider does not publish"):
            validator.caller(before)


def test_a_token_checked_before_is_checked_again_when_the_cached_keys_grow_stale(tmp_path: Path) -> None:
    with IdentityProvider(tmp_path / "idp") as provider:
        settings = AuthSettings(issuer=provider.issuer)
        before = provider.token("staff")
        clock = FakeClock(unverified_claims(before)["iat"])
        validator = TokenValidator(settings, clock=clock)
        assert validator.caller(before).roles == {"staff"}
        provider.stop()  # rotated while stopped, it starts once on the last key (see the test above)
        for _ in range(3):
            provider.rotate_signing_key()
        provider.start()

        # No other token comes: the keys held are used until they are stale, then fetched again.
        clock.advance(settings.jwks_cache_seconds)
        assert validator.known_caller(before) is None  # the keys are due: never answered without fetching them
        with pytest.raises(InvalidTokenError, match="key the provider does not publish"):
            validator.caller(before)
        assert validator.jwks_fetches == 2


def test_rotations_at_once_and_an_account_added_meanwhile_each_leave_their_mark_in_the_saved_state(tmp_path: Path) -> None:
    """Two rotations from two clients of one state (``make run``'s and a test's), and a client that adds an account:
    each reads, changes and writes the state under its lock, so none writes back a copy read before another's change
    (a rotation lost, its key never published; an account's password handed out, then replaced)."""
    state_dir = tmp_path / "idp"
    first = IdentityProvider(state_dir).signing_keys()[0]["kid"]  # the state made, with its first key
    rotating = [IdentityProvider(state_dir) for _ in range(2)]
    joining = IdentityProvider(state_dir, extra_accounts={"visitor": ("staff",)})
    start = threading.Barrier(3)
    kids: list[str] = []
    passwords: list[str] = []

    def rotate(provider: IdentityProvider) -> None:
        start.wait()
        kids.append(provider.rotate_signing_key())

    def join() -> None:
        start.wait()
        time.sleep(0.05)  # while the rotations make their keys
        passwords.append(joining.passwords()["visitor"])

    threads = [threading.Thread(target=rotate, args=(p,)) for p in rotating] + [threading.Thread(target=join)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    saved = json.loads((state_dir / "state.json").read_text())
    published = [key["kid"] for key in saved["active_jwks"] + saved["inactive_jwks"]]
    assert sorted(published) == sorted([*kids, first])  # both rotations, the first key kept behind them
    assert saved["active_jwks"][0]["kid"] in kids
    assert saved["passwords"]["visitor"] == passwords[0]  # the password handed out is the one kept
