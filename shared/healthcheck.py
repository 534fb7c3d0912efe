"""``python -m shared.healthcheck URL``: exit 0 when ``URL`` answers 200 within 3 s, else 1.

The containers' healthcheck (docker-compose.yml): a service's ``/health``
answers 503 while its store or views database cannot be reached, so the
service is healthy only when it can serve. Standard library only.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def healthy(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url`` answers 200 within ``timeout`` seconds (a 503, a refused connection or silence: no)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the URL comes from the compose file
            return response.status == 200
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m shared.healthcheck URL", file=sys.stderr)
        return 2
    return 0 if healthy(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
