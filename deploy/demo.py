"""``make demo``: load the programme's 2021 story (:mod:`deploy.story2021`) through the public APIs, while ``make run`` runs.

Every API wants a token: ``make demo`` asks the identity provider ``make run``
started for one as ``lead`` (every programme command, phases and round
decisions) and one each as ``evaluator`` and ``evaluator-2``, two people, to
whom the lead assigns each round's two evaluator codes (one code per person
per round), and who score.

``make demo`` finds the system where ``make run`` put it, from the same
environment variables: ``OSV_HOST``, ``REGISTRY_PORT``, ``FUNDING_PORT``,
``ENGAGEMENT_PORT``, ``REPORTING_PORT`` (:func:`deploy.run_local.service_urls`),
and the identity provider at ``OSV_HOST``/``OSV_IDP_PORT`` with its state under
``OSV_VAR_DIR``. ``OSV_DEMO_REGISTRY_URL`` (and ``_FUNDING_``, ``_ENGAGEMENT_``,
``_REPORTING_``) name a service's base URL outright. It only reads the
provider's state (the demo accounts' passwords): it never writes one. When
something does not answer, refuses the demo's tokens or a step of the story, or
a variable is not a port or a URL, it ends with one line naming the service,
the URL and the variable that sets it, and exit code 1.

Every write of the story carries an ``Idempotency-Key`` of its step
(:class:`~deploy.story2021.Story`), and the story is deterministic (a seeded rng, fixed dates):
``make demo`` again after a load that stopped part-way gets the steps carried
out answered as they were (the same ids) and carries out the rest. The story
is loaded once its last step's key is taken (:func:`is_loaded`). A stopped
load whose answers are past the services' idempotency retention (24 hours by
default) cannot be finished (its later steps need the ids those answers held):
the demo says so, and how to start over. When reporting does not answer at
the end, the story is loaded, but the demo says so (its URL and variable) and
exits 1: the dashboard it is for is not there.
"""
from __future__ import annotations

import _signal  # signal's built-in core: no search of the import path before the handler below is in place
import os
import sys


def stop_quietly_on_interrupt(message: str) -> None:
    """From now on, Ctrl-C (SIGINT) writes ``message`` on stderr and exits 130 at once: no traceback, nothing to clean up."""

    def stop(_signal: int, _frame: object) -> None:
        os.write(sys.stderr.fileno(), f"{message}\n".encode())
        os._exit(130)

    _signal.signal(_signal.SIGINT, stop)


if __name__ == "__main__":
    # First, before the imports below (half a second of them): a Ctrl-C there would print a traceback of whichever
    # import it fell in. :func:`main` takes Ctrl-C back as KeyboardInterrupt, to say how far the story got. (Imported
    # as a module, by the tests, this file leaves the importer's Ctrl-C alone.)
    stop_quietly_on_interrupt("Stopped before the demo wrote anything.")

import signal  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from pydantic import Field, ValidationError  # noqa: E402
from pydantic_settings import BaseSettings, SettingsConfigDict  # noqa: E402

# `make demo` runs this file as a script: the repository's root is not on the path then.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.run_local import HOST_VARIABLE, SERVICES, LocalSettings, port_variable, service_urls  # noqa: E402
from deploy.story2021 import (  # noqa: E402 - and given again here, for the tests and callers that load the story
    DIRECT_BENEFICIARIES,
    IDEMPOTENCY_KEY,
    INDIRECT_BENEFICIARIES,
    LAST_STEP,
    Apis,
    DemoError,
    Refused,
    Story,
    load,
    problem,
    rule_of,
)
from devtools.identity import IdentitySettings  # noqa: E402

__all__ = ["DIRECT_BENEFICIARIES", "INDIRECT_BENEFICIARIES", "Apis", "DemoError", "DemoSettings", "load", "main", "run"]


def _where_make_run_serves(name: str) -> Callable[[], str]:
    return lambda: service_urls()[name]


class DemoSettings(BaseSettings):
    """Each service's base URL (``OSV_DEMO_<SERVICE>_URL``); unset, where ``make run`` serves it (``OSV_HOST``, ``<SERVICE>_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="OSV_DEMO_", extra="ignore")

    registry_url: str = Field(default_factory=_where_make_run_serves("registry"))
    funding_url: str = Field(default_factory=_where_make_run_serves("funding"))
    engagement_url: str = Field(default_factory=_where_make_run_serves("engagement"))
    reporting_url: str = Field(default_factory=_where_make_run_serves("reporting"))

    def url(self, name: str) -> str:
        """``registry`` -> its base URL."""
        return str(getattr(self, f"{name}_url"))

    def set_by(self, name: str) -> str:
        """The variables that set ``name``'s URL, for an error message: ``OSV_DEMO_REGISTRY_URL`` when given, else the host and port."""
        given = f"{self.model_config.get('env_prefix', '')}{name.upper()}_URL"
        if f"{name}_url" in self.model_fields_set:
            return given
        return f"{HOST_VARIABLE} and {port_variable(name)}, as for `make run`; or {given}"


