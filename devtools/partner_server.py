"""The running nats-server as ``osv-partner`` reaches it: the record's lock, the reload, and the sign-ins that check it.

Every command that changes ``<var>/nats/accounts.json`` holds the store's lock (:func:`changing`), first signs in at
``--url`` to see that the server there is the one whose record it changes (:func:`reached`), writes the record and has
the server reload it (:func:`reload`: SIGHUP to the pid in ``nats-server.pid``), and waits for the reload to take
effect (:func:`until_let_in`, :func:`until_refused`). A partner's stream is changed as the partner account's admin
user (:func:`as_admin`), whose password only the record holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.errors import ConnectionClosedError
from nats.js.errors import ServiceUnavailableError

from devtools.nats_accounts import Accounts, admin_user


class PartnerError(Exception):
    """A partner command that cannot be carried out; the message says why."""


class ServerNotReached(PartnerError):
    """No sign-in at ``--url`` within :data:`REACH_SECONDS`: refused, unreachable or timed out. ``reason`` says so in a
    few words (the address, the last error), without what to do next."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


LOCK_FILE = "osv-partner.lock"
"""In the store: held by the command changing ``accounts.json``; a second command at the same time is refused."""

REACH_SECONDS = 5.0
"""How long signing in may take, tried again while refused, before the server counts as not reached at ``--url``."""

CONFIRM_SECONDS = 15.0
"""How long a command waits for the reload (a signal) to take effect before it says so and stops."""

OPEN_CHECKS = 3
"""How many sign-ins with a wrong password, :data:`OPEN_GAP_SECONDS` apart, a server must take before it counts as
letting anyone in. A reload under way takes one now and then (the sign-in is closed when the reload ends, ~20 ms after
the signal: seen once in ~40 reloads on nats-server 2.15.1): the command after a reload read that as "lets anyone in"."""

OPEN_GAP_SECONDS = 0.2


def running_pid(store_dir: Path) -> int:
    """The pid of the nats-server running on ``store_dir`` (its ``nats-server.pid``); :class:`PartnerError` when none runs."""
    path = store_dir / "nats-server.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        raise PartnerError(f"no nats-server runs on {store_dir} (start it with `make run`)") from None
    return pid


