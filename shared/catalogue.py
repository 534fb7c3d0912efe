"""The event catalogue for partners: one JSON Schema file per published event type.

    python -m shared.catalogue --write   # regenerate catalogue/schemas/
    python -m shared.catalogue           # exit 1 if the files are out of date

The schemas are generated from the public event models, so what is documented
is what is validated on the way out.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from shared.events import EventCatalogue, json_schema_document

SERVICE_INTERFACES = (
    "services.registry.interface",
    "services.funding.interface",
    "services.engagement.interface",
)
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "catalogue" / "schemas"


def catalogues() -> list[EventCatalogue]:
    return [importlib.import_module(name).catalogue for name in SERVICE_INTERFACES]


def expected_files() -> dict[str, str]:
    """File name → content of every schema the catalogue should hold."""
    return {
        f"{public.__name__}.schema.json": json_schema_document(public, catalogue.service)
        for catalogue in catalogues()
        for public in catalogue.public_events
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite catalogue/schemas/")
    args = parser.parse_args(argv)
    expected = expected_files()
    if args.write:
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        for stale in set(p.name for p in SCHEMA_DIR.glob("*.schema.json")) - set(expected):
            (SCHEMA_DIR / stale).unlink()
        for name, content in expected.items():
            (SCHEMA_DIR / name).write_text(content, encoding="utf-8")
        print(f"wrote {len(expected)} schemas to {SCHEMA_DIR}")
        return 0
    stale = [n for n, c in expected.items() if not (SCHEMA_DIR / n).exists() or (SCHEMA_DIR / n).read_text("utf-8") != c]
    for name in stale:
        print(f"out of date: catalogue/schemas/{name}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