NOTHING_WRITTEN = "Stopped before the demo wrote anything."
PART_WRITTEN = "Stopped: the demo is loaded only in part; `make demo` again carries on where it stopped."
ALL_WRITTEN = "Stopped once the story was loaded, while asking whether reporting answers."


class Interrupted(Exception):
    """Ctrl-C during :func:`run`; its message says how far the story got (:data:`NOTHING_WRITTEN`, :data:`PART_WRITTEN`, ...)."""


def tokens(settings: IdentitySettings | None = None) -> tuple[str, str, str]:
    """Access tokens for ``lead``, ``evaluator`` and ``evaluator-2`` from the identity provider ``make run`` started.

    Only reads the provider's state under ``OSV_VAR_DIR`` (the demo accounts' passwords): none there is an error,
    and nothing is written. Raises :class:`DemoError` (one line) when the provider's address is not a URL, when it
    does not answer, when its state is not there, or when it refuses the sign-in.
    """
    from devtools.identity import IdentityProvider, IdentityProviderError, SignInError

    settings = settings or IdentitySettings()
    provider = IdentityProvider.from_settings(settings, read_only=True)
    prefix = IdentitySettings.model_config.get("env_prefix", "")
    where = f"({prefix}HOST and {prefix}IDP_PORT, as for `make run`)"
    if (wrong := not_a_url(provider.issuer)) is not None:
        raise DemoError(f"the identity provider's address {provider.issuer!r} is not a URL ({wrong}; set by {prefix}HOST and {prefix}IDP_PORT)")
    if not provider.is_answering():
        raise DemoError(f"no identity provider answers at {provider.issuer} {where}: start the system with `make run` first")
    try:
        return provider.token("lead"), provider.token("evaluator"), provider.token("evaluator-2")
    except IdentityProviderError:
        raise DemoError(
            f"no identity provider state at {settings.state_dir / 'state.json'}, where `make run` keeps the demo accounts: "
            f"is {prefix}VAR_DIR ({settings.var_dir}) the one `make run` uses?"
        ) from None
    except (SignInError, httpx.HTTPError) as error:
        raise DemoError(
            f"the identity provider at {provider.issuer} {where} did not sign in the demo accounts ({error}): "
            f"is {prefix}VAR_DIR ({settings.var_dir}) the one `make run` uses?"
        ) from None


SERVICES_LOADED = ("registry", "funding", "engagement")
"""The services the demo writes to: each must answer before it starts."""

SIGNED_IN_CHECK = {"funding": "/phases", "registry": "/osvs", "engagement": "/follow-up/overdue"}
"""A read of each write service the demo's lead may make: its answer says whether the service takes the demo's token."""


def not_a_url(url: str) -> str | None:
    """Why ``url`` is not an ``http(s)://host[:port]`` base URL, or None when it is one."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        return str(error)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "want http://host:port"
    return None


def check_urls(settings: DemoSettings) -> None:
    """Raises :class:`DemoError` naming the variable when a service's URL is not one (``OSV_HOST=host:port``, a cut URL)."""
    for name in (*SERVICES_LOADED, "reporting"):
        url = settings.url(name)
        if (wrong := not_a_url(url)) is not None:
            raise DemoError(f"{name}'s URL {url!r} is not a URL ({wrong}; set by {settings.set_by(name)})")


def answers(name: str, settings: DemoSettings) -> None:
    """Raises :class:`DemoError` naming the URL and its variables when nothing answers ``GET <url>/health``."""
    url = settings.url(name)
    try:
        httpx.get(f"{url}/health", timeout=10)
    except httpx.HTTPError as error:
        raise DemoError(f"{name} does not answer at {url} ({type(error).__name__}; set by {settings.set_by(name)}): is `make run` running there?") from None


def takes_the_token(name: str, client: httpx.Client, settings: DemoSettings) -> None:
    """Raises :class:`DemoError` naming the URL and its variables when ``name`` refuses the lead's token (before any write)."""
    path = SIGNED_IN_CHECK[name]
    response = client.get(path)
    if response.status_code != 200:
        raise DemoError(
            f"{name} at {settings.url(name)} answered {response.status_code} to GET {path} ({problem(response)}; "
            f"URL set by {settings.set_by(name)}): is it the `make run` whose identity provider signed the demo's tokens?"
        )


