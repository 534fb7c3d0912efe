"""Hostile and absurd input: every service answers a clear 4xx in problem+json, its own layers' errors included.

Each test is one kind of input, sent to every service and route it concerns.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.imports.api import create_app as imports_app
from services.imports.settings import ImportSettings
from shared.guards import RequestGuard
from tests.support.api import assert_problem
from tests.support.clients import SERVICES, settings_for
from tests.support.identity import signed_in_headers

WRITE_SERVICES = ("registry", "funding", "engagement")
ALL_SERVICES = (*WRITE_SERVICES, "reporting")


def served(service: str, var_dir: Path, database_url: str | None = None) -> TestClient:
    """The service as a test client that answers a server error as the network would see it, never raising it."""
    app = SERVICES[service][0](settings_for(service, var_dir, database_url))
    return TestClient(app, raise_server_exceptions=False, headers=signed_in_headers())


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """All four services on SQLite files, started once for the module's read-only probes."""
    clients = {name: served(name, tmp_path_factory.mktemp(name)) for name in ALL_SERVICES}
    for client in clients.values():
        client.__enter__()
    try:
        yield clients
    finally:
        for client in clients.values():
            client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def webhook() -> Iterator[TestClient]:
    """The Kobo webhook (imports): no store, but a service on the network like the others, taking people's data."""
    with TestClient(imports_app(ImportSettings(kobo_hooks={"osv_members": "s3cret"})), raise_server_exceptions=False) as client:
        yield client


def post_routes(client: TestClient) -> list[str]:
    """Every POST, PUT and PATCH path of the service's OpenAPI document, with a made-up id in each parameter."""
    paths = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method in operations:
            if method in ("post", "put", "patch"):
                concrete = path
                while "{" in concrete:
                    start, end = concrete.index("{"), concrete.index("}")
                    concrete = concrete[:start] + "3fa85f64-5717-4562-b3fc-2c963f66afa6" + concrete[end + 1 :]
                paths.append((method.upper(), concrete))
    return paths


# Query parameters past what a store can hold ------------------------------------------------


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_feed_position_past_a_64_bit_integer_is_refused_with_422_on_sqlite_and_postgresql(
    service: str, database_url: str, tmp_path: Path
) -> None:
    with served(service, tmp_path, database_url) as client:
        response = client.get("/events", params={"after": 2**63})
        assert_problem(response, 422, field="after", rule="at_most_max_position")
        response = client.get("/events", params={"after": 2**63 - 1})
        assert response.status_code == 200 and response.json()["events"] == []


# Moments ("as of") out of range, or not ISO 8601 ------------------------------------------------

AS_OF_ROUTES = ("/indicators", "/indicators/export.csv", "/indicators/export.xlsx", "/indicators/osvs_identified/evidence", "/dashboard")


@pytest.mark.parametrize("route", AS_OF_ROUTES)
@pytest.mark.parametrize(
    ("as_of", "rule"),
    [
        ("9999-12-31T23:59:59-14:00", "moment_within_bounds"),
        ("0001-01-01T00:00:00+14:00", "moment_within_bounds"),
        ("1970-01-01T00:00:00+14:00", "moment_within_bounds"),  # 1969-12-31T10:00Z, answered as such (tester 192 F7)
        ("99999999999", "iso_8601_moment"),
        ("1640995199", "iso_8601_moment"),
        ("2021-06-01T00:00:00+25:00", "iso_8601_moment"),  # the right shape, no moment (tester 36c F6)
        ("2021-06-01T24:00:00Z", "iso_8601_moment"),
        ("2021-02-30T10:00:00Z", "iso_8601_moment"),
    ],
)
def test_an_as_of_out_of_range_or_given_as_a_number_is_refused_with_422(
    services: dict[str, TestClient], route: str, as_of: str, rule: str
) -> None:
    assert_problem(services["reporting"].get(route, params={"as_of": as_of}), 422, field="as_of", rule=rule)


def test_an_as_of_ahead_of_utc_before_1970_in_utc_says_the_moment_in_utc(services: dict[str, TestClient]) -> None:
    """Tester 196 F5: 1970-01-01T00:00+14:00 was told it "must be between 1970-01-01 and 9999-12-30", as typed inside."""
    problem = assert_problem(services["reporting"].get("/indicators", params={"as_of": "1970-01-01T00:00:00+14:00"}), 422, "as_of", "moment_within_bounds")
    assert "1969-12-31T10:00:00Z" in problem["detail"]


def test_an_as_of_with_a_digit_that_is_not_ascii_is_told_the_shape_not_the_calendar(services: dict[str, TestClient]) -> None:
    # A full-width digit (a phone's keyboard, a copied spreadsheet) is no digit of ISO 8601: the text is of no moment's
    # shape, not a moment missing from the calendar (tester 136 F5).
    for as_of in ("２021-12-31T23:59:59Z", "2021-12-31T23:59:5９-05:00", "2021-12-31T23:59:59-0５:00"):
        answer = services["reporting"].get("/indicators", params={"as_of": as_of})
        assert_problem(answer, 422, field="as_of", rule="iso_8601_moment")
        assert "such as 2021-12-31T23:59:59-05:00" in answer.text and "calendar" not in answer.text


