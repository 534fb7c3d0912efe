"""``python -m devtools.identity``: tokens for demo accounts, and the provider's own process.

    python -m devtools.identity token <name>    # prints an access token as its last line
    python -m devtools.identity accounts        # the demo accounts, their passwords and the warning
    python -m devtools.identity rotate-secret partner-150132   # a new client secret, the last line; the old one refused at once
    python -m devtools.identity add-partner 150133             # a machine client partner-150133 for GET /events; its secret, the last line
    python -m devtools.identity remove-partner 150133          # no new token for partner-150133 (osv-partner revoke does it too)
    python -m devtools.identity serve ...       # the provider process (started by IdentityProvider)

``token`` uses the provider ``make run`` started (``OSV_IDP_PORT``, default
8005, state under ``OSV_VAR_DIR``/idp); when none answers there it starts one
on that port with the same state, gets the token and stops it again. Tokens
stay valid across restarts: the signing key is kept in the state folder. With
a provider answering, the state is only read: an ``OSV_VAR_DIR`` holding none
is an error naming it (a new state there would hold other secrets).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError

from devtools.identity import (
    IdentityProvider,
    IdentityProviderError,
    IdentitySettings,
    SignInError,
    partner_client_removed,
    schema_check_quiet,
)
from shared.files import OWNER_ONLY_UMASK

SERVICES_HOLD = ("osv-services", "osv-imports")
"""Machine clients whose secret ``make run`` hands the services at their start (a rotation needs a restart)."""


def _serve(args: argparse.Namespace) -> int:
    from devtools.identity import provider as canaille_provider

    service_urls = dict(item.split("=", 1) for item in args.service)
    extra = {name: tuple(groups.split(",")) for name, groups in (item.split("=", 1) for item in args.account)}
    idp = IdentityProvider(Path(args.state_dir), port=args.port, host=args.host, service_urls=service_urls, extra_accounts=extra)
    app = idp.canaille_app()
    with idp.provisioning():  # a rotation at this moment waits, or is read here (never the old secret provisioned after it)
        canaille_provider.provision(app, idp.accounts(), idp.clients())
    canaille_provider.serve(app, args.host, args.port)
    return 0


def _token(args: argparse.Namespace) -> int:
    """One call at a time per state folder (an exclusive ``flock`` on ``provider.lock`` in it): calls at once with no
    provider running would each start one on the same port and seed its database together. A folder that does not
    exist while a provider answers is only looked at (the error naming it), never made."""
    settings = IdentitySettings()
    idp = IdentityProvider.from_settings(settings)
    if not idp.state_dir.exists() and idp.is_answering():
        return _token_of(args.name, settings)
    idp.state_dir.mkdir(parents=True, exist_ok=True)
    with open(idp.state_dir / "provider.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _token_of(args.name, settings)


def _token_of(name: str, settings: IdentitySettings) -> int:
    idp = IdentityProvider.from_settings(settings)
    started = False
    if idp.is_answering():
        # That provider keeps its accounts' secrets in its own state: read it, never make one beside it.
        idp = IdentityProvider.from_settings(settings, read_only=True)
    else:
        print(f"No identity provider answers at {idp.issuer}; starting one with the state in {idp.state_dir}.", file=sys.stderr)
        idp.start()
        started = True
    try:
        token = idp.token(name)
    except IdentityProviderError as error:
        print(
            f"error: an identity provider answers at {idp.issuer}, but {error}: OSV_VAR_DIR names another folder than "
            f"the one `make run` keeps it in (its idp/ folder)",
            file=sys.stderr,
        )
        return 1
    except SignInError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if started:
            idp.stop()
    print(f"Access token for {name} from {idp.issuer} (send it as 'Authorization: Bearer <token>'):", file=sys.stderr)
    print(token, flush=True)
    return 0


def _kept_provider() -> IdentityProvider | None:
    """The provider ``make run`` keeps (``OSV_VAR_DIR``/idp); None, said on stderr, when no state is there."""
    idp = IdentityProvider.from_settings(IdentitySettings())
    if not idp.state_dir.exists():
        print(f"error: no identity provider state in {idp.state_dir} (OSV_VAR_DIR names the folder `make run` keeps)", file=sys.stderr)
        return None
    return idp


def _rotate_secret(args: argparse.Namespace) -> int:
    """A new secret for a machine client of the provider ``make run`` keeps (``OSV_VAR_DIR``/idp), printed as the last line
    (``accounts`` prints it again, from the same state)."""
    idp = _kept_provider()
    if idp is None:
        return 1
    try:
        with schema_check_quiet():
            secret = idp.rotate_client_secret(args.client)
    except IdentityProviderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"New secret for {args.client}: the old one is refused from now on; tokens issued with it stay valid until "
        f"they expire (1 hour).",
        file=sys.stderr,
    )
    if args.client in SERVICES_HOLD:
        print(f"The services hold {args.client}'s secret from their start: restart `make run`.", file=sys.stderr)
    print(secret, flush=True)
    return 0


def _add_partner(args: argparse.Namespace) -> int:
    """A municipal partner's machine client in the provider ``make run`` keeps (``OSV_VAR_DIR``/idp); its secret printed."""
    idp = _kept_provider()
    if idp is None:
        return 1
    from devtools.nats_accounts import municipalities
    from services.registry.settings import RegistrySettings
    from shared.settings import refused_setting

    try:  # a districts file that breaks a rule: one line naming REGISTRY_DISTRICTS_FILE, not pydantic's traceback
        districts_file = RegistrySettings().districts_file
    except (ValidationError, SettingsError) as error:
        print(f"error: {refused_setting(error, (RegistrySettings,))}", file=sys.stderr)
        return 2
    # The municipalities osv-partner takes: the shipped table's, or those of the districts file registry maps with.
    known = municipalities(districts_file)
    table = f"the file {districts_file} (REGISTRY_DISTRICTS_FILE)" if districts_file is not None else None
    try:
        with schema_check_quiet():
            client_id, secret = idp.add_partner_client(args.municipality, known, table)
    except IdentityProviderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    code = client_id.removeprefix("partner-")
    reach = "every municipality's events (all of Lima)" if code == "mml" else f"the events of {known[code]} only"
    print(
        f"Machine client {client_id} (client credentials, role {client_id}): GET /events gives it {reach}. "
        f"A token: make token USER={client_id}. Its secret (the same if it was added before):",
        file=sys.stderr,
    )
    print(secret, flush=True)
    return 0


