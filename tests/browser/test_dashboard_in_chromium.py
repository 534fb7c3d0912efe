"""The dashboard in a real browser: Debian's headless chromium, driven by Selenium.

Reporting runs for real (uvicorn on a free port, in a thread) with its read
model filled through the consumer handler by the events of a programme year
(tests/support/reporting_feed.py). The machine has no network: chromium is
started with everything that would call out switched off, and the page needs
nothing but reporting itself and the identity provider.

People sign in as they would: the dashboard sends the browser to the real
provider (its own provider here, whose ``osv-dashboard`` client redirects to
this reporting's port), whose sign-in pages chromium fills in. The provider is
given reporting's ``127.0.0.1`` URL, as ``make run`` gives it; a person who
types ``localhost`` instead signs in too.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from devtools.identity import IdentityProvider
from services.reporting.api import create_app
from services.reporting.settings import ReportingSettings
from shared.auth import AuthSettings
from shared.clock import today_in_lima
from tests.support.reporting_feed import ReportingFeed, a_programme_year

pytestmark = pytest.mark.timeout(120)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NATS_OUT_OF_REACH = "nats://127.0.0.1:1"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


@dataclass
class Site:
    url: str
    provider: IdentityProvider


@pytest.fixture(scope="module")
def reporting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Reporting served by uvicorn on a free port, its read model holding a programme year, and its identity provider."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    var = tmp_path_factory.mktemp("var")
    provider = IdentityProvider(var / "idp", port=0, service_urls={"reporting": url}).start()
    settings = ReportingSettings(var_dir=var, nats_url=NATS_OUT_OF_REACH, auth=AuthSettings(issuer=provider.issuer))
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, name="reporting", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "reporting did not start"
        time.sleep(0.05)
    a_programme_year(ReportingFeed(app.state.runtime.app.readmodel, today_in_lima()))
    try:
        yield Site(url, provider)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()
        provider.stop()


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """A headless chromium with its own profile, its console kept (``get_log("browser")``), quit on leaving."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def sign_in(browser: WebDriver, site: Site, user: str, url: str | None = None) -> None:
    """Sign ``user`` in to the dashboard on the provider's own pages, as a person would: login, then password.

    ``url`` is reporting's base URL as the person typed it (``site.url``, the one the provider was given, by default).
    """
    url = url or site.url
    forget_every_cookie(browser)  # the dashboard's session and the provider's
    browser.get(f"{url}/dashboard")
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(site.provider.issuer))
    browser.find_element(By.NAME, "login").send_keys(user)
    browser.find_element(By.NAME, "login").submit()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.NAME, "password"))
    browser.find_element(By.NAME, "password").send_keys(site.provider.passwords()[user])
    browser.find_element(By.NAME, "password").submit()
    WebDriverWait(browser, 15).until(
        lambda b: b.current_url.startswith(f"{url}/dashboard") and b.find_elements(By.ID, "signed-in") and whole_dashboard(b),
        message=f"signing {user} in through {url}/dashboard did not end on the dashboard",
    )


def forget_every_cookie(browser: WebDriver) -> None:
    """Every cookie of every host (``delete_all_cookies`` forgets only the current page's host's)."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


def on_localhost(url: str) -> str:
    """``url`` (on 127.0.0.1) as a person types it: the same port on ``localhost``."""
    assert url.startswith("http://127.0.0.1:"), url
    return url.replace("http://127.0.0.1:", "http://localhost:", 1)


@pytest.fixture(scope="module")
def signed_in(browser: WebDriver, reporting: Site) -> str:
    """The browser signed in as ``staff``; yields reporting's base URL."""
    sign_in(browser, reporting, "staff")
    return reporting.url


def sign_out(browser: WebDriver) -> None:
    """Press the page's sign-out button, as a person would, and wait for the page saying the session is closed."""
    button = browser.find_element(By.ID, "sign-out")
    assert button.tag_name == "button"  # a form's: a POST, which no other site's link or image can send
    button.click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "signed-out"), message="the sign-out did not end on its page")


def whole_dashboard(browser: WebDriver) -> bool:
    """Whether the window holds a whole dashboard: its load done and its last section parsed.

    Checked after every navigation: ``browser.get`` alone has been seen (in CI, on a loaded machine) to return
    while the dashboard was not all there, and the next queries found no charts and no alert counts.
    """
    return browser.execute_script("return document.readyState") == "complete" and bool(browser.find_elements(By.ID, "focal-points-list"))


