"""The embedded provider's machine clients: a partner's client added, removed and its secret rotated, by
``python -m devtools.identity`` while the provider runs (``add-partner``, ``remove-partner``, ``rotate-secret``), and the
municipalities it takes (the districts table in force, as ``osv-partner`` does). Split from
:mod:`tests.integration.test_identity_provider` (each restarts a provider of its own: apart, the suite's workers share them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from devtools.identity import IdentityProvider, SignInError
from shared.auth import AuthSettings, TokenValidator
from tests.integration.test_identity_provider import _make_token

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]

def _identity_command(var_dir: Path, port: int, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OSV_VAR_DIR": str(var_dir), "OSV_IDP_PORT": str(port), **(env or {})}
    command = [sys.executable, "-m", "devtools.identity", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)


def _rotate_secret(client: str, var_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    return _identity_command(var_dir, port, "rotate-secret", client)


def test_a_partners_secret_rotated_while_the_provider_runs_is_refused_at_once_and_the_new_one_taken(tmp_path: Path) -> None:
    from devtools.identity.flows import client_credentials_token

    with IdentityProvider(tmp_path / "idp") as provider:
        pid, old = provider.pid, provider.client_secret("partner-150132")
        client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)  # taken before

        result = _rotate_secret("partner-150132", tmp_path, provider.port)

        assert result.returncode == 0, result.stderr
        new = result.stdout.strip().splitlines()[-1]
        assert new != old and new == provider.client_secret("partner-150132")  # kept for the provider's next start
        # What the official reads is the command's own two lines: no log of Canaille's schema check (closing32)
        assert result.stderr.startswith("New secret for partner-150132: ") and len(result.stderr.splitlines()) == 1, result.stderr
        with pytest.raises(SignInError, match="partner-150132"):
            client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)
        token = client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=new)["access_token"]
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(token).roles == {"partner-150132"}
        assert provider.pid == pid and provider.exit_code is None  # no restart: the official's old secret ends now

        provider.restart()  # and the next start provisions the new one, not the old
        with pytest.raises(SignInError, match="partner-150132"):
            client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)
        client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=new)


def test_two_rotations_at_once_leave_the_state_and_the_running_provider_with_the_same_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tester 33 F3: the state was saved, then the provider's database set, outside one lock. Two rotations at once
    could end with the state holding the second's secret and the database the first's: the secret ``make token`` and
    the next start hand out refused by the running provider. The second rotation here is let in while the first is
    between its two writes (it waits at most 2 s for it)."""
    from devtools.identity import provider as canaille_provider
    from devtools.identity.flows import client_credentials_token

    with IdentityProvider(tmp_path / "idp") as provider:
        real, secrets_set = canaille_provider.set_client_secret, []
        first_between, second_done = threading.Event(), threading.Event()

        def between_the_two_writes(app: object, client_id: str, secret: str) -> bool:
            secrets_set.append(secret)
            if len(secrets_set) == 1:
                first_between.set()
                second_done.wait(timeout=2)
            return bool(real(app, client_id, secret))

        monkeypatch.setattr(canaille_provider, "set_client_secret", between_the_two_writes)

        def second() -> None:
            first_between.wait(timeout=30)
            provider.rotate_client_secret("partner-150132")
            second_done.set()

        beside = threading.Thread(target=second)
        beside.start()
        provider.rotate_client_secret("partner-150132")
        beside.join(timeout=60)

        assert len(secrets_set) == 2
        stored = provider.client_secret("partner-150132")
        assert stored == secrets_set[-1]  # the last written to the database is the one the state keeps
        client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=stored)


def test_rotating_the_secret_of_a_person_or_an_unknown_client_fails_naming_the_machine_clients(
    identity_provider: IdentityProvider,
) -> None:
    before = identity_provider.client_secret("partner-150132")
    for name in ("staff", "partner-150101"):
        result = _rotate_secret(name, identity_provider.state_dir.parent, identity_provider.port)
        assert result.returncode == 1
        assert f"no machine client named {name!r}" in result.stderr and "partner-150132" in result.stderr
    assert identity_provider.client_secret("partner-150132") == before


