"""``osv-partner``: add, revoke and list the municipal partners of the embedded nats-server.

    osv-partner add --municipality 150132     # prints the partner's NATS credentials, once
    osv-partner list
    osv-partner rotate --municipality 150132  # a new password (printed once); its stream stays, or is made again if NATS lost it
    osv-partner revoke --municipality 150132  # its NATS user and stream, and its machine client for GET /events
    osv-partner repair [--municipality 150132]  # makes again a partner's stream NATS lost (its password unchanged)
    osv-partner purge                         # takes out of the partners' streams the events no partner reads

A municipality is the MML (``mml``) or a district's, by ubigeo, of the districts
table the running server was started with: the shipped one, or the file
``make run`` was given as ``REGISTRY_DISTRICTS_FILE`` (a district added by law).

Each partner is a NATS user in an account of its own whose one stream,
``OSV_EVENTS``, holds its municipality's events and nothing else (see
:mod:`devtools.nats_accounts`). ``add`` and ``revoke`` change
``<var>/nats/accounts.json``, write ``accounts.conf`` again and make the
running server reload it (SIGHUP to the pid in ``nats-server.pid``): a revoked
partner's connections are closed at once. The server must be running
(``make run``): ``add`` makes the partner's stream, ``revoke`` deletes it.

``list`` reads the partners from ``accounts.json`` and counts each one's events on the server at ``--url``: it
refuses, as the other commands do, a server that lets anyone in; a server not reached (stopped, or a wrong ``--url``)
leaves the partners listed with their events "unknown" and the reason, exit 0. A count is tried again for up to
:data:`COUNT_SECONDS` (another command's reload refuses a sign-in now and then); one still not read says why.

``revoke`` also removes the partner's machine client ``partner-<ubigeo>`` (``GET /events``) from the embedded
identity provider whose state is ``--idp-dir`` (``<var>/idp`` beside ``--nats-dir``): no new token is issued to it,
and no start brings it back; a token issued before lasts until it expires (1 hour). With no such state there (a
deployment's own provider) it says to remove the client there. ``list`` shows each partner's client
(:mod:`devtools.partner_clients`).

How a command reaches the running server (the record's lock, the reload, the sign-ins that check ``--url``) is
:mod:`devtools.partner_server`; ``repair`` is :mod:`devtools.partner_streams`, which ``rotate`` calls too.

The partner's password is printed once and kept only as a bcrypt hash. The
embedded server is for one machine; past one, NATS's operator mode (``nsc``)
holds the same accounts, exports and permissions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.js.errors import NotFoundError

from devtools import partner_server as server
from devtools.nats_accounts import (
    PARTNER_STREAM,
    PROGRAMME_USER,
    Accounts,
    admin_user,
    partner_account,
    partner_stream_config,
    partner_user,
    source_filter,
)
from devtools.partner_clients import HttpAccessNotEnded, end_http_access, http_clients, idp_dir_beside, left_to_do
from devtools.partner_server import PartnerError, ServerNotReached
from devtools.partner_streams import described, made_again_if_lost, repair


class NotAPartner(PartnerError):
    """``revoke`` of a municipality with no NATS partner: it may still have a machine client at the identity provider."""


class UnconfirmedRotation(PartnerError):
    """The new password is written and the server told to reload, but the server was not seen to let it in: the
    password may or may not work, and it is kept only as a hash, so ``credentials`` are shown all the same."""

    def __init__(self, message: str, credentials: Credentials) -> None:
        super().__init__(message)
        self.credentials = credentials


COUNT_SECONDS = 5.0
"""How long ``list`` keeps trying to count one partner's events. For a few tens of ms after the signal a reload
(another command's) refuses or drops a sign-in, or answers ``ServiceUnavailableError``: one ``list`` in ~40 run
meanwhile printed a partner nobody was changing as "events: unknown" (tester 203 F1)."""


@dataclass(frozen=True)
class Credentials:
    municipality: str
    name: str
    url: str
    user: str
    password: str
    account: str
    stream: str
    """The partner's stream, on the server when the credentials are given (``add`` made it, ``rotate`` found it or made it)."""
    done: str = "added"
    stream_made_again: bool = False
    """The stream was made again by this command: NATS had lost it, and the partner's durable consumers with it."""

    def describe(self) -> str:
        filters = ", ".join(source_filter(s, self.municipality) for s in ("registry", "funding", "engagement"))
        if self.stream_made_again:
            stream = (
                f"made again: NATS had lost it, and your durable consumers with it; it fills again from the services' streams "
                f"({filters}): make your durable consumers again and skip the events you hold, by their id"
            )
        else:
            stream = f"its own: {filters}; make durable consumers on it and ack what you committed"
        return "\n".join(
            [
                f"partner {self.municipality} ({self.name}) {self.done}: keep these credentials, the password is not shown again",
                f"  url       {self.url}",
                f"  user      {self.user}",
                f"  password  {self.password}",
                f"  account   {self.account}",
                f"  stream    {self.stream}  ({stream})",
            ]
        )


def add(store_dir: Path, municipality: str, url: str) -> Credentials:
    """Make the partner's account, user and stream; return its credentials.

    Nothing changes unless the server of ``store_dir`` answers at ``url`` first (one sign-in as the programme's user,
    whose password only that server's record holds): a wrong ``--url`` is a :class:`PartnerError` within seconds, no
    server reloaded. If the partner's stream cannot be made after the reload, the account is taken out again (a
    second reload) and the error says nothing was kept: a half-made partner, listed but without its stream, was
    "already a partner" to every later ``add`` (tester 127 F5).
    Another osv-partner command on the same store at the same time is refused (:class:`PartnerError`).

    The municipality is one the running server has an account for (:meth:`Accounts.known`): the MML or a district's
    of the table the server was started with, the shipped one or ``make run``'s ``REGISTRY_DISTRICTS_FILE``.
    """
    with server.changing(store_dir):
        return _add(store_dir, municipality, url)


def _add(store_dir: Path, municipality: str, url: str) -> Credentials:
    accounts = Accounts.load(store_dir)
    municipality = server.municipality_code(municipality)
    name = accounts.known().get(municipality)
    if name is None:
        raise server.not_a_municipality(accounts, municipality)
    server.running_pid(store_dir)
    if municipality in accounts.partners:
        # Not "revoke it first" (tester 225 F6): revoke deletes the stream and its durable consumers, and a re-add delivers
        # the whole history again; rotate gives new credentials and keeps both; repair makes a stream NATS lost again.
        raise PartnerError(
            f"{municipality} is already a partner: for new credentials run `osv-partner rotate --municipality {municipality}` "
            "(a new password; its stream and durable consumers stay); for its stream, if NATS lost it (`osv-partner list` says "
            f"\"missing\"), `osv-partner repair --municipality {municipality}` (its password stays); `revoke` is for ending the "
            "partnership (it deletes them)"
        )
    server.reached(url, PROGRAMME_USER, accounts.programme_password, "no partner was added")
    password = secrets.token_urlsafe(24)
    partner = accounts.add(municipality, password)
    server.reload(store_dir, accounts)

    async def make_stream(js: Any) -> None:
        await js.add_stream(partner_stream_config(municipality))

    try:
        asyncio.run(server.as_admin(url, municipality, partner.admin_password, make_stream))
    except Exception as error:
        del accounts.partners[municipality]
        server.reload(store_dir, accounts)
        raise PartnerError(f"the partner's stream was not made ({error}): its account was taken out again, nothing was kept") from None
    return Credentials(municipality, name, url, partner_user(municipality), password, partner_account(municipality), PARTNER_STREAM)


def rotate(store_dir: Path, municipality: str, url: str) -> Credentials:
    """Give the partner's user a new password, as when the official who held it leaves; return the new credentials.

    Its account, its stream ``OSV_EVENTS`` and its durable consumers stay, with what they acknowledged: the partner
    signs in with the new password and resumes where it was. The old password is refused from the reload on.

    A stream the server lacks (NATS lost its store: the credentials named a stream that was not there) is made again
    first, as ``osv-partner repair`` makes it (:func:`devtools.partner_streams.made_again_if_lost`),
    so that the new password reads it; the credentials say so (:attr:`Credentials.stream_made_again`). One that cannot
    be made is a :class:`PartnerError` before anything changes, naming ``repair``.

    Nothing changes unless the server answers at ``url`` first (one sign-in as the partner account's admin): a wrong
    ``--url`` is a :class:`PartnerError` within seconds, the old password still good. If the server is not seen to
    let the new password in within :data:`~devtools.partner_server.CONFIRM_SECONDS`, :class:`UnconfirmedRotation`
    carries the credentials. Another osv-partner command on the same store at the same time is refused
    (:class:`PartnerError`).
    """
    municipality = server.municipality_code(municipality)
    with server.changing(store_dir):
        accounts = Accounts.load(store_dir)
        partner = accounts.partners.get(municipality)
        if partner is None:
            if municipality not in accounts.known():
                raise server.not_a_municipality(accounts, municipality)
            raise PartnerError(f"{municipality} is not a partner: add it (osv-partner add)")
        server.running_pid(store_dir)
        server.reached(url, admin_user(municipality), partner.admin_password, "nothing was changed, the partner's password still works")
        try:
            made_again = made_again_if_lost(url, municipality, partner.admin_password)
        except Exception as error:  # noqa: BLE001 - JetStream's refusal or no answer: said in one line, nothing changed
            raise PartnerError(
                f"the stream {PARTNER_STREAM} of {municipality} is not on the server and was not made again ({error}): nothing was "
                f"changed, the partner's password still works; see the server's log, then run `osv-partner repair --municipality "
                f"{municipality}` and rotate again"
            ) from None
        password = secrets.token_urlsafe(24)
        accounts.rotate(municipality, password)
        server.reload(store_dir, accounts)
        name = accounts.known().get(municipality, municipality)
        done = "given a new password" + ("; its stream, which NATS had lost, made again" if made_again else "")
        credentials = Credentials(
            municipality, name, url, partner_user(municipality), password, partner_account(municipality), PARTNER_STREAM, done, made_again
        )
        try:
            asyncio.run(server.until_let_in(url, partner_user(municipality), password))
        except PartnerError as error:
            raise UnconfirmedRotation(str(error), credentials) from None
    return credentials


def revoke(store_dir: Path, municipality: str, url: str) -> str:
    """Delete the partner's stream, then its account: its connections are closed. Returns the municipality as the
    record keys it (``"150143 "`` given is ``150143``). A code that is no municipality is told so, as ``rotate`` does."""
    municipality = server.municipality_code(municipality)
    with server.changing(store_dir):
        _revoke(store_dir, municipality, url)
    return municipality


def _revoke(store_dir: Path, municipality: str, url: str) -> None:
    accounts = Accounts.load(store_dir)
    partner = accounts.partners.get(municipality)
    if partner is None:
        if municipality not in accounts.known():  # tester 203 F3 c: "150199 is not a partner", where rotate named it no municipality
            raise server.not_a_municipality(accounts, municipality)
        raise NotAPartner(f"{municipality} is not a partner")
    server.running_pid(store_dir)
    # Within seconds, not after as_admin's 50 tries of a reload that never came (tester 133 F2: four minutes, the lock held).
    server.reached(url, admin_user(municipality), partner.admin_password, "nothing was changed, the partner keeps its access")

    async def delete_stream(js: Any) -> None:
        try:
            await js.delete_stream(PARTNER_STREAM)
        except NotFoundError:
            pass

    asyncio.run(server.as_admin(url, municipality, partner.admin_password, delete_stream))
    del accounts.partners[municipality]
    server.reload(store_dir, accounts)
    asyncio.run(server.until_refused(url, municipality, partner.admin_password))


def listing(store_dir: Path, url: str | None = None, idp_dir: Path | None = None) -> list[dict[str, Any]]:
    """Each partner of the record: municipality, user, account, when added and, given ``url``, how many events its
    stream holds on the server there.

    The server at ``url`` is checked first, as the other commands check it (:func:`~devtools.partner_server.reached`): one that lets anyone in
    is a :class:`PartnerError` (it holds none of the partners' streams: each was "unknown (NotFoundError)", tester 203 F3);
    one not reached leaves every partner listed, its events "unknown (the nats-server was not reached at …)". Each
    count is tried for up to :data:`COUNT_SECONDS`; one still not read is "unknown (not read within …: <error>)"; a
    stream the server lacks (NATS lost its store) is "missing (… run `osv-partner repair …`)".
    With no partner, no server is asked.

    Given ``idp_dir`` holding the embedded identity provider's state, each row's ``http_client`` names the partner's
    machine client there (``GET /events``), or is None; a municipality with such a client and no NATS user is listed
    too, its ``user``, ``account`` and ``added_at`` None (tester 225 F2: the client went on after a revoke, unlisted).
    """
    accounts = Accounts.load(store_dir)
    rows: list[dict[str, Any]] = [
        {"municipality": municipality, "user": partner_user(municipality), "account": partner_account(municipality), "added_at": partner.added_at}
        for municipality, partner in sorted(accounts.partners.items())
    ]
    clients = http_clients(idp_dir) if idp_dir is not None else None
    if clients is not None:
        for row in rows:
            row["http_client"] = f"partner-{row['municipality']}" if row["municipality"] in clients else None
        rows += [
            {"municipality": code, "user": None, "account": None, "added_at": None, "http_client": f"partner-{code}"}
            for code in sorted(clients - set(accounts.partners))
        ]
    if url is None or not accounts.partners:
        return rows
    try:
        server.reached(url, PROGRAMME_USER, accounts.programme_password, "no partner's events were counted")
    except ServerNotReached as error:
        for row in rows:
            if row["user"] is not None:
                row["events"] = f"unknown ({error.reason})"
        return rows

    async def count_all() -> None:
        for row in (row for row in rows if row["user"] is not None):
            row["events"] = await _events_held(url, row["municipality"], accounts.partners[row["municipality"]].admin_password)

    asyncio.run(count_all())
    return rows


MISSING = "missing"
MISSING_ANSWERS = 3
"""How many answers in a row that the partner's stream does not exist make it :data:`MISSING` (NATS lost it)."""


async def _events_held(url: str, municipality: str, admin_password: str) -> int | str:
    """How many events the partner's stream holds, tried again for up to :data:`COUNT_SECONDS` while the sign-in or
    the request fails (a reload under way); "missing (…)" when the server says, :data:`MISSING_ANSWERS` times in a
    row, that the stream does not exist (what to run is said); else "unknown (…)" saying why."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COUNT_SECONDS
    missing = 0
    while True:
        try:
            nc = await asyncio.wait_for(server.connect(url, admin_user(municipality), admin_password), timeout=max(deadline - loop.time(), 0.1))
            try:
                return (await nc.jetstream(timeout=2).stream_info(PARTNER_STREAM)).state.messages
            finally:
                await nc.close()
        except Exception as error:  # noqa: BLE001 - tried again, then said
            last = error
        missing = missing + 1 if isinstance(last, NotFoundError) else 0
        if missing >= MISSING_ANSWERS:
            return f"{MISSING} (no stream {PARTNER_STREAM} on the server: run `osv-partner repair --municipality {municipality}`)"
        if loop.time() + 0.1 >= deadline:
            return f"unknown (not read within {COUNT_SECONDS:g} s: {type(last).__name__})"
        await asyncio.sleep(0.1)


def purge_not_for_partners(store_dir: Path, url: str) -> dict[str, int]:
    """Take out of every partner's stream the events no partner reads that it took under their former subject; return,
    per partner whose stream held any, how many.

    The MML's filter, ``osv.<service>.>``, took ``osv.engagement.none.OSVDocumentsCounted`` (every OSV's counts by
    document type), and a district's and the MML's took ``osv.funding.<ubigeo>.ProposalSubmitted`` and
    ``…ProposalScored`` (a round's deliberation, tester 177 F2), until the services moved such events to
    ``osv-programme.<service>.<type>`` (:mod:`shared.programmesubjects`), which no partner's filter takes. The embedded server's start runs it (a
    partner's stream that cannot be reached then is logged and left for the next start); ``osv-partner purge`` runs it
    at will, as after the MML's partner was added while engagement's stream still held them (its relay moves them at
    its start). With nothing to purge: a sign-in and one request per partner.
    """
    from devtools.catalogue import catalogues
    from shared.programmesubjects import former_subjects

    formers = [former for catalogue in catalogues() for former in former_subjects(catalogue)]
    purged: dict[str, int] = {}
    # A server that lets anyone in has none of the partners' streams: "nothing to purge" there said nothing (tester 135 F9)
    server.reached(url, PROGRAMME_USER, Accounts.load(store_dir).programme_password, "nothing was purged")
    for municipality, partner in sorted(Accounts.load(store_dir).partners.items()):

        async def purge(js: Any) -> int:
            try:
                before = (await js.stream_info(PARTNER_STREAM)).state.messages
            except NotFoundError:  # revoked meanwhile, or its stream not made yet
                return 0
            for former in formers:
                await js.purge_stream(PARTNER_STREAM, subject=former)
            return before - (await js.stream_info(PARTNER_STREAM)).state.messages

        count = asyncio.run(server.as_admin(url, municipality, partner.admin_password, purge, attempts=3))
        if count:
            purged[municipality] = count
    return purged


def _revoke_everywhere(store_dir: Path, idp_dir: Path, municipality: str, url: str) -> int:
    """``osv-partner revoke``: the NATS partner (:func:`revoke`), then its machine client at the embedded identity
    provider (:func:`end_http_access`), so that no access is left (tester 225 F2). A municipality with no NATS partner
    but such a client has the client removed. A removal refused is a warning saying what is left to do, exit 1."""
    code = server.municipality_code(municipality)
    try:
        code = revoke(store_dir, municipality, url)
        print(f"partner {code} revoked: its stream and account are gone, its connections closed")
    except NotAPartner:
        if code not in (http_clients(idp_dir) or ()):
            raise
        print(f"{code} has no NATS partner: nothing to revoke on NATS")
    try:
        said = end_http_access(idp_dir, code)
    except HttpAccessNotEnded as error:
        print(f"osv-partner: WARNING: {error}", file=sys.stderr)
        return 1
    print(said or left_to_do(idp_dir, code))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osv-partner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nats-dir", type=Path, default=Path(os.environ.get("OSV_VAR_DIR", "var")) / "nats", help="the embedded server's store (default var/nats)")
    make_run = f"nats://{os.environ.get('OSV_HOST') or '127.0.0.1'}:{os.environ.get('OSV_NATS_PORT') or 4222}"
    parser.add_argument(
        "--url", default=make_run, help="the server's address, as partners reach it (default make run's: OSV_HOST, OSV_NATS_PORT)"
    )
    parser.add_argument(
        "--idp-dir", type=Path, default=None,
        help="the embedded identity provider's state, whose partner-<ubigeo> machine clients revoke removes and list shows (default: idp beside --nats-dir)",
    )
    # --nats-dir and --url before the command or after it (tester 135 F9: after it, "unrecognized arguments")
    placed_after = argparse.ArgumentParser(add_help=False)
    placed_after.add_argument("--nats-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    placed_after.add_argument("--url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    placed_after.add_argument("--idp-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "rotate", "revoke"):
        command = commands.add_parser(name, parents=[placed_after])
        command.add_argument("--municipality", required=True, help="a district's ubigeo (e.g. 150132), or mml")
    repairing = commands.add_parser("repair", parents=[placed_after], help="make again the partners' streams NATS lost (passwords unchanged)")
    repairing.add_argument("--municipality", default=None, help="this partner's stream only (default: every partner's)")
    commands.add_parser("purge", parents=[placed_after], help="take out of the partners' streams the events no partner reads (OSVDocumentsCounted, ProposalSubmitted, ProposalScored)")
    listed = commands.add_parser("list", parents=[placed_after])
    listed.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    idp_dir = args.idp_dir or idp_dir_beside(args.nats_dir)
    try:
        if args.command == "add":
            print(add(args.nats_dir, args.municipality, args.url).describe())
        elif args.command == "rotate":
            try:
                print(rotate(args.nats_dir, args.municipality, args.url).describe())
            except UnconfirmedRotation as error:
                print(error.credentials.describe())
                print(
                    f"osv-partner: WARNING: the new password above is written and the server was told to reload, but {error}. "
                    "It is the only copy: keep it; if the partner is refused with it, rotate again",
                    file=sys.stderr,
                )
                return 1
        elif args.command == "purge":
            purged = purge_not_for_partners(args.nats_dir, args.url)
            print("; ".join(f"{m}: {n} events no partner reads purged" for m, n in purged.items()) or "nothing to purge")
        elif args.command == "revoke":
            return _revoke_everywhere(args.nats_dir, idp_dir, args.municipality, args.url)
        elif args.command == "repair":
            print(described(repair(args.nats_dir, args.url, args.municipality)))
        else:
            rows = listing(args.nats_dir, args.url, idp_dir)
            if args.json:
                print(json.dumps(rows, indent=2))
            elif not rows:
                print("no partners")
            for row in rows if not args.json else []:
                http = f"  GET /events: {row['http_client'] or 'no machine client'}" if "http_client" in row else ""
                if row["user"] is None:
                    print(f"{row['municipality']:<8} {'(no NATS user)':<33}{http}")
                else:
                    print(f"{row['municipality']:<8} {row['user']:<16} {row['account']:<16} added {row['added_at']}  events: {row.get('events', '?')}{http}")
            lost = [row["municipality"] for row in rows if str(row.get("events", "")).startswith(MISSING)]
            if lost:
                print(
                    f"osv-partner: WARNING: the stream {PARTNER_STREAM} of {', '.join(lost)} is missing on the server (NATS lost its "
                    "JetStream store?): run `osv-partner repair` to make it again, its password unchanged; it fills again from "
                    "the services' streams",
                    file=sys.stderr,
                )
            uncounted = [row["municipality"] for row in rows if isinstance(row.get("events"), str) and row["municipality"] not in lost]
            if uncounted:
                where = "each one's \"events\" in the JSON" if args.json else "\"unknown\" above"
                print(f"osv-partner: WARNING: the events of {', '.join(uncounted)} were not counted (why: see {where})", file=sys.stderr)
    except PartnerError as error:
        print(f"osv-partner: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - an unknown municipality (a RuleViolationError) among them
        message = getattr(error, "message", None) or str(error)
        print(f"osv-partner: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