def open_dashboard(browser: WebDriver, url: str) -> None:
    """``browser.get(url)``, then wait for a whole dashboard that is a new page: the one left is marked first."""
    browser.execute_script("document.documentElement.dataset.left = 'yes'")
    browser.get(url)
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return document.documentElement.dataset.left === undefined") and whole_dashboard(b),
        message=f"{url} did not show the whole dashboard",
    )


def texts(browser: WebDriver, selector: str) -> list[str]:
    return [element.text.strip() for element in browser.find_elements(By.CSS_SELECTOR, selector)]


def row(browser: WebDriver, table: str, key: str) -> list[str]:
    return texts(browser, f"#{table} tr[data-indicator='{key}'] > *")


def test_the_dashboard_opens_in_spanish_with_the_programmes_figures(browser: WebDriver, signed_in: str) -> None:
    open_dashboard(browser, f"{signed_in}/")

    assert browser.current_url == f"{signed_in}/dashboard"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert browser.title == "Tablero del programa OSV"
    assert texts(browser, "h1, h2") == ["Tablero del programa OSV", "Indicadores por fase", "Gráficos", "Alertas de seguimiento"]
    assert row(browser, "phase-table", "osvs_identified") == ["OSV identificadas", "3", "1", "4"]
    assert row(browser, "phase-table", "members_joined")[-1].split() == "Total: 3 Por nacionalidad: Perú: 1 Venezuela: 2 Por sexo: Mujeres: 3".split()
    assert browser.find_element(By.ID, "as-of").text.startswith("Cifras al ")


def test_the_english_switch_turns_the_whole_page_into_english(browser: WebDriver, signed_in: str) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")

    browser.find_element(By.ID, "language-switch").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en" and whole_dashboard(b))

    assert browser.current_url == f"{signed_in}/dashboard?lang=en"
    assert texts(browser, "h1, h2") == ["OSV programme dashboard", "Indicators by phase", "Charts", "Follow-up alerts"]
    assert row(browser, "phase-table", "osvs_identified")[0] == "OSVs identified"
    assert browser.find_element(By.ID, "language-switch").text == "Español"


def test_the_charts_are_drawn_as_svg_with_titles_and_their_bars_have_size(browser: WebDriver, signed_in: str) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")

    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    titles = [chart.find_element(By.TAG_NAME, "title").get_attribute("textContent") for chart in charts]
    assert titles == ["Fases comparadas", "Por zona", "Personas alcanzadas por zona", "Por nacionalidad (todas las fases)", "Beneficiarios"]  # a focal point read "whole programme" over its district's
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-phases rect")
    described = {bar.find_element(By.TAG_NAME, "title").get_attribute("textContent"): bar.size["width"] for bar in bars}
    assert described["F1 · Fase 1 — OSV identificadas: 3"] > described["F2 · Fase 2 — OSV identificadas: 1"] > 0
    assert "3" in texts(browser, "#chart-phases text")


def test_the_alerts_name_the_overdue_osv_and_the_municipalities_without_a_focal_point(browser: WebDriver, signed_in: str) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")
    for summary in browser.find_elements(By.CSS_SELECTOR, "details.alert-list > summary"):
        summary.click()

    overdue = texts(browser, "#overdue-meetings tbody th")
    assert overdue == ["Olla Común Las Flores"]
    assert texts(browser, "#board-terms tbody th") == ["Club de Madres Nueva Esperanza"]
    # funding's grant to El Sol, dated after its dissolution, with its money
    assert texts(browser, "#after-dissolution tbody th") == ["Asociación Vecinal El Sol"]
    dissolved_on, granted_on = (today_in_lima() + timedelta(days=d) for d in (-250, -200))
    assert texts(browser, "#after-dissolution tbody td") == ["Ate", dissolved_on.isoformat(), "Subvención otorgada", granted_on.isoformat(), "S/ 2,500.00"]
    assert texts(browser, "#focal-points tbody th") == [
        "Municipalidad Distrital de Comas",
        "Municipalidad Distrital de San Juan de Lurigancho",
    ]


