"""``osv-partner repair``: a partner's stream made again after NATS lost it (a server that came back without its store).

The partners' accounts, users and passwords are in ``<var>/nats/accounts.json``,
not in the JetStream store: a server that lost its store still lets every
partner in, but its stream ``OSV_EVENTS`` is gone, and its durable consumers
with it. :func:`repair` makes the stream again with the configuration ``add``
gives it (:func:`devtools.nats_accounts.partner_stream_config`): nothing else
changes (the partner's password, its machine client for ``GET /events``). Its
sources fill it from the services' streams from their start, as they filled it
after ``add``, once the services' relays have filled those again from their
stores (they do so by themselves). The partner then makes its durable
consumers again and reads from the start, skipping the events it holds (by
their ``id``), or from the first event it lacks.

The embedded server runs it at each start (:class:`devtools.nats_server.NatsServer`),
so ``make run`` brings the partners' streams back by itself when it restarts a
nats-server that lost its store; ``osv-partner repair`` runs it at will, and
``osv-partner rotate`` makes the partner's stream again before it gives a new
password (:func:`made_again_if_lost`): the credentials it prints name a stream
that is there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nats.js.errors import BadRequestError, NotFoundError

from devtools import partner_server as server
from devtools.nats_accounts import PARTNER_STREAM, PROGRAMME_USER, Accounts, partner_stream_config


async def _made_again(js: Any, municipality: str) -> bool:
    """Make the partner's stream if the server lacks it; True when it was made."""
    try:
        await js.stream_info(PARTNER_STREAM)
        return False
    except NotFoundError:
        pass
    try:
        await js.add_stream(partner_stream_config(municipality))
    except BadRequestError:  # made a moment ago by another command (the same configuration): it is there
        await js.stream_info(PARTNER_STREAM)
        return False
    return True


def made_again_if_lost(url: str, municipality: str, admin_password: str) -> bool:
    """Make the partner's stream at ``url`` if the server lacks it, signed in as the partner account's admin user
    (``admin_password``, from the record); True when it was made, False when it was there. Raises what refused it
    (:class:`~devtools.partner_server.PartnerError` for no sign-in or no answer, JetStream's error for a stream not made).
    The caller holds the store's lock (:func:`devtools.partner_server.changing`)."""
    return asyncio.run(server.as_admin(url, municipality, admin_password, lambda js: _made_again(js, municipality), attempts=3))


def repair(store_dir: Path, url: str, municipality: str | None = None) -> list[str]:
    """Make again the stream of each partner (or of ``municipality`` alone) that the server at ``url`` lacks; return
    the municipalities whose stream was made again (none: every stream is there).

    The server is checked first as the other commands check it (a :class:`~devtools.partner_server.PartnerError` within
    seconds for a wrong ``--url``, nothing made). A ``municipality`` that is not a partner is a
    :class:`~devtools.partner_server.PartnerError` saying so. Another osv-partner command on the same store at the same
    time is refused.
    """
    with server.changing(store_dir):
        accounts = Accounts.load(store_dir)
        chosen = sorted(accounts.partners)
        if municipality is not None:
            code = server.municipality_code(municipality)
            if code not in accounts.partners:
                if code not in accounts.known():
                    raise server.not_a_municipality(accounts, code)
                raise server.PartnerError(f"{code} is not a partner: add it (osv-partner add)")
            chosen = [code]
        if not chosen:
            return []
        server.reached(url, PROGRAMME_USER, accounts.programme_password, "no partner's stream was made")
        return [code for code in chosen if made_again_if_lost(url, code, accounts.partners[code].admin_password)]


def described(made: list[str]) -> str:
    """What ``osv-partner repair`` prints."""
    if not made:
        return f"nothing to repair: every partner's stream {PARTNER_STREAM} is on the server"
    return "\n".join(
        f"partner {code}: stream {PARTNER_STREAM} made again (its password and its GET /events client unchanged); it fills "
        "from the services' streams once their relays have filled them again; the partner makes its durable consumers again"
        for code in made
    )
