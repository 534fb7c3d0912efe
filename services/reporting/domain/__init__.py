"""Reporting's domain, pure: the indicators' tally over dated facts, and the follow-up alerts."""
