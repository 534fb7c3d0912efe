"""``make token`` run several times at once on a fresh ``var/`` with no provider running (a script getting each role's token).

Each call starts a provider on the same state and port, as ``make token`` does
when none answers; the provider's state (``state.json``) is made once under a
lock, but every call must also end with a token, not with the provider's
database seeded twice at once (``table ... already exists``, ``UNIQUE
constraint failed: user.user_name``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.processes import free_port

pytestmark = pytest.mark.timeout(400)

ROOT = Path(__file__).resolve().parents[2]  # the repository


def test_four_token_calls_at_once_on_a_fresh_var_dir_each_print_a_token(tmp_path: Path) -> None:
    env = {**os.environ, "OSV_VAR_DIR": str(tmp_path / "var"), "OSV_IDP_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    calls = [
        subprocess.Popen([sys.executable, "-m", "devtools.identity", "token", user], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for user in ("staff", "lead", "dpo", "auditor")
    ]
    outcomes = [(call.wait(timeout=300), call.communicate()) for call in calls]
    failed = [([line for line in err.splitlines() if "Error" in line] or err.splitlines() or [""])[-1][:200] for code, (_, err) in outcomes if code != 0]
    assert failed == [], failed
    assert all(out.strip().splitlines()[-1].startswith("ey") for _, (out, _) in outcomes)


def test_a_token_on_a_fresh_var_dir_leaves_the_providers_files_its_owners_only(tmp_path: Path) -> None:
    # Tester 259 F3: under a umask of 022, `make token` on a fresh var/ left canaille.sqlite (the machine clients'
    # secrets, osv-services' among them) 0644 in 0755 folders, where `make run` makes them 0600 in 0700 ones.
    var = tmp_path / "var"
    env = {**os.environ, "OSV_VAR_DIR": str(var), "OSV_IDP_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    call = subprocess.run(
        [sys.executable, "-m", "devtools.identity", "token", "staff"], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=300, preexec_fn=lambda: os.umask(0o022),
    )
    assert call.returncode == 0, call.stderr[-500:]
    made = [var, *var.rglob("*")]
    assert any(path.name == "canaille.sqlite" for path in made)
    readable = [f"{path.relative_to(tmp_path)} {path.stat().st_mode & 0o777:o}" for path in made if path.stat().st_mode & 0o077]
    assert readable == [], readable
