"""Development tools: real servers for ``make run`` and the tests, and the catalogue generator.

Nothing here runs in a service. :mod:`devtools.embedded` starts real NATS
(with JetStream) and PostgreSQL servers as child processes;
:mod:`devtools.catalogue` writes the event catalogue and the README's
endpoint table from the code.
"""
