"""The TLS context the services' HTTP clients share: made once per process.

``httpx`` makes a new context for every client (certifi's CA bundle, or
``SSL_CERT_FILE``'s), loading the bundle each time: some 30 ms of CPU. A
service makes clients as it starts (the token validator, one feed follower per
view), and the tests start some 1,500 services. A context is safe to share
between clients and threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The context ``httpx.Client()`` would make by default, made on the first call and shared after it."""
    return httpx.create_ssl_context()
