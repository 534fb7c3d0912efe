"""The fault suite's clients: a refusal that says when to ask again is sent again after it, not counted refused.

Right after registry maps an OSV, funding and engagement answer a command
about it 422 ``osv_mapped_in_registry`` with ``Retry-After: 1`` until its
event arrives. The load's clients send it again after that delay, with the
same ``Idempotency-Key``, a bounded number of times, as ``osv-import`` does.
The services are stood in for by ``httpx.MockTransport``: no socket is opened.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from faults.load import LAG_RETRIES, MAX_RETRY_AFTER_SECONDS, Command, Load, grant_command, lag_wait

OSV_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
NOT_HEARD_OF = {
    "status": 422,
    "detail": f"OSV {OSV_ID} is not known to funding: check the id; an OSV mapped a moment ago is known within seconds",
    "errors": [{"field": "osv_id", "rule": "osv_mapped_in_registry", "message": "…"}],
}


def lag_refusal(retry_after: str | None = "1") -> httpx.Response:
    headers = {"content-type": "application/problem+json", **({"Retry-After": retry_after} if retry_after is not None else {})}
    return httpx.Response(422, json=NOT_HEARD_OF, headers=headers)


def granted() -> httpx.Response:
    return httpx.Response(201, json={"id": "grant-1", "osv_id": OSV_ID})


def sent(answers: Iterator[httpx.Response]) -> tuple[Command, list[str], list[float]]:
    """One grant command through a load whose funding answers ``answers`` in turn: the command, the keys sent, the waits."""
    keys: list[str] = []
    waits: list[float] = []

    def funding(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return next(answers)

    command = grant_command(OSV_ID)
    load = Load([command], urls=lambda service, client: f"http://{service}.test", clients=1, sleep=waits.append)
    with httpx.Client(transport=httpx.MockTransport(funding)) as http:
        load._send(http, 0, command)
    return command, keys, waits


def test_a_command_refused_for_the_lag_is_sent_again_after_retry_after_and_acknowledged() -> None:
    command, keys, waits = sent(iter([lag_refusal(), granted()]))

    assert (command.status, command.answer, command.attempts) == ("acknowledged", "grant-1", 2)
    assert waits == [1.0]
    assert keys == [command.key] * 2


def test_a_lag_refusal_that_does_not_clear_up_is_refused_after_bounded_waits() -> None:
    command, keys, waits = sent(lag_refusal() for _ in range(10))  # a mistyped id: the same answer for ever

    assert command.status == "refused" and command.answer.startswith("422 ")
    assert len(keys) == 1 + LAG_RETRIES
    assert waits == [1.0] * LAG_RETRIES


@pytest.mark.parametrize(
    ("answer", "waited", "wait"),
    [
        (lag_refusal("1"), 0, 1.0),
        (httpx.Response(404, headers={"Retry-After": "1"}), 0, 1.0),  # a read about an OSV not heard of yet
        (lag_refusal("60"), 0, MAX_RETRY_AFTER_SECONDS),
        (lag_refusal("1"), LAG_RETRIES, None),  # its waits spent
        (lag_refusal(None), 0, None),  # a refusal no wait clears up
        (lag_refusal("Wed, 21 Oct 2015 07:28:00 GMT"), 0, None),
        (httpx.Response(503, headers={"Retry-After": "5"}), 0, None),  # retried as a 5xx, with no bound but retry_for
        (httpx.Response(201), 0, None),
    ],
)
def test_only_a_4xx_with_retry_after_in_seconds_is_waited_on(answer: httpx.Response, waited: int, wait: float | None) -> None:
    assert lag_wait(answer, waited) == wait