def test_the_alerts_show_their_counts_and_each_list_opens_on_a_click(browser: WebDriver, signed_in: str, tmp_path: Path) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")
    counts = {li.get_attribute("data-alert"): li.find_element(By.CLASS_NAME, "count").text for li in browser.find_elements(By.CSS_SELECTOR, "#alerts-summary li")}
    assert counts == {"overdue": "1", "boards-ended": "0", "boards-expiring": "1", "after-dissolution": "1", "after-merge": "0", "focal-points": "2"}
    assert not browser.find_element(By.ID, "focal-points").is_displayed()  # collapsed: the page stays short
    assert not browser.find_element(By.ID, "after-dissolution").is_displayed()
    merged = browser.find_element(By.ID, "after-merge-list")
    assert not merged.find_element(By.CSS_SELECTOR, "p.note").is_displayed()
    merged.find_element(By.TAG_NAME, "summary").click()
    assert merged.find_element(By.CSS_SELECTOR, "p.note").text.startswith("El programa rechaza nuevos registros en un registro duplicado")
    assert merged.find_element(By.CSS_SELECTOR, "p.none").is_displayed()
    screenshot(browser, tmp_path / "dashboard-es.png")

    browser.find_element(By.CSS_SELECTOR, "#focal-points-list > summary").click()
    assert browser.find_element(By.ID, "focal-points").is_displayed()
    assert not browser.find_element(By.ID, "overdue-meetings").is_displayed()


def test_the_cut_field_shows_and_takes_the_spanish_date_format(browser: WebDriver, signed_in: str, tmp_path: Path) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")
    field = browser.find_element(By.NAME, "as_of")
    assert field.get_attribute("type") == "text" and field.get_attribute("placeholder") == "dd/mm/aaaa hh:mm"

    field.send_keys("01/03/2022 12:00")
    field.submit()
    WebDriverWait(browser, 10).until(lambda b: "as_of=" in b.current_url and whole_dashboard(b))

    assert browser.find_element(By.NAME, "as_of").get_attribute("value") == "01/03/2022 12:00"
    assert browser.find_element(By.ID, "as-of").text == "Cifras registradas hasta el 2022-03-01 12:00 inclusive (Lima)."  # the minute typed, all of it
    assert "Alertas al 2022-03-01." in browser.find_element(By.ID, "alerts").text
    browser.find_element(By.NAME, "as_of").screenshot(str(tmp_path / "cut-field-es.png"))


def test_a_cut_typed_as_a_day_that_does_not_exist_shows_a_page_saying_so_with_a_way_back(browser: WebDriver, signed_in: str) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard")
    field = browser.find_element(By.NAME, "as_of")
    field.send_keys("31/02/2022 12:00")  # the field's pattern lets it through: the server judges the day
    field.submit()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "refused"))

    refused = browser.find_element(By.ID, "refused")
    assert browser.title == "El tablero no puede mostrarse con esta consulta"
    assert refused.find_element(By.CSS_SELECTOR, "li[data-field='as_of']").text.startswith("Cortar en lo registrado hasta (fecha y hora): ")
    assert "31/12/2021 18:00" in browser.find_element(By.ID, "cut-hint").text
    browser.find_element(By.ID, "back-to-dashboard").click()
    WebDriverWait(browser, 10).until(whole_dashboard)
    assert browser.find_element(By.NAME, "as_of").get_attribute("value") == ""


def test_the_dashboards_pages_ask_for_no_favicon_and_break_none_of_their_policies(reporting: Site, tmp_path: Path) -> None:
    """tester 178 F9: every dashboard page had Chromium log SEVERE ``GET /favicon.ico 404`` from reporting. Each page names
    its icon (an empty one, asked of no server), which its content security policy lets in: no 404 and no violation.

    A browser of its own: chromium asks an origin for ``/favicon.ico`` once a session, which the module's browser did."""
    with chromium(tmp_path / "profile") as browser:
        pages = ["/dashboard/sign-out?lang=en", "/dashboard/signed-out"]  # the first pages of reporting this browser opens
        for path in [*pages, "sign in", "/dashboard?lang=en", "/dashboard?as_of=31%2F02%2F2022"]:
            if path == "sign in":
                sign_in(browser, reporting, "staff")  # to the dashboard itself
            else:
                browser.get(f"{reporting.url}{path}")
                WebDriverWait(browser, 15).until(lambda b: b.execute_script("return document.readyState") == "complete")
            time.sleep(0.5)  # the icon is asked for after the page's load
            assert browser.execute_script("return document.querySelector('link[rel=icon]')?.getAttribute('href')") == "data:,", path
        logged = [entry["message"] for entry in browser.get_log("browser")]
        assert not [m for m in logged if m.startswith(f"{reporting.url}/favicon.ico") or "Content Security Policy" in m], logged