def is_loaded(registry: httpx.Client, seed: int = 2021) -> bool:
    """Whether the story's last step was carried out: its Idempotency-Key is taken in registry.

    Asks without writing: a POST to a path no route serves, under the last step's key. A key taken answers
    ``422 idempotency_key_reused`` (another request) whatever its answer's retention; a key never used goes to the
    routes, which answer 404 and record nothing.
    """
    response = registry.post("/demo-story-check", json={}, headers={IDEMPOTENCY_KEY: Story(seed).key(LAST_STEP)})
    return rule_of(response) in ("idempotency_key_reused", "idempotent_request_completed")


STORY_PHASES = ("F1", "F2")
"""The codes of the phases the story records first (its steps 1 and 2)."""


def the_story_is_there(funding: httpx.Client, settings: DemoSettings) -> None:
    """Raises :class:`DemoError` when funding holds none of the story's phases though its last step's key is taken.

    The keys are the story's, known to anyone: a request of someone else's under the last one (by hand, or a client
    reusing the scheme) must not make an empty system "already loaded".
    """
    response = funding.get("/phases")
    codes = {phase.get("code") for phase in response.json()} if response.status_code == 200 else set()
    if not codes & set(STORY_PHASES):
        raise DemoError(
            f"registry at {settings.registry_url} holds the demo's last Idempotency-Key, but funding at {settings.funding_url} "
            f"holds none of the story's phases ({', '.join(STORY_PHASES)}): something other than the demo used its keys; "
            f"{START_OVER}"
        )


START_OVER = (
    "to start over, stop `make run`, remove its OSV_VAR_DIR (`make clean` removes var/), then `make run` and `make demo`"
)


def refusal(error: Refused, settings: DemoSettings) -> DemoError:
    """The one line for a step a service refused: the service, its URL, the variable, and what to do."""
    if error.service not in SERVICES_LOADED:
        return DemoError(str(error))
    where = f"{error.service} at {settings.url(error.service)} (set by {settings.set_by(error.service)})"
    if error.rule == "idempotent_request_completed":
        return DemoError(
            f"the demo is loaded only in part, and cannot be finished: {where} carried out step {error.step} of the story "
            f"({error.method.upper()} {error.path}) in an earlier run, but no longer keeps its answer (kept for "
            f"{error.service.upper()}_IDEMPOTENCY_RETENTION_HOURS, 24 by default), which the steps after it need; {START_OVER}"
        )
    if error.step == "1":
        return DemoError(
            f"{where} refused the story's first step, {error.method.upper()} {error.path}: {error.status} {error.problem}. "
            f"Nothing of the story was recorded by this run; if the system holds records the demo did not make (an older "
            f"demo's, or entered by hand), the demo cannot tell its story into it: {START_OVER}"
        )
    return DemoError(
        f"{where} refused step {error.step} of the story, {error.method.upper()} {error.path}: {error.status} {error.problem}. "
        f"The demo is loaded only in part: once that is put right, `make demo` again carries on where it stopped (or, {START_OVER})"
    )


def reporting_answers(settings: DemoSettings) -> str | None:
    """None when reporting answers ``GET <url>/health`` (200, or 503 degraded) as ``"service": "reporting"``; else the
    line saying it does not, with its URL and the variables that set it."""
    url = settings.reporting_url
    try:
        response = httpx.get(f"{url}/health", timeout=10)
    except httpx.HTTPError as error:
        reason = type(error).__name__
    else:
        try:
            service = response.json().get("service") if response.status_code in (200, 503) else None
        except (ValueError, AttributeError):
            service = None
        if service == "reporting":
            return None
        reason = f"{response.status_code} to GET /health" if service is None else f"{service} answers there, not reporting"
    return (
        f"reporting does not answer at {url} ({reason}; set by {settings.set_by('reporting')}): the story is loaded "
        f"into registry, funding and engagement, but no dashboard is served at {url}/dashboard; check that variable "
        f"against `make run`'s, or why reporting is down, then `make demo` again checks it"
    )


