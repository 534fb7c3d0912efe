"""Which requests may sign the dashboard out: the browser's word on where the form was (``check_same_origin``)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from services.reporting.signin import CrossOriginRequest, check_same_origin


def posted(headers: dict[str, str], scheme: str = "http") -> Request:
    """A ``POST /dashboard/sign-out`` as the service receives it, with these headers (``Host`` among them)."""
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "POST", "scheme": scheme, "path": "/dashboard/sign-out", "headers": raw, "query_string": b""})


@pytest.mark.parametrize("fetch_site", ["same-origin", "none"])
def test_the_dashboards_own_page_says_so_by_sec_fetch_site_whatever_its_origin_says(fetch_site: str) -> None:
    check_same_origin(posted({"Host": "127.0.0.1:8004", "Sec-Fetch-Site": fetch_site, "Origin": "null"}))


@pytest.mark.parametrize("fetch_site", ["same-site", "cross-site"])
def test_a_page_on_another_port_or_site_is_refused_by_sec_fetch_site_even_naming_the_dashboards_origin(fetch_site: str) -> None:
    with pytest.raises(CrossOriginRequest) as refused:
        check_same_origin(posted({"Host": "127.0.0.1:8004", "Sec-Fetch-Site": fetch_site, "Origin": "http://127.0.0.1:8004"}))
    assert (refused.value.header, refused.value.value) == ("Sec-Fetch-Site", fetch_site)


def test_without_sec_fetch_site_the_origin_must_be_on_the_host_asked() -> None:
    """Plain HTTP to an address other than loopback: the browser sends no Sec-Fetch-Site, only Origin."""
    check_same_origin(posted({"Host": "10.0.0.5:8004", "Origin": "http://10.0.0.5:8004"}))
    for elsewhere in ("http://10.0.0.5:8001", "http://10.0.0.6:8004", "null", "http://evil.example"):
        with pytest.raises(CrossOriginRequest) as refused:
            check_same_origin(posted({"Host": "10.0.0.5:8004", "Origin": elsewhere}))
        assert refused.value.header == "Origin" and elsewhere in str(refused.value)


def test_behind_a_proxy_the_public_urls_origin_is_the_dashboards_own() -> None:
    """TLS ends at the proxy, which asks the service on an address of its own: the public URL names the origin."""
    proxied = {"Host": "reporting:8004", "Origin": "https://reporting.osv.example.org"}
    check_same_origin(posted(proxied), public_url="https://reporting.osv.example.org/")
    with pytest.raises(CrossOriginRequest):
        check_same_origin(posted(proxied))
    with pytest.raises(CrossOriginRequest):  # the public host over plain HTTP is another origin
        check_same_origin(posted({**proxied, "Origin": "http://reporting.osv.example.org"}), public_url="https://reporting.osv.example.org")
    check_same_origin(posted({"Host": "reporting.osv.example.org", "Origin": "https://reporting.osv.example.org"}))  # Host passed on


def test_a_request_with_neither_header_is_no_browsers_and_goes_on() -> None:
    check_same_origin(posted({"Host": "127.0.0.1:8004"}))
