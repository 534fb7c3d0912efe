"""The browser side of the roles' work: CORS for a front end, the docs pages, and the dashboard's sign-in and sign-out.

Real services in this process, the session's real identity provider and the tokens it issued to the demo accounts
(the roles' stories: ``test_roles_api.py``).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.clients import service_client
from tests.support.identity import IssuedTokens

pytestmark = pytest.mark.timeout(180)


# -- browser front ends -------------------------------------------------------------------------------------


@pytest.mark.settings(cors_allow_origins=["https://front.example.org"])
@pytest.mark.service("registry")
def test_cors_answers_only_the_origins_in_the_allow_list(client: TestClient, tokens: IssuedTokens) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    allowed = client.options("/osvs", headers={"Origin": "https://front.example.org", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://front.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/osvs", headers={"Origin": "https://elsewhere.example.org", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    assert_problem(refused, 400, "Origin", "cors_allowed")  # problem+json, not Starlette's text/plain (tester 160 F13)
    odd = client.options("/osvs", headers={"Origin": "https://front.example.org", "Access-Control-Request-Method": "DELETE",
                                           "Access-Control-Request-Headers": "authorization,x-debug"})
    assert [(e["field"], e["rule"]) for e in assert_problem(odd, 400)["errors"]] == [
        ("Access-Control-Request-Method", "cors_allowed"), ("Access-Control-Request-Headers", "cors_allowed")
    ]
    assert odd.headers["access-control-allow-origin"] == "https://front.example.org"  # the browser reads the refusal
    read = client.get("/osvs", headers={"Origin": "https://front.example.org", **tokens.headers("staff")})
    assert read.headers["access-control-allow-origin"] == "https://front.example.org"
    denied = client.get("/osvs", headers={"Origin": "https://front.example.org", "Authorization": ""})
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "https://front.example.org"


@pytest.mark.settings(cors_allow_origins=["https://front.example.org"])
@pytest.mark.service("registry")
def test_a_browser_front_end_may_send_if_match_and_read_the_etag_and_the_next_pages_link(client: TestClient, tokens: IssuedTokens) -> None:
    """A staff front end in another origin correcting an OSV: the browser's preflight must allow If-Match, and the
    script may read only the answer headers CORS exposes (ETag for the next change, Link for the next page)."""
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,if-match,dry-run"}
    allowed = client.options("/osvs/3fa85f64-5717-4562-b3fc-2c963f66afa6/name-correction", headers={"Origin": "https://front.example.org", **preflight})
    assert allowed.status_code == 200, allowed.text
    assert "if-match" in allowed.headers["access-control-allow-headers"].lower()
    read = client.get("/osvs", headers={"Origin": "https://front.example.org", **tokens.headers("staff")})
    exposed = {name.strip().lower() for name in read.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "link", "dry-run"} <= exposed  # and whether an answer was a dry run's (tester 163 F9)
    # a 412 exposes the tag now too, to send the change again on
    staff = {"Origin": "https://front.example.org", **tokens.headers("staff")}
    osv = client.post("/osvs", json={"name": "Olla Común Santa Rosa", "district": "Comas", "mapped_on": "2021-03-15"}, headers=staff)
    assert osv.status_code == 201, osv.text
    stale = client.post(f"/osvs/{osv.json()['id']}/name-correction", json={"name": "Olla Santa Rosa"}, headers={**staff, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"1"', stale.text
    assert "etag" in {name.strip().lower() for name in stale.headers["access-control-expose-headers"].split(",")}


@pytest.mark.parametrize("service", ["registry", "funding", "engagement", "reporting"])
def test_the_docs_pages_load_swagger_ui_and_redoc_from_the_service_itself(tmp_path: Path, service: str) -> None:
    with service_client(service, tmp_path) as client:
        docs = client.get("/docs", headers={"Authorization": ""})
        redoc = client.get("/redoc", headers={"Authorization": ""})
        assets = [client.get(f"/docs/assets/{name}") for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")]
        redirect = client.get("/docs/oauth2-redirect")
    assert docs.status_code == redoc.status_code == redirect.status_code == 200
    for page in (docs.text, redoc.text):
        assert "cdn.jsdelivr.net" not in page and "fonts.googleapis.com" not in page and "/docs/assets/" in page
    assert '"usePkceWithAuthorizationCodeGrant": true' in docs.text
    assert f'"clientId": "osv-docs-{service}"' in docs.text
    assert [a.status_code for a in assets] == [200, 200, 200]
    assert all(len(a.content) > 100_000 for a in assets)


def test_an_account_without_the_dashboards_permission_is_told_so_on_a_page_with_a_way_to_sign_out(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """The DPO signed in on a shared municipal computer got a 403 in JSON, in English, with no way to another account (tester 37 F9)."""
    reporting = system["reporting"]
    browser = {"Accept": "text/html,application/xhtml+xml", **tokens.headers("dpo")}
    page = reporting.get("/dashboard?lang=en", headers=browser)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "indicators:read" in page.text  # the problem's own words: the permission it needs
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in page.text and 'id="role-hint"' in page.text
    assert "<h1>This account has no access to the dashboard</h1>" in page.text  # not "this query", which is not at fault
    assert 'id="back-to-dashboard"' not in page.text  # it would lead to the same refusal (tester 37d F8)
    spanish = reporting.get("/dashboard", headers=browser).text
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in spanish
    # In the page's language (tester 135 F6: the Spanish page said "This needs the permission…")
    assert "El tablero necesita el permiso &#39;indicators:read&#39;" in spanish and "This needs" not in spanish
    api = reporting.get("/dashboard", headers=tokens.headers("dpo"))  # a script: problem+json, as every route answers
    assert api.status_code == 403 and api.headers["content-type"] == "application/problem+json"


def test_the_dashboard_sends_a_browser_without_a_session_to_the_provider_with_pkce(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    reporting = system["reporting"]
    first = reporting.get("/dashboard?lang=en", headers={"Authorization": ""}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/dashboard/sign-in?")
    sign_in = reporting.get(first.headers["location"], headers={"Authorization": ""}, follow_redirects=False)
    assert sign_in.status_code == 303
    target = urlsplit(sign_in.headers["location"])
    discovery = httpx.get(identity_provider.discovery_url).json()
    assert f"{target.scheme}://{target.netloc}{target.path}" == discovery["authorization_endpoint"]
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert (query["client_id"], query["code_challenge_method"], query["response_type"]) == ("osv-dashboard", "S256", "code")
    assert query["redirect_uri"].endswith("/dashboard/callback") and query["code_challenge"] and query["state"]
    cookie = sign_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # A callback that was not started here, or whose state does not match, opens no session.
    forged = reporting.get("/dashboard/callback", params={"code": "x", "state": "not-it"}, headers={"Authorization": ""}, follow_redirects=False)
    assert forged.status_code == 401 and "set-cookie" not in {k.lower() for k in forged.headers}
    # A browser coming back refused by the provider, or too late, reads a page with a way to try again, not JSON (tester 37d F7).
    html = {"Authorization": "", "Accept": "text/html,application/xhtml+xml"}
    denied = reporting.get("/dashboard/callback", params={"error": "access_denied", "state": "abc"}, headers=html, follow_redirects=False)
    assert denied.status_code == 401 and denied.headers["content-type"].startswith("text/html")
    assert "No se pudo entrar al tablero" in denied.text and '<a id="sign-in-again" href="/dashboard">' in denied.text
    assert "access_denied" in denied.text
    # A bearer token works as well as a session, for scripts.
    assert reporting.get("/dashboard").status_code == 200


SIGN_OUT_FORM = (
    '<form class="sign-out" method="post" action="/dashboard/sign-out{query}"><button id="sign-out" type="submit">{label}</button></form>'
)
"""The pages' sign-out control: a button posting to the sign-out (a link another site could have followed)."""