def test_the_english_page_names_the_phases_in_english_and_chart_labels_show_whole(
    browser: WebDriver, signed_in: str, tmp_path: Path
) -> None:
    open_dashboard(browser, f"{signed_in}/dashboard?lang=en")

    assert texts(browser, "#phase-table thead th[data-phase]")[0].startswith("F1 · Phase 1")
    assert "Fase" not in browser.find_element(By.TAG_NAME, "main").text
    for chart in browser.find_elements(By.CSS_SELECTOR, "svg.chart"):
        box = chart.rect
        for label in chart.find_elements(By.CSS_SELECTOR, "text"):
            inside = label.rect
            assert box["x"] - 1 <= inside["x"] and inside["x"] + inside["width"] <= box["x"] + box["width"] + 1, label.text
    people = [bar.find_element(By.TAG_NAME, "title").get_attribute("textContent") for bar in browser.find_elements(By.CSS_SELECTOR, "#chart-by-zone-people rect")]
    osvs = [bar.find_element(By.TAG_NAME, "title").get_attribute("textContent") for bar in browser.find_elements(By.CSS_SELECTOR, "#chart-by-zone rect")]
    assert people and all("Direct beneficiaries" in title for title in people)  # people on a scale of their own
    assert osvs and not any("beneficiaries" in title for title in osvs)
    screenshot(browser, tmp_path / "dashboard-en.png")


def screenshot(browser: WebDriver, path: Path) -> None:
    """The whole page as a PNG: the window stretched to the page's height for the shot."""
    width = browser.get_window_size()["width"]
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, height + 200)
    try:
        assert browser.save_screenshot(str(path))
    finally:
        browser.set_window_size(width, 1000)


def test_a_focal_point_signs_in_through_the_provider_and_sees_only_its_municipalitys_figures(browser: WebDriver, reporting: Site) -> None:
    sign_in(browser, reporting, "staff")
    programme = row(browser, "phase-table", "osvs_identified")
    assert browser.find_element(By.ID, "signed-in").text.startswith("Sesión de staff")
    browser.find_element(By.CSS_SELECTOR, "#after-dissolution-list > summary").click()
    assert texts(browser, "#after-dissolution tbody th") == ["Asociación Vecinal El Sol"]  # the programme's: Ate's too

    sign_out(browser)
    sign_in(browser, reporting, "municipal-150132")
    municipality = row(browser, "phase-table", "osvs_identified")
    for summary in browser.find_elements(By.CSS_SELECTOR, "details.alert-list > summary"):
        summary.click()

    # The programme: 3 OSVs identified in phase 1, 1 in phase 2; San Juan de Lurigancho: its one OSV, in phase 1.
    assert programme == ["OSV identificadas", "3", "1", "4"]
    assert municipality == ["OSV identificadas", "1", "0", "1"]
    assert browser.find_element(By.ID, "signed-in").text.startswith("Sesión de municipal-150132")
    assert texts(browser, "#focal-points tbody th") == ["Municipalidad Distrital de San Juan de Lurigancho"]
    assert texts(browser, "#overdue-meetings tbody th") == []  # Comas's overdue OSV is not its to see
    assert texts(browser, "#after-dissolution tbody th") == []  # nor Ate's grant after El Sol's dissolution

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


def test_signing_out_ends_the_providers_session_too_so_the_next_person_on_the_computer_signs_in_as_themselves(
    browser: WebDriver, reporting: Site
) -> None:
    """A focal point signs out on a municipal office's shared computer; the next official opens the dashboard."""
    sign_in(browser, reporting, "municipal-150132")

    sign_out(browser)
    assert browser.current_url == f"{reporting.url}/dashboard/signed-out"  # sent back by the provider, its session ended
    assert not browser.find_elements(By.ID, "provider-session-open")
    browser.get(f"{reporting.url}/dashboard")
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(reporting.provider.issuer) and b.find_elements(By.NAME, "login"))
    assert not browser.find_elements(By.ID, "signed-in")  # the provider asks who it is, instead of signing the last one back in

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


