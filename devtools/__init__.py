"""Development tools: servers and generators for running and testing on one machine.

Nothing under ``devtools`` is imported by a service at run time (services import
only ``shared``); ``make run``, ``make token`` and the test suite use it.
"""
