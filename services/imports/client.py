"""The write services over HTTP, as the import sends them a row's commands: their answers (:class:`Answer`), sent again
with the same ``Idempotency-Key`` while a retry may change them (:class:`Services`), and the token on every request."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from services.imports.domain.commands import Command
from services.imports.refusals import KEY_REUSED_RULE
from shared.idempotency.keys import header_value

REPLAYED = "idempotent-replayed"
COMPLETED_RULE = "idempotent_request_completed"
IN_PROGRESS_RULE = "idempotent_request_in_progress"
DRY_RUN_READS_RULE = "dry_run_reads"
"""Engagement's 403 to a dry run its caller may not make (the webhook's of a meeting or an activity, which name members):
an answer, not a refused token (:meth:`Services.send`)."""


class ImportStopped(RuntimeError):
    """The import cannot go on: the services refuse the token (401/403) or cannot be reached.

    ``status``: the refusal's 401 or 403, whose :attr:`advice` says what to do instead of running the same import again,
    which fails the same way (tester 296 F5); None where running it again may help (a service out of reach, a 5xx)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def advice(self) -> str | None:
        """What to do about a refused token, or None when running the import again is the thing to do."""
        if self.status == 401:
            return ("the token is expired or was never valid: get a fresh one (make token USER=staff) and give it in "
                    "IMPORTS_TOKEN or --token")
        if self.status == 403:
            return ("this token's account may not record what the import sends (an OSV's mapping, a member's "
                    "registration, a meeting, an activity): those are a staff or lead account's, as README's role table "
                    "says, and the webhook's own client's, osv-imports; import with such a token (make token USER=staff, "
                    "or USER=osv-imports)")
        return None


@dataclass
class Answer:
    status: int
    body: Any
    replayed: bool
    retry_after: float | None = None
    """A refusal's ``Retry-After`` (seconds) as the service gave it, when it said the refusal may clear up by itself
    (funding's and engagement's 422 ``osv_mapped_in_registry``, ``grant_made_in_funding``) and it did not in time."""

    @property
    def rule(self) -> str | None:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return errors[0].get("rule") if errors else None

    @property
    def carried_out_before(self) -> bool:
        """Whether the service carried the command out before under its key: replayed, past the answers' retention, or
        under another account (see the module's docstring)."""
        return (
            (200 <= self.status < 300 and self.replayed)
            or (self.status == 409 and self.rule == COMPLETED_RULE)
            or self.recorded_otherwise
        )

    @property
    def same_request(self) -> bool | None:
        """For a key used before: whether it was this very request, sent by another caller (None: the service cannot say)."""
        found = self.body.get("same_request") if isinstance(self.body, dict) and self.status == 422 and self.rule == KEY_REUSED_RULE else None
        return found if isinstance(found, bool) else None

    @property
    def told_apart_otherwise(self) -> bool:
        """Its key's request was this one but for its ``distinct_from`` (``differs_in``): carried out, by an import with
        other ``--distinct`` ids, or without the option while this one gives it (tester 242 F2)."""
        return self.same_request is False and self.body.get("differs_in") == ["distinct_from"]

    @property
    def recorded_otherwise(self) -> bool:
        """Carried out under its key by another account (``same_request``), with another ``distinct_from``
        (:attr:`told_apart_otherwise`), or a key recorded before the service could say whether it was this request:
        taken for recorded, as then."""
        return self.status == 422 and self.rule == KEY_REUSED_RULE and (self.same_request is not False or self.told_apart_otherwise)

    @property
    def key_taken(self) -> bool:
        """Its key was used for another request (an earlier version of the row, or someone else's): the row is refused."""
        return self.status == 422 and self.rule == KEY_REUSED_RULE and self.same_request is False and not self.told_apart_otherwise


MAX_RETRY_AFTER_SECONDS = 5.0
"""The longest ``Retry-After`` the import waits on a refusal; a longer one is waited for this long."""


def retry_after_of(response: httpx.Response) -> float | None:
    """A 422's ``Retry-After`` in seconds (at most :data:`MAX_RETRY_AFTER_SECONDS`), or None: another answer, no header, or a date."""
    value = response.headers.get("retry-after", "").strip()
    if response.status_code != 422 or not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER_SECONDS)


class Services:
    """The write services over HTTP, with a bearer token (or any ``httpx.Auth``) on every request.

    ``urls`` maps ``registry`` and ``engagement`` to base URLs. A request the
    service could not answer (a broken connection, a 5xx, 409 while the same
    key is being carried out) is sent again with the same key, ``attempts``
    times in all. A 422 with ``Retry-After`` (an OSV registry mapped, or a grant
    funding made, a moment ago, that engagement has not heard of yet: see
    :class:`shared.errors.NotHeardOfYetError`) is sent again with the same key
    after the delay it asks, ``lag_retries`` times at most: a mistyped id gets
    the same answer for ever, and the row is then refused with it.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        auth: httpx.Auth | str | None,
        *,
        timeout: float = 60.0,
        attempts: int = 4,
        lag_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(auth, str):
            auth = Bearer(auth)
        self.urls = dict(urls)
        self.attempts = attempts
        self.lag_retries = lag_retries
        self.sleep = sleep
        self.client = httpx.Client(auth=auth, timeout=timeout, transport=transport)

    def send(self, command: Command, *, dry_run: bool, patient: bool = True) -> Answer:
        """The service's answer to ``command`` (as a dry run, or for real), once it is one a retry would not change.

        ``patient=False``: a 422 with ``Retry-After`` is answered at once (a command naming a record
        already waited for in vain: :meth:`Importer._send`). Raises :class:`ImportStopped` when the token is refused
        or the service cannot answer; a dry run the token may not make (403 :data:`DRY_RUN_READS_RULE`) is answered.
        """
        url = self.urls[command.service].rstrip("/") + command.path
        params = {"dry_run": "true"} if dry_run else None
        last: Exception | None = None
        attempt = lagging = 0
        pause = 0.0
        while attempt < self.attempts:
            if pause:
                self.sleep(pause)
            try:
                response = self.client.post(url, json=command.body, params=params, headers={"Idempotency-Key": header_value(command.key)})
            except httpx.HTTPError as error:  # the connection, or the token request of the auth flow
                last, attempt = error, attempt + 1
                pause = min(0.5 * 2**attempt, 5.0)
                continue
            answer = Answer(response.status_code, _json(response), response.headers.get(REPLAYED) == "true", retry_after_of(response))
            if response.status_code in (401, 403) and answer.rule != DRY_RUN_READS_RULE:
                detail = answer.body.get("detail") if isinstance(answer.body, dict) else response.text
                raise ImportStopped(f"{command.service} refused the import's token ({response.status_code}): {detail}", response.status_code)
            if response.status_code >= 500 or (response.status_code == 409 and answer.rule == IN_PROGRESS_RULE):
                last, attempt = RuntimeError(f"{command.service} answered {response.status_code}"), attempt + 1
                pause = min(0.5 * 2**attempt, 5.0)
                continue
            if answer.retry_after is not None and patient and lagging < self.lag_retries:
                # Not heard of yet: the record's event reaches the service within the delay it asks.
                lagging, pause = lagging + 1, answer.retry_after
                continue
            return answer
        raise ImportStopped(f"{command.service} could not be reached at {url}: {last}")

    def close(self) -> None:
        self.client.close()


class Bearer(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:500]}