def test_the_providers_own_sign_in_ends_within_the_hour_the_dashboards_session_lasts(
    browser: WebDriver, reporting: Site
) -> None:
    """A focal point leaves a municipal office's shared computer without signing out. The dashboard's session ends with
    its token's hour; the provider's, its ``canaille`` cookie, lasted 30 days (Canaille's default) and signed the next
    person straight back in as the focal point for a month (tester 286 F6). It ends an hour after the sign-in too."""
    sign_in(browser, reporting, "municipal-150132")
    signed_in_at = time.time()

    # Cookies are not kept apart by port: the provider's, on the same host, are the page's too.
    cookies = {c["name"]: c for c in browser.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]}
    dashboard, provider = cookies["osv_dashboard_session"], cookies["canaille"]
    assert dashboard["expires"] <= signed_in_at + 3600
    assert provider["expires"] <= signed_in_at + 3600  # was 30 days on

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


def test_signing_out_of_the_english_dashboard_lands_on_an_english_page_that_signs_in_to_the_english_dashboard(
    browser: WebDriver, reporting: Site
) -> None:
    """The page the provider sends the browser back to follows the language the dashboard was read in."""
    sign_in(browser, reporting, "staff")
    open_dashboard(browser, f"{reporting.url}/dashboard?lang=en")

    sign_out(browser)

    assert browser.current_url == f"{reporting.url}/dashboard/signed-out?state=en"  # the provider handed the language back
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "signed-out").text == "Signed out. Sign in again"
    assert not browser.find_elements(By.ID, "provider-session-open")  # the provider's session ended too
    assert browser.find_element(By.LINK_TEXT, "Sign in again").get_attribute("href") == f"{reporting.url}/dashboard?lang=en"

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


@dataclass
class AnotherSite:
    """A page that is not the dashboard's, at ``url``: a link, an image and a form aimed at the dashboard's sign-out."""

    url: str


@pytest.fixture(scope="module")
def another_site(reporting: Site) -> Iterator[AnotherSite]:
    """Another web server on the machine, whose one page aims at the dashboard's sign-out as any site could."""
    sign_out_url = f"{reporting.url}/dashboard/sign-out"
    page = (
        f'<!DOCTYPE html><html><meta charset="utf-8"><title>Noticias</title><img src="{sign_out_url}" alt="">'
        f'<p><a id="link" href="{sign_out_url}">Ver noticias</a></p>'
        f'<form method="post" action="{sign_out_url}"><button id="post" type="submit">Ver más</button></form></html>'
    ).encode()

    class OnePage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the handler's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OnePage)
    thread = threading.Thread(target=server.serve_forever, name="another-site", daemon=True)
    thread.start()
    try:
        yield AnotherSite(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.mark.parametrize("elsewhere", ["another site", "another port of the same host"])
def test_a_page_elsewhere_cannot_sign_the_officer_out_by_a_link_an_image_or_a_form(
    browser: WebDriver, reporting: Site, another_site: AnotherSite, elsewhere: str
) -> None:
    """While the sign-out was a GET, any page could close a programme officer's session (and the provider's) with a
    link or an image. ``localhost`` is another site than the dashboard's ``127.0.0.1``; another port of the same host
    (another service, the provider) is the same site, to which the SameSite=Lax session cookie goes even with a POST."""
    sign_in(browser, reporting, "staff")
    page = on_localhost(another_site.url) if elsewhere == "another site" else another_site.url

    def still_signed_in(after: str) -> None:
        open_dashboard(browser, f"{reporting.url}/dashboard")  # no sign-in page: the same person, signed in
        assert browser.find_element(By.ID, "signed-in").text.startswith("Sesión de staff"), after

    browser.get(page)  # its image asks for the sign-out's address
    still_signed_in("the image")

    browser.get(page)
    browser.find_element(By.ID, "link").click()  # the address, followed as a link: a page with the button, no sign-out
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(reporting.url) and b.execute_script("return document.readyState") == "complete")
    assert browser.current_url == f"{reporting.url}/dashboard/sign-out" and browser.find_elements(By.ID, "sign-out-asked")
    still_signed_in("the link")

    browser.get(page)
    browser.find_element(By.ID, "post").click()  # its form, posted: refused, naming the rule and the header
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{reporting.url}/dashboard/sign-out" and "same_origin" in b.page_source)
    assert '"field":"Sec-Fetch-Site"' in browser.page_source
    still_signed_in("the form")