def onward(page: str) -> str:
    """Where the page answering a sign-out sends the browser on (its ``<meta http-equiv="refresh">`` and its link)."""
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page)
    link = re.search(r'<a id="continue-to-provider" href="([^"]+)">', page)
    assert refresh and link and refresh[1] == link[1], page
    return html.unescape(refresh[1])


def forgotten_cookies(answer: httpx.Response) -> list[tuple[str, str]]:
    """The cookies an answer forgets, as (name, path)."""
    forgotten = [cookie for cookie in answer.headers.get_list("set-cookie") if "max-age=0" in cookie.lower()]
    return sorted((cookie.split("=")[0], cookie.lower().split("path=")[1].split(";")[0]) for cookie in forgotten)


def signed_in_with_an_id_token(reporting: TestClient) -> None:
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    reporting.cookies.set("osv_dashboard_id_token", "the-sessions-id-token", path="/dashboard")


def test_signing_out_forgets_the_dashboards_session_and_sends_the_browser_to_end_the_providers_own(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    reporting = system["reporting"]
    signed_in_with_an_id_token(reporting)
    out = reporting.post("/dashboard/sign-out", headers={"Authorization": "", "Sec-Fetch-Site": "same-origin"}, follow_redirects=False)

    # A page that goes on to the provider, not a 303 there: the dashboard's form-action 'self' holds for the redirects
    # after a form's submission, and Chromium blocks one to another origin.
    assert out.status_code == 200 and out.headers["content-type"].startswith("text/html")
    target = urlsplit(onward(out.text))
    assert f"{target.scheme}://{target.netloc}{target.path}" == httpx.get(identity_provider.discovery_url).json()["end_session_endpoint"]
    assert {k: v[0] for k, v in parse_qs(target.query).items()} == {
        "client_id": "osv-dashboard",
        "post_logout_redirect_uri": "http://testserver/dashboard/signed-out",
        "id_token_hint": "the-sessions-id-token",
    }
    assert forgotten_cookies(out) == [
        ("osv_dashboard_id_token", "/dashboard"),
        ("osv_dashboard_session", "/"),  # as an earlier version set it, for the whole host
        ("osv_dashboard_session", "/dashboard"),
    ]
    assert "form-action 'self'" in out.headers["content-security-policy"] and "frame-ancestors 'none'" in out.headers["content-security-policy"]


def test_another_sites_page_cannot_sign_the_dashboard_out(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    """A link, an image or a form on any page could sign a programme officer out while the sign-out was a GET. Now a
    POST another origin's page sent is refused, naming the header that says where it came from, and the session stays:
    the SameSite=Lax cookie alone would not do, as a page on another port of the same host is the same site."""
    reporting = system["reporting"]
    signed_in_with_an_id_token(reporting)

    # Opening the address (a link followed, an image, an old bookmark) shows a button and signs no one out.
    asked = reporting.get("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert asked.status_code == 200 and '<html lang="en">' in asked.text
    assert "set-cookie" not in asked.headers and "provider" not in asked.text
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in asked.text
    assert '<a id="back-to-dashboard" href="/dashboard?lang=en">Back to the dashboard</a>' in asked.text
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in reporting.get("/dashboard/sign-out", headers={"Authorization": ""}).text

    # A form another site's page posted, or another service's on the same host, or a page hiding its origin.
    for header, value in (
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "https://elsewhere.example.org"),
        ("Origin", "http://testserver:8001"),
        ("Origin", "null"),
    ):
        refused = reporting.post("/dashboard/sign-out", headers={"Authorization": "", header: value}, follow_redirects=False)
        assert assert_problem(refused, 403, header, "same_origin")["detail"].startswith(f"{header} is '{value}'")
        assert "set-cookie" not in refused.headers, (header, value)
    assert reporting.cookies.get("osv_dashboard_session") == "an-access-token"

    # The page the provider sends the browser back to says it is signed out, and forgets nothing: the POST did. A link
    # or an image on any page leads a browser there too (tester 144 F1).
    landing = reporting.get("/dashboard/signed-out", params={"state": "en"}, headers={"Sec-Fetch-Site": "cross-site", "Authorization": ""})
    assert landing.status_code == 200 and 'id="signed-out"' in landing.text
    assert "set-cookie" not in landing.headers
    assert reporting.cookies.get("osv_dashboard_session") == "an-access-token"

    # The dashboard's own form: the browser says so by either header. Its pages let it name their origin: under the
    # no-referrer every other answer has, Chromium's Origin is "null", the only header a browser that sends no
    # Sec-Fetch-Site (plain HTTP to an address other than loopback) would give.
    refused_account = reporting.get("/dashboard", headers={"Accept": "text/html", **tokens.headers("dpo")})
    for page in (reporting.get("/dashboard"), asked, refused_account):
        assert 'id="sign-out"' in page.text and page.headers["referrer-policy"] == "same-origin", page.url
    assert reporting.get("/dashboard/signed-out").headers["referrer-policy"] == "no-referrer"
    for header, value in (("Sec-Fetch-Site", "same-origin"), ("Origin", "http://testserver")):
        signed_in_with_an_id_token(reporting)
        out = reporting.post("/dashboard/sign-out", headers={"Authorization": "", header: value}, follow_redirects=False)
        assert out.status_code == 200 and ("osv_dashboard_session", "/dashboard") in forgotten_cookies(out), (header, value)


def test_signing_out_of_a_session_without_its_id_token_says_the_providers_may_be_open_with_a_link_to_end_it(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    """A session opened before the dashboard kept the ID token (or a second sign-out): without the hint the provider
    would ask whether to log out, staying the default, and the next person would be signed in (tester 24b)."""
    reporting = system["reporting"]
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    out = reporting.post("/dashboard/sign-out", headers={"Authorization": ""}, follow_redirects=False)

    assert out.status_code == 200
    assert 'id="signed-out"' in out.text and 'id="provider-session-open"' in out.text
    end_session = httpx.get(identity_provider.discovery_url).json()["end_session_endpoint"]
    assert f'id="end-provider-session" href="{end_session}?client_id=osv-dashboard&amp;post_logout_redirect_uri=' in out.text
    assert any(cookie.startswith("osv_dashboard_session=") and "max-age=0" in cookie.lower() for cookie in out.headers.get_list("set-cookie"))


def test_the_signed_out_pages_are_in_the_language_the_dashboard_was_read_in(system: dict[str, TestClient], identity_provider: Any) -> None:
    """The dashboard is bilingual (``?lang=``); signing out of its English page must not drop the person into Spanish."""
    reporting = system["reporting"]
    page = reporting.get("/dashboard?lang=en").text
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in page  # its sign-out form carries the page's language
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in reporting.get("/dashboard").text

    # With the session's ID token: off to the provider, the language going as the logout's state, handed back to the page.
    signed_in_with_an_id_token(reporting)
    out = reporting.post("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert out.status_code == 200 and '<html lang="en">' in out.text and "Continue" in out.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(onward(out.text)).query).items()}
    assert (query["post_logout_redirect_uri"], query["state"], query["ui_locales"]) == ("http://testserver/dashboard/signed-out", "en", "en")
    back = reporting.get("/dashboard/signed-out", params={"state": "en"}, headers={"Authorization": ""})
    assert '<html lang="en">' in back.text and "Signed out." in back.text and "Sesión" not in back.text
    assert '<a href="/dashboard?lang=en">Sign in again</a>' in back.text
    spanish = reporting.get("/dashboard/signed-out", headers={"Authorization": ""})
    assert '<html lang="es">' in spanish.text and '<a href="/dashboard">Entrar de nuevo</a>' in spanish.text

    # Without it: the page itself, saying the provider's session may be open, in English, its link keeping the language.
    reporting.cookies.clear()
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    out = reporting.post("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert out.status_code == 200 and '<html lang="en">' in out.text
    assert "The identity provider's session may still be open" in out.text and "End the provider's session too" in out.text
    assert "&amp;state=en" in out.text and "Sesión" not in out.text
    assert reporting.post("/dashboard/sign-out", params={"lang": "fr"}, headers={"Authorization": ""}).status_code == 422
    assert reporting.get("/dashboard/sign-out", params={"lang": "fr"}, headers={"Authorization": ""}).status_code == 422


def test_signing_out_while_the_provider_cannot_be_reached_still_closes_the_session_and_says_the_providers_may_be_open(
    tmp_path: Path,
) -> None:
    from shared.auth import AuthSettings

    unreachable = AuthSettings(issuer="http://127.0.0.1:1/realms/osv", http_timeout_seconds=1)
    with service_client("reporting", tmp_path, settings={"auth": unreachable}) as reporting:
        reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
        out = reporting.post("/dashboard/sign-out", headers={"Authorization": ""}, follow_redirects=False)

    assert out.status_code == 200
    assert 'id="signed-out"' in out.text and 'id="provider-session-open"' in out.text
    assert any(cookie.startswith("osv_dashboard_session=") and "max-age=0" in cookie.lower() for cookie in out.headers.get_list("set-cookie"))


def test_the_kobo_webhooks_docs_pages_are_served_from_its_own_assets_too() -> None:
    from services.imports.api import create_app as imports_app

    with TestClient(imports_app()) as client:
        docs, redoc = client.get("/docs"), client.get("/redoc")
        asset = client.get("/docs/assets/redoc.standalone.js")
    assert docs.status_code == redoc.status_code == asset.status_code == 200
    assert "cdn.jsdelivr.net" not in docs.text + redoc.text