def test_an_as_of_needs_its_offset_except_on_the_dashboard_where_lima_time_is_meant(services: dict[str, TestClient]) -> None:
    reporting = services["reporting"]
    assert_problem(reporting.get("/indicators", params={"as_of": "2021-12-31T23:59:59"}), 422, field="as_of", rule="iso_8601_moment")
    assert reporting.get("/indicators", params={"as_of": "2021-12-31T23:59:59-05:00"}).json()["as_of"] == "2022-01-01T04:59:59Z"
    assert reporting.get("/dashboard", params={"as_of": "2021-12-31T23:59"}).status_code == 200


# Bodies the JSON decoder cannot take ---------------------------------------------------------------


@pytest.mark.parametrize("service", WRITE_SERVICES)
@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b'{"name": "Olla \xff\xfe"}', "utf8"),
        (b"[" * 100_000 + b"]" * 100_000, "max_json_depth"),
        (b'{"a": ' * 17 + b"1" + b"}" * 17, "max_json_depth"),
        (b'{"members_assessed": ' + b"9" * 5000 + b"}", "max_number_digits"),
        (b'{"a": 1.' + b"0" * 101 + b"}", "max_number_digits"),
        (b'{"hours": NaN}', "json_number"),
        (b'{"count": [1, -Infinity]}', "json_number"),
        (b'{"target": {"value": 1e-400}}', "json_number"),  # read as 0: the field's rules would judge another number
        (b'{"target": {"value": -2.5E+400}}', "json_number"),  # read as minus infinity
        (b'{"target": {"value": 40.0000000000000000001}}', "json_number"),  # read as 40, a whole count (tester 36c F3)
        ('{"note": "perdido\u0000"}'.encode("utf-16-be"), "utf8"),  # UTF-8 bytes too, read as UTF-16 (tester 36c F2)
        ('{"name": "x\"", "b": ' .encode("utf-32-be") + "[" .encode("utf-32-be") * 60 + "]".encode("utf-32-be") * 60 + b"\x00\x00\x00}", "utf8"),
    ],
    ids=["invalid-utf8", "100000-deep", "17-deep", "5000-digit-integer", "101-digit-fraction", "nan", "minus-infinity", "underflow",
         "overflow", "inexact", "utf-16", "utf-32"],
)
def test_a_body_not_in_utf8_nested_too_deep_or_with_endless_numbers_gets_422_on_every_command(
    services: dict[str, TestClient], service: str, body: bytes, rule: str
) -> None:
    client = services[service]
    head = client.get("/events").json()["head"]
    # A number is named by its path (tester 36 F3: in a Kobo submission's 40 members, `body` said not which).
    field = {b'{"hours": NaN}': "hours", b'{"count": [1, -Infinity]}': "count.1"}.get(body, "target.value" if rule == "json_number" else "body")
    for method, path in post_routes(client):
        response = client.request(method, path, content=body, headers={"content-type": "application/json"})
        assert_problem(response, 422, field=field, rule=rule)
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_body_the_json_decoder_stops_on_gets_422_saying_where_and_why(services: dict[str, TestClient], service: str) -> None:
    """Tester 233 F5: text after the JSON value (``{...} x``), a value missing or a trailing comma were told "JSON decode
    error" alone: a client fixing a body by hand learnt neither where nor what. The decoder's words and the character
    it stopped at (from 1) are said; nothing is recorded."""
    client = services[service]
    head = client.get("/events").json()["head"]
    for body, said in (
        (b'{"name": "Olla"} x', "Extra data: text after the JSON value at character 18"),
        (b'{"name": }', "Expecting value at character 10"),
        (b'{"name": "Olla",}', "Expecting property name enclosed in double quotes at character 17"),
        (b'{"name": "Oll', "Unterminated string starting at character 10"),  # not "at at" (tester 251 F3)
    ):
        for method, path in [route for route in post_routes(client) if requires_body(client, *route)][:3]:  # a redaction says no_body
            answer = client.request(method, path, content=body, headers={"content-type": "application/json"})
            problem = assert_problem(answer, 422, field="body", rule="json_invalid")
            assert problem["errors"][0]["message"] == f"must be one JSON value: {said}", problem
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_header_given_twice_gets_422_naming_it_before_any_body_is_read(services: dict[str, TestClient], service: str) -> None:
    """Tester 36, F1: with ``Content-Type: application/json`` then ``text/plain``, the guard read the last and let the body
    by unchecked, the route read the first and parsed it: a duplicate key, ``NaN`` or ``1e-400`` went through (a target
    of 1e-400 stored as 0). A second ``Idempotency-Key`` was silently ignored."""
    client = services[service]
    head = client.get("/events").json()["head"]
    body = b'{"name": "Olla", "name": "Olla Comun", "value": 1e-400, "count": NaN}'
    for doubled, field in (
        ([("content-type", "application/json"), ("content-type", "text/plain")], "Content-Type"),
        ([("content-type", "application/json"), ("idempotency-key", "k-1"), ("idempotency-key", "k-2")], "Idempotency-Key"),
        ([("content-type", "application/json"), ("authorization", "Bearer x"), ("authorization", "Bearer y")], "Authorization"),
    ):
        for method, path in post_routes(client):
            assert_problem(client.request(method, path, content=body, headers=doubled), 422, field=field, rule="header_given_twice")
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_body_sent_as_other_than_json_gets_415_naming_the_content_type(services: dict[str, TestClient], service: str) -> None:
    """Tester 136 F2: a JSON body sent as text/plain or as a form got 422 `model_attributes_type` on `body` ("a valid
    dictionary"); the Kobo webhook said 415 `json_content_type`. Every command says it now; none is recorded."""
    client = services[service]
    head = client.get("/events").json()["head"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/plain; charset=json"):
        for method, path in post_routes(client):
            answer = client.request(method, path, content=b'{"name": "Olla"}', headers={"content-type": content_type})
            problem = assert_problem(answer, 415, field="Content-Type", rule="json_content_type")
            assert content_type.split(";")[0] in problem["detail"]
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_body_sent_compressed_gets_415_naming_the_content_encoding(services: dict[str, TestClient], service: str) -> None:
    """Tester 192 F7: a gzipped JSON body was read as the JSON itself and told 422 `utf8` at offset 1."""
    client = services[service]
    head = client.get("/events").json()["head"]
    for method, path in post_routes(client):
        answer = client.request(
            method, path, content=gzip.compress(b'{"name": "Olla"}'), headers={"content-type": "application/json", "content-encoding": "gzip"}
        )
        problem = assert_problem(answer, 415, field="Content-Encoding", rule="no_content_encoding")
        assert "gzip" in problem["detail"]
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_body_said_to_be_in_another_charset_than_utf8_gets_415_naming_the_content_type(services: dict[str, TestClient], service: str) -> None:
    """Tester 262 F5: `Content-Type: application/json; charset=latin-1` was taken and its bytes read as UTF-8 (a latin-1
    'ñ' told 422 `utf8`, a UTF-8 'ñ' stored where the client meant 'Ã±'). JSON is UTF-8: said so, nothing recorded;
    `charset=utf-8` (any case, quoted or not) is read as before."""
    client = services[service]
    head = client.get("/events").json()["head"]
    for content_type in ("application/json; charset=latin-1", "application/json;charset=ISO-8859-1", 'application/json; charset="windows-1252"'):
        for method, path in post_routes(client):
            answer = client.request(method, path, content='{"name": "Señora"}'.encode("latin-1"), headers={"content-type": content_type})
            problem = assert_problem(answer, 415, field="Content-Type", rule="json_charset")
            assert content_type.rsplit("=", 1)[1].strip('"').lower() in problem["detail"]
    assert client.get("/events").json()["head"] == head
    # Tester 265 F3: a charset given twice (each reader would take its own) is refused too; ASCII, which UTF-8 reads as it is, is taken.
    # Tester 266 F4: a quoted value holding a ';' is one value, not utf-8 then a parameter of its own.
    for odd in ("application/json; charset=utf-8; charset=latin-1", 'application/json; charset="utf-8; x"'):
        assert_problem(client.request(*post_routes(client)[0], content=b'{"name": "Olla"}', headers={"content-type": odd}), 415,
                       field="Content-Type", rule="json_charset")
    for content_type in ("application/json; charset=UTF-8", 'application/json; charset="utf-8"', "application/json; charset=utf8",
                         "application/json; charset=US-ASCII"):
        method, path = post_routes(client)[0]
        answer = client.request(method, path, content=b'{"name": "Olla"}', headers={"content-type": content_type})
        assert answer.status_code != 415, answer.text  # read, and judged by the route (its fields)


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_command_that_takes_no_body_refuses_one_and_takes_none_or_an_empty_object(services: dict[str, TestClient], service: str) -> None:
    """Tester 265 F4: a redaction (its record named in its path, no body) took `{"x": 1}` and `{not json` with 200: a front
    end's wrong payload was never told. Every command of the service with no body in its OpenAPI document says so."""
    client = services[service]
    bodiless = [(method, path) for method, path in post_routes(client) if not requires_body(client, method, path)]
    assert bodiless or service == "reporting"
    for method, path in bodiless:
        for sent in (b'{"x": 1}', b"{not json", b"[]"):
            answer = client.request(method, path, content=sent, headers={"content-type": "application/json"})
            assert_problem(answer, 422, field="body", rule="no_body")
        for empty in (b"", b"{}", b" { } "):
            answer = client.request(method, path, content=empty, headers={"content-type": "application/json"})
            rules = [e["rule"] for e in answer.json().get("errors", [])]
            assert "no_body" not in rules and answer.status_code in (404, 422), (path, answer.text)  # the route's own answer


def requires_body(client: TestClient, method: str, concrete: str) -> bool:
    """Whether the OpenAPI document gives the route of ``concrete`` (a path with made-up ids) a request body."""
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", path)
        if re.fullmatch(pattern, concrete) and method.lower() in operations:
            return "requestBody" in operations[method.lower()]
    raise AssertionError(f"no route for {method} {concrete}")


def test_a_lead_sending_a_target_with_two_content_types_is_refused_not_stored_as_zero(services: dict[str, TestClient]) -> None:
    headers = [*signed_in_headers("lead").items(), ("content-type", "application/json"), ("content-type", "text/plain")]
    answer = services["reporting"].put("/phases/F1/targets/osvs_identified", content=b'{"target": {"value": 1e-400}}', headers=headers)
    assert_problem(answer, 422, field="Content-Type", rule="header_given_twice")


def test_brackets_and_digits_inside_strings_do_not_count_as_nesting_or_numbers(services: dict[str, TestClient]) -> None:
    response = services["registry"].post("/osvs", json={"name": "[\"{" * 30 + "1" * 105, "district": "Breña", "mapped_on": "2021-03-01"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_text_holding_a_control_character_gets_422_on_every_command(services: dict[str, TestClient], service: str) -> None:
    # A NUL in a name is published for good, and PostgreSQL's text columns (the services' views) refuse it. Each text
    # holding one is named by its path, as every other rule names a field, not "body" (tester 226 F4).
    client = services[service]
    head = client.get("/events").json()["head"]
    for text in ("Club\u0000Deportivo", "Olla \u001b[31mComún", "Vaso de leche\b"):
        named = {"name": text, "district": "Breña", "mapped_on": "2021-03-01"}
        body = json.dumps({**named, "members": [{"full_name": "Ana\u000bPérez"}]}).encode()
        for method, path in post_routes(client):
            response = client.request(method, path, content=body, headers={"content-type": "application/json"})
            errors = assert_problem(response, 422, rule="control_characters")["errors"]
            assert [e["field"] for e in errors] == ["name", "members.0.full_name"], response.text
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_a_key_given_twice_in_one_object_gets_422_naming_it_on_every_command(services: dict[str, TestClient], service: str) -> None:
    """Tester 33 F7: ``{"amount": "100.00", "amount": "999.00"}`` was taken with the last amount, while a proxy, a WAF or
    a log reader that keeps the first saw 100.00. Within a repeated group too; the same key in two objects is fine."""
    client = services[service]
    head = client.get("/events").json()["head"]
    for body, twice, said in (
        (b'{"name": "Olla", "amount": "100.00", "amount": "999.00"}', "amount", "the key 'amount' is given twice in one object:"),
        (b'{"participants": [{"sex": "F"}, {"sex": "F", "sex": "M"}]}', "participants.1.sex",  # by its path (tester 33c F5)
         "the key 'sex' is given twice in one object (in participants.1):"),  # the key as written (tester 36c F8)
        (b'{"x": {"a": 1, "a": 2}, "x": 3}', "x.a", "the key 'a' is given twice in one object (in x):"),
    ):
        for method, path in post_routes(client):
            response = client.request(method, path, content=body, headers={"content-type": "application/json"})
            [error] = assert_problem(response, 422, field=twice, rule="duplicate_key")["errors"]
            assert error["message"].startswith(said), error
    assert client.get("/events").json()["head"] == head
    response = services["registry"].post("/osvs", content=b'[{"name": "a"}, {"name": "b"}]', headers={"content-type": "application/json"})
    assert response.json()["errors"][0]["rule"] != "duplicate_key", response.text


@pytest.mark.parametrize("service", WRITE_SERVICES)
def test_half_an_emoji_is_refused_alike_with_or_without_an_idempotency_key(services: dict[str, TestClient], service: str) -> None:
    """Tester 25b M2: a lone surrogate (``\\ud83d``, valid JSON, no UTF-8) got 422 without a key and 500 with one, on the
    fingerprint of the body; the import always sends a key."""
    client = services[service]
    head = client.get("/events").json()["head"]
    body = b'{"name": "Club Deportivo \\ud83d", "district": "Bre\\u00f1a", "mapped_on": "2021-03-01"}'
    for method, path in post_routes(client):
        plain = client.request(method, path, content=body, headers={"content-type": "application/json"})
        for _ in range(2):  # and its retry
            keyed = client.request(method, path, content=body, headers={"content-type": "application/json", "Idempotency-Key": f"k-{path}"})
            assert keyed.status_code < 500, f"{method} {path}: {keyed.text}"
            assert keyed.status_code == plain.status_code, f"{method} {path}"
    assert client.get("/events").json()["head"] == head


def test_tabs_line_breaks_and_an_escaped_backslash_are_texts_like_any_other(services: dict[str, TestClient]) -> None:
    name = "Comedor\tSanta Rosa \\u0000 N.º 2"  # a tab, and the six characters \u0000 typed as text
    body = json.dumps({"name": name, "district": "Breña", "mapped_on": "2021-03-01"}).encode()
    response = services["registry"].post("/osvs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name.replace("\t", " ")  # a one-line name: its tab is a space, the typed \\u0000 stays


# The server's own layers: no such path, a method not served -----------------------------------------


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_a_method_not_served_gets_405_problem_json_with_an_allow_header_listing_every_method(
    services: dict[str, TestClient], service: str
) -> None:
    client = services[service]
    for method in ("TRACE", "DELETE", "PUT"):
        response = client.request(method, "/events" if service != "reporting" else "/indicators")
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD"
    if service == "registry":
        assert services["registry"].request("TRACE", "/osvs").headers["allow"] == "GET, HEAD, POST"


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_head_is_answered_as_the_get_of_the_same_url_without_its_body(services: dict[str, TestClient], service: str) -> None:
    """RFC 9110 §9.3.2 (tester 136 F3: every HEAD was 405, `Allow` naming GET): the GET's status and headers, its
    `Content-Length` among them, no body; the same checks, so a HEAD without a token is the GET's 401."""
    client = services[service]
    for path in ("/health", "/openapi.json", "/events" if service != "reporting" else "/indicators", "/no/such/path"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for header in ("content-type", "content-length", "x-content-type-options", "cache-control"):
            assert head.headers.get(header) == got.headers.get(header), (path, header)
    signed_out = {"Authorization": ""}
    path = "/events" if service != "reporting" else "/indicators"
    assert client.head(path, headers=signed_out).status_code == client.get(path, headers=signed_out).status_code == 401


def test_head_of_a_command_only_path_is_405_naming_what_it_takes(services: dict[str, TestClient]) -> None:
    """A path served for POST alone answers HEAD as it answers GET: 405, `Allow: POST`, and records nothing."""
    client = services["engagement"]
    head = client.get("/events").json()["head"]
    response = client.head(f"/members/{uuid.uuid4()}/departure")
    assert response.status_code == 405 and response.headers["allow"] == "POST" and response.content == b""
    assert client.get("/events").json()["head"] == head


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_an_unknown_path_gets_404_problem_json(services: dict[str, TestClient], service: str) -> None:
    assert_problem(services[service].get("/no/such/path"), 404)


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_a_path_with_a_trailing_slash_is_404_never_a_redirect_to_the_host_the_request_named(
    services: dict[str, TestClient], service: str
) -> None:
    """Starlette's default answered `/events/` with a 307 to `http://<Host header>/events` (tester 139 F2): a URL built
    from what the client said its host was, and a command sent there went round a redirect."""
    client = services[service]
    path = "/events/" if service != "reporting" else "/indicators/"
    for method in ("GET", "HEAD", "POST"):
        response = client.request(method, path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert response.status_code == 404 and "location" not in response.headers, (method, response.headers)
    if service == "registry":
        body = {"name": "Comedor Santa Rosa", "district": "Breña", "mapped_on": "2021-03-01"}
        assert_problem(client.post("/osvs/", json=body, follow_redirects=False), 404)


def test_the_webhooks_url_with_a_trailing_slash_is_404_not_a_redirect(webhook: TestClient) -> None:
    """A Kobo REST Service set up with a trailing slash is told its URL is wrong, not sent (every submission) to a URL
    built from the Host header (tester 139 F2)."""
    hook = {"auth": ("osv_members", "s3cret"), "headers": {"content-type": "application/json", "Host": "evil.example"}}
    response = webhook.post("/kobo/osv_members/submissions/", content=b"{}", follow_redirects=False, **hook)
    assert_problem(response, 404)
    assert "location" not in response.headers


def test_the_webhook_refuses_a_dry_run_header_and_records_nothing(webhook: TestClient) -> None:
    """The services take `Dry-Run: true`; the webhook ignored it and recorded the submission for real (tester 166 F2).
    It takes no dry run: 422 naming the header, before anything is sent to a service (none answers here)."""
    submission = {"_uuid": "0c4e1a6e-9b1f-4a52-8a43-2f0c54c1d001", "osv_id": "x"}
    for value in ("true", "false", "bogus"):
        response = webhook.post("/kobo/osv_members/submissions", json=submission, auth=("osv_members", "s3cret"), headers={"Dry-Run": value})
        problem = assert_problem(response, 422, "Dry-Run", "no_dry_run_here")
        assert "osv-import --dry-run" in problem["detail"] and "dry-run" not in response.headers
    assert webhook.post("/kobo/osv_members/submissions", json=submission, headers={"Dry-Run": "true"}).status_code == 401  # its secret first
    for signed_out in ({"headers": {"Dry-Run": "bogus"}}, {"params": {"dry_run": "bogus"}}):  # as the services' (tester 166 observation)
        assert_problem(webhook.post("/kobo/osv_members/submissions", json=submission, **signed_out), 401)


# Browsers: headers on every answer ---------------------------------------------------------------------


def answers_of(services: dict[str, TestClient]) -> Iterator[tuple[str, str, Any]]:
    for name, client in services.items():
        yield name, "/events", client.get("/events" if name != "reporting" else "/indicators")
        yield name, "/health", client.get("/health")
        yield name, "404", client.get("/no/such/path")
        yield name, "405", client.request("TRACE", "/openapi.json")
        yield name, "422", client.get("/events?after=-1" if name != "reporting" else "/indicators?as_of=1")
        yield name, "/openapi.json", client.get("/openapi.json")
    yield "registry", "413", services["registry"].post("/osvs", content=b"{" + b" " * 300_000 + b"}")
    yield "reporting", "413", services["reporting"].put("/phases/fase-1/targets/osvs_identified", content=b"{" + b" " * 300_000 + b"}")
    yield "reporting", "415", services["reporting"].put("/phases/fase-1/targets/osvs_identified", content=b"x", headers={"content-type": "text/plain"})
    yield "engagement", "422 body", services["engagement"].post("/members", content=b"\xff")


def answers_of_the_webhook(webhook: TestClient) -> Iterator[tuple[str, str, Any]]:
    hook = {"auth": ("osv_members", "s3cret"), "headers": {"content-type": "application/json"}}
    yield "imports", "/health", webhook.get("/health")
    yield "imports", "404", webhook.get("/no/such/path")
    yield "imports", "405", webhook.request("TRACE", "/health")
    yield "imports", "401", webhook.post("/kobo/osv_members/submissions", content=b"{}")
    yield "imports", "413", webhook.post("/kobo/osv_members/submissions", content=b"{" + b" " * 300_000 + b"}", **hook)
    yield "imports", "422 body", webhook.post("/kobo/osv_members/submissions", content=b"\xff", **hook)
    yield "imports", "/openapi.json", webhook.get("/openapi.json")


def test_every_answer_says_nosniff_never_frame_me_and_no_store(services: dict[str, TestClient], webhook: TestClient) -> None:
    for name, what, response in [*answers_of(services), *answers_of_the_webhook(webhook)]:
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", (name, what)
        assert headers["x-frame-options"] == "DENY", (name, what)
        assert "frame-ancestors 'none'" in headers["content-security-policy"], (name, what)
        assert headers["cache-control"] == "no-store", (name, what)


def test_an_api_answer_may_load_nothing_and_the_dashboard_only_its_own_stylesheet(services: dict[str, TestClient]) -> None:
    reporting = services["reporting"]
    assert reporting.get("/indicators").headers["content-security-policy"].startswith("default-src 'none'")
    policy = dict(
        directive.strip().split(" ", 1) for directive in reporting.get("/dashboard").headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == "'self'"
    assert "script-src" not in policy  # no script at all: default-src 'none' holds
    page = reporting.get("/dashboard").text
    assert "style=" not in page and "<script" not in page and "<style" not in page


# OpenAPI: every error documented, money in one form ----------------------------------------------------


@pytest.mark.parametrize("service", [*ALL_SERVICES, "imports"])
def test_every_operation_documents_its_problem_json_answers(services: dict[str, TestClient], webhook: TestClient, service: str) -> None:
    document = (webhook if service == "imports" else services[service]).get("/openapi.json").json()
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "404", "409", "413", "415", "422"):
                answer = operation["responses"].get(status)
                assert answer is not None, (path, method, status)
                assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_money_and_every_decimal_are_documented_as_strings_only_as_they_are_taken(services: dict[str, TestClient]) -> None:
    def number_or_string(node: Any, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            kinds = [option.get("type") for option in node.get("anyOf", [])]
            if "number" in kinds and "string" in kinds:
                yield where
            for key, value in node.items():
                yield from number_or_string(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from number_or_string(value, f"{where}.{index}")

    for service in WRITE_SERVICES:
        schemas = services[service].get("/openapi.json").json()["components"]["schemas"]
        assert list(number_or_string(schemas, service)) == []
    grant = services["funding"].get("/openapi.json").json()["components"]["schemas"]["GrantCreate"]["properties"]["amount"]
    assert grant["type"] == "string" and grant["pattern"]
    refused = services["funding"].post("/grants", json={"amount": 1500})
    assert_problem(refused, 422, field="amount")


# Bounds: every number, list and text a client sends has a documented upper bound --------------------


def unbounded_inputs(document: dict[str, Any]) -> list[str]:
    """Every integer, array or free string of a request body or query that has no upper bound in the document.

    Path parameters are left out: the server bounds a request line, and a path names a record or answers 404.
    """
    schemas = document["components"]["schemas"]
    found: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], name, seen | {name})
            return
        for option in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
            walk(option, where, seen)
        kind = schema.get("type")
        if kind == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
            found.append(where)
        if kind == "array":
            if "maxItems" not in schema:
                found.append(where)
            walk(schema.get("items", {}), f"{where}[]", seen)
        if kind == "string" and not ({"maxLength", "enum", "format", "const", "pattern"} & set(schema)):
            found.append(where)
        if kind == "object" or "properties" in schema:
            for name, value in schema.get("properties", {}).items():
                walk(value, f"{where}.{name}", seen)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                walk(extra, f"{where}.*", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    continue
                walk(parameter.get("schema", {}), f"{method.upper()} {path} ?{parameter['name']}", frozenset())
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                walk(body, f"{method.upper()} {path}", frozenset())
    return sorted(set(found))


@pytest.mark.parametrize("service", [*ALL_SERVICES, "imports"])
def test_every_number_list_and_text_a_client_sends_has_a_documented_upper_bound(
    services: dict[str, TestClient], webhook: TestClient, service: str
) -> None:
    assert unbounded_inputs((webhook if service == "imports" else services[service]).get("/openapi.json").json()) == []


@pytest.mark.parametrize(
    ("service", "path", "body", "field"),
    [
        ("funding", "/rounds/3fa85f64-5717-4562-b3fc-2c963f66afa6/proposals", {"planned_direct_beneficiaries": 10**30}, "planned_direct_beneficiaries"),
        ("funding", "/rounds/3fa85f64-5717-4562-b3fc-2c963f66afa6/proposals", {"planned_indirect_beneficiaries": 10_000_001}, "planned_indirect_beneficiaries"),
        ("funding", "/grants/3fa85f64-5717-4562-b3fc-2c963f66afa6/goods-deliveries", {"items": [{"quantity": 10**12}]}, "items.0.quantity"),
        ("engagement", "/activities", {"indirect_beneficiaries": 10**30}, "indirect_beneficiaries"),
        ("engagement", "/osvs/3fa85f64-5717-4562-b3fc-2c963f66afa6/meetings", {"attendee_member_ids": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"] * 501}, "attendee_member_ids"),
    ],
)
def test_a_count_above_everyone_in_lima_or_a_list_past_its_bound_is_refused_with_422(
    services: dict[str, TestClient], service: str, path: str, body: dict[str, Any], field: str
) -> None:
    client = services[service]
    head = client.get("/events").json()["head"]
    body_problem = assert_problem(client.post(path, json=body), 422, field=field)
    assert any(e["rule"] in ("at_most_max_count", "at_most_500_items") and "List should" not in e["message"]
               for e in body_problem["errors"] if e["field"] == field), body_problem
    assert client.get("/events").json()["head"] == head


def test_a_body_of_thousands_of_mistakes_gets_a_bounded_answer_listing_the_first_and_counting_the_rest(
    services: dict[str, TestClient],
) -> None:
    """Tester 33 F12: 2,000 wrong participants (a 220 KB body) were answered with 1.85 MB, every error listed and all of
    them repeated in ``detail``: an eightfold amplification, and more than Kobo's REST log or a front end shows."""
    participant = {"person_id": "x" * 40, "nationality": "XXXXXXXXXX", "sex": "Q", "foo": 1}
    body = {"osv_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "participants": [participant] * 2000}
    answer = services["engagement"].post("/activities", json=body)
    problem = assert_problem(answer, 422)
    assert len(answer.content) < 40_000, len(answer.content)
    assert len(problem["errors"]) == 100 and problem["errors_not_listed"] > 0
    fields = [e["field"] for e in problem["errors"]]
    assert fields[:3] == ["held_on", "kind", "district"] and fields[3].startswith("participants.0."), fields[:5]  # in order
    assert problem["detail"].endswith(f"and {len(problem['errors']) + problem['errors_not_listed'] - 10} more")
    few = assert_problem(services["engagement"].post("/activities", json={"osv_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}), 422)
    assert "errors_not_listed" not in few and "more" not in few["detail"]


def test_an_id_or_a_date_that_does_not_parse_is_refused_saying_what_to_send(services: dict[str, TestClient]) -> None:
    """Tester 25b L4: a Kobo cell with half an OSV id was refused with pydantic's "Input should be a valid UUID, invalid
    group count: expected 5, found 1", which a coordinator reads as noise."""
    answer = services["engagement"].post("/members", json={"osv_id": "3fa85f64-5717", "full_name": "Rosa Quispe", "document_type": "DNI",
                                                          "document_number": "41234567", "nationality": "PE", "sex": "F",
                                                          "joined_on": "15/03/2021"})
    problem = assert_problem(answer, 422)
    said = {e["field"]: (e["rule"], e["message"]) for e in problem["errors"]}
    assert said["osv_id"][0] == "uuid_parsing" and said["osv_id"][1].startswith("must be an id: 32 hexadecimal digits")
    assert said["joined_on"] == ("iso_8601_date", "must be a date written YYYY-MM-DD")  # in one answer with it


def test_a_day_not_in_the_calendar_and_a_birth_year_not_a_whole_json_number_are_refused_by_the_projects_rules(
    services: dict[str, TestClient],
) -> None:
    """Tester 33 F4: ``2026-02-30`` was refused as pydantic's ``date_from_datetime_parsing`` (README: ``iso_8601_date``);
    ``"birth_year": "1990"``, ``1990.0`` and ``true`` (read as 1) were taken or refused as a range, while money refuses a
    JSON number."""
    grant = services["funding"].post("/grants", json={"osv_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "amount": "100.00",
                                                     "currency": "PEN", "granted_on": "2026-02-30", "kind": "seed_fund"})
    said = {e["field"]: (e["rule"], e["message"]) for e in assert_problem(grant, 422)["errors"]}
    assert said["granted_on"][0] == "iso_8601_date" and "2026-02-30 is not one" in said["granted_on"][1], said
    full_width = services["funding"].post("/grants", json={"osv_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "amount": "100.00",
                                                          "currency": "PEN", "granted_on": "２021-10-20", "kind": "seed_fund"})
    said = {e["field"]: (e["rule"], e["message"]) for e in assert_problem(full_width, 422)["errors"]}
    assert said["granted_on"] == ("iso_8601_date", "must be a date written YYYY-MM-DD"), said  # its shape, not the calendar (tester 136 F5)
    person = {"osv_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "full_name": "Rosa Quispe", "document_type": "DNI",
              "document_number": "41234567", "nationality": "PE", "sex": "F", "joined_on": "2021-03-15"}
    for year in ("1990", 1990.0, True):
        answer = services["engagement"].post("/members", json={**person, "birth_year": year}, params={"dry_run": "true"})
        [rule] = [e["rule"] for e in assert_problem(answer, 422)["errors"] if e["field"] == "birth_year"]
        assert rule == "int_type", (year, answer.text)


def test_a_count_sent_as_true_text_or_a_fraction_is_refused_not_read_as_a_number(services: dict[str, TestClient]) -> None:
    """Tester 36b F1: engagement's and registry's counts took ``true`` as 1 (``false`` was then refused as "not 0"),
    ``"5"``, ``" 5 "`` and ``5.0`` as 5, where funding's and ``birth_year`` refuse them."""
    osv = str(uuid.uuid4())
    for sent in (True, False, "5", " 5 ", 5.0, "5.0"):
        activity = {"osv_id": osv, "held_on": "2021-09-01", "kind": "workshop", "indirect_beneficiaries": sent,
                    "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": sent}], "outputs": [{"kind": "workshop", "count": sent}]}
        needs = {"assessed_on": "2021-09-01", "members_assessed": sent, "members_over_5_years_in_peru": sent, "needs": []}
        for service, path, body, fields in (
            ("engagement", "/activities", activity, {"indirect_beneficiaries", "direct_beneficiaries.0.count", "outputs.0.count"}),
            ("engagement", f"/osvs/{osv}/needs-assessments", needs, {"members_assessed", "members_over_5_years_in_peru"}),
            ("registry", f"/osvs/{osv}/ruos-applications/{uuid.uuid4()}/observation",
             {"observed_on": "2021-04-12", "reasons": [{"code": "other"}], "amend_within_working_days": sent}, {"amend_within_working_days"}),
        ):
            answer = services[service].post(path, json=body, params={"dry_run": "true"})
            refused = {e["field"]: e["rule"] for e in assert_problem(answer, 422)["errors"]}
            assert {field: refused.get(field) for field in fields} == dict.fromkeys(fields, "int_type"), (sent, path, answer.text)


def test_a_query_parameter_given_twice_is_refused_naming_it_not_read_as_the_last(services: dict[str, TestClient]) -> None:
    """Tester 36c F7: ``limit=10&limit=20`` read 20; ``purpose=bogus&purpose=contact`` was served, and logged, as contact."""
    answer = services["registry"].get("/osvs?limit=10&limit=20")
    assert [(e["field"], e["rule"]) for e in assert_problem(answer, 422)["errors"]] == [("limit", "parameter_given_twice")]
    answer = services["engagement"].get(f"/osvs/{uuid.uuid4()}/members?purpose=bogus&purpose=contact")
    assert ("purpose", "parameter_given_twice") in [(e["field"], e["rule"]) for e in assert_problem(answer, 422)["errors"]]


def test_a_number_in_a_query_is_asked_for_as_a_number_not_as_a_json_number(services: dict[str, TestClient]) -> None:
    """Tester 36 F6: ``GET /osvs?limit=abc`` was told "must be a whole number written as a JSON number (1990)"."""
    answer = services["registry"].get("/osvs", params={"limit": "abc"})
    [(rule, message)] = [(e["rule"], e["message"]) for e in assert_problem(answer, 422)["errors"] if e["field"] == "limit"]
    assert (rule, message) == ("int_parsing", "must be a whole number, such as 10"), answer.text


def test_a_figure_that_is_no_number_is_refused_in_plain_words(services: dict[str, TestClient]) -> None:
    """Tester 33c F5: ``true`` as a target's value got pydantic's "Decimal input should be an integer, float, string or
    Decimal object"."""
    for value in (True, [1], "doce"):
        answer = services["reporting"].put("/phases/F1/targets/osvs_identified", json={"target": {"value": value}},
                                           headers=signed_in_headers("lead"))
        [(rule, message)] = [(e["rule"], e["message"]) for e in assert_problem(answer, 422)["errors"] if e["field"] == "target.value"]
        # "doce", a string of no digits: decimal_text, as every string not written with the digits 0-9 and a point (session 37)
        assert rule in ("decimal_type", "decimal_text") and message.startswith("must be a number"), (value, answer.text)


def test_an_amount_of_too_many_digits_is_refused_without_repeating_them_all(services: dict[str, TestClient]) -> None:
    """Tester 36b F9: an amount of 201 digits was refused repeating all 201 in the message."""
    body = {"osv_id": str(uuid.uuid4()), "amount": "1" + "0" * 200, "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
    answer = services["funding"].post("/grants", json=body, headers=signed_in_headers("staff"))
    [error] = [e for e in assert_problem(answer, 422)["errors"] if e["field"] == "amount"]
    assert error["rule"].startswith("at_most_") and "201 digits" in error["message"] and "0" * 30 not in answer.text, answer.text
    # Tester 36d F5: a count of 99 digits, the same.
    meeting = {"held_on": "2021-06-10", "mode": "in_person", "topics": ["needs"], "other_attendees": int("9" * 99)}
    answer = services["engagement"].post(f"/osvs/{uuid.uuid4()}/meetings", json=meeting, params={"dry_run": "true"})
    [error] = [e for e in assert_problem(answer, 422)["errors"] if e["field"] == "other_attendees"]
    assert error["rule"] == "at_most_max_count" and "99 digits" in error["message"] and "9" * 30 not in answer.text, answer.text


def test_a_target_past_a_doubles_range_is_refused_and_small_or_zero_numbers_are_read_as_sent(services: dict[str, TestClient]) -> None:
    """Session 35: ``1e-400`` as a target's value was read as 0 and stored as a target of zero."""
    reporting, lead = services["reporting"], signed_in_headers("lead")
    for sent in (b"1e-400", b"-2.5E+400"):
        answer = reporting.put("/phases/F1/targets/osvs_identified", content=b'{"target": {"value": ' + sent + b"}}",
                               headers={**lead, "content-type": "application/json"}, params={"dry_run": "true"})
        assert sent.decode() in assert_problem(answer, 422, field="target.value", rule="json_number")["detail"]
    guard = RequestGuard(app=None, limit=256 * 1024)
    for sent in (b"0.0", b"0e400", b"-0.000", b"1.5e-7", b"2.2250738585072014e-308"):  # zero as zero, small as small
        assert guard.refusal(b'{"target": {"value": ' + sent + b"}}") is None, sent


def test_money_sent_as_other_than_text_is_refused_naming_what_was_sent(services: dict[str, TestClient]) -> None:
    """Session 35: an amount sent as ``true`` or ``[1]`` was told "not a JSON number", which it was not."""
    for value, sent in ((True, "not true"), (False, "not false"), ([1], "not a list"), ({"a": 1}, "not an object"), (1500, "not a JSON number"), (None, "not null")):
        body = {"osv_id": str(uuid.uuid4()), "amount": value, "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
        answer = services["funding"].post("/grants", json=body, headers=signed_in_headers("staff"))
        [(rule, message)] = [(e["rule"], e["message"]) for e in assert_problem(answer, 422)["errors"] if e["field"] == "amount"]
        assert rule == "decimal_text" and message == f'must be a decimal string such as "1500.00", {sent}', (value, answer.text)


def test_an_osv_or_grant_not_heard_of_is_refused_naming_the_likely_cause_first(services: dict[str, TestClient]) -> None:
    """Tester 25b L4: after the import had waited, the refusal led with registry's OSVMapped event, the likely cause (a
    mistyped id) coming after the jargon."""
    unknown = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    answer = services["funding"].post("/grants", json={"osv_id": unknown, "amount": "100.00", "currency": "PEN",
                                                      "granted_on": "2021-07-01", "kind": "seed_fund"})
    problem = assert_problem(answer, 422, "osv_id", "osv_mapped_in_registry")
    assert problem["detail"] == (f"OSV {unknown} is not known to funding: check the id; an OSV mapped a moment ago is known "
                                 "within seconds (retry after Retry-After)")
