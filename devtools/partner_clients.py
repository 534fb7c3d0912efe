"""A municipal partner's machine client at the embedded identity provider: what ``osv-partner`` reads and removes.

A partner reads its municipality's events two ways: on NATS (its user and stream, :mod:`devtools.partners`) and over
HTTP (``GET /events``) as the machine client ``partner-<ubigeo>`` of the identity provider (``python -m
devtools.identity add-partner``; ``partner-150132`` comes with a new state). ``osv-partner revoke`` ends both: a NATS
revoke alone left the client getting tokens and reading the feeds (tester 225 F2). ``osv-partner list`` shows both.
"""

from __future__ import annotations

from pathlib import Path


class HttpAccessNotEnded(Exception):
    """The provider's state or database refused the removal; the message says what is left to do."""


def idp_dir_beside(store_dir: Path) -> Path:
    """The embedded identity provider's state beside the NATS store, as ``make run`` lays them out: ``<var>/idp``."""
    return store_dir.parent / "idp"


def end_http_access(idp_dir: Path, municipality: str) -> str | None:
    """Take the partner's machine client ``partner-<municipality>`` (``GET /events``) out of the embedded identity
    provider whose state is ``idp_dir`` (:meth:`~devtools.identity.IdentityProvider.remove_partner_client`): a running
    provider issues it no token from then on, and no start brings it back. Returns the line to print, or None when
    ``idp_dir`` holds no such provider's state (a deployment's own provider: :func:`left_to_do` says what to do there).

    A NATS revoke alone left the client getting tokens and reading its municipality's events over HTTP (tester 225 F2).
    Raises :class:`HttpAccessNotEnded` saying what is left to do when the provider's state or database refuses.
    """
    if not (idp_dir / "state.json").is_file():
        return None
    from devtools.identity import IdentityProvider, partner_client_removed, schema_check_quiet

    client_id = f"partner-{municipality}"
    try:
        with schema_check_quiet():
            removed = IdentityProvider(idp_dir).remove_partner_client(municipality)
    except Exception as error:  # noqa: BLE001 - its database or state refused: said in one line, with what to do
        raise HttpAccessNotEnded(
            f"the machine client {client_id} was not removed from the identity provider in {idp_dir} ({_first_line(error)}): "
            f"it still gets tokens for GET /events; once that is put right, run `osv-partner revoke --municipality {municipality}` again"
        ) from None
    return partner_client_removed(client_id, was_there=removed is not None)


def left_to_do(idp_dir: Path, municipality: str) -> str:
    """What a revoke says when no embedded identity provider keeps its state in ``idp_dir``."""
    return (
        f"No embedded identity provider in {idp_dir} (--idp-dir): if partner-{municipality} reads GET /events as a machine client "
        "of your identity provider, remove or disable that client there (tokens it holds stay valid until they expire)"
    )


def http_clients(idp_dir: Path) -> set[str] | None:
    """The municipalities with a machine client (``partner-<code>``) at the embedded identity provider in ``idp_dir``;
    None when there is none there."""
    from devtools.identity import PARTNER_CLIENT, IdentityProvider, IdentityProviderError

    try:
        clients = IdentityProvider(idp_dir, read_only=True).machine_clients()
    except (IdentityProviderError, OSError, ValueError):
        return None
    return {client_id.removeprefix("partner-") for client_id in clients if PARTNER_CLIENT.match(client_id)}


def _first_line(error: Exception) -> str:
    """``error`` as one line: its type and the first line of its message (SQLAlchemy's run to several)."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