def test_a_partner_added_for_another_municipality_gets_tokens_for_its_own_role_at_once_and_after_a_restart(tmp_path: Path) -> None:
    """Only partner-150132 was a machine client: a second municipality's integration (``osv-partner add`` gives it its
    NATS user) had no way to a token for ``GET /events`` in the embedded provider."""
    from devtools.identity.flows import client_credentials_token

    with IdentityProvider(tmp_path / "idp") as provider:
        pid = provider.pid
        added = _identity_command(tmp_path, provider.port, "add-partner", "150133")

        assert added.returncode == 0, added.stderr
        secret = added.stdout.strip().splitlines()[-1]
        assert secret == provider.client_secret("partner-150133")
        token = client_credentials_token(issuer=provider.issuer, client_id="partner-150133", client_secret=secret)["access_token"]
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(token).roles == {"partner-150133"}
        assert provider.pid == pid  # served without a restart
        assert "partner-150133" in provider.describe() and provider.token("partner-150133")  # `make run` lists it, `make token` signs it in

        assert "GET /events gives it the events of Municipalidad Distrital de" in added.stderr, added.stderr
        everywhere = _identity_command(tmp_path, provider.port, "add-partner", "MML")
        assert everywhere.returncode == 0 and "every municipality's events (all of Lima)" in everywhere.stderr, everywhere.stderr
        again = _identity_command(tmp_path, provider.port, "add-partner", "150133")
        assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == secret  # made once: its integration keeps working
        for code in ("140101", "150132 OR 1=1", "staff", "150144", "150100"):  # 150144: a code of Lima's form, no district of the table
            refused = _identity_command(tmp_path, provider.port, "add-partner", code)
            assert refused.returncode == 1 and "is not a municipality of Lima Metropolitana" in refused.stderr, refused.stderr

        rotated = _identity_command(tmp_path, provider.port, "rotate-secret", "partner-150133")
        assert rotated.returncode == 0, rotated.stderr
        provider.restart()  # the next start provisions it, with its rotated secret
        with pytest.raises(SignInError, match="partner-150133"):
            client_credentials_token(issuer=provider.issuer, client_id="partner-150133", client_secret=secret)
        client_credentials_token(issuer=provider.issuer, client_id="partner-150133", client_secret=rotated.stdout.strip().splitlines()[-1])


TRUJILLO = {
    "source": "INEI, Codificación de Ubigeo, provincia de Trujillo (1301)",
    "districts": [
        {"ubigeo": "130101", "name": "Trujillo", "zone": "Trujillo Centro"},
        {"ubigeo": "130105", "name": "La Esperanza", "zone": "Trujillo Norte"},
    ],
}
"""Another programme's districts file, as tester 314 gave every service (two of Trujillo's districts)."""


