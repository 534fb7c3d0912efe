"""Reporting's read model: every public event of the write services, kept as a dated fact."""
