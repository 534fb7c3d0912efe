"""The service image holds only what the Dockerfile copies (``shared`` and ``services``): every module in it must import
without the repository's other packages (``audit``, ``devtools``, ``deploy``…), or a command run in a container fails
at once. Found so: reporting's rebuild (``python -m services.reporting.rebuild --from feeds``, which docker-compose.yml
points operators to) imported ``audit.http`` and failed in the image with ``ModuleNotFoundError: audit``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

AS_IN_THE_IMAGE = """
import importlib, importlib.abc, pkgutil, sys
ABSENT, COPIED = sys.argv[1].split(","), sys.argv[2].split(",")
class NotInTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image)", name=name)
        return None
sys.meta_path.insert(0, NotInTheImage())
"""

IMPORT_EVERY_MODULE = AS_IN_THE_IMAGE + """
failed = []
for package in COPIED:
    for module in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as error:
            if (error.name or "").partition(".")[0] not in ABSENT:
                raise
            failed.append(f"{module.name}: {error}")
print("\\n".join(failed))
"""


def copied_packages() -> list[str]:
    """The repository's packages the Dockerfile copies into the image (``COPY shared shared``)."""
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    sources = [line.split()[1] for line in lines if line.startswith("COPY ") and len(line.split()) == 3]
    return [source for source in sources if (ROOT / source / "__init__.py").is_file()]


def in_the_image(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` run in a Python where only the packages the Dockerfile copies are found, in ``env`` (besides PATH)."""
    copied = copied_packages()
    assert {"shared", "services"} <= set(copied)
    absent = sorted(
        path.name for path in ROOT.iterdir()
        if path.is_dir() and path.name not in copied and not path.name.startswith(".") and any(path.glob("*.py"))
    )
    assert {"audit", "devtools", "deploy", "tests"} <= set(absent)
    return subprocess.run(
        [sys.executable, "-c", code, ",".join(absent), ",".join(copied)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False, env={"PATH": os.environ["PATH"], **env},
    )


def test_every_module_of_the_image_imports_without_the_packages_it_does_not_hold() -> None:
    run = in_the_image(IMPORT_EVERY_MODULE)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "", f"modules of the image that import what it does not hold:\n{run.stdout}"


def test_the_rebuild_in_the_image_finds_the_feeds_in_reportings_setting() -> None:
    """Where ``make run``'s ports are read (``deploy.run_local``) is not in the image: there the feeds are
    ``REPORTING_FEED_URLS``, or its defaults, and a feed out of reach names that variable, or says it is unset."""
    show = AS_IN_THE_IMAGE + "import json\nfrom services.reporting.fromfeeds import default_feeds\nprint(json.dumps(default_feeds()))"
    defaults = in_the_image(show)
    assert defaults.returncode == 0, defaults.stderr[-3000:]
    urls, variables = json.loads(defaults.stdout)
    assert sorted(urls) == ["engagement", "funding", "registry"]
    assert set(variables.values()) == {"reporting's default, REPORTING_FEED_URLS being unset"}  # not "set by" it (tester 161 F11)

    named = {"registry": "http://registry:8001", "funding": "http://funding:8002", "engagement": "http://engagement:8003"}
    given = in_the_image(show, REPORTING_FEED_URLS=json.dumps(named))
    assert given.returncode == 0, given.stderr[-3000:]
    assert json.loads(given.stdout) == [named, dict.fromkeys(named, "set by REPORTING_FEED_URLS")]