def test_a_partner_of_a_municipality_of_the_districts_file_gets_its_client_as_osv_partner_gets_its_stream(tmp_path: Path) -> None:
    """Tester 314 F4: with ``REGISTRY_DISTRICTS_FILE`` naming Trujillo's districts, ``osv-partner add --municipality
    130105`` made La Esperanza's NATS stream, and ``add-partner 130105`` said "'130105' is not a municipality of Lima
    Metropolitana": the provider took Lima's ubigeo alone, so the partner could never read ``GET /events`` to reconcile
    its stream. The provider takes the municipalities of the districts table in force, as osv-partner does."""
    from devtools.identity.flows import client_credentials_token
    from devtools.partner_clients import http_clients

    districts = tmp_path / "trujillo.json"
    districts.write_text(json.dumps(TRUJILLO), "utf-8")
    with_file = {"REGISTRY_DISTRICTS_FILE": str(districts)}
    with IdentityProvider(tmp_path / "idp") as provider:
        added = _identity_command(tmp_path, provider.port, "add-partner", "130105", env=with_file)

        assert added.returncode == 0, added.stderr
        assert "GET /events gives it the events of Municipalidad Distrital de La Esperanza only" in added.stderr, added.stderr
        secret = added.stdout.strip().splitlines()[-1]
        token = client_credentials_token(issuer=provider.issuer, client_id="partner-130105", client_secret=secret)["access_token"]
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(token).roles == {"partner-130105"}

        # Exactly the file's municipalities: Lima's are not of it, and without the file 130105 is no municipality.
        refused = _identity_command(tmp_path, provider.port, "add-partner", "150133", env=with_file)
        assert refused.returncode == 1 and refused.stderr == (
            f"error: '150133' is not a municipality of the districts table, the file {districts} (REGISTRY_DISTRICTS_FILE): "
            "use 'mml' or one of its districts' ubigeo (e.g. 130101)\n"
        ), refused.stderr
        shipped = _identity_command(tmp_path, provider.port, "add-partner", "130101")
        assert shipped.returncode == 1 and "'130101' is not a municipality of Lima Metropolitana" in shipped.stderr, shipped.stderr

        # In the provider's state as any partner's client is (a restart, remove-partner: the tests of Lima's partners).
        assert http_clients(tmp_path / "idp") == {"150132", "130105"}  # osv-partner list: "GET /events: partner-130105"

        # A file that breaks a rule: the one line naming the variable (tester 314 F3), never a traceback.
        districts.write_text(json.dumps({"districts": [*TRUJILLO["districts"], {"ubigeo": "130105", "name": "El Porvenir", "zone": "Trujillo Este"}]}), "utf-8")
        bad = _identity_command(tmp_path, provider.port, "add-partner", "130105", env=with_file)
        assert bad.returncode == 2 and bad.stderr == (
            f"error: REGISTRY_DISTRICTS_FILE is refused: the districts file {districts}: the districts 'La Esperanza' and "
            "'El Porvenir' have one ubigeo, 130105: each district has its own\n"
        ), bad.stderr


def test_a_partners_client_removed_gets_no_token_at_once_and_no_restart_brings_it_back(tmp_path: Path) -> None:
    """Tester 225 F2: nothing took a partner's machine client out, and ``partner-150132`` was given a secret again at
    every start. Removed (``osv-partner revoke`` does it too), it gets no new token from the running provider, nor after a
    restart (the launcher restarts a provider that crashed); ``add-partner`` makes it again, with a new secret."""
    from devtools.identity.flows import client_credentials_token

    with IdentityProvider(tmp_path / "idp") as provider:
        pid, old = provider.pid, provider.client_secret("partner-150132")
        before = client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)["access_token"]

        removed = _identity_command(tmp_path, provider.port, "remove-partner", "150132")

        assert removed.returncode == 0, removed.stderr
        said = removed.stdout.strip()
        assert said.startswith("Machine client partner-150132 removed") and "at most 60 minutes" in said and old not in said, said
        with pytest.raises(SignInError, match="partner-150132"):
            client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)
        assert provider.pid == pid  # at once, without a restart
        # A token it got before lasts until its exp, as the message says: the services check tokens offline.
        assert TokenValidator(AuthSettings(issuer=provider.issuer)).caller(before).roles == {"partner-150132"}

        provider.restart()
        with pytest.raises(SignInError, match="partner-150132"):
            client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=old)
        assert "partner-150132" not in provider.machine_clients() and "partner-150132" not in provider.describe()
        assert "no demo account or machine client named 'partner-150132'" in _make_token("partner-150132", tmp_path, provider.port).stderr

        again = _identity_command(tmp_path, provider.port, "remove-partner", "150132")
        assert again.returncode == 0 and again.stdout.strip().startswith("No machine client partner-150132"), again.stdout
        refused = _identity_command(tmp_path, provider.port, "remove-partner", "staff")
        assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1, refused.stderr

        made = _identity_command(tmp_path, provider.port, "add-partner", "150132")
        assert made.returncode == 0, made.stderr
        new = made.stdout.strip().splitlines()[-1]
        assert new != old
        client_credentials_token(issuer=provider.issuer, client_id="partner-150132", client_secret=new)
