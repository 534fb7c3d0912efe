"""The fault suite (``make faults``): real processes, broken mid-load, audited for lost and doubled facts.

Each case starts nats-server (or a 3-node JetStream cluster), PostgreSQL when
it needs it, and every service as its own uvicorn process; several clients
post commands, each with an ``Idempotency-Key``, retrying what got no answer;
something is broken in the middle; then the case waits for the system to
settle and audits every command against the services' feeds and reporting's
evidence. See :mod:`faults.audit` for what each column means.
"""