def test_the_sign_out_address_opened_from_an_old_bookmark_signs_out_with_its_button_in_its_language(
    browser: WebDriver, reporting: Site
) -> None:
    """Someone who kept the sign-out link's address opens it: the page asks, in the dashboard's language, and its button
    signs out of the dashboard and of the provider, back on the signed-out page in that language."""
    sign_in(browser, reporting, "municipal-150132")

    browser.get(f"{reporting.url}/dashboard/sign-out?lang=en")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "sign-out-asked").text == "Sign out of the dashboard in this browser?"
    assert {c["name"] for c in browser.get_cookies()} >= {"osv_dashboard_session", "osv_dashboard_id_token"}  # nothing forgotten yet
    sign_out(browser)

    assert browser.current_url == f"{reporting.url}/dashboard/signed-out?state=en"  # through the provider, which handed it back
    assert browser.find_element(By.ID, "signed-out").text == "Signed out. Sign in again"
    assert not browser.find_elements(By.ID, "provider-session-open")
    assert not [c["name"] for c in browser.get_cookies() if c["name"].startswith("osv_dashboard")]  # the provider's are on the host too
    browser.get(f"{reporting.url}/dashboard")
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(reporting.provider.issuer) and b.find_elements(By.NAME, "login"))

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


@pytest.mark.parametrize("typed", ["as make run prints it", "on localhost"])
def test_swagger_uis_authorize_button_signs_in_at_the_provider_and_the_token_it_gets_opens_the_api(
    browser: WebDriver, reporting: Site, typed: str
) -> None:
    url = on_localhost(reporting.url) if typed == "on localhost" else reporting.url
    forget_every_cookie(browser)
    browser.get(f"{url}/docs")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, "button.authorize"))
    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container"))
    # The OAuth2 scheme's section (authorization code with PKCE, client osv-docs-reporting from initOAuth).
    section = next(c for c in browser.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container") if "authorizationCode" in c.text)
    assert "osv-docs-reporting" in [field.get_attribute("value") for field in section.find_elements(By.TAG_NAME, "input")]
    home = browser.current_window_handle
    section.find_element(By.CSS_SELECTOR, "button.authorize").click()
    WebDriverWait(browser, 10).until(lambda b: len(b.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != home))
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.NAME, "login"))
    browser.find_element(By.NAME, "login").send_keys("auditor")
    browser.find_element(By.NAME, "login").submit()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.NAME, "password"))
    browser.find_element(By.NAME, "password").send_keys(reporting.provider.passwords()["auditor"])
    browser.find_element(By.NAME, "password").submit()
    # The provider sends the popup to /docs/oauth2-redirect, which hands the code to Swagger UI and closes.
    WebDriverWait(browser, 20).until(lambda b: len(b.window_handles) == 1)
    browser.switch_to.window(home)
    token = WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return (ui.authSelectors.authorized().toJS().oidc || {}).token?.access_token || null")
    )
    assert browser.current_url.startswith(f"{url}/docs")
    answer = httpx.get(f"{reporting.url}/indicators", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200
    assert httpx.get(f"{reporting.url}/indicators", timeout=10).status_code == 401

    sign_in(browser, reporting, "staff")  # as the module's other tests expect


def test_a_person_who_opens_the_dashboard_on_localhost_signs_in_and_stays_on_localhost(browser: WebDriver, reporting: Site) -> None:
    """``make run`` prints 127.0.0.1 and gives the provider those URLs; the README says "on localhost": both names work."""
    url = on_localhost(reporting.url)
    sign_in(browser, reporting, "municipal-150132", url)

    assert browser.current_url == f"{url}/dashboard"  # back on the host the browser used, with the session set there
    assert browser.find_element(By.ID, "signed-in").text.startswith("Sesión de municipal-150132")
    assert row(browser, "phase-table", "osvs_identified") == ["OSV identificadas", "1", "0", "1"]
    assert {cookie["name"]: (cookie["domain"], cookie["path"]) for cookie in browser.get_cookies()} == {
        # the dashboard's pages alone: at "/" the access token went to every service on the host (ports share cookies)
        "osv_dashboard_session": ("localhost", "/dashboard"), "osv_dashboard_id_token": ("localhost", "/dashboard")
    }
    open_dashboard(browser, f"{url}/dashboard?lang=en")  # the session holds for the page's own links
    assert browser.find_element(By.ID, "language-switch").text == "Español"

    sign_out(browser)  # the English page's button
    assert browser.current_url == f"{url}/dashboard/signed-out?state=en"  # back from the provider on the host the browser used
    assert browser.get_cookies() == []  # the session closed on localhost, where it was opened

    sign_in(browser, reporting, "staff")  # as the module's other tests expect
