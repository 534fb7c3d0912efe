"""Development tools: servers and generators for running and testing on one machine.

Nothing under ``devtools`` is imported by a service at run time (services import
only ``shared``); ``make run``, ``make token``, ``make catalogue`` and the test
suite use it. :mod:`devtools.embedded` starts real NATS (with JetStream) and
PostgreSQL servers as child processes; :mod:`devtools.identity` runs the
embedded OpenID Connect provider; :mod:`devtools.catalogue` writes the event
catalogue and the README's endpoint table from the code.
"""