def run(settings: DemoSettings) -> tuple[str, str | None]:
    """Load the story into the system ``settings`` point at, or finish a load that stopped part-way.

    Returns what to print, and a warning line (reporting does not answer) or None. Raises :class:`DemoError`
    (one line naming the service, its URL and the variable that sets it) when something does not answer or
    refuses, before anything is written when it can be seen then.
    """
    identity = IdentitySettings()  # its variables are checked before anything is asked
    check_urls(settings)
    for name in SERVICES_LOADED:
        answers(name, settings)
    lead, evaluator, second_evaluator = tokens(identity)
    signed_in = {"Authorization": f"Bearer {lead}"}
    clients = [httpx.Client(base_url=settings.url(name), timeout=30, headers=signed_in) for name in SERVICES_LOADED]
    scoring, second_scoring = (
        httpx.Client(base_url=settings.funding_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
        for token in (evaluator, second_evaluator)
    )
    apis = Apis(*clients, scoring=scoring, evaluator="evaluator", second_scoring=second_scoring, second_evaluator="evaluator-2")
    writing = False
    try:
        for name in SIGNED_IN_CHECK:  # funding first: the story's first writes are its phases
            takes_the_token(name, clients[SERVICES_LOADED.index(name)], settings)
        if is_loaded(clients[0]):
            the_story_is_there(apis.funding, settings)
            said = "The demo is already loaded (its last step is recorded)."
        else:
            writing = True
            loaded = load(apis)
            finished = (
                f"Finished the 2021 story, {loaded.replayed} of whose {loaded.steps} steps were recorded already "
                "(a run before this one, or beside it)"
                if loaded.replayed
                else "Loaded the 2021 story"
            )
            said = (
                f"{finished}: {len(loaded.osv_ids)} OSVs, {loaded.members} members, {loaded.grants} grants, "
                f"{loaded.meetings} meetings, {loaded.activities} activities."
            )
    except KeyboardInterrupt:
        raise Interrupted(PART_WRITTEN if writing else NOTHING_WRITTEN) from None
    except Refused as error:
        raise refusal(error, settings) from None
    except httpx.HTTPError as error:
        url = str(error.request.url) if isinstance(error, httpx.RequestError) else "?"
        name = next((name for name in SERVICES_LOADED if url.startswith(settings.url(name))), "funding")
        raise DemoError(
            f"{name} stopped answering at {url} ({type(error).__name__}; set by {settings.set_by(name)}): the demo is loaded "
            f"only in part; once it answers again, `make demo` carries on where it stopped"
        ) from None
    finally:
        for client in (*clients, scoring, second_scoring):
            client.close()
    try:
        warning = reporting_answers(settings)
    except KeyboardInterrupt:
        raise Interrupted(ALL_WRITTEN) from None
    if warning is None:
        said += f" Dashboard: {settings.reporting_url}/dashboard"
    return said, warning


def settings_error(error: ValidationError) -> str:
    """One line naming the environment variable a settings class refused, and why."""
    classes = {cls.__name__: cls for cls in (DemoSettings, LocalSettings, IdentitySettings, *(c for _, _, c in SERVICES))}
    prefix = str(classes[error.title].model_config.get("env_prefix", "")) if error.title in classes else ""
    first = error.errors()[0]
    variable = f"{prefix}{str(first['loc'][0]).upper()}" if first["loc"] else error.title
    return f"{variable}={first.get('input')!r} is refused: {first['msg']}"


def main() -> int:
    """``make demo``: exit 0 when the story is loaded (now or before) and reporting answers; 1 otherwise.

    Any failure is one line on stderr naming the service, its URL and the variable that sets it; when the story
    is loaded but reporting does not answer, stdout says it is loaded and stderr says reporting does not answer,
    exit 1 (the dashboard the demo is for is not there). Ctrl-C: one line saying how far the story got, exit 130;
    `make demo` again finishes it. So from the very start, while Python imports (:func:`stop_quietly_on_interrupt`).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt again, for run() to say how far it got
    try:
        return said_and_done()
    except KeyboardInterrupt:  # while it said how it ended: the story is as that line says
        print("Stopped.", file=sys.stderr)
        return 130


def said_and_done() -> int:
    """:func:`main` but for its handling of Ctrl-C: run the demo, print how it ended, return the exit status."""
    try:
        said, warning = run(DemoSettings())
    except ValidationError as error:
        print(settings_error(error), file=sys.stderr)
        return 1
    except DemoError as error:
        print(" ".join(str(error).split()), file=sys.stderr)  # one line, whatever a service's answer held
        return 1
    except Interrupted as stopped:
        print(stopped, file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before run() reached its first request, or while it checked the services
        print(NOTHING_WRITTEN, file=sys.stderr)
        return 130
    print(said)
    if warning is not None:
        print(" ".join(warning.split()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    status = main()
    stop_quietly_on_interrupt("Stopped.")  # between main's answer and the process's exit
    sys.exit(status)