@contextlib.contextmanager
def changing(store_dir: Path) -> Iterator[None]:
    """Hold the store's lock while ``accounts.json`` is read, changed and reloaded: two commands at once would each
    write their own copy and one's change (a printed password) would be lost. A second command is refused at once."""
    if not store_dir.is_dir():
        raise PartnerError(f"no nats-server runs on {store_dir} (start it with `make run`)")
    with open(store_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PartnerError(
                f"another osv-partner command is changing the partners of {store_dir} now: nothing was changed; run this again once it is done"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def connect(url: str, user: str, password: str) -> Any:
    """One sign-in, given up after :data:`REACH_SECONDS` (nats-py's own ``connect_timeout`` does not bound a refused
    connection: it retries for ever)."""
    return await asyncio.wait_for(
        nats.connect(url, user=user, password=password, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=_expected),
        timeout=REACH_SECONDS,
    )


def reload(store_dir: Path, accounts: Accounts) -> None:
    """Write ``accounts`` (the record and ``accounts.conf``) and signal the server to reload them; returns at once."""
    accounts.write(store_dir)
    os.kill(running_pid(store_dir), signal.SIGHUP)


async def _expected(error: Exception) -> None:
    """nats-py's error callback for a sign-in that may be refused (the reload not done yet, or done): the caller
    judges the refusal, so nothing is logged (nats-py's own callback logs each one as an ERROR with a traceback)."""


async def as_admin(url: str, municipality: str, password: str, action: Any, attempts: int = 50) -> Any:
    """Run ``action(js)`` as the partner account's admin user, waiting for the reload to let it in. An action the
    reload closes under it, or answers ``ServiceUnavailableError`` (JetStream's reply for a few tens of ms after the
    signal: ``purge`` run beside another command's reload failed so, ~1 in 75), runs again: each may."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            nc = await connect(url, admin_user(municipality), password)
        except Exception as error:  # noqa: BLE001 - the reload may not have happened yet
            last = error
            await asyncio.sleep(0.1)
            continue
        try:
            return await action(nc.jetstream(timeout=5))
        except (ConnectionClosedError, ServiceUnavailableError) as error:  # a reload under way (each action may run again)
            last = error
            await asyncio.sleep(0.1)
        finally:
            await nc.close()
    raise PartnerError(
        f"could not sign in as {admin_user(municipality)}, or its JetStream did not answer, after the reload ({last}): see the server's log for a refused reload"
    )


def municipality_code(given: str) -> str:
    """``--municipality`` as the record keys it: ``" MML"`` is ``mml``, ``"150143 "`` is ``150143``."""
    return given.strip().lower()


def not_a_municipality(accounts: Accounts, municipality: str) -> PartnerError:
    """The refusal of a code the running server has no account for, saying how a district added by file gets one."""
    shipped = "" if accounts.municipalities else " (the shipped table's: the server has not been started with this record yet)"
    return PartnerError(
        f"'{municipality}' is not a municipality of Lima Metropolitana that the running nats-server has an account for{shipped}: "
        "use 'mml' or a district's ubigeo (e.g. 150132). For a district added by file, start `make run` with "
        "REGISTRY_DISTRICTS_FILE (and the other services' <SERVICE>_DISTRICTS_FILE) naming that file: nats-server makes "
        "each municipality's account at its start"
    )


def reached(url: str, user: str, password: str, so: str) -> None:
    """Before a command changes anything: the server at ``url`` is the one whose accounts ``--nats-dir`` holds. It lets
    ``user`` in with ``password`` (a secret of that record), and refuses the same user with another password: a server
    that lets anyone in (one started without accounts) took every sign-in, and ``add`` made the partner's stream there
    while the record and the reload went to the other (tester 133 F1). It counts as letting anyone in when it takes
    the wrong password :data:`OPEN_CHECKS` times in a row: a reload under way lets one through. Else
    :class:`PartnerError` saying ``so``; :class:`ServerNotReached` when no sign-in was let in within
    :data:`REACH_SECONDS` (a refused one is tried again meanwhile: a reload under way refuses one now and then)."""
    try:
        asyncio.run(_let_in_within(url, user, password, REACH_SECONDS))
    except Exception as error:  # noqa: BLE001 - refused, unreachable or timed out: all say the same
        reason = f"the nats-server was not reached at {shown(url)} ({str(error) or type(error).__name__ or f'no answer within {REACH_SECONDS:g} s'})"
        raise ServerNotReached(
            f"{reason}: {so}; give --url the server's address (make run's is nats://OSV_HOST:OSV_NATS_PORT)", reason
        ) from None
    for _ in range(OPEN_CHECKS):
        try:
            asyncio.run(signed_in(url, user, password + "-not-this-one"))
        except Exception:  # noqa: BLE001 - refused: it checks this record's passwords
            return
        time.sleep(OPEN_GAP_SECONDS)
    raise PartnerError(
        f"the nats-server at {shown(url)} lets anyone in, whatever the password: it is not the server whose accounts are in --nats-dir; "
        f"{so}; give --url that server's address (make run's is nats://OSV_HOST:OSV_NATS_PORT)"
    )


def shown(url: str) -> str:
    """``url`` as a message shows it: without a user and password it may carry (``nats://user:secret@host``, tester 135 F9)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) if parts.hostname and "@" in parts.netloc else url


async def signed_in(url: str, user: str, password: str) -> None:
    """Sign in once and out again; raises whatever refused it."""
    nc = await connect(url, user, password)
    await nc.close()


async def _let_in_within(url: str, user: str, password: str, seconds: float) -> None:
    """Sign in once and out again, tried again while refused for up to ``seconds`` in all; raises the last refusal."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            await asyncio.wait_for(signed_in(url, user, password), timeout=max(deadline - loop.time(), 0.1))
            return
        except Exception:  # noqa: BLE001 - the caller judges the last one
            if loop.time() + 0.1 >= deadline:
                raise
        await asyncio.sleep(0.1)


async def until_let_in(url: str, user: str, password: str) -> None:
    """Return once the server lets ``user`` in with ``password``: the reload (a signal) has taken effect. Waits at most
    :data:`CONFIRM_SECONDS`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONFIRM_SECONDS
    last: Exception | None = None
    while loop.time() < deadline:
        try:
            await signed_in(url, user, password)
            return
        except Exception as error:  # noqa: BLE001 - the reload may not have happened yet
            last = error
            await asyncio.sleep(0.1)
    raise PartnerError(
        f"the server did not let {user} in with the new password within {CONFIRM_SECONDS:g} s of the reload ({last}): "
        "see the server's log for a refused reload"
    )


async def until_refused(url: str, municipality: str, password: str, attempts: int = 50) -> None:
    """Return once the server refuses the partner account's admin user: the reload (a signal) has taken effect."""
    for _ in range(attempts):
        try:
            nc = await connect(url, admin_user(municipality), password)
        except Exception:  # noqa: BLE001 - refused: the account is gone
            return
        await nc.close()
        await asyncio.sleep(0.1)
    raise PartnerError(f"the server still lets {admin_user(municipality)} in after the reload: see the server's log for a refused reload")