def _remove_partner(args: argparse.Namespace) -> int:
    """A municipal partner's machine client taken out of the provider ``make run`` keeps (``OSV_VAR_DIR``/idp)."""
    idp = _kept_provider()
    if idp is None:
        return 1
    try:
        with schema_check_quiet():
            removed = idp.remove_partner_client(args.municipality)
    except IdentityProviderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    client_id = removed or f"partner-{args.municipality.strip().lower()}"
    print(partner_client_removed(client_id, was_there=removed is not None))
    return 0


def _accounts(_: argparse.Namespace) -> int:
    print(IdentityProvider.from_settings(IdentitySettings()).describe())
    return 0


def main(argv: list[str] | None = None) -> int:
    """The identity provider's command line. What it writes (and the provider it starts) is its owner's only, as under
    ``make run``: ``make token`` on a fresh ``var/`` left the provider's database, which holds the machine clients'
    secrets, 0644 in 0755 folders under a umask of 022 (tester 259 F3)."""
    os.umask(OWNER_ONLY_UMASK)
    parser = argparse.ArgumentParser(prog="python -m devtools.identity", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="print an access token for a demo account or machine client")
    token.add_argument("name", help="staff, lead, municipal-150132, evaluator, evaluator-2, auditor, dpo, partner-150132, osv-services or osv-imports (the Kobo webhook: submissions:record alone)")
    token.set_defaults(run=_token)

    accounts = commands.add_parser("accounts", help="list the demo accounts and their passwords (local use only)")
    accounts.set_defaults(run=_accounts)

    rotate = commands.add_parser("rotate-secret", help="give a machine client a new secret (printed as the last line; `accounts` prints it again)")
    rotate.add_argument("client", help="partner-150132 (or a partner added since), osv-services or osv-imports")
    rotate.set_defaults(run=_rotate_secret)

    partner = commands.add_parser("add-partner", help="add a municipal partner's machine client (its secret, the last line)")
    partner.add_argument("municipality", help="a district's ubigeo of Lima (150133) or mml")
    partner.set_defaults(run=_add_partner)

    removal = commands.add_parser("remove-partner", help="take a municipal partner's machine client out: no new token is issued to it")
    removal.add_argument("municipality", help="a district's ubigeo of Lima (150133) or mml")
    removal.set_defaults(run=_remove_partner)

    serve = commands.add_parser("serve", help="run the provider in this process (IdentityProvider starts it)")
    serve.add_argument("--state-dir", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--service", action="append", default=[], metavar="NAME=URL")
    serve.add_argument("--account", action="append", default=[], metavar="NAME=GROUP,GROUP", help="an account beyond the demo ones")
    serve.set_defaults(run=_serve)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
